//! Everything that can go wrong in an experiment, with the file, key or value involved.

use std::path::PathBuf;

use crate::device::BackendKind;

/// An error of hpn-train. Each variant names what was involved and what was expected.
#[derive(Debug, thiserror::Error)]
pub enum TrainError {
    /// A config file could not be read.
    #[error("cannot read config {path}: {source}")]
    ReadConfig {
        /// The file or folder involved.
        path: PathBuf,
        #[source]
        /// The underlying I/O error.
        source: std::io::Error,
    },
    /// A config file is not valid TOML or does not match the schema (unknown key, wrong type).
    #[error("invalid config {path}: {message}")]
    ParseConfig {
        /// The file or folder involved.
        path: PathBuf,
        /// What went wrong.
        message: String,
    },
    /// A config uses a key that an older version of hpn read and this one reads differently.
    #[error(
        "config {path}: `{key}` is from an older experiment file: {replacement} (see docs/config-reference.md)"
    )]
    RenamedKey {
        /// The experiment file.
        path: PathBuf,
        /// The key as the file spells it.
        key: &'static str,
        /// What to write instead.
        replacement: &'static str,
    },
    /// A config is well-formed but asks for something inconsistent.
    #[error("config {path}: key `{key}` = {value}: {expected}")]
    InvalidValue {
        /// The file or folder involved.
        path: PathBuf,
        /// The key, with its section (`section.key`).
        key: String,
        /// The value found.
        value: String,
        /// What is expected instead.
        expected: String,
    },
    /// A backend name that hpn does not know.
    #[error("unknown backend `{0}`: expected one of flex, ndarray, wgpu, cuda")]
    UnknownBackend(String),
    /// The backend exists but this binary was built without its cargo feature.
    #[error(
        "backend `{backend}` is not compiled into this binary (compiled: {}); build with its cargo feature: `cargo run --release -p xtask --features {backend} -- ...`",
        compiled.iter().map(|b| b.name()).collect::<Vec<_>>().join(", ")
    )]
    BackendNotCompiled {
        /// The backend asked for.
        backend: BackendKind,
        /// The backends this binary has.
        compiled: Vec<BackendKind>,
    },
    /// The backend is compiled in, but the machine has no device for it.
    #[error("backend `{backend}`: no device found (is a GPU and its driver present?){detail}")]
    NoDevice {
        /// The backend asked for.
        backend: BackendKind,
        /// What the runtime said, as `": ..."`, or empty when it said nothing.
        detail: String,
    },
    /// Placing, loading or saving prototypes failed.
    #[error("output layout: {0}")]
    Prototypes(#[from] hpn_prototypes::PrototypeError),
    /// Reading or preparing a dataset failed.
    #[error("dataset: {0}")]
    Data(#[from] hpn_data::DataError),
    /// Building a backbone failed.
    #[error("model: {0}")]
    Model(#[from] hpn_models::ModelError),
    /// A loss could not be set up (bad regression bounds, ...).
    #[error("loss: {0}")]
    Loss(#[from] hpn_losses::LossError),
    /// Writing or reading a run directory failed.
    #[error("{action} {path}: {source}")]
    Io {
        /// What was being done (read, write, ...).
        action: &'static str,
        /// The file or folder involved.
        path: PathBuf,
        #[source]
        /// The underlying I/O error.
        source: std::io::Error,
    },
    /// A checkpoint could not be written or read back.
    #[error("checkpoint {path}: {message}")]
    Checkpoint {
        /// The file or folder involved.
        path: PathBuf,
        /// What went wrong.
        message: String,
    },
    /// A run directory does not hold what a command needs.
    #[error("run directory {path}: {message}")]
    Run {
        /// The file or folder involved.
        path: PathBuf,
        /// What went wrong.
        message: String,
    },
    /// `--resume` was asked for a run directory made with a different experiment.
    #[error(
        "cannot resume {path}: it was trained with a different `{section}` than the config given now; \
         resume with the config saved in {path}/config.toml, pick another --out, or drop --resume to start again"
    )]
    ResumeMismatch {
        /// The file or folder involved.
        path: PathBuf,
        /// The first section of the experiment that differs.
        section: &'static str,
    },
    /// [`RunOptions::stop`](crate::RunOptions::stop) was raised: the seed in progress stopped
    /// after its epoch `epochs_done`, with its checkpoint written, as a killed run would.
    #[error(
        "stopped after epoch {epochs_done} of seed {seed} (checkpoint written; --resume continues)"
    )]
    Stopped {
        /// The seed that stopped.
        seed: u64,
        /// Epochs it has finished.
        epochs_done: usize,
    },
    /// The loss became NaN or infinite.
    #[error("training diverged at epoch {epoch}, batch {batch}: loss is {value}")]
    Diverged {
        /// The epoch, 1-based.
        epoch: usize,
        /// The batch within the epoch, 0-based.
        batch: usize,
        /// The value found.
        value: f32,
    },
    /// An image given to `predict` could not be used.
    #[error("image {path}: {message}")]
    Image {
        /// The file or folder involved.
        path: PathBuf,
        /// What went wrong.
        message: String,
    },
    /// Drawing a plot failed.
    #[error("plot {path}: {message}")]
    Plot {
        /// The file or folder involved.
        path: PathBuf,
        /// What went wrong.
        message: String,
    },
}

impl TrainError {
    /// An I/O error while doing `action` on `path`.
    pub fn io(action: &'static str, path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        TrainError::Io {
            action,
            path: path.into(),
            source,
        }
    }
}
