//! The one entry point the networks use for max pooling.

use burn::nn::pool::MaxPool2d;
use burn::tensor::Tensor;

/// y = pool(x), the value and gradient of `pool.forward(x)` (Burn's `MaxPool2d`) bit for bit.
/// With the `flex` feature this is [`hpn_kernels::max_pool2d_forward`] (one pass per plane on
/// the Flex CPU backend, `pool.forward` elsewhere); without it, `pool.forward(x)`.
pub fn max_pool2d_forward(pool: &MaxPool2d, x: Tensor<4>) -> Tensor<4> {
    #[cfg(feature = "flex")]
    {
        hpn_kernels::max_pool2d_forward(pool, x)
    }
    #[cfg(not(feature = "flex"))]
    {
        pool.forward(x)
    }
}
