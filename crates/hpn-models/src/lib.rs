//! hpn-models
