//! Backbones of Hyperspherical Prototype Networks (Mettes, van der Pol, Snoek, NeurIPS 2019):
//! networks that map an image batch (N, C, H, W) to outputs z (N, D), which the HPN losses
//! compare with prototypes on the sphere S^{D-1}.
//!
//! | [`Backbone`] | paper's use | parameters |
//! |---|---|---|
//! | [`Backbone::ResNet32`] / [`Backbone::ResNetCifar`] ([`ResNetCifar`]) | CIFAR-100, ImageNet-200 | `486,736 + 65 D` for ResNet-32 |
//! | [`Backbone::DenseNet121`] ([`DenseNet`]) | supplement | `6,946,048 + 1025 D` |
//! | [`Backbone::ResNet18`] / [`Backbone::ResNet34`] ([`ResNet`]) | CUB-200, OmniArt at 224 px | `11,176,512` / `21,284,672 + 513 D` |
//! | [`Backbone::ConvNet`] ([`ConvNet`]) | rotated MNIST | `288 C + 420,064 + 129 D` |
//! | [`Backbone::ConvNetBn`] ([`ConvNet`] with BatchNorm) | hpn's MNIST claims | `288 C + 420,512 + 129 D` |
//!
//! All of them end in global average pooling (or an adaptive pool), so one network takes
//! several input sizes (32x32 CIFAR and 64x64 Tiny ImageNet for the CIFAR ResNets).
//! [`Model`] is a Burn [`Module`](burn::module::Module) enum over them: build it with
//! [`BackboneConfig::init`] on any [`Device`](burn::tensor::Device); on an autodiff device
//! BatchNorm uses batch statistics and updates its running averages, and `model.valid()`
//! gives the inference copy that uses the running averages.
//!
//! Every network calls four functions for its convolutions, BatchNorm (with the ReLU and the
//! residual sum after it) and max-pooling layers: [`conv2d_forward`], [`batch_norm_forward`],
//! [`batch_norm_relu_forward`] and [`max_pool2d_forward`]. With the `flex` feature they run the
//! CPU kernels of the `hpn-kernels` crate on the Flex backend (direct or im2col convolutions,
//! two-pass BatchNorm with the ReLU and sum in its output pass, one-pass pooling); on two Intel
//! Xeon cores a ResNet-32 train step runs at about 1.1x PyTorch's throughput
//! (`docs/performance.md`). Other devices, and builds without `flex`, use Burn's `Conv2d`,
//! `BatchNorm`, `relu` and `MaxPool2d`.
//!
//! ```
//! use burn::tensor::{Device, Tensor};
//! use hpn_models::{Backbone, BackboneConfig};
//!
//! let device = Device::flex();
//! let model = BackboneConfig::new(Backbone::ResNet32, 10).init(&device).unwrap();
//! assert_eq!(model.num_params(), 486_736 + 65 * 10);
//!
//! let z = model.forward(Tensor::zeros([2, 3, 32, 32], &device));
//! assert_eq!(z.dims(), [2, 10]);
//! ```

mod basic_block;
mod batch_norm_forward;
mod config;
mod conv_forward;
mod convnet;
mod densenet;
mod error;
mod layers;
mod max_pool_forward;
mod model;
mod resnet;
mod resnet_cifar;

pub use basic_block::{BasicBlock, Downsample, ZeroPadShortcut};
pub use batch_norm_forward::{batch_norm_forward, batch_norm_relu_forward};
pub use config::{Backbone, BackboneConfig, Shortcut};
pub use conv_forward::conv2d_forward;
pub use convnet::ConvNet;
pub use densenet::{DENSENET121_BLOCKS, DENSENET121_GROWTH, DenseLayer, DenseNet, Transition};
pub use error::ModelError;
pub use layers::ConvBn;
pub use max_pool_forward::max_pool2d_forward;
pub use model::Model;
pub use resnet::{RESNET18_BLOCKS, RESNET34_BLOCKS, ResNet};
pub use resnet_cifar::ResNetCifar;
