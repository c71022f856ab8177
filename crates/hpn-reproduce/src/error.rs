//! What can go wrong in a reproduction: the manifest, a run, or the reference.

use std::path::PathBuf;

use hpn_train::TrainError;

/// An error of hpn-reproduce, naming the file, claim or setting involved.
#[derive(Debug, thiserror::Error)]
pub enum ReproduceError {
    /// The manifest could not be read.
    #[error("cannot read the claims manifest {path}: {source}")]
    ReadManifest {
        /// The manifest file.
        path: PathBuf,
        /// The underlying I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The manifest is not valid TOML, has an unknown key, or contradicts itself.
    #[error("claims manifest {path}: {message}")]
    Manifest {
        /// The manifest file.
        path: PathBuf,
        /// What is wrong, with the claim or experiment involved.
        message: String,
    },
    /// Training or reading a run failed.
    #[error(transparent)]
    Train(#[from] TrainError),
    /// The PyTorch reference is missing, failed, or wrote something unreadable.
    #[error("reference: {0}")]
    Reference(String),
    /// A figure could not be drawn.
    #[error("cannot draw {path}: {message}")]
    Plot {
        /// The figure file.
        path: PathBuf,
        /// What the plotting library reported.
        message: String,
    },
    /// A published record (`docs/results/runs/<experiment>.json`) could not be read.
    #[error("published record {path}: {message}")]
    Record {
        /// The record file.
        path: PathBuf,
        /// What is wrong with it.
        message: String,
    },
    /// A results file could not be written.
    #[error("cannot write {path}: {source}")]
    Write {
        /// The file or folder involved.
        path: PathBuf,
        /// The underlying I/O error.
        #[source]
        source: std::io::Error,
    },
}

/// Wraps an I/O error with the path it concerns.
pub(crate) fn write_error(
    path: impl Into<PathBuf>,
) -> impl FnOnce(std::io::Error) -> ReproduceError {
    let path = path.into();
    move |source| ReproduceError::Write { path, source }
}
