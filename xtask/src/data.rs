//! `data check`: read a dataset from disk and report counts per split and class, and problems.
//! `data export`: write the images an experiment trains and evaluates on as `.npy` arrays, for
//! another implementation to read (`reference/hpn_torch.py`).

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use clap::Subcommand;
use hpn_train::ExperimentConfig;
use hpn_train::config::{DatasetConfig, DatasetKind};

#[derive(Subcommand, Debug)]
pub enum DataCommand {
    /// Read a dataset and print counts per split and class, flagging problems.
    Check {
        /// mnist, cifar10, cifar100, image-folder, tiny-imagenet, cub200 or csv.
        kind: String,
        /// Dataset directory.
        path: PathBuf,
    },
    /// Write an experiment's training and evaluation images, after rotation, subsampling and
    /// the other choices of its `[dataset]`, as .npy arrays: `{train,eval}_images.npy` (uint8,
    /// N x C x H x W), `{train,eval}_labels.npy` (int64) and, with regression targets,
    /// `{train,eval}_targets.npy` (float32).
    Export {
        /// Experiment file (TOML).
        #[arg(long)]
        config: PathBuf,
        /// Folder to write the arrays to (created if missing).
        #[arg(long)]
        out: PathBuf,
    },
}

pub fn run(command: DataCommand) -> Result<()> {
    match command {
        DataCommand::Check { kind, path } => {
            let kind: DatasetKind = serde_json::from_value(serde_json::Value::String(kind.clone()))
                .with_context(|| {
                    format!("unknown dataset kind `{kind}`: expected mnist, cifar10, cifar100, image-folder, tiny-imagenet, cub200 or csv")
                })?;
            let config = DatasetConfig {
                kind,
                path: path.clone(),
                ..DatasetConfig::default()
            };
            let splits = hpn_train::data::read_splits(&config, std::path::Path::new("runs/.cache"))
                .with_context(|| format!("cannot read {}", path.display()))?;
            let report = hpn_data::describe(&splits);
            print!("{report}");
            Ok(())
        }
        DataCommand::Export { config, out } => export(&config, &out),
    }
}

fn export(config_path: &Path, out: &Path) -> Result<()> {
    let config = ExperimentConfig::load(config_path)
        .with_context(|| format!("cannot read {}", config_path.display()))?;
    let cache = out.join(".cache");
    let data = hpn_train::data::prepare(&config, &cache)
        .with_context(|| format!("cannot prepare the data of {}", config_path.display()))?;
    std::fs::create_dir_all(out).with_context(|| format!("cannot create {}", out.display()))?;
    for (split, set) in [("train", &data.train), ("eval", &data.eval)] {
        hpn_data::write_npy_arrays(set, out, split)?;
        println!(
            "{split}: {} images of {}x{}x{} -> {}",
            set.len(),
            set.channels(),
            set.height(),
            set.width(),
            out.join(format!("{split}_images.npy")).display()
        );
    }
    Ok(())
}
