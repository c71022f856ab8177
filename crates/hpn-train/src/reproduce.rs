//! The paper's claims at a scale that fits a small CPU: which experiment files make up each
//! claim, the paper's figures beside ours, and a verdict computed from the results.
//!
//! `cargo xtask reproduce` runs every claim (three seeds each, about half an hour a claim on
//! 2 cores) and writes `docs/results/README.md`; `--quick` runs a smoke-sized version (one seed,
//! one epoch, a few images per class) into `runs/reproduce-quick/`.

use std::path::{Path, PathBuf};

use crate::config::ExperimentConfig;
use crate::error::TrainError;
use crate::experiment::{RunOptions, resume_conflict, run};
use crate::summary::{MeanStd, Summary};

/// One row of a claim's table: an experiment file and what the paper reports for the same
/// setting.
#[derive(Clone, Debug)]
pub struct Row {
    /// Experiment file name in `configs/reproduce/` (without `.toml`).
    pub config: &'static str,
    /// The setting, as the table shows it.
    pub label: &'static str,
    /// The paper's figure for the corresponding setting (its scale, not ours).
    pub paper: &'static str,
}

/// A claim of the paper and the experiments that test it.
#[derive(Clone, Debug)]
pub struct Claim {
    /// Short id, e.g. `claim1`.
    pub id: &'static str,
    /// Title on the results page.
    pub title: &'static str,
    /// What the paper claims, in one sentence.
    pub statement: &'static str,
    /// The experiments of the claim, one table row each.
    pub rows: Vec<Row>,
    /// Decides from the results whether the claim held at this scale.
    pub verdict: fn(&Results) -> String,
}

/// Results of a claim's experiments by config name (absent: skipped or failed).
pub struct Results {
    /// The summary of each config, by config name.
    pub summaries: Vec<(&'static str, Option<Summary>)>,
}

impl Results {
    fn get(&self, config: &str) -> Option<&Summary> {
        self.summaries
            .iter()
            .find(|(c, _)| *c == config)
            .and_then(|(_, s)| s.as_ref())
    }

    /// Mean accuracy of a config.
    pub fn accuracy(&self, config: &str) -> Option<f64> {
        self.get(config).and_then(|s| s.accuracy).map(|m| m.mean)
    }

