//! hpn-prototypes
