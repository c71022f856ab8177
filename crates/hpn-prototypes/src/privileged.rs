//! The `privileged` placer: separation (Eq. 5) plus the semantic ranking of word vectors
//! (Eq. 6), and how well a layout keeps that ranking.

use burn::tensor::activation::sigmoid;
use burn::tensor::{Device, Tensor};

use crate::authors::{gaussian_start, shifted_gram, uniformity_gradient};
use crate::error::PrototypeError;
use crate::objectives::{triplet_targets, triplet_weights};
use crate::placement::{PlacementOptions, PlacementProgress, check_shape};
use crate::prototypes::{Prototypes, dot};
use crate::tensor_io::normalise_last_axis;
use crate::word_vectors::WordVectors;

/// Default number of steps of [`place_privileged`] (the paper's "1,000 epochs").
pub const PRIVILEGED_DEFAULT_STEPS: usize = 1_000;
/// Default learning rate of [`place_privileged`] (Adam's step size).
pub const PRIVILEGED_DEFAULT_LEARNING_RATE: f32 = 0.01;
const ADAM_BETA1: f32 = 0.9;
const ADAM_BETA2: f32 = 0.999;
const ADAM_EPSILON: f32 = 1e-8;

/// Largest K [`place_privileged`] accepts: it holds several (K, K, K) tensors at once.
pub const PRIVILEGED_MAX_CLASSES: usize = 300;

/// Places prototypes by minimising L_HP (Eq. 5) + L_PI (Eq. 6), see
/// [`uniformity_loss`](crate::uniformity_loss) and [`privileged_loss`](crate::privileged_loss):
/// the targets S_ijk = [cos(w_i, w_j) >= cos(w_i, w_k)] come from `word_vectors` (one row per
/// class), the logits are o_ijk = cos(p_i, p_j) - cos(p_i, p_k), the cross-entropy is averaged
/// over all ordered triplets of distinct classes and added to L_HP without a weight.
///
/// Start as the authors': seeded normalised Gaussian rows. Steps: the exact gradient of the sum
/// (closed form, equal to autodiff's), an Adam step (beta 0.9 / 0.999, bias-corrected; default
/// lr 0.01, 1,000 steps), rows re-projected to unit norm. Adam rather than the authors' plain
/// gradient descent because the Eq. 6 gradient of a row is O(1/K) (an average over K^3
/// triplets): with plain steps of lr 0.1 the ranking hardly moves in 1,000 steps at K = 100.
/// Needs 3 <= K <= [`PRIVILEGED_MAX_CLASSES`]; costs a few (K, K, K) tensor passes per step
/// (about 10 ms at K = 100 on a 2-core CPU).
pub fn place_privileged(
    classes: usize,
    dims: usize,
    word_vectors: &WordVectors,
    options: &PlacementOptions,
    progress: &mut dyn FnMut(PlacementProgress),
    device: &Device,
) -> Result<Prototypes, PrototypeError> {
    check_shape(classes, dims)?;
    options.validate()?;
    if !(3..=PRIVILEGED_MAX_CLASSES).contains(&classes) {
        return Err(PrototypeError::UnsupportedShape {
            method: "privileged".into(),
            classes,
            dims,
            expected: format!(
                "3 to {PRIVILEGED_MAX_CLASSES} classes (Eq. 6 ranks triplets of classes in (K, K, K) tensors)"
            ),
        });
    }
    word_vectors.check_classes(classes)?;
    let (steps, learning_rate) =
        options.steps_and_rate(PRIVILEGED_DEFAULT_STEPS, PRIVILEGED_DEFAULT_LEARNING_RATE);
    let diverged = || PrototypeError::Diverged {
        method: "privileged".into(),
        learning_rate,
    };

    // Steps run on the plain device with the closed-form gradient (tested against autodiff).
    let device = &device.clone().without_autodiff();
    let weights = triplet_weights(classes, device);
    let weighted_targets = triplet_targets(word_vectors.to_tensor(device)).mul(weights.clone());
    let diagonal = crate::uniform::diagonal_offset(classes, device).reshape([classes, classes]);
    let mut p = gaussian_start(classes, dims, options.seed, device);
    let mut first_moment = Tensor::<2>::zeros([classes, dims], device);
    let mut second_moment = Tensor::<2>::zeros([classes, dims], device);
    for step in 0..steps {
        let m = shifted_gram(&p, &diagonal, step, steps, options, progress, &diverged)?;
        let gradient = uniformity_gradient(m, p.clone()).add(privileged_gradient(
            p.clone(),
            weighted_targets.clone(),
            weights.clone(),
        ));
        // Adam (beta1 0.9, beta2 0.999, eps 1e-8) with bias correction, then re-projection.
        let t = (step + 1) as i32;
        first_moment = first_moment
            .mul_scalar(ADAM_BETA1)
            .add(gradient.clone().mul_scalar(1.0 - ADAM_BETA1));
        second_moment = second_moment
            .mul_scalar(ADAM_BETA2)
            .add(gradient.square().mul_scalar(1.0 - ADAM_BETA2));
        let rate = learning_rate * (1.0 - ADAM_BETA2.powi(t)).sqrt() / (1.0 - ADAM_BETA1.powi(t));
        let step_direction = first_moment
            .clone()
            .div(second_moment.clone().sqrt().add_scalar(ADAM_EPSILON));
        p = normalise_last_axis(p.sub(step_direction.mul_scalar(rate)));
    }
    Prototypes::from_optimised(p, diverged)
}

