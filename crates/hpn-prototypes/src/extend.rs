//! Extending a layout: classes that arrive later get new prototypes while the old ones stay
//! where they are (one of the open problems the paper names: "incremental learning ...
//! requiring iterative updates of prototype locations"; with fixed prototypes no update of the
//! old ones is needed).
//!
//! The M new rows minimise the largest cosine over the pairs that involve them (new-new and
//! new-old; the old-old pairs are fixed), with `uniform`'s annealed smooth maximum: weights
//! `max(0, 1 + (t/16)(cos - c_max))^16`, temperature 20 -> 2000, step 0.2 -> 0.001, heavy-ball
//! momentum 0.9, tangent steps re-projected on the sphere. Only the M new rows move, so the
//! optimisation runs on the host in `f64` (M (K + M) D multiply-adds a step).

use burn::tensor::Device;

use crate::closed_form::normalise_rows;
use crate::error::PrototypeError;
use crate::placement::{PlacementOptions, PlacementProgress};
use crate::prototypes::Prototypes;
use crate::random::Gaussian;
use crate::uniform::{
    KERNEL_SQUARINGS, LEARNING_RATE_END_FRACTION, MOMENTUM, TEMPERATURE_END, TEMPERATURE_START,
    UNIFORM_DEFAULT_LEARNING_RATE, UNIFORM_DEFAULT_STEPS, place_uniform,
};

/// New rows keep at least this fraction of the smallest angle that `uniform` reaches placing
/// all K + M prototypes from scratch; a worse extension is [`PrototypeError::Crowded`].
pub const EXTENSION_MIN_ANGLE_FRACTION: f64 = 0.5;

/// Seed stream of the new rows' starting points.
const STREAM_EXTEND: u64 = 3;
/// Restart budget: about this many (new row, other row) pairs per step over all restarts.
const RESTART_PAIR_BUDGET: usize = 20_000;
const MAX_RESTARTS: usize = 32;

/// How far apart an extended layout keeps its prototypes, in degrees: the old rows `0..old`
/// among themselves, the new rows `old..` against the old ones, and among themselves.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ExtensionStats {
    /// Smallest angle between two old prototypes (`NaN` with fewer than two).
    pub old_to_old_degrees: f64,
    /// Smallest angle between a new and an old prototype (`NaN` without either).
    pub new_to_old_degrees: f64,
    /// Smallest angle between two new prototypes (`NaN` with fewer than two).
    pub new_to_new_degrees: f64,
    /// Largest cosine over every pair, old and new.
    pub max_cosine: f64,
}

/// The smallest angles of `p` split into old (rows `0..old`) and new rows (`old..`).
pub fn extension_stats(p: &Prototypes, old: usize) -> ExtensionStats {
    let k = p.classes();
    let mut largest = [f64::NEG_INFINITY; 3]; // old-old, new-old, new-new
    for i in 0..k {
        for j in i + 1..k {
            let which = match (i < old, j < old) {
                (true, true) => 0,
                (true, false) | (false, true) => 1,
                (false, false) => 2,
            };
            largest[which] = largest[which].max(p.cosine(i, j));
        }
    }
    let angle = |c: f64| {
        if c.is_finite() {
            c.clamp(-1.0, 1.0).acos().to_degrees()
        } else {
            f64::NAN
        }
    };
    ExtensionStats {
        old_to_old_degrees: angle(largest[0]),
        new_to_old_degrees: angle(largest[1]),
        new_to_new_degrees: angle(largest[2]),
        max_cosine: largest.into_iter().fold(f64::NEG_INFINITY, f64::max),
    }
}

