//! The one error type of this crate.

use std::path::PathBuf;

/// Everything that can go wrong while reading, deriving or augmenting a dataset.
///
/// Every variant names the file (and where it applies the entry, row or key) and says what
/// was expected, so a message can be shown to a user as is.
#[derive(Debug, thiserror::Error)]
pub enum DataError {
    /// The operating system refused to open, read or write a file or folder.
    #[error("{path}: {source}")]
    Io {
        /// The file or folder.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// A file's bytes do not follow its format (wrong magic number, truncated, extra bytes).
    #[error("{path}: {message}")]
    Format {
        /// The file.
        path: PathBuf,
        /// What was found and what was expected.
        message: String,
    },
    /// One entry of a file (a record, a row, an image) is wrong.
    #[error("{path}: entry {entry}: {message}")]
    Entry {
        /// The file.
        path: PathBuf,
        /// Which entry (record index, row number, image name).
        entry: String,
        /// What was found and what was expected.
        message: String,
    },
    /// An image file could not be decoded.
    #[error("{path}: cannot decode image: {message}")]
    Decode {
        /// The image file.
        path: PathBuf,
        /// The decoder's message.
        message: String,
    },
    /// A dataset folder is missing a class or has a class without images.
    #[error("{path}: {message}")]
    Layout {
        /// The folder.
        path: PathBuf,
        /// What is missing and what was expected.
        message: String,
    },
    /// An argument to a function is out of its domain (in-memory data, no file involved).
    #[error("invalid {name}: {message}")]
    InvalidArgument {
        /// The argument.
        name: &'static str,
        /// What was given and what was expected.
        message: String,
    },
}

impl DataError {
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Self::Io {
            path: path.into(),
            source,
        }
    }

    pub(crate) fn format(path: impl Into<PathBuf>, message: impl Into<String>) -> Self {
        Self::Format {
            path: path.into(),
            message: message.into(),
        }
    }

    pub(crate) fn entry(
        path: impl Into<PathBuf>,
        entry: impl ToString,
        message: impl Into<String>,
    ) -> Self {
        Self::Entry {
            path: path.into(),
            entry: entry.to_string(),
            message: message.into(),
        }
    }

    pub(crate) fn layout(path: impl Into<PathBuf>, message: impl Into<String>) -> Self {
        Self::Layout {
            path: path.into(),
            message: message.into(),
        }
    }

    pub(crate) fn invalid(name: &'static str, message: impl Into<String>) -> Self {
        Self::InvalidArgument {
            name,
            message: message.into(),
        }
    }
}
