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

use hpn_train::{
    CHANCE_FACTOR, ExperimentConfig, MeanStd, ONE_CLASS_FRACTION, RunOptions, Summary,
};
use serde::Deserialize;

use crate::error::{ReproduceError, write_error};
use crate::manifest::Manifest;
use crate::record::{ReferenceRecord, ReferenceSeed};
use crate::run::{Reproduction, quick_version};

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

/// One key setting: hpn's summary and the reference's seeds.
#[derive(Clone, Debug)]
pub struct Comparison {
    /// The experiment name.
    pub config: String,
    /// hpn's summary of it.
    pub hpn: Summary,
    /// The reference's figures over its seeds, as the published record keeps them.
    pub reference: ReferenceRecord,
}

impl Comparison {
    /// hpn's summary beside the reference's figures.
    pub fn new(hpn: Summary, reference: ReferenceRecord) -> Self {
        Comparison {
            config: hpn.name.clone(),
            hpn,
            reference,
        }
    }

    /// Fidelity of the accuracy, when either side has one.
    pub fn accuracy_fidelity(&self) -> Option<Fidelity> {
        (self.hpn.accuracy.is_some() || self.reference.accuracy.is_some())
            .then(|| fidelity(self.hpn.accuracy, self.reference.accuracy))
    }

    /// Fidelity of the MAE, when either side has one.
    pub fn mae_fidelity(&self) -> Option<Fidelity> {
        (self.hpn.mae.is_some() || self.reference.mae.is_some())
            .then(|| fidelity(self.hpn.mae, self.reference.mae))
    }
}

fn result_path(run_dir: &Path, seed: u64) -> PathBuf {
    run_dir
        .join("reference")
        .join(format!("seed-{seed}"))
        .join("result.json")
}

/// Exports the data of `run_dir` (once) and trains each of `seeds` with the reference that
/// has no `result.json` yet.
fn train_reference(
    reference: &Reference,
    run_dir: &Path,
    name: &str,
    seeds: &[u64],
    cache: &Path,
) -> Result<(), ReproduceError> {
    let data = run_dir.join("reference").join("data");
    if !data.join("eval_labels.npy").exists() {
        let config = ExperimentConfig::load(&run_dir.join("config.toml"))?;
        let prepared = hpn_train::data::prepare(&config, cache)?;
        std::fs::create_dir_all(&data).map_err(write_error(&data))?;
        for (set, split) in [(&prepared.train, "train"), (&prepared.eval, "eval")] {
            hpn_data::write_npy_arrays(set, &data, split).map_err(|e| {
                ReproduceError::Reference(format!(
                    "cannot export the {split} data of {}: {e}",
                    run_dir.display()
                ))
            })?;
        }
    }
    for &seed in seeds {
        if result_path(run_dir, seed).exists() {
            continue;
        }
        let out = run_dir.join("reference").join(format!("seed-{seed}"));
        println!("reference: {name} seed {seed} ({})", out.display());
        let status = Command::new(&reference.python)
            .arg(&reference.script)
            .arg("--run")
            .arg(run_dir)
            .arg("--data")
            .arg(&data)
            .args(["--seed", &seed.to_string()])
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
                "it failed on {name} seed {seed} ({status}); its output is above"
            )));
        }
    }
    Ok(())
}

/// The reference's line for `seed` from `<run_dir>/reference/seed-<s>/result.json`, if it
/// exists; for a task with `classes` classes, a seed below [`CHANCE_FACTOR`] x chance or with
/// [`ONE_CLASS_FRACTION`] of its predictions in one class is marked collapsed.
fn read_seed(
    run_dir: &Path,
    seed: u64,
    classes: Option<usize>,
) -> Result<Option<ReferenceSeed>, ReproduceError> {
    let path = result_path(run_dir, seed);
    let Ok(text) = std::fs::read_to_string(&path) else {
        return Ok(None);
    };
    let r: ReferenceResult = serde_json::from_str(&text).map_err(|e| {
        ReproduceError::Reference(format!("{}: not a reference result: {e}", path.display()))
    })?;
    let collapsed = match (r.accuracy, classes) {
        (Some(a), Some(k)) if k > 1 => {
            a < CHANCE_FACTOR * 100.0 / k as f64
                || r.largest_class_fraction.unwrap_or(0.0) >= ONE_CLASS_FRACTION
        }
        _ => false,
    };
    Ok(Some(ReferenceSeed {
        seed,
        accuracy: r.accuracy,
        mae: r.mae,
        collapsed,
        seconds: r.seconds,
    }))
}

/// The classes of the task in a run directory's `head.json` (`None` for regression).
fn classes_of(run_dir: &Path) -> Result<Option<usize>, ReproduceError> {
    let head = hpn_train::SavedHead::load(run_dir)?;
    Ok((head.task != hpn_train::config::Task::Regression).then_some(head.class_names.len()))
}

/// The reference's lines for `seeds`, in that order: from the run directory where it has a
/// result, else from `recorded`; seeds in neither are left out.
fn lines_for(
    run_dir: &Path,
    seeds: &[u64],
    recorded: &[ReferenceSeed],
) -> Result<Vec<ReferenceSeed>, ReproduceError> {
    let classes = if run_dir.join(hpn_train::HEAD_FILE).exists() {
        Some(classes_of(run_dir)?)
    } else {
        None
    };
    let mut lines = Vec::new();
    for &seed in seeds {
        let local = match classes {
            Some(classes) => read_seed(run_dir, seed, classes)?,
            None => None,
        };
        lines.extend(local.or_else(|| recorded.iter().find(|l| l.seed == seed).cloned()));
    }
    Ok(lines)
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
                Some(Comparison::new(summary, record.clone()))
            })
            .collect();
    }
}

