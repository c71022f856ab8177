//! Building blocks shared by the backbones: He-initialised convolutions, conv + BatchNorm
//! pairs and global average pooling.

use crate::batch_norm_forward::batch_norm_forward;
use crate::conv_forward::conv2d_forward;
use burn::module::Module;
use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::nn::{BatchNorm, BatchNormConfig, Initializer, PaddingConfig2d};
use burn::tensor::{Device, Tensor};

/// A bias-free `kernel x kernel` convolution with symmetric zero padding `padding`, initialised
/// as the authors' ResNet and torchvision do: `N(0, sqrt(2 / (kernel * kernel * out_channels)))`
/// (He et al. 2015, fan-out mode).
pub(crate) fn he_conv(
    in_channels: usize,
    out_channels: usize,
    kernel: usize,
    stride: usize,
    padding: usize,
    device: &Device,
) -> Conv2d {
    let std = (2.0 / (kernel * kernel * out_channels) as f64).sqrt();
    Conv2dConfig::new([in_channels, out_channels], [kernel, kernel])
        .with_stride([stride, stride])
        .with_padding(PaddingConfig2d::Explicit(
            padding, padding, padding, padding,
        ))
        .with_bias(false)
        .with_initializer(Initializer::Normal { mean: 0.0, std })
        .init(device)
}

/// BatchNorm over `channels` with PyTorch's defaults (momentum 0.1, epsilon 1e-5),
/// weight 1 and bias 0.
pub(crate) fn batch_norm(channels: usize, device: &Device) -> BatchNorm {
    BatchNormConfig::new(channels).init(device)
}

/// A convolution followed by BatchNorm (no activation): the projection shortcut of a ResNet.
#[derive(Module, Debug)]
pub struct ConvBn {
    /// The He-initialised, bias-free convolution.
    pub conv: Conv2d,
    /// BatchNorm of its output.
    pub bn: BatchNorm,
}

impl ConvBn {
    /// `kernel x kernel` convolution with stride `stride` and padding `kernel / 2`, then BatchNorm.
    pub(crate) fn new(
        in_channels: usize,
        out_channels: usize,
        kernel: usize,
        stride: usize,
        device: &Device,
    ) -> Self {
        Self {
            conv: he_conv(
                in_channels,
                out_channels,
                kernel,
                stride,
                kernel / 2,
                device,
            ),
            bn: batch_norm(out_channels, device),
        }
    }

    /// `bn(conv(x))`.
    pub fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        batch_norm_forward(&self.bn, conv2d_forward(&self.conv, x))
    }
}

/// Global average pooling (N, C, H, W) -> (N, C): the mean over all positions, so any input
/// size reaches the classifier with the same width.
pub(crate) fn global_average_pool(x: Tensor<4>) -> Tensor<2> {
    let [n, c, h, w] = x.dims();
    x.reshape([n, c, h * w]).mean_dim(2).reshape([n, c])
}
