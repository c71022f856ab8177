//! Open-set evaluation end to end: an HPN ConvNet trained on digits 0-7 of the committed MNIST
//! subset scores the unknown digits 8 and 9, writes its threshold and AUROC, `eval` computes
//! the same report again, and `predict` flags inputs below the threshold as unknown.

use std::path::Path;

use hpn_train::{ExperimentConfig, OpenSetReport, RunOptions};

#[test]
fn a_run_with_held_out_classes_reports_auroc_and_flags_unknowns() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let mut config =
        ExperimentConfig::load(&root.join("configs/open-set/mnist-0to7-hpn.toml")).unwrap();
    config.dataset.train_per_class = Some(120);
    config.dataset.test_per_class = Some(30);
    config.training.epochs = 2;
    config.training.batch_size = 64;
    config.optimizer.milestones = vec![];
    config.seeds = vec![5];
    let tmp = tempfile::tempdir().unwrap();
    let options = RunOptions {
        out: Some(tmp.path().to_path_buf()),
        quiet: true,
        ..RunOptions::default()
    };
    let summary = hpn_train::run(&config, &options).unwrap();
    let run = tmp.path().join(&config.name);
    let report = OpenSetReport::load(&run.join("seed-5"))
        .unwrap()
        .expect("open_set.json");
    // 8 known classes x 30 test images; the unknowns are every test 8 and 9 of the subset.
    let test = hpn_data::read_mnist_dir(&root.join("datasets/mnist-subset"))
        .unwrap()
        .test;
    let eights_and_nines = test.labels().iter().filter(|&&l| l >= 8).count();
    assert_eq!(report.counts, (240, eights_and_nines));
    assert!((0.0..=1.0).contains(&report.auroc), "{report:?}");
    // The trained network scores known digits above unknown ones more often than not.
    assert!(report.auroc > 0.6, "{report:?}");
    assert!(report.known_accepted > 0.8, "{report:?}");
    assert!((summary.seeds[0].auroc.unwrap() - report.auroc).abs() < 1e-12);
    assert!((summary.auroc.unwrap().mean - report.auroc).abs() < 1e-12);
    assert!(summary.markdown().contains("open-set AUROC"));

    let device = hpn_train::select_device(hpn_train::BackendKind::Flex).unwrap();
    let again = hpn_train::inference::evaluate_run(&run, &device).unwrap();
    let same = |a: &OpenSetReport, b: &OpenSetReport| {
        // open_set.json holds the fractions to JSON's shortest round-trip form; parsing may
        // differ from it in the last bit.
        a.threshold == b.threshold
            && a.counts == b.counts
            && (a.auroc - b.auroc).abs() < 1e-12
            && (a.known_accepted - b.known_accepted).abs() < 1e-12
            && (a.unknown_rejected - b.unknown_rejected).abs() < 1e-12
    };
    let recomputed = again[0]
        .open_set
        .as_ref()
        .expect("eval reports the open set");
    assert!(same(recomputed, &report), "{recomputed:?} vs {report:?}");
    // The held-out classes are not among the classes the run knows.
    let loaded = hpn_train::inference::load_run(&run, None, &device).unwrap();
    assert_eq!(loaded.saved.class_names.len(), 8);
    assert!(same(loaded.open_set.as_ref().unwrap(), &report));

    // An all-black image is far from every digit prototype's training images: whatever its
    // class, a known/unknown verdict comes with the prediction.
    let black = tmp.path().join("black.png");
    image::GrayImage::new(28, 28).save(&black).unwrap();
    let p = hpn_train::inference::predict_images(&loaded, &[black], &device).unwrap();
    let (_, score) = p[0].class.unwrap();
    assert_eq!(p[0].known, Some(score >= report.threshold));
}