    /// Mean MAE of a config.
    pub fn mae(&self, config: &str) -> Option<f64> {
        self.get(config).and_then(|s| s.mae).map(|m| m.mean)
    }
}

fn row(config: &'static str, label: &'static str, paper: &'static str) -> Row {
    Row {
        config,
        label,
        paper,
    }
}

const INCOMPLETE: &str = "Not decided: some of its runs are missing (see the table).";

/// Accuracy (%) below which a 10-class comparison says nothing: twice chance.
const TEN_CLASS_BAR: f64 = 20.0;

fn too_close_to_chance(set: &str, best: f64) -> String {
    format!(
        "{set}: not decided at this budget: the best of these settings reaches {best:.1}% (chance 10%), too close to chance to compare."
    )
}

fn verdict_rotated(r: &Results) -> String {
    let (Some(acc), Some(mae)) = (
        r.accuracy("claim1-rotated-mnist-joint"),
        r.mae("claim1-rotated-mnist-joint"),
    ) else {
        return INCOMPLETE.into();
    };
    // Chance: 20% accuracy over 5 digits; MAE 45 degrees for a constant guess of 90 on [0, 180].
    let facts = format!(
        "digits {acc:.1}% correct (chance 20%, bar 90%), rotation {mae:.1} degrees MAE (constant guess 45, bar 22.5)"
    );
    let seeds = r
        .get("claim1-rotated-mnist-joint")
        .map(|s| s.seeds.as_slice())
        .unwrap_or_default();
    let per_seed: Vec<String> = seeds
        .iter()
        .filter_map(|s| Some(format!("{:.1}% / {:.1}", s.accuracy?, s.mae?)))
        .collect();
    let passing = seeds
        .iter()
        .filter(|s| s.accuracy.unwrap_or(0.0) > 90.0 && s.mae.unwrap_or(f64::INFINITY) < 22.5)
        .count();
    let seed_facts = if per_seed.is_empty() {
        String::new()
    } else {
        format!(
            " Per seed (accuracy / MAE): {}; {passing} of {} seeds pass both bars.",
            per_seed.join(", "),
            seeds.len()
        )
    };
    if acc > 90.0 && mae < 22.5 {
        format!(
            "Held: one output on S^2 classifies and regresses at the same time: {facts}.{seed_facts}"
        )
    } else {
        format!("Did not hold at this scale (mean over seeds): {facts}.{seed_facts}")
    }
}

fn verdict_dimension(r: &Results) -> String {
    let mut parts = Vec::new();
    for (set, d_low, full, onehot) in [
        (
            "MNIST",
            "claim2-mnist-d3-uniform",
            "claim2-mnist-d10-uniform",
            "claim2-mnist-d10-one-hot",
        ),
        (
            "CIFAR-10",
            "claim2-cifar10-d3-uniform",
            "claim2-cifar10-d10-uniform",
            "claim2-cifar10-d10-one-hot",
        ),
    ] {
        let (Some(low), Some(high), Some(hot)) =
            (r.accuracy(d_low), r.accuracy(full), r.accuracy(onehot))
        else {
            parts.push(format!("{set}: not decided (runs missing)."));
            continue;
        };
        if high.max(hot).max(low) < TEN_CLASS_BAR {
            parts.push(too_close_to_chance(set, high.max(hot).max(low)));
            continue;
        }
        let keeps = low >= hot - 5.0;
        parts.push(format!(
            "{set}: HPN with D = 3 < K = 10 reaches {low:.1}% against {high:.1}% at D = 10 and {hot:.1}% for one-hot prototypes (which need D >= K) — {}.",
            if keeps { "held" } else { "did not hold" }
        ));
        let pairs: Vec<(f64, f64)> = [3, 5, 10]
            .iter()
            .filter_map(|d| {
                let u = r.accuracy(&format!("claim2-{}-d{d}-uniform", set_key(set)))?;
                let w = r.accuracy(&format!("claim2-{}-d{d}-word-vectors", set_key(set)))?;
                Some((u, w))
            })
            .collect();
        if !pairs.is_empty() {
            let below = pairs.iter().filter(|(u, w)| w < u).count();
            parts.push(format!(
                "{set}: word-vector prototypes are below uniform ones at {below} of {} output sizes.",
                pairs.len()
            ));
        }
    }
    parts.join(" ")
}

fn set_key(set: &str) -> &'static str {
    if set == "MNIST" { "mnist" } else { "cifar10" }
}

fn verdict_privileged(r: &Results) -> String {
    let mut parts = Vec::new();
    for set in ["MNIST", "CIFAR-10"] {
        let key = set_key(set);
        let mut better = 0;
        let mut total = 0;
        let mut best: f64 = 0.0;
        for d in [2, 3, 5] {
            if let (Some(u), Some(p)) = (
                r.accuracy(&format!("claim2-{key}-d{d}-uniform")),
                r.accuracy(&format!("claim3-{key}-d{d}-privileged")),
            ) {
                total += 1;
                best = best.max(u).max(p);
                better += usize::from(p > u);
            }
        }
        if total == 0 {
            parts.push(format!("{set}: not decided (runs missing)."));
        } else if best < TEN_CLASS_BAR {
            parts.push(too_close_to_chance(set, best));
        } else {
            parts.push(format!(
                "{set}: privileged prototypes beat uniform ones at {better} of {total} small output sizes ({}).",
                if better * 2 > total {
                    "held"
                } else {
                    "did not hold"
                }
            ));
        }
    }
    parts.join(" ")
}

fn verdict_scarce(r: &Results) -> String {
    let mut parts = Vec::new();
    for (what, h, s) in [
        (
            "2..100 per class",
            "claim4-mnist-imbalance-hpn",
            "claim4-mnist-imbalance-softmax",
        ),
        (
            "10 per class",
            "claim4-mnist-few-hpn",
            "claim4-mnist-few-softmax",
        ),
    ] {
        match (r.accuracy(h), r.accuracy(s)) {
            (Some(a), Some(b)) => {
                // A gap inside one standard deviation of either method is a tie.
                let spread = [h, s]
                    .iter()
                    .filter_map(|c| r.get(c).and_then(|x| x.accuracy).map(|m| m.std))
                    .fold(0.0, f64::max);
                let outcome = if (a - b).abs() <= spread {
                    "a tie within one standard deviation"
                } else if a > b {
                    "held"
                } else {
                    "did not hold"
                };
                parts.push(format!(
                    "{what}: HPN {a:.1}% vs softmax {b:.1}% ({outcome})."
                ));
            }
            _ => parts.push(format!("{what}: not decided (runs missing).")),
        }
    }
    parts.join(" ")
}

