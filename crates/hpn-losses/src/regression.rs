//! Regression on the hypersphere (Sec. 2.2, Eq. 7): a target value is encoded as the cosine
//! between the output and the upper pole `p_u` (the lower pole is `p_l = -p_u`).

use burn::tensor::Tensor;

use crate::cosine::cosine_to_vector;
use crate::error::LossError;
use crate::reduction::Reduction;

/// The range `[v_l, v_u]` of a regression target (Eq. 7), usually the training minimum and
/// maximum; the authors hard-code 1000 and 1932 for OmniArt creation years.
///
/// A value `y` is encoded as `r = 2 (y - v_l) / (v_u - v_l) - 1` (so `v_l -> -1`, `v_u -> 1`)
/// and decoded back with `y = v_l + (r + 1) / 2 (v_u - v_l)`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RegressionBounds {
    /// `v_l`, the value of the lower pole.
    pub lower: f32,
    /// `v_u`, the value of the upper pole.
    pub upper: f32,
}

impl RegressionBounds {
    /// Bounds `[lower, upper]`; both must be finite with `lower < upper`.
    pub fn new(lower: f32, upper: f32) -> Result<Self, LossError> {
        if lower.is_finite() && upper.is_finite() && lower < upper && (upper - lower).is_finite() {
            Ok(Self { lower, upper })
        } else {
            Err(LossError::InvalidBounds { lower, upper })
        }
    }

    /// `v_u - v_l`.
    pub fn range(&self) -> f32 {
        self.upper - self.lower
    }

    /// Eq. 7's target cosine: `r = 2 (y - v_l) / (v_u - v_l) - 1`.
    ///
    /// Values outside the bounds map outside `[-1, 1]`; they are not clipped.
    pub fn encode(&self, y: f32) -> f32 {
        2.0 * (y - self.lower) / self.range() - 1.0
    }

    /// The inverse of [`encode`](Self::encode): `y = v_l + (r + 1) / 2 (v_u - v_l)`.
    pub fn decode(&self, r: f32) -> f32 {
        self.lower + (r + 1.0) / 2.0 * self.range()
    }

    /// [`encode`](Self::encode) applied to every element.
    pub fn encode_tensor<const D: usize>(&self, y: Tensor<D>) -> Tensor<D> {
        y.sub_scalar(self.lower)
            .mul_scalar(2.0 / self.range())
            .sub_scalar(1.0)
    }

    /// [`decode`](Self::decode) applied to every element.
    pub fn decode_tensor<const D: usize>(&self, r: Tensor<D>) -> Tensor<D> {
        r.add_scalar(1.0)
            .mul_scalar(self.range() / 2.0)
            .add_scalar(self.lower)
    }
}

/// The hyperspherical regression loss, Eq. 7: `L_r = sum_i (r_i - cos(z_i, p_u))^2` with
/// `r_i` = [`RegressionBounds::encode`]`(y_i)`.
///
/// `z` is (N, D), `upper_pole` the upper prototype `p_u` (D), `targets` the raw values
/// `y_i` (N). Returns shape `[1]`.
pub fn regression_loss(
    z: Tensor<2>,
    upper_pole: Tensor<1>,
    targets: Tensor<1>,
    bounds: RegressionBounds,
    reduction: Reduction,
) -> Tensor<1> {
    let [n, _] = z.dims();
    let r = bounds.encode_tensor(targets).reshape([n, 1]);
    let cos = cosine_to_vector(z, upper_pole);
    reduction.apply((r - cos).square())
}

