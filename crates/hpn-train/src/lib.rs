//! # hpn-train: one Hyperspherical Prototype Network experiment, from config to results
//!
//! An [`ExperimentConfig`] (a TOML file) names the task, data, backbone, output layout, loss
//! and training recipe. [`run`] places the prototypes (or loads them), prepares the data,
//! trains one model per seed with the paper's recipe (SGD, momentum 0.9, weight decay 1e-4,
//! lr x0.1 at epochs 100 and 200) and writes metrics, checkpoints, plots and a summary under
//! `runs/<name>/`.
//!
//! ```no_run
//! use hpn_train::{ExperimentConfig, RunOptions, run};
//!
//! let config = ExperimentConfig::load("configs/quickstart.toml".as_ref())?;
//! let summary = run(&config, &RunOptions::default())?;
//! println!("{}", summary.markdown());
//! # Ok::<(), hpn_train::TrainError>(())
//! ```
//!
//! Only [`select_device`] names backends; everything else takes a `&Device`.

pub mod checkpoint;
pub mod config;
pub mod data;
pub mod device;
pub mod error;
pub mod experiment;
mod fsutil;
pub mod inference;
pub mod layout;
pub mod metrics;
pub mod objective;
pub mod plot;
pub mod progress;
pub mod reproduce;
pub mod summary;
pub mod train;

pub use config::ExperimentConfig;
pub use device::{BackendKind, select_device};
pub use error::TrainError;
pub use experiment::{RunOptions, describe, run};
pub use summary::Summary;
