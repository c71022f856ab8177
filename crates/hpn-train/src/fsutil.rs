//! File-system helpers with hpn-train's error type: every file of a run directory is written
//! through `hpn_common::write_atomic`, so a killed run never leaves a half-written one behind.

use std::path::Path;

use crate::error::TrainError;

/// Writes `bytes` to `path` atomically (`hpn_common::write_atomic`).
pub(crate) fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), TrainError> {
    hpn_common::write_atomic(path, bytes).map_err(|e| TrainError::io("write", path, e))
}

/// Creates `dir` and its parents.
pub(crate) fn create_dir(dir: &Path) -> Result<(), TrainError> {
    std::fs::create_dir_all(dir).map_err(|e| TrainError::io("create directory", dir, e))
}