fn verdict_regression(r: &Results) -> String {
    let get = |c: &str| r.mae(c);
    let (Some(h1a), Some(h1b), Some(h2a), Some(h2b), Some(ma), Some(mb)) = (
        get("claim5-rotation-s1-lr1e-2-hpn"),
        get("claim5-rotation-s1-lr1e-3-hpn"),
        get("claim5-rotation-s2-lr1e-2-hpn"),
        get("claim5-rotation-s2-lr1e-3-hpn"),
        get("claim5-rotation-lr1e-2-mse"),
        get("claim5-rotation-lr1e-3-mse"),
    ) else {
        return INCOMPLETE.into();
    };
    let best_hpn_a = h1a.min(h2a);
    let best_hpn_b = h1b.min(h2b);
    let held = best_hpn_a < ma && best_hpn_b < mb;
    format!(
        "{}: HPN MAE {best_hpn_a:.1} / {best_hpn_b:.1} degrees (lr 1e-2 / 1e-3, best of S^1 and S^2) against MSE {ma:.1} / {mb:.1}; the HPN spread between learning rates is {:.1} degrees, MSE's {:.1}.",
        if held { "Held" } else { "Did not hold" },
        (best_hpn_a - best_hpn_b).abs(),
        (ma - mb).abs()
    )
}

fn verdict_joint(r: &Results) -> String {
    let mut wins_mae = 0;
    let mut wins_acc = 0;
    let mut total = 0;
    for w in ["0.1", "0.5", "0.9"] {
        let h = format!("claim6-joint-w{w}-hpn");
        let m = format!("claim6-joint-w{w}-multitask");
        if let (Some(ha), Some(hm), Some(ma), Some(mm)) =
            (r.accuracy(&h), r.mae(&h), r.accuracy(&m), r.mae(&m))
        {
            total += 1;
            wins_mae += usize::from(hm < mm);
            wins_acc += usize::from(ha > ma);
        }
    }
    if total == 0 {
        return INCOMPLETE.into();
    }
    format!(
        "{}: joint HPN has the lower MAE at {wins_mae} of {total} task weights and the higher accuracy at {wins_acc} of {total}.",
        if wins_mae == total && wins_acc * 2 >= total {
            "Held"
        } else {
            "Did not hold"
        }
    )
}

