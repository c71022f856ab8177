//! Losses and read-outs of Hyperspherical Prototype Networks (Mettes, van der Pol, Snoek,
//! NeurIPS 2019), on Burn tensors.
//!
//! A network maps an input to `z` in R^D; every class has a fixed unit prototype on the
//! sphere S^{D-1}, and a regression target has two opposite poles `p_u`, `p_l = -p_u`.
//!
//! | paper | function |
//! |---|---|
//! | Eq. 1, classification loss `sum_i (1 - cos(z_i, p_{y_i}))^2` | [`classification_loss`] |
//! | Eq. 3, prediction `argmax_k cos(z, p_k)` | [`predict`], [`predict_top_k`] |
//! | Eq. 7, regression loss `sum_i (r_i - cos(z_i, p_u))^2` | [`regression_loss`], [`RegressionBounds`] |
//! | Sec. 2.2, regression read-out | [`decode_regression`] |
//! | Sec. 2.3, joint regression + classification | [`joint_loss`], [`class_subspace`] |
//! | baselines (Tables 4-6) | [`softmax_cross_entropy`], [`mse_regression_loss`], [`multitask_loss`] |
//!
//! Prototypes come in as a plain `Tensor<2>` (K, D), one row per class, and the regression
//! pole as a `Tensor<1>` (D), so this crate depends on no prototype placer. Every loss
//! returns a tensor of shape `[1]`, summed over the batch by default ([`Reduction::Sum`],
//! the paper's recipe). Cosines use `z.p / (|z| |p| + NORM_EPS)`, so an all-zero output has
//! cosine 0 and finite gradients.
//!
//! ```
//! use burn::tensor::{Device, Int, Tensor};
//! use hpn_losses::{classification_loss, predict, Reduction};
//!
//! let device = Device::flex();
//! // Two classes on the unit circle, and two outputs.
//! let prototypes = Tensor::<2>::from_data([[1.0, 0.0], [0.0, 1.0]], &device);
//! let z = Tensor::<2>::from_data([[2.0, 0.0], [-1.0, 0.0]], &device);
//! let labels = Tensor::<1, Int>::from_data([0, 0], &device);
//!
//! // Sample 0 points at its prototype (loss 0), sample 1 points away from it (loss 4).
//! let loss: f32 = classification_loss(z.clone(), prototypes.clone(), labels, Reduction::Sum)
//!     .into_scalar();
//! assert!((loss - 4.0).abs() < 1e-5);
//!
//! let classes = predict(z, prototypes).try_into_vec_as::<i64>().unwrap();
//! assert_eq!(classes[0], 0);
//! ```

mod baselines;
mod classification;
mod cosine;
mod error;
mod joint;
mod reduction;
mod regression;

#[cfg(test)]
mod test_util;

pub use baselines::{decode_mse, mse_regression_loss, multitask_loss, softmax_cross_entropy};
pub use classification::{classification_loss, predict, predict_top_k};
pub use cosine::{NORM_EPS, cosine_similarity};
pub use error::LossError;
pub use joint::{class_subspace, joint_loss};
pub use reduction::Reduction;
pub use regression::{RegressionBounds, decode_regression, regression_loss};