/// The value an output stands for (Sec. 2.2): `y = v_l + (cos(z, p_u) + 1) / 2 (v_u - v_l)`,
/// shape (N).
pub fn decode_regression(
    z: Tensor<2>,
    upper_pole: Tensor<1>,
    bounds: RegressionBounds,
) -> Tensor<1> {
    let [n, _] = z.dims();
    bounds.decode_tensor(cosine_to_vector(z, upper_pole).reshape([n]))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_util::*;
    use proptest::prelude::*;

    fn years() -> RegressionBounds {
        RegressionBounds::new(1000.0, 1932.0).expect("valid bounds")
    }

    #[test]
    fn bounds_reject_empty_reversed_and_non_finite_ranges() {
        for (lower, upper) in [
            (1.0, 1.0),
            (2.0, 1.0),
            (f32::NAN, 1.0),
            (0.0, f32::INFINITY),
        ] {
            let error = RegressionBounds::new(lower, upper).expect_err("invalid bounds");
            // Compare bit patterns: NaN is not equal to itself.
            let LossError::InvalidBounds { lower: l, upper: u } = error;
            assert_eq!(
                (l.to_bits(), u.to_bits()),
                (lower.to_bits(), upper.to_bits())
            );
        }
        let message = RegressionBounds::new(5.0, 3.0).unwrap_err().to_string();
        assert!(
            message.contains("lower = 5") && message.contains("upper = 3"),
            "{message}"
        );
    }

    #[test]
    fn encoding_maps_bounds_to_poles() {
        let b = years();
        assert_close(b.encode(1000.0), -1.0, 1e-6);
        assert_close(b.encode(1932.0), 1.0, 1e-6);
        assert_close(b.encode(1466.0), 0.0, 1e-6);
        assert_close(b.decode(0.5), 1000.0 + 0.75 * 932.0, 1e-3);
    }

    proptest! {
        #[test]
        fn decode_inverts_encode(lower in -1e4f32..1e4, span in 1e-2f32..1e4, t in -0.5f32..1.5) {
            let b = RegressionBounds::new(lower, lower + span).unwrap();
            let y = lower + t * span;
            let back = b.decode(b.encode(y));
            prop_assert!((back - y).abs() <= 1e-4 * (1.0 + y.abs().max(span)), "{y} -> {back}");
        }
    }

    #[test]
    fn tensor_encoding_matches_scalar_encoding() {
        let device = device();
        let b = years();
        let ys = [1000.0, 1250.5, 1932.0, 1700.0];
        let encoded = floats(b.encode_tensor(Tensor::<1>::from_data(ys, &device)));
        for (y, r) in ys.iter().zip(&encoded) {
            assert_close(*r, b.encode(*y), 1e-6);
        }
        let decoded = floats(b.decode_tensor(Tensor::<1>::from_data(encoded.as_slice(), &device)));
        for (y, back) in ys.iter().zip(&decoded) {
            assert_close(*back, *y, 1e-3);
        }
    }

    #[test]
    fn hand_computed_regression_loss() {
        let device = device();
        let b = RegressionBounds::new(0.0, 10.0).unwrap();
        let pole = Tensor::<1>::from_data([1.0, 0.0], &device);
        // z0 on the upper pole (cos 1) with target 10 (r = 1): 0.
        // z1 orthogonal (cos 0) with target 10 (r = 1): 1.
        // z2 at cos 0.6 with target 2 (r = -0.6): 1.44.
        let z = tensor2(&[vec![3.0, 0.0], vec![0.0, 2.0], vec![0.6, 0.8]], &device);
        let targets = Tensor::<1>::from_data([10.0, 10.0, 2.0], &device);
        let sum = scalar(regression_loss(
            z.clone(),
            pole.clone(),
            targets.clone(),
            b,
            Reduction::Sum,
        ));
        assert_close(sum, 2.44, 1e-5);
        let mean = scalar(regression_loss(z, pole, targets, b, Reduction::Mean));
        assert_close(mean, 2.44 / 3.0, 1e-5);
    }

    #[test]
    fn decoding_reads_the_angle_to_the_pole() {
        let device = device();
        let b = RegressionBounds::new(1000.0, 2000.0).unwrap();
        // A pole of length 2: only its direction matters.
        let pole = Tensor::<1>::from_data([0.0, 2.0, 0.0], &device);
        let z = tensor2(
            &[
                vec![0.0, 5.0, 0.0],
                vec![0.0, -1.0, 0.0],
                vec![1.0, 0.0, 0.0],
                vec![0.0, 0.5, 0.75f32.sqrt()],
            ],
            &device,
        );
        let years = floats(decode_regression(z, pole, b));
        // cos = 1, -1, 0, 0.5.
        for (got, expected) in years.iter().zip([2000.0, 1000.0, 1500.0, 1750.0]) {
            assert_close(*got, expected, 1e-2);
        }
    }

    #[test]
    fn zero_output_has_finite_regression_gradient() {
        let device = device().autodiff();
        let b = RegressionBounds::new(0.0, 1.0).unwrap();
        let pole = Tensor::<1>::from_data([0.0, 1.0], &device);
        let z = Tensor::<2>::zeros([2, 2], &device).require_grad();
        let targets = Tensor::<1>::from_data([0.75, 0.5], &device);
        let loss = regression_loss(z.clone(), pole, targets, b, Reduction::Sum);
        let grads = loss.backward();
        // cos = 0, r = 0.5 and 0: loss 0.25.
        assert_close(scalar(loss), 0.25, 1e-6);
        let grad = floats(z.grad(&grads).expect("z has a gradient"));
        assert!(grad.iter().all(|g| g.is_finite()), "{grad:?}");
    }
}