/// The reference's figures for one setting from the `lines` found for hpn's seeds (run
/// directory first, then the record's lines) and the `published` record: a record written
/// before lines were kept stands while fewer seeds than it holds were found; otherwise the
/// lines, if any.
fn figures(
    published: Option<ReferenceRecord>,
    lines: Vec<ReferenceSeed>,
) -> Option<ReferenceRecord> {
    match published {
        Some(r) if r.per_seed.is_empty() && lines.len() < r.seeds => Some(r),
        _ if !lines.is_empty() => Some(ReferenceRecord::of(lines)),
        _ => None,
    }
}

/// Writes hpn's run directory for `name` without training (see [`hpn_train::prepare`]), so
/// that the reference can train seeds that hpn took from a published record.
fn prepare_run_dir(
    reproduction: &Reproduction,
    name: &str,
    out: &Path,
) -> Result<(), ReproduceError> {
    let Some(text) = reproduction.experiments.get(name) else {
        return Ok(());
    };
    let file = Manifest::experiment_file(&reproduction.configs, name);
    let mut config = ExperimentConfig::parse(text, &file)?;
    if reproduction.quick {
        config = quick_version(config);
    }
    println!("reference: preparing hpn's run directory of {name} (no training)");
    hpn_train::prepare(
        &config,
        &RunOptions {
            out: Some(out.to_path_buf()),
            resume: true,
            quiet: true,
            ..RunOptions::default()
        },
    )?;
    Ok(())
}

/// Trains (unless `report_only`) and reads the reference for the key settings of every claim
/// that has results, and records the comparisons in each claim of `reproduction`. For each of
/// hpn's seeds the reference's line comes from the run directory's `result.json`, else from
/// the published record; the seeds in neither are trained, after writing hpn's run directory
/// without training where it is not on this machine. A record written before per-seed lines
/// were kept stands as it is while it has as many seeds as hpn, or more than this machine has
/// results for.
pub fn attach(
    reference: &Reference,
    reproduction: &mut Reproduction,
    out: &Path,
) -> Result<(), ReproduceError> {
    let cache = out.join(".cache");
    for i in 0..reproduction.claims.len() {
        let mut rows = Vec::new();
        for config in reproduction.claims[i].claim.reference.clone() {
            let Some(summary) = reproduction.claims[i].results.get(&config).cloned() else {
                continue;
            };
            let published = reproduction
                .records
                .get(&config)
                .and_then(|r| r.reference.clone());
            if let Some(r) = &published
                && r.per_seed.is_empty()
                && r.seeds >= summary.seeds.len()
            {
                rows.push(Comparison::new(summary, r.clone()));
                continue;
            }
            let recorded = published
                .as_ref()
                .map(|r| r.per_seed.clone())
                .unwrap_or_default();
            let seeds: Vec<u64> = summary.seeds.iter().map(|s| s.seed).collect();
            let run_dir = out.join(&config);
            let mut lines = lines_for(&run_dir, &seeds, &recorded)?;
            if lines.len() < seeds.len() && !reference.report_only {
                let missing: Vec<u64> = seeds
                    .iter()
                    .copied()
                    .filter(|s| !lines.iter().any(|l| l.seed == *s))
                    .collect();
                if !run_dir.join(hpn_train::HEAD_FILE).exists() {
                    prepare_run_dir(reproduction, &config, out)?;
                }
                if run_dir.join(hpn_train::HEAD_FILE).exists() {
                    train_reference(reference, &run_dir, &config, &missing, &cache)?;
                    lines = lines_for(&run_dir, &seeds, &recorded)?;
                }
            }
            if let Some(figures) = figures(published, lines) {
                rows.push(Comparison::new(summary, figures));
            }
        }
        reproduction.claims[i].reference = rows;
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

    fn line(seed: u64, accuracy: f64) -> ReferenceSeed {
        ReferenceSeed {
            seed,
            accuracy: Some(accuracy),
            mae: None,
            collapsed: false,
            seconds: 1.0,
        }
    }

    #[test]
    fn a_record_without_lines_stands_until_as_many_seeds_are_found() {
        let old = ReferenceRecord {
            accuracy: ms(90.0, 1.0, 2),
            mae: None,
            collapsed: 0,
            seeds: 2,
            seconds: 100.0,
            per_seed: Vec::new(),
        };
        // One seed found: the two-seed record stands.
        assert_eq!(
            figures(Some(old.clone()), vec![line(1, 80.0)]),
            Some(old.clone())
        );
        // Two or three found: they replace it.
        let found = vec![line(1, 80.0), line(2, 82.0), line(3, 84.0)];
        let new = figures(Some(old.clone()), found.clone()).unwrap();
        assert_eq!((new.accuracy.unwrap().mean, new.seeds), (82.0, 3));
        assert_eq!(
            figures(None, found.clone()),
            Some(ReferenceRecord::of(found))
        );
        // A record with lines has already given them to `lines`; nothing found, nothing shown.
        let with_lines = ReferenceRecord::of(vec![line(1, 80.0)]);
        assert_eq!(figures(Some(with_lines), Vec::new()), None);
        assert_eq!(figures(None, Vec::new()), None);
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
