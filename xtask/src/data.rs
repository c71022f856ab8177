//! `data check`: read a dataset from disk and report counts per split and class, and problems.

use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::Subcommand;
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
    }
}
