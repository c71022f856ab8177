//! The results page, rendered in one place: a summary of every claim, then per claim its
//! table (the paper's figure beside ours), its verdict and the reference's comparison.

use hpn_train::MeanStd;

use crate::reference::{Comparison, Fidelity};
use crate::run::{ClaimOutcome, Reproduction};
use crate::verdict::{Outcome, Verdict};

fn cell(m: Option<MeanStd>) -> String {
    m.map(|m| m.to_string()).unwrap_or_else(|| "-".into())
}

fn quick_flag(quick: bool) -> &'static str {
    if quick { " --quick" } else { "" }
}

/// The verdict as the page writes it: the claim's outcome in bold, then one line per finding
/// ("scope — outcome: facts.") and the collapsed seeds left out.
pub fn verdict_markdown(verdict: &Verdict) -> String {
    let mut s = format!("**Verdict: {}.**", verdict.outcome().label());
    match verdict.findings.as_slice() {
        [only] if only.scope.is_empty() => {
            s.push_str(&format!(" {}.\n", capitalised(&only.facts)));
        }
        findings => {
            s.push_str("\n\n");
            for f in findings {
                let scope = if f.scope.is_empty() {
                    String::new()
                } else {
                    format!("{} — ", f.scope)
                };
                s.push_str(&format!("- {scope}{}: {}.\n", f.outcome.label(), f.facts));
            }
        }
    }
    if verdict.collapsed_left_out > 0 {
        s.push_str(&format!(
            "\n{} collapsed seed(s) left out of the means; see the table.\n",
            verdict.collapsed_left_out
        ));
    }
    s
}

