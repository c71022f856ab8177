//! `reproduce --reference`: the key settings of each claim (the manifest's `reference` list)
//! trained once more by the PyTorch implementation in `reference/hpn_torch.py`, on the same
//! images and prototypes, and a fidelity verdict per setting: hpn's mean within
//! max(2 std, 1.5 points) of the reference's.
//!
//! The reference reads each hpn run directory (`config.toml`, `head.json`, the prototypes) and
//! the arrays of `data export`; its results land in `<run>/reference/seed-<s>/`, and a seed
//! whose `result.json` exists is not trained again, so the command resumes after a kill.

use std::path::{Path, PathBuf};
use std::process::Command;

use hpn_train::{CHANCE_FACTOR, ExperimentConfig, MeanStd, ONE_CLASS_FRACTION, Summary};
use serde::Deserialize;

use crate::error::{ReproduceError, write_error};
use crate::record::ReferenceRecord;
use crate::run::Reproduction;

/// The smallest gap between hpn's and the reference's means that counts as a difference
/// whatever the spread: 1.5 points of accuracy, 1.5 degrees of MAE.
pub const FIDELITY_FLOOR: f64 = 1.5;

/// How to run the reference.
#[derive(Clone, Debug)]
pub struct Reference {
    /// The Python interpreter (one that can `import torch`).
    pub python: String,
    /// `reference/hpn_torch.py`.
    pub script: PathBuf,
    /// Threads torch may use.
    pub threads: usize,
    /// Read finished reference seeds only; train none.
    pub report_only: bool,
}

impl Reference {
    /// Checks that the script exists and `python -c "import torch, numpy"` works, with an
    /// error that says what to do.
    pub fn check(&self) -> Result<(), ReproduceError> {
        if !self.script.exists() {
            return Err(ReproduceError::Reference(format!(
                "the reference implementation is not at {}",
                self.script.display()
            )));
        }
        let output = Command::new(&self.python)
            .args(["-c", "import torch, numpy"])
            .output()
            .map_err(|e| {
                ReproduceError::Reference(format!(
                    "cannot start `{}` for the reference: {e}",
                    self.python
                ))
            })?;
        if !output.status.success() {
            return Err(ReproduceError::Reference(format!(
                "--reference needs PyTorch and NumPy: `{} -c \"import torch, numpy\"` failed ({}). \
                 Install them in a virtual environment (reference/README.md) and pass its \
                 interpreter with --python or HPN_PYTHON.",
                self.python,
                String::from_utf8_lossy(&output.stderr).trim()
            )));
        }
        Ok(())
    }
}

/// Whether hpn's mean agrees with the reference's on one metric.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Fidelity {
    /// The gap is within the bound max(2 std of the reference, [`FIDELITY_FLOOR`]).
    Agrees {
        /// |hpn mean - reference mean|.
        gap: f64,
        /// The bound it was held to.
        bound: f64,
    },
    /// The gap exceeds the bound.
    Differs {
        /// |hpn mean - reference mean|.
        gap: f64,
        /// The bound it was held to.
        bound: f64,
    },
    /// Fewer than two trained seeds on a side: no basis for a spread.
    NotDecided,
}

/// The fidelity verdict on one metric: hpn's mean within max(2 std, 1.5) of the reference's.
pub fn fidelity(hpn: Option<MeanStd>, reference: Option<MeanStd>) -> Fidelity {
    match (hpn, reference) {
        (Some(h), Some(r)) if h.n >= 2 && r.n >= 2 => {
            let bound = (2.0 * r.std).max(FIDELITY_FLOOR);
            let gap = (h.mean - r.mean).abs();
            if gap <= bound {
                Fidelity::Agrees { gap, bound }
            } else {
                Fidelity::Differs { gap, bound }
            }
        }
        _ => Fidelity::NotDecided,
    }
}

/// What `reference/hpn_torch.py` writes in `result.json` (the fields read here).
#[derive(Debug, Deserialize)]
struct ReferenceResult {
    accuracy: Option<f64>,
    mae: Option<f64>,
    largest_class_fraction: Option<f64>,
    seconds: f64,
}

/// One key setting: hpn's summary and the reference's trained seeds.
#[derive(Clone, Debug)]
pub struct Comparison {
    /// The experiment name.
    pub config: String,
    /// hpn's summary of it.
    pub hpn: Summary,
    /// The reference's accuracy (%) over its trained seeds.
    pub accuracy: Option<MeanStd>,
    /// The reference's MAE over its trained seeds.
    pub mae: Option<MeanStd>,
    /// Reference seeds that did not train by hpn's bars (left out of the means).
    pub collapsed: usize,
    /// Reference seeds read.
    pub seeds: usize,
    /// The reference's training seconds over its seeds.
    pub seconds: f64,
}

