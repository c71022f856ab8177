//! The published record of an experiment, `docs/results/runs/<experiment>.json`: the experiment
//! file it was trained from, hpn's line per seed, and the PyTorch reference's figures.
//!
//! A run is a function of (experiment, seed, backend), so a seed the record holds need not be
//! trained again while the experiment file says the same thing (seeds and epochs aside: see
//! [`Record::matches`]). With the records committed beside the results page, a fresh clone
//! rebuilds the page (`cargo xtask reproduce --report-only`) and a reproduction with more
//! seeds trains only the seeds that are new. Deleting a record retrains its experiment.

use std::path::{Path, PathBuf};

use hpn_train::{ExperimentConfig, MeanStd, SeedSummary, Summary, resume_conflict};
use serde::{Deserialize, Serialize};

use crate::error::{ReproduceError, write_error};

/// One seed of the PyTorch reference: its figures from `result.json`, and whether it trained
/// by hpn's bars (accuracy at least [`hpn_train::CHANCE_FACTOR`] x chance, fewer than
/// [`hpn_train::ONE_CLASS_FRACTION`] of the test images in one class).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ReferenceSeed {
    /// The seed.
    pub seed: u64,
    /// Test accuracy (%), for a task with classes.
    pub accuracy: Option<f64>,
    /// Test MAE, for a task with a regression target.
    pub mae: Option<f64>,
    /// Whether the seed did not train (left out of the means).
    pub collapsed: bool,
    /// Training seconds.
    pub seconds: f64,
}

/// The reference's figures for one experiment, as [`crate::reference::Comparison`] holds them.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ReferenceRecord {
    /// Accuracy (%) over the reference's trained seeds.
    pub accuracy: Option<MeanStd>,
    /// MAE over the reference's trained seeds.
    pub mae: Option<MeanStd>,
    /// Reference seeds that did not train by hpn's bars.
    pub collapsed: usize,
    /// Reference seeds read.
    pub seeds: usize,
    /// The reference's training seconds over its seeds.
    pub seconds: f64,
    /// Each seed's line, in seed order, so that a later reproduction with more seeds trains
    /// only the new ones. Empty in records written before lines were kept: such a record is
    /// used only while hpn has no more seeds than it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub per_seed: Vec<ReferenceSeed>,
}

impl ReferenceRecord {
    /// The figures of `lines`: mean and sample std of accuracy and MAE over the seeds that
    /// trained, the collapsed ones counted apart, seconds summed over all.
    pub fn of(lines: Vec<ReferenceSeed>) -> Self {
        let trained = || lines.iter().filter(|l| !l.collapsed);
        let accuracy: Vec<f64> = trained().filter_map(|l| l.accuracy).collect();
        let mae: Vec<f64> = trained().filter_map(|l| l.mae).collect();
        ReferenceRecord {
            accuracy: MeanStd::of(&accuracy),
            mae: MeanStd::of(&mae),
            collapsed: lines.iter().filter(|l| l.collapsed).count(),
            seeds: lines.len(),
            seconds: lines.iter().map(|l| l.seconds).sum(),
            per_seed: lines,
        }
    }
}

/// One experiment's published results.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Record {
    /// The text of the experiment file the seeds were trained from.
    pub experiment: String,
    /// hpn's summary: one line per seed.
    pub summary: Summary,
    /// The reference's figures, when it ran for this experiment.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reference: Option<ReferenceRecord>,
}

impl Record {
    /// `<dir>/<name>.json`.
    pub fn path(dir: &Path, name: &str) -> PathBuf {
        dir.join(format!("{name}.json"))
    }

    /// Reads the record of experiment `name` from `dir`; `None` when there is none.
    pub fn load(dir: &Path, name: &str) -> Result<Option<Self>, ReproduceError> {
        let path = Self::path(dir, name);
        let text = match std::fs::read_to_string(&path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => {
                return Err(ReproduceError::Record {
                    path,
                    message: e.to_string(),
                });
            }
        };
        serde_json::from_str(&text)
            .map(Some)
            .map_err(|e| ReproduceError::Record {
                path,
                message: format!(
                    "not a published record ({e}); delete it to train its experiment again"
                ),
            })
    }

