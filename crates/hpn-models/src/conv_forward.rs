//! The one entry point the networks use for a convolution.

use burn::nn::conv::Conv2d;
use burn::tensor::Tensor;

/// y = conv(x), the same value and gradients as `conv.forward(x)` (Burn's `Conv2d`), to float
/// rounding. With the `flex` feature, tensors on the Flex CPU backend go through
/// [`conv_extension::flex_conv2d_forward`](crate::conv_extension::flex_conv2d_forward) (the
/// kernels of [`conv_kernels`](crate::conv_kernels)); every other device, and builds without
/// `flex`, use `conv.forward(x)`.
pub fn conv2d_forward(conv: &Conv2d, x: Tensor<4>) -> Tensor<4> {
    #[cfg(feature = "flex")]
    {
        crate::conv_extension::flex_conv2d_forward(conv, x)
    }
    #[cfg(not(feature = "flex"))]
    {
        conv.forward(x)
    }
}
