//! The rule of each claim: which rows it compares and the bar each comparison must clear.
//! One recipe per claim for HPN and its baselines; the bars are fixed here, not per run.

use serde::Deserialize;

use crate::results::Results;
use crate::verdict::{Finding, Outcome};

/// Accuracy (%) below which a 10-class comparison says nothing: twice chance.
pub const TEN_CLASS_BAR: f64 = 20.0;

/// Claim 1's bars on rotated MNIST (5 digits, rotations in [0, 180] degrees): accuracy above
/// 90 % (chance 20 %) and MAE below 22.5 degrees (half the 45 of a constant guess of 90).
pub const ROTATED_ACCURACY_BAR: f64 = 90.0;
/// See [`ROTATED_ACCURACY_BAR`].
pub const ROTATED_MAE_BAR: f64 = 22.5;

/// How a claim is decided; the manifest names one per claim.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Rule {
    /// Claim 1 (Figure 5): joint classification and regression on S^2 clears both bars.
    RotatedJoint,
    /// Claim 2 (Table 1): D = 3 < K keeps accuracy within 5 points of one-hot prototypes at
    /// D = K; word-vector prototypes lose accuracy against uniform ones.
    OutputDimension,
    /// Claim 3 (Table 3): privileged prototypes beat uniform ones at most small D.
    Privileged,
    /// Claim 4 (Table 4): HPN beats softmax cross-entropy with scarce and uneven data.
    ScarceData,
    /// Claim 5 (Table 5): HPN regression has a lower MAE than MSE at both learning rates.
    Regression,
    /// Claim 6 (Table 6): joint HPN has the lower MAE at every task weight and the higher
    /// accuracy at half of them or more.
    JointVsMultitask,
}

impl Rule {
    /// The findings of this rule on a claim's results.
    pub fn apply(self, r: &Results) -> Vec<Finding> {
        match self {
            Rule::RotatedJoint => rotated_joint(r),
            Rule::OutputDimension => output_dimension(r),
            Rule::Privileged => privileged(r),
            Rule::ScarceData => scarce_data(r),
            Rule::Regression => regression(r),
            Rule::JointVsMultitask => joint_vs_multitask(r),
        }
    }
}

fn near_chance(scope: &str, best: f64) -> Finding {
    Finding::new(
        scope,
        Outcome::NotDecided,
        format!(
            "the best of these settings reaches {best:.1}% (chance 10%), too close to chance to compare at this budget"
        ),
    )
}

fn held_if(held: bool) -> Outcome {
    if held {
        Outcome::Held
    } else {
        Outcome::NotHeld
    }
}

fn rotated_joint(r: &Results) -> Vec<Finding> {
    let config = "claim1-rotated-mnist-joint";
    let (Some(acc), Some(mae)) = (r.accuracy(config), r.mae(config)) else {
        return vec![Finding::missing("")];
    };
    let seeds = r
        .get(config)
        .map(|s| s.seeds.as_slice())
        .unwrap_or_default();
    let per_seed: Vec<String> = seeds
        .iter()
        .filter_map(|s| Some(format!("{:.1}% / {:.1}", s.accuracy?, s.mae?)))
        .collect();
    let passing = seeds
        .iter()
        .filter(|s| {
            s.accuracy.unwrap_or(0.0) > ROTATED_ACCURACY_BAR
                && s.mae.unwrap_or(f64::INFINITY) < ROTATED_MAE_BAR
        })
        .count();
    let mut facts = format!(
        "mean over trained seeds: digits {acc:.1}% correct (chance 20%, bar {ROTATED_ACCURACY_BAR}%), rotation {mae:.1} degrees MAE (constant guess 45, bar {ROTATED_MAE_BAR})"
    );
    if !per_seed.is_empty() {
        facts.push_str(&format!(
            "; per seed (accuracy / MAE) {}; {passing} of {} seeds pass both bars",
            per_seed.join(", "),
            seeds.len()
        ));
    }
    vec![Finding::new(
        "",
        held_if(acc > ROTATED_ACCURACY_BAR && mae < ROTATED_MAE_BAR),
        facts,
    )]
}

/// The two data sets of claims 2 and 3: the name on the page and the one in config names.
const SETS: [(&str, &str); 2] = [("MNIST", "mnist"), ("CIFAR-10", "cifar10")];

