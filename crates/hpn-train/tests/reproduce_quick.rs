//! `cargo xtask reproduce --quick` in miniature: every claim whose data is on this machine runs
//! at smoke size, the page has a table and a verdict per claim, and missing data is skipped
//! with a note instead of failing.

use std::path::Path;

use hpn_train::reproduce::{ReproduceOptions, reproduce};

#[test]
fn quick_reproduction_runs_every_claim_with_local_data() {
    // The experiment files' paths are taken from their folder: no current directory needed.
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let tmp = tempfile::tempdir().unwrap();
    let options = ReproduceOptions {
        configs: root.join("configs/reproduce"),
        quick: true,
        out: tmp.path().to_path_buf(),
        only: vec![],
        quiet: true,
        report_only: false,
    };
    let result = reproduce(&options).unwrap();
    assert_eq!(result.claims.len(), 6);
    let page = &result.markdown;
    for claim in hpn_train::reproduce::claims() {
        assert!(page.contains(claim.title), "missing {}", claim.title);
    }
    assert_eq!(page.matches("**Verdict.**").count(), 6);
    // The MNIST-based claims ran: their runs have a summary with a finite accuracy and MAE per
    // seed. One epoch at smoke size may leave a seed untrained: then it is counted as
    // collapsed instead of entering the mean.
    let (_, claim1) = &result.claims[0];
    let s = claim1.summaries[0].1.as_ref().expect("claim 1 ran");
    assert!(s.seeds[0].accuracy.unwrap().is_finite());
    assert!(s.seeds[0].mae.unwrap().is_finite());
    assert_eq!(s.accuracy.is_some(), s.collapsed_seeds == 0, "{s:?}");
    assert!(
        tmp.path()
            .join("claim1-rotated-mnist-joint/summary.json")
            .exists()
    );
    // Unless CIFAR-10 was unpacked under data/cifar10, its rows are skipped with a note.
    if !root.join("data/cifar10").exists() {
        assert!(page.contains("skipped: dataset not found"), "{page}");
    }

    // Report only: the finished runs give the same page, and nothing is trained.
    let report = ReproduceOptions {
        report_only: true,
        ..options.clone()
    };
    assert_eq!(reproduce(&report).unwrap().markdown, *page);
    let empty = tempfile::tempdir().unwrap();
    let nothing = reproduce(&ReproduceOptions {
        out: empty.path().to_path_buf(),
        ..report
    })
    .unwrap();
    assert!(
        nothing.markdown.contains("not run yet"),
        "{}",
        nothing.markdown
    );
    assert_eq!(std::fs::read_dir(empty.path()).unwrap().count(), 0);
}
