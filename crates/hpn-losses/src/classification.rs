//! Classification with fixed prototypes: the loss of Eq. 1 and the prediction of Eq. 3.

use burn::tensor::{Int, Tensor};

use crate::cosine::{cosine_similarity, paired_cosine};
use crate::reduction::Reduction;

/// The hyperspherical classification loss, Eq. 1 with the signed cosine:
/// `L_c = sum_i (1 - cos(z_i, p_{y_i}))^2`.
///
/// `z` is the network output (N, D), `prototypes` the class prototypes (K, D), row `k` for
/// class `k` (unit rows are expected but not required: the cosine ignores their length),
/// `labels` the classes (N) in `0..K`. Returns shape `[1]`; [`Reduction::Mean`] divides by N.
///
/// The paper prints `|cos|` in Eq. 1, but its own gradient (Eq. 2) and the authors' code use
/// the signed cosine, so an output pointing away from its prototype costs 4, not 0.
/// The gradient with respect to `z_i` is Eq. 2:
/// `2 (1 - cos) (cos z_i / |z_i|^2 - p / (|z_i| |p|))`.
///
/// # Panics
///
/// If the widths of `z` and `prototypes` differ or a label is not below K
/// (checked by Burn's `select`; validate labels when reading the data set).
pub fn classification_loss(
    z: Tensor<2>,
    prototypes: Tensor<2>,
    labels: Tensor<1, Int>,
    reduction: Reduction,
) -> Tensor<1> {
    let targets = prototypes.select(0, labels); // (N, D): p_{y_i}
    let cos = paired_cosine(z, targets);
    let per_sample = cos.neg().add_scalar(1.0).square();
    reduction.apply(per_sample)
}

/// The predicted class of each output, Eq. 3: `argmax_k cos(z_i, p_k)`, shape (N).
///
/// Ties go to the lowest class index.
pub fn predict(z: Tensor<2>, prototypes: Tensor<2>) -> Tensor<1, Int> {
    let [n, _] = z.dims();
    cosine_similarity(z, prototypes).argmax(1).reshape([n])
}

