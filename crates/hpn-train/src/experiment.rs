//! One experiment from config to results: output layout, head, data, and every seed's
//! training run.
//!
//! A run directory `<out>/<name>/` holds:
//! - `config.toml`: the resolved config, every key written out, paths absolute;
//! - `head.json` ([`SavedHead`]) and `prototypes-{D}d-{K}c.npy`: how the outputs are read and
//!   what they were trained to point at;
//! - `prototypes/`: the placement cache, by (method, seed, K, D);
//! - `seed-<s>/`: `metrics.csv`, `state.json` + records (checkpoint), `model.bpk`, `curves.svg`;
//! - `summary.json`, `summary.md`: mean +- std over the seeds, with those of earlier calls
//!   kept when resuming (`--seeds 3 --resume` after seeds 1 and 2 summarises all three).
//!
//! Decoded images of image-file datasets are cached in `<out>/.cache/` unless the config names
//! a cache file.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use burn::tensor::Device;
use hpn_losses::RegressionBounds;
use hpn_prototypes::Prototypes;
use serde::{Deserialize, Serialize};

use crate::config::{ExperimentConfig, Task};
use crate::data::{self, PreparedData};
use crate::device::{BackendKind, select_device};
use crate::error::TrainError;
use crate::fsutil::{create_dir, write_atomic};
use crate::head::Head;
use crate::incremental::FirstPhase;
use crate::output_layout;
use crate::summary::Summary;
use crate::train::{SeedOptions, SeedResult, train_seed};

/// Command-line choices that override the config, and how the run reports and stops.
#[derive(Clone, Debug, Default)]
pub struct RunOptions {
    /// Parent of the run directory (default `runs`); the decoded-image cache goes to its
    /// `.cache/` unless the config names one.
    pub out: Option<PathBuf>,
    /// Backend instead of the config's.
    pub backend: Option<BackendKind>,
    /// Seeds instead of the config's.
    pub seeds: Option<Vec<u64>>,
    /// Epochs instead of the config's.
    pub epochs: Option<usize>,
    /// Continue each seed from its checkpoint.
    pub resume: bool,
    /// No progress bars or per-epoch lines.
    pub quiet: bool,
    /// Checked after every epoch: once it is true, the seed in progress stops with its
    /// checkpoint written, as a killed run would, and [`run`] returns
    /// [`TrainError::Stopped`]; `--resume` continues from there. Raise it from a signal
    /// handler, another thread, or before the run to train exactly one epoch.
    pub stop: Option<Arc<AtomicBool>>,
}

impl RunOptions {
    /// `config` with the overrides of these options applied.
    pub fn apply(&self, mut config: ExperimentConfig) -> ExperimentConfig {
        if let Some(b) = self.backend {
            config.backend = b;
        }
        if let Some(s) = &self.seeds {
            config.seeds = s.clone();
        }
        if let Some(e) = self.epochs {
            config.training.epochs = e;
        }
        config
    }

    /// The parent of the run directories.
    pub fn out_dir(&self) -> PathBuf {
        self.out.clone().unwrap_or_else(|| PathBuf::from("runs"))
    }

    /// The run directory of `config`.
    pub fn run_dir(&self, config: &ExperimentConfig) -> PathBuf {
        self.out_dir().join(&config.name)
    }
}

/// `head.json`: what a run directory records about how its outputs are read, so that it can
/// be evaluated and used for prediction again.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SavedHead {
    /// The task trained.
    pub task: Task,
    /// Class names in label order.
    pub class_names: Vec<String>,
    /// Width of the network output.
    pub output_width: usize,
    /// (channels, height, width) of the inputs.
    pub image_shape: (usize, usize, usize),
    /// Regression bounds [v_l, v_u], when the task has a target.
    pub bounds: Option<[f32; 2]>,
    /// The class prototypes file in the run directory, when HPN classes are trained.
    pub prototypes_file: Option<String>,
}

/// Name of the head file in a run directory.
pub const HEAD_FILE: &str = "head.json";

impl SavedHead {
    /// The head this run was trained with, on `device`.
    pub fn head(
        &self,
        config: &ExperimentConfig,
        run_dir: &Path,
        device: &Device,
    ) -> Result<Head, TrainError> {
        let bounds = match self.bounds {
            Some([lo, hi]) => Some(RegressionBounds::new(lo, hi)?),
            None => None,
        };
        let file = self.prototypes_file.as_ref().map(|f| run_dir.join(f));
        let layout = output_layout::from_saved(config, file.as_deref())?;
        Head::new(
            config,
            layout.as_ref(),
            self.class_names.len(),
            bounds,
            device,
        )
    }

