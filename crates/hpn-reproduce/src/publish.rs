//! Writing a reproduction to disk: the results page, one page per run with every seed's
//! training curves and `metrics.csv`, and the Figure 5 sphere of claim 1.

use std::path::{Path, PathBuf};

use burn::tensor::Device;

use crate::error::{ReproduceError, write_error};
use crate::page::render;
use crate::plot::claim_figure;
use crate::record::Record;
use crate::rules::Rule;
use crate::run::Reproduction;

/// Where the results page and figures of a reproduction go: `docs/results/` under `root`, or
/// the run folder itself for the smoke-sized version.
pub fn results_dir(root: &Path, quick: bool, out: &Path) -> PathBuf {
    if quick {
        out.to_path_buf()
    } else {
        root.join("docs").join("results")
    }
}

fn copy(from: &Path, to: &Path) -> Result<(), ReproduceError> {
    std::fs::copy(from, to).map_err(write_error(to))?;
    Ok(())
}

/// Writes `runs/<config>.md` for every run that finished, each seed's `curves.svg` and
/// `metrics.csv` beside it as `runs/<config>-seed-<s>.svg` / `.csv` (a seed taken from a
/// published record keeps the files published with it), and the record `runs/<config>.json`.
fn run_pages(reproduction: &Reproduction, out: &Path, dir: &Path) -> Result<(), ReproduceError> {
    let runs = dir.join("runs");
    std::fs::create_dir_all(&runs).map_err(write_error(&runs))?;
    for outcome in &reproduction.claims {
        for (config, summary) in &outcome.results.summaries {
            let Some(s) = summary else { continue };
            let mut md = s.markdown();
            for seed in &s.seeds {
                let seed_dir = out.join(config).join(format!("seed-{}", seed.seed));
                let stem = format!("{config}-seed-{}", seed.seed);
                let (curves, metrics) = (seed_dir.join("curves.svg"), seed_dir.join("metrics.csv"));
                let mut parts = Vec::new();
                let (published_metrics, published_curves) = (
                    runs.join(format!("{stem}.csv")),
                    runs.join(format!("{stem}.svg")),
                );
                if metrics.exists() {
                    copy(&metrics, &published_metrics)?;
                }
                if curves.exists() {
                    copy(&curves, &published_curves)?;
                }
                if published_metrics.exists() {
                    parts.push(format!("[metrics.csv]({stem}.csv)"));
                }
                if published_curves.exists() {
                    parts.push(format!(
                        "![seed {}: test metric and training loss by epoch]({stem}.svg)",
                        seed.seed
                    ));
                }
                if !parts.is_empty() {
                    md.push_str(&format!(
                        "\n### Seed {}\n\n{}\n",
                        seed.seed,
                        parts.join("\n\n")
                    ));
                }
            }
            let page = runs.join(format!("{config}.md"));
            std::fs::write(&page, md).map_err(write_error(&page))?;
            if let Some(experiment) = reproduction.experiments.get(config) {
                let reference = outcome
                    .reference
                    .iter()
                    .find(|c| &c.config == config)
                    .map(|c| c.reference.clone())
                    .or_else(|| {
                        reproduction
                            .records
                            .get(config)
                            .and_then(|r| r.reference.clone())
                    });
                Record {
                    experiment: experiment.clone(),
                    summary: s.clone(),
                    reference,
                }
                .write(&runs)?;
            }
        }
    }
    Ok(())
}

/// Draws Figure 5 (`claim1-sphere.svg`) from the joint rotated-MNIST run, when it finished
/// with a 3-wide output.
fn sphere(
    reproduction: &Reproduction,
    out: &Path,
    dir: &Path,
    device: &Device,
) -> Result<(), ReproduceError> {
    for outcome in &reproduction.claims {
        if outcome.claim.rule != Rule::RotatedJoint {
            continue;
        }
        let Some((config, Some(_))) = outcome.results.summaries.first() else {
            continue;
        };
        let run_dir = out.join(config);
        let trained = std::fs::read_dir(&run_dir)
            .map(|d| d.flatten().any(|e| e.path().join("model.bpk").exists()))
            .unwrap_or(false);
        if !trained {
            // Taken from its published record (its run directory absent, or written for the
            // reference without training): the figure published with it stays.
            continue;
        }
        let run = hpn_train::inference::load_run(&run_dir, None, device)?;
        let o = hpn_train::inference::eval_outputs(&run, &run_dir, device)?;
        if o.width == 3 {
            let svg = dir.join("claim1-sphere.svg");
            hpn_train::plot::sphere_figure(
                &svg,
                &o.outputs,
                &o.labels,
                &o.targets,
                &run.saved.class_names,
            )?;
        }
    }
    Ok(())
}

/// Writes the whole reproduction under `dir` (see [`results_dir`]): `README.md`, the run
/// pages, each claim's figure (`<claim>.svg`) and the sphere figure; `out` holds the run directories. Returns the page's path.
pub fn publish(
    reproduction: &Reproduction,
    out: &Path,
    dir: &Path,
    device: &Device,
) -> Result<PathBuf, ReproduceError> {
    std::fs::create_dir_all(dir).map_err(write_error(dir))?;
    run_pages(reproduction, out, dir)?;
    sphere(reproduction, out, dir, device)?;
    for outcome in &reproduction.claims {
        claim_figure(&dir.join(format!("{}.svg", outcome.claim.id)), outcome)?;
    }
    let page = dir.join("README.md");
    std::fs::write(&page, render(reproduction)).map_err(write_error(&page))?;
    Ok(page)
}
