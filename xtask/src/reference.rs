//! `reproduce --reference`: the key settings of each claim trained once more by the PyTorch
//! implementation in `reference/hpn_torch.py`, on the same images and prototypes, and a
//! fidelity verdict per setting: hpn's mean within max(2 std, 1.5 points) of the reference's.
//!
//! The reference reads each hpn run directory (`config.toml`, `head.json`, the prototypes) and
//! the arrays of `data export`; its results land in `<run>/reference/seed-<s>/`, and a seed
//! whose `result.json` exists is not trained again, so the command resumes after a kill.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use anyhow::{Context, Result, bail};
use hpn_train::reproduce::{Claim, Results};
use hpn_train::{CHANCE_FACTOR, ExperimentConfig, MeanStd, ONE_CLASS_FRACTION, Summary};
use serde::Deserialize;

/// The settings of each claim the reference trains: at least one HPN setting and one baseline
/// where the claim has a baseline. CIFAR-10 settings are left to hpn alone (the reference would
/// double the reproduction's longest runs).
pub const KEY_SETTINGS: &[(&str, &[&str])] = &[
    ("claim1", &["claim1-rotated-mnist-joint"]),
    (
        "claim2",
        &["claim2-mnist-d3-uniform", "claim2-mnist-d10-one-hot"],
    ),
    (
        "claim3",
        &["claim3-mnist-d3-privileged", "claim2-mnist-d3-uniform"],
    ),
    (
        "claim4",
        &["claim4-mnist-few-hpn", "claim4-mnist-few-softmax"],
    ),
    (
        "claim5",
        &[
            "claim5-rotation-s1-lr1e-3-hpn",
            "claim5-rotation-lr1e-3-mse",
        ],
    ),
    (
        "claim6",
        &["claim6-joint-w0.5-hpn", "claim6-joint-w0.5-multitask"],
    ),
];

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
    /// Checks that `python -c "import torch"` works, with an error that says what to do.
    pub fn check(&self) -> Result<()> {
        if !self.script.exists() {
            bail!(
                "the reference implementation is not at {}",
                self.script.display()
            );
        }
        let output = Command::new(&self.python)
            .args(["-c", "import torch, numpy"])
            .output()
            .with_context(|| format!("cannot start `{}` for the reference", self.python))?;
        if !output.status.success() {
            bail!(
                "--reference needs PyTorch and NumPy: `{} -c \"import torch, numpy\"` failed ({}). \
                 Install them in a virtual environment (reference/README.md) and pass its \
                 interpreter with --python or HPN_PYTHON.",
                self.python,
                String::from_utf8_lossy(&output.stderr).trim()
            );
        }
        Ok(())
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

/// One key setting: hpn's trained-seed means and the reference's.
struct Comparison {
    config: String,
    hpn: Summary,
    accuracy: Vec<f64>,
    mae: Vec<f64>,
    collapsed: usize,
    seeds: usize,
}

/// The verdict on one metric: whether hpn's mean is within max(2 std, 1.5) of the reference's.
pub fn fidelity(hpn: Option<MeanStd>, reference: Option<MeanStd>) -> String {
    match (hpn, reference) {
        (Some(h), Some(r)) if h.n >= 2 && r.n >= 2 => {
            let bound = (2.0 * r.std).max(FIDELITY_FLOOR);
            let gap = (h.mean - r.mean).abs();
            if gap <= bound {
                format!("agrees (gap {gap:.2} <= {bound:.2})")
            } else {
                format!("**differs** (gap {gap:.2} > {bound:.2})")
            }
        }
        _ => "not decided (fewer than 2 trained seeds on a side)".into(),
    }
}

/// Exports the data of `run_dir` (once) and trains every seed of `summary` with the reference
/// that has no `result.json` yet. Returns the reference's seconds spent in this call.
fn train_reference(
    reference: &Reference,
    run_dir: &Path,
    summary: &Summary,
    cache: &Path,
) -> Result<f64> {
    let data = run_dir.join("reference").join("data");
    if !data.join("eval_labels.npy").exists() {
        let config = ExperimentConfig::load(&run_dir.join("config.toml"))?;
        let prepared = hpn_train::data::prepare(&config, cache)
            .with_context(|| format!("cannot prepare the data of {}", run_dir.display()))?;
        std::fs::create_dir_all(&data)
            .with_context(|| format!("cannot create {}", data.display()))?;
        hpn_data::write_npy_arrays(&prepared.train, &data, "train")?;
        hpn_data::write_npy_arrays(&prepared.eval, &data, "eval")?;
    }
    let start = Instant::now();
    for seed in &summary.seeds {
        let out = run_dir
            .join("reference")
            .join(format!("seed-{}", seed.seed));
        if out.join("result.json").exists() {
            continue;
        }
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
            .with_context(|| format!("cannot start {}", reference.script.display()))?;
        if !status.success() {
            bail!(
                "the reference failed on {} seed {} ({status}); its output is above",
                summary.name,
                seed.seed
            );
        }
    }
    Ok(start.elapsed().as_secs_f64())
}

/// Reads the reference's seeds of `run_dir`; seeds that did not train by hpn's bars are
/// counted apart and left out of the lists.
fn read_reference(run_dir: &Path, hpn: Summary, classes: Option<usize>) -> Result<Comparison> {
    let mut comparison = Comparison {
        config: hpn.name.clone(),
        accuracy: Vec::new(),
        mae: Vec::new(),
        collapsed: 0,
        seeds: 0,
        hpn,
    };
    for seed in &comparison.hpn.seeds {
        let path = run_dir
            .join("reference")
            .join(format!("seed-{}", seed.seed))
            .join("result.json");
        let Ok(text) = std::fs::read_to_string(&path) else {
            continue;
        };
        let r: ReferenceResult = serde_json::from_str(&text)
            .with_context(|| format!("{}: not a reference result", path.display()))?;
        comparison.seeds += 1;
        let untrained = match (r.accuracy, classes) {
            (Some(a), Some(k)) if k > 1 => {
                a < CHANCE_FACTOR * 100.0 / k as f64
                    || r.largest_class_fraction.unwrap_or(0.0) >= ONE_CLASS_FRACTION
            }
            _ => false,
        };
        if untrained {
            comparison.collapsed += 1;
            continue;
        }
        comparison.accuracy.extend(r.accuracy);
        comparison.mae.extend(r.mae);
        let _ = r.seconds;
    }
    Ok(comparison)
}

fn cell(m: Option<MeanStd>) -> String {
    m.map(|m| m.to_string()).unwrap_or_else(|| "-".into())
}

/// Trains (unless `report_only`) and reads the reference for the key settings of every claim
/// with results, and returns the Markdown section of each claim, by claim id.
pub fn sections(
    reference: &Reference,
    claims: &[(Claim, Results)],
    out: &Path,
) -> Result<Vec<(String, String)>> {
    let cache = out.join(".cache");
    let mut sections = Vec::new();
    for (claim, results) in claims {
        let Some((_, configs)) = KEY_SETTINGS.iter().find(|(id, _)| *id == claim.id) else {
            continue;
        };
        let mut rows = Vec::new();
        let mut seconds = 0.0;
        for config in *configs {
            let Some(summary) = results
                .summaries
                .iter()
                .find(|(c, _)| c == config)
                .and_then(|(_, s)| s.clone())
            else {
                continue;
            };
            let run_dir = out.join(config);
            if !reference.report_only {
                train_reference(reference, &run_dir, &summary, &cache)?;
            }
            let head = hpn_train::SavedHead::load(&run_dir)?;
            let classes = (head.task != hpn_train::config::Task::Regression)
                .then_some(head.class_names.len());
            let c = read_reference(&run_dir, summary, classes)?;
            seconds += reference_seconds(&run_dir, &c.hpn);
            rows.push(c);
        }
        if rows.is_empty() {
            continue;
        }
        let mut s = String::from(
            "Reference (`reference/hpn_torch.py`, PyTorch, the same images and prototypes, its own random streams):\n\n\
             | setting | hpn accuracy | reference accuracy | fidelity | hpn MAE | reference MAE | fidelity | reference seeds |\n\
             |---|---|---|---|---|---|---|---|\n",
        );
        for c in &rows {
            let ref_acc = MeanStd::of(&c.accuracy);
            let ref_mae = MeanStd::of(&c.mae);
            let acc_verdict = if c.hpn.accuracy.is_some() || ref_acc.is_some() {
                fidelity(c.hpn.accuracy, ref_acc)
            } else {
                "-".into()
            };
            let mae_verdict = if c.hpn.mae.is_some() || ref_mae.is_some() {
                fidelity(c.hpn.mae, ref_mae)
            } else {
                "-".into()
            };
            let collapsed = if c.collapsed > 0 {
                format!(" (**{} collapsed**)", c.collapsed)
            } else {
                String::new()
            };
            s.push_str(&format!(
                "| {} | {} | {} | {} | {} | {} | {} | {}{} |\n",
                c.config,
                cell(c.hpn.accuracy),
                cell(ref_acc),
                acc_verdict,
                cell(c.hpn.mae),
                cell(ref_mae),
                mae_verdict,
                c.seeds,
                collapsed
            ));
        }
        s.push_str(&format!(
            "\nThe reference trained for {:.0} minutes (not counted in the claim's time above).\n\n",
            seconds / 60.0
        ));
        sections.push((claim.id.to_string(), s));
    }
    Ok(sections)
}

/// The reference's training seconds over the seeds of a run, from its `result.json` files.
fn reference_seconds(run_dir: &Path, hpn: &Summary) -> f64 {
    hpn.seeds
        .iter()
        .filter_map(|seed| {
            let path = run_dir
                .join("reference")
                .join(format!("seed-{}", seed.seed))
                .join("result.json");
            let text = std::fs::read_to_string(path).ok()?;
            serde_json::from_str::<ReferenceResult>(&text)
                .ok()
                .map(|r| r.seconds)
        })
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(mean: f64, std: f64, n: usize) -> Option<MeanStd> {
        Some(MeanStd { mean, std, n })
    }

    #[test]
    fn fidelity_uses_two_std_or_one_and_a_half_points() {
        // Spread 0.5: the bound is the 1.5-point floor.
        assert!(fidelity(ms(90.0, 0.2, 3), ms(91.4, 0.5, 3)).starts_with("agrees"));
        assert!(fidelity(ms(90.0, 0.2, 3), ms(91.6, 0.5, 3)).starts_with("**differs**"));
        // Spread 2: the bound is 4.
        assert!(fidelity(ms(80.0, 1.0, 3), ms(83.9, 2.0, 3)).starts_with("agrees"));
        assert!(fidelity(ms(80.0, 1.0, 3), ms(84.1, 2.0, 3)).starts_with("**differs**"));
        // One seed is no basis.
        assert!(fidelity(ms(80.0, 0.0, 1), ms(80.0, 1.0, 3)).starts_with("not decided"));
        assert!(fidelity(None, ms(80.0, 1.0, 3)).starts_with("not decided"));
    }

    #[test]
    fn every_key_setting_is_a_row_of_its_claim() {
        let claims = hpn_train::reproduce::claims();
        for (id, configs) in KEY_SETTINGS {
            let claim = claims.iter().find(|c| c.id == *id).expect("a claim id");
            for config in *configs {
                assert!(
                    claim.rows.iter().any(|r| r.config == *config),
                    "{config} is not a row of {id}"
                );
            }
        }
    }
}
