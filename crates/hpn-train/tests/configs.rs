//! Every committed experiment file parses, passes validation and can be described (what
//! `cargo xtask train --dry-run` prints), without building anything.

use std::path::{Path, PathBuf};

use hpn_train::{ExperimentConfig, RunOptions};

fn config_files() -> Vec<PathBuf> {
    fn collect(dir: &Path, files: &mut Vec<PathBuf>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                collect(&path, files);
            } else if path.extension().is_some_and(|e| e == "toml")
                // The reproduction's manifest of claims (hpn-reproduce reads and tests it).
                && path.file_name().is_some_and(|n| n != "claims.toml")
            {
                files.push(path);
            }
        }
    }
    let mut files = Vec::new();
    collect(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("../../configs"),
        &mut files,
    );
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

/// The value of `key` in `section` of a TOML document (`section` "" for the top level).
fn lookup<'a>(doc: &'a toml::Table, section: &str, key: &str) -> Option<&'a toml::Value> {
    let table = if section.is_empty() {
        doc
    } else {
        doc.get(section)?.as_table()?
    };
    table.get(key)
}

/// Every default docs/config-reference.md states is the default of the code: each row's
/// backticked TOML value equals the value `ExperimentConfig::default()` writes, "absent" rows
/// are absent from it, the per-kind reductions are `LossKind::default_reduction`, and every
/// key the default config writes has a row.
#[test]
fn config_reference_matches_the_code() {
    use hpn_train::config::LossKind;
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let page = std::fs::read_to_string(root.join("docs/config-reference.md")).unwrap();
    // Optional sections take their own defaults when present.
    let config = ExperimentConfig {
        open_set: Some(hpn_train::config::OpenSetConfig::default()),
        incremental: Some(hpn_train::config::IncrementalConfig::default()),
        ..ExperimentConfig::default()
    };
    let defaults: toml::Table = toml::from_str(&toml::to_string(&config).unwrap()).unwrap();
    let mut section = String::from("?");
    let mut documented: Vec<(String, String)> = Vec::new();
    for line in page.lines() {
        if line == "## Top level" {
            section.clear();
        } else if let Some(name) = line
            .strip_prefix("## `[")
            .and_then(|l| l.strip_suffix("]`"))
        {
            section = name.to_string();
        } else if line.starts_with("## ") {
            section = String::from("?");
        }
        let cells: Vec<&str> = line.split('|').map(str::trim).collect();
        if section == "?" || cells.len() < 4 || !cells[1].starts_with('`') {
            continue;
        }
        let key = cells[1].trim_matches('`');
        if key.starts_with('[') {
            continue; // a sub-table, absent by default
        }
        let default = cells[2];
        let found = lookup(&defaults, &section, key);
        let row = format!("[{section}] {key}");
        if default == "absent" {
            assert!(
                found.is_none(),
                "{row}: documented absent, the code has {found:?}"
            );
        } else if let Some(kinds) = default.strip_prefix("per kind: ") {
            assert_eq!(row, "[loss] reduction");
            // `"sum"` for `hpn`, `"mean"` for `softmax-ce`, `mse`, `multitask`
            let mut checked = 0;
            for clause in kinds.split(" for ").collect::<Vec<_>>().windows(2) {
                let value = clause[0].rsplit('`').nth(1).unwrap().trim_matches('"');
                for kind in clause[1].split(", ").take_while(|k| !k.starts_with("`\"")) {
                    checked += 1;
                    let kind: LossKind = toml::Value::String(kind.trim_matches('`').into())
                        .try_into()
                        .unwrap();
                    let reduction = toml::Value::try_from(kind.default_reduction()).unwrap();
                    assert_eq!(reduction.as_str(), Some(value), "{row}: {kind:?}");
                }
            }
            assert_eq!(checked, 4, "{row}: every loss kind has its reduction");
        } else {
            let literal = default.trim_matches('`');
            let parsed: toml::Table = toml::from_str(&format!("v = {literal}"))
                .unwrap_or_else(|e| panic!("{row}: default {literal} is not TOML: {e}"));
            assert_eq!(Some(&parsed["v"]), found, "{row}: documented {literal}");
        }
        documented.push((section.clone(), key.to_string()));
    }
    for (name, value) in &defaults {
        match value.as_table() {
            Some(table) => {
                for key in table.keys() {
                    assert!(
                        documented.contains(&(name.clone(), key.clone())),
                        "[{name}] {key} has no row in docs/config-reference.md"
                    );
                }
            }
            None => assert!(
                documented.contains(&(String::new(), name.clone())),
                "{name} has no row in docs/config-reference.md"
            ),
        }
    }
    assert!(documented.len() > 30, "only {} rows read", documented.len());
}
