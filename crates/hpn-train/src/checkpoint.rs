//! Checkpoints: model, optimiser and run state, written so that a run killed at any moment can
//! be resumed.
//!
//! Each epoch writes `model-eNNNN.bpk` and `optimizer-eNNNN.bpk` (Burn records, each written
//! atomically by Burn), then `state.json` (atomically) which names them, then removes the
//! previous epoch's files. A kill before `state.json` is renamed leaves the previous checkpoint
//! in force. The only randomness of training (data order and augmentation) is derived from
//! (seed, epoch), so the epoch number is the whole random state.

use std::path::Path;

use burn::module::Module;
use burn::optim::ModuleOptimizer;
use burn::store::ModuleRecord;
use serde::{Deserialize, Serialize};

use crate::error::TrainError;
use crate::fsutil::write_atomic;
use crate::metrics::EpochRecord;

/// What `state.json` holds.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RunState {
    /// The training seed of this run.
    pub seed: u64,
    /// Epochs completed.
    pub epochs_done: usize,
    /// Total epochs the run was started for.
    pub epochs: usize,
    /// Every epoch so far.
    pub records: Vec<EpochRecord>,
    /// Model record file, relative to the seed directory.
    pub model_file: String,
    /// Optimiser record file, relative to the seed directory.
    pub optimizer_file: String,
}

/// Name of the state file in a seed directory.
pub const STATE_FILE: &str = "state.json";

impl RunState {
    /// Reads `state.json` of `dir`, or `None` when the run has no checkpoint yet.
    pub fn load(dir: &Path) -> Result<Option<Self>, TrainError> {
        let path = dir.join(STATE_FILE);
        if !path.exists() {
            return Ok(None);
        }
        let text = std::fs::read_to_string(&path).map_err(|e| TrainError::io("read", &path, e))?;
        serde_json::from_str(&text)
            .map(Some)
            .map_err(|e| TrainError::Checkpoint {
                path,
                message: format!("not a valid state file: {e}"),
            })
    }
}

fn record_error(path: &Path, e: impl std::fmt::Display) -> TrainError {
    TrainError::Checkpoint {
        path: path.to_path_buf(),
        message: e.to_string(),
    }
}

/// Writes the checkpoint of `state.epochs_done` into `dir` and removes older record files.
pub fn save<M: Module>(
    dir: &Path,
    model: &M,
    optimizer: &ModuleOptimizer,
    mut state: RunState,
) -> Result<RunState, TrainError> {
    let previous = RunState::load(dir).ok().flatten();
    state.model_file = format!("model-e{:04}.bpk", state.epochs_done);
    state.optimizer_file = format!("optimizer-e{:04}.bpk", state.epochs_done);
    let model_path = dir.join(&state.model_file);
    model
        .clone()
        .into_record()
        .save(&model_path)
        .map_err(|e| record_error(&model_path, e))?;
    let optim_path = dir.join(&state.optimizer_file);
    optimizer
        .save(&optim_path)
        .map_err(|e| record_error(&optim_path, e))?;
    let json = serde_json::to_string_pretty(&state).map_err(|e| record_error(dir, e))?;
    write_atomic(&dir.join(STATE_FILE), json.as_bytes())?;
    if let Some(prev) = previous {
        for file in [&prev.model_file, &prev.optimizer_file] {
            if *file != state.model_file && *file != state.optimizer_file {
                let _ = std::fs::remove_file(dir.join(file));
            }
        }
    }
    Ok(state)
}

/// Loads a model record file into `model`.
pub fn load_model<M: Module>(model: M, path: &Path) -> Result<M, TrainError> {
    let record = ModuleRecord::load(path).map_err(|e| record_error(path, e))?;
    model
        .try_load_record(record)
        .map_err(|e| record_error(path, format!("does not fit this model: {e}")))
}

/// Restores model and optimiser from the checkpoint `state` of `dir`.
pub fn restore<M: Module>(
    dir: &Path,
    model: M,
    optimizer: ModuleOptimizer,
    state: &RunState,
) -> Result<(M, ModuleOptimizer), TrainError> {
    let model = load_model(model, &dir.join(&state.model_file))?;
    let optim_path = dir.join(&state.optimizer_file);
    let optimizer = optimizer
        .load(&optim_path)
        .map_err(|e| record_error(&optim_path, e))?;
    Ok((model, optimizer))
}
