//! DenseNet-121 (Huang et al. 2017) in the CIFAR variant of the HPN authors' code, the
//! network of the paper's supplementary CIFAR-100 and ImageNet-200 results.

use crate::batch_norm_forward::batch_norm_relu_forward;
use crate::conv_forward::conv2d_forward;
use burn::module::Module;
use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::nn::pool::{AvgPool2d, AvgPool2dConfig};
use burn::nn::{BatchNorm, Linear, LinearConfig, PaddingConfig2d, Relu};
use burn::tensor::{Device, Tensor};

use crate::layers::{batch_norm, global_average_pool};

/// Dense layers per block of DenseNet-121.
pub const DENSENET121_BLOCKS: [usize; 4] = [6, 12, 24, 16];
/// Channels each dense layer adds (the growth rate `k`) in DenseNet-121.
pub const DENSENET121_GROWTH: usize = 32;

/// A bias-free convolution with PyTorch's default initialisation (Burn's default
/// `KaimingUniform`, bound `1 / sqrt(fan_in)`), as the authors' DenseNet keeps it.
fn plain_conv(
    in_channels: usize,
    out_channels: usize,
    kernel: usize,
    padding: usize,
    device: &Device,
) -> Conv2d {
    Conv2dConfig::new([in_channels, out_channels], [kernel, kernel])
        .with_padding(PaddingConfig2d::Explicit(
            padding, padding, padding, padding,
        ))
        .with_bias(false)
        .init(device)
}

/// Bottleneck dense layer: `BN-ReLU-1x1 conv (c -> 4k) - BN-ReLU-3x3 conv (4k -> k)`, whose
/// output is concatenated in front of its input (c -> c + k channels).
#[derive(Module, Debug)]
pub struct DenseLayer {
    /// BatchNorm of the input.
    pub bn1: BatchNorm,
    /// 1x1 bottleneck convolution `c -> 4k`.
    pub conv1: Conv2d,
    /// BatchNorm of the bottleneck.
    pub bn2: BatchNorm,
    /// 3x3 convolution `4k -> k`.
    pub conv2: Conv2d,
    /// Activation.
    pub relu: Relu,
}

impl DenseLayer {
    fn new(in_channels: usize, growth: usize, device: &Device) -> Self {
        Self {
            bn1: batch_norm(in_channels, device),
            conv1: plain_conv(in_channels, 4 * growth, 1, 0, device),
            bn2: batch_norm(4 * growth, device),
            conv2: plain_conv(4 * growth, growth, 3, 1, device),
            relu: Relu::new(),
        }
    }

    /// `cat([new features, x])` along the channels.
    pub fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        let out = conv2d_forward(
            &self.conv1,
            batch_norm_relu_forward(&self.bn1, x.clone(), None),
        );
        let out = conv2d_forward(&self.conv2, batch_norm_relu_forward(&self.bn2, out, None));
        Tensor::cat(vec![out, x], 1)
    }
}

/// Transition: `BN-ReLU-1x1 conv (c -> floor(c / 2))` and 2x2 average pooling, stride 2.
#[derive(Module, Debug)]
pub struct Transition {
    /// BatchNorm of the input.
    pub bn: BatchNorm,
    /// 1x1 compression convolution (reduction 0.5).
    pub conv: Conv2d,
    /// 2x2 average pool.
    pub pool: AvgPool2d,
    /// Activation.
    pub relu: Relu,
}

impl Transition {
    fn new(in_channels: usize, out_channels: usize, device: &Device) -> Self {
        Self {
            bn: batch_norm(in_channels, device),
            conv: plain_conv(in_channels, out_channels, 1, 0, device),
            pool: AvgPool2dConfig::new([2, 2]).init(),
            relu: Relu::new(),
        }
    }

    /// Applies the transition (halves height and width).
    pub fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        self.pool.forward(conv2d_forward(
            &self.conv,
            batch_norm_relu_forward(&self.bn, x, None),
        ))
    }
}

/// DenseNet-121, CIFAR variant:
///
/// - stem: 3x3 convolution `in_channels -> 2k = 64`, stride 1, no pooling;
/// - dense blocks of [6, 12, 24, 16] [`DenseLayer`]s with growth rate `k = 32`, separated by
///   [`Transition`]s with reduction 0.5 (64 -> 256 -> 128 -> 512 -> 256 -> 1024 -> 512 -> 1024
///   channels);
/// - final BatchNorm + ReLU, global average pooling and `Linear(1024 -> D)`.
///
/// Parameters: `6,946,048 + 1025 D`.
#[derive(Module, Debug)]
pub struct DenseNet {
    /// Stem convolution.
    pub conv1: Conv2d,
    /// The four dense blocks.
    pub blocks: Vec<Vec<DenseLayer>>,
    /// The three transitions between them.
    pub transitions: Vec<Transition>,
    /// Final BatchNorm.
    pub bn: BatchNorm,
    /// Activation.
    pub relu: Relu,
    /// Output layer.
    pub linear: Linear,
}

impl DenseNet {
    /// DenseNet with `blocks[i]` dense layers in block `i` and growth rate `growth`.
    pub(crate) fn new(
        blocks: [usize; 4],
        growth: usize,
        in_channels: usize,
        outputs: usize,
        device: &Device,
    ) -> Self {
        let mut channels = 2 * growth;
        let conv1 = plain_conv(in_channels, channels, 3, 1, device);
        let mut dense_blocks = Vec::with_capacity(blocks.len());
        let mut transitions = Vec::with_capacity(blocks.len() - 1);
        for (i, &layers) in blocks.iter().enumerate() {
            let block: Vec<DenseLayer> = (0..layers)
                .map(|j| DenseLayer::new(channels + j * growth, growth, device))
                .collect();
            dense_blocks.push(block);
            channels += layers * growth;
            if i + 1 < blocks.len() {
                let reduced = channels / 2;
                transitions.push(Transition::new(channels, reduced, device));
                channels = reduced;
            }
        }
        Self {
            conv1,
            blocks: dense_blocks,
            transitions,
            bn: batch_norm(channels, device),
            relu: Relu::new(),
            linear: LinearConfig::new(channels, outputs).init(device),
        }
    }

    /// Images (N, C, H, W) -> outputs (N, D). Needs at least 8x8 pixels (three halvings).
    pub fn forward(&self, images: Tensor<4>) -> Tensor<2> {
        let mut x = conv2d_forward(&self.conv1, images);
        for (i, block) in self.blocks.iter().enumerate() {
            for layer in block {
                x = layer.forward(x);
            }
            if let Some(transition) = self.transitions.get(i) {
                x = transition.forward(x);
            }
        }
        let x = batch_norm_relu_forward(&self.bn, x, None);
        self.linear.forward(global_average_pool(x))
    }
}
