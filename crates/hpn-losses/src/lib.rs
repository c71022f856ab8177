//! hpn-losses
