//! The CIFAR ResNet family of He et al. (2016), depth `6n + 2`, in the variant of the HPN
//! authors' code: ResNet-32 (n = 5) is the network of the paper's CIFAR-100 and
//! ImageNet-200 experiments.

use crate::batch_norm_forward::batch_norm_relu_forward;
use crate::conv_forward::conv2d_forward;
use burn::module::Module;
use burn::nn::conv::Conv2d;
use burn::nn::{BatchNorm, Linear, LinearConfig, Relu};
use burn::tensor::{Device, Tensor};

use crate::basic_block::{BasicBlock, stage};
use crate::config::Shortcut;
use crate::layers::{batch_norm, global_average_pool, he_conv};

/// CIFAR ResNet of depth `6n + 2` and width multiplier `w`:
///
/// - stem: 3x3 convolution `in_channels -> 16w` (stride 1, no bias) + BatchNorm + ReLU;
/// - three stages of `n` [`BasicBlock`]s with `16w`, `32w`, `64w` channels, stride 2 at the
///   first block of stages 2 and 3, where the shortcut is a [`Shortcut`] (3x3 conv + BN in
///   the authors' code);
/// - global average pooling (so 32x32 CIFAR and 64x64 Tiny ImageNet inputs both work);
/// - `Linear(64w -> D)` with bias.
///
/// Convolutions start from `N(0, sqrt(2 / (k k out_channels)))`, BatchNorm from weight 1 and
/// bias 0. At `w = 1`, `n = 5` (ResNet-32) with the 3x3 shortcut it has `486,736 + 65 D`
/// parameters.
#[derive(Module, Debug)]
pub struct ResNetCifar {
    /// Stem convolution.
    pub conv1: Conv2d,
    /// Stem BatchNorm.
    pub bn1: BatchNorm,
    /// Stem activation.
    pub relu: Relu,
    /// Stage 1 (`16w` channels, stride 1).
    pub layer1: Vec<BasicBlock>,
    /// Stage 2 (`32w` channels, stride 2).
    pub layer2: Vec<BasicBlock>,
    /// Stage 3 (`64w` channels, stride 2).
    pub layer3: Vec<BasicBlock>,
    /// Output layer `64w -> D`.
    pub fc: Linear,
}

impl ResNetCifar {
    /// A network with `blocks_per_stage = n` (depth `6n + 2`), width multiplier `width`.
    /// The caller has checked that all sizes are at least 1.
    pub(crate) fn new(
        blocks_per_stage: usize,
        width: usize,
        in_channels: usize,
        outputs: usize,
        shortcut: Shortcut,
        device: &Device,
    ) -> Self {
        let [c1, c2, c3] = [16 * width, 32 * width, 64 * width];
        Self {
            conv1: he_conv(in_channels, c1, 3, 1, 1, device),
            bn1: batch_norm(c1, device),
            relu: Relu::new(),
            layer1: stage(c1, c1, blocks_per_stage, 1, shortcut, device),
            layer2: stage(c1, c2, blocks_per_stage, 2, shortcut, device),
            layer3: stage(c2, c3, blocks_per_stage, 2, shortcut, device),
            fc: LinearConfig::new(c3, outputs).init(device),
        }
    }

    /// Images (N, C, H, W) -> outputs (N, D).
    pub fn forward(&self, images: Tensor<4>) -> Tensor<2> {
        let mut x = batch_norm_relu_forward(&self.bn1, conv2d_forward(&self.conv1, images), None);
        for block in self.layer1.iter().chain(&self.layer2).chain(&self.layer3) {
            x = block.forward(x);
        }
        self.fc.forward(global_average_pool(x))
    }
}
