//! Every committed experiment file parses, passes validation and can be described (what
//! `cargo xtask train --dry-run` prints), without building anything.

use std::path::{Path, PathBuf};

use hpn_train::{ExperimentConfig, RunOptions};

fn config_files() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../configs");
    let mut files = Vec::new();
    for dir in [root.clone(), root.join("paper"), root.join("reproduce")] {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_some_and(|e| e == "toml") {
                files.push(path);
            }
        }
    }
    files.sort();
    files
}

#[test]
fn every_config_passes_dry_run() {
    let files = config_files();
    assert!(
        files.len() > 40,
        "expected the paper's configs, found {}",
        files.len()
    );
    for path in files {
        let config =
            ExperimentConfig::load(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let text = hpn_train::describe(&config, &RunOptions::default());
        assert!(text.contains(&config.name), "{}", path.display());
        // What the dry run prints is itself a valid config of the same experiment.
        let body: String = text
            .lines()
            .filter(|l| !l.starts_with('#'))
            .collect::<Vec<_>>()
            .join("\n");
        let again = ExperimentConfig::parse(&body, &path).unwrap();
        assert_eq!(again, config, "{}", path.display());
    }
}

#[test]
fn config_names_match_file_names() {
    for path in config_files() {
        let config = ExperimentConfig::load(&path).unwrap();
        assert_eq!(
            path.file_stem().unwrap().to_string_lossy(),
            config.name,
            "{}",
            path.display()
        );
    }
}
