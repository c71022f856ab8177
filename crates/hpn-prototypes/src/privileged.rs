//! The `privileged` placer: separation (Eq. 5) plus the semantic ranking of word vectors
//! (Eq. 6), and how well a layout keeps that ranking.

use burn::tensor::activation::sigmoid;
use burn::tensor::{Device, Tensor};

use crate::authors::{STREAM_GAUSSIAN_START, shifted_gram, uniformity_gradient};
use crate::closed_form::normalise_rows;
use crate::error::PrototypeError;
use crate::objectives::{privileged_loss, uniformity_loss};
use crate::objectives::{triplet_targets, triplet_weights};
use crate::placement::{PlacementOptions, PlacementProgress, check_shape};
use crate::prototypes::{Prototypes, dot};
use crate::random::Gaussian;
use crate::tensor_io::{normalise_last_axis, read_f32, tensor_from_f64};
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

/// [`place_privileged`] keeps every pair of prototypes at least this fraction of the `uniform`
/// layout's smallest angle apart.
pub const PRIVILEGED_MIN_ANGLE_FRACTION: f64 = 0.5;
/// Weight mu of the separation floor term mu * sum_{i != j} max(0, cos_ij - c_floor)^2.
const FLOOR_WEIGHT: f32 = 10.0;
/// The optimisation aims at the floor's angle times (1 + this).
const FLOOR_MARGIN: f64 = 0.02;
/// Restart budget: about this many prototype pairs (restarts * K^2) over all restarts.
const RESTART_PAIR_BUDGET: usize = 1_000;
const MAX_RESTARTS: usize = 16;
/// Plain projected gradient steps on the floor term alone, after the Adam steps, at most.
const REPAIR_STEPS: usize = 2_000;
/// Step size of those repair steps.
const REPAIR_LEARNING_RATE: f32 = 0.05;
/// How often (in repair steps) the largest cosine is read back to stop early.
const REPAIR_CHECK_EVERY: usize = 20;
/// Slack on the floor's cosine (f32 rounding of unit rows).
const FLOOR_TOLERANCE: f64 = 1e-4;

