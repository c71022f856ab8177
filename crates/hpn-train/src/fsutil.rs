//! File-system helpers with hpn-train's error type: the files a run is resumed or evaluated from
//! (config, head, metrics, state, summary) are written through `hpn_common::write_atomic`, so a
//! killed run never leaves a half-written one behind (Burn writes the model records atomically
//! itself; the SVG curves are redrawn at the end of a seed).

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
