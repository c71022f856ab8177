//! The kernels behind Burn's layers: each entry point against the layer it replaces, in one
//! test binary split by layer.

mod batch_norm;
mod checkpointing;
mod conv2d;
mod max_pool;
mod util;
