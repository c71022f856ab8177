//! `bench conv`: forward + backward time of single ResNet-32 convolutions on Flex (batch 128),
//! Burn's `Conv2d::forward` against [`hpn_kernels::conv2d_forward`], with the largest relative
//! gap between their input and weight gradients; then each kernel of [`hpn_kernels::conv`]
//! alone on plain slices (forward, input gradient, weight gradient) with its rate in GFLOP/s
//! (2 O C K^2 H_o W_o N floating-point operations each).
//!
//! Layers: stage 1 (16 -> 16, 32x32, stride 1), the stage-2 entry (16 -> 32, stride 2),
//! stage 2 (32 -> 32, 16x16) and stage 3 (64 -> 64, 8x8); with `--network resnet18` the 3x3
//! stride-1 layers of ResNet-18/34 at 224x224 input (64 channels at 56x56 to 512 at 7x7, batch
//! 32). Medians of `--iters` runs after one warm-up.

use anyhow::Result;
use clap::Args;

#[derive(Args, Debug)]
pub struct ConvArgs {
    /// Timed runs per figure; the median is printed.
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u64).range(1..))]
    iters: u64,
    /// Which network's layers: the CIFAR ResNet-32 (batch 128) or ResNet-18/34 at 224x224
    /// input (batch 32).
    #[arg(long, value_enum, default_value_t = ConvNetwork::Resnet32)]
    network: ConvNetwork,
}

/// The networks whose convolutions `bench conv` times.
#[derive(clap::ValueEnum, Clone, Copy, Debug)]
pub enum ConvNetwork {
    /// ResNet-32's four kinds of 3x3 layer, batch 128.
    Resnet32,
    /// ResNet-18/34's stride-1 3x3 layers of each stage, batch 32.
    Resnet18,
}

#[cfg(not(feature = "flex"))]
pub fn run(_args: ConvArgs) -> Result<()> {
    anyhow::bail!("bench conv times the Flex kernels: build with the `flex` feature")
}

#[cfg(feature = "flex")]
pub fn run(args: ConvArgs) -> Result<()> {
    use burn::nn::PaddingConfig2d;
    use burn::nn::conv::Conv2dConfig;
    use burn::tensor::{Device, Distribution, Tensor};
    use hpn_kernels::conv::{ConvShape, conv2d, conv2d_input_grad, conv2d_weight_grad};
    use hpn_kernels::conv2d_forward;

    let iters = args.iters as usize;
    let time = |f: &mut dyn FnMut()| super::time(1, iters, f).as_secs_f64() * 1000.0;
    println!("threads: {}", super::threads());

    let device = Device::flex().autodiff();
    let (n, layers): (usize, &[(usize, usize, usize, usize)]) = match args.network {
        ConvNetwork::Resnet32 => (
            128,
            &[
                (16, 16, 32, 1),
                (16, 32, 32, 2),
                (32, 32, 16, 1),
                (64, 64, 8, 1),
            ],
        ),
        ConvNetwork::Resnet18 => (
            32,
            &[
                (64, 64, 56, 1),
                (128, 128, 28, 1),
                (256, 256, 14, 1),
                (512, 512, 7, 1),
            ],
        ),
    };
    for &(c, o, hw, stride) in layers {
        let conv = Conv2dConfig::new([c, o], [3, 3])
            .with_stride([stride, stride])
            .with_padding(PaddingConfig2d::Explicit(1, 1, 1, 1))
            .with_bias(false)
            .init(&device);
        let ho = hw / stride;
        let x = Tensor::<4>::random([n, c, hw, hw], Distribution::Normal(0.0, 1.0), &device);
        let r = Tensor::<4>::random([n, o, ho, ho], Distribution::Normal(0.0, 1.0), &device);
        let run = |ours: bool| {
            let x = x.clone().require_grad();
            let y = if ours {
                conv2d_forward(&conv, x.clone())
            } else {
                conv.forward(x.clone())
            };
            let g = y.mul(r.clone()).sum().backward();
            let dx: Vec<f32> = x.grad(&g).unwrap().into_data().try_to_vec::<f32>().unwrap();
            let dw: Vec<f32> = conv
                .weight
                .grad(&g)
                .unwrap()
                .into_data()
                .try_to_vec::<f32>()
                .unwrap();
            (dx, dw)
        };
        let native = time(&mut || {
            run(false);
        });
        let ours = time(&mut || {
            run(true);
        });
        let (a, b) = (run(false), run(true));
        let err = |p: &[f32], q: &[f32]| {
            p.iter()
                .zip(q)
                .map(|(a, b)| (a - b).abs() / (1.0 + a.abs()))
                .fold(0.0f32, f32::max)
        };
        println!(
            "{c:>3} -> {o:<3} {hw:>2}x{hw:<2} stride {stride}: forward + backward Burn {native:6.1} ms, ours {ours:6.1} ms ({:.2}x); gradient gaps dx {:.1e}, dW {:.1e}",
            native / ours,
            err(&a.0, &b.0),
            err(&a.1, &b.1)
        );
    }
    println!("kernels alone (batch {n}):");
    for &(c, o, hw, stride) in layers {
        let shape = ConvShape {
            batch: n,
            in_channels: c,
            out_channels: o,
            height: hw,
            width: hw,
            kernel: 3,
            stride,
            padding: 1,
        };
        let (ho, wo) = shape.output_size();
        let noise = |len: usize, seed: usize| -> Vec<f32> {
            (0..len)
                .map(|i| ((i * 2_654_435_761 + seed) % 1000) as f32 / 500.0 - 1.0)
                .collect()
        };
        let x = noise(n * c * hw * hw, 1);
        let w = noise(o * c * 9, 2);
        let dy = noise(n * o * ho * wo, 3);
        let gflop = 2.0 * (o * c * 9 * ho * wo * n) as f64 / 1e9;
        let forward = time(&mut || {
            std::hint::black_box(conv2d(&x, &w, &shape));
        });
        let input = time(&mut || {
            std::hint::black_box(conv2d_input_grad(&dy, &w, &shape));
        });
        let weight = time(&mut || {
            std::hint::black_box(conv2d_weight_grad(&x, &dy, &shape));
        });
        println!(
            "{c:>3} -> {o:<3} {hw:>2}x{hw:<2} stride {stride}: forward {forward:5.1} ms ({:3.0} GFLOP/s), input gradient {input:5.1} ms ({:3.0}), weight gradient {weight:5.1} ms ({:3.0})",
            gflop / forward * 1e3,
            gflop / input * 1e3,
            gflop / weight * 1e3
        );
    }
    Ok(())
}
