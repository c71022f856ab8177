//! The manifest in `configs/reproduce/claims.toml` against the experiment files generated from
//! it (run `configs/reproduce/generate.py` after editing it) and against the rules that read
//! its rows.

use std::path::{Path, PathBuf};

use hpn_reproduce::{Manifest, Outcome, Results, judge};
use hpn_train::{ExperimentConfig, MeanStd, Summary};

fn configs() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../configs/reproduce")
}

#[test]
fn every_experiment_file_is_the_one_its_manifest_entry_generates() {
    let manifest = Manifest::load(&configs()).unwrap();
    for e in &manifest.experiments {
        let path = Manifest::experiment_file(&configs(), &e.name);
        let config = ExperimentConfig::load(&path).unwrap_or_else(|err| panic!("{err}"));
        let what = format!("{} (regenerate with generate.py)", path.display());
        assert_eq!(config.name, e.name, "{what}");
        assert_eq!(config.description, e.description, "{what}");
        assert_eq!(config.training.epochs, e.epochs, "{what}");
        assert_eq!(config.training.batch_size, e.batch.unwrap_or(128), "{what}");
        assert_eq!(config.prototypes.dims, e.dims, "{what}");
        assert_eq!(config.model.backbone, e.backbone, "{what}");
        assert_eq!(config.seeds, e.training_seeds(), "{what}");
        assert_eq!(config.dataset.train_per_class, e.train, "{what}");
        if let Some(lr) = e.lr {
            assert_eq!(config.optimizer.learning_rate, lr, "{what}");
        }
        if let Some(w) = e.weight {
            assert_eq!(config.loss.task_weight, Some(w as f32), "{what}");
        }
        assert_eq!(
            config.dataset.imbalance.map(|i| (i.min, i.max)),
            e.imbalance.map(|i| (i.min, i.max)),
            "{what}"
        );
    }
    // No experiment file outside the manifest.
    for entry in std::fs::read_dir(configs()).unwrap() {
        let path = entry.unwrap().path();
        let stem = path.file_stem().unwrap().to_string_lossy().to_string();
        if path.extension().is_some_and(|x| x == "toml") && stem != "claims" {
            assert!(
                manifest.experiments.iter().any(|e| e.name == stem),
                "{} is not in claims.toml",
                path.display()
            );
        }
    }
}

/// A trained summary with three seeds, accuracy 50 % and MAE 10.
fn trained() -> Summary {
    let ms = |mean| {
        Some(MeanStd {
            mean,
            std: 0.0,
            n: 3,
        })
    };
    Summary {
        name: String::new(),
        description: String::new(),
        backend: "flex".into(),
        scale: "1 x 10".into(),
        seeds: Vec::new(),
        accuracy: ms(50.0),
        mae: ms(10.0),
        images_per_second: None,
        auroc: None,
        old_accuracy: None,
        new_accuracy: None,
        collapsed_seeds: 0,
    }
}

#[test]
fn every_rule_reads_only_rows_of_its_own_claim() {
    for claim in Manifest::load(&configs()).unwrap().claims {
        let all = Results {
            summaries: claim
                .rows
                .iter()
                .map(|r| (r.config.clone(), Some(trained())))
                .collect(),
        };
        let verdict = judge(&claim, &all);
        assert!(!verdict.findings.is_empty(), "{}", claim.id);
        for f in &verdict.findings {
            assert!(
                !f.facts.contains("runs are missing"),
                "{}: with every row present the rule still misses a run: {f:?}",
                claim.id
            );
        }
        // And with no results at all, every part of it is not decided.
        let none = judge(&claim, &Results::default());
        assert_eq!(none.outcome(), Outcome::NotDecided, "{}", claim.id);
    }
}