fn output_dimension(r: &Results) -> Vec<Finding> {
    let mut findings = Vec::new();
    for (set, key) in SETS {
        let (Some(low), Some(high), Some(hot)) = (
            r.accuracy(&format!("claim2-{key}-d3-uniform")),
            r.accuracy(&format!("claim2-{key}-d10-uniform")),
            r.accuracy(&format!("claim2-{key}-d10-one-hot")),
        ) else {
            findings.push(Finding::missing(set));
            continue;
        };
        let best = high.max(hot).max(low);
        if best < TEN_CLASS_BAR {
            findings.push(near_chance(set, best));
            continue;
        }
        findings.push(Finding::new(
            set,
            held_if(low >= hot - 5.0),
            format!(
                "HPN with D = 3 < K = 10 reaches {low:.1}% against {high:.1}% at D = 10 and {hot:.1}% for one-hot prototypes (which need D >= K; bar: within 5 points)"
            ),
        ));
        let pairs: Vec<(f64, f64)> = [3, 5, 10]
            .iter()
            .filter_map(|d| {
                let u = r.accuracy(&format!("claim2-{key}-d{d}-uniform"))?;
                let w = r.accuracy(&format!("claim2-{key}-d{d}-word-vectors"))?;
                Some((u, w))
            })
            .collect();
        if !pairs.is_empty() {
            let below = pairs.iter().filter(|(u, w)| w < u).count();
            findings.push(Finding::new(
                format!("{set}, word vectors"),
                held_if(2 * below > pairs.len()),
                format!(
                    "word-vector prototypes are below uniform ones at {below} of {} output sizes",
                    pairs.len()
                ),
            ));
        }
    }
    findings
}

fn privileged(r: &Results) -> Vec<Finding> {
    let mut findings = Vec::new();
    for (set, key) in SETS {
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
        findings.push(if total == 0 {
            Finding::missing(set)
        } else if best < TEN_CLASS_BAR {
            near_chance(set, best)
        } else {
            Finding::new(
                set,
                held_if(better * 2 > total),
                format!(
                    "privileged prototypes beat uniform ones at {better} of {total} small output sizes"
                ),
            )
        });
    }
    findings
}

fn scarce_data(r: &Results) -> Vec<Finding> {
    [
        ("2..100 per class", "claim4-mnist-imbalance"),
        ("10 per class", "claim4-mnist-few"),
    ]
    .into_iter()
    .map(|(scope, prefix)| {
        let (h, s) = (format!("{prefix}-hpn"), format!("{prefix}-softmax"));
        let (Some(a), Some(b)) = (r.accuracy_stats(&h), r.accuracy_stats(&s)) else {
            return Finding::missing(scope);
        };
        // A gap inside one standard deviation of either method is a tie.
        let spread = a.std.max(b.std);
        let outcome = if (a.mean - b.mean).abs() <= spread {
            Outcome::Tie
        } else {
            held_if(a.mean > b.mean)
        };
        Finding::new(
            scope,
            outcome,
            format!(
                "HPN {:.1}% vs softmax {:.1}% (a gap within {spread:.1}, one standard deviation, is a tie)",
                a.mean, b.mean
            ),
        )
    })
    .collect()
}

fn regression(r: &Results) -> Vec<Finding> {
    let get = |c: &str| r.mae(c);
    let (Some(h1a), Some(h1b), Some(h2a), Some(h2b), Some(ma), Some(mb)) = (
        get("claim5-rotation-s1-lr1e-2-hpn"),
        get("claim5-rotation-s1-lr1e-3-hpn"),
        get("claim5-rotation-s2-lr1e-2-hpn"),
        get("claim5-rotation-s2-lr1e-3-hpn"),
        get("claim5-rotation-lr1e-2-mse"),
        get("claim5-rotation-lr1e-3-mse"),
    ) else {
        return vec![Finding::missing("")];
    };
    let (hpn_a, hpn_b) = (h1a.min(h2a), h1b.min(h2b));
    vec![Finding::new(
        "",
        held_if(hpn_a < ma && hpn_b < mb),
        format!(
            "HPN MAE {hpn_a:.1} / {hpn_b:.1} degrees (lr 1e-2 / 1e-3, best of S^1 and S^2) against MSE {ma:.1} / {mb:.1}; the HPN spread between learning rates is {:.1} degrees, MSE's {:.1}",
            (hpn_a - hpn_b).abs(),
            (ma - mb).abs()
        ),
    )]
}

fn joint_vs_multitask(r: &Results) -> Vec<Finding> {
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
        return vec![Finding::missing("")];
    }
    vec![Finding::new(
        "",
        held_if(wins_mae == total && wins_acc * 2 >= total),
        format!(
            "joint HPN has the lower MAE at {wins_mae} of {total} task weights and the higher accuracy at {wins_acc} of {total}"
        ),
    )]
}

