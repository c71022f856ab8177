//! hpn-train
