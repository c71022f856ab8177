//! CPU kernels for Burn's Flex backend that the networks of `hpn-models` run on: a 2-d
//! convolution and training-mode batch normalisation, each plugged into Flex and its autodiff
//! as a Burn backend extension with a handwritten backward node.
//!
//! Four functions are the whole interface a network needs; each takes Burn's own layer and
//! gives what the layer's `forward` gives (value, gradients and, for BatchNorm, the running
//! statistics) to float rounding, and falls back to that `forward` on every other device:
//!
//! - [`conv2d_forward`]: `conv.forward(x)` with each pass (forward, input gradient, weight
//!   gradient) one im2col matrix product per group of samples, or for stride-1 layers on large
//!   maps K products over K column-shifted copies of the image, or, for stride-1 "same"
//!   layers on a CPU with AVX-512, direct convolutions that read the image in place ([`conv`]);
//! - [`batch_norm_forward`]: `bn.forward(x)`, in training mode on an autodiff Flex device
//!   two passes forward and two backward ([`batch_norm`]) instead of a dozen element-wise
//!   operations and layout copies;
//! - [`batch_norm_relu_forward`]: `relu(bn.forward(x) + residual)` (the sum optional), the
//!   same kernels with the sum and the rectifier in the output pass, the bits of the three
//!   operations;
//! - [`max_pool2d_forward`]: `pool.forward(x)` with one pass over each plane forward and one
//!   backward ([`max_pool`]), Burn's bits.
//!
//! The slice-level kernels of [`conv`], [`batch_norm`] and [`max_pool`] are public for
//! benchmarks and for tests against their definitions.
//!
//! ```
//! use burn::nn::conv::Conv2dConfig;
//! use burn::nn::PaddingConfig2d;
//! use burn::tensor::{Device, Tensor};
//!
//! let device = Device::flex();
//! let conv = Conv2dConfig::new([3, 8], [3, 3])
//!     .with_padding(PaddingConfig2d::Explicit(1, 1, 1, 1))
//!     .init(&device);
//! let x = Tensor::<4>::ones([2, 3, 6, 6], &device);
//! let ours = hpn_kernels::conv2d_forward(&conv, x.clone());
//! let burn = conv.forward(x);
//! let gap = (ours - burn).abs().max().into_scalar::<f32>();
//! assert!(gap < 1e-5);
//! ```

pub mod batch_norm;
mod batch_norm_extension;
pub mod conv;
mod conv_direct;
mod conv_extension;
mod conv_shifted;
pub mod max_pool;
mod max_pool_extension;
mod norm_loops;
mod unfilled;

pub use batch_norm_extension::{batch_norm_forward, batch_norm_relu_forward};
pub use conv_extension::conv2d_forward;
pub use max_pool_extension::max_pool2d_forward;

use burn::backend::DispatchDevice;

/// Whether `device` is the Flex CPU backend, with or without autodiff.
fn is_flex(device: &DispatchDevice) -> bool {
    match device {
        DispatchDevice::Flex(_) => true,
        DispatchDevice::Autodiff(inner) => matches!(**inner, DispatchDevice::Flex(_)),
        #[allow(unreachable_patterns)]
        _ => false,
    }
}