/// The `k` classes of highest cosine similarity for each output, best first, shape (N, k).
///
/// `k` is held within `1..=K` (K = number of prototypes), so asking for more classes than
/// there are returns all of them, ranked, and `k = 0` is read as 1.
pub fn predict_top_k(z: Tensor<2>, prototypes: Tensor<2>, k: usize) -> Tensor<2, Int> {
    let [classes, _] = prototypes.dims();
    let k = k.clamp(1, classes.max(1));
    cosine_similarity(z, prototypes)
        .argsort_descending(1)
        .narrow(1, 0, k)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_util::*;

    /// Eq. 2 evaluated on the host in f64: d/dz (1 - cos(z, p))^2.
    fn eq2_gradient(z: &[f32], p: &[f32]) -> Vec<f64> {
        let dot: f64 = z
            .iter()
            .zip(p)
            .map(|(a, b)| f64::from(*a) * f64::from(*b))
            .sum();
        let nz = z.iter().map(|a| f64::from(*a).powi(2)).sum::<f64>().sqrt();
        let np = p.iter().map(|a| f64::from(*a).powi(2)).sum::<f64>().sqrt();
        let cos = dot / (nz * np);
        z.iter()
            .zip(p)
            .map(|(zj, pj)| {
                2.0 * (1.0 - cos) * (cos * f64::from(*zj) / (nz * nz) - f64::from(*pj) / (nz * np))
            })
            .collect()
    }

    #[test]
    fn autodiff_gradient_equals_eq2_closed_form() {
        let device = device().autodiff();
        let mut rng = SplitMix(7);
        for trial in 0..5 {
            let (n, d, k) = (6, 5 + trial, 4);
            let z_rows = rng.matrix(n, d);
            // Prototypes of different lengths: Eq. 2 carries |p| explicitly.
            let p_rows: Vec<Vec<f32>> = rng
                .matrix(k, d)
                .into_iter()
                .enumerate()
                .map(|(i, row)| row.into_iter().map(|x| x * (0.5 + i as f32)).collect())
                .collect();
            let label_values: Vec<i64> = (0..n as i64)
                .map(|i| (i * 3 + trial as i64) % k as i64)
                .collect();

            let z = tensor2(&z_rows, &device).require_grad();
            let p = tensor2(&p_rows, &device);
            let loss =
                classification_loss(z.clone(), p, labels(&label_values, &device), Reduction::Sum);
            let grads = loss.backward();
            let grad = floats(z.grad(&grads).expect("z has a gradient"));

            for i in 0..n {
                let expected = eq2_gradient(&z_rows[i], &p_rows[label_values[i] as usize]);
                for j in 0..d {
                    let got = f64::from(grad[i * d + j]);
                    assert!(
                        (got - expected[j]).abs() < 1e-5,
                        "trial {trial}, sample {i}, dim {j}: autodiff {got}, Eq. 2 {}",
                        expected[j]
                    );
                }
            }
        }
    }

    #[test]
    fn hand_computed_losses() {
        let device = device();
        let p = tensor2(&[vec![1.0, 0.0], vec![0.0, 1.0]], &device);
        // z0 at 45 degrees to p0: cos = 1/sqrt(2), loss (1 - 0.7071)^2 = 0.0857864.
        // z1 = (3, 4) against p1: cos = 0.8, loss 0.04.
        // z2 = (0, -2) against p0: cos = 0, loss 1.
        let z = tensor2(&[vec![1.0, 1.0], vec![3.0, 4.0], vec![0.0, -2.0]], &device);
        let loss = scalar(classification_loss(
            z,
            p,
            labels(&[0, 1, 0], &device),
            Reduction::Sum,
        ));
        let expected = (1.0 - 0.5f32.sqrt()).powi(2) + 0.04 + 1.0;
        assert_close(loss, expected, 1e-5);
    }

    #[test]
    fn output_opposite_its_prototype_costs_four() {
        let device = device();
        let p = tensor2(&[vec![0.6, 0.8, 0.0], vec![0.0, 0.0, 1.0]], &device);
        let z = tensor2(&[vec![-0.6, -0.8, 0.0], vec![0.0, 0.0, -5.0]], &device);
        let loss = scalar(classification_loss(
            z,
            p,
            labels(&[0, 1], &device),
            Reduction::Mean,
        ));
        assert_close(loss, 4.0, 1e-5);
    }

    #[test]
    fn zero_output_gives_unit_loss_and_finite_gradient() {
        let device = device().autodiff();
        let p = tensor2(&[vec![1.0, 0.0, 0.0], vec![0.0, 1.0, 0.0]], &device);
        let z = Tensor::<2>::zeros([3, 3], &device).require_grad();
        let loss = classification_loss(z.clone(), p, labels(&[0, 1, 1], &device), Reduction::Sum);
        let grads = loss.backward();
        assert_close(scalar(loss), 3.0, 1e-6);
        let grad = floats(z.grad(&grads).expect("z has a gradient"));
        assert!(
            grad.iter().all(|g| g.is_finite()),
            "gradient at z = 0: {grad:?}"
        );
        // The gradient pulls each zero output towards its own prototype.
        assert!(grad[0] < 0.0 && grad[4] < 0.0 && grad[7] < 0.0);
    }

    #[test]
    fn prototype_length_does_not_matter() {
        let device = device();
        let mut rng = SplitMix(11);
        let z = tensor2(&rng.matrix(8, 4), &device);
        let unit = tensor2(
            &[vec![1.0, 0.0, 0.0, 0.0], vec![0.0, 0.6, 0.8, 0.0]],
            &device,
        );
        let scaled = tensor2(
            &[vec![7.0, 0.0, 0.0, 0.0], vec![0.0, 0.06, 0.08, 0.0]],
            &device,
        );
        let y = [0, 1, 1, 0, 1, 0, 0, 1];
        let a = scalar(classification_loss(
            z.clone(),
            unit,
            labels(&y, &device),
            Reduction::Sum,
        ));
        let b = scalar(classification_loss(
            z,
            scaled,
            labels(&y, &device),
            Reduction::Sum,
        ));
        assert_close(a, b, 1e-5);
    }

    #[test]
    fn mean_is_sum_over_batch_size() {
        let device = device();
        let mut rng = SplitMix(3);
        let z = tensor2(&rng.matrix(5, 3), &device);
        let p = tensor2(&rng.matrix(4, 3), &device);
        let y = [3, 0, 2, 2, 1];
        let sum = scalar(classification_loss(
            z.clone(),
            p.clone(),
            labels(&y, &device),
            Reduction::Sum,
        ));
        let mean = scalar(classification_loss(
            z,
            p,
            labels(&y, &device),
            Reduction::Mean,
        ));
        assert!(sum > 0.0);
        assert_close(mean, sum / 5.0, 1e-6);
    }

    #[test]
    fn prediction_picks_largest_cosine_not_largest_dot() {
        let device = device();
        // Prototype 1 is long: the dot product would prefer it, the cosine does not.
        let p = tensor2(&[vec![1.0, 0.0], vec![0.0, 10.0], vec![-1.0, 0.0]], &device);
        let z = tensor2(&[vec![1.0, 0.9], vec![-2.0, 0.1], vec![0.1, 3.0]], &device);
        assert_eq!(ints(predict(z, p)), vec![0, 2, 1]);
    }

    #[test]
    fn top_k_ranks_classes_by_cosine() {
        let device = device();
        // Four prototypes at 0, 90, 180, 270 degrees; z at 30 degrees ranks 0, 90, 270, 180.
        let p = tensor2(
            &[
                vec![1.0, 0.0],
                vec![0.0, 1.0],
                vec![-1.0, 0.0],
                vec![0.0, -1.0],
            ],
            &device,
        );
        let angle = 30f32.to_radians();
        let z = tensor2(&[vec![angle.cos(), angle.sin()], vec![-1.0, -0.2]], &device);
        let top2 = predict_top_k(z.clone(), p.clone(), 2);
        assert_eq!(top2.dims(), [2, 2]);
        assert_eq!(ints(top2), vec![0, 1, 2, 3]);
        // Asking for more than K returns all K, ranked.
        assert_eq!(
            ints(predict_top_k(z.clone(), p.clone(), 9)),
            vec![0, 1, 3, 2, 2, 3, 1, 0]
        );
        assert_eq!(ints(predict_top_k(z, p, 0)), vec![0, 2]);
    }
}
