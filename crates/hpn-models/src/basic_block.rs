//! The residual BasicBlock of He et al. (2016): two 3x3 convolutions with BatchNorm, and a
//! shortcut that is the identity or, where the shape changes, a projection.

use crate::batch_norm_forward::batch_norm_relu_forward;
use crate::conv_forward::conv2d_forward;
use burn::module::Module;
use burn::nn::conv::Conv2d;
use burn::nn::{BatchNorm, Relu};
use burn::tensor::{Device, Tensor, s};

use crate::config::Shortcut;
use crate::layers::{ConvBn, batch_norm, he_conv};

/// The parameter-free shortcut of He et al.'s CIFAR option A: sub-sample by `stride`
/// (keep every `stride`-th row and column) and append zero channels up to `out_channels`.
#[derive(Module, Debug)]
pub struct ZeroPadShortcut {
    /// Spatial sub-sampling step.
    pub stride: usize,
    /// Channels of the output; the input's channels come first, zeros after.
    pub out_channels: usize,
}

impl ZeroPadShortcut {
    /// `[x[:, :, ::stride, ::stride], 0]` along the channel axis.
    pub fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        let x = if self.stride > 1 {
            let step = self.stride as isize;
            x.slice(s![.., .., ..;step, ..;step])
        } else {
            x
        };
        let [n, c, h, w] = x.dims();
        if self.out_channels <= c {
            return x;
        }
        let zeros = Tensor::<4>::zeros([n, self.out_channels - c, h, w], &x.device());
        Tensor::cat(vec![x, zeros], 1)
    }
}

/// The shortcut of a block whose input and output shapes differ.
// A network holds at most a handful of these, so the size of the projection variant does not
// matter, and Burn's `Module` derive wants the variants unboxed.
#[allow(clippy::large_enum_variant)]
#[derive(Module, Debug)]
pub enum Downsample {
    /// Convolution (1x1 or 3x3) with the block's stride, then BatchNorm.
    Projection(ConvBn),
    /// Sub-sampling and zero channels, no parameters.
    ZeroPad(ZeroPadShortcut),
}

impl Downsample {
    /// The shortcut for `in_channels -> out_channels` at `stride`, of kind `kind`.
    pub(crate) fn new(
        kind: Shortcut,
        in_channels: usize,
        out_channels: usize,
        stride: usize,
        device: &Device,
    ) -> Self {
        match kind {
            Shortcut::Conv3x3 => {
                Self::Projection(ConvBn::new(in_channels, out_channels, 3, stride, device))
            }
            Shortcut::Conv1x1 => {
                Self::Projection(ConvBn::new(in_channels, out_channels, 1, stride, device))
            }
            Shortcut::ZeroPad => Self::ZeroPad(ZeroPadShortcut {
                stride,
                out_channels,
            }),
        }
    }

    /// Applies the shortcut.
    pub fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        match self {
            Self::Projection(projection) => projection.forward(x),
            Self::ZeroPad(pad) => pad.forward(x),
        }
    }
}

/// `relu(bn2(conv2(relu(bn1(conv1(x))))) + shortcut(x))`, conv1 with the block's stride.
#[derive(Module, Debug)]
pub struct BasicBlock {
    /// First 3x3 convolution (carries the stride).
    pub conv1: Conv2d,
    /// BatchNorm after `conv1`.
    pub bn1: BatchNorm,
    /// Second 3x3 convolution.
    pub conv2: Conv2d,
    /// BatchNorm after `conv2`.
    pub bn2: BatchNorm,
    /// Shortcut where the shape changes; the identity otherwise.
    pub downsample: Option<Downsample>,
    /// The activation.
    pub relu: Relu,
}

impl BasicBlock {
    /// A block `in_channels -> out_channels` with stride `stride`; the shortcut is of kind
    /// `shortcut` when the stride is not 1 or the channels change.
    pub(crate) fn new(
        in_channels: usize,
        out_channels: usize,
        stride: usize,
        shortcut: Shortcut,
        device: &Device,
    ) -> Self {
        let downsample = (stride != 1 || in_channels != out_channels)
            .then(|| Downsample::new(shortcut, in_channels, out_channels, stride, device));
        Self {
            conv1: he_conv(in_channels, out_channels, 3, stride, 1, device),
            bn1: batch_norm(out_channels, device),
            conv2: he_conv(out_channels, out_channels, 3, 1, 1, device),
            bn2: batch_norm(out_channels, device),
            downsample,
            relu: Relu::new(),
        }
    }

    /// Applies the block.
    pub fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        let residual = match &self.downsample {
            Some(downsample) => downsample.forward(x.clone()),
            None => x.clone(),
        };
        let out = batch_norm_relu_forward(&self.bn1, conv2d_forward(&self.conv1, x), None);
        batch_norm_relu_forward(&self.bn2, conv2d_forward(&self.conv2, out), Some(residual))
    }
}

/// A stage: `blocks` BasicBlocks, the first one `in_channels -> out_channels` with `stride`,
/// the others `out_channels -> out_channels` with stride 1.
pub(crate) fn stage(
    in_channels: usize,
    out_channels: usize,
    blocks: usize,
    stride: usize,
    shortcut: Shortcut,
    device: &Device,
) -> Vec<BasicBlock> {
    (0..blocks)
        .map(|i| {
            if i == 0 {
                BasicBlock::new(in_channels, out_channels, stride, shortcut, device)
            } else {
                BasicBlock::new(out_channels, out_channels, 1, shortcut, device)
            }
        })
        .collect()
}
