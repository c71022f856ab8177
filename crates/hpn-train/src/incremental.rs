//! Class-incremental training (the `[incremental]` table): a second phase starts from a
//! finished first-phase run, keeps its weights and prototypes, adds the later classes and is
//! scored on the old classes, the new ones and all of them.
//!
//! With the HPN loss the output space does not change: the first phase's K prototypes stay
//! where they were, bit for bit, and the M new ones are placed around them by hpn-prototypes'
//! [`extend_layout`] (the smallest-angle objective of `uniform`), so the network's D outputs
//! are trained towards K + M fixed points. With softmax cross-entropy the output layer grows
//! by M logits ([`Model::grow_outputs`]).

use std::path::{Path, PathBuf};

use burn::tensor::Device;
use hpn_models::Model;
use hpn_prototypes::{PlacementOptions, Prototypes, extend_layout};
use serde::{Deserialize, Serialize};

use crate::checkpoint::load_model;
use crate::config::{ExperimentConfig, LossKind};
use crate::error::TrainError;
use crate::experiment::SavedHead;
use crate::fsutil::{read_json_if_present, write_atomic};
use crate::head::BatchScore;
use crate::output_layout::class_dims;
use crate::summary::Summary;
use crate::train::build_model;

/// Name of the class-incremental report in a seed directory.
pub const INCREMENTAL_FILE: &str = "incremental.json";

/// The finished first-phase run a second phase starts from.
#[derive(Clone, Debug)]
pub(crate) struct FirstPhase {
    dir: PathBuf,
    config: ExperimentConfig,
    head: SavedHead,
}

impl FirstPhase {
    /// The first phase named by `config.incremental.from`, checked against `config`; `None`
    /// when `config` is not a second phase.
    pub(crate) fn of(config: &ExperimentConfig) -> Result<Option<Self>, TrainError> {
        let Some(inc) = &config.incremental else {
            return Ok(None);
        };
        let Some(dir) = &inc.from else {
            return Ok(None);
        };
        let saved = dir.join("config.toml");
        if !saved.exists() {
            return Err(TrainError::Run {
                path: dir.clone(),
                message: "incremental.from: not a run directory (no config.toml); train the first phase first".into(),
            });
        }
        let first = ExperimentConfig::load(&saved)?;
        let head = SavedHead::load(dir)?;
        let mismatch = |key: &str, value: String, expected: String| TrainError::InvalidValue {
            path: saved.clone(),
            key: key.into(),
            value,
            expected,
        };
        match &first.incremental {
            Some(f) if f.from.is_none() && f.old_classes == inc.old_classes => {}
            other => {
                return Err(mismatch(
                    "incremental",
                    format!("{other:?}"),
                    format!(
                        "a first phase: [incremental] with old_classes = {} and no `from`",
                        inc.old_classes
                    ),
                ));
            }
        }
        if first.model != config.model {
            return Err(mismatch(
                "model",
                first.model.backbone.name(),
                format!(
                    "the second phase's network, {}",
                    config.model.backbone.name()
                ),
            ));
        }
        if first.loss.kind != config.loss.kind {
            return Err(mismatch(
                "loss.kind",
                format!("{:?}", first.loss.kind),
                format!("the second phase's loss, {:?}", config.loss.kind),
            ));
        }
        if first.prototypes.dims != config.prototypes.dims && config.loss.kind == LossKind::Hpn {
            return Err(mismatch(
                "prototypes.dims",
                first.prototypes.dims.to_string(),
                format!("the second phase's D, {}", config.prototypes.dims),
            ));
        }
        if head.class_names.len() != inc.old_classes {
            return Err(mismatch(
                "head.json classes",
                head.class_names.len().to_string(),
                format!("incremental.old_classes = {}", inc.old_classes),
            ));
        }
        Ok(Some(FirstPhase {
            dir: dir.clone(),
            config: first,
            head,
        }))
    }

