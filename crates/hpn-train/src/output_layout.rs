//! The output layout of an experiment (hpn-prototypes' [`OutputLayout`]): class prototypes and
//! regression poles, from the `[prototypes]` section.
//!
//! Prototypes are loaded from the `.npy` the config names, or placed by hpn-prototypes and
//! cached under `<run>/prototypes/` by (method, seed, K, D), so every training seed of a run
//! uses the same file.

use std::path::{Path, PathBuf};

use burn::tensor::Device;
use hpn_prototypes::{
    OutputLayout, Placement, PlacementOptions, PlacementProgress, Prototypes, WordVectors,
};

use crate::config::{ExperimentConfig, LossKind, Task};
use crate::error::TrainError;
use crate::incremental::FirstPhase;

/// The number of dimensions the class prototypes live in: D for classification, D - 1 for the
/// joint task (axis 0 holds the regression poles).
pub(crate) fn class_dims(config: &ExperimentConfig) -> usize {
    match config.task {
        Task::Joint => config.prototypes.dims.saturating_sub(1),
        _ => config.prototypes.dims,
    }
}

/// The file a placement is cached in, named by everything that decides it: method, seed,
/// steps when set, the word-vector file when read, K and D.
fn cache_path(run_dir: &Path, config: &ExperimentConfig, classes: usize) -> PathBuf {
    let section = &config.prototypes;
    let mut name = format!("{}-seed{}", section.method, section.seed);
    if let Some(steps) = section.steps {
        name.push_str(&format!("-steps{steps}"));
    }
    if let Some(words) = &section.word_vectors
        && section.method.needs_word_vectors()
    {
        let stem = words.file_stem().unwrap_or_default().to_string_lossy();
        name.push_str(&format!("-{stem}"));
    }
    name.push('-');
    name.push_str(&Prototypes::file_name(classes, class_dims(config)));
    run_dir.join("prototypes").join(name)
}

/// The output layout of `config` for `classes` classes, or `None` for the baselines, whose
/// outputs are logits or scalars rather than points on the sphere. A class-incremental second
/// phase extends the prototypes of its `first` phase.
pub(crate) fn build(
    config: &ExperimentConfig,
    classes: usize,
    first: Option<&FirstPhase>,
    run_dir: &Path,
    progress: &mut dyn FnMut(PlacementProgress),
    device: &Device,
) -> Result<Option<OutputLayout>, TrainError> {
    if config.loss.kind != LossKind::Hpn {
        return Ok(None);
    }
    if config.task == Task::Regression {
        return Ok(Some(OutputLayout::regression(config.prototypes.dims)?));
    }
    let prototypes = match first {
        Some(first) => first.extended_prototypes(config, classes, device)?,
        None => class_prototypes(config, classes, run_dir, progress, device)?,
    };
    Ok(Some(match config.task {
        Task::Joint => OutputLayout::joint(prototypes),
        _ => OutputLayout::classification(prototypes),
    }))
}

/// The layout a finished run was trained with, rebuilt from its saved prototypes file (`None`
/// for the baselines and for regression, whose poles need no file).
pub(crate) fn from_saved(
    config: &ExperimentConfig,
    prototypes_file: Option<&Path>,
) -> Result<Option<OutputLayout>, TrainError> {
    if config.loss.kind != LossKind::Hpn {
        return Ok(None);
    }
    match (config.task, prototypes_file) {
        (Task::Regression, _) => Ok(Some(OutputLayout::regression(config.prototypes.dims)?)),
        (task, Some(file)) => {
            let p = Prototypes::load_npy(file)?;
            Ok(Some(match task {
                Task::Joint => OutputLayout::joint(p),
                _ => OutputLayout::classification(p),
            }))
        }
        (_, None) => Err(TrainError::Run {
            path: PathBuf::from("head.json"),
            message: "an HPN classification run must name its prototypes file".into(),
        }),
    }
}

fn class_prototypes(
    config: &ExperimentConfig,
    classes: usize,
    run_dir: &Path,
    progress: &mut dyn FnMut(PlacementProgress),
    device: &Device,
) -> Result<Prototypes, TrainError> {
    let dims = class_dims(config);
    let section = &config.prototypes;
    let check = |p: Prototypes, source: &Path| -> Result<Prototypes, TrainError> {
        if p.classes() != classes || p.dims() != dims {
            return Err(TrainError::InvalidValue {
                path: source.to_path_buf(),
                key: "prototypes.file".into(),
                value: format!("({}, {})", p.classes(), p.dims()),
                expected: format!(
                    "prototypes of shape ({classes}, {dims}) for this dataset and prototypes.dims"
                ),
            });
        }
        Ok(p)
    };
    if let Some(file) = &section.file {
        return check(Prototypes::load_npy(file)?, file);
    }
    let cached = cache_path(run_dir, config, classes);
    if cached.exists() {
        return check(Prototypes::load_npy(&cached)?, &cached);
    }
    let words = match &section.word_vectors {
        Some(path) if section.method.needs_word_vectors() => Some(WordVectors::load(path)?),
        _ => None,
    };
    let mut placement =
        Placement::new(section.method, classes, dims).with_options(PlacementOptions {
            seed: section.seed,
            steps: section.steps,
            ..PlacementOptions::default()
        });
    if let Some(words) = &words {
        placement = placement.with_word_vectors(words);
    }
    let prototypes = placement.place_with_progress(device, progress)?;
    prototypes.save_npy(&cached)?;
    Ok(prototypes)
}