/// Every claim of the paper this project checks, in the order of the results page.
pub fn claims() -> Vec<Claim> {
    vec![
        Claim {
            id: "claim1",
            title: "1. Rotated MNIST: classification and regression in one output (Figure 5)",
            statement: "Trained with the summed HPN losses and no task weight, one output on S^2 separates the classes in the class plane and orders the rotation along the pole axis.",
            rows: vec![row(
                "claim1-rotated-mnist-joint",
                "digits 2,3,4,5,7, S^2, joint",
                "qualitative (Figure 5)",
            )],
            verdict: verdict_rotated,
        },
        Claim {
            id: "claim2",
            title: "2. Output dimension (Table 1 in miniature)",
            statement: "HPN keeps its accuracy with fewer output dimensions than classes; one-hot prototypes cannot go below K; word-vector prototypes lose accuracy.",
            rows: vec![
                row(
                    "claim2-mnist-d2-uniform",
                    "MNIST, D = 2, hyperspherical",
                    "-",
                ),
                row(
                    "claim2-mnist-d3-uniform",
                    "MNIST, D = 3, hyperspherical",
                    "-",
                ),
                row(
                    "claim2-mnist-d5-uniform",
                    "MNIST, D = 5, hyperspherical",
                    "-",
                ),
                row(
                    "claim2-mnist-d10-uniform",
                    "MNIST, D = 10, hyperspherical",
                    "-",
                ),
                row(
                    "claim2-mnist-d3-word-vectors",
                    "MNIST, D = 3, word vectors",
                    "-",
                ),
                row(
                    "claim2-mnist-d5-word-vectors",
                    "MNIST, D = 5, word vectors",
                    "-",
                ),
                row(
                    "claim2-mnist-d10-word-vectors",
                    "MNIST, D = 10, word vectors",
                    "-",
                ),
                row("claim2-mnist-d10-one-hot", "MNIST, D = 10, one-hot", "-"),
                row(
                    "claim2-cifar10-d2-uniform",
                    "CIFAR-10, D = 2, hyperspherical",
                    "CIFAR-100 D = 10: 51.1",
                ),
                row(
                    "claim2-cifar10-d3-uniform",
                    "CIFAR-10, D = 3, hyperspherical",
                    "CIFAR-100 D = 25: 63.0",
                ),
                row(
                    "claim2-cifar10-d5-uniform",
                    "CIFAR-10, D = 5, hyperspherical",
                    "CIFAR-100 D = 50: 64.7",
                ),
                row(
                    "claim2-cifar10-d10-uniform",
                    "CIFAR-10, D = 10, hyperspherical",
                    "CIFAR-100 D = 100: 65.0",
                ),
                row(
                    "claim2-cifar10-d3-word-vectors",
                    "CIFAR-10, D = 3, word vectors",
                    "CIFAR-100 D = 25: 44.5",
                ),
                row(
                    "claim2-cifar10-d5-word-vectors",
                    "CIFAR-10, D = 5, word vectors",
                    "CIFAR-100 D = 50: 54.3",
                ),
                row(
                    "claim2-cifar10-d10-word-vectors",
                    "CIFAR-10, D = 10, word vectors",
                    "CIFAR-100 D = 100: 57.6",
                ),
                row(
                    "claim2-cifar10-d10-one-hot",
                    "CIFAR-10, D = 10, one-hot",
                    "CIFAR-100 D = 100: 62.1",
                ),
            ],
            verdict: verdict_dimension,
        },
        Claim {
            id: "claim3",
            title: "3. Privileged information at small output dimensions (Table 3)",
            statement: "Prototypes shaped by class-name word vectors help most when D is small.",
            rows: vec![
                row("claim2-mnist-d2-uniform", "MNIST, D = 2, uniform", "-"),
                row(
                    "claim3-mnist-d2-privileged",
                    "MNIST, D = 2, privileged",
                    "-",
                ),
                row("claim2-mnist-d3-uniform", "MNIST, D = 3, uniform", "-"),
                row(
                    "claim3-mnist-d3-privileged",
                    "MNIST, D = 3, privileged",
                    "-",
                ),
                row("claim2-mnist-d5-uniform", "MNIST, D = 5, uniform", "-"),
                row(
                    "claim3-mnist-d5-privileged",
                    "MNIST, D = 5, privileged",
                    "-",
                ),
                row("claim2-cifar10-d2-uniform", "CIFAR-10, D = 2, uniform", "-"),
                row(
                    "claim3-cifar10-d2-privileged",
                    "CIFAR-10, D = 2, privileged",
                    "-",
                ),
                row(
                    "claim2-cifar10-d3-uniform",
                    "CIFAR-10, D = 3, uniform",
                    "CIFAR-100 D = 3: 5.5",
                ),
                row(
                    "claim3-cifar10-d3-privileged",
                    "CIFAR-10, D = 3, privileged",
                    "CIFAR-100 D = 3: 11.5",
                ),
                row(
                    "claim2-cifar10-d5-uniform",
                    "CIFAR-10, D = 5, uniform",
                    "CIFAR-100 D = 5: 28.7",
                ),
                row(
                    "claim3-cifar10-d5-privileged",
                    "CIFAR-10, D = 5, privileged",
                    "CIFAR-100 D = 5: 37.0",
                ),
            ],
            verdict: verdict_privileged,
        },
        Claim {
            id: "claim4",
            title: "4. Scarce and uneven data (Table 4)",
            statement: "HPN beats softmax cross-entropy when classes have few or unevenly many examples.",
            rows: vec![
                row(
                    "claim4-mnist-imbalance-hpn",
                    "MNIST, 2..100 per class, HPN",
                    "CIFAR-100 2..200: 46.4",
                ),
                row(
                    "claim4-mnist-imbalance-softmax",
                    "MNIST, 2..100 per class, softmax CE",
                    "CIFAR-100 2..200: 44.2",
                ),
                row(
                    "claim4-mnist-few-hpn",
                    "MNIST, 10 per class, HPN",
                    "CUB-200 ~30 per class: 47.3",
                ),
                row(
                    "claim4-mnist-few-softmax",
                    "MNIST, 10 per class, softmax CE",
                    "CUB-200 ~30 per class: 43.1",
                ),
            ],
            verdict: verdict_scarce,
        },
        Claim {
            id: "claim5",
            title: "5. Regression and robustness to the learning rate (Table 5)",
            statement: "HPN regression has a lower error than squared-error regression and is robust to the learning rate.",
            rows: vec![
                row(
                    "claim5-rotation-s1-lr1e-2-hpn",
                    "rotation, HPN S^1, lr 1e-2",
                    "OmniArt MAE 84.4",
                ),
                row(
                    "claim5-rotation-s2-lr1e-2-hpn",
                    "rotation, HPN S^2, lr 1e-2",
                    "OmniArt MAE 76.3",
                ),
                row(
                    "claim5-rotation-lr1e-2-mse",
                    "rotation, MSE, lr 1e-2",
                    "OmniArt MAE 210.7 / 110.3",
                ),
                row(
                    "claim5-rotation-s1-lr1e-3-hpn",
                    "rotation, HPN S^1, lr 1e-3",
                    "OmniArt MAE 82.9",
                ),
                row(
                    "claim5-rotation-s2-lr1e-3-hpn",
                    "rotation, HPN S^2, lr 1e-3",
                    "OmniArt MAE 73.2",
                ),
                row(
                    "claim5-rotation-lr1e-3-mse",
                    "rotation, MSE, lr 1e-3",
                    "OmniArt MAE 339.9 / 109.9",
                ),
            ],
            verdict: verdict_regression,
        },
        Claim {
            id: "claim6",
            title: "6. Joint task versus a multi-task baseline (Table 6)",
            statement: "Joint HPN has a lower regression error and comparable or better accuracy than MSE + cross-entropy across task weights.",
            rows: vec![
                row(
                    "claim6-joint-w0.1-hpn",
                    "w = 0.1, joint HPN",
                    "OmniArt MAE 64.1-83.6, acc 46.6-54.5",
                ),
                row(
                    "claim6-joint-w0.1-multitask",
                    "w = 0.1, MSE + CE",
                    "OmniArt MAE 262.7-354.7, acc 44.6-49.5",
                ),
                row("claim6-joint-w0.5-hpn", "w = 0.5, joint HPN", "-"),
                row("claim6-joint-w0.5-multitask", "w = 0.5, MSE + CE", "-"),
                row("claim6-joint-w0.9-hpn", "w = 0.9, joint HPN", "-"),
                row("claim6-joint-w0.9-multitask", "w = 0.9, MSE + CE", "-"),
            ],
            verdict: verdict_joint,
        },
    ]
}