impl Comparison {
    /// The reference's side, as a published record keeps it.
    pub fn record(&self) -> ReferenceRecord {
        ReferenceRecord {
            accuracy: self.accuracy,
            mae: self.mae,
            collapsed: self.collapsed,
            seeds: self.seeds,
            seconds: self.seconds,
        }
    }

    /// hpn's summary beside the reference's side from a published record.
    pub fn from_record(hpn: Summary, record: &ReferenceRecord) -> Self {
        Comparison {
            config: hpn.name.clone(),
            hpn,
            accuracy: record.accuracy,
            mae: record.mae,
            collapsed: record.collapsed,
            seeds: record.seeds,
            seconds: record.seconds,
        }
    }

    /// Fidelity of the accuracy, when either side has one.
    pub fn accuracy_fidelity(&self) -> Option<Fidelity> {
        (self.hpn.accuracy.is_some() || self.accuracy.is_some())
            .then(|| fidelity(self.hpn.accuracy, self.accuracy))
    }

    /// Fidelity of the MAE, when either side has one.
    pub fn mae_fidelity(&self) -> Option<Fidelity> {
        (self.hpn.mae.is_some() || self.mae.is_some()).then(|| fidelity(self.hpn.mae, self.mae))
    }
}

fn result_path(run_dir: &Path, seed: u64) -> PathBuf {
    run_dir
        .join("reference")
        .join(format!("seed-{seed}"))
        .join("result.json")
}

/// Exports the data of `run_dir` (once) and trains every seed of `summary` with the reference
/// that has no `result.json` yet.
fn train_reference(
    reference: &Reference,
    run_dir: &Path,
    summary: &Summary,
    cache: &Path,
) -> Result<(), ReproduceError> {
    let data = run_dir.join("reference").join("data");
    if !data.join("eval_labels.npy").exists() {
        let config = ExperimentConfig::load(&run_dir.join("config.toml"))?;
        let prepared = hpn_train::data::prepare(&config, cache)?;
        std::fs::create_dir_all(&data).map_err(write_error(&data))?;
        for (set, name) in [(&prepared.train, "train"), (&prepared.eval, "eval")] {
            hpn_data::write_npy_arrays(set, &data, name).map_err(|e| {
                ReproduceError::Reference(format!(
                    "cannot export the {name} data of {}: {e}",
                    run_dir.display()
                ))
            })?;
        }
    }
    for seed in &summary.seeds {
        if result_path(run_dir, seed.seed).exists() {
            continue;
        }
        let out = run_dir
            .join("reference")
            .join(format!("seed-{}", seed.seed));
        println!(
            "reference: {} seed {} ({})",
            summary.name,
            seed.seed,
            out.display()
        );
        let status = Command::new(&reference.python)
            .arg(&reference.script)
            .arg("--run")
            .arg(run_dir)
            .arg("--data")
            .arg(&data)
            .args(["--seed", &seed.seed.to_string()])
            .arg("--out")
            .arg(&out)
            .args(["--threads", &reference.threads.to_string()])
            .status()
            .map_err(|e| {
                ReproduceError::Reference(format!(
                    "cannot start {}: {e}",
                    reference.script.display()
                ))
            })?;
        if !status.success() {
            return Err(ReproduceError::Reference(format!(
                "it failed on {} seed {} ({status}); its output is above",
                summary.name, seed.seed
            )));
        }
    }
    Ok(())
}

/// Reads the reference's seeds of `run_dir`; seeds that did not train by hpn's bars (for a
/// task with `classes` classes) are counted apart and left out of the means.
fn read_reference(
    run_dir: &Path,
    hpn: Summary,
    classes: Option<usize>,
) -> Result<Comparison, ReproduceError> {
    let (mut accuracy, mut mae) = (Vec::new(), Vec::new());
    let (mut collapsed, mut seeds, mut seconds) = (0, 0, 0.0);
    for seed in &hpn.seeds {
        let path = result_path(run_dir, seed.seed);
        let Ok(text) = std::fs::read_to_string(&path) else {
            continue;
        };
        let r: ReferenceResult = serde_json::from_str(&text).map_err(|e| {
            ReproduceError::Reference(format!("{}: not a reference result: {e}", path.display()))
        })?;
        seeds += 1;
        seconds += r.seconds;
        let untrained = match (r.accuracy, classes) {
            (Some(a), Some(k)) if k > 1 => {
                a < CHANCE_FACTOR * 100.0 / k as f64
                    || r.largest_class_fraction.unwrap_or(0.0) >= ONE_CLASS_FRACTION
            }
            _ => false,
        };
        if untrained {
            collapsed += 1;
            continue;
        }
        accuracy.extend(r.accuracy);
        mae.extend(r.mae);
    }
    Ok(Comparison {
        config: hpn.name.clone(),
        hpn,
        accuracy: MeanStd::of(&accuracy),
        mae: MeanStd::of(&mae),
        collapsed,
        seeds,
        seconds,
    })
}