#[cfg(test)]
mod tests {
    use hpn_train::{MeanStd, SeedSummary, Summary};

    use super::*;

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

    fn results(rows: &[(&str, Summary)]) -> Results {
        Results {
            summaries: rows
                .iter()
                .map(|(c, s)| (c.to_string(), Some(s.clone())))
                .collect(),
        }
    }

    fn privileged_results(uniform: [f64; 3], privileged: [f64; 3]) -> Results {
        results(&[
            ("claim2-mnist-d2-uniform", summary(uniform[0])),
            ("claim2-mnist-d3-uniform", summary(uniform[1])),
            ("claim2-mnist-d5-uniform", summary(uniform[2])),
            ("claim3-mnist-d2-privileged", summary(privileged[0])),
            ("claim3-mnist-d3-privileged", summary(privileged[1])),
            ("claim3-mnist-d5-privileged", summary(privileged[2])),
        ])
    }

    #[test]
    fn privileged_counts_wins_and_refuses_near_chance() {
        let held =
            Rule::Privileged.apply(&privileged_results([30.0, 40.0, 50.0], [35.0, 45.0, 48.0]));
        assert_eq!(held[0].scope, "MNIST");
        assert_eq!(held[0].outcome, Outcome::Held);
        assert!(held[0].facts.contains("2 of 3"), "{:?}", held[0]);
        assert_eq!(held[1], Finding::missing("CIFAR-10"));
        let not =
            Rule::Privileged.apply(&privileged_results([30.0, 40.0, 50.0], [25.0, 45.0, 48.0]));
        assert_eq!(not[0].outcome, Outcome::NotHeld);
        assert!(not[0].facts.contains("1 of 3"), "{:?}", not[0]);
        let chance =
            Rule::Privileged.apply(&privileged_results([11.0, 12.0, 15.0], [14.0, 16.0, 19.0]));
        assert_eq!(chance[0].outcome, Outcome::NotDecided);
        assert!(chance[0].facts.contains("19.0%"), "{:?}", chance[0]);
    }

    fn seed(seed: u64, accuracy: f64, mae: f64) -> SeedSummary {
        SeedSummary {
            seed,
            accuracy: Some(accuracy),
            mae: Some(mae),
            images_per_second: 1.0,
            seconds: 1.0,
            auroc: None,
            old_accuracy: None,
            new_accuracy: None,
            collapsed: Vec::new(),
        }
    }

