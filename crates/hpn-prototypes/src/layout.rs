//! [`OutputLayout`]: where the network's outputs should point for classification, regression
//! and the joint task (paper Sec. 2.1-2.3).

use crate::error::PrototypeError;
use crate::prototypes::Prototypes;

/// The fixed targets on S^{D-1} of one task:
///
/// - classification (Sec. 2.1): K class prototypes in R^D, no poles;
/// - regression (Sec. 2.2, Eq. 7): the upper pole p_u = e_0 (the lower pole is p_l = -p_u),
///   no classes;
/// - joint (Sec. 2.3): poles on axis 0 and the K class prototypes, given in R^{D-1}, embedded in
///   axes 1..D as (0, p_k), so every class prototype is orthogonal to both poles.
#[derive(Clone, Debug, PartialEq)]
pub struct OutputLayout {
    dims: usize,
    class_prototypes: Option<Prototypes>,
    class_subspace_prototypes: Option<Prototypes>,
    upper_pole: Option<Vec<f32>>,
}

impl OutputLayout {
    /// Classification: the outputs live in R^D with D = `p.dims()`, class k's target is p_k.
    pub fn classification(p: Prototypes) -> Self {
        Self {
            dims: p.dims(),
            class_prototypes: Some(p.clone()),
            class_subspace_prototypes: Some(p),
            upper_pole: None,
        }
    }

    /// Regression in R^D: upper pole p_u = e_0 = (1, 0, ..., 0), lower pole -p_u. Needs D >= 1.
    pub fn regression(dims: usize) -> Result<Self, PrototypeError> {
        if dims < 1 {
            return Err(PrototypeError::LayoutDims {
                layout: "regression",
                dims,
                expected: "at least 1 dimension".into(),
            });
        }
        let mut pole = vec![0.0; dims];
        pole[0] = 1.0;
        Ok(Self {
            dims,
            class_prototypes: None,
            class_subspace_prototypes: None,
            upper_pole: Some(pole),
        })
    }

    /// Joint regression + classification: `class_prototypes` is (K, D - 1); the layout has
    /// D = `class_prototypes.dims()` + 1 dimensions, poles +-e_0 and class k's target (0, p_k).
    pub fn joint(class_prototypes: Prototypes) -> Self {
        let inner = class_prototypes.dims();
        let dims = inner + 1;
        let classes = class_prototypes.classes();
        let mut data = Vec::with_capacity(classes * dims);
        for k in 0..classes {
            data.push(0.0);
            data.extend_from_slice(class_prototypes.row(k));
        }
        // Padding unit, finite rows with a leading zero keeps them unit and finite.
        let embedded = Prototypes::new_unchecked(data, classes, dims);
        let mut pole = vec![0.0; dims];
        pole[0] = 1.0;
        Self {
            dims,
            class_prototypes: Some(embedded),
            class_subspace_prototypes: Some(class_prototypes),
            upper_pole: Some(pole),
        }
    }

    /// [`OutputLayout::joint`] for a network with `dims` outputs, checking that the class
    /// prototypes have exactly `dims - 1` dimensions (so `dims` must be at least 2).
    pub fn joint_with_dims(
        dims: usize,
        class_prototypes: Prototypes,
    ) -> Result<Self, PrototypeError> {
        if dims < 2 || class_prototypes.dims() != dims - 1 {
            return Err(PrototypeError::LayoutDims {
                layout: "joint",
                dims,
                expected: format!(
                    "D = class prototype dims + 1 = {} (axis 0 holds the poles, D >= 2)",
                    class_prototypes.dims() + 1
                ),
            });
        }
        Ok(Self::joint(class_prototypes))
    }

    /// D, the number of network outputs.
    pub fn dims(&self) -> usize {
        self.dims
    }

    /// The class targets in R^D (as embedded for the joint task), if the task has classes.
    pub fn class_prototypes(&self) -> Option<&Prototypes> {
        self.class_prototypes.as_ref()
    }

    /// The class prototypes as placed: (K, D - 1) for the joint task, the same as
    /// [`class_prototypes`](Self::class_prototypes) for classification, `None` for regression.
    pub fn class_subspace_prototypes(&self) -> Option<&Prototypes> {
        self.class_subspace_prototypes.as_ref()
    }

    /// The upper pole p_u (unit, length D) if the task regresses; the lower pole is -p_u.
    pub fn upper_pole(&self) -> Option<&[f32]> {
        self.upper_pole.as_deref()
    }
}
