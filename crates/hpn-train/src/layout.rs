//! Builds the output-space layout of an experiment: class prototypes and regression poles.
//!
//! Prototypes are loaded from the `.npy` the config names, or placed by hpn-prototypes and
//! cached under `runs/<name>/prototypes/` by (method, K, D, seed), so every training seed of a
//! run uses the same file.

use std::path::{Path, PathBuf};

use burn::tensor::Device;
use hpn_prototypes::{
    OutputLayout, PlacementMethod, PlacementOptions, PlacementProgress, Prototypes, WordVectors,
};

use crate::config::{ExperimentConfig, LossKind, Task};
use crate::error::TrainError;

/// The number of dimensions the class prototypes live in: D for classification, D - 1 for the
/// joint task (axis 0 holds the regression poles).
pub fn class_dims(config: &ExperimentConfig) -> usize {
    match config.task {
        Task::Joint => config.model.output_dim.saturating_sub(1),
        _ => config.model.output_dim,
    }
}

/// The file a placement is cached in.
pub fn cache_path(run_root: &Path, config: &ExperimentConfig, classes: usize) -> PathBuf {
    let dims = class_dims(config);
    run_root.join("prototypes").join(format!(
        "{}-seed{}-{}",
        config.layout.method,
        config.layout.seed,
        Prototypes::file_name(classes, dims)
    ))
}

/// The output layout of `config` for `classes` classes, or `None` for the baselines, whose
/// outputs are logits or scalars rather than points on the sphere.
pub fn build(
    config: &ExperimentConfig,
    classes: usize,
    run_root: &Path,
    progress: &mut dyn FnMut(PlacementProgress),
    device: &Device,
) -> Result<Option<OutputLayout>, TrainError> {
    if config.loss.kind != LossKind::Hpn {
        return Ok(None);
    }
    if config.task == Task::Regression {
        return Ok(Some(OutputLayout::regression(config.model.output_dim)?));
    }
    let prototypes = class_prototypes(config, classes, run_root, progress, device)?;
    Ok(Some(match config.task {
        Task::Joint => OutputLayout::joint(prototypes),
        _ => OutputLayout::classification(prototypes),
    }))
}

fn class_prototypes(
    config: &ExperimentConfig,
    classes: usize,
    run_root: &Path,
    progress: &mut dyn FnMut(PlacementProgress),
    device: &Device,
) -> Result<Prototypes, TrainError> {
    let dims = class_dims(config);
    let layout = &config.layout;
    let check = |p: Prototypes, source: &Path| -> Result<Prototypes, TrainError> {
        if p.classes() != classes || p.dims() != dims {
            return Err(TrainError::InvalidValue {
                path: source.to_path_buf(),
                key: "layout.file".into(),
                value: format!("({}, {})", p.classes(), p.dims()),
                expected: format!(
                    "prototypes of shape ({classes}, {dims}) for this dataset and output_dim"
                ),
            });
        }
        Ok(p)
    };
    if let Some(file) = &layout.file {
        return check(Prototypes::load_npy(file)?, file);
    }
    let cached = cache_path(run_root, config, classes);
    if cached.exists() {
        return check(Prototypes::load_npy(&cached)?, &cached);
    }
    let words = match &layout.word_vectors {
        Some(path)
            if matches!(
                layout.method,
                PlacementMethod::Privileged | PlacementMethod::WordVectors
            ) =>
        {
            Some(WordVectors::load(path)?)
        }
        _ => None,
    };
    let options = PlacementOptions {
        seed: layout.seed,
        steps: layout.steps,
        ..PlacementOptions::default()
    };
    let prototypes = hpn_prototypes::place(
        layout.method,
        classes,
        dims,
        words.as_ref(),
        &options,
        progress,
        device,
    )?;
    if let Some(dir) = cached.parent() {
        std::fs::create_dir_all(dir).map_err(|e| TrainError::io("create directory", dir, e))?;
    }
    prototypes.save_npy(&cached)?;
    Ok(prototypes)
}
