//! A small ConvNet for the rotated-MNIST experiment (Fig. 5), where the output is S^2, and its
//! normalised variant.

use crate::batch_norm_forward::batch_norm_relu_forward;
use crate::conv_forward::conv2d_forward;
use crate::layers::batch_norm;
use crate::max_pool_forward::max_pool2d_forward;
use burn::module::Module;
use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::nn::pool::{AdaptiveAvgPool2d, AdaptiveAvgPool2dConfig, MaxPool2d, MaxPool2dConfig};
use std::f64::consts::SQRT_2;

use burn::nn::{BatchNorm, Initializer, Linear, LinearConfig, PaddingConfig2d, Relu};
use burn::tensor::{Device, Tensor};

/// Channels of the first convolution.
pub const CONVNET_CHANNELS_1: usize = 32;
/// Channels of the second convolution.
pub const CONVNET_CHANNELS_2: usize = 64;
/// Side of the feature map the fully connected part sees (28 / 2 / 2).
pub const CONVNET_GRID: usize = 7;
/// Units of the hidden fully connected layer.
pub const CONVNET_HIDDEN: usize = 128;

/// Two convolutions and two fully connected layers:
/// `conv 3x3 (C -> 32) - ReLU - maxpool 2 - conv 3x3 (32 -> 64) - ReLU - maxpool 2 -
/// adaptive average pool to 7x7 - Linear(64*7*7 -> 128) - ReLU - Linear(128 -> D)`.
///
/// At 28x28 (MNIST) the adaptive pool is the identity; it lets other sizes from 4x4 up reach
/// the same fully connected layers. Parameters: `288 C + 420,064 + 129 D`.
///
/// Initialisation (He et al. 2015, the rule the authors use for their ResNets): weights of the
/// layers followed by a ReLU from `N(0, sqrt(2 / fan_in))`, the output layer from
/// `N(0, sqrt(1 / fan_in))`, so the output starts with a spread of order 1. The network has no
/// normalisation layer; PyTorch's default uniform `1 / sqrt(fan_in)` bound gives each layer
/// weights about 2.5 times smaller, the input-dependent part of the output starts about 25 times
/// smaller (0.015 against 0.37 for inputs uniform in [-1, 1), measured), and the cosine losses,
/// whose gradient grows as `1 / |z|`, then collapsed training to one constant output in 2 of 3
/// seeds at lr 1e-2 with the summed loss.
///
/// With normalisation ([`Backbone::ConvNetBn`](crate::Backbone::ConvNetBn)) a BatchNorm
/// (Ioffe and Szegedy 2015; gamma 1, beta 0, eps 1e-5, momentum 0.1) sits between each
/// convolution and its ReLU and between the hidden layer and its ReLU, which adds
/// `2 (32 + 64 + 128) = 448` parameters. Without it, squared-cosine training of this network
/// can freeze: the output norm grows while the loss's gradient falls as `1 / |z|`
/// (`docs/results/collapse.md`).
#[derive(Module, Debug)]
pub struct ConvNet {
    /// First convolution.
    pub conv1: Conv2d,
    /// Second convolution.
    pub conv2: Conv2d,
    /// 2x2 max pool, stride 2.
    pub pool: MaxPool2d,
    /// Pool to a fixed 7x7 grid.
    pub grid: AdaptiveAvgPool2d,
    /// Hidden fully connected layer.
    pub fc1: Linear,
    /// Output layer.
    pub fc2: Linear,
    /// BatchNorm after the first convolution (normalised variant only).
    pub bn1: Option<BatchNorm>,
    /// BatchNorm after the second convolution (normalised variant only).
    pub bn2: Option<BatchNorm>,
    /// BatchNorm after the hidden fully connected layer (normalised variant only).
    pub bn3: Option<BatchNorm>,
    /// Activation.
    pub relu: Relu,
}

impl ConvNet {
    pub(crate) fn new(
        in_channels: usize,
        outputs: usize,
        normalised: bool,
        device: &Device,
    ) -> Self {
        let he = |gain: f64| Initializer::KaimingNormal {
            gain,
            fan_out_only: false,
        };
        let conv = |i, o| {
            Conv2dConfig::new([i, o], [3, 3])
                .with_padding(PaddingConfig2d::Explicit(1, 1, 1, 1))
                .with_initializer(he(SQRT_2))
                .init(device)
        };
        Self {
            conv1: conv(in_channels, CONVNET_CHANNELS_1),
            conv2: conv(CONVNET_CHANNELS_1, CONVNET_CHANNELS_2),
            pool: MaxPool2dConfig::new([2, 2]).init(),
            grid: AdaptiveAvgPool2dConfig::new([CONVNET_GRID, CONVNET_GRID]).init(),
            fc1: LinearConfig::new(
                CONVNET_CHANNELS_2 * CONVNET_GRID * CONVNET_GRID,
                CONVNET_HIDDEN,
            )
            .with_initializer(he(SQRT_2))
            .init(device),
            fc2: LinearConfig::new(CONVNET_HIDDEN, outputs)
                .with_initializer(he(1.0))
                .init(device),
            bn1: normalised.then(|| batch_norm(CONVNET_CHANNELS_1, device)),
            bn2: normalised.then(|| batch_norm(CONVNET_CHANNELS_2, device)),
            bn3: normalised.then(|| batch_norm(CONVNET_HIDDEN, device)),
            relu: Relu::new(),
        }
    }

    /// Images (N, C, H, W) -> outputs (N, D). Needs at least 4x4 pixels.
    pub fn forward(&self, images: Tensor<4>) -> Tensor<2> {
        let x = conv2d_forward(&self.conv1, images);
        let x = max_pool2d_forward(&self.pool, normalise_relu(&self.relu, &self.bn1, x));
        let x = conv2d_forward(&self.conv2, x);
        let x = max_pool2d_forward(&self.pool, normalise_relu(&self.relu, &self.bn2, x));
        let x = self.to_grid(x);
        let [n, c, h, w] = x.dims();
        let x = self.fc1.forward(x.reshape([n, c * h * w]));
        let x = normalise_relu(&self.relu, &self.bn3, x);
        self.fc2.forward(x)
    }

    /// The adaptive average pool to the 7x7 grid, skipped where the map already is 7x7 (28x28
    /// inputs): there each output is the mean of one entry, `(0 + x) / 1 = x`, the same bits
    /// forward and backward, while burn-flex's adaptive pooling pass over every entry and its
    /// backward took about a tenth of the ConvNet-BN train step (2 threads).
    fn to_grid(&self, x: Tensor<4>) -> Tensor<4> {
        let [_, _, h, w] = x.dims();
        if h == CONVNET_GRID && w == CONVNET_GRID {
            x
        } else {
            self.grid.forward(x)
        }
    }
}

/// `relu(bn(x))` where the layer exists, `relu(x)` otherwise.
fn normalise_relu<const D: usize>(relu: &Relu, bn: &Option<BatchNorm>, x: Tensor<D>) -> Tensor<D> {
    match bn {
        Some(bn) => batch_norm_relu_forward(bn, x, None),
        None => relu.forward(x),
    }
}
