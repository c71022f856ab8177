//! Tests of the backbones, in one test binary (one link) split by concern.

mod batch_norm;
mod config;
mod conv_extension;
mod init;
mod param_counts;
mod shapes;
mod training;
mod util;
