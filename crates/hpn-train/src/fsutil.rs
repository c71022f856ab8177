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

/// Reads the JSON file `path` as a `T`; `None` when the file does not exist, an error naming
/// the file when it is not a `what` written by hpn.
pub(crate) fn read_json_if_present<T: serde::de::DeserializeOwned>(
    path: &Path,
    what: &str,
) -> Result<Option<T>, TrainError> {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(TrainError::io("read", path, e)),
    };
    serde_json::from_str(&text)
        .map(Some)
        .map_err(|e| TrainError::Run {
            path: path.to_path_buf(),
            message: format!("not {what} written by hpn: {e}"),
        })
}