/// Places prototypes by minimising L_HP (Eq. 5) + L_PI (Eq. 6), see
/// [`uniformity_loss`](crate::uniformity_loss) and [`privileged_loss`](crate::privileged_loss):
/// the targets S_ijk = [cos(w_i, w_j) >= cos(w_i, w_k)] come from `word_vectors` (one row per
/// class), the logits are o_ijk = cos(p_i, p_j) - cos(p_i, p_k), the cross-entropy is averaged
/// over all ordered triplets of distinct classes and added to L_HP without a weight.
///
/// Starts as the authors': seeded normalised Gaussian rows; `options.restarts` starts (default
/// about 1,000 / K^2, 1 to 16: 10 at K = 10, 1 from K = 32) run one after another and the one
/// with the lowest Eq. 5 + Eq. 6 among those that keep the floor below is returned. Steps: the exact gradient of the sum
/// (closed form, equal to autodiff's), an Adam step (beta 0.9 / 0.999, bias-corrected; default
/// lr 0.01, 1,000 steps), rows re-projected to unit norm. Adam rather than the authors' plain
/// gradient descent because the Eq. 6 gradient of a row is O(1/K) (an average over K^3
/// triplets): with plain steps of lr 0.1 the ranking hardly moves in 1,000 steps at K = 100.
///
/// Separation floor: Eq. 5's gradient of a pair is zero when the two rows coincide, so at small
/// D the Eq. 6 pull can merge classes whose names are alike (the ten digit names in GloVe: two
/// identical prototypes at D = 2 and 3 without the floor). The sum therefore also carries
/// mu * sum_{i != j} max(0, cos(p_i, p_j) - c_floor)^2 (mu = 10), with
/// c_floor = cos(theta_u / 2) and theta_u the smallest angle of the [`place_uniform`] layout
/// for the same (K, D, seed); after the Adam steps, plain projected gradient steps on that term
/// alone (lr 0.05, at most 2,000) remove any violation left. Both aim at the floor's angle
/// widened by 2 %, because the quadratic term's pull fades at its edge. The result is checked: every pair
/// is at least theta_u / 2 apart (`PRIVILEGED_MIN_ANGLE_FRACTION`), or the call returns
/// [`PrototypeError::Crowded`]. Needs D >= 2 and 3 <= K <= [`PRIVILEGED_MAX_CLASSES`]; costs a
/// few (K, K, K) tensor passes per step (about 10 ms at K = 100 on a 2-core CPU) plus the
/// uniform placement.
///
/// [`place_uniform`]: crate::place_uniform
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
    let floor = separation_floor(classes, dims, options, device)?;
    let (steps, learning_rate) =
        options.steps_and_rate(PRIVILEGED_DEFAULT_STEPS, PRIVILEGED_DEFAULT_LEARNING_RATE);
    let diverged = || PrototypeError::Diverged {
        method: "privileged".into(),
        learning_rate,
    };

    // Steps run on the plain device with the closed-form gradient (tested against autodiff).
    let device = &device.clone().without_autodiff();
    let weights = triplet_weights(classes, device);
    let problem = Descent {
        weighted_targets: triplet_targets(word_vectors.to_tensor(device)).mul(weights.clone()),
        weights,
        diagonal: crate::uniform::diagonal_offset(classes, device).reshape([classes, classes]),
        target_cosine: floor.target_cosine(),
        steps,
        learning_rate,
    };
    let restarts = options
        .restarts
        .unwrap_or_else(|| default_restarts(classes));
    let words = word_vectors.to_tensor(device);
    let mut starts = Gaussian::new(options.seed, STREAM_GAUSSIAN_START);
    let mut best: Option<(f32, Prototypes)> = None;
    // The best restart's largest cosine, for the error when no restart keeps the floor.
    let mut closest_seen = f64::INFINITY;
    for restart in 0..restarts {
        let mut rows = starts.samples(classes * dims);
        normalise_rows(&mut rows, dims);
        let start = tensor_from_f64(&rows, [classes, dims], device);
        let mut report = |r: PlacementProgress| {
            progress(PlacementProgress {
                step: restart * steps + r.step,
                total: restarts * steps,
                max_cosine: r.max_cosine,
            })
        };
        let p = problem.run(start, options, &mut report, &diverged)?;
        let prototypes = Prototypes::from_optimised(p, diverged)?;
        let closest = crate::separation::separation_stats(&prototypes).max_cosine as f64;
        if closest > floor.cosine + FLOOR_TOLERANCE {
            closest_seen = closest_seen.min(closest);
            continue;
        }
        let t = prototypes.to_tensor(device);
        let score = read_f32(uniformity_loss(t.clone()).add(privileged_loss(t, words.clone())))?
            .first()
            .copied()
            .unwrap_or(f32::NAN);
        if best.as_ref().is_none_or(|(b, _)| score < *b) {
            best = Some((score, prototypes));
        }
    }
    best.map(|(_, p)| p).ok_or_else(|| PrototypeError::Crowded {
        method: "privileged".into(),
        min_angle_degrees: closest_seen.clamp(-1.0, 1.0).acos().to_degrees(),
        floor_degrees: floor.angle_degrees,
    })
}

/// The default number of restarts for K classes: about [`RESTART_PAIR_BUDGET`] / K^2, in
/// 1..=[`MAX_RESTARTS`].
fn default_restarts(classes: usize) -> usize {
    (RESTART_PAIR_BUDGET / (classes * classes)).clamp(1, MAX_RESTARTS)
}

/// One restart of [`place_privileged`]: what stays fixed while a start is optimised.
struct Descent {
    weights: Tensor<3>,
    weighted_targets: Tensor<3>,
    diagonal: Tensor<2>,
    target_cosine: f32,
    steps: usize,
    learning_rate: f32,
}

