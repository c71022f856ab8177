//! Verdicts as a type: what each part of a claim came to (held, did not hold, a tie, not
//! decided) with the facts behind it, and the collapse gate that keeps untrained runs out.

use crate::manifest::Claim;
use crate::results::Results;

/// How a claim, or one part of it, came out on the runs at hand.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// The runs show what the paper claims.
    Held,
    /// The runs show the opposite, or not enough of what the paper claims.
    NotHeld,
    /// The methods compared are within the spread of the seeds.
    Tie,
    /// The runs say nothing either way: missing, near chance, or collapsed.
    NotDecided,
}

impl Outcome {
    /// How the results page writes it.
    pub fn label(self) -> &'static str {
        match self {
            Outcome::Held => "held",
            Outcome::NotHeld => "did not hold",
            Outcome::Tie => "a tie",
            Outcome::NotDecided => "not decided",
        }
    }
}

/// One part of a verdict: a scope (a dataset, a data regime; empty for the whole claim), its
/// outcome, and the figures that decided it.
#[derive(Clone, Debug, PartialEq)]
pub struct Finding {
    /// What the finding is about, e.g. `MNIST` or `10 per class`; empty: the whole claim.
    pub scope: String,
    /// How it came out.
    pub outcome: Outcome,
    /// The figures behind the outcome, as one sentence without its final stop.
    pub facts: String,
}

impl Finding {
    /// A finding about `scope`.
    pub fn new(scope: impl Into<String>, outcome: Outcome, facts: impl Into<String>) -> Self {
        Finding {
            scope: scope.into(),
            outcome,
            facts: facts.into(),
        }
    }

    /// "Not decided: runs missing" for `scope`.
    pub fn missing(scope: impl Into<String>) -> Self {
        Finding::new(
            scope,
            Outcome::NotDecided,
            "some of its runs are missing or collapsed (see the table)",
        )
    }
}

/// The verdict on a claim: its findings and how many collapsed seeds were left out of the means.
#[derive(Clone, Debug, PartialEq)]
pub struct Verdict {
    /// One finding per part of the claim.
    pub findings: Vec<Finding>,
    /// Collapsed seeds over the claim's rows, left out of the means the findings use.
    pub collapsed_left_out: usize,
}

impl Verdict {
    /// How many findings came out as `outcome`.
    pub fn count(&self, outcome: Outcome) -> usize {
        self.findings
            .iter()
            .filter(|f| f.outcome == outcome)
            .count()
    }

    /// The outcome of the whole claim: the common outcome of its findings, else not decided
    /// when any part is, else a tie when any part is, else did not hold (some part failed).
    pub fn outcome(&self) -> Outcome {
        let first = self.findings.first().map(|f| f.outcome);
        match first {
            None => Outcome::NotDecided,
            Some(o) if self.findings.iter().all(|f| f.outcome == o) => o,
            _ if self.count(Outcome::NotDecided) > 0 => Outcome::NotDecided,
            _ if self.count(Outcome::NotHeld) > 0 => Outcome::NotHeld,
            _ => Outcome::Tie,
        }
    }
}

/// The rows of a claim with at least half of their seeds collapsed: each row's config and
/// "label: k of n seeds collapsed"; no finding can rest on them.
fn undecided_rows(claim: &Claim, results: &Results) -> Vec<(String, String)> {
    claim
        .rows
        .iter()
        .filter_map(|r| {
            let summary = results.get(&r.config)?;
            let n = summary.seeds.len();
            (summary.collapsed_seeds > 0 && 2 * summary.collapsed_seeds >= n).then(|| {
                (
                    r.config.clone(),
                    format!(
                        "{}: {} of {n} seeds collapsed",
                        r.label, summary.collapsed_seeds
                    ),
                )
            })
        })
        .collect()
}

/// The verdict on a claim: its rule applied to the trained seeds, with the left-out seeds
/// counted. A row with at least half of its seeds collapsed counts as missing (the parts of
/// the claim that need it are not decided, the others are) and adds a not-decided finding
/// that names it.
pub fn judge(claim: &Claim, results: &Results) -> Verdict {
    let left_out: usize = claim
        .rows
        .iter()
        .filter_map(|r| results.get(&r.config))
        .map(|s| s.collapsed_seeds)
        .sum();
    let undecided = undecided_rows(claim, results);
    let mut findings = Vec::new();
    if !undecided.is_empty() {
        findings.push(Finding::new(
            "",
            Outcome::NotDecided,
            format!(
                "{} (did not train), so these runs are no evidence either way",
                undecided
                    .iter()
                    .map(|(_, text)| text.as_str())
                    .collect::<Vec<_>>()
                    .join("; ")
            ),
        ));
    }
    let usable = Results {
        summaries: results
            .summaries
            .iter()
            .map(|(config, summary)| {
                let dropped = undecided.iter().any(|(c, _)| c == config);
                (config.clone(), summary.clone().filter(|_| !dropped))
            })
            .collect(),
    };
    findings.extend(claim.rule.apply(&usable));
    Verdict {
        findings,
        collapsed_left_out: left_out,
    }
}

