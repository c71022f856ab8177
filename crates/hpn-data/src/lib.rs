//! hpn-data
