//! The paper's baselines: softmax cross-entropy (Table 4), squared error regression
//! (Table 5) and their multi-task sum (Table 6).

use burn::tensor::activation::log_softmax;
use burn::tensor::{Int, Tensor};

use crate::reduction::Reduction;
use crate::regression::RegressionBounds;

/// Softmax cross-entropy `sum_i -log softmax(o_i)_{y_i}` of logits (N, K) against
/// labels (N) in `0..K`. Returns shape `[1]`.
///
/// # Panics
///
/// If a label is not below K (checked by Burn's `gather`).
pub fn softmax_cross_entropy(
    logits: Tensor<2>,
    labels: Tensor<1, Int>,
    reduction: Reduction,
) -> Tensor<1> {
    let [n] = labels.dims();
    let log_probs = log_softmax(logits, 1);
    let picked = log_probs.gather(1, labels.reshape([n, 1])); // (N, 1)
    reduction.apply(picked.neg())
}

/// The squared-error regression baseline of Table 5: the target is normalised to `[0, 1]`,
/// `t_i = (y_i - v_l) / (v_u - v_l)`, the single output (N, 1) is clamped to `[0, 1]`, and the
/// loss is `sum_i (clamp(o_i, 0, 1) - t_i)^2`. Returns shape `[1]`.
///
/// The clamp has zero gradient outside `[0, 1]`: an output that leaves the range gets no
/// signal pulling it back, which is part of why this baseline is weaker.
pub fn mse_regression_loss(
    output: Tensor<2>,
    targets: Tensor<1>,
    bounds: RegressionBounds,
    reduction: Reduction,
) -> Tensor<1> {
    let [n] = targets.dims();
    let normalised = targets
        .sub_scalar(bounds.lower)
        .div_scalar(bounds.range())
        .reshape([n, 1]);
    let clamped = output.clamp(0.0, 1.0);
    reduction.apply((clamped - normalised).square())
}

/// The value the baseline's output (N, 1) stands for: `v_l + clamp(o, 0, 1) (v_u - v_l)`,
/// shape (N).
pub fn decode_mse(output: Tensor<2>, bounds: RegressionBounds) -> Tensor<1> {
    let [n, _] = output.dims();
    output
        .clamp(0.0, 1.0)
        .mul_scalar(bounds.range())
        .add_scalar(bounds.lower)
        .reshape([n])
}

/// The multi-task baseline of Table 6: `(1 - w) L_mse + w L_ce` on one output (N, 1 + K)
/// whose column 0 is the regression output ([`mse_regression_loss`]) and columns `1..` the
/// class logits ([`softmax_cross_entropy`]). Returns shape `[1]`.
pub fn multitask_loss(
    output: Tensor<2>,
    labels: Tensor<1, Int>,
    targets: Tensor<1>,
    bounds: RegressionBounds,
    task_weight: f32,
    reduction: Reduction,
) -> Tensor<1> {
    let [n, width] = output.dims();
    let regression = output.clone().slice([0..n, 0..1]);
    let logits = output.slice([0..n, 1..width]);
    mse_regression_loss(regression, targets, bounds, reduction).mul_scalar(1.0 - task_weight)
        + softmax_cross_entropy(logits, labels, reduction).mul_scalar(task_weight)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_util::*;

    #[test]
    fn cross_entropy_matches_log_sum_exp_by_hand() {
        let device = device();
        let logits = tensor2(&[vec![1.0, 2.0, 3.0], vec![0.0, 0.0, 0.0]], &device);
        let lse0 = (1f32.exp() + 2f32.exp() + 3f32.exp()).ln();
        // Sample 0, label 0: lse - 1. Sample 1, label 2: ln 3.
        let expected = (lse0 - 1.0) + 3f32.ln();
        let sum = scalar(softmax_cross_entropy(
            logits.clone(),
            labels(&[0, 2], &device),
            Reduction::Sum,
        ));
        assert_close(sum, expected, 1e-5);
        let mean = scalar(softmax_cross_entropy(
            logits,
            labels(&[0, 2], &device),
            Reduction::Mean,
        ));
        assert_close(mean, expected / 2.0, 1e-5);
    }

    #[test]
    fn mse_normalises_targets_and_clamps_outputs() {
        let device = device();
        let b = RegressionBounds::new(100.0, 200.0).unwrap();
        // Targets 150, 200, 100 -> 0.5, 1, 0. Outputs 0.25, 1.7 (clamped to 1), -3 (clamped to 0).
        let out = tensor2(&[vec![0.25], vec![1.7], vec![-3.0]], &device);
        let y = Tensor::<1>::from_data([150.0, 200.0, 100.0], &device);
        let loss = scalar(mse_regression_loss(out.clone(), y, b, Reduction::Sum));
        assert_close(loss, 0.0625, 1e-6);
        assert_eq!(floats(decode_mse(out, b)), vec![125.0, 200.0, 100.0]);
    }

    #[test]
    fn multitask_weights_mse_and_cross_entropy() {
        let device = device();
        let b = RegressionBounds::new(0.0, 1.0).unwrap();
        // Column 0: regression output 0.5 against target 1 (0.25); columns 1..: two equal
        // logits (ln 2).
        let out = tensor2(&[vec![0.5, 0.0, 0.0]], &device);
        let y = Tensor::<1>::from_data([1.0], &device);
        let loss = scalar(multitask_loss(
            out,
            labels(&[1], &device),
            y,
            b,
            0.2,
            Reduction::Sum,
        ));
        assert_close(loss, 0.8 * 0.25 + 0.2 * 2f32.ln(), 1e-6);
    }
}
