//! Layouts with a closed form: the regular simplex, the cross-polytope, the circle and one-hot.
//!
//! Each builder returns row-major `f64` rows; [`embed`] turns them into [`Prototypes`] in R^D,
//! optionally in a seeded random orientation.

use crate::error::PrototypeError;
use crate::prototypes::Prototypes;
use crate::random::{Gaussian, random_orthonormal_rows};

/// The regular simplex: K unit vectors in R^{K-1} with every pairwise cosine exactly -1/(K-1),
/// the best any K points can do (\|sum_i p_i\|^2 >= 0 forces the mean cosine to be >= -1/(K-1)).
///
/// Built from the centred standard basis e_i - 1/K of R^K written in the Helmert basis of the
/// plane orthogonal to (1, ..., 1): coordinate k (k = 1..K-1) of vertex i is
/// 1/sqrt(k(k+1)) if i < k, -k/sqrt(k(k+1)) if i = k and 0 otherwise, each row then normalised.
/// Returns (rows, K - 1).
pub(crate) fn simplex_rows(classes: usize) -> (Vec<f64>, usize) {
    let dims = classes - 1;
    let mut rows = vec![0.0; classes * dims];
    for k in 1..classes {
        let scale = 1.0 / ((k * (k + 1)) as f64).sqrt();
        for i in 0..k {
            rows[i * dims + (k - 1)] = scale;
        }
        rows[k * dims + (k - 1)] = -(k as f64) * scale;
    }
    normalise_rows(&mut rows, dims);
    (rows, dims)
}

/// K of the 2D vertices +-e_i of the cross-polytope in R^D (D < K <= 2D): class i < D gets
/// +e_i, class i >= D gets -e_{i-D}. Every pairwise cosine is 0 or -1, so the largest is 0,
/// which is optimal for K >= D + 2 (Rankin's bound).
pub(crate) fn cross_polytope_rows(classes: usize, dims: usize) -> Vec<f64> {
    let mut rows = vec![0.0; classes * dims];
    for i in 0..classes {
        if i < dims {
            rows[i * dims + i] = 1.0;
        } else {
            rows[i * dims + (i - dims)] = -1.0;
        }
    }
    rows
}

/// K points on the unit circle at angles 2 pi k / K (the paper's D = 2 layout, optimal for
/// every K: the largest cosine is cos(2 pi / K)).
pub(crate) fn circle_rows(classes: usize) -> Vec<f64> {
    (0..classes)
        .flat_map(|k| {
            let angle = std::f64::consts::TAU * k as f64 / classes as f64;
            [angle.cos(), angle.sin()]
        })
        .collect()
}

/// The standard basis: class k gets e_k in R^D (D >= K), the paper's one-hot baseline.
pub(crate) fn one_hot_rows(classes: usize, dims: usize) -> Vec<f64> {
    let mut rows = vec![0.0; classes * dims];
    for k in 0..classes {
        rows[k * dims + k] = 1.0;
    }
    rows
}

/// Places K rows of `width` coordinates into R^D (`width <= dims`): multiplied by `width` random
/// orthonormal vectors of R^D when `rotate` (a rotation, so every cosine is unchanged), padded
/// with zeros otherwise. Rows are re-normalised in `f64` before rounding to `f32`.
pub(crate) fn embed(
    rows: &[f64],
    classes: usize,
    width: usize,
    dims: usize,
    rotate: Option<&mut Gaussian>,
) -> Result<Prototypes, PrototypeError> {
    let mut out = vec![0.0; classes * dims];
    match rotate {
        Some(gaussian) => {
            let frame = random_orthonormal_rows(width, dims, gaussian);
            for i in 0..classes {
                let target = &mut out[i * dims..(i + 1) * dims];
                for (c, &x) in rows[i * width..(i + 1) * width].iter().enumerate() {
                    if x != 0.0 {
                        let axis = &frame[c * dims..(c + 1) * dims];
                        target.iter_mut().zip(axis).for_each(|(t, a)| *t += x * a);
                    }
                }
            }
        }
        None => {
            for i in 0..classes {
                out[i * dims..i * dims + width].copy_from_slice(&rows[i * width..(i + 1) * width]);
            }
        }
    }
    Prototypes::from_rows_normalised(&out, classes, dims)
}

/// Scales every row (of length `width`) to unit Euclidean norm, in place.
pub(crate) fn normalise_rows(rows: &mut [f64], width: usize) {
    for row in rows.chunks_exact_mut(width) {
        let norm = row.iter().map(|v| v * v).sum::<f64>().sqrt();
        if norm > 0.0 {
            row.iter_mut().for_each(|v| *v /= norm);
        }
    }
}
