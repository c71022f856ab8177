//! Cosine similarity between network outputs and prototypes, the quantity
//! every loss of the paper is built from.

use burn::tensor::Tensor;

/// Added to the product of the norms in every cosine similarity,
/// `cos(z, p) = z.p / (|z| |p| + NORM_EPS)`, as the authors' code does
/// (`nn.CosineSimilarity(eps=1e-9)`). It keeps the cosine finite (0) at `z = 0`.
pub const NORM_EPS: f32 = 1e-9;

/// Smallest squared norm that enters the square root. Below it the norm is held at
/// `sqrt(MIN_SQUARED_NORM)` = 1e-15, far under [`NORM_EPS`], so the value of the
/// cosine does not change, but the derivative of `sqrt` at 0 (infinite, which times
/// the zero derivative of `|z|^2` would give NaN) is never evaluated.
const MIN_SQUARED_NORM: f32 = 1e-30;

/// Euclidean norms of the rows of `x` (N, D), as a column (N, 1), with a gradient that
/// stays finite at a zero row.
pub(crate) fn row_norms(x: Tensor<2>) -> Tensor<2> {
    x.square().sum_dim(1).clamp_min(MIN_SQUARED_NORM).sqrt()
}

/// Cosine similarity of every output with every prototype.
///
/// `z` is (N, D), `prototypes` is (K, D) (rows need not be unit length); the result is
/// (N, K) with entry `(i, k) = z_i . p_k / (|z_i| |p_k| + NORM_EPS)`.
/// This is the score of Eq. 3 (prediction) and the cosine inside Eq. 1 and Eq. 7.
///
/// # Panics
///
/// If `z` and `prototypes` have a different number of columns (a programming error:
/// the output dimension of the network must equal the prototypes' dimension).
pub fn cosine_similarity(z: Tensor<2>, prototypes: Tensor<2>) -> Tensor<2> {
    let z_norms = row_norms(z.clone()); // (N, 1)
    let p_norms = row_norms(prototypes.clone()).transpose(); // (1, K)
    let dots = z.matmul(prototypes.transpose()); // (N, K)
    dots / (z_norms * p_norms).add_scalar(NORM_EPS)
}

/// Cosine similarity of each output with its own target vector, row by row.
///
/// `z` and `targets` are both (N, D); the result is the column (N, 1) with
/// `cos(z_i, t_i) = z_i . t_i / (|z_i| |t_i| + NORM_EPS)`.
pub(crate) fn paired_cosine(z: Tensor<2>, targets: Tensor<2>) -> Tensor<2> {
    let z_norms = row_norms(z.clone());
    let t_norms = row_norms(targets.clone());
    let dots = (z * targets).sum_dim(1);
    dots / (z_norms * t_norms).add_scalar(NORM_EPS)
}

/// Cosine similarity of each output with one fixed vector (a regression pole).
///
/// `z` is (N, D), `pole` is (D); the result is the column (N, 1).
pub(crate) fn cosine_to_vector(z: Tensor<2>, pole: Tensor<1>) -> Tensor<2> {
    let [d] = pole.dims();
    let pole = pole.reshape([1, d]);
    let z_norms = row_norms(z.clone()); // (N, 1)
    let pole_norm = row_norms(pole.clone()); // (1, 1)
    let dots = z.matmul(pole.transpose()); // (N, 1)
    dots / (z_norms * pole_norm).add_scalar(NORM_EPS)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_util::*;

    #[test]
    fn cosine_matrix_by_hand() {
        let device = device();
        let z = tensor2(&[vec![3.0, 4.0], vec![0.0, 0.0]], &device);
        let p = tensor2(&[vec![1.0, 0.0], vec![0.0, 2.0], vec![-1.0, -1.0]], &device);
        let c = cosine_similarity(z, p);
        assert_eq!(c.dims(), [2, 3]);
        let c = floats(c);
        let expected = [0.6, 0.8, -7.0 / (5.0 * 2f32.sqrt()), 0.0, 0.0, 0.0];
        for (got, want) in c.iter().zip(expected) {
            assert_close(*got, want, 1e-6);
        }
    }

    #[test]
    fn paired_and_pole_cosines_agree_with_the_matrix() {
        let device = device();
        let mut rng = SplitMix(5);
        let z = tensor2(&rng.matrix(4, 3), &device);
        let pole = rng.matrix(1, 3);
        let full = floats(cosine_similarity(z.clone(), tensor2(&pole, &device)));
        let to_pole = floats(cosine_to_vector(
            z.clone(),
            Tensor::<1>::from_data(pole[0].as_slice(), &device),
        ));
        let repeated = tensor2(&vec![pole[0].clone(); 4], &device);
        let paired = floats(paired_cosine(z, repeated));
        for i in 0..4 {
            assert_close(to_pole[i], full[i], 1e-6);
            assert_close(paired[i], full[i], 1e-6);
        }
    }
}
