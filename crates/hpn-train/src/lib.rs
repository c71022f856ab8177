//! # hpn-train: one Hyperspherical Prototype Network experiment, from config to results
//!
//! An [`ExperimentConfig`] (a TOML file) names the task, data, backbone, prototypes, loss
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

mod checkpoint;
mod collapse;
pub mod config;
pub mod data;
mod device;
mod error;
mod experiment;
mod fsutil;
mod head;
mod incremental;
pub mod inference;
mod metrics;
mod open_set;
mod output_layout;
pub mod plot;
mod progress;
mod summary;
mod train;

pub use collapse::{
    CHANCE_FACTOR, COLLAPSE_FILE, CONSTANT_GUESS_MARGIN, Collapse, CollapseCheck,
    ONE_CLASS_FRACTION, constant_guess_mae,
};
pub use config::ExperimentConfig;
pub use device::{BackendKind, select_device};
pub use error::TrainError;
pub use experiment::{
    HEAD_FILE, PreparedRun, RunOptions, SavedHead, describe, prepare, resume_conflict, run,
};
pub use head::{BatchScore, Head, Prediction};
pub use incremental::{INCREMENTAL_FILE, IncrementalReport};
pub use metrics::EpochRecord;
pub use open_set::{OPEN_SET_FILE, OpenSetReport, auroc, threshold_accepting};
pub use summary::{MeanStd, SeedSummary, Summary};
pub use train::SeedResult;
