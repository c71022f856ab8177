//! `bench models`: images/s of a network's forward pass (inference copy) and train step
//! (forward, Eq. 1 summed over the batch, backward, SGD with momentum 0.9 and weight decay
//! 1e-4) against K random unit prototypes, and the process's peak resident memory.

use std::time::Duration;

use anyhow::{Context, Result};
use burn::module::Module;
use burn::optim::decay::WeightDecayConfig;
use burn::optim::momentum::MomentumConfig;
use burn::optim::{GradientsParams, SgdConfig};
use burn::tensor::{Device, Distribution, Int, Tensor};
use clap::{Args, ValueEnum};
use hpn_losses::{Reduction, classification_loss};
use hpn_models::{Backbone, BackboneConfig};
use hpn_train::{BackendKind, select_device};

use super::{median, peak_memory_mib, threads, time};

/// The networks of the paper, each at its paper input size.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Network {
    /// CIFAR ResNet-32, 32x32x3, D = 100 (CIFAR-100), batch 128.
    Resnet32,
    /// The small ConvNet, 28x28x1, D = 10 (MNIST), batch 128.
    Convnet,
    /// The ConvNet with BatchNorm, 28x28x1, D = 10, batch 128.
    ConvnetBn,
    /// DenseNet-121 (CIFAR stem), 32x32x3, D = 100, batch 64.
    Densenet121,
    /// ResNet-18, 224x224x3, D = 200 (CUB-200), batch 32.
    Resnet18,
    /// ResNet-34, 224x224x3, D = 200, batch 32.
    Resnet34,
}

impl Network {
    /// (backbone, channels, side, outputs D = classes K, batch).
    fn setting(self) -> (Backbone, usize, usize, usize, usize) {
        match self {
            Network::Resnet32 => (Backbone::ResNet32, 3, 32, 100, 128),
            Network::Convnet => (Backbone::ConvNet, 1, 28, 10, 128),
            Network::ConvnetBn => (Backbone::ConvNetBn, 1, 28, 10, 128),
            Network::Densenet121 => (Backbone::DenseNet121, 3, 32, 100, 64),
            Network::Resnet18 => (Backbone::ResNet18, 3, 224, 200, 32),
            Network::Resnet34 => (Backbone::ResNet34, 3, 224, 200, 32),
        }
    }
}

#[derive(Args, Debug)]
pub struct ModelsArgs {
    /// Backend: flex, or ndarray/wgpu/cuda when built with that feature.
    #[arg(long, default_value = "flex")]
    backend: BackendKind,
    /// The network, at its paper input size.
    #[arg(long, value_enum, default_value = "resnet32")]
    network: Network,
    /// Batch size (default: the network's, see --network).
    #[arg(long)]
    batch: Option<usize>,
    /// Untimed runs before the timed ones.
    #[arg(long, default_value_t = 2)]
    warmup: usize,
    /// Timed runs; the median is printed.
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u64).range(1..))]
    iters: u64,
    /// Recompute the memory-bound operations (BatchNorm, ReLU, residual sums) in the backward
    /// pass instead of keeping their outputs (Burn's balanced gradient checkpointing).
    #[arg(long)]
    checkpointing: bool,
    /// Seed of the weights, images, labels and prototypes: the same seed gives the same last
    /// loss on every run of one machine.
    #[arg(long, default_value_t = 0)]
    seed: u64,
}

/// K random unit rows of dimension D.
fn unit_prototypes(classes: usize, dims: usize, device: &Device) -> Tensor<2> {
    let p = Tensor::<2>::random([classes, dims], Distribution::Normal(0.0, 1.0), device);
    let norms = p.clone().square().sum_dim(1).sqrt();
    p / norms
}

pub fn run(args: ModelsArgs) -> Result<()> {
    let device = select_device(args.backend)?;
    let (backbone, channels, side, dims, default_batch) = args.network.setting();
    let batch = args.batch.unwrap_or(default_batch).max(1);
    let iters = args.iters as usize;
    let name = args.backend.name();
    println!(
        "{}, D = {dims}, {dims} prototypes, batch {batch} of {side}x{side}x{channels}, backend {name}, threads: {}{}",
        backbone.name(),
        threads(),
        if args.checkpointing {
            ", gradient checkpointing"
        } else {
            ""
        }
    );

    let train_device = if args.checkpointing {
        device.clone().autodiff().gradient_checkpointing()
    } else {
        device.clone().autodiff()
    };
    device.seed(args.seed);
    train_device.seed(args.seed);
    let mut model = BackboneConfig::new(backbone, dims)
        .with_in_channels(channels)
        .init(&train_device)
        .context("build the network")?;
    let prototypes = unit_prototypes(dims, dims, &train_device);
    let images = Tensor::<4>::random(
        [batch, channels, side, side],
        Distribution::Normal(0.0, 1.0),
        &train_device,
    );
    let labels = Tensor::<1, Int>::random(
        [batch],
        Distribution::Uniform(0.0, dims as f64),
        &train_device,
    );

    // Inference: the `valid()` copy on the plain device, BatchNorm with running statistics.
    let valid = model.valid();
    let plain_images = images.clone().inner();
    let forward = time(args.warmup, iters, || {
        let z = valid.forward(plain_images.clone());
        let _ = z.try_into_vec_as::<f32>().expect("read the outputs");
    });

    let mut optimizer = SgdConfig::new()
        .with_momentum(Some(MomentumConfig {
            momentum: 0.9,
            dampening: 0.0,
            nesterov: false,
        }))
        .with_weight_decay(Some(WeightDecayConfig { penalty: 1e-4 }))
        .init();
    let mut last_loss = f32::NAN;
    let mut train_times = Vec::with_capacity(iters);
    for step in 0..args.warmup + iters {
        let start = std::time::Instant::now();
        let z = model.forward(images.clone());
        let loss = classification_loss(z, prototypes.clone(), labels.clone(), Reduction::Sum);
        let grads = GradientsParams::from_grads(loss.backward(), &model);
        model = optimizer.step(0.01, model, grads);
        last_loss = loss.into_scalar::<f32>();
        if step >= args.warmup {
            train_times.push(start.elapsed());
        }
    }
    let train = median(train_times);

    let rate = |d: Duration| batch as f64 / d.as_secs_f64();
    println!(
        "{name:8} forward  {:8.1} img/s  ({:7.1} ms/batch, median of {iters})",
        rate(forward),
        forward.as_secs_f64() * 1e3,
    );
    println!(
        "{name:8} train    {:8.1} img/s  ({:7.1} ms/batch, median of {iters}, last loss {last_loss:.2})",
        rate(train),
        train.as_secs_f64() * 1e3,
    );
    match peak_memory_mib() {
        Some(mib) => println!("{name:8} peak RSS {mib:8.1} MiB (VmHWM, whole process)"),
        None => println!("{name:8} peak RSS unavailable (no /proc/self/status)"),
    }
    Ok(())
}