    /// Reads `head.json` of a run directory.
    pub fn load(run_dir: &Path) -> Result<Self, TrainError> {
        let path = run_dir.join(HEAD_FILE);
        let text = std::fs::read_to_string(&path).map_err(|e| TrainError::io("read", &path, e))?;
        serde_json::from_str(&text).map_err(|e| TrainError::Run {
            path,
            message: format!("not a valid head file: {e}"),
        })
    }

    fn write(&self, run_dir: &Path) -> Result<(), TrainError> {
        let json = serde_json::to_string_pretty(self).map_err(|e| TrainError::Run {
            path: run_dir.to_path_buf(),
            message: e.to_string(),
        })?;
        write_atomic(&run_dir.join(HEAD_FILE), json.as_bytes())
    }
}

/// The regression bounds of an experiment: from the config, else min and max of the
/// training targets (paper Sec. 2.2).
pub(crate) fn regression_bounds(
    config: &ExperimentConfig,
    data: &PreparedData,
) -> Result<Option<RegressionBounds>, TrainError> {
    if config.task == Task::Classification {
        return Ok(None);
    }
    if let Some([lo, hi]) = config.prototypes.regression_bounds {
        return Ok(Some(RegressionBounds::new(lo, hi)?));
    }
    let targets = data.train.targets().ok_or_else(|| TrainError::Run {
        path: config.dataset.path.clone(),
        message: "the task needs regression targets but the dataset has none".into(),
    })?;
    let lo = targets.iter().cloned().fold(f32::INFINITY, f32::min);
    let hi = targets.iter().cloned().fold(f32::NEG_INFINITY, f32::max);
    Ok(Some(RegressionBounds::new(lo, hi)?))
}

/// A human-readable description of what `config` will do, for `--dry-run`. Builds nothing.
pub fn describe(config: &ExperimentConfig, options: &RunOptions) -> String {
    let mut s = String::new();
    s.push_str(&format!(
        "# experiment `{}` -> {}\n",
        config.name,
        options.run_dir(config).display()
    ));
    s.push_str(&format!(
        "# task {:?}, loss {:?}, backbone {}, D = {}, {} seeds x {} epochs, backend {}\n",
        config.task,
        config.loss.kind,
        config.model.backbone.name(),
        config.prototypes.dims,
        config.seeds.len(),
        config.training.epochs,
        config.backend
    ));
    if !config.dataset.path.exists() {
        s.push_str(&format!(
            "# note: dataset path {} does not exist on this machine (see datasets/README.md)\n",
            config.dataset.path.display()
        ));
    }
    if !config.backend.is_compiled() {
        s.push_str(&format!(
            "# note: backend {} is not compiled into this binary (cargo feature `{}`)\n",
            config.backend,
            config.backend.name()
        ));
    }
    s.push_str(&config.to_toml());
    s
}

/// The first part of the experiment that differs between a saved run and the config given to
/// resume it, among those that decide what the weights are: task, dataset, model, prototypes,
/// loss, optimiser, batch size and class-incremental phase. Seeds, epochs (a run may be
/// extended), evaluation interval, workers, gradient checkpointing (the same gradients) and
/// backend may change.
pub fn resume_conflict(saved: &ExperimentConfig, now: &ExperimentConfig) -> Option<&'static str> {
    if saved.task != now.task {
        Some("task")
    } else if saved.dataset != now.dataset {
        Some("dataset")
    } else if saved.model != now.model {
        Some("model")
    } else if saved.prototypes != now.prototypes {
        Some("prototypes")
    } else if saved.loss != now.loss {
        Some("loss")
    } else if saved.optimizer != now.optimizer {
        Some("optimizer")
    } else if saved.training.batch_size != now.training.batch_size {
        Some("training.batch_size")
    } else if saved.incremental != now.incremental {
        Some("incremental")
    } else {
        None
    }
}

/// A run directory made ready to train: its `config.toml`, `head.json` and prototypes
/// written, its data prepared. What [`prepare`] returns and [`run`] trains.
pub struct PreparedRun {
    /// The config with the options' overrides applied.
    pub config: ExperimentConfig,
    /// `<out>/<name>/`.
    pub run_dir: PathBuf,
    /// The training and evaluation images.
    pub data: PreparedData,
    /// How the network's outputs are scored.
    pub head: Head,
    /// The device of `config.backend`.
    pub device: Device,
    first: Option<FirstPhase>,
}