    /// Writes the record to `<dir>/<name>.json`.
    pub fn write(&self, dir: &Path) -> Result<(), ReproduceError> {
        let path = Self::path(dir, &self.summary.name);
        let mut text = serde_json::to_string_pretty(self).map_err(|e| ReproduceError::Record {
            path: path.clone(),
            message: e.to_string(),
        })?;
        text.push('\n');
        std::fs::write(&path, text).map_err(write_error(&path))
    }

    /// Whether the record's seeds stand for `config`, read from `file`: the recorded experiment
    /// text, read as if it were `file` and passed through `prepare` (what the reproduction
    /// does to an experiment before training it, such as [`crate::quick_version`]), decides
    /// the same weights ([`resume_conflict`]), trains as many epochs and runs on the same
    /// backend. Seeds may differ: the record then stands for the seeds the two share.
    pub fn matches(
        &self,
        config: &ExperimentConfig,
        file: &Path,
        prepare: impl Fn(ExperimentConfig) -> ExperimentConfig,
    ) -> bool {
        let Ok(recorded) = ExperimentConfig::parse(&self.experiment, file).map(prepare) else {
            return false;
        };
        resume_conflict(&recorded, config).is_none()
            && recorded.training.epochs == config.training.epochs
            && recorded.backend == config.backend
            && self.summary.name == config.name
    }

    /// The record's lines for `seeds`, in that order (seeds it lacks are left out).
    pub fn seeds(&self, seeds: &[u64]) -> Vec<SeedSummary> {
        seeds
            .iter()
            .filter_map(|s| self.summary.seeds.iter().find(|r| r.seed == *s).cloned())
            .collect()
    }
}

/// The seeds of `wanted` that `have` lacks, in the order of `wanted`.
pub fn missing_seeds(wanted: &[u64], have: &[SeedSummary]) -> Vec<u64> {
    wanted
        .iter()
        .copied()
        .filter(|s| !have.iter().any(|h| h.seed == *s))
        .collect()
}

