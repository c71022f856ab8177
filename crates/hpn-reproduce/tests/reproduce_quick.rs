//! `cargo xtask reproduce --quick` in miniature: every claim whose data is on this machine runs
//! at smoke size, the page has a table and a verdict per claim, and missing data is skipped
//! with a note instead of failing.

use std::path::Path;

use hpn_reproduce::{Manifest, Record, ReproduceOptions, publish, render, reproduce};
use hpn_train::{BackendKind, ExperimentConfig, select_device};

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
        published: None,
    };
    let result = reproduce(&options).unwrap();
    assert_eq!(result.claims.len(), 6);
    let page = &render(&result);
    for claim in Manifest::load(&options.configs).unwrap().claims {
        assert!(page.contains(&claim.title), "missing {}", claim.title);
    }
    assert_eq!(page.matches("**Verdict: ").count(), 6);
    // Each claim got a verdict with at least one finding; at smoke size most are not decided.
    for c in &result.claims {
        assert!(!c.verdict.findings.is_empty(), "{}", c.claim.id);
    }
    // CIFAR-10 rows without their data have no summary.
    // A row runs exactly when its data is on disk (data/mnist and data/cifar10 are not
    // committed; the MNIST subset is).
    for claim in &result.claims {
        for (config, summary) in &claim.results.summaries {
            let file = Manifest::experiment_file(&options.configs, config);
            let data = ExperimentConfig::load(&file).unwrap().dataset.path;
            assert_eq!(summary.is_some(), data.exists(), "{config}");
        }
    }
    // The MNIST-based claims ran: their runs have a summary with a finite accuracy and MAE per
    // seed. One epoch at smoke size may leave a seed untrained: then it is counted as
    // collapsed instead of entering the mean.
    let s = result.claims[0].results.summaries[0]
        .1
        .as_ref()
        .expect("claim 1 ran");
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
    assert_eq!(render(&reproduce(&report).unwrap()), *page);
    let empty = tempfile::tempdir().unwrap();
    let nothing = reproduce(&ReproduceOptions {
        out: empty.path().to_path_buf(),
        ..report
    })
    .unwrap();
    let nothing = render(&nothing);
    assert!(nothing.contains("not run yet"), "{nothing}");
    assert_eq!(std::fs::read_dir(empty.path()).unwrap().count(), 0);
}

#[test]
fn an_unknown_claim_id_is_an_error_naming_the_known_ones() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let tmp = tempfile::tempdir().unwrap();
    let err = reproduce(&ReproduceOptions {
        configs: root.join("configs/reproduce"),
        quick: true,
        out: tmp.path().to_path_buf(),
        only: vec!["claim7".into()],
        quiet: true,
        report_only: false,
        published: None,
    })
    .unwrap_err()
    .to_string();
    assert!(
        err.contains("no claim `claim7` (claims: claim1, claim2"),
        "{err}"
    );
    assert_eq!(std::fs::read_dir(tmp.path()).unwrap().count(), 0);
}

#[test]
fn published_records_stand_in_for_training_until_the_experiment_changes() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let (first, second, pages) = (
        tempfile::tempdir().unwrap(),
        tempfile::tempdir().unwrap(),
        tempfile::tempdir().unwrap(),
    );
    let options = ReproduceOptions {
        configs: root.join("configs/reproduce"),
        quick: true,
        out: first.path().to_path_buf(),
        only: vec!["claim4".into()],
        quiet: true,
        report_only: false,
        published: None,
    };
    let trained = reproduce(&options).unwrap();
    // Claims left out of `only` are reported, not trained.
    assert_eq!(trained.claims.len(), 6);
    assert!(!first.path().join("claim1-rotated-mnist-joint").exists());
    let device = select_device(BackendKind::Flex).unwrap();
    publish(&trained, first.path(), pages.path(), &device).unwrap();
    let records = pages.path().join("runs");
    let config = "claim4-mnist-few-hpn";
    let record = Record::load(&records, config).unwrap().expect("published");
    assert_eq!(Some(&record.summary), trained.claims[3].results.get(config));

    // A fresh output folder with the records: the same page, and nothing trained.
    let again = ReproduceOptions {
        out: second.path().to_path_buf(),
        published: Some(records.clone()),
        ..options.clone()
    };
    assert_eq!(render(&reproduce(&again).unwrap()), render(&trained));
    assert!(!second.path().exists() || std::fs::read_dir(second.path()).unwrap().count() == 0);

    // A record of another experiment (other output dimension) stands for nothing: that row
    // is not run yet in a report, and trained again otherwise, its other rows still reused.
    let mut changed = record.clone();
    changed.experiment = changed.experiment.replace("dims = 10", "dims = 9");
    assert_ne!(
        changed.experiment, record.experiment,
        "the file names dims = 10"
    );
    changed.write(&records).unwrap();
    let report = render(
        &reproduce(&ReproduceOptions {
            report_only: true,
            ..again.clone()
        })
        .unwrap(),
    );
    assert!(
        report.contains(&format!("`{config}` not run yet")),
        "{report}"
    );
    reproduce(&again).unwrap();
    let trained_dirs: Vec<String> = std::fs::read_dir(second.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| !n.starts_with('.'))
        .collect();
    assert_eq!(trained_dirs, vec![config.to_string()]);
}
