//! How well a layout separates its classes: the statistics of the paper's Table 2.

use crate::prototypes::Prototypes;

/// Pairwise separation of a prototype layout, over all pairs of distinct classes i != j.
///
/// Distances are cosine distances 1 - cos(p_i, p_j) as in the paper's Table 2 (0 = identical,
/// 1 = orthogonal, 2 = opposite). `max_cosine` is the quantity the uniform placer minimises (the
/// largest entry of M = P P^T - 2I of Eq. 5) and `min_angle_degrees` the same read as an angle.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SeparationStats {
    /// Smallest cosine distance between two prototypes (= 1 - `max_cosine`).
    pub min_distance: f32,
    /// Mean cosine distance over all pairs.
    pub mean_distance: f32,
    /// Largest cosine distance between two prototypes.
    pub max_distance: f32,
    /// Largest cosine similarity between two prototypes (lower is better).
    pub max_cosine: f32,
    /// Smallest angle between two prototypes, arccos(`max_cosine`), in degrees (higher is better).
    pub min_angle_degrees: f32,
}

/// Separation statistics of `p` over all pairs i != j (accumulated in `f64`).
///
/// With fewer than two prototypes there is no pair and every field is NaN.
pub fn separation_stats(p: &Prototypes) -> SeparationStats {
    let k = p.classes();
    let mut max_cos = f64::NEG_INFINITY;
    let mut min_cos = f64::INFINITY;
    let mut sum = 0.0;
    for i in 0..k {
        for j in i + 1..k {
            let c = p.cosine(i, j);
            max_cos = max_cos.max(c);
            min_cos = min_cos.min(c);
            sum += c;
        }
    }
    if k < 2 {
        return SeparationStats {
            min_distance: f32::NAN,
            mean_distance: f32::NAN,
            max_distance: f32::NAN,
            max_cosine: f32::NAN,
            min_angle_degrees: f32::NAN,
        };
    }
    let pairs = (k * (k - 1) / 2) as f64;
    SeparationStats {
        min_distance: (1.0 - max_cos) as f32,
        mean_distance: (1.0 - sum / pairs) as f32,
        max_distance: (1.0 - min_cos) as f32,
        max_cosine: max_cos as f32,
        min_angle_degrees: max_cos.clamp(-1.0, 1.0).acos().to_degrees() as f32,
    }
}