#[cfg(test)]
mod tests {
    use hpn_train::{MeanStd, Summary};

    use super::*;
    use crate::manifest::Row;
    use crate::rules::Rule;

    fn trained(mean: f64, seeds: usize, collapsed: usize) -> Option<Summary> {
        let seed = |s| hpn_train::SeedSummary {
            seed: s,
            accuracy: Some(mean),
            mae: None,
            images_per_second: 1.0,
            seconds: 1.0,
            auroc: None,
            old_accuracy: None,
            new_accuracy: None,
            collapsed: Vec::new(),
        };
        Some(Summary {
            name: String::new(),
            description: String::new(),
            backend: "flex".into(),
            scale: "1 x 10".into(),
            seeds: (1..=seeds as u64).map(seed).collect(),
            accuracy: Some(MeanStd {
                mean,
                std: 0.0,
                n: seeds - collapsed,
            }),
            mae: None,
            images_per_second: None,
            auroc: None,
            old_accuracy: None,
            new_accuracy: None,
            collapsed_seeds: collapsed,
        })
    }

    fn row(config: &str, label: &str) -> Row {
        Row {
            config: config.into(),
            label: label.into(),
            paper: "-".into(),
            series: None,
            x: None,
        }
    }

    fn claim() -> Claim {
        Claim {
            id: "claim4".into(),
            title: String::new(),
            statement: String::new(),
            rule: Rule::ScarceData,
            plot: None,
            reference: Vec::new(),
            rows: vec![
                row("claim4-mnist-few-hpn", "10 per class, HPN"),
                row("claim4-mnist-few-softmax", "10 per class, softmax"),
            ],
        }
    }

    fn results(collapsed: usize) -> Results {
        Results {
            summaries: vec![
                ("claim4-mnist-few-hpn".into(), trained(80.0, 3, collapsed)),
                ("claim4-mnist-few-softmax".into(), trained(70.0, 3, 0)),
            ],
        }
    }

    #[test]
    fn half_the_seeds_of_a_row_collapsed_leaves_the_claim_undecided() {
        let decided = judge(&claim(), &results(0));
        assert_eq!(decided.findings[1].outcome, Outcome::Held);
        assert_eq!(decided.collapsed_left_out, 0);
        // One of three collapsed: decided on the trained seeds, the left-out seed counted.
        let partly = judge(&claim(), &results(1));
        assert_eq!(partly.findings, decided.findings);
        assert_eq!(partly.collapsed_left_out, 1);
        // Two of three: the row counts as missing, whatever its trained seed shows.
        let undecided = judge(&claim(), &results(2));
        assert_eq!(undecided.outcome(), Outcome::NotDecided);
        assert_eq!(
            undecided.findings[0],
            Finding::new(
                "",
                Outcome::NotDecided,
                "10 per class, HPN: 2 of 3 seeds collapsed (did not train), so these runs are no evidence either way"
            )
        );
        assert_eq!(undecided.count(Outcome::Held), 0);
        assert_eq!(undecided.count(Outcome::NotHeld), 0);
        assert_eq!(undecided.collapsed_left_out, 2);
    }

    #[test]
    fn a_collapsed_row_leaves_only_the_parts_that_need_it_undecided() {
        let mut claim = claim();
        claim
            .rows
            .push(row("claim4-mnist-imbalance-hpn", "2..100, HPN"));
        claim
            .rows
            .push(row("claim4-mnist-imbalance-softmax", "2..100, softmax"));
        let mut results = results(2);
        results
            .summaries
            .push(("claim4-mnist-imbalance-hpn".into(), trained(85.0, 3, 0)));
        results
            .summaries
            .push(("claim4-mnist-imbalance-softmax".into(), trained(80.0, 3, 0)));
        let v = judge(&claim, &results);
        let scopes: Vec<(&str, Outcome)> = v
            .findings
            .iter()
            .map(|f| (f.scope.as_str(), f.outcome))
            .collect();
        assert_eq!(
            scopes,
            vec![
                ("", Outcome::NotDecided),
                ("2..100 per class", Outcome::Held),
                ("10 per class", Outcome::NotDecided),
            ]
        );
        assert_eq!(v.outcome(), Outcome::NotDecided);
    }

    #[test]
    fn the_claim_outcome_follows_its_findings() {
        let v = |outcomes: &[Outcome]| Verdict {
            findings: outcomes
                .iter()
                .map(|&o| Finding::new("x", o, "f"))
                .collect(),
            collapsed_left_out: 0,
        };
        use Outcome::*;
        assert_eq!(v(&[Held, Held]).outcome(), Held);
        assert_eq!(v(&[Held, NotHeld]).outcome(), NotHeld);
        assert_eq!(v(&[Held, Tie]).outcome(), Tie);
        assert_eq!(v(&[Held, NotDecided, NotHeld]).outcome(), NotDecided);
        assert_eq!(v(&[]).outcome(), NotDecided);
        assert_eq!(v(&[Held, NotDecided, Held]).count(Held), 2);
    }
}
