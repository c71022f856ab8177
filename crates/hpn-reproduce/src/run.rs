//! Running the claims: each experiment of the manifest trained (or its finished run reused),
//! skipped with a note when its data is missing, resumed after a kill.

use std::path::{Path, PathBuf};

use hpn_train::{ExperimentConfig, RunOptions, Summary, resume_conflict, run};

use crate::error::ReproduceError;
use crate::manifest::{Claim, Manifest};
use crate::reference::Comparison;
use crate::results::Results;
use crate::verdict::{Verdict, judge};

/// How `reproduce` runs.
#[derive(Clone, Debug)]
pub struct ReproduceOptions {
    /// Folder of the manifest and the experiment files (`configs/reproduce`).
    pub configs: PathBuf,
    /// Smoke-sized: one seed, one epoch, a few images per class.
    pub quick: bool,
    /// Parent of the run directories.
    pub out: PathBuf,
    /// Only these claims (ids such as `claim1`); empty: all.
    pub only: Vec<String>,
    /// No progress output.
    pub quiet: bool,
    /// Train nothing: report the runs that have finished, list the others as not run yet.
    pub report_only: bool,
}

/// One claim after its runs: the claim, its results, and its verdict.
#[derive(Clone, Debug)]
pub struct ClaimOutcome {
    /// The claim, as the manifest has it.
    pub claim: Claim,
    /// The scale of its runs ([`Manifest::scale_of`]).
    pub scale: String,
    /// The summaries of its rows.
    pub results: Results,
    /// What the runs decide.
    pub verdict: Verdict,
    /// The PyTorch reference beside hpn for the claim's key settings (empty unless
    /// [`crate::reference::attach`] ran).
    pub reference: Vec<Comparison>,
}

/// What one run of `reproduce` produced: every claim with its results and verdict, and notes
/// on runs that are missing.
#[derive(Clone, Debug)]
pub struct Reproduction {
    /// The claims that were asked for, in page order.
    pub claims: Vec<ClaimOutcome>,
    /// Notes on skipped or missing runs, as the page lists them.
    pub notes: Vec<String>,
    /// Whether this was the smoke-sized version.
    pub quick: bool,
}

/// Shrinks an experiment to a smoke test: one seed, one epoch, at most 20 training and 10
/// test images per class.
pub fn quick_version(mut config: ExperimentConfig) -> ExperimentConfig {
    config.seeds = vec![1];
    config.training.epochs = 1;
    config.training.eval_every = 1;
    config.training.batch_size = config.training.batch_size.min(32);
    config.optimizer.milestones.clear();
    config.dataset.train_per_class = Some(config.dataset.train_per_class.unwrap_or(20).min(20));
    config.dataset.test_per_class = Some(10);
    if let Some(imb) = &mut config.dataset.imbalance {
        imb.max = imb.max.min(20);
        imb.min = imb.min.min(imb.max);
    }
    config
}

/// Runs the claims of the manifest in `options.configs`. A config whose data is missing is
/// skipped with a note; finished runs are reused and interrupted ones resumed, so the command
/// can be started again after a kill.
pub fn reproduce(options: &ReproduceOptions) -> Result<Reproduction, ReproduceError> {
    let manifest = Manifest::load(&options.configs)?;
    if let Some(unknown) = options
        .only
        .iter()
        .find(|id| !manifest.claims.iter().any(|c| &c.id == *id))
    {
        return Err(ReproduceError::Manifest {
            path: options.configs.join(crate::MANIFEST_FILE),
            message: format!(
                "no claim `{unknown}` (claims: {})",
                manifest
                    .claims
                    .iter()
                    .map(|c| c.id.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        });
    }
    let mut done: Vec<ClaimOutcome> = Vec::new();
    let mut notes: Vec<String> = Vec::new();
    let scales: Vec<String> = manifest
        .claims
        .iter()
        .map(|c| manifest.scale_of(c))
        .collect();
    for (claim, scale) in manifest.claims.into_iter().zip(scales) {
        if !options.only.is_empty() && !options.only.contains(&claim.id) {
            continue;
        }
        let mut summaries: Vec<(String, Option<Summary>)> = Vec::new();
        for r in &claim.rows {
            let summary = summary_of(&r.config, &claim.id, options, &done, &summaries, &mut notes)?;
            summaries.push((r.config.clone(), summary));
        }
        let results = Results { summaries };
        let verdict = judge(&claim, &results);
        done.push(ClaimOutcome {
            claim,
            scale,
            results,
            verdict,
            reference: Vec::new(),
        });
    }
    Ok(Reproduction {
        claims: done,
        notes,
        quick: options.quick,
    })
}

/// The summary of one row: reused from an earlier row, read from a finished run, or trained.
fn summary_of(
    name: &str,
    claim: &str,
    options: &ReproduceOptions,
    done: &[ClaimOutcome],
    this_claim: &[(String, Option<Summary>)],
    notes: &mut Vec<String>,
) -> Result<Option<Summary>, ReproduceError> {
    let path = Manifest::experiment_file(&options.configs, name);
    let mut config = ExperimentConfig::load(&path)?;
    if config.name != name {
        return Err(ReproduceError::Manifest {
            path: path.clone(),
            message: format!(
                "the experiment file is named `{}`, the manifest expects `{name}`: run configs/reproduce/generate.py",
                config.name
            ),
        });
    }
    if options.quick {
        config = quick_version(config);
    }
    if !config.dataset.path.exists() {
        let note = format!(
            "`{name}` skipped: dataset not found at `{}` (see datasets/README.md).",
            config.dataset.path.display()
        );
        if !notes.contains(&note) {
            notes.push(note);
        }
        return Ok(None);
    }
    let cached = this_claim
        .iter()
        .chain(done.iter().flat_map(|c| c.results.summaries.iter()))
        .find(|(c, s)| c == name && s.is_some())
        .and_then(|(_, s)| s.clone());
    if let Some(s) = cached {
        return Ok(Some(s));
    }
    if options.report_only {
        let finished = finished_summary(&config, &options.out)?;
        if finished.is_none() {
            notes.push(format!(
                "`{name}` not run yet (or run with another config): `cargo xtask reproduce --only {claim}` trains it, keeping finished seeds."
            ));
        }
        return Ok(finished);
    }
    let summary = run(
        &config,
        &RunOptions {
            out: Some(options.out.clone()),
            resume: true,
            quiet: options.quiet,
            ..RunOptions::default()
        },
    )?;
    Ok(Some(summary))
}

/// The summary of a finished run of `config` under `out`, if its saved experiment is the same.
fn finished_summary(
    config: &ExperimentConfig,
    out: &Path,
) -> Result<Option<Summary>, ReproduceError> {
    let dir = out.join(&config.name);
    let saved = dir.join("config.toml");
    if !saved.exists() {
        return Ok(None);
    }
    let before = ExperimentConfig::load(&saved)?;
    if resume_conflict(&before, config).is_some()
        || before.seeds != config.seeds
        || before.training.epochs != config.training.epochs
    {
        return Ok(None);
    }
    Ok(Summary::load(&dir)?)
}
