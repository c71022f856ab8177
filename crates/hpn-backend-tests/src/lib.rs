//! No library: the tests in `tests/` check Burn's ndarray backend against Flex with hpn's
//! networks, losses and training loop (`cargo test --workspace` runs them).
