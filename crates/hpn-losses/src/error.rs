//! Errors of the loss functions' parameters.

use thiserror::Error;

/// What can be wrong with the parameters of a loss.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum LossError {
    /// The regression range `[lower, upper]` of Eq. 7 is empty, reversed or not finite.
    #[error(
        "regression bounds: expected finite lower < upper, got lower = {lower}, upper = {upper}"
    )]
    InvalidBounds {
        /// The lower bound `v_l` that was given.
        lower: f32,
        /// The upper bound `v_u` that was given.
        upper: f32,
    },
}
