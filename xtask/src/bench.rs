//! `bench`: runs a crate's benchmark program in release mode and lets it print its figures.

use std::process::Command;

use anyhow::{Context, Result, bail};
use clap::{Args, ValueEnum};

#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum Bench {
    /// Prototype placement: max cos and seconds, default placer vs the authors' update.
    Prototypes,
    /// ResNet-32 forward and train-step throughput, peak memory.
    Models,
    /// Data pipeline throughput (needs a CIFAR-10 JPEG folder as argument).
    Data,
}

#[derive(Args, Debug)]
pub struct BenchArgs {
    /// Which benchmark.
    which: Bench,
    /// Arguments passed to the benchmark program.
    #[arg(trailing_var_arg = true)]
    args: Vec<String>,
}

pub fn run(args: BenchArgs) -> Result<()> {
    let (package, example) = match args.which {
        Bench::Prototypes => ("hpn-prototypes", "bench_prototypes"),
        Bench::Models => ("hpn-models", "bench_models"),
        Bench::Data => ("hpn-data", "bench_data"),
    };
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let status = Command::new(cargo)
        .args([
            "run",
            "--release",
            "-p",
            package,
            "--example",
            example,
            "--",
        ])
        .args(&args.args)
        .status()
        .with_context(|| format!("cannot start cargo for the {package} benchmark"))?;
    if !status.success() {
        bail!("benchmark {package}/{example} failed ({status})");
    }
    Ok(())
}
