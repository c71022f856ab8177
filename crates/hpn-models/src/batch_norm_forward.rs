//! The two entry points the networks use for BatchNorm: alone, and followed by a ReLU (after a
//! residual sum).

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

/// `relu(bn.forward(x) + residual)`, or `relu(bn.forward(x))` when `residual` is `None`: the
/// BatchNorm-ReLU pair of the networks, with the block's shortcut where there is one. With the
/// `flex` feature this is [`hpn_kernels::batch_norm_relu_forward`] (one fused output pass when
/// training on the Flex CPU backend, the same bits as the three operations); without it, the
/// three operations.
pub fn batch_norm_relu_forward<const D: usize>(
    bn: &BatchNorm,
    x: Tensor<D>,
    residual: Option<Tensor<D>>,
) -> Tensor<D> {
    #[cfg(feature = "flex")]
    {
        hpn_kernels::batch_norm_relu_forward(bn, x, residual)
    }
    #[cfg(not(feature = "flex"))]
    {
        let y = bn.forward(x);
        burn::tensor::activation::relu(match residual {
            Some(r) => y + r,
            None => y,
        })
    }
}
