//! Paper Eq. 5 optimised with the authors' exact update, kept for comparison.

use burn::tensor::{Device, Tensor};

use crate::closed_form::normalise_rows;
use crate::error::PrototypeError;
use crate::placement::{PlacementOptions, PlacementProgress, check_shape};
use crate::prototypes::Prototypes;
use crate::random::Gaussian;
use crate::tensor_io::{normalise_last_axis, read_f32, tensor_from_f64};

/// The authors' number of steps ("epochs" in their code).
pub const AUTHORS_DEFAULT_STEPS: usize = 10_000;
/// The authors' learning rate.
pub const AUTHORS_DEFAULT_LEARNING_RATE: f32 = 0.1;

/// Seed stream of the Gaussian start, shared with [`crate::place_privileged`].
pub(crate) const STREAM_GAUSSIAN_START: u64 = 3;

/// A seeded (K, D) start as the authors draw it: standard Gaussian rows, normalised.
pub(crate) fn gaussian_start(classes: usize, dims: usize, seed: u64, device: &Device) -> Tensor<2> {
    let mut rows = Gaussian::new(seed, STREAM_GAUSSIAN_START).samples(classes * dims);
    normalise_rows(&mut rows, dims);
    tensor_from_f64(&rows, [classes, dims], device)
}

/// Paper Eq. 5 with the authors' exact update: rows start as normalised Gaussian vectors
/// (seeded), then every step takes the gradient of L_HP = 1/K sum_i max_{j != i} M_ij,
/// M = P P^T - 2I, which for row i is (1/K)(p_{j*(i)} + sum_{l : j*(l) = i} p_l) with j*(i) the
/// row's closest other prototype, moves P by -lr times it (plain gradient descent: the authors'
/// code rebuilds its SGD optimiser every step, so momentum never acts) and re-projects every row
/// to unit norm. Defaults: lr 0.1, 10,000 steps.
///
/// Only the closest pair of each row receives gradient, so at small D near-coincident
/// prototypes can stay stuck together (at D = 3, K = 100 two end up identical).
pub fn place_uniform_authors(
    classes: usize,
    dims: usize,
    options: &PlacementOptions,
    progress: &mut dyn FnMut(PlacementProgress),
    device: &Device,
) -> Result<Prototypes, PrototypeError> {
    check_shape(classes, dims)?;
    options.validate()?;
    let (steps, learning_rate) =
        options.steps_and_rate(AUTHORS_DEFAULT_STEPS, AUTHORS_DEFAULT_LEARNING_RATE);
    let diverged = || PrototypeError::Diverged {
        method: "uniform-authors".into(),
        learning_rate,
    };
    let mut p = gaussian_start(classes, dims, options.seed, device);
    let diagonal = crate::uniform::diagonal_offset(classes, device).reshape([classes, classes]);
    for step in 0..steps {
        let m = shifted_gram(&p, &diagonal, step, steps, options, progress, &diverged)?;
        let gradient = uniformity_gradient(m, p.clone());
        p = normalise_last_axis(p.sub(gradient.mul_scalar(learning_rate)));
    }
    Prototypes::from_optimised(p, diverged)
}

/// The gradient of Eq. 5, L_HP = 1/K sum_i max_{j != i} M_ij, with respect to P, given
/// `m` = P P^T with the diagonal pushed below every cosine: with A the one-hot matrix of each
/// row's argmax, dL/dP = (1/K)(A + A^T) P. Equal to what autodiff gives for
/// [`uniformity_loss`](crate::uniformity_loss) (one gradient path per row maximum).
pub(crate) fn uniformity_gradient(m: Tensor<2>, p: Tensor<2>) -> Tensor<2> {
    let [classes, _] = p.dims();
    let closest = m.argmax(1).reshape([classes]).one_hot::<2>(classes).float();
    closest
        .clone()
        .add(closest.transpose())
        .matmul(p)
        .div_scalar(classes as f32)
}

/// M = P P^T - 2I of Eq. 5 (each row's largest entry is its largest cosine to another row).
/// Its largest entry, the max cosine, goes to `progress` every `options.progress_every` steps
/// and at the last step; a non-finite P gives `diverged()`.
pub(crate) fn shifted_gram(
    p: &Tensor<2>,
    diagonal: &Tensor<2>,
    step: usize,
    steps: usize,
    options: &PlacementOptions,
    progress: &mut dyn FnMut(PlacementProgress),
    diverged: &dyn Fn() -> PrototypeError,
) -> Result<Tensor<2>, PrototypeError> {
    let m = p
        .clone()
        .matmul(p.clone().transpose())
        .add(diagonal.clone());
    if step.is_multiple_of(options.progress_every) || step + 1 == steps {
        let max_cosine = read_f32(m.clone().max())?
            .first()
            .copied()
            .ok_or_else(diverged)?;
        progress(PlacementProgress {
            step,
            total: steps,
            max_cosine,
        });
    }
    Ok(m)
}
