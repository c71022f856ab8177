//! [`Prototypes`]: K unit vectors in R^D, one per class.

use burn::tensor::{Device, Tensor, TensorData};

use crate::error::PrototypeError;

/// How far a row's Euclidean norm may be from 1 and still count as a unit vector.
pub const UNIT_NORM_TOLERANCE: f32 = 1e-4;

/// Class prototypes on the unit hypersphere S^{D-1} (paper Sec. 2.1): K rows p_k in R^D with
/// \|p_k\| = 1, row k belonging to class k.
///
/// Stored row-major as `f32`, the layout of the authors' `prototypes-{D}d-{K}c.npy` files.
#[derive(Clone, Debug, PartialEq)]
pub struct Prototypes {
    data: Vec<f32>,
    classes: usize,
    dims: usize,
}

impl Prototypes {
    /// Wraps `classes * dims` numbers (row-major, row k = class k) after checking the shape,
    /// that every value is finite and that every row has unit norm (within
    /// [`UNIT_NORM_TOLERANCE`]).
    pub fn new(data: Vec<f32>, classes: usize, dims: usize) -> Result<Self, PrototypeError> {
        if classes < 1 {
            return Err(PrototypeError::TooFewClasses {
                classes,
                minimum: 1,
            });
        }
        if dims < 1 {
            return Err(PrototypeError::TooFewDims { dims });
        }
        if classes.checked_mul(dims) != Some(data.len()) {
            return Err(PrototypeError::ShapeMismatch {
                len: data.len(),
                classes,
                dims,
            });
        }
        for (row, values) in data.chunks_exact(dims).enumerate() {
            if let Some(&value) = values.iter().find(|v| !v.is_finite()) {
                return Err(PrototypeError::NonFinite { row, value });
            }
            let norm = values
                .iter()
                .map(|&v| f64::from(v) * f64::from(v))
                .sum::<f64>()
                .sqrt() as f32;
            if (norm - 1.0).abs() > UNIT_NORM_TOLERANCE {
                return Err(PrototypeError::NotUnitNorm {
                    row,
                    norm,
                    tolerance: UNIT_NORM_TOLERANCE,
                });
            }
        }
        Ok(Self {
            data,
            classes,
            dims,
        })
    }

    /// Wraps rows already known to be finite unit vectors of the right shape.
    pub(crate) fn new_unchecked(data: Vec<f32>, classes: usize, dims: usize) -> Self {
        debug_assert_eq!(data.len(), classes * dims);
        Self {
            data,
            classes,
            dims,
        }
    }

    /// Normalises every row of a row-major `f64` matrix to unit length (in `f64`, then rounds to
    /// `f32`) and wraps it. Rows of zero length are rejected as non-unit.
    pub(crate) fn from_rows_normalised(
        rows: &[f64],
        classes: usize,
        dims: usize,
    ) -> Result<Self, PrototypeError> {
        let mut data = Vec::with_capacity(rows.len());
        for row in rows.chunks_exact(dims.max(1)) {
            let norm = row.iter().map(|v| v * v).sum::<f64>().sqrt();
            data.extend(row.iter().map(|v| (v / norm) as f32));
        }
        Self::new(data, classes, dims)
    }

    /// The rows of an optimised (K, D) tensor, re-normalised in `f64`; a row that is not finite
    /// or has zero length gives `on_bad()` (the optimisation diverged).
    pub(crate) fn from_optimised(
        p: Tensor<2>,
        on_bad: impl FnOnce() -> PrototypeError,
    ) -> Result<Self, PrototypeError> {
        let [classes, dims] = p.dims();
        let rows: Vec<f64> = crate::tensor_io::read_f32(p)?
            .into_iter()
            .map(f64::from)
            .collect();
        Self::from_rows_normalised(&rows, classes, dims).map_err(|_| on_bad())
    }

    /// K, the number of classes (rows).
    pub fn classes(&self) -> usize {
        self.classes
    }

    /// D, the dimension of the space the prototypes live in (columns).
    pub fn dims(&self) -> usize {
        self.dims
    }

    /// The prototype p_k of class `k`: a unit vector of length D.
    ///
    /// # Panics
    /// If `k >= classes()`, like slice indexing.
    pub fn row(&self, k: usize) -> &[f32] {
        &self.data[k * self.dims..(k + 1) * self.dims]
    }

    /// All rows, row-major: `classes() * dims()` numbers.
    pub fn as_slice(&self) -> &[f32] {
        &self.data
    }

    /// The prototype matrix P as a (K, D) tensor on `device`.
    pub fn to_tensor(&self, device: &Device) -> Tensor<2> {
        Tensor::from_data(
            TensorData::new(self.data.clone(), [self.classes, self.dims]),
            device,
        )
    }

    /// The authors' file name for K prototypes in D dimensions: `prototypes-{D}d-{K}c.npy`.
    pub fn file_name(classes: usize, dims: usize) -> String {
        format!("prototypes-{dims}d-{classes}c.npy")
    }

    /// The cosine similarity cos(p_i, p_j) = p_i . p_j of two prototypes, accumulated in `f64`.
    pub(crate) fn cosine(&self, i: usize, j: usize) -> f64 {
        dot(self.row(i), self.row(j))
    }
}

/// The dot product of two equally long `f32` slices, accumulated in `f64`.
pub(crate) fn dot(a: &[f32], b: &[f32]) -> f64 {
    a.iter()
        .zip(b)
        .map(|(&x, &y)| f64::from(x) * f64::from(y))
        .sum()
}
