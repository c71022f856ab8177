//! The kernels under Burn's gradient checkpointing: a backward pass that recomputes the
//! BatchNorm outputs (and the ReLUs and sums after them) instead of keeping them gives the same
//! gradients, bit for bit, as one that keeps everything.

use burn::module::{Module, Param};
use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::nn::{BatchNorm, BatchNormConfig, PaddingConfig2d};
use burn::tensor::activation::relu;
use burn::tensor::{Device, Tensor};
use hpn_kernels::{batch_norm_forward, batch_norm_relu_forward, conv2d_forward};

use crate::util::{floats, images};

/// conv -> BN -> ReLU -> conv -> BN, plus the block input, -> ReLU (fused), then the result
/// concatenated with the block input along the channels -> BN: a residual block followed by a
/// dense-block concatenation.
#[derive(Module, Debug)]
struct Block {
    conv1: Conv2d,
    bn1: BatchNorm,
    conv2: Conv2d,
    bn2: BatchNorm,
    bn3: BatchNorm,
}

impl Block {
    /// Weights from fixed streams (not the device's random generator, which tests running
    /// beside this one draw from too), gamma and beta away from 1 and 0.
    fn new(channels: usize, device: &Device) -> Self {
        let conv = |seed| {
            let mut conv = Conv2dConfig::new([channels, channels], [3, 3])
                .with_padding(PaddingConfig2d::Explicit(1, 1, 1, 1))
                .with_bias(false)
                .init(device);
            conv.weight = Param::from_tensor(images([channels, channels, 3, 3], seed, device));
            conv
        };
        let norm = |width, seed| {
            let mut bn = BatchNormConfig::new(width).init(device);
            bn.gamma = Param::from_tensor(images([width], seed, device).add_scalar(1.5));
            bn.beta = Param::from_tensor(images([width], seed + 1, device));
            bn
        };
        Self {
            conv1: conv(41),
            bn1: norm(channels, 42),
            conv2: conv(44),
            bn2: norm(channels, 45),
            bn3: norm(2 * channels, 47),
        }
    }

    fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        let h = relu(batch_norm_forward(
            &self.bn1,
            conv2d_forward(&self.conv1, x.clone()),
        ));
        let h = batch_norm_relu_forward(&self.bn2, conv2d_forward(&self.conv2, h), Some(x.clone()));
        relu(batch_norm_forward(&self.bn3, Tensor::cat(vec![h, x], 1)))
    }
}

/// The gradients of sum(y * r) for the input and every parameter of the same block, on
/// `device`.
fn gradients(device: &Device) -> Vec<Vec<f32>> {
    let block = Block::new(4, device);
    let x = images([3, 4, 6, 6], 31, device).require_grad();
    let r = images([3, 8, 6, 6], 32, device);
    let grads = block.forward(x.clone()).mul(r).sum().backward();
    let grad = |t: Option<Tensor<4>>| floats(t.expect("tracked"));
    let grad1 = |t: Option<Tensor<1>>| floats(t.expect("tracked"));
    vec![
        grad(x.grad(&grads)),
        grad(block.conv1.weight.grad(&grads)),
        grad(block.conv2.weight.grad(&grads)),
        grad1(block.bn1.gamma.grad(&grads)),
        grad1(block.bn2.beta.grad(&grads)),
        grad1(block.bn3.gamma.grad(&grads)),
        grad1(block.bn3.beta.grad(&grads)),
    ]
}

#[test]
fn checkpointed_gradients_equal_the_kept_ones_bit_for_bit() {
    let kept = gradients(&Device::flex().autodiff());
    let checkpointed = gradients(&Device::flex().autodiff().gradient_checkpointing());
    let names = [
        "x",
        "conv1",
        "conv2",
        "bn1 gamma",
        "bn2 beta",
        "bn3 gamma",
        "bn3 beta",
    ];
    for ((a, b), name) in kept.iter().zip(&checkpointed).zip(names) {
        assert!(a.iter().any(|v| *v != 0.0), "{name}: all zero");
        assert_eq!(a, b, "{name}");
    }
}