/// How `reproduce` runs.
#[derive(Clone, Debug)]
pub struct ReproduceOptions {
    /// Directory of the experiment files (`configs/reproduce`).
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

/// Shrinks an experiment to a smoke test.
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

/// What one run of `reproduce` produced: each claim with its results, and the page.
pub struct Reproduction {
    /// Every claim with its results.
    pub claims: Vec<(Claim, Results)>,
    /// Notes on skipped or missing runs, as the page lists them.
    pub notes: Vec<String>,
    /// The results page.
    pub markdown: String,
}

/// Runs the claims. A config whose data is missing is skipped with a note; finished runs are
/// reused and interrupted ones resumed, so the command can be started again after a kill.
pub fn reproduce(options: &ReproduceOptions) -> Result<Reproduction, TrainError> {
    let mut done: Vec<(Claim, Results)> = Vec::new();
    let mut notes: Vec<String> = Vec::new();
    for claim in claims() {
        if !options.only.is_empty() && !options.only.iter().any(|c| c == claim.id) {
            continue;
        }
        let mut summaries = Vec::new();
        for r in &claim.rows {
            let path = options.configs.join(format!("{}.toml", r.config));
            let mut config = ExperimentConfig::load(&path)?;
            if options.quick {
                config = quick_version(config);
            }
            if !config.dataset.path.exists() {
                let note = format!(
                    "`{}` skipped: dataset not found at `{}` (see datasets/README.md).",
                    r.config,
                    config.dataset.path.display()
                );
                if !notes.contains(&note) {
                    notes.push(note);
                }
                summaries.push((r.config, None));
                continue;
            }
            let cached = summaries
                .iter()
                .chain(done.iter().flat_map(|(_, res)| res.summaries.iter()))
                .find(|(c, s)| *c == r.config && s.is_some())
                .and_then(|(_, s)| s.clone());
            let summary = match cached {
                Some(s) => s,
                None if options.report_only => match finished_summary(&config, &options.out)? {
                    Some(s) => s,
                    None => {
                        notes.push(format!(
                            "`{}` not run yet (or run with another config): `cargo xtask reproduce --only {}` trains it, keeping finished seeds.",
                            r.config, claim.id
                        ));
                        summaries.push((r.config, None));
                        continue;
                    }
                },
                None => run(
                    &config,
                    &RunOptions {
                        out: Some(options.out.clone()),
                        resume: true,
                        quiet: options.quiet,
                        ..RunOptions::default()
                    },
                )?,
            };
            summaries.push((r.config, Some(summary)));
        }
        done.push((claim, Results { summaries }));
    }
    let markdown = page(&done, &notes, options, &[]);
    Ok(Reproduction {
        claims: done,
        notes,
        markdown,
    })
}

/// The summary of a finished run of `config` under `out`, if its saved experiment is the same.
fn finished_summary(config: &ExperimentConfig, out: &Path) -> Result<Option<Summary>, TrainError> {
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
    Summary::load(&dir)
}

/// The rows of a claim where at least half of the seeds collapsed, as "label: k of n seeds
/// collapsed"; a verdict cannot rest on them.
fn undecided_rows(claim: &Claim, results: &Results) -> Vec<String> {
    claim
        .rows
        .iter()
        .filter_map(|r| {
            let summary = results.get(r.config)?;
            let n = summary.seeds.len();
            (summary.collapsed_seeds > 0 && 2 * summary.collapsed_seeds >= n).then(|| {
                format!(
                    "{}: {} of {n} seeds collapsed",
                    r.label, summary.collapsed_seeds
                )
            })
        })
        .collect()
}

/// The verdict of a claim: "not decided" when a row it compares has at least half of its seeds
/// collapsed, else the claim's own verdict on the trained seeds, with the left-out seeds
/// counted.
pub fn verdict(claim: &Claim, results: &Results) -> String {
    let undecided = undecided_rows(claim, results);
    if !undecided.is_empty() {
        return format!(
            "Not decided: {} (did not train), so these runs are no evidence either way.",
            undecided.join("; ")
        );
    }
    let left_out: usize = claim
        .rows
        .iter()
        .filter_map(|r| results.get(r.config))
        .map(|s| s.collapsed_seeds)
        .sum();
    let verdict = (claim.verdict)(results);
    if left_out == 0 {
        verdict
    } else {
        format!("{verdict} ({left_out} collapsed seed(s) left out of the means; see the table.)")
    }
}

fn cell(m: Option<MeanStd>) -> String {
    m.map(|m| m.to_string()).unwrap_or_else(|| "-".into())
}

/// The results page: one table per claim, the paper's figure beside ours, and the verdict;
/// `sections` (claim id, Markdown) are placed after the verdict of their claim.
pub fn page(
    claims: &[(Claim, Results)],
    notes: &[String],
    options: &ReproduceOptions,
    sections: &[(String, String)],
) -> String {
    let mut s = String::from("# Reproducing the paper's claims on a 2-core CPU\n\n");
    s.push_str(
        "Each claim of Mettes et al. (NeurIPS 2019) is tested at a scale that fits a 2-core CPU \
         (the paper trains for 250 epochs on a GPU). The paper's figures come from its own, much \
         larger setting and are shown for direction, not for equality. Accuracy in %, MAE in \
         degrees of rotation; mean ± standard deviation over the seeds that trained. A seed \
         that did not train (90 % or more of the test images in one class, accuracy below 1.5 \
         times chance, or an MAE within 5 % of a constant guess) is marked collapsed, left out \
         of the means, and a claim whose runs collapsed in half of their seeds or more is not \
         decided.\n\n",
    );
    s.push_str(&format!(
        "Made with `cargo xtask reproduce{}`{}; experiment files in `configs/reproduce/`.\n\n",
        if options.quick { " --quick" } else { "" },
        if options.quick {
            " (smoke size: one seed, one epoch, 20 images per class; the numbers mean nothing)"
        } else {
            ""
        }
    ));
    for (claim, results) in claims {
        s.push_str(&format!("## {}\n\n{}\n\n", claim.title, claim.statement));
        let seconds: f64 = claim
            .rows
            .iter()
            .filter_map(|r| results.get(r.config))
            .flat_map(|x| x.seeds.iter().map(|seed| seed.seconds))
            .sum();
        s.push_str(&format!(
            "Command: `cargo xtask reproduce{} --only {}` ({:.0} minutes of training on this machine, all runs and seeds).\n\n",
            if options.quick { " --quick" } else { "" },
            claim.id,
            seconds / 60.0
        ));
        s.push_str("| setting | paper | accuracy | MAE | seeds | epochs x train images |\n|---|---|---|---|---|---|\n");
        for r in &claim.rows {
            let summary = results.get(r.config);
            let seeds = summary
                .map(|x| match x.collapsed_seeds {
                    0 => x.seeds.len().to_string(),
                    k => format!("{} (**{k} collapsed**)", x.seeds.len()),
                })
                .unwrap_or_else(|| "-".into());
            let label = if summary.is_some() {
                format!("[{}](runs/{}.md)", r.label, r.config)
            } else {
                r.label.to_string()
            };
            s.push_str(&format!(
                "| {} | {} | {} | {} | {} | {} |\n",
                label,
                r.paper,
                cell(summary.and_then(|x| x.accuracy)),
                cell(summary.and_then(|x| x.mae)),
                seeds,
                summary
                    .map(|x| x.scale.clone())
                    .unwrap_or_else(|| "-".into())
            ));
        }
        s.push_str(&format!("\n**Verdict.** {}\n\n", verdict(claim, results)));
        for (_, section) in sections.iter().filter(|(id, _)| id == claim.id) {
            s.push_str(section);
        }
        if claim.id == "claim1" {
            s.push_str("![test outputs on S^2: left the class plane coloured by digit, right the class angle against the cosine to the pole, coloured by rotation from blue (0 degrees) to red (180)](claim1-sphere.png)\n\n");
        }
    }
    if !notes.is_empty() {
        s.push_str("## Missing runs\n\n");
        for n in notes {
            s.push_str(&format!("- {n}\n"));
        }
    }
    s
}

/// Where the results page and figures of a reproduction go.
pub fn results_dir(root: &Path, quick: bool, out: &Path) -> PathBuf {
    if quick {
        out.to_path_buf()
    } else {
        root.join("docs").join("results")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::summary::SeedSummary;

    fn summary(accuracy: f64) -> Summary {
        Summary {
            name: String::new(),
            description: String::new(),
            backend: "flex".into(),
            scale: "1 x 10".into(),
            seeds: Vec::new(),
            accuracy: Some(MeanStd {
                mean: accuracy,
                std: 0.0,
                n: 3,
            }),
            mae: None,
            images_per_second: None,
            auroc: None,
            old_accuracy: None,
            new_accuracy: None,
            collapsed_seeds: 0,
        }
    }

    fn privileged(uniform: [f64; 3], privileged: [f64; 3]) -> Results {
        let names = [
            ("claim2-mnist-d2-uniform", uniform[0]),
            ("claim2-mnist-d3-uniform", uniform[1]),
            ("claim2-mnist-d5-uniform", uniform[2]),
            ("claim3-mnist-d2-privileged", privileged[0]),
            ("claim3-mnist-d3-privileged", privileged[1]),
            ("claim3-mnist-d5-privileged", privileged[2]),
        ];
        Results {
            summaries: names
                .into_iter()
                .map(|(c, a)| (c, Some(summary(a))))
                .collect(),
        }
    }

    #[test]
    fn privileged_verdict_counts_wins_and_refuses_near_chance() {
        let held = verdict_privileged(&privileged([30.0, 40.0, 50.0], [35.0, 45.0, 48.0]));
        assert!(held.starts_with("MNIST: privileged"), "{held}");
        assert!(held.contains("2 of 3 small output sizes (held)"), "{held}");
        assert!(
            held.contains("CIFAR-10: not decided (runs missing)"),
            "{held}"
        );
        let not = verdict_privileged(&privileged([30.0, 40.0, 50.0], [25.0, 45.0, 48.0]));
        assert!(
            not.contains("1 of 3 small output sizes (did not hold)"),
            "{not}"
        );
        let chance = verdict_privileged(&privileged([11.0, 12.0, 15.0], [14.0, 16.0, 19.0]));
        assert!(
            chance.starts_with("MNIST: not decided at this budget"),
            "{chance}"
        );
    }

    #[test]
    fn rotated_verdict_reports_each_seed() {
        let mut s = summary(66.9);
        s.mae = Some(MeanStd {
            mean: 16.7,
            std: 7.6,
            n: 3,
        });
        s.seeds = [(90.5, 10.7), (28.9, 25.2), (81.3, 14.1)]
            .iter()
            .enumerate()
            .map(|(i, &(a, m))| SeedSummary {
                seed: i as u64 + 1,
                accuracy: Some(a),
                mae: Some(m),
                images_per_second: 1.0,
                seconds: 1.0,
                auroc: None,
                old_accuracy: None,
                new_accuracy: None,
                collapsed: Vec::new(),
            })
            .collect();
        let v = verdict_rotated(&Results {
            summaries: vec![("claim1-rotated-mnist-joint", Some(s))],
        });
        assert!(v.starts_with("Did not hold"), "{v}");
        assert!(
            v.contains("90.5% / 10.7, 28.9% / 25.2, 81.3% / 14.1"),
            "{v}"
        );
        assert!(v.contains("1 of 3 seeds pass both bars"), "{v}");
    }

    #[test]
    fn scarce_verdict_calls_a_gap_inside_the_spread_a_tie() {
        let with_std = |mean, std| {
            let mut s = summary(mean);
            s.accuracy = Some(MeanStd { mean, std, n: 3 });
            Some(s)
        };
        let v = verdict_scarce(&Results {
            summaries: vec![
                ("claim4-mnist-imbalance-hpn", with_std(83.7, 0.6)),
                ("claim4-mnist-imbalance-softmax", with_std(83.2, 0.9)),
                ("claim4-mnist-few-hpn", with_std(80.0, 0.5)),
                ("claim4-mnist-few-softmax", with_std(75.0, 1.0)),
            ],
        });
        assert!(
            v.contains("HPN 83.7% vs softmax 83.2% (a tie within one standard deviation)"),
            "{v}"
        );
        assert!(v.contains("HPN 80.0% vs softmax 75.0% (held)"), "{v}");
    }

    #[test]
    fn dimension_verdict_compares_low_d_with_one_hot() {
        let results = Results {
            summaries: vec![
                ("claim2-mnist-d3-uniform", Some(summary(94.0))),
                ("claim2-mnist-d10-uniform", Some(summary(97.0))),
                ("claim2-mnist-d10-one-hot", Some(summary(96.0))),
                ("claim2-cifar10-d3-uniform", Some(summary(12.0))),
                ("claim2-cifar10-d10-uniform", Some(summary(15.0))),
                ("claim2-cifar10-d10-one-hot", Some(summary(14.0))),
            ],
        };
        let v = verdict_dimension(&results);
        assert!(v.contains("MNIST: HPN with D = 3"), "{v}");
        assert!(v.contains("held"), "{v}");
        assert!(v.contains("CIFAR-10: not decided at this budget"), "{v}");
    }

    #[test]
    fn a_row_with_half_its_seeds_collapsed_leaves_the_claim_undecided() {
        let claim = claims().into_iter().find(|c| c.id == "claim3").unwrap();
        let mut results = privileged([30.0, 40.0, 50.0], [35.0, 45.0, 48.0]);
        let decided = verdict(&claim, &results);
        assert!(decided.starts_with("MNIST: privileged"), "{decided}");
        // Two of three seeds of D = 3 privileged collapsed: no verdict.
        for (config, summary) in &mut results.summaries {
            if *config == "claim3-mnist-d3-privileged" {
                let s = summary.as_mut().unwrap();
                s.seeds = (1..=3)
                    .map(|seed| SeedSummary {
                        seed,
                        accuracy: Some(10.0),
                        mae: None,
                        images_per_second: 1.0,
                        seconds: 1.0,
                        auroc: None,
                        old_accuracy: None,
                        new_accuracy: None,
                        collapsed: Vec::new(),
                    })
                    .collect();
                s.collapsed_seeds = 2;
            }
        }
        let undecided = verdict(&claim, &results);
        assert_eq!(
            undecided,
            "Not decided: MNIST, D = 3, privileged: 2 of 3 seeds collapsed (did not train), so these runs are no evidence either way."
        );
        // One of three: decided on the trained seeds, the left-out seed counted.
        for (config, summary) in &mut results.summaries {
            if *config == "claim3-mnist-d3-privileged" {
                summary.as_mut().unwrap().collapsed_seeds = 1;
            }
        }
        let partly = verdict(&claim, &results);
        assert!(partly.starts_with("MNIST: privileged"), "{partly}");
        assert!(
            partly.ends_with("(1 collapsed seed(s) left out of the means; see the table.)"),
            "{partly}"
        );
    }
}