/// One summary of the seeds in `wanted`, in that order, taken from `parts` (earlier parts
/// first when two hold a seed); its name, description, backend and scale are those of `meta`.
pub fn combine(meta: &Summary, wanted: &[u64], parts: &[&[SeedSummary]]) -> Summary {
    let seeds = wanted
        .iter()
        .filter_map(|s| {
            parts
                .iter()
                .find_map(|part| part.iter().find(|r| r.seed == *s))
                .cloned()
        })
        .collect();
    Summary::from_seeds(
        &meta.name,
        &meta.description,
        &meta.backend,
        &meta.scale,
        seeds,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(seed: u64, accuracy: f64) -> SeedSummary {
        SeedSummary {
            seed,
            accuracy: Some(accuracy),
            mae: None,
            images_per_second: 100.0,
            seconds: 10.0,
            auroc: None,
            old_accuracy: None,
            new_accuracy: None,
            collapsed: Vec::new(),
        }
    }

    fn summary(seeds: Vec<SeedSummary>) -> Summary {
        Summary::from_seeds("claim-x", "a test", "flex", "1 x 10", seeds)
    }

    const EXPERIMENT: &str = r#"
name = "claim-x"
task = "classification"
seeds = [1]

[dataset]
kind = "mnist"
path = "../../datasets/mnist-subset"

[model]
backbone = "convnet-bn"

[prototypes]
method = "uniform"
dims = 3

[training]
epochs = 2
"#;

    #[test]
    fn combined_seeds_follow_the_wanted_order_and_give_the_mean_of_all() {
        let published = [line(1, 90.0), line(3, 96.0)];
        let trained = [line(2, 93.0)];
        assert_eq!(missing_seeds(&[1, 2, 3], &published), vec![2]);
        let s = combine(
            &summary(vec![]),
            &[1, 2, 3],
            &[&published[..], &trained[..]],
        );
        let order: Vec<u64> = s.seeds.iter().map(|r| r.seed).collect();
        assert_eq!(order, vec![1, 2, 3]);
        // (90 + 93 + 96) / 3 = 93, sample std 3.
        let acc = s.accuracy.unwrap();
        assert_eq!((acc.mean, acc.std, acc.n), (93.0, 3.0, 3));
        assert_eq!(s.name, "claim-x");
        // A seed in neither part is left out, not invented.
        assert_eq!(combine(&s, &[4], &[&published[..]]).seeds.len(), 0);
    }

    #[test]
    fn a_record_stands_for_its_experiment_with_other_seeds_but_not_other_weights() {
        let file = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../configs/reproduce/x.toml");
        let record = Record {
            experiment: EXPERIMENT.into(),
            summary: summary(vec![line(1, 90.0)]),
            reference: None,
        };
        let config = ExperimentConfig::parse(EXPERIMENT, &file).unwrap();
        assert!(record.matches(&config, &file, |c| c));
        let more_seeds = ExperimentConfig::parse(
            &EXPERIMENT.replace("seeds = [1]", "seeds = [1, 2, 3]"),
            &file,
        )
        .unwrap();
        assert!(record.matches(&more_seeds, &file, |c| c));
        assert_eq!(record.seeds(&more_seeds.seeds).len(), 1);
        for changed in [
            EXPERIMENT.replace("epochs = 2", "epochs = 3"),
            EXPERIMENT.replace("dims = 3", "dims = 5"),
            EXPERIMENT.replace("mnist-subset", "mnist"),
        ] {
            let other = ExperimentConfig::parse(&changed, &file).unwrap();
            assert!(!record.matches(&other, &file, |c| c), "{changed}");
        }
    }

    fn reference_line(seed: u64, accuracy: f64, collapsed: bool) -> ReferenceSeed {
        ReferenceSeed {
            seed,
            accuracy: Some(accuracy),
            mae: None,
            collapsed,
            seconds: 60.0,
        }
    }

    #[test]
    fn reference_figures_leave_collapsed_seeds_out_of_the_means_but_count_them() {
        let r = ReferenceRecord::of(vec![
            reference_line(1, 80.0, false),
            reference_line(2, 10.0, true),
            reference_line(3, 84.0, false),
        ]);
        // (80 + 84) / 2 = 82; sample std sqrt(((80-82)^2 + (84-82)^2) / 1) = sqrt(8).
        let acc = r.accuracy.unwrap();
        assert_eq!((acc.mean, acc.n), (82.0, 2));
        assert!((acc.std - 8f64.sqrt()).abs() < 1e-12);
        assert_eq!((r.collapsed, r.seeds, r.seconds), (1, 3, 180.0));
        assert_eq!(r.mae, None);
        assert_eq!(r.per_seed.len(), 3);
    }

    #[test]
    fn a_record_survives_a_round_trip_and_a_corrupt_one_names_its_file() {
        let dir = tempfile::tempdir().unwrap();
        let record = Record {
            experiment: EXPERIMENT.into(),
            summary: summary(vec![line(1, 90.0), line(2, 92.0)]),
            reference: Some(ReferenceRecord::of(vec![
                reference_line(1, 91.0, false),
                reference_line(2, 93.0, false),
            ])),
        };
        record.write(dir.path()).unwrap();
        assert_eq!(Record::load(dir.path(), "claim-x").unwrap(), Some(record));
        assert_eq!(Record::load(dir.path(), "claim-y").unwrap(), None);
        std::fs::write(dir.path().join("claim-z.json"), "{\"experiment\": ").unwrap();
        let err = Record::load(dir.path(), "claim-z").unwrap_err().to_string();
        assert!(err.contains("claim-z.json"), "{err}");
        assert!(err.contains("delete it"), "{err}");
    }
}
