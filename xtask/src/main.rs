//! `cargo xtask`: the command line of hpn.
//!
//! The work lives in the library crates; this binary parses flags, calls them, and reports
//! errors with their context.

mod allocator;
mod bench;
mod data;
mod prototypes;
mod reproduce;
mod train;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Hyperspherical Prototype Networks on Burn.
#[derive(Parser, Debug)]
#[command(name = "cargo xtask", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Train an experiment (default: configs/quickstart.toml, MNIST subset, CPU).
    Train(train::TrainArgs),
    /// Evaluate the finished models of a run directory again.
    Eval(train::EvalArgs),
    /// Predict the class and/or value of image files with a trained run.
    Predict(train::PredictArgs),
    /// Place K prototypes on S^{D-1}, write the .npy and print their separation.
    Prototypes(prototypes::PrototypesArgs),
    /// Inspect datasets on disk.
    Data {
        #[command(subcommand)]
        command: data::DataCommand,
    },
    /// Run a benchmark and print its figures.
    Bench {
        #[command(subcommand)]
        command: bench::BenchCommand,
    },
    /// Run the paper's claims at CPU scale and write docs/results/README.md.
    Reproduce(reproduce::ReproduceArgs),
}

fn main() -> ExitCode {
    allocator::keep_freed_memory_for_the_next_step();
    give_mesa_a_runtime_dir();
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Train(args) => train::train(args),
        Command::Eval(args) => train::eval(args),
        Command::Predict(args) => train::predict(args),
        Command::Prototypes(args) => prototypes::run(args),
        Command::Data { command } => data::run(command),
        Command::Bench { command } => bench::run(command),
        Command::Reproduce(args) => reproduce::run(args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {}", describe_error(&e));
            ExitCode::FAILURE
        }
    }
}

/// On a server or in CI there is often no `XDG_RUNTIME_DIR`; Mesa's Vulkan device-selection
/// layer then prints `error: XDG_RUNTIME_DIR is invalid or not set in the environment.` each
/// time wgpu lists adapters, which reads like a failure although nothing failed. Pointing the
/// variable at the temporary folder (where the layer finds no display server and stays quiet)
/// avoids that. A variable already set is left alone.
fn give_mesa_a_runtime_dir() {
    let set = std::env::var_os("XDG_RUNTIME_DIR")
        .is_some_and(|dir| std::path::Path::new(&dir).is_absolute());
    if !set {
        // SAFETY: called first thing in `main`, before any other thread exists, so no other
        // thread can read the environment while it changes.
        unsafe { std::env::set_var("XDG_RUNTIME_DIR", std::env::temp_dir()) };
    }
}

/// The error and its causes on one line, leaving out a cause whose text the line already holds
/// (library errors often print their source themselves).
fn describe_error(error: &anyhow::Error) -> String {
    let mut line = String::new();
    for cause in error.chain() {
        let text = cause.to_string();
        if !line.contains(&text) {
            if !line.is_empty() {
                line.push_str(": ");
            }
            line.push_str(&text);
        }
    }
    line
}
