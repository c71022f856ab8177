//! A run is a function of (config, seed, backend): the same short experiment trained with 0, 1
//! and 2 data-loader threads, and with 2 once more, writes the same losses and accuracies to the
//! last digit. The batch order comes from (seed, epoch) alone and each image's augmentation from
//! (seed, epoch, index), so the thread count cannot change what the network sees. Gradient
//! checkpointing (recomputing instead of keeping activations) changes none of it either.

use std::path::Path;

use hpn_train::{ExperimentConfig, RunOptions};

fn short_quickstart(workers: usize, checkpointing: bool) -> ExperimentConfig {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let mut config = ExperimentConfig::load(&root.join("configs/quickstart.toml")).unwrap();
    config.dataset.train_per_class = Some(60);
    config.dataset.test_per_class = Some(20);
    config.training.epochs = 2;
    config.training.batch_size = 32;
    config.training.eval_every = 1;
    config.training.workers = workers;
    config.training.gradient_checkpointing = checkpointing;
    config.optimizer.milestones = vec![1];
    config.seeds = vec![3];
    config
}

/// metrics.csv without its timing columns (seconds, images/s), which differ run to run.
fn trained_columns(out: &Path) -> String {
    let text = std::fs::read_to_string(out.join("quickstart/seed-3/metrics.csv")).unwrap();
    text.lines()
        .map(|l| l.split(',').take(5).collect::<Vec<_>>().join(","))
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn same_seed_same_numbers_for_any_worker_count() {
    let tmp = tempfile::tempdir().unwrap();
    let mut runs = Vec::new();
    for (name, workers, checkpointing) in [
        ("a", 0, false),
        ("b", 1, false),
        ("c", 2, false),
        ("d", 2, false),
        ("e", 2, true),
    ] {
        let out = tmp.path().join(name);
        let options = RunOptions {
            out: Some(out.clone()),
            quiet: true,
            ..RunOptions::default()
        };
        hpn_train::run(&short_quickstart(workers, checkpointing), &options).unwrap();
        runs.push(trained_columns(&out));
    }
    assert_eq!(
        runs[0].lines().count(),
        3,
        "header + 2 epochs:\n{}",
        runs[0]
    );
    assert!(
        runs[0].starts_with("epoch,lr,train_loss,accuracy,mae"),
        "{}",
        runs[0]
    );
    assert_eq!(runs[0], runs[1], "0 workers vs 1 worker");
    assert_eq!(runs[0], runs[2], "0 workers vs 2 workers");
    assert_eq!(runs[2], runs[3], "2 workers, twice");
    assert_eq!(runs[0], runs[4], "with gradient checkpointing");
}
