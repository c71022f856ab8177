//! ResNet-18 and ResNet-34 in the ImageNet layout of He et al. (2016) / torchvision, used by
//! the paper at 224 px for CUB-200-2011 and OmniArt.

use crate::batch_norm_forward::batch_norm_relu_forward;
use crate::conv_forward::conv2d_forward;
use burn::module::Module;
use burn::nn::conv::Conv2d;
use burn::nn::pool::{MaxPool2d, MaxPool2dConfig};
use burn::nn::{BatchNorm, Linear, LinearConfig, PaddingConfig2d, Relu};
use burn::tensor::{Device, Tensor};

use crate::basic_block::{BasicBlock, stage};
use crate::config::Shortcut;
use crate::layers::{batch_norm, global_average_pool, he_conv};
use crate::max_pool_forward::max_pool2d_forward;

/// Blocks per stage of ResNet-18.
pub const RESNET18_BLOCKS: [usize; 4] = [2, 2, 2, 2];
/// Blocks per stage of ResNet-34.
pub const RESNET34_BLOCKS: [usize; 4] = [3, 4, 6, 3];

/// ImageNet-layout ResNet with BasicBlocks:
///
/// - stem: 7x7 convolution `in_channels -> 64`, stride 2, padding 3, no bias + BatchNorm +
///   ReLU + 3x3 max pool, stride 2, padding 1;
/// - four stages of `blocks[i]` [`BasicBlock`]s with 64, 128, 256, 512 channels, stride 2 at
///   the first block of stages 2-4, shortcut 1x1 convolution + BatchNorm where the shape
///   changes;
/// - adaptive (global) average pooling and `Linear(512 -> D)`.
///
/// Parameters: ResNet-18 `11,176,512 + 513 D`, ResNet-34 `21,284,672 + 513 D` (torchvision's
/// counts with a 1000-way head are 11,689,512 and 21,797,672).
#[derive(Module, Debug)]
pub struct ResNet {
    /// Stem convolution.
    pub conv1: Conv2d,
    /// Stem BatchNorm.
    pub bn1: BatchNorm,
    /// Activation.
    pub relu: Relu,
    /// Stem max pool.
    pub maxpool: MaxPool2d,
    /// Stage 1 (64 channels).
    pub layer1: Vec<BasicBlock>,
    /// Stage 2 (128 channels).
    pub layer2: Vec<BasicBlock>,
    /// Stage 3 (256 channels).
    pub layer3: Vec<BasicBlock>,
    /// Stage 4 (512 channels).
    pub layer4: Vec<BasicBlock>,
    /// Output layer `512 -> D`.
    pub fc: Linear,
}

impl ResNet {
    /// A network with `blocks[i]` BasicBlocks in stage `i`.
    pub(crate) fn new(
        blocks: [usize; 4],
        in_channels: usize,
        outputs: usize,
        device: &Device,
    ) -> Self {
        let widths = [64, 128, 256, 512];
        let shortcut = Shortcut::Conv1x1;
        Self {
            conv1: he_conv(in_channels, 64, 7, 2, 3, device),
            bn1: batch_norm(64, device),
            relu: Relu::new(),
            maxpool: MaxPool2dConfig::new([3, 3])
                .with_strides([2, 2])
                .with_padding(PaddingConfig2d::Explicit(1, 1, 1, 1))
                .init(),
            layer1: stage(64, widths[0], blocks[0], 1, shortcut, device),
            layer2: stage(widths[0], widths[1], blocks[1], 2, shortcut, device),
            layer3: stage(widths[1], widths[2], blocks[2], 2, shortcut, device),
            layer4: stage(widths[2], widths[3], blocks[3], 2, shortcut, device),
            fc: LinearConfig::new(widths[3], outputs).init(device),
        }
    }

    /// Images (N, C, H, W) -> outputs (N, D).
    pub fn forward(&self, images: Tensor<4>) -> Tensor<2> {
        let x = batch_norm_relu_forward(&self.bn1, conv2d_forward(&self.conv1, images), None);
        let mut x = max_pool2d_forward(&self.maxpool, x);
        for block in self
            .layer1
            .iter()
            .chain(&self.layer2)
            .chain(&self.layer3)
            .chain(&self.layer4)
        {
            x = block.forward(x);
        }
        self.fc.forward(global_average_pool(x))
    }
}