    #[test]
    fn rotated_joint_needs_both_bars_and_reports_each_seed() {
        let mut s = summary(66.9);
        s.mae = Some(MeanStd {
            mean: 16.7,
            std: 7.6,
            n: 3,
        });
        s.seeds = vec![
            seed(1, 90.5, 10.7),
            seed(2, 28.9, 25.2),
            seed(3, 81.3, 14.1),
        ];
        let f = Rule::RotatedJoint.apply(&results(&[("claim1-rotated-mnist-joint", s.clone())]));
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].outcome, Outcome::NotHeld);
        assert!(
            f[0].facts
                .contains("90.5% / 10.7, 28.9% / 25.2, 81.3% / 14.1"),
            "{:?}",
            f[0]
        );
        assert!(
            f[0].facts.contains("1 of 3 seeds pass both bars"),
            "{:?}",
            f[0]
        );
        // Just above the accuracy bar and just below the MAE bar: held.
        s.accuracy = Some(MeanStd {
            mean: 90.1,
            std: 0.0,
            n: 3,
        });
        s.mae = Some(MeanStd {
            mean: 22.4,
            std: 0.0,
            n: 3,
        });
        let f = Rule::RotatedJoint.apply(&results(&[("claim1-rotated-mnist-joint", s)]));
        assert_eq!(f[0].outcome, Outcome::Held);
        assert_eq!(
            Rule::RotatedJoint.apply(&Results::default()),
            vec![Finding::missing("")]
        );
    }

    #[test]
    fn scarce_data_calls_a_gap_inside_the_spread_a_tie() {
        let with_std = |mean, std| {
            let mut s = summary(mean);
            s.accuracy = Some(MeanStd { mean, std, n: 3 });
            s
        };
        let f = Rule::ScarceData.apply(&results(&[
            ("claim4-mnist-imbalance-hpn", with_std(83.7, 0.6)),
            ("claim4-mnist-imbalance-softmax", with_std(83.2, 0.9)),
            ("claim4-mnist-few-hpn", with_std(80.0, 0.5)),
            ("claim4-mnist-few-softmax", with_std(75.0, 1.0)),
        ]));
        assert_eq!(
            (f[0].scope.as_str(), f[0].outcome),
            ("2..100 per class", Outcome::Tie)
        );
        assert_eq!(
            (f[1].scope.as_str(), f[1].outcome),
            ("10 per class", Outcome::Held)
        );
        assert!(
            f[1].facts.starts_with("HPN 80.0% vs softmax 75.0%"),
            "{:?}",
            f[1]
        );
    }

    #[test]
    fn output_dimension_compares_low_d_with_one_hot_within_five_points() {
        let f = Rule::OutputDimension.apply(&results(&[
            ("claim2-mnist-d3-uniform", summary(91.0)),
            ("claim2-mnist-d10-uniform", summary(97.0)),
            ("claim2-mnist-d10-one-hot", summary(96.0)),
            ("claim2-cifar10-d3-uniform", summary(12.0)),
            ("claim2-cifar10-d10-uniform", summary(15.0)),
            ("claim2-cifar10-d10-one-hot", summary(14.0)),
        ]));
        assert_eq!(f.len(), 2, "no word-vector runs: no word-vector finding");
        assert_eq!(
            (f[0].scope.as_str(), f[0].outcome),
            ("MNIST", Outcome::Held)
        );
        assert_eq!(
            (f[1].scope.as_str(), f[1].outcome),
            ("CIFAR-10", Outcome::NotDecided)
        );
        let f = Rule::OutputDimension.apply(&results(&[
            ("claim2-mnist-d3-uniform", summary(90.9)),
            ("claim2-mnist-d10-uniform", summary(97.0)),
            ("claim2-mnist-d10-one-hot", summary(96.0)),
            ("claim2-mnist-d3-word-vectors", summary(80.0)),
            ("claim2-mnist-d10-word-vectors", summary(98.0)),
        ]));
        assert_eq!(f[0].outcome, Outcome::NotHeld, "5.1 points below one-hot");
        assert_eq!(f[1].scope, "MNIST, word vectors");
        assert_eq!(
            f[1].outcome,
            Outcome::NotHeld,
            "below at 1 of 2 sizes: not most"
        );
    }

    #[test]
    fn regression_and_joint_need_every_setting() {
        let mae = |m: f64| {
            let mut s = summary(50.0);
            s.mae = Some(MeanStd {
                mean: m,
                std: 0.0,
                n: 3,
            });
            s
        };
        let all = [
            ("claim5-rotation-s1-lr1e-2-hpn", mae(20.0)),
            ("claim5-rotation-s2-lr1e-2-hpn", mae(18.0)),
            ("claim5-rotation-lr1e-2-mse", mae(30.0)),
            ("claim5-rotation-s1-lr1e-3-hpn", mae(21.0)),
            ("claim5-rotation-s2-lr1e-3-hpn", mae(25.0)),
            ("claim5-rotation-lr1e-3-mse", mae(20.5)),
        ];
        let f = Rule::Regression.apply(&results(&all));
        assert_eq!(
            f[0].outcome,
            Outcome::NotHeld,
            "21.0 is not below MSE's 20.5"
        );
        assert!(f[0].facts.starts_with("HPN MAE 18.0 / 21.0"), "{:?}", f[0]);
        assert_eq!(
            Rule::Regression.apply(&results(&all[..5]))[0],
            Finding::missing("")
        );
        // Lower MAE at the one weight, equal accuracy: the accuracy half is not met.
        let joint = Rule::JointVsMultitask.apply(&results(&[
            ("claim6-joint-w0.5-hpn", mae(10.0)),
            ("claim6-joint-w0.5-multitask", mae(12.0)),
        ]));
        assert_eq!(joint[0].outcome, Outcome::NotHeld);
        let mut better = mae(10.0);
        better.accuracy = Some(MeanStd {
            mean: 51.0,
            std: 0.0,
            n: 3,
        });
        let joint = Rule::JointVsMultitask.apply(&results(&[
            ("claim6-joint-w0.5-hpn", better),
            ("claim6-joint-w0.5-multitask", mae(12.0)),
        ]));
        assert_eq!(joint[0].outcome, Outcome::Held);
        assert!(
            joint[0].facts.contains("at 1 of 1 task weights"),
            "{:?}",
            joint[0]
        );
    }
}
