//! `bench`: benchmarks that print their figures, run inside this binary so that they time
//! exactly the build `cargo xtask train` uses (same crates, same features, no second build).

mod conv;
mod data;
mod models;
mod prototypes;

use std::time::{Duration, Instant};

use anyhow::Result;
use clap::Subcommand;

#[derive(Subcommand, Debug)]
pub enum BenchCommand {
    /// Forward and train-step throughput of a network with the HPN loss, and peak memory.
    Models(models::ModelsArgs),
    /// Single ResNet-32 convolutions on Flex: Burn's Conv2d against hpn-kernels, and the
    /// kernels alone in GFLOP/s.
    Conv(conv::ConvArgs),
    /// Prototype placement: max cosine and seconds, default placer against the authors' update.
    Prototypes(prototypes::PrototypesArgs),
    /// Data pipeline throughput on a CIFAR-10 JPEG folder.
    Data(data::DataArgs),
}

pub fn run(command: BenchCommand) -> Result<()> {
    match command {
        BenchCommand::Models(args) => models::run(args),
        BenchCommand::Conv(args) => conv::run(args),
        BenchCommand::Prototypes(args) => prototypes::run(args),
        BenchCommand::Data(args) => data::run(args),
    }
}

/// The median of `times` (the upper one of the middle pair for an even count).
fn median<T: PartialOrd + Copy>(mut times: Vec<T>) -> T {
    times.sort_by(|a, b| a.partial_cmp(b).expect("no NaN times"));
    times[times.len() / 2]
}

/// `run` `warmup` times untimed, then the median wall time of `iters` more runs.
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

/// Peak resident set size of this process in MiB, from `VmHWM` in /proc/self/status.
fn peak_memory_mib() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024.0)
}

/// The thread count the CPU backends use (`RAYON_NUM_THREADS`, else every core).
fn threads() -> String {
    std::env::var("RAYON_NUM_THREADS").unwrap_or_else(|_| {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        format!("{cores} (all cores)")
    })
}