impl Descent {
    /// Adam on Eq. 5 + Eq. 6 + the floor term from `p`, then the floor repair.
    fn run(
        &self,
        mut p: Tensor<2>,
        options: &PlacementOptions,
        progress: &mut dyn FnMut(PlacementProgress),
        diverged: &dyn Fn() -> PrototypeError,
    ) -> Result<Tensor<2>, PrototypeError> {
        let mut first_moment = p.zeros_like();
        let mut second_moment = p.zeros_like();
        for step in 0..self.steps {
            let m = shifted_gram(
                &p,
                &self.diagonal,
                step,
                self.steps,
                options,
                progress,
                diverged,
            )?;
            let gradient = uniformity_gradient(m.clone(), p.clone())
                .add(privileged_gradient(
                    p.clone(),
                    self.weighted_targets.clone(),
                    self.weights.clone(),
                ))
                .add(floor_gradient(m, p.clone(), self.target_cosine).mul_scalar(FLOOR_WEIGHT));
            // Adam (beta1 0.9, beta2 0.999, eps 1e-8) with bias correction, then re-projection.
            let t = (step + 1) as i32;
            first_moment = first_moment
                .mul_scalar(ADAM_BETA1)
                .add(gradient.clone().mul_scalar(1.0 - ADAM_BETA1));
            second_moment = second_moment
                .mul_scalar(ADAM_BETA2)
                .add(gradient.square().mul_scalar(1.0 - ADAM_BETA2));
            let rate =
                self.learning_rate * (1.0 - ADAM_BETA2.powi(t)).sqrt() / (1.0 - ADAM_BETA1.powi(t));
            let step_direction = first_moment
                .clone()
                .div(second_moment.clone().sqrt().add_scalar(ADAM_EPSILON));
            p = normalise_last_axis(p.sub(step_direction.mul_scalar(rate)));
        }
        repair_floor(p, &self.diagonal, self.target_cosine)
    }
}

/// The smallest angle [`place_privileged`] allows between two prototypes, as an angle and as
/// the cosine c_floor.
#[derive(Clone, Copy, Debug)]
struct SeparationFloor {
    angle_degrees: f64,
    cosine: f64,
}

impl SeparationFloor {
    /// The cosine the optimisation aims below: the floor's angle widened by [`FLOOR_MARGIN`], so
    /// the quadratic floor term, whose pull fades at its edge, still ends past the floor itself.
    fn target_cosine(&self) -> f32 {
        (self.angle_degrees.to_radians() * (1.0 + FLOOR_MARGIN)).cos() as f32
    }
}

/// theta_u * [`PRIVILEGED_MIN_ANGLE_FRACTION`], theta_u the smallest angle of the `uniform`
/// layout for (K, D) with the same seed (K points in D = 1 cannot be kept apart: an error).
fn separation_floor(
    classes: usize,
    dims: usize,
    options: &PlacementOptions,
    device: &Device,
) -> Result<SeparationFloor, PrototypeError> {
    let uniform = crate::uniform::place_uniform(classes, dims, options, &mut |_| {}, device)
        .map_err(|err| match err {
            PrototypeError::UnsupportedShape { expected, .. } => PrototypeError::UnsupportedShape {
                method: "privileged".into(),
                classes,
                dims,
                expected,
            },
            other => other,
        })?;
    let best = crate::separation::separation_stats(&uniform).max_cosine as f64;
    let angle = best.clamp(-1.0, 1.0).acos() * PRIVILEGED_MIN_ANGLE_FRACTION;
    Ok(SeparationFloor {
        angle_degrees: angle.to_degrees(),
        cosine: angle.cos(),
    })
}

/// The gradient of sum_{i != j} max(0, M_ij - c_floor)^2 with respect to P at unit rows, given
/// `m` = P P^T with the diagonal pushed below every cosine: with H = max(0, M - c_floor)
/// (symmetric), dL/dP = 4 H P projected on each row's tangent space.
fn floor_gradient(m: Tensor<2>, p: Tensor<2>, floor_cosine: f32) -> Tensor<2> {
    let excess = m.sub_scalar(floor_cosine).clamp_min(0.0);
    let full = excess.matmul(p.clone()).mul_scalar(4.0);
    let radial = full.clone().mul(p.clone()).sum_dim(1);
    full.sub(p.mul(radial))
}

/// Plain projected gradient steps on the floor term alone until no pair is closer than the
/// floor (checked every [`REPAIR_CHECK_EVERY`] steps) or [`REPAIR_STEPS`] have run.
fn repair_floor(
    mut p: Tensor<2>,
    diagonal: &Tensor<2>,
    floor_cosine: f32,
) -> Result<Tensor<2>, PrototypeError> {
    for step in 0..REPAIR_STEPS {
        let m = p
            .clone()
            .matmul(p.clone().transpose())
            .add(diagonal.clone());
        if step.is_multiple_of(REPAIR_CHECK_EVERY) {
            let closest = read_f32(m.clone().max())?.first().copied();
            if closest.is_some_and(|c| c <= floor_cosine) {
                break;
            }
        }
        let gradient = floor_gradient(m, p.clone(), floor_cosine);
        p = normalise_last_axis(p.sub(gradient.mul_scalar(REPAIR_LEARNING_RATE)));
    }
    Ok(p)
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
