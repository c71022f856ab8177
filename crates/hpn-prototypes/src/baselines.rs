//! The paper's fixed layouts: the circle for D = 2 and the one-hot baseline.

use crate::closed_form::{circle_rows, embed, one_hot_rows};
use crate::error::PrototypeError;
use crate::placement::check_shape;
use crate::prototypes::Prototypes;

/// The paper's D = 2 layout: prototype k at angle 2 pi k / K on the unit circle,
/// p_k = (cos 2 pi k / K, sin 2 pi k / K). Needs D = 2.
pub fn place_circle(classes: usize, dims: usize) -> Result<Prototypes, PrototypeError> {
    check_shape(classes, dims)?;
    if dims != 2 {
        return Err(PrototypeError::UnsupportedShape {
            method: "circle".into(),
            classes,
            dims,
            expected: "exactly 2 dimensions".into(),
        });
    }
    embed(&circle_rows(classes), classes, 2, 2, None)
}

/// The one-hot baseline: p_k = e_k, the k-th standard basis vector of R^D. Needs D >= K.
pub fn place_one_hot(classes: usize, dims: usize) -> Result<Prototypes, PrototypeError> {
    check_shape(classes, dims)?;
    if dims < classes {
        return Err(PrototypeError::UnsupportedShape {
            method: "one-hot".into(),
            classes,
            dims,
            expected: format!("at least as many dimensions as classes (D >= {classes})"),
        });
    }
    embed(&one_hot_rows(classes, dims), classes, dims, dims, None)
}
