//! One experiment from config to results: output layout, data, and every seed's training run.
//!
//! Layout of a run directory `<out>/<name>/`:
//! - `config.toml`: the resolved config, every key written out;
//! - `layout.json` and `prototypes-{D}d-{K}c.npy`: what the outputs were trained to point at;
//! - `prototypes/`: the placement cache, by (method, seed, K, D);
//! - `seed-<s>/`: `metrics.csv`, `state.json` + records (checkpoint), `model.bpk`, `curves.svg`;
//! - `summary.json`, `summary.md`: mean +- std over the seeds.

use std::path::{Path, PathBuf};

use hpn_losses::RegressionBounds;
use hpn_prototypes::{OutputLayout, Prototypes};
use serde::{Deserialize, Serialize};

use crate::config::{ExperimentConfig, Task};
use crate::data::{self, PreparedData};
use crate::device::{BackendKind, select_device};
use crate::error::TrainError;
use crate::fsutil::{create_dir, write_atomic};
use crate::layout;
use crate::objective::{Objective, output_width};
use crate::summary::Summary;
use crate::train::{SeedOptions, SeedResult, train_seed};

/// Command-line choices that override the config.
#[derive(Clone, Debug, Default)]
pub struct RunOptions {
    /// Parent of the run directory (default `runs`).
    pub out: Option<PathBuf>,
    pub backend: Option<BackendKind>,
    pub seeds: Option<Vec<u64>>,
    pub epochs: Option<usize>,
    /// Continue each seed from its checkpoint.
    pub resume: bool,
    /// No progress bars or per-epoch lines.
    pub quiet: bool,
    /// Stop each seed after this many epochs in this process (kill-and-resume tests).
    pub stop_after: Option<usize>,
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

    /// The run directory of `config`.
    pub fn run_dir(&self, config: &ExperimentConfig) -> PathBuf {
        self.out
            .clone()
            .unwrap_or_else(|| PathBuf::from("runs"))
            .join(&config.name)
    }
}

/// What a run directory records about its output space, so it can be evaluated again.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RunLayout {
    pub task: Task,
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

impl RunLayout {
    /// The output layout and objective this run was trained with.
    pub fn objective(
        &self,
        config: &ExperimentConfig,
        run_dir: &Path,
    ) -> Result<(Option<OutputLayout>, Objective), TrainError> {
        let bounds = match self.bounds {
            Some([lo, hi]) => Some(RegressionBounds::new(lo, hi)?),
            None => None,
        };
        let output_layout = match (&self.prototypes_file, config.loss.kind) {
            (_, k) if k != crate::config::LossKind::Hpn => None,
            (None, _) => Some(OutputLayout::regression(config.model.output_dim)?),
            (Some(file), _) => {
                let p = Prototypes::load_npy(&run_dir.join(file))?;
                Some(match self.task {
                    Task::Joint => OutputLayout::joint(p),
                    _ => OutputLayout::classification(p),
                })
            }
        };
        let objective = Objective::new(
            config,
            output_layout.as_ref(),
            self.class_names.len(),
            bounds,
        );
        Ok((output_layout, objective))
    }

    /// Reads `layout.json` of a run directory.
    pub fn load(run_dir: &Path) -> Result<Self, TrainError> {
        let path = run_dir.join("layout.json");
        let text = std::fs::read_to_string(&path).map_err(|e| TrainError::io("read", &path, e))?;
        serde_json::from_str(&text).map_err(|e| TrainError::Run {
            path,
            message: format!("not a valid layout file: {e}"),
        })
    }
}

/// The regression bounds of an experiment: from the config, else min and max of the
/// training targets (paper Sec. 2.2).
pub fn regression_bounds(
    config: &ExperimentConfig,
    data: &PreparedData,
) -> Result<Option<RegressionBounds>, TrainError> {
    if config.task == Task::Classification {
        return Ok(None);
    }
    if let Some([lo, hi]) = config.layout.regression_bounds {
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
        "# task {:?}, loss {:?}, backbone {:?}, D = {}, {} seeds x {} epochs, backend {}\n",
        config.task,
        config.loss.kind,
        config.model.backbone,
        config.model.output_dim,
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
/// resume it, among those that decide what the weights are: task, dataset, model, output layout,
/// loss, optimiser and batch size. Seeds, epochs (a run may be extended), evaluation interval,
/// workers and backend may change.
pub fn resume_conflict(saved: &ExperimentConfig, now: &ExperimentConfig) -> Option<&'static str> {
    if saved.task != now.task {
        Some("task")
    } else if saved.dataset != now.dataset {
        Some("dataset")
    } else if saved.model != now.model {
        Some("model")
    } else if saved.layout != now.layout {
        Some("layout")
    } else if saved.loss != now.loss {
        Some("loss")
    } else if saved.optimizer != now.optimizer {
        Some("optimizer")
    } else if saved.training.batch_size != now.training.batch_size {
        Some("training.batch_size")
    } else {
        None
    }
}

/// Runs every seed of `config` and writes the summary. With `options.resume`, a run directory
/// made with another experiment (see [`resume_conflict`]) is an error and is left as it was.
pub fn run(config: &ExperimentConfig, options: &RunOptions) -> Result<Summary, TrainError> {
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

    let data = data::prepare(&config, config.dataset.seed)?;
    if !options.quiet {
        println!(
            "{}: {} training and {} evaluation images, {} classes, shape {:?}",
            config.name,
            data.train.len(),
            data.eval.len(),
            data.num_classes(),
            data.image_shape()
        );
    }
    let bounds = regression_bounds(&config, &data)?;
    let quiet = options.quiet;
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
    let output_layout = layout::build(&config, data.num_classes(), &run_dir, &mut report, &device)?;
    let prototypes_file = match output_layout
        .as_ref()
        .and_then(|l| l.class_subspace_prototypes())
    {
        Some(p) => {
            let file = Prototypes::file_name(p.classes(), p.dims());
            p.save_npy(&run_dir.join(&file))?;
            if !quiet {
                let s = hpn_prototypes::separation_stats(p);
                println!(
                    "prototypes: {} x {} ({}), max cos {:.4}, min angle {:.2} deg",
                    p.classes(),
                    p.dims(),
                    config.layout.method,
                    s.max_cosine,
                    s.min_angle_degrees
                );
            }
            Some(file)
        }
        None => None,
    };
    let width = output_width(&config, data.num_classes());
    let run_layout = RunLayout {
        task: config.task,
        class_names: data.class_names.clone(),
        output_width: width,
        image_shape: data.image_shape(),
        bounds: bounds.map(|b| [b.lower, b.upper]),
        prototypes_file,
    };
    let json = serde_json::to_string_pretty(&run_layout).map_err(|e| TrainError::Run {
        path: run_dir.clone(),
        message: e.to_string(),
    })?;
    write_atomic(&run_dir.join("layout.json"), json.as_bytes())?;
    let objective = Objective::new(&config, output_layout.as_ref(), data.num_classes(), bounds);

    let seed_options = SeedOptions {
        resume: options.resume,
        stop_after: options.stop_after,
        quiet,
    };
    let mut results: Vec<SeedResult> = Vec::new();
    for &seed in &config.seeds {
        let dir = run_dir.join(format!("seed-{seed}"));
        results.push(train_seed(
            &config,
            &data,
            &objective,
            width,
            seed,
            &dir,
            &seed_options,
            &device,
        )?);
    }
    let summary = Summary::new(
        &config.name,
        &config.description,
        config.backend.name(),
        &format!("{} x {}", config.training.epochs, data.train.len()),
        &results,
    );
    summary.write(&run_dir)?;
    Ok(summary)
}
