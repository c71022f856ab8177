//! The one entry point the networks use for BatchNorm.

use burn::nn::BatchNorm;
use burn::tensor::Tensor;

/// `bn.forward(x)`: y = gamma (x - mu) / sqrt(sigma^2 + eps) + beta per channel (axis 1), with
/// the batch statistics and a running-average update in training mode (autodiff device, training
/// flag on) and the running statistics otherwise. With the `flex` feature, training on the Flex
/// CPU backend runs the fused kernels of
/// [`batch_norm_kernels`](crate::batch_norm_kernels) (two passes forward, two backward, instead
/// of a dozen element-wise operations and layout copies); the value, gradients and running
/// statistics are Burn's to float rounding.
pub fn batch_norm_forward<const D: usize>(bn: &BatchNorm, x: Tensor<D>) -> Tensor<D> {
    #[cfg(feature = "flex")]
    if crate::batch_norm_extension::flex_training(bn, &x) {
        return crate::batch_norm_extension::flex_batch_norm_train(bn, x);
    }
    bn.forward(x)
}
