//! `cargo xtask reproduce --quick` in miniature: every claim whose data is on this machine runs
//! at smoke size, the page has a table and a verdict per claim, and missing data is skipped
//! with a note instead of failing.

use std::path::Path;

use hpn_reproduce::{Manifest, Record, ReproduceOptions, publish, render, reproduce};
use hpn_train::{BackendKind, ExperimentConfig, select_device};

/// `reproduce --quick` of the repository's claims into `out`, trained claims limited to `only`
/// (all when empty), quietly, with no published records. The experiment files' paths are
/// taken from their folder: no current directory needed.
fn quick_options(out: &Path, only: &[&str]) -> ReproduceOptions {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    ReproduceOptions {
        configs: root.join("configs/reproduce"),
        quick: true,
        out: out.to_path_buf(),
        only: only.iter().map(|id| id.to_string()).collect(),
        quiet: true,
        report_only: false,
        published: None,
    }
}

#[test]
fn quick_reproduction_runs_every_claim_with_local_data() {
    let tmp = tempfile::tempdir().unwrap();
    let options = quick_options(tmp.path(), &[]);
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
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
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
    let tmp = tempfile::tempdir().unwrap();
    let err = reproduce(&quick_options(tmp.path(), &["claim7"]))
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
    let (first, second, pages) = (
        tempfile::tempdir().unwrap(),
        tempfile::tempdir().unwrap(),
        tempfile::tempdir().unwrap(),
    );
    let options = quick_options(first.path(), &["claim4"]);
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

/// A stand-in for `reference/hpn_torch.py`, run by `sh`: it checks that hpn's run directory
/// is there, logs the seed it was asked for and writes a result of 80 + seed + 0.5 %.
fn fake_reference(dir: &Path) -> (hpn_reproduce::reference::Reference, std::path::PathBuf) {
    let log = dir.join("trained.log");
    let script = dir.join("fake_reference.sh");
    std::fs::write(
        &script,
        format!(
            r#"while [ $# -gt 0 ]; do
  case "$1" in --seed) seed=$2; shift 2;; --out) out=$2; shift 2;; --run) run=$2; shift 2;; *) shift;; esac
done
test -f "$run/head.json" && test -f "$run/config.toml" || exit 3
mkdir -p "$out"
echo "$(basename "$run") $seed" >> '{}'
printf '{{"accuracy": 8%s.5, "mae": null, "largest_class_fraction": 0.2, "seconds": 2.0}}' "$seed" > "$out/result.json"
"#,
            log.display()
        ),
    )
    .unwrap();
    let reference = hpn_reproduce::reference::Reference {
        python: "sh".into(),
        script,
        threads: 1,
        report_only: false,
    };
    (reference, log)
}

fn lines(log: &Path) -> Vec<String> {
    std::fs::read_to_string(log)
        .unwrap_or_default()
        .lines()
        .map(String::from)
        .collect()
}

#[test]
fn the_reference_trains_only_the_seeds_that_no_record_or_run_directory_has() {
    use hpn_reproduce::reference::attach;
    let (first, second, third, pages, scripts) = (
        tempfile::tempdir().unwrap(),
        tempfile::tempdir().unwrap(),
        tempfile::tempdir().unwrap(),
        tempfile::tempdir().unwrap(),
        tempfile::tempdir().unwrap(),
    );
    let (reference, log) = fake_reference(scripts.path());
    let options = quick_options(first.path(), &["claim4"]);
    let mut trained = reproduce(&options).unwrap();
    attach(&reference, &mut trained, first.path()).unwrap();
    // claim 4's key settings, one seed each at smoke size.
    let keys = ["claim4-mnist-few-hpn", "claim4-mnist-few-softmax"];
    assert_eq!(
        lines(&log),
        keys.iter().map(|k| format!("{k} 1")).collect::<Vec<_>>()
    );
    let rows = &trained.claims[3].reference;
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[0].reference.accuracy.unwrap().mean, 81.5);
    assert_eq!(rows[0].reference.per_seed[0].seed, 1);
    let device = select_device(BackendKind::Flex).unwrap();
    publish(&trained, first.path(), pages.path(), &device).unwrap();
    let records = pages.path().join("runs");
    let record = Record::load(&records, keys[0]).unwrap().unwrap();
    assert_eq!(record.reference.as_ref(), Some(&rows[0].reference));

    // With the records and an empty output folder, hpn and the reference both stand: nothing
    // runs.
    let again = ReproduceOptions {
        out: second.path().to_path_buf(),
        published: Some(records.clone()),
        ..options.clone()
    };
    let mut from_records = reproduce(&again).unwrap();
    attach(&reference, &mut from_records, second.path()).unwrap();
    assert_eq!(lines(&log).len(), 2);
    assert_eq!(render(&from_records), render(&trained));

    // A record whose reference lacks the seed: hpn's run directory is written without
    // training and the reference trains that seed alone.
    let mut lacking = record.clone();
    lacking.reference.as_mut().unwrap().per_seed.clear();
    lacking.reference.as_mut().unwrap().seeds = 0;
    lacking.write(&records).unwrap();
    let mut partial = reproduce(&ReproduceOptions {
        out: third.path().to_path_buf(),
        ..again.clone()
    })
    .unwrap();
    attach(&reference, &mut partial, third.path()).unwrap();
    assert_eq!(lines(&log)[2..], [format!("{} 1", keys[0])]);
    let run_dir = third.path().join(keys[0]);
    assert!(run_dir.join("reference/data/train_images.npy").exists());
    assert!(
        !run_dir.join("seed-1").exists(),
        "hpn trained a seed it had"
    );
    assert!(!third.path().join(keys[1]).exists());
    assert_eq!(render(&partial), render(&trained));
}
