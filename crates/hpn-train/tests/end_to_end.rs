//! Trains the quickstart experiment on a small share of the committed MNIST subset, and checks
//! that a run killed after one epoch and resumed ends exactly where an uninterrupted run ends,
//! that resuming with a different experiment is refused, and that the saved model predicts
//! digits from image files.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use hpn_train::{ExperimentConfig, RunOptions};

fn quickstart(epochs: usize) -> ExperimentConfig {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    // Paths in the file are taken from its folder, whatever the current directory.
    let mut config = ExperimentConfig::load(&root.join("configs/quickstart.toml")).unwrap();
    assert!(
        config
            .dataset
            .path
            .join("train-images-idx3-ubyte.gz")
            .exists()
    );
    config.dataset.train_per_class = Some(300);
    config.dataset.test_per_class = Some(30);
    config.training.epochs = epochs;
    config.training.batch_size = 128;
    config.training.eval_every = 1;
    config.training.workers = 1;
    config.optimizer.milestones = vec![];
    config.seeds = vec![7];
    config
}

fn options(out: &Path) -> RunOptions {
    RunOptions {
        out: Some(out.to_path_buf()),
        quiet: true,
        ..RunOptions::default()
    }
}

fn metrics(dir: &Path) -> Vec<String> {
    std::fs::read_to_string(dir.join("quickstart/seed-7/metrics.csv"))
        .unwrap()
        .lines()
        .map(|l| {
            // Drop the timing columns, which differ between runs.
            l.split(',').take(5).collect::<Vec<_>>().join(",")
        })
        .collect()
}

#[test]
fn quickstart_learns_and_resume_matches_an_uninterrupted_run() {
    let tmp = tempfile::tempdir().unwrap();
    let straight: PathBuf = tmp.path().join("straight");
    let config = quickstart(3);
    let summary = hpn_train::run(&config, &options(&straight)).unwrap();
    let accuracy = summary.accuracy.unwrap().mean;
    // 10 classes: chance is 10%.
    assert!(accuracy > 50.0, "accuracy {accuracy}% after 3 short epochs");

    let run = straight.join("quickstart");
    for file in [
        "config.toml",
        "head.json",
        "prototypes-10d-10c.npy",
        "summary.json",
        "summary.md",
        "seed-7/metrics.csv",
        "seed-7/model.bpk",
        "seed-7/curves.svg",
        "seed-7/state.json",
    ] {
        assert!(run.join(file).exists(), "{file} missing");
    }

    // Stopped after one epoch (the stop flag is raised before the run starts), then resumed.
    let resumed = tmp.path().join("resumed");
    let first = RunOptions {
        stop: Some(Arc::new(AtomicBool::new(true))),
        ..options(&resumed)
    };
    let err = hpn_train::run(&config, &first).unwrap_err();
    assert!(
        matches!(
            err,
            hpn_train::TrainError::Stopped {
                seed: 7,
                epochs_done: 1
            }
        ),
        "{err}"
    );
    assert_eq!(metrics(&resumed).len(), 2, "header + one epoch");
    let rest = RunOptions {
        resume: true,
        ..options(&resumed)
    };
    let after_resume = hpn_train::run(&config, &rest).unwrap();
    assert_eq!(metrics(&resumed), metrics(&straight));
    // Throughput counts the epochs of both processes, and a finished run started again
    // (as `reproduce` does) reports the same figure instead of 0.
    let throughput = |s: &hpn_train::Summary| s.seeds[0].images_per_second;
    assert!(throughput(&after_resume) > 0.0, "{after_resume:?}");
    let finished_again = hpn_train::run(&config, &rest).unwrap();
    assert_eq!(throughput(&finished_again), throughput(&after_resume));
    assert_eq!(metrics(&resumed), metrics(&straight));

    // Another seed trained into the same directory joins the first in its summary.
    let one_more = RunOptions {
        seeds: Some(vec![8]),
        ..rest.clone()
    };
    let both = hpn_train::run(&config, &one_more).unwrap();
    let seeds: Vec<u64> = both.seeds.iter().map(|s| s.seed).collect();
    assert_eq!(seeds, vec![7, 8]);
    assert_eq!(both.seeds[0], finished_again.seeds[0]);
    assert_eq!(
        hpn_train::Summary::load(&resumed.join("quickstart")).unwrap(),
        Some(both)
    );

    // Resuming with another learning rate would mix two experiments: refused, nothing written.
    let mut changed = config.clone();
    changed.optimizer.learning_rate = 0.05;
    let before = metrics(&resumed);
    let err = hpn_train::run(&changed, &rest).unwrap_err();
    assert!(
        matches!(
            err,
            hpn_train::TrainError::ResumeMismatch {
                section: "optimizer",
                ..
            }
        ),
        "{err}"
    );
    assert_eq!(metrics(&resumed), before);

    // The saved run evaluates to the accuracy it reported.
    let device = hpn_train::select_device(hpn_train::BackendKind::Flex).unwrap();
    let again = hpn_train::inference::evaluate_run(&run, &device).unwrap();
    let reported = summary.seeds[0].accuracy.unwrap();
    assert!((again[0].accuracy.unwrap() - reported).abs() < 1e-6);
    assert!(
        again[0].open_set.is_none(),
        "no [open_set] in the quickstart"
    );

    predicts_digits_from_png_files(&run, tmp.path(), &device);
}

/// Writes the first 40 test digits of the committed subset as PNG files and predicts them with
/// the saved model: most must come out as their label, each with a cosine in [-1, 1].
fn predicts_digits_from_png_files(run: &Path, tmp: &Path, device: &burn::tensor::Device) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let test = hpn_data::read_mnist_dir(&root.join("datasets/mnist-subset"))
        .unwrap()
        .test;
    let n = 40;
    let files: Vec<PathBuf> = (0..n)
        .map(|i| {
            let path = tmp.join(format!("digit-{i}.png"));
            image::GrayImage::from_raw(28, 28, test.image(i).to_vec())
                .unwrap()
                .save(&path)
                .unwrap();
            path
        })
        .collect();
    let loaded = hpn_train::inference::load_run(run, None, device).unwrap();
    let predictions = hpn_train::inference::predict_images(&loaded, &files, device).unwrap();
    assert_eq!(predictions.len(), n);
    let mut correct = 0;
    for (i, p) in predictions.iter().enumerate() {
        let (class, cosine) = p.class.expect("a classification run predicts a class");
        assert!((-1.0..=1.0).contains(&cosine), "cosine {cosine}");
        assert!(p.value.is_none());
        correct += usize::from(class == test.labels()[i]);
    }
    // The model scored above 50 % after its three short epochs; 40 images at that rate give
    // fewer than 14 right with probability below 0.1 %.
    assert!(
        correct >= 14,
        "{correct} of {n} PNG digits predicted as their label"
    );

    // A file that is not an image is an error naming it, not a panic.
    let broken = tmp.join("broken.png");
    std::fs::write(&broken, b"not a png").unwrap();
    let err = hpn_train::inference::predict_images(&loaded, std::slice::from_ref(&broken), device)
        .unwrap_err();
    assert!(err.to_string().contains("broken.png"), "{err}");
}
