//! How per-sample losses are combined into one number.

use burn::tensor::Tensor;

/// How the per-sample losses of a batch are combined.
///
/// The paper's recipe (and the authors' code) sums the loss over the batch,
/// so [`Reduction::Sum`] is the default; [`Reduction::Mean`] divides that sum by
/// the batch size `N`. In TOML / JSON: `"sum"`, `"mean"`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Reduction {
    /// `sum_i l_i` (the paper's choice).
    #[default]
    Sum,
    /// `(1 / N) sum_i l_i`.
    Mean,
}

impl Reduction {
    /// Reduces per-sample losses of any shape to a tensor of shape `[1]`.
    pub fn apply<const D: usize>(self, per_sample: Tensor<D>) -> Tensor<1> {
        match self {
            Reduction::Sum => per_sample.sum(),
            Reduction::Mean => per_sample.mean(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_util::*;

    #[test]
    fn sum_and_mean_of_a_matrix() {
        let device = device();
        let x = tensor2(&[vec![1.0, 2.0], vec![3.0, 6.0]], &device);
        assert_eq!(Reduction::default(), Reduction::Sum);
        let sum = Reduction::Sum.apply(x.clone());
        assert_eq!(sum.dims(), [1]);
        assert_close(scalar(sum), 12.0, 0.0);
        assert_close(scalar(Reduction::Mean.apply(x)), 3.0, 0.0);
    }
}
