//! Running the claims: each experiment of the manifest trained (or its finished run reused),
//! skipped with a note when its data is missing, resumed after a kill.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use hpn_train::{ExperimentConfig, RunOptions, Summary, resume_conflict, run};

use crate::error::ReproduceError;
use crate::manifest::{Claim, Manifest};
use crate::record::{Record, combine, missing_seeds};
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
    /// Train only these claims (ids such as `claim1`); the others are reported from their
    /// published records and finished runs, as with `report_only`. Empty: all.
    pub only: Vec<String>,
    /// No progress output.
    pub quiet: bool,
    /// Train nothing: report the runs that have finished, list the others as not run yet.
    pub report_only: bool,
    /// Folder of the published records ([`Record`], `docs/results/runs`): seeds recorded
    /// there for the same experiment are taken from it instead of trained. `None`: none are.
    pub published: Option<PathBuf>,
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
    /// The text of each experiment file that has results, by experiment name (what its
    /// published record keeps).
    pub experiments: BTreeMap<String, String>,
    /// The published records that stood for an experiment, by experiment name.
    pub records: BTreeMap<String, Record>,
    /// The folder of the experiment files (what relative paths in `experiments` are read
    /// against).
    pub configs: PathBuf,
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
    let mut found = Found::default();
    let scales: Vec<String> = manifest
        .claims
        .iter()
        .map(|c| manifest.scale_of(c))
        .collect();
    for (claim, scale) in manifest.claims.into_iter().zip(scales) {
        // A claim left out of `only` is reported from what exists, never trained.
        let this = ReproduceOptions {
            report_only: options.report_only
                || (!options.only.is_empty() && !options.only.contains(&claim.id)),
            ..options.clone()
        };
        let mut summaries: Vec<(String, Option<Summary>)> = Vec::new();
        for r in &claim.rows {
            let summary = summary_of(
                &r.config, &claim.id, &this, &done, &summaries, &mut notes, &mut found,
            )?;
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
        experiments: found.experiments,
        records: found.records,
        configs: options.configs.clone(),
    })
}

/// What [`summary_of`] gathers besides the summaries.
#[derive(Default)]
struct Found {
    experiments: BTreeMap<String, String>,
    records: BTreeMap<String, Record>,
}

/// The summary of one row: reused from an earlier row, or made of the seeds of its published
/// record, of a finished run, and of seeds trained now, in the experiment's seed order.
fn summary_of(
    name: &str,
    claim: &str,
    options: &ReproduceOptions,
    done: &[ClaimOutcome],
    this_claim: &[(String, Option<Summary>)],
    notes: &mut Vec<String>,
    found: &mut Found,
) -> Result<Option<Summary>, ReproduceError> {
    let path = Manifest::experiment_file(&options.configs, name);
    let text = std::fs::read_to_string(&path).map_err(|source| {
        ReproduceError::Train(hpn_train::TrainError::ReadConfig {
            path: path.clone(),
            source,
        })
    })?;
    let mut config = ExperimentConfig::parse(&text, &path)?;
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
    let cached = this_claim
        .iter()
        .chain(done.iter().flat_map(|c| c.results.summaries.iter()))
        .find(|(c, s)| c == name && s.is_some())
        .and_then(|(_, s)| s.clone());
    if let Some(s) = cached {
        return Ok(Some(s));
    }
    let quick = options.quick;
    let record = match &options.published {
        Some(dir) => Record::load(dir, name)?
            .filter(|r| r.matches(&config, &path, |c| if quick { quick_version(c) } else { c })),
        None => None,
    };
    let published = record
        .as_ref()
        .map(|r| r.seeds(&config.seeds))
        .unwrap_or_default();
    let mut found_summary = |summary: Summary| {
        found.experiments.insert(name.to_string(), text.clone());
        if let Some(r) = &record {
            found.records.insert(name.to_string(), r.clone());
        }
        Some(summary)
    };
    if let Some(r) = &record
        && missing_seeds(&config.seeds, &published).is_empty()
    {
        return Ok(found_summary(combine(
            &r.summary,
            &config.seeds,
            &[&published],
        )));
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
    if options.report_only {
        let finished = finished_summary(&config, &options.out)?;
        let have: Vec<_> = published
            .iter()
            .chain(finished.iter().flat_map(|f| f.seeds.iter()))
            .cloned()
            .collect();
        let meta = finished.as_ref().or(record.as_ref().map(|r| &r.summary));
        let Some(meta) = meta.filter(|_| !have.is_empty()) else {
            notes.push(not_run_yet(name, claim));
            return Ok(None);
        };
        let missing = missing_seeds(&config.seeds, &have);
        if !missing.is_empty() {
            let list: Vec<String> = missing.iter().map(u64::to_string).collect();
            notes.push(format!(
                "`{name}`: seed {} not run yet, the row shows the others; `cargo xtask reproduce --only {claim}` trains {}.",
                list.join(", "),
                if missing.len() == 1 { "it" } else { "them" }
            ));
        }
        return Ok(found_summary(combine(meta, &config.seeds, &[&have])));
    }
    let mut to_train = config.clone();
    to_train.seeds = missing_seeds(&config.seeds, &published);
    let trained = run(
        &to_train,
        &RunOptions {
            out: Some(options.out.clone()),
            resume: true,
            quiet: options.quiet,
            ..RunOptions::default()
        },
    )?;
    Ok(found_summary(combine(
        &trained,
        &config.seeds,
        &[&published, &trained.seeds],
    )))
}

fn not_run_yet(name: &str, claim: &str) -> String {
    format!(
        "`{name}` not run yet (or run with another config): `cargo xtask reproduce --only {claim}` trains it, keeping finished seeds."
    )
}

/// The summary of a finished run of `config` under `out`, if its saved experiment is the same
/// (its seeds may differ).
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
        || before.training.epochs != config.training.epochs
    {
        return Ok(None);
    }
    Ok(Summary::load(&dir)?)
}
