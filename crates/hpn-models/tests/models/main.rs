//! Tests of the backbones, in one test binary (one link) split by concern. Tests that need
//! repeatable initial weights live in the `seeded` binary, which owns Burn's process-wide RNG.

mod batch_norm;
mod config;
mod convnet;
mod growth;
mod param_counts;
mod shapes;
mod util;