/// Adds `new_classes` prototypes to `existing` (K x D): rows `0..K` of the result are
/// `existing`'s, bit for bit; rows `K..K + M` are placed to minimise the largest cosine of the
/// pairs they take part in (module docs). `options.seed`, `steps` (default 500), `learning_rate`
/// (0.2) and `restarts` (about 20,000 / (M (K + M)), 1..=32) work as for `uniform`;
/// deterministic for a fixed seed. `device` places the from-scratch reference layout.
///
/// The new prototypes must keep [`EXTENSION_MIN_ANGLE_FRACTION`] of the smallest angle that
/// `uniform` reaches for all K + M from scratch, to every other prototype; otherwise the
/// result is [`PrototypeError::Crowded`] with the angle reached (e.g. a dozen classes added to
/// a circle already holding many). A K + M that no layout of D dimensions can hold (D = 1,
/// K + M > 2) is `uniform`'s error.
pub fn extend_layout(
    existing: &Prototypes,
    new_classes: usize,
    options: &PlacementOptions,
    progress: &mut dyn FnMut(PlacementProgress),
    device: &Device,
) -> Result<Prototypes, PrototypeError> {
    options.validate()?;
    let (old, dims) = (existing.classes(), existing.dims());
    if new_classes == 0 {
        return Err(PrototypeError::TooFewClasses {
            classes: 0,
            minimum: 1,
        });
    }
    let total = old + new_classes;
    let scratch = place_uniform(total, dims, options, &mut |_| {}, device)?;
    let scratch_angle = extension_stats(&scratch, 0).new_to_new_degrees;
    let floor = EXTENSION_MIN_ANGLE_FRACTION * scratch_angle;

    let (steps, learning_rate) =
        options.steps_and_rate(UNIFORM_DEFAULT_STEPS, UNIFORM_DEFAULT_LEARNING_RATE);
    let restarts = options
        .restarts
        .unwrap_or_else(|| (RESTART_PAIR_BUDGET / (new_classes * total)).clamp(1, MAX_RESTARTS));
    let fixed: Vec<f64> = existing.as_slice().iter().map(|&v| f64::from(v)).collect();
    let mut gaussian = Gaussian::new(options.seed, STREAM_EXTEND);
    let mut best: Option<(f64, Vec<f64>)> = None;
    for restart in 0..restarts {
        let mut rows = gaussian.samples(new_classes * dims);
        normalise_rows(&mut rows, dims);
        let peak = anneal_new_rows(
            &fixed,
            &mut rows,
            dims,
            steps,
            learning_rate,
            &mut |s, c| {
                if restart + 1 == restarts && (s % options.progress_every == 0 || s + 1 == steps) {
                    progress(PlacementProgress {
                        step: s,
                        total: steps,
                        max_cosine: c as f32,
                    });
                }
            },
        );
        if peak.is_finite() && best.as_ref().is_none_or(|(b, _)| peak < *b) {
            best = Some((peak, rows));
        }
    }
    let (_, rows) = best.ok_or_else(|| PrototypeError::Diverged {
        method: "extend".into(),
        learning_rate,
    })?;
    let new = Prototypes::from_rows_normalised(&rows, new_classes, dims)?;
    let mut data = existing.as_slice().to_vec();
    data.extend_from_slice(new.as_slice());
    let extended = Prototypes::new(data, total, dims)?;
    let stats = extension_stats(&extended, old);
    let reached = stats.new_to_old_degrees.min(if new_classes > 1 {
        stats.new_to_new_degrees
    } else {
        f64::INFINITY
    });
    // A NaN angle (a degenerate result) fails the check too.
    if reached.is_nan() || reached < floor {
        return Err(PrototypeError::Crowded {
            method: format!("extend ({old} + {new_classes} classes in {dims} dimensions)"),
            min_angle_degrees: reached,
            floor_degrees: floor,
        });
    }
    Ok(extended)
}

/// Anneals the rows of `new` (row-major, unit) against the fixed rows of `fixed` and each
/// other; returns the final largest cosine over the pairs involving a new row. `report(step,
/// max cosine)` is called every step.
fn anneal_new_rows(
    fixed: &[f64],
    new: &mut [f64],
    dims: usize,
    steps: usize,
    learning_rate: f32,
    report: &mut dyn FnMut(usize, f64),
) -> f64 {
    let m = new.len() / dims;
    let k = fixed.len() / dims;
    let dot = |a: &[f64], b: &[f64]| a.iter().zip(b).map(|(x, y)| x * y).sum::<f64>();
    // Cosines of new row i with every fixed row, then with every new row (self set to -3).
    let cosines = |new: &[f64]| -> Vec<f64> {
        let mut c = vec![0.0; m * (k + m)];
        for i in 0..m {
            let row = &new[i * dims..(i + 1) * dims];
            for j in 0..k {
                c[i * (k + m) + j] = dot(row, &fixed[j * dims..(j + 1) * dims]);
            }
            for j in 0..m {
                c[i * (k + m) + k + j] = if i == j {
                    -3.0
                } else {
                    dot(row, &new[j * dims..(j + 1) * dims])
                };
            }
        }
        c
    };
    let peak_of = |c: &[f64]| c.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let mut velocity = vec![0.0; new.len()];
    let last = steps.saturating_sub(1);
    let power = 1u32 << KERNEL_SQUARINGS;
    for step in 0..steps {
        let fraction = if last == 0 {
            1.0
        } else {
            step as f64 / last as f64
        };
        let t = f64::from(TEMPERATURE_START)
            * (f64::from(TEMPERATURE_END) / f64::from(TEMPERATURE_START)).powf(fraction);
        let rate = f64::from(learning_rate) * f64::from(LEARNING_RATE_END_FRACTION).powf(fraction);
        let c = cosines(new);
        let peak = peak_of(&c);
        report(step, peak);
        let slope = t / f64::from(power);
        let mut step_rows = vec![0.0; new.len()];
        for i in 0..m {
            let mut push = vec![0.0; dims];
            for j in 0..k + m {
                let w = (1.0 + slope * (c[i * (k + m) + j] - peak)).max(0.0);
                if w == 0.0 {
                    continue;
                }
                let w = w.powi(power as i32);
                let other = if j < k {
                    &fixed[j * dims..(j + 1) * dims]
                } else {
                    &new[(j - k) * dims..(j - k + 1) * dims]
                };
                push.iter_mut().zip(other).for_each(|(p, o)| *p += w * o);
            }
            let row = &new[i * dims..(i + 1) * dims];
            let radial = dot(&push, row);
            for d in 0..dims {
                let v = &mut velocity[i * dims + d];
                *v = f64::from(MOMENTUM) * *v + (push[d] - radial * row[d]);
                step_rows[i * dims + d] = row[d] - rate * *v;
            }
        }
        normalise_rows(&mut step_rows, dims);
        new.copy_from_slice(&step_rows);
    }
    peak_of(&cosines(new))
}
