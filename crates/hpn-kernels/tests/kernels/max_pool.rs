//! `max_pool2d_forward` (the Flex pooling kernels) against Burn's own `MaxPool2d::forward`: the
//! same bits for the output and the input gradient, on and off the autodiff device.

use burn::nn::PaddingConfig2d;
use burn::nn::pool::{MaxPool2d, MaxPool2dConfig};
use burn::tensor::{Device, Tensor};
use hpn_kernels::max_pool2d_forward;

use crate::util::{floats, images};

fn pool(kernel: usize, stride: usize, padding: usize) -> MaxPool2d {
    MaxPool2dConfig::new([kernel, kernel])
        .with_strides([stride, stride])
        .with_padding(PaddingConfig2d::Explicit(
            padding, padding, padding, padding,
        ))
        .init()
}

/// (output, dL/dx) for L = sum(y * r) with Burn's pooling or ours.
fn run(layer: &MaxPool2d, x: &Tensor<4>, r: &Tensor<4>, ours: bool) -> [Vec<f32>; 2] {
    let x = x.clone().require_grad();
    let y = if ours {
        max_pool2d_forward(layer, x.clone())
    } else {
        layer.forward(x.clone())
    };
    let grads = y.clone().mul(r.clone()).sum().backward();
    [floats(y), floats(x.grad(&grads).expect("x requires grad"))]
}

#[test]
fn matches_burns_pooling_bit_for_bit() {
    let device = Device::flex().autodiff();
    // The ConvNet's 2x2 pool, ResNet's padded 3x3 stride-2 stem pool (overlapping windows, so
    // gradients add up), odd sides; inputs rounded to tenths so that windows hold ties.
    for (kernel, stride, padding, side) in [(2, 2, 0, 8), (2, 2, 0, 7), (3, 2, 1, 9), (3, 1, 1, 6)]
    {
        let layer = pool(kernel, stride, padding);
        let x = images([3, 4, side, side], 11, &device)
            .mul_scalar(10.0)
            .round()
            .div_scalar(10.0);
        let y = layer.forward(x.clone());
        let r = images(y.dims(), 12, &device);
        let ours = run(&layer, &x, &r, true);
        let burn = run(&layer, &x, &r, false);
        assert_eq!(ours[0], burn[0], "k{kernel} s{stride} p{padding}: output");
        assert_eq!(
            ours[1], burn[1],
            "k{kernel} s{stride} p{padding}: input gradient"
        );

        // Without autodiff (the inference copy) the output is the same too.
        let plain = Device::flex();
        let x = x.to_device(&plain);
        assert_eq!(
            floats(max_pool2d_forward(&layer, x.clone())),
            floats(layer.forward(x)),
            "k{kernel} s{stride} p{padding}: output without autodiff"
        );
    }
}

#[test]
fn other_layers_go_to_burn() {
    // Asymmetric padding ("same" with an even window) is outside the kernels: Burn runs it.
    let device = Device::flex();
    let layer = MaxPool2dConfig::new([2, 2])
        .with_strides([1, 1])
        .with_padding(PaddingConfig2d::Same)
        .init();
    let x = images([1, 2, 5, 5], 13, &device);
    let ours = max_pool2d_forward(&layer, x.clone());
    assert_eq!(ours.dims(), [1, 2, 5, 5]);
    assert_eq!(floats(ours), floats(layer.forward(x)));
}
