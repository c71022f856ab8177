//! The one entry point the networks use for a convolution.

use burn::nn::conv::Conv2d;
use burn::tensor::Tensor;

/// y = conv(x), the same value and gradients as `conv.forward(x)` (Burn's `Conv2d`), to float
/// rounding. With the `flex` feature this is [`hpn_kernels::conv2d_forward`] (im2col kernels on
/// the Flex CPU backend, `conv.forward` elsewhere); without it, `conv.forward(x)`.
pub fn conv2d_forward(conv: &Conv2d, x: Tensor<4>) -> Tensor<4> {
    #[cfg(feature = "flex")]
    {
        hpn_kernels::conv2d_forward(conv, x)
    }
    #[cfg(not(feature = "flex"))]
    {
        conv.forward(x)
    }
}
