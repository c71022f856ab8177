//! Reading and writing 2-d numpy `.npy` matrices, the file format of the authors' prototype and
//! word-vector files.

use std::path::Path;

use npyz::{NpyFile, Order, TypeChar, WriterBuilder};

use crate::error::PrototypeError;

/// A dense matrix read from a `.npy` file, converted to row-major `f64`.
#[derive(Debug, Clone)]
pub(crate) struct NpyMatrix {
    pub rows: usize,
    pub cols: usize,
    /// Row-major values.
    pub data: Vec<f64>,
}

fn npy_error(path: &Path, reason: impl Into<String>) -> PrototypeError {
    PrototypeError::Npy {
        path: path.to_path_buf(),
        reason: reason.into(),
    }
}

/// Reads a 2-d `float32` or `float64` array (either byte order, C or Fortran order) into a
/// row-major `f64` matrix.
pub(crate) fn read_matrix(path: &Path) -> Result<NpyMatrix, PrototypeError> {
    let bytes = std::fs::read(path).map_err(|source| PrototypeError::Io {
        action: "read",
        path: path.to_path_buf(),
        source,
    })?;
    let file = NpyFile::new(&bytes[..])
        .map_err(|e| npy_error(path, format!("not a valid .npy file ({e})")))?;
    let shape = file.shape().to_vec();
    let [rows, cols] = shape[..] else {
        return Err(npy_error(
            path,
            format!("array has shape {shape:?}, expected a 2-d array (rows, columns)"),
        ));
    };
    let (Ok(rows), Ok(cols)) = (usize::try_from(rows), usize::try_from(cols)) else {
        return Err(npy_error(path, format!("shape {shape:?} is too large")));
    };
    let Some(count) = rows.checked_mul(cols) else {
        return Err(npy_error(path, format!("shape {shape:?} is too large")));
    };
    let dtype = file.dtype();
    let npyz::DType::Plain(type_str) = &dtype else {
        return Err(npy_error(
            path,
            format!(
                "dtype {} is structured, expected float32 or float64",
                dtype.descr()
            ),
        ));
    };
    let order = file.order();
    let truncated = |e: std::io::Error| {
        npy_error(
            path,
            format!("cannot read {count} values of shape ({rows}, {cols}): {e} (truncated file?)"),
        )
    };
    let stored: Vec<f64> = match (type_str.type_char(), type_str.size_field()) {
        (TypeChar::Float, 4) => file
            .into_vec::<f32>()
            .map_err(truncated)?
            .into_iter()
            .map(f64::from)
            .collect(),
        (TypeChar::Float, 8) => file.into_vec::<f64>().map_err(truncated)?,
        _ => {
            return Err(npy_error(
                path,
                format!(
                    "dtype '{type_str}' is not supported, expected float32 ('<f4') or float64 ('<f8')"
                ),
            ));
        }
    };
    if stored.len() != count {
        return Err(npy_error(
            path,
            format!(
                "holds {} values, expected {count} for shape ({rows}, {cols})",
                stored.len()
            ),
        ));
    }
    let data = match order {
        Order::C => stored,
        Order::Fortran => {
            let mut data = vec![0.0; count];
            for r in 0..rows {
                for c in 0..cols {
                    data[r * cols + c] = stored[c * rows + r];
                }
            }
            data
        }
    };
    Ok(NpyMatrix { rows, cols, data })
}

/// Writes a row-major `f32` matrix as a numpy `float32` array of shape (rows, cols), C order.
///
/// The file is written atomically (`hpn_common::write_atomic`), so a reader never sees a
/// half-written file.
pub(crate) fn write_matrix(
    path: &Path,
    data: &[f32],
    rows: usize,
    cols: usize,
) -> Result<(), PrototypeError> {
    let io_error = |source: std::io::Error| PrototypeError::Io {
        action: "write",
        path: path.to_path_buf(),
        source,
    };
    let mut bytes = Vec::with_capacity(128 + 4 * data.len());
    {
        let mut writer = npyz::WriteOptions::<f32>::new()
            .default_dtype()
            .shape(&[rows as u64, cols as u64])
            .writer(&mut bytes)
            .begin_nd()
            .map_err(io_error)?;
        writer.extend(data.iter().copied()).map_err(io_error)?;
        writer.finish().map_err(io_error)?;
    }
    hpn_common::write_atomic(path, &bytes).map_err(io_error)
}

impl crate::Prototypes {
    /// Saves the prototypes as the authors do: a numpy `float32` array of shape (K, D), C order,
    /// row k = class k (name it with [`Prototypes::file_name`](crate::Prototypes::file_name)).
    pub fn save_npy(&self, path: &Path) -> Result<(), PrototypeError> {
        write_matrix(path, self.as_slice(), self.classes(), self.dims())
    }

    /// Loads prototypes from a `.npy` array of shape (K, D): `float32` or `float64`, C or
    /// Fortran order, as numpy writes them. Every row must be finite with unit norm.
    pub fn load_npy(path: &Path) -> Result<Self, PrototypeError> {
        let matrix = read_matrix(path)?;
        let data = matrix.data.iter().map(|&v| v as f32).collect();
        Self::new(data, matrix.rows, matrix.cols).map_err(|source| PrototypeError::InvalidFile {
            path: path.to_path_buf(),
            source: Box::new(source),
        })
    }
}
