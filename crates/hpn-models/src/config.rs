//! Which network to build: the backbone, its output dimension D and its input channels.

use burn::tensor::Device;
use serde::{Deserialize, Serialize};

use crate::convnet::ConvNet;
use crate::densenet::{DENSENET121_BLOCKS, DENSENET121_GROWTH, DenseNet};
use crate::error::ModelError;
use crate::model::Model;
use crate::resnet::{RESNET18_BLOCKS, RESNET34_BLOCKS, ResNet};
use crate::resnet_cifar::ResNetCifar;

/// The backbones of the paper (Sec. 3 and the supplement).
///
/// In TOML / JSON: `"resnet32"`, `{ resnet-cifar = { depth = 20, width = 2 } }`,
/// `"densenet121"`, `"resnet18"`, `"resnet34"`, `"convnet"`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Backbone {
    /// CIFAR ResNet-32 (depth 32 = 6 * 5 + 2, width 1), the paper's main network.
    #[serde(rename = "resnet32", alias = "resnet-32")]
    ResNet32,
    /// CIFAR ResNet of any depth `6n + 2` and width multiplier (channels 16w, 32w, 64w).
    #[serde(rename = "resnet-cifar")]
    ResNetCifar {
        /// `6n + 2`: 8, 14, 20, 32, 44, 56, 110, ...
        depth: usize,
        /// Channel multiplier, at least 1.
        width: usize,
    },
    /// DenseNet-121, CIFAR variant (3x3 stem, no stem pooling).
    #[serde(rename = "densenet121", alias = "densenet-121")]
    DenseNet121,
    /// ResNet-18, ImageNet layout (224 px inputs).
    #[serde(rename = "resnet18", alias = "resnet-18")]
    ResNet18,
    /// ResNet-34, ImageNet layout (224 px inputs); the authors' "resnet32" for CUB and OmniArt.
    #[serde(rename = "resnet34", alias = "resnet-34")]
    ResNet34,
    /// Small ConvNet of the rotated-MNIST experiment (two conv, two fully connected layers).
    #[serde(rename = "convnet")]
    ConvNet,
    /// The same ConvNet with BatchNorm after both convolutions and the hidden layer.
    #[serde(rename = "convnet-bn")]
    ConvNetBn,
}

impl Backbone {
    /// A short human-readable name ("ResNet-32", "DenseNet-121", ...).
    pub fn name(&self) -> String {
        match self {
            Backbone::ResNet32 => "ResNet-32".into(),
            Backbone::ResNetCifar { depth, width } if *width == 1 => format!("ResNet-{depth}"),
            Backbone::ResNetCifar { depth, width } => format!("ResNet-{depth} (width x{width})"),
            Backbone::DenseNet121 => "DenseNet-121".into(),
            Backbone::ResNet18 => "ResNet-18".into(),
            Backbone::ResNet34 => "ResNet-34".into(),
            Backbone::ConvNet => "ConvNet".into(),
            Backbone::ConvNetBn => "ConvNet-BN".into(),
        }
    }
}

/// The shortcut of a CIFAR ResNet block where the shape changes (stride 2, channels x2).
///
/// In TOML / JSON: `"conv3x3"`, `"conv1x1"`, `"zero-pad"`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Shortcut {
    /// 3x3 convolution, stride 2, + BatchNorm: the HPN authors' choice.
    #[default]
    Conv3x3,
    /// 1x1 convolution, stride 2, + BatchNorm (He et al.'s option B, torchvision's).
    Conv1x1,
    /// Sub-sampling + zero channels, no parameters (He et al.'s CIFAR option A).
    ZeroPad,
}

