//! Joint regression and classification in one output space (Sec. 2.3).

use burn::tensor::{Int, Tensor};

use crate::classification::classification_loss;
use crate::reduction::Reduction;
use crate::regression::{RegressionBounds, regression_loss};

/// The class part `z[:, 1..]` (N, D - 1) of a joint output, whose axis 0 carries the
/// regression poles; predict classes on it with [`predict`](crate::predict) against the
/// (K, D - 1) class prototypes.
///
/// # Panics
///
/// If `z` has fewer than 2 columns (there is no class subspace).
pub fn class_subspace(z: Tensor<2>) -> Tensor<2> {
    let [n, d] = z.dims();
    z.slice([0..n, 1..d])
}

/// The joint loss of Sec. 2.3: regression (Eq. 7) of the full output `z` (N, D) against
/// `upper_pole` (D, the poles lie on axis 0, `p_u = e_0` in the paper), plus classification
/// (Eq. 1) of the class subspace `z[:, 1..]` against `class_prototypes` (K, D - 1).
///
/// With `task_weight = None` the two are summed with no task weight, as the paper states:
/// `L = L_r + L_c`. With `task_weight = Some(w)` the result is `(1 - w) L_r + w L_c`, the
/// weighting of the authors' code (which uses `w = 0.5`) and of the paper's Table 6.
/// The reduction applies to both terms. Returns shape `[1]`.
#[allow(clippy::too_many_arguments)]
pub fn joint_loss(
    z: Tensor<2>,
    upper_pole: Tensor<1>,
    class_prototypes: Tensor<2>,
    labels: Tensor<1, Int>,
    targets: Tensor<1>,
    bounds: RegressionBounds,
    task_weight: Option<f32>,
    reduction: Reduction,
) -> Tensor<1> {
    let regression = regression_loss(z.clone(), upper_pole, targets, bounds, reduction);
    let classification =
        classification_loss(class_subspace(z), class_prototypes, labels, reduction);
    match task_weight {
        None => regression + classification,
        Some(w) => regression.mul_scalar(1.0 - w) + classification.mul_scalar(w),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_util::*;

    #[test]
    fn class_subspace_drops_axis_zero() {
        let device = device();
        let z = tensor2(&[vec![1.0, 2.0, 3.0], vec![4.0, 5.0, 6.0]], &device);
        let sub = class_subspace(z);
        assert_eq!(sub.dims(), [2, 2]);
        assert_eq!(floats(sub), vec![2.0, 3.0, 5.0, 6.0]);
    }

    #[test]
    fn hand_computed_joint_loss() {
        let device = device();
        let bounds = RegressionBounds::new(0.0, 4.0).unwrap();
        let pole = Tensor::<1>::from_data([1.0, 0.0, 0.0], &device);
        let classes = tensor2(&[vec![1.0, 0.0], vec![0.0, 1.0]], &device);
        // z = (1, 1, 0): cos to e_0 = 1/sqrt(2); target 4 -> r = 1: L_r = (1 - 0.7071)^2.
        // Class part (1, 0) against class 0: L_c = 0.
        // z = (0, 0, 2): cos to e_0 = 0; target 2 -> r = 0: L_r = 0.
        // Class part (0, 2) against class 0: cos 0, L_c = 1.
        let z = tensor2(&[vec![1.0, 1.0, 0.0], vec![0.0, 0.0, 2.0]], &device);
        let y = Tensor::<1>::from_data([4.0, 2.0], &device);
        let l_r = (1.0 - 0.5f32.sqrt()).powi(2);
        let l_c = 1.0;
        let run = |weight| {
            scalar(joint_loss(
                z.clone(),
                pole.clone(),
                classes.clone(),
                labels(&[0, 0], &device),
                y.clone(),
                bounds,
                weight,
                Reduction::Sum,
            ))
        };
        assert_close(run(None), l_r + l_c, 1e-5);
        assert_close(run(Some(0.25)), 0.75 * l_r + 0.25 * l_c, 1e-5);
        assert_close(run(Some(1.0)), l_c, 1e-5);
    }
}
