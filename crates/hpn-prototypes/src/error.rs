//! The one error type of this crate.

use std::path::PathBuf;

/// Everything that can go wrong while building, placing, loading or saving prototypes.
///
/// Every variant names the value (and file, where there is one) that was wrong and what was
/// expected instead.
#[derive(thiserror::Error, Debug)]
pub enum PrototypeError {
    /// Too few classes: a placement separates at least 2 classes, a prototype matrix has at
    /// least 1 row.
    #[error("need at least {minimum} classes, got {classes}")]
    TooFewClasses {
        /// The number of classes asked for.
        classes: usize,
        /// The smallest accepted number.
        minimum: usize,
    },
    /// Zero output dimensions were asked for.
    #[error("need at least 1 output dimension, got {dims}")]
    TooFewDims {
        /// The number of dimensions asked for.
        dims: usize,
    },
    /// A placement method cannot produce `classes` prototypes in `dims` dimensions.
    #[error("{method} cannot place {classes} prototypes in {dims} dimensions: {expected}")]
    UnsupportedShape {
        /// The method's kebab-case name.
        method: String,
        /// K.
        classes: usize,
        /// D.
        dims: usize,
        /// What the method needs.
        expected: String,
    },
    /// A flat buffer does not hold `classes * dims` numbers.
    #[error("prototype data has {len} numbers, expected classes * dims = {classes} * {dims}")]
    ShapeMismatch {
        /// The buffer length.
        len: usize,
        /// K.
        classes: usize,
        /// D.
        dims: usize,
    },
    /// A prototype row holds NaN or an infinity.
    #[error("prototype row {row} holds a non-finite value {value}")]
    NonFinite {
        /// The class index.
        row: usize,
        /// The offending value.
        value: f32,
    },
    /// A prototype row is not a unit vector.
    #[error("prototype row {row} has norm {norm}, expected 1 (tolerance {tolerance})")]
    NotUnitNorm {
        /// The class index.
        row: usize,
        /// Its Euclidean norm.
        norm: f32,
        /// The accepted deviation from 1.
        tolerance: f32,
    },
    /// A file could not be read or written.
    #[error("cannot {action} {path}: {source}")]
    Io {
        /// "read" or "write".
        action: &'static str,
        /// The file.
        path: PathBuf,
        /// The operating system's reason.
        source: std::io::Error,
    },
    /// A `.npy` file is malformed, truncated, or holds the wrong dtype or shape.
    #[error("{path}: {reason}")]
    Npy {
        /// The file.
        path: PathBuf,
        /// What was wrong and what was expected.
        reason: String,
    },
    /// A prototype file holds rows that are not valid prototypes.
    #[error("{path}: {source}")]
    InvalidFile {
        /// The file.
        path: PathBuf,
        /// Why its contents are not valid prototypes.
        source: Box<PrototypeError>,
    },
    /// A word-vector text file has a malformed line.
    #[error("{path}, line {line}: {reason}")]
    WordVectorText {
        /// The file.
        path: PathBuf,
        /// 1-based line number.
        line: usize,
        /// What was wrong and what was expected.
        reason: String,
    },
    /// Word vectors are unusable for the request (wrong count, zero row, ...).
    #[error("word vectors: {reason}")]
    WordVectors {
        /// What was wrong and what was expected.
        reason: String,
    },
    /// A method needs word vectors and none were given.
    #[error("placement method {method} needs word vectors (one row per class), none were given")]
    MissingWordVectors {
        /// The method's kebab-case name.
        method: String,
    },
    /// A placement-method name is not one of the known kebab-case names.
    #[error("unknown placement method {name:?}, expected one of {expected}")]
    UnknownMethod {
        /// The name given.
        name: String,
        /// The accepted names.
        expected: String,
    },
    /// An option value is out of range.
    #[error("placement option {option} = {value} is invalid: expected {expected}")]
    InvalidOption {
        /// The option's field name.
        option: &'static str,
        /// The value given.
        value: String,
        /// What was expected.
        expected: String,
    },
    /// An output layout was asked for with too few dimensions.
    #[error("{layout} layout needs {expected}, got D = {dims}")]
    LayoutDims {
        /// "regression" or "joint".
        layout: &'static str,
        /// D.
        dims: usize,
        /// What the layout needs.
        expected: String,
    },
    /// A tensor could not be read back from the device.
    #[error("cannot read a tensor back from the device: {reason}")]
    TensorRead {
        /// The backend's reason.
        reason: String,
    },
    /// The optimisation diverged (a NaN appeared), which a valid option set should not cause.
    #[error("{method} diverged (non-finite values) with learning rate {learning_rate}")]
    Diverged {
        /// The method's kebab-case name.
        method: String,
        /// The learning rate used.
        learning_rate: f32,
    },
    /// An optimising placer could not keep every pair of prototypes as far apart as it promises.
    #[error(
        "{method} left two prototypes {min_angle_degrees:.2} degrees apart, below its floor of {floor_degrees:.2} degrees"
    )]
    Crowded {
        /// The method's kebab-case name.
        method: String,
        /// The smallest angle between two prototypes of the result, in degrees.
        min_angle_degrees: f64,
        /// The smallest angle the method promises, in degrees.
        floor_degrees: f64,
    },
}