/// The gradient of Eq. 6 ([`privileged_loss_with`]) with respect to P at unit rows P:
/// with g_ijk = weight_ijk (sigmoid(o_ijk) - S_ijk), dL/dC_ij = sum_k g_ijk - sum_k g_ikj,
/// dL/dP = (dL/dC + dL/dC^T) P projected on the tangent space of each row (the loss takes
/// cosines, so the radial part is zero). `weighted_targets` = weights * S.
pub(crate) fn privileged_gradient(
    p: Tensor<2>,
    weighted_targets: Tensor<3>,
    weights: Tensor<3>,
) -> Tensor<2> {
    let [classes, _] = p.dims();
    let shape = [classes, classes, classes];
    let c = p.clone().matmul(p.clone().transpose());
    let logits = c
        .clone()
        .unsqueeze_dim::<3>(2)
        .expand(shape)
        .sub(c.unsqueeze_dim::<3>(1).expand(shape));
    let g = sigmoid(logits).mul(weights).sub(weighted_targets);
    let as_second = g.clone().sum_dim(2).reshape([classes, classes]);
    let as_third = g.sum_dim(1).reshape([classes, classes]);
    let d_cosines = as_second.sub(as_third);
    let full = d_cosines
        .clone()
        .add(d_cosines.transpose())
        .matmul(p.clone());
    let radial = full.clone().mul(p.clone()).sum_dim(1);
    full.sub(p.mul(radial))
}

/// The fraction of ordered triplets (i, j, k) of distinct classes on which the prototypes keep
/// the word vectors' order: [cos(p_i, p_j) >= cos(p_i, p_k)] == [cos(w_i, w_j) >= cos(w_i, w_k)]
/// (1 = the whole Eq. 6 ranking kept, about 0.5 for a layout unrelated to the words).
///
/// NaN when the class counts differ or K < 3 (no triplet).
pub fn ranking_agreement(p: &Prototypes, w: &WordVectors) -> f32 {
    let classes = p.classes();
    if classes != w.len() || classes < 3 {
        return f32::NAN;
    }
    let prototype_cos: Vec<f64> = (0..classes * classes)
        .map(|ij| p.cosine(ij / classes, ij % classes))
        .collect();
    let norms: Vec<f64> = (0..classes)
        .map(|i| dot(w.row(i), w.row(i)).sqrt())
        .collect();
    let word_cos: Vec<f64> = (0..classes * classes)
        .map(|ij| {
            let (i, j) = (ij / classes, ij % classes);
            dot(w.row(i), w.row(j)) / (norms[i] * norms[j])
        })
        .collect();
    let mut agree: u64 = 0;
    let mut total: u64 = 0;
    for i in 0..classes {
        let pc = &prototype_cos[i * classes..(i + 1) * classes];
        let wc = &word_cos[i * classes..(i + 1) * classes];
        for j in (0..classes).filter(|&j| j != i) {
            for k in (0..classes).filter(|&k| k != i && k != j) {
                total += 1;
                if (pc[j] >= pc[k]) == (wc[j] >= wc[k]) {
                    agree += 1;
                }
            }
        }
    }
    (agree as f64 / total as f64) as f32
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::objectives::{privileged_loss, uniformity_loss};
    use crate::tensor_io::{read_f32, tensor_from_f64};

    fn max_abs_difference(a: Tensor<2>, b: Tensor<2>) -> f32 {
        let a = read_f32(a).unwrap_or_default();
        let b = read_f32(b).unwrap_or_default();
        assert_eq!(a.len(), b.len());
        a.iter()
            .zip(&b)
            .map(|(x, y)| (x - y).abs())
            .fold(0.0, f32::max)
    }

    /// Unit rows of a fixed, asymmetric 5 x 3 matrix (no ties among cosines).
    fn sample_prototypes(device: &Device) -> Tensor<2> {
        let rows = [
            0.9, 0.1, -0.3, 0.2, 0.8, 0.4, -0.5, 0.3, 0.7, 0.1, -0.9, 0.2, -0.3, -0.2, -0.8,
        ];
        normalise_last_axis(tensor_from_f64(&rows, [5, 3], device))
    }

    #[test]
    fn eq6_closed_form_gradient_equals_autodiff() {
        let device = Device::flex();
        let p = sample_prototypes(&device);
        let words = [
            1.0, 0.0, 0.2, 0.1, 0.9, 1.0, 0.0, 0.3, 0.5, 0.2, 0.7, 0.1, 0.4, 0.4, 0.6, 0.9, 0.1,
            0.0, 0.3, 0.3,
        ];
        let w = tensor_from_f64(&words, [5, 4], &device);

        let leaf = p.clone().autodiff().require_grad();
        let loss = privileged_loss(leaf.clone(), w.clone().autodiff());
        let expected = leaf.grad(&loss.backward()).expect("leaf requires grad");

        let weights = triplet_weights(5, &device);
        let targets = triplet_targets(w).mul(weights.clone());
        let ours = privileged_gradient(p, targets, weights);
        let difference = max_abs_difference(ours, expected);
        assert!(difference < 1e-6, "largest difference {difference}");
    }

    #[test]
    fn eq5_closed_form_gradient_equals_autodiff() {
        let device = Device::flex();
        let p = sample_prototypes(&device);
        let leaf = p.clone().autodiff().require_grad();
        let loss = uniformity_loss(leaf.clone());
        let expected = leaf.grad(&loss.backward()).expect("leaf requires grad");

        let diagonal = crate::uniform::diagonal_offset(5, &device).reshape([5, 5]);
        let m = p.clone().matmul(p.clone().transpose()).add(diagonal);
        let ours = uniformity_gradient(m, p);
        let difference = max_abs_difference(ours, expected);
        assert!(difference < 1e-6, "largest difference {difference}");
    }
}
