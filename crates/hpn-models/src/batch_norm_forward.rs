//! The one entry point the networks use for BatchNorm.

use burn::nn::BatchNorm;
use burn::tensor::Tensor;

/// `bn.forward(x)`: y = gamma (x - mu) / sqrt(sigma^2 + eps) + beta per channel (axis 1), with
/// the batch statistics and a running-average update in training mode (autodiff device, training
/// flag on) and the running statistics otherwise. With the `flex` feature this is
/// [`hpn_kernels::batch_norm_forward`] (fused kernels when training on the Flex CPU backend,
/// `bn.forward` elsewhere); without it, `bn.forward(x)`.
pub fn batch_norm_forward<const D: usize>(bn: &BatchNorm, x: Tensor<D>) -> Tensor<D> {
    #[cfg(feature = "flex")]
    {
        hpn_kernels::batch_norm_forward(bn, x)
    }
    #[cfg(not(feature = "flex"))]
    {
        bn.forward(x)
    }
}