fn capitalised(text: &str) -> String {
    let mut chars = text.chars();
    chars
        .next()
        .map(|c| c.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}

/// One fidelity cell: "agrees (gap g <= b)", "**differs** (gap g > b)" or "not decided".
pub fn fidelity_markdown(f: Option<Fidelity>) -> String {
    match f {
        None => "-".into(),
        Some(Fidelity::Agrees { gap, bound }) => format!("agrees (gap {gap:.2} <= {bound:.2})"),
        Some(Fidelity::Differs { gap, bound }) => {
            format!("**differs** (gap {gap:.2} > {bound:.2})")
        }
        Some(Fidelity::NotDecided) => "not decided (fewer than 2 trained seeds on a side)".into(),
    }
}

fn reference_markdown(rows: &[Comparison]) -> String {
    let mut s = String::from(
        "Reference (`reference/hpn_torch.py`, PyTorch, the same images and prototypes, its own random streams):\n\n\
         | setting | hpn accuracy | reference accuracy | fidelity | hpn MAE | reference MAE | fidelity | reference seeds |\n\
         |---|---|---|---|---|---|---|---|\n",
    );
    for c in rows {
        let collapsed = if c.reference.collapsed > 0 {
            format!(" (**{} collapsed**)", c.reference.collapsed)
        } else {
            String::new()
        };
        s.push_str(&format!(
            "| {} | {} | {} | {} | {} | {} | {} | {}{} |\n",
            c.config,
            cell(c.hpn.accuracy),
            cell(c.reference.accuracy),
            fidelity_markdown(c.accuracy_fidelity()),
            cell(c.hpn.mae),
            cell(c.reference.mae),
            fidelity_markdown(c.mae_fidelity()),
            c.reference.seeds,
            collapsed
        ));
    }
    let seconds: f64 = rows.iter().map(|c| c.reference.seconds).sum();
    s.push_str(&format!(
        "\nThe reference trained for {:.0} minutes (not counted in the claim's time above).\n\n",
        seconds / 60.0
    ));
    s
}

fn claim_markdown(c: &ClaimOutcome, quick: bool) -> String {
    let (claim, results) = (&c.claim, &c.results);
    let mut s = format!("## {}\n\n{}\n\n", claim.title, claim.statement);
    let seconds: f64 = claim
        .rows
        .iter()
        .filter_map(|r| results.get(&r.config))
        .flat_map(|x| x.seeds.iter().map(|seed| seed.seconds))
        .sum();
    s.push_str(&format!(
        "Command: `cargo xtask reproduce{} --only {}` ({:.0} minutes of training on this machine, all runs and seeds).\n\n",
        quick_flag(quick),
        claim.id,
        seconds / 60.0
    ));
    if !c.scale.is_empty() {
        s.push_str(&format!("Scale: {}.\n\n", c.scale));
    }
    s.push_str("| setting | paper | accuracy | MAE | seeds | epochs x train images |\n|---|---|---|---|---|---|\n");
    for r in &claim.rows {
        let summary = results.get(&r.config);
        let seeds = summary
            .map(|x| match x.collapsed_seeds {
                0 => x.seeds.len().to_string(),
                k => format!("{} (**{k} collapsed**)", x.seeds.len()),
            })
            .unwrap_or_else(|| "-".into());
        let label = if summary.is_some() {
            format!("[{}](runs/{}.md)", r.label, r.config)
        } else {
            r.label.clone()
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
    s.push_str(&format!("\n{}\n", verdict_markdown(&c.verdict)));
    if !c.reference.is_empty() {
        s.push_str(&reference_markdown(&c.reference));
    }
    if crate::plot::has_figure(c) {
        s.push_str(&format!(
            "![{}: every seed's result (dots; crosses: collapsed), the mean of the trained seeds (lines) and the reference's mean (triangles)]({}.svg)\n\n",
            claim.id, claim.id
        ));
    }
    if claim.rule == crate::rules::Rule::RotatedJoint
        && results.summaries.iter().any(|r| r.1.is_some())
    {
        s.push_str("![test outputs on S^2: left the class plane coloured by digit, right the class angle against the cosine to the pole, coloured by rotation from blue (0 degrees) to red (180)](claim1-sphere.svg)\n\n");
    }
    s
}

/// The results page of a reproduction.
pub fn render(reproduction: &Reproduction) -> String {
    let quick = reproduction.quick;
    let mut s = String::from("# Reproducing the paper's claims on a 2-core CPU\n\n");
    s.push_str(
        "Each claim of Mettes et al. (NeurIPS 2019) is tested at a scale that fits a 2-core CPU \
         (the paper trains for 250 epochs on a GPU). The paper's figures come from its own, much \
         larger setting and are shown for direction, not for equality. Accuracy in %, MAE in \
         degrees of rotation; mean ± standard deviation over the seeds that trained. A seed \
         that did not train (90 % or more of the test images in one class, accuracy below 1.5 \
         times chance, or an MAE within 5 % of a constant guess) is marked collapsed, left out \
         of the means; a part of a claim that needs a setting with half of its seeds or more \
         collapsed is not decided. Why the MNIST claims use ConvNet-BN rather than the \
         paper's plain ConvNet, with the collapse rates of both: [collapse.md](collapse.md).\n\n",
    );
    s.push_str(&format!(
        "Made with `cargo xtask reproduce{}`{}; claims and experiments in `configs/reproduce/claims.toml`; each setting's record (its experiment file, every seed's result, the reference's figures) in `runs/<setting>.json`, from which `--report-only` rebuilds this page and a longer reproduction trains only the seeds that are new. A record's seeds may therefore come from different versions of hpn: a change that leaves the experiment file as it was (a faster kernel, say) does not retrain them, `--retrain` does.\n\n",
        quick_flag(quick),
        if quick {
            " (smoke size: one seed, one epoch, 20 images per class; the numbers mean nothing)"
        } else {
            ""
        }
    ));
    s.push_str("| claim | verdict | parts held / not held / tie / not decided | collapsed seeds |\n|---|---|---|---|\n");
    for c in &reproduction.claims {
        let v = &c.verdict;
        s.push_str(&format!(
            "| {} | {} | {} / {} / {} / {} | {} |\n",
            c.claim.title,
            v.outcome().label(),
            v.count(Outcome::Held),
            v.count(Outcome::NotHeld),
            v.count(Outcome::Tie),
            v.count(Outcome::NotDecided),
            v.collapsed_left_out
        ));
    }
    s.push('\n');
    for c in &reproduction.claims {
        s.push_str(&claim_markdown(c, quick));
    }
    if !reproduction.notes.is_empty() {
        s.push_str("## Missing runs\n\n");
        for n in &reproduction.notes {
            s.push_str(&format!("- {n}\n"));
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::verdict::Finding;

    #[test]
    fn a_one_part_verdict_is_one_sentence_and_a_several_part_verdict_a_list() {
        let one = Verdict {
            findings: vec![Finding::new("", Outcome::NotHeld, "digits 66.9% correct")],
            collapsed_left_out: 0,
        };
        assert_eq!(
            verdict_markdown(&one),
            "**Verdict: did not hold.** Digits 66.9% correct.\n"
        );
        let two = Verdict {
            findings: vec![
                Finding::new("MNIST", Outcome::Held, "a"),
                Finding::new("CIFAR-10", Outcome::NotDecided, "b"),
            ],
            collapsed_left_out: 2,
        };
        assert_eq!(
            verdict_markdown(&two),
            "**Verdict: not decided.**\n\n- MNIST — held: a.\n- CIFAR-10 — not decided: b.\n\n2 collapsed seed(s) left out of the means; see the table.\n"
        );
    }

    #[test]
    fn fidelity_cells_say_agrees_differs_or_not_decided() {
        assert_eq!(
            fidelity_markdown(Some(Fidelity::Agrees {
                gap: 0.5,
                bound: 1.5
            })),
            "agrees (gap 0.50 <= 1.50)"
        );
        assert_eq!(
            fidelity_markdown(Some(Fidelity::Differs {
                gap: 2.0,
                bound: 1.5
            })),
            "**differs** (gap 2.00 > 1.50)"
        );
        assert_eq!(fidelity_markdown(None), "-");
    }
}