/// Writes everything of a run directory that comes before training: the resolved
/// `config.toml`, the prototypes (placed by the config's method, or loaded) and `head.json`,
/// and prepares the data. No seed is trained, so a tool that reads run directories (such as
/// the PyTorch reference) can be given one for seeds hpn never trained on this machine. With
/// `options.resume`, a run directory made with another experiment (see [`resume_conflict`]) is
/// an error and is left as it was.
pub fn prepare(config: &ExperimentConfig, options: &RunOptions) -> Result<PreparedRun, TrainError> {
    let config = options.apply(config.clone());
    config.validate(Path::new("<resolved config>"))?;
    let device = select_device(config.backend)?;
    let run_dir = options.run_dir(&config);
    create_dir(&run_dir)?;
    let saved = run_dir.join("config.toml");
    if options.resume && saved.exists() {
        let before = ExperimentConfig::load(&saved)?;
        if let Some(section) = resume_conflict(&before, &config) {
            return Err(TrainError::ResumeMismatch {
                path: run_dir,
                section,
            });
        }
    }
    write_atomic(&saved, config.to_toml().as_bytes())?;

    let data = data::prepare(&config, &options.out_dir().join(".cache"))?;
    let quiet = options.quiet;
    if !quiet {
        println!(
            "{}: {} training and {} evaluation images, {} classes, shape {:?}",
            config.name,
            data.train.len(),
            data.eval.len(),
            data.classes(),
            data.image_shape()
        );
    }
    let bounds = regression_bounds(&config, &data)?;
    let mut report = |p: hpn_prototypes::PlacementProgress| {
        if !quiet && p.total > 0 && (p.step + 1 == p.total || p.step.is_multiple_of(500)) {
            eprintln!(
                "placing prototypes: step {}/{} max cos {:.4}",
                p.step + 1,
                p.total,
                p.max_cosine
            );
        }
    };
    let first = FirstPhase::of(&config)?;
    let layout = output_layout::build(
        &config,
        data.classes(),
        first.as_ref(),
        &run_dir,
        &mut report,
        &device,
    )?;
    let prototypes_file = match layout.as_ref().and_then(|l| l.class_subspace_prototypes()) {
        Some(p) => {
            let file = Prototypes::file_name(p.classes(), p.dims());
            p.save_npy(&run_dir.join(&file))?;
            if !quiet {
                let s = hpn_prototypes::separation_stats(p);
                println!(
                    "prototypes: {} x {} ({}), max cos {:.4}, min angle {:.2} deg",
                    p.classes(),
                    p.dims(),
                    config.prototypes.method,
                    s.max_cosine,
                    s.min_angle_degrees
                );
            }
            Some(file)
        }
        None => None,
    };
    let head = Head::new(&config, layout.as_ref(), data.classes(), bounds, &device)?;
    SavedHead {
        task: config.task,
        class_names: data.class_names.clone(),
        output_width: head.width(),
        image_shape: data.image_shape(),
        bounds: bounds.map(|b| [b.lower, b.upper]),
        prototypes_file,
    }
    .write(&run_dir)?;
    Ok(PreparedRun {
        config,
        run_dir,
        data,
        head,
        device,
        first,
    })
}

/// Runs every seed of `config` and writes the summary: [`prepare`], then one training run
/// per seed. With `options.resume`, a run directory made with another experiment (see
/// [`resume_conflict`]) is an error and is left as it was.
pub fn run(config: &ExperimentConfig, options: &RunOptions) -> Result<Summary, TrainError> {
    let PreparedRun {
        config,
        run_dir,
        data,
        head,
        device,
        first,
    } = prepare(config, options)?;
    let quiet = options.quiet;
    let seed_options = SeedOptions {
        resume: options.resume,
        stop: options.stop.clone(),
        quiet,
    };
    let mut results: Vec<SeedResult> = Vec::new();
    for &seed in &config.seeds {
        let dir = run_dir.join(format!("seed-{seed}"));
        results.push(train_seed(
            &config,
            &data,
            &head,
            seed,
            &dir,
            first.as_ref(),
            &seed_options,
            &device,
        )?);
    }
    let mut summary = Summary::new(
        &config.name,
        &config.description,
        config.backend.name(),
        &format!("{} x {}", config.training.epochs, data.train.len()),
        &results,
    );
    // Resuming means the same experiment (checked in `prepare`): seeds trained by earlier
    // calls stay in the summary.
    if options.resume
        && let Some(earlier) = Summary::load(&run_dir)?
    {
        summary = summary.with_earlier(&earlier);
    }
    summary.write(&run_dir)?;
    Ok(summary)
}
