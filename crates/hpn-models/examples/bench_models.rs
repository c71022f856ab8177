//! Throughput of ResNet-32 (the authors' variant, D = 100) with the HPN loss against 100
//! random unit prototypes, batch 128 of 32x32x3 images, on each compiled CPU backend.
//!
//! ```text
//! cargo run --release -p hpn-models --example bench_models [-- --backend flex|ndarray]
//!     [--batch 128] [--warmup 2] [--iters 5]
//! ```
//!
//! Add `--features x86-v4` on CPUs with AVX-512 (flex's AVX-512 matrix-multiply kernels:
//! faster inference, about the same train step) and `--features ndarray` to time the
//! (deprecated, much slower) ndarray backend too.
//!
//! Prints, per backend, the median time of a forward pass (inference copy) and of a train
//! step (forward + loss + backward + SGD with momentum and weight decay), in images/s, and
//! the process's peak resident memory (VmHWM). Thread count: `RAYON_NUM_THREADS`.

use std::process::ExitCode;
use std::time::{Duration, Instant};

use burn::module::Module;
use burn::optim::decay::WeightDecayConfig;
use burn::optim::momentum::MomentumConfig;
use burn::optim::{GradientsParams, SgdConfig};
use burn::tensor::{Device, Distribution, Int, Tensor};
use hpn_losses::{Reduction, classification_loss};
use hpn_models::{Backbone, BackboneConfig};

const OUTPUT_DIM: usize = 100;
const CLASSES: usize = 100;

struct Options {
    backends: Vec<String>,
    batch: usize,
    warmup: usize,
    iters: usize,
}

fn compiled_backends() -> Vec<String> {
    [
        #[cfg(feature = "flex")]
        "flex",
        #[cfg(feature = "ndarray")]
        "ndarray",
    ]
    .iter()
    .map(|name| name.to_string())
    .collect()
}

fn device_for(name: &str) -> Option<Device> {
    match name {
        #[cfg(feature = "flex")]
        "flex" => Some(Device::flex()),
        #[cfg(feature = "ndarray")]
        #[allow(deprecated)]
        "ndarray" => Some(Device::ndarray()),
        _ => None,
    }
}

fn parse_options() -> Result<Options, String> {
    let mut options = Options {
        backends: compiled_backends(),
        batch: 128,
        warmup: 2,
        iters: 5,
    };
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let mut value = |name: &str| args.next().ok_or_else(|| format!("{name} needs a value"));
        let number = |name: &str, text: String| {
            text.parse::<usize>()
                .ok()
                .filter(|v| *v > 0)
                .ok_or_else(|| format!("{name}: expected a positive integer, got {text:?}"))
        };
        match flag.as_str() {
            "--backend" => options.backends = vec![value("--backend")?],
            "--batch" => options.batch = number("--batch", value("--batch")?)?,
            "--warmup" => options.warmup = number("--warmup", value("--warmup")?)?,
            "--iters" => options.iters = number("--iters", value("--iters")?)?,
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    Ok(options)
}

fn median(mut times: Vec<Duration>) -> Duration {
    times.sort();
    times[times.len() / 2]
}

/// Peak resident set size of this process in MiB, from `VmHWM` in /proc/self/status.
fn peak_memory_mib() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024.0)
}

fn unit_prototypes(device: &Device) -> Tensor<2> {
    let p = Tensor::<2>::random(
        [CLASSES, OUTPUT_DIM],
        Distribution::Normal(0.0, 1.0),
        device,
    );
    let norms = p.clone().square().sum_dim(1).sqrt();
    p / norms
}

fn time<F: FnMut()>(warmup: usize, iters: usize, mut run: F) -> Duration {
    for _ in 0..warmup {
        run();
    }
    median(
        (0..iters)
            .map(|_| {
                let start = Instant::now();
                run();
                start.elapsed()
            })
            .collect(),
    )
}

fn bench(name: &str, device: Device, options: &Options) {
    let batch = options.batch;
    let train_device = device.clone().autodiff();
    let mut model = BackboneConfig::new(Backbone::ResNet32, OUTPUT_DIM)
        .init(&train_device)
        .expect("ResNet-32 configuration is valid");
    let prototypes = unit_prototypes(&train_device);
    let images = Tensor::<4>::random(
        [batch, 3, 32, 32],
        Distribution::Normal(0.0, 1.0),
        &train_device,
    );
    let labels = Tensor::<1, Int>::random(
        [batch],
        Distribution::Uniform(0.0, CLASSES as f64),
        &train_device,
    );

    // Inference: the `valid()` copy on the plain device, BatchNorm with running statistics.
    let valid = model.valid();
    let plain_images = images.clone().inner();
    let forward = time(options.warmup, options.iters, || {
        let z = valid.forward(plain_images.clone());
        let _ = z.try_into_vec_as::<f32>().expect("read the outputs");
    });

    // Train step: forward, Eq. 1 loss summed over the batch, backward, SGD step.
    let mut optimizer = SgdConfig::new()
        .with_momentum(Some(MomentumConfig {
            momentum: 0.9,
            dampening: 0.0,
            nesterov: false,
        }))
        .with_weight_decay(Some(WeightDecayConfig { penalty: 1e-4 }))
        .init();
    let mut last_loss = f32::NAN;
    let mut train_times = Vec::with_capacity(options.iters);
    for step in 0..options.warmup + options.iters {
        let start = Instant::now();
        let z = model.forward(images.clone());
        let loss = classification_loss(z, prototypes.clone(), labels.clone(), Reduction::Sum);
        let grads = GradientsParams::from_grads(loss.backward(), &model);
        model = optimizer.step(0.01, model, grads);
        last_loss = loss.into_scalar::<f32>();
        if step >= options.warmup {
            train_times.push(start.elapsed());
        }
    }
    let train = median(train_times);

    let rate = |d: Duration| batch as f64 / d.as_secs_f64();
    println!(
        "{name:8} forward  {:8.1} img/s  ({:7.1} ms/batch, median of {})",
        rate(forward),
        forward.as_secs_f64() * 1e3,
        options.iters
    );
    println!(
        "{name:8} train    {:8.1} img/s  ({:7.1} ms/batch, median of {}, last loss {last_loss:.2})",
        rate(train),
        train.as_secs_f64() * 1e3,
        options.iters
    );
    match peak_memory_mib() {
        Some(mib) => println!("{name:8} peak RSS {mib:8.1} MiB (VmHWM, whole process so far)"),
        None => println!("{name:8} peak RSS unavailable (no /proc/self/status)"),
    }
}

fn main() -> ExitCode {
    let options = match parse_options() {
        Ok(options) => options,
        Err(message) => {
            eprintln!("bench_models: {message}");
            eprintln!(
                "usage: bench_models [--backend flex|ndarray] [--batch N] [--warmup N] [--iters N]"
            );
            return ExitCode::FAILURE;
        }
    };
    let threads = std::env::var("RAYON_NUM_THREADS").unwrap_or_else(|_| "all cores".into());
    println!(
        "ResNet-32 (3x3 conv shortcut), D = {OUTPUT_DIM}, {CLASSES} prototypes, batch {}, 32x32x3, threads: {threads}",
        options.batch
    );
    for name in &options.backends {
        let Some(device) = device_for(name) else {
            eprintln!(
                "bench_models: backend {name:?} is not compiled in; compiled: {:?} (enable with --features {name})",
                compiled_backends()
            );
            return ExitCode::FAILURE;
        };
        bench(name, device, &options);
    }
    ExitCode::SUCCESS
}