/// Everything needed to build a backbone: `BackboneConfig::new(backbone, D).init(&device)`.
///
/// In TOML / JSON (the `[model]` table of an experiment file) only the choices of the network
/// itself appear, `backbone` and `shortcut`; the output width and the input channels follow
/// from the prototypes and the data, so they are not read or written there.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct BackboneConfig {
    /// The network.
    pub backbone: Backbone,
    /// Width of the output layer: D of the sphere S^(D-1) for the HPN losses (the prototypes'
    /// dimension), K logits for softmax cross-entropy.
    #[serde(skip)]
    pub outputs: usize,
    /// Input channels (3 for colour images, 1 for MNIST).
    #[serde(skip)]
    pub in_channels: usize,
    /// Shortcut of the CIFAR ResNets where the shape changes; ImageNet ResNets always use
    /// 1x1 convolutions, the other backbones have no shortcut.
    pub shortcut: Shortcut,
}

impl Default for BackboneConfig {
    /// The small ConvNet with 10 outputs and 3 input channels.
    fn default() -> Self {
        Self::new(Backbone::ConvNet, 10)
    }
}

impl BackboneConfig {
    /// `backbone` with `outputs` outputs, 3 input channels, the 3x3 convolution shortcut.
    pub fn new(backbone: Backbone, outputs: usize) -> Self {
        Self {
            backbone,
            outputs,
            in_channels: 3,
            shortcut: Shortcut::default(),
        }
    }

    /// The same configuration with `in_channels` input channels.
    pub fn with_in_channels(mut self, in_channels: usize) -> Self {
        self.in_channels = in_channels;
        self
    }

    /// The same configuration with `outputs` outputs.
    pub fn with_outputs(mut self, outputs: usize) -> Self {
        self.outputs = outputs;
        self
    }

    /// The same configuration with shortcut `shortcut`.
    pub fn with_shortcut(mut self, shortcut: Shortcut) -> Self {
        self.shortcut = shortcut;
        self
    }

    /// Checks the sizes without building anything.
    pub fn validate(&self) -> Result<(), ModelError> {
        if self.outputs == 0 {
            return Err(ModelError::Zero { field: "outputs" });
        }
        if self.in_channels == 0 {
            return Err(ModelError::Zero {
                field: "in_channels",
            });
        }
        if let Backbone::ResNetCifar { depth, width } = self.backbone {
            cifar_blocks_per_stage(depth)?;
            if width == 0 {
                return Err(ModelError::Zero { field: "width" });
            }
        }
        Ok(())
    }

    /// Builds the network on `device` with fresh initial weights.
    pub fn init(&self, device: &Device) -> Result<Model, ModelError> {
        self.validate()?;
        let (c, d) = (self.in_channels, self.outputs);
        Ok(match self.backbone {
            Backbone::ResNet32 => {
                Model::ResNetCifar(ResNetCifar::new(5, 1, c, d, self.shortcut, device))
            }
            Backbone::ResNetCifar { depth, width } => {
                let n = cifar_blocks_per_stage(depth)?;
                Model::ResNetCifar(ResNetCifar::new(n, width, c, d, self.shortcut, device))
            }
            Backbone::DenseNet121 => Model::DenseNet(DenseNet::new(
                DENSENET121_BLOCKS,
                DENSENET121_GROWTH,
                c,
                d,
                device,
            )),
            Backbone::ResNet18 => Model::ResNet(ResNet::new(RESNET18_BLOCKS, c, d, device)),
            Backbone::ResNet34 => Model::ResNet(ResNet::new(RESNET34_BLOCKS, c, d, device)),
            Backbone::ConvNet => Model::ConvNet(ConvNet::new(c, d, false, device)),
            Backbone::ConvNetBn => Model::ConvNet(ConvNet::new(c, d, true, device)),
        })
    }
}

/// `n` of a CIFAR ResNet of depth `6n + 2`.
fn cifar_blocks_per_stage(depth: usize) -> Result<usize, ModelError> {
    if depth >= 8 && (depth - 2).is_multiple_of(6) {
        Ok((depth - 2) / 6)
    } else {
        Err(ModelError::InvalidDepth { depth })
    }
}
