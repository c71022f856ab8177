//! Runs that do not train: a seed that did not learn is marked collapsed in `collapse.json` and
//! `summary.json` and left out of the means, a seed that trained is not, and a loss that
//! becomes NaN or infinite stops the run with an error naming where.

use std::path::Path;

use hpn_train::{CollapseCheck, ExperimentConfig, RunOptions, Summary, TrainError};

fn short_quickstart(learning_rate: f64) -> ExperimentConfig {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let mut config = ExperimentConfig::load(&root.join("configs/quickstart.toml")).unwrap();
    config.dataset.train_per_class = Some(60);
    config.dataset.test_per_class = Some(20);
    config.training.epochs = 2;
    config.training.batch_size = 32;
    config.optimizer.learning_rate = learning_rate;
    config.optimizer.milestones = vec![];
    config.seeds = vec![3];
    config
}

fn train(config: &ExperimentConfig, out: &Path) -> Summary {
    let options = RunOptions {
        out: Some(out.to_path_buf()),
        quiet: true,
        ..RunOptions::default()
    };
    hpn_train::run(config, &options).unwrap()
}

#[test]
fn a_frozen_network_is_marked_collapsed_and_a_trained_one_is_not() {
    let tmp = tempfile::tempdir().unwrap();

    let trained = train(&short_quickstart(1e-3), &tmp.path().join("trained"));
    let check = CollapseCheck::load(&tmp.path().join("trained/quickstart/seed-3"))
        .unwrap()
        .expect("a finished seed writes collapse.json");
    assert!(!check.collapsed(), "{check:?}");
    assert!(check.largest_class_fraction.unwrap() < 0.3, "{check:?}");
    assert_eq!(trained.collapsed_seeds, 0);
    assert!(trained.accuracy.unwrap().mean > 50.0);

    // A step too small to move the weights: the network keeps its initial guesses.
    let frozen = train(&short_quickstart(1e-9), &tmp.path().join("frozen"));
    assert_eq!(frozen.collapsed_seeds, 1, "{frozen:?}");
    assert!(!frozen.seeds[0].collapsed.is_empty());
    assert_eq!(
        frozen.accuracy, None,
        "a collapsed seed is left out of the mean"
    );
    let md = std::fs::read_to_string(tmp.path().join("frozen/quickstart/summary.md")).unwrap();
    assert!(md.contains("**collapsed**"), "{md}");
}

#[test]
fn a_loss_that_blows_up_is_an_error_naming_epoch_and_batch() {
    let tmp = tempfile::tempdir().unwrap();
    let options = RunOptions {
        out: Some(tmp.path().to_path_buf()),
        quiet: true,
        ..RunOptions::default()
    };
    let error = hpn_train::run(&short_quickstart(1e12), &options).unwrap_err();
    match error {
        TrainError::Diverged {
            epoch,
            batch,
            value,
        } => {
            assert_eq!(epoch, 1);
            // 600 images in batches of 32: 19 batches.
            assert!(batch < 19, "batch {batch}");
            assert!(!value.is_finite());
        }
        other => panic!("expected a divergence, got {other}"),
    }
}