/// Puts the reference's figures from the published records beside hpn for the key settings of
/// every claim, training nothing (what the page shows without `--reference`).
pub fn attach_published(reproduction: &mut Reproduction) {
    for outcome in &mut reproduction.claims {
        outcome.reference = outcome
            .claim
            .reference
            .iter()
            .filter_map(|config| {
                let summary = outcome.results.get(config)?.clone();
                let record = reproduction.records.get(config)?.reference.as_ref()?;
                Some(Comparison::from_record(summary, record))
            })
            .collect();
    }
}

/// Trains (unless `report_only`) and reads the reference for the key settings of every claim
/// that has results, and records the comparisons in each claim of `reproduction`. A published
/// record with as many reference seeds as hpn has is used as it is; otherwise the reference
/// trains the missing seeds where hpn's run directory is on this machine, and the record
/// stands in where it is not.
pub fn attach(
    reference: &Reference,
    reproduction: &mut Reproduction,
    out: &Path,
) -> Result<(), ReproduceError> {
    let cache = out.join(".cache");
    for outcome in &mut reproduction.claims {
        let mut rows = Vec::new();
        for config in &outcome.claim.reference {
            let Some(summary) = outcome.results.get(config).cloned() else {
                continue;
            };
            let published = reproduction
                .records
                .get(config)
                .and_then(|r| r.reference.as_ref());
            if let Some(r) = published
                && r.seeds >= summary.seeds.len()
            {
                rows.push(Comparison::from_record(summary, r));
                continue;
            }
            let run_dir = out.join(config);
            let local = run_dir.join(hpn_train::HEAD_FILE).exists();
            if local && !reference.report_only {
                train_reference(reference, &run_dir, &summary, &cache)?;
            }
            let read = if local {
                let head = hpn_train::SavedHead::load(&run_dir)?;
                let classes = (head.task != hpn_train::config::Task::Regression)
                    .then_some(head.class_names.len());
                Some(read_reference(&run_dir, summary.clone(), classes)?)
            } else {
                None
            };
            match (read, published) {
                (Some(c), Some(r)) if c.seeds < r.seeds => {
                    rows.push(Comparison::from_record(summary, r))
                }
                (Some(c), _) => rows.push(c),
                (None, Some(r)) => rows.push(Comparison::from_record(summary, r)),
                (None, None) => {}
            }
        }
        outcome.reference = rows;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(mean: f64, std: f64, n: usize) -> Option<MeanStd> {
        Some(MeanStd { mean, std, n })
    }

    fn agrees(f: Fidelity) -> bool {
        matches!(f, Fidelity::Agrees { .. })
    }

    #[test]
    fn fidelity_uses_two_std_or_one_and_a_half_points() {
        // Spread 0.5: the bound is the 1.5-point floor.
        assert!(agrees(fidelity(ms(90.0, 0.2, 3), ms(91.4, 0.5, 3))));
        match fidelity(ms(90.0, 0.2, 3), ms(91.6, 0.5, 3)) {
            Fidelity::Differs { gap, bound } => {
                assert!((gap - 1.6).abs() < 1e-9 && bound == FIDELITY_FLOOR)
            }
            other => panic!("{other:?}"),
        }
        // Spread 2: the bound is 4.
        assert!(agrees(fidelity(ms(80.0, 1.0, 3), ms(83.9, 2.0, 3))));
        assert!(!agrees(fidelity(ms(80.0, 1.0, 3), ms(84.1, 2.0, 3))));
        // One seed is no basis.
        assert_eq!(
            fidelity(ms(80.0, 0.0, 1), ms(80.0, 1.0, 3)),
            Fidelity::NotDecided
        );
        assert_eq!(fidelity(None, ms(80.0, 1.0, 3)), Fidelity::NotDecided);
    }
}