    /// The class prototypes of the second phase: the first phase's K rows unchanged and
    /// `classes - K` new ones placed around them with the second phase's placement seed and
    /// steps.
    pub(crate) fn extended_prototypes(
        &self,
        config: &ExperimentConfig,
        classes: usize,
        device: &Device,
    ) -> Result<Prototypes, TrainError> {
        let file = self
            .head
            .prototypes_file
            .as_ref()
            .ok_or_else(|| TrainError::Run {
                path: self.dir.join(crate::HEAD_FILE),
                message: "the first phase names no prototypes file to extend".into(),
            })?;
        let old = Prototypes::load_npy(&self.dir.join(file))?;
        if old.dims() != class_dims(config) || old.classes() >= classes {
            return Err(TrainError::InvalidValue {
                path: self.dir.join(file),
                key: "prototypes".into(),
                value: format!("({}, {})", old.classes(), old.dims()),
                expected: format!(
                    "fewer than {classes} prototypes of {} dimensions",
                    class_dims(config)
                ),
            });
        }
        let options = PlacementOptions {
            seed: config.prototypes.seed,
            steps: config.prototypes.steps,
            ..PlacementOptions::default()
        };
        Ok(extend_layout(
            &old,
            classes - old.classes(),
            &options,
            &mut |_| {},
            device,
        )?)
    }

    /// `fresh` (the second phase's network, just built) replaced by the first phase's finished
    /// weights of `seed`, its output layer grown to `fresh`'s width where that is wider.
    pub(crate) fn start_model(
        &self,
        fresh: Model,
        seed: u64,
        device: &Device,
    ) -> Result<Model, TrainError> {
        let file = self.dir.join(format!("seed-{seed}")).join("model.bpk");
        if !file.exists() {
            return Err(TrainError::Run {
                path: file,
                message: format!(
                    "the first phase has no finished model for seed {seed}; train it with this seed first"
                ),
            });
        }
        let channels = fresh.in_channels();
        let old = build_model(&self.config, self.head.output_width, channels, device)?;
        let old = load_model(old, &file)?;
        if old.outputs() == fresh.outputs() {
            Ok(old)
        } else {
            Ok(old.grow_outputs(&fresh)?)
        }
    }

    /// The first phase's final accuracy of `seed` on the old classes, when it finished.
    pub(crate) fn accuracy_of_seed(&self, seed: u64) -> Result<Option<f64>, TrainError> {
        Ok(Summary::load(&self.dir)?
            .and_then(|s| s.seeds.into_iter().find(|r| r.seed == seed))
            .and_then(|r| r.accuracy))
    }
}

/// What a second phase reached (`seed-<s>/incremental.json`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct IncrementalReport {
    /// Classes of the first phase (labels `0..old_classes`).
    pub old_classes: usize,
    /// All classes after the second phase.
    pub classes: usize,
    /// Accuracy (%) on the test images of the old classes, among all classes.
    pub old_accuracy: f64,
    /// Accuracy (%) on the test images of the new classes, among all classes.
    pub new_accuracy: f64,
    /// Accuracy (%) on every test image.
    pub all_accuracy: f64,
    /// The first phase's accuracy (%) of the same seed on the old classes, among the old
    /// classes alone: what the old classes had before the second phase.
    pub first_phase_accuracy: Option<f64>,
}

impl IncrementalReport {
    /// The report of a final evaluation `score` over all classes.
    pub(crate) fn of(
        score: &BatchScore,
        old_classes: usize,
        first_phase_accuracy: Option<f64>,
    ) -> Result<Self, TrainError> {
        let classes = score.label_counts.len();
        let missing = || TrainError::Run {
            path: PathBuf::from("<evaluation set>"),
            message: format!(
                "class-incremental evaluation needs test images of old (0..{old_classes}) and new ({old_classes}..{classes}) classes"
            ),
        };
        Ok(IncrementalReport {
            old_classes,
            classes,
            old_accuracy: score.accuracy_of(0..old_classes).ok_or_else(missing)?,
            new_accuracy: score
                .accuracy_of(old_classes..classes)
                .ok_or_else(missing)?,
            all_accuracy: score.accuracy_of(0..classes).ok_or_else(missing)?,
            first_phase_accuracy,
        })
    }

    /// Reads `incremental.json` of a seed directory, if there is one.
    pub fn load(seed_dir: &Path) -> Result<Option<Self>, TrainError> {
        read_json_if_present(
            &seed_dir.join(INCREMENTAL_FILE),
            "a class-incremental report",
        )
    }

    pub(crate) fn write(&self, seed_dir: &Path) -> Result<(), TrainError> {
        let json = serde_json::to_string_pretty(self).map_err(|e| TrainError::Run {
            path: seed_dir.to_path_buf(),
            message: e.to_string(),
        })?;
        write_atomic(&seed_dir.join(INCREMENTAL_FILE), json.as_bytes())
    }
}
