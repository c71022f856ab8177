//! Class-incremental training end to end on a small share of the committed MNIST subset:
//! digits 0-4 first, then 5-9 from the first phase's weights. The first five prototypes stay
//! bit for bit, the softmax baseline's output layer grows, the second phase reports old, new
//! and all accuracy, resumes after a kill exactly as it would have run, and refuses a first
//! phase that does not match.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use hpn_prototypes::Prototypes;
use hpn_train::{ExperimentConfig, IncrementalReport, RunOptions, SavedHead, TrainError};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// A committed experiment, shrunk: 60 training and 20 test images per digit, 2 epochs, seed 3;
/// the second phase reads its first phase from `out`.
fn shrunk(file: &str, out: &Path) -> ExperimentConfig {
    let mut config =
        ExperimentConfig::load(&root().join("configs/incremental").join(file)).unwrap();
    config.dataset.train_per_class = Some(60);
    config.dataset.test_per_class = Some(20);
    config.training.epochs = 2;
    config.training.batch_size = 32;
    config.training.eval_every = 1;
    config.optimizer.milestones = vec![];
    config.seeds = vec![3];
    if let Some(inc) = &mut config.incremental
        && inc.from.is_some()
    {
        let first = inc.from.as_ref().unwrap().file_name().unwrap().to_owned();
        inc.from = Some(out.join(first));
        inc.replay_per_class = inc.replay_per_class.min(10);
    }
    config
}

fn options(out: &Path) -> RunOptions {
    RunOptions {
        out: Some(out.to_path_buf()),
        quiet: true,
        ..RunOptions::default()
    }
}

fn metrics(run: &Path) -> Vec<String> {
    std::fs::read_to_string(run.join("seed-3/metrics.csv"))
        .unwrap()
        .lines()
        .map(|l| l.split(',').take(5).collect::<Vec<_>>().join(","))
        .collect()
}

#[test]
fn hpn_adds_five_digits_around_fixed_prototypes_and_resumes_after_a_kill() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path();
    let first = shrunk("mnist-first5-hpn.toml", out);
    let summary = hpn_train::run(&first, &options(out)).unwrap();
    let first_dir = out.join(&first.name);
    // The first phase knows digits 0-4 only and learns them (chance: 20 %).
    let head = SavedHead::load(&first_dir).unwrap();
    assert_eq!(head.class_names.len(), 5);
    assert!(summary.accuracy.unwrap().mean > 60.0, "{summary:?}");

    let second = shrunk("mnist-next5-hpn-replay20.toml", out);
    assert_eq!(second.incremental.as_ref().unwrap().replay_per_class, 10);
    let summary = hpn_train::run(&second, &options(out)).unwrap();
    let second_dir = out.join(&second.name);
    // The old prototypes are the first phase's, bit for bit; the new ones are unit vectors.
    let old = Prototypes::load_npy(&first_dir.join("prototypes-10d-5c.npy")).unwrap();
    let all = Prototypes::load_npy(&second_dir.join("prototypes-10d-10c.npy")).unwrap();
    assert_eq!(&all.as_slice()[..50], old.as_slice());
    for row in all.as_slice()[50..].chunks(10) {
        let norm: f32 = row.iter().map(|v| v * v).sum::<f32>().sqrt();
        assert!((norm - 1.0).abs() < 1e-5);
    }
    let report = IncrementalReport::load(&second_dir.join("seed-3"))
        .unwrap()
        .expect("incremental.json");
    assert_eq!((report.old_classes, report.classes), (5, 10));
    // 20 test images per digit: all is the mean of old and new.
    let mean = (report.old_accuracy + report.new_accuracy) / 2.0;
    assert!((report.all_accuracy - mean).abs() < 1e-9, "{report:?}");
    assert_eq!(Some(report.all_accuracy), summary.seeds[0].accuracy);
    assert_eq!(summary.old_accuracy.unwrap().mean, report.old_accuracy);
    assert!(report.new_accuracy > 60.0, "{report:?}");
    assert_eq!(
        report.first_phase_accuracy,
        hpn_train::Summary::load(&first_dir).unwrap().unwrap().seeds[0].accuracy
    );
    let md = std::fs::read_to_string(second_dir.join("summary.md")).unwrap();
    assert!(md.contains("old classes (%)"), "{md}");

    // Stopped after one epoch, then resumed: the same metrics as the straight run.
    let resumed = out.join("resumed");
    std::fs::create_dir_all(&resumed).unwrap();
    let stop = RunOptions {
        stop: Some(Arc::new(AtomicBool::new(true))),
        ..options(&resumed)
    };
    let err = hpn_train::run(&second, &stop).unwrap_err();
    assert!(
        matches!(err, TrainError::Stopped { epochs_done: 1, .. }),
        "{err}"
    );
    let rest = RunOptions {
        resume: true,
        ..options(&resumed)
    };
    hpn_train::run(&second, &rest).unwrap();
    let again = resumed.join(&second.name);
    assert_eq!(metrics(&again), metrics(&second_dir));
    assert_eq!(
        IncrementalReport::load(&again.join("seed-3")).unwrap(),
        Some(report)
    );
}

#[test]
fn softmax_grows_its_output_layer_and_a_mismatched_first_phase_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path();
    let first = shrunk("mnist-first5-softmax.toml", out);
    hpn_train::run(&first, &options(out)).unwrap();
    let second = shrunk("mnist-next5-softmax-replay0.toml", out);
    let summary = hpn_train::run(&second, &options(out)).unwrap();
    assert_eq!(
        SavedHead::load(&out.join(&second.name))
            .unwrap()
            .output_width,
        10
    );
    let seed = &summary.seeds[0];
    // Without replay the new digits are learned and the old ones mostly forgotten.
    assert!(seed.new_accuracy.unwrap() > 60.0, "{seed:?}");

    // A second phase whose first phase is missing, or has another loss, is refused by name.
    let mut missing = second.clone();
    missing.incremental.as_mut().unwrap().from = Some(out.join("no-such-run"));
    let err = hpn_train::run(&missing, &options(out)).unwrap_err();
    assert!(
        err.to_string().contains("train the first phase first"),
        "{err}"
    );
    let mut other_loss = shrunk("mnist-next5-hpn-replay0.toml", out);
    other_loss.incremental.as_mut().unwrap().from = Some(out.join(&first.name));
    let err = hpn_train::run(&other_loss, &options(out)).unwrap_err();
    assert!(
        matches!(&err, TrainError::InvalidValue { key, .. } if key == "loss.kind"),
        "{err}"
    );
}
