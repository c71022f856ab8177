//! Word vectors of the class names (the paper's privileged information) and the `word-vectors`
//! baseline placement.

use std::path::Path;

use burn::tensor::{Device, Tensor, TensorData};

use crate::error::PrototypeError;
use crate::npy::read_matrix;
use crate::placement::{PlacementOptions, check_shape};
use crate::prototypes::Prototypes;
use crate::random::Gaussian;

/// Seed stream of the random projection of [`place_word_vectors`].
const STREAM_PROJECTION: u64 = 4;

/// One word vector w_k in R^{d_w} per class, row k = class k, with the class names.
///
/// Every row is finite and non-zero (a zero row has no direction, so no cosine).
#[derive(Clone, Debug, PartialEq)]
pub struct WordVectors {
    names: Vec<String>,
    data: Vec<f32>,
    dims: usize,
}

impl WordVectors {
    /// Wraps `names.len()` rows of `dims` numbers each (row-major `data`), checking the shape,
    /// that every value is finite and that no row is zero.
    pub fn from_rows(
        names: Vec<String>,
        data: Vec<f32>,
        dims: usize,
    ) -> Result<Self, PrototypeError> {
        let invalid = |reason: String| PrototypeError::WordVectors { reason };
        if names.is_empty() || dims == 0 {
            return Err(invalid(format!(
                "need at least one row of at least one number, got {} rows of {dims}",
                names.len()
            )));
        }
        if names.len().checked_mul(dims) != Some(data.len()) {
            return Err(invalid(format!(
                "{} numbers for {} names of {dims} dimensions, expected {}",
                data.len(),
                names.len(),
                names.len().saturating_mul(dims)
            )));
        }
        for (row, (values, name)) in data.chunks_exact(dims).zip(&names).enumerate() {
            if let Some(v) = values.iter().find(|v| !v.is_finite()) {
                return Err(invalid(format!(
                    "row {row} ({name}) holds the non-finite value {v}"
                )));
            }
            if values.iter().all(|&v| v == 0.0) {
                return Err(invalid(format!(
                    "row {row} ({name}) is all zeros, expected a vector with a direction"
                )));
            }
        }
        Ok(Self { names, data, dims })
    }

    /// Reads word vectors from `path`: a numpy `.npy` array (K, d_w) of `float32` or `float64`
    /// (rows named "0", "1", ...), or a text file with one line `name v1 ... vd` per class
    /// (blank lines skipped; a first line of exactly two integers, the word2vec text header, is
    /// skipped too).
    pub fn load(path: &Path) -> Result<Self, PrototypeError> {
        let is_npy = path.extension().is_some_and(|e| e == "npy")
            || std::fs::read(path)
                .map(|b| b.starts_with(b"\x93NUMPY"))
                .unwrap_or(false);
        let wrap = |source: PrototypeError| match source {
            PrototypeError::WordVectors { .. } => PrototypeError::InvalidFile {
                path: path.to_path_buf(),
                source: Box::new(source),
            },
            other => other,
        };
        if is_npy {
            let matrix = read_matrix(path)?;
            let names = (0..matrix.rows).map(|k| k.to_string()).collect();
            let data = matrix.data.iter().map(|&v| v as f32).collect();
            return Self::from_rows(names, data, matrix.cols).map_err(wrap);
        }
        let text = std::fs::read_to_string(path).map_err(|source| PrototypeError::Io {
            action: "read",
            path: path.to_path_buf(),
            source,
        })?;
        Self::parse_text(&text, path).map_err(wrap)
    }

