//! Writing files so that a killed run never leaves a half-written one behind.

use std::path::Path;

use crate::error::TrainError;

/// Writes `bytes` to `path` atomically: a temporary file beside it, then a rename.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), TrainError> {
    let tmp = tmp_path(path);
    std::fs::write(&tmp, bytes).map_err(|e| TrainError::io("write", &tmp, e))?;
    std::fs::rename(&tmp, path).map_err(|e| TrainError::io("rename into", path, e))
}

/// The temporary sibling of `path` used while it is being written.
pub fn tmp_path(path: &Path) -> std::path::PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(".tmp");
    path.with_file_name(name)
}

/// Creates `dir` and its parents.
pub fn create_dir(dir: &Path) -> Result<(), TrainError> {
    std::fs::create_dir_all(dir).map_err(|e| TrainError::io("create directory", dir, e))
}
