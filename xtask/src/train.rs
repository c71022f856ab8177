//! `train`, `eval` and `predict`.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use clap::Args;
use hpn_train::{BackendKind, ExperimentConfig, RunOptions, select_device};

/// The quickstart experiment, embedded so `cargo xtask train` works with no flags.
const QUICKSTART: &str = include_str!("../../configs/quickstart.toml");

/// Where the embedded quickstart's file lives in the source tree; its relative paths are taken
/// from that folder, as they would be for the file itself.
fn quickstart_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../configs/quickstart.toml")
}

#[derive(Args, Debug)]
pub struct TrainArgs {
    /// Experiment file (TOML). Default: the embedded configs/quickstart.toml.
    #[arg(long)]
    config: Option<PathBuf>,
    /// Backend: flex, ndarray, wgpu or cuda (default: the config's, flex).
    #[arg(long)]
    backend: Option<BackendKind>,
    /// Comma-separated training seeds, e.g. 1,2,3 (default: the config's).
    #[arg(long, value_delimiter = ',')]
    seeds: Option<Vec<u64>>,
    /// Number of epochs (default: the config's).
    #[arg(long)]
    epochs: Option<usize>,
    /// Parent directory of run directories (default: runs).
    #[arg(long)]
    out: Option<PathBuf>,
    /// Continue each seed from its last checkpoint.
    #[arg(long)]
    resume: bool,
    /// Check the config and print the resolved experiment; build and train nothing.
    #[arg(long)]
    dry_run: bool,
    /// No progress display.
    #[arg(long)]
    quiet: bool,
}

/// Reads `--config`, or the embedded quickstart as if read from `configs/quickstart.toml`.
fn load_config(path: Option<&Path>) -> Result<ExperimentConfig> {
    match path {
        Some(p) => Ok(ExperimentConfig::load(p)?),
        None => Ok(ExperimentConfig::parse(QUICKSTART, &quickstart_path())?),
    }
}

pub fn train(args: TrainArgs) -> Result<()> {
    let config = load_config(args.config.as_deref())?;
    let options = RunOptions {
        out: args.out,
        backend: args.backend,
        seeds: args.seeds,
        epochs: args.epochs,
        resume: args.resume,
        quiet: args.quiet,
        stop: None,
    };
    if args.dry_run {
        let resolved = options.apply(config);
        resolved
            .validate(Path::new("<resolved config>"))
            .context("the config with the command-line overrides is not valid")?;
        print!("{}", hpn_train::describe(&resolved, &options));
        return Ok(());
    }
    let summary = hpn_train::run(&config, &options)
        .with_context(|| format!("experiment `{}` failed", config.name))?;
    println!("\n{}", summary.markdown());
    println!(
        "results: {}",
        options.run_dir(&options.apply(config)).display()
    );
    Ok(())
}

#[derive(Args, Debug)]
pub struct EvalArgs {
    /// Run directory, e.g. runs/quickstart.
    #[arg(long)]
    run: PathBuf,
    /// Backend (default flex).
    #[arg(long, default_value = "flex")]
    backend: BackendKind,
}

pub fn eval(args: EvalArgs) -> Result<()> {
    let device = select_device(args.backend)?;
    let results = hpn_train::inference::evaluate_run(&args.run, &device)
        .with_context(|| format!("cannot evaluate {}", args.run.display()))?;
    for seed in results {
        let mut line = format!("{}:", seed.dir.display());
        if let Some(a) = seed.accuracy {
            line.push_str(&format!(" accuracy {a:.2}%"));
        }
        if let Some(m) = seed.mae {
            line.push_str(&format!(" mae {m:.3}"));
        }
        if let Some(o) = &seed.open_set {
            line.push_str(&format!(
                " open-set AUROC {:.4} (threshold {:.4}: {:.1}% of known accepted, {:.1}% of unknown rejected)",
                o.auroc,
                o.threshold,
                100.0 * o.known_accepted,
                100.0 * o.unknown_rejected
            ));
        }
        for sign in &seed.collapse {
            line.push_str(&format!(" COLLAPSED ({sign})"));
        }
        println!("{line}");
    }
    Ok(())
}

#[derive(Args, Debug)]
pub struct PredictArgs {
    /// Run directory, e.g. runs/quickstart.
    #[arg(long)]
    run: PathBuf,
    /// Which seed's model (default: the first finished one).
    #[arg(long)]
    seed: Option<u64>,
    /// Backend (default flex).
    #[arg(long, default_value = "flex")]
    backend: BackendKind,
    /// Image files (PNG or JPEG).
    #[arg(required = true)]
    images: Vec<PathBuf>,
}

pub fn predict(args: PredictArgs) -> Result<()> {
    let device = select_device(args.backend)?;
    let seed_dir = args.seed.map(|s| args.run.join(format!("seed-{s}")));
    if let Some(d) = &seed_dir
        && !d.join("model.bpk").exists()
    {
        bail!("{} holds no finished model (model.bpk)", d.display());
    }
    let run = hpn_train::inference::load_run(&args.run, seed_dir.as_deref(), &device)
        .with_context(|| format!("cannot load {}", args.run.display()))?;
    let predictions = hpn_train::inference::predict_images(&run, &args.images, &device)?;
    for (path, p) in args.images.iter().zip(predictions) {
        let mut line = format!("{}:", path.display());
        if let Some((class, score)) = p.class {
            let name = run
                .saved
                .class_names
                .get(class)
                .cloned()
                .unwrap_or_else(|| class.to_string());
            if p.known == Some(false) {
                let threshold = run.open_set.as_ref().map_or(0.0, |o| o.threshold);
                line.push_str(&format!(
                    " unknown (closest class {class} ({name}) score {score:.4} < threshold {threshold:.4})"
                ));
            } else {
                line.push_str(&format!(" class {class} ({name}) score {score:.4}"));
            }
        }
        if let Some(v) = p.value {
            line.push_str(&format!(" value {v:.3}"));
        }
        println!("{line}");
    }
    Ok(())
}
