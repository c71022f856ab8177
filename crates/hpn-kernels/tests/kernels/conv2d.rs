//! `conv2d_forward` (the Flex convolution kernels) against Burn's own `Conv2d::forward`: the
//! same output, input gradient and weight gradient, on and off the autodiff device.

use burn::module::Module;
use burn::nn::PaddingConfig2d;
use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::tensor::{Device, Tensor};
use hpn_kernels::conv2d_forward;

use crate::util::{floats, images};

fn largest_gap(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len());
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs() / (1.0 + x.abs()))
        .fold(0.0, f32::max)
}

fn conv(
    channels: [usize; 2],
    kernel: usize,
    stride: usize,
    padding: usize,
    bias: bool,
    device: &Device,
) -> Conv2d {
    Conv2dConfig::new(channels, [kernel, kernel])
        .with_stride([stride, stride])
        .with_padding(PaddingConfig2d::Explicit(
            padding, padding, padding, padding,
        ))
        .with_bias(bias)
        .init(device)
}

/// (output, dL/dx, dL/dW) for L = sum(y * r) with Burn's convolution or ours.
fn run(layer: &Conv2d, x: &Tensor<4>, r: &Tensor<4>, ours: bool) -> [Vec<f32>; 3] {
    let x = x.clone().require_grad();
    let y = if ours {
        conv2d_forward(layer, x.clone())
    } else {
        layer.forward(x.clone())
    };
    let grads = y.clone().mul(r.clone()).sum().backward();
    [
        floats(y),
        floats(x.grad(&grads).expect("x requires grad")),
        floats(layer.weight.grad(&grads).expect("weights require grad")),
    ]
}

#[test]
fn matches_burns_convolution_in_value_and_both_gradients() {
    let device = Device::flex().autodiff();
    // Stride 1 and 2, 1x1 / 2x2 / 3x3 / 7x7 kernels, with and without bias, valid padding; the
    // 2x2 kernel on a 14 x 15 map (16 padded rows) takes the shifted-copies path of hpn-kernels.
    let cases = [
        ([3, 5], 3, 1, 1, false, 9),
        ([3, 4], 2, 1, 1, false, 14),
        ([4, 6], 3, 2, 1, false, 8),
        ([2, 3], 1, 1, 0, false, 6),
        ([3, 4], 7, 2, 3, false, 11),
        ([3, 2], 3, 1, 1, true, 7),
        ([2, 4], 5, 2, 0, true, 12),
    ];
    for (channels, kernel, stride, padding, bias, size) in cases {
        let layer = conv(channels, kernel, stride, padding, bias, &device);
        let x = images([4, channels[0], size, size + 1], 1, &device);
        let reference = layer.forward(x.clone());
        let r = images(reference.dims(), 2, &device);
        let theirs = run(&layer, &x, &r, false);
        let ours = run(&layer, &x, &r, true);
        for (what, a, b) in [
            ("output", &theirs[0], &ours[0]),
            ("input gradient", &theirs[1], &ours[1]),
            ("weight gradient", &theirs[2], &ours[2]),
        ] {
            let gap = largest_gap(a, b);
            assert!(
                gap < 1e-5,
                "{channels:?} k{kernel} s{stride}: {what} differs by {gap}"
            );
        }
        // Without autodiff the output is the same too.
        let plain = layer.valid();
        let x_plain = x.inner();
        let gap = largest_gap(
            &floats(plain.forward(x_plain.clone())),
            &floats(conv2d_forward(&plain, x_plain)),
        );
        assert!(
            gap < 1e-5,
            "{channels:?} k{kernel} s{stride}: inference output differs by {gap}"
        );
    }
}