    /// Parses the text format of [`WordVectors::load`]; `path` only names the file in errors.
    fn parse_text(text: &str, path: &Path) -> Result<Self, PrototypeError> {
        let mut names = Vec::new();
        let mut data = Vec::new();
        let mut dims = None;
        for (index, line) in text.lines().enumerate() {
            let fields: Vec<&str> = line.split_whitespace().collect();
            if fields.is_empty() {
                continue;
            }
            let line_error = |reason: String| PrototypeError::WordVectorText {
                path: path.to_path_buf(),
                line: index + 1,
                reason,
            };
            let is_header = names.is_empty()
                && dims.is_none()
                && fields.len() == 2
                && fields.iter().all(|f| f.parse::<u64>().is_ok());
            if is_header {
                continue;
            }
            if fields.len() < 2 {
                return Err(line_error(format!(
                    "{:?} has no numbers, expected `name v1 ... vd`",
                    line.trim()
                )));
            }
            let width = fields.len() - 1;
            match dims {
                None => dims = Some(width),
                Some(d) if d != width => {
                    return Err(line_error(format!(
                        "{width} numbers, expected {d} like the lines before"
                    )));
                }
                Some(_) => {}
            }
            for field in &fields[1..] {
                let value = field.parse::<f32>().map_err(|_| {
                    line_error(format!(
                        "{field:?} is not a number, expected `name v1 ... vd`"
                    ))
                })?;
                data.push(value);
            }
            names.push(fields[0].to_string());
        }
        let Some(dims) = dims else {
            return Err(PrototypeError::WordVectors {
                reason: format!(
                    "{} holds no vectors, expected one line `name v1 ... vd` per class",
                    path.display()
                ),
            });
        };
        Self::from_rows(names, data, dims)
    }

    /// K, the number of rows (classes).
    pub fn len(&self) -> usize {
        self.names.len()
    }

    /// Always false: word vectors hold at least one row.
    pub fn is_empty(&self) -> bool {
        self.names.is_empty()
    }

    /// d_w, the length of every vector.
    pub fn dims(&self) -> usize {
        self.dims
    }

    /// The class names, in row order.
    pub fn names(&self) -> &[String] {
        &self.names
    }

    /// The vector w_k of class `k`.
    ///
    /// # Panics
    /// If `k >= len()`, like slice indexing.
    pub fn row(&self, k: usize) -> &[f32] {
        &self.data[k * self.dims..(k + 1) * self.dims]
    }

    /// All rows, row-major.
    pub fn as_slice(&self) -> &[f32] {
        &self.data
    }

    /// The (K, d_w) matrix of word vectors on `device`.
    pub fn to_tensor(&self, device: &Device) -> Tensor<2> {
        Tensor::from_data(
            TensorData::new(self.data.clone(), [self.len(), self.dims]),
            device,
        )
    }

    /// Errors unless there is exactly one row per class.
    pub(crate) fn check_classes(&self, classes: usize) -> Result<(), PrototypeError> {
        if self.len() != classes {
            return Err(PrototypeError::WordVectors {
                reason: format!("{} rows, expected one per class ({classes})", self.len()),
            });
        }
        Ok(())
    }
}

/// The paper's word-vector baseline: prototype k = w_k / \|w_k\| when d_w = D; otherwise w_k
/// times a seeded random Gaussian projection R^{d_w} -> R^D (entries N(0, 1/D), which keeps
/// cosines approximately, Johnson-Lindenstrauss), then normalised.
pub fn place_word_vectors(
    classes: usize,
    dims: usize,
    word_vectors: &WordVectors,
    options: &PlacementOptions,
) -> Result<Prototypes, PrototypeError> {
    check_shape(classes, dims)?;
    options.validate()?;
    word_vectors.check_classes(classes)?;
    let width = word_vectors.dims();
    let rows: Vec<f64> = if width == dims {
        word_vectors
            .as_slice()
            .iter()
            .map(|&v| f64::from(v))
            .collect()
    } else {
        let scale = 1.0 / (dims as f64).sqrt();
        let projection: Vec<f64> = Gaussian::new(options.seed, STREAM_PROJECTION)
            .samples(width * dims)
            .into_iter()
            .map(|v| v * scale)
            .collect();
        let mut rows = vec![0.0; classes * dims];
        for k in 0..classes {
            let target = &mut rows[k * dims..(k + 1) * dims];
            for (c, &w) in word_vectors.row(k).iter().enumerate() {
                let axis = &projection[c * dims..(c + 1) * dims];
                target
                    .iter_mut()
                    .zip(axis)
                    .for_each(|(t, a)| *t += f64::from(w) * a);
            }
        }
        rows
    };
    for (k, row) in rows.chunks_exact(dims).enumerate() {
        if row.iter().all(|&v| v == 0.0) {
            return Err(PrototypeError::WordVectors {
                reason: format!(
                    "row {k} ({}) projects to zero in {dims} dimensions",
                    word_vectors.names()[k]
                ),
            });
        }
    }
    Prototypes::from_rows_normalised(&rows, classes, dims)
}
