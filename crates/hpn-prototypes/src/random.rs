//! Seeded random numbers on the host: standard Gaussian samples and random orthonormal frames.
//!
//! Every random choice of this crate goes through here, so a seed fixes a placement on every
//! backend and machine: the generator is `hpn_common::stream`'s xoshiro256++, seeded from
//! (seed, stream) by the project's one seed derivation.

use rand::RngExt;
use rand::rngs::Xoshiro256PlusPlus;

/// A seeded source of standard Gaussian numbers (Box-Muller on xoshiro256++).
pub(crate) struct Gaussian {
    rng: Xoshiro256PlusPlus,
    spare: Option<f64>,
}

impl Gaussian {
    /// A generator whose whole stream is fixed by `seed`; `stream` separates independent uses
    /// of the same seed (e.g. the initial rows and a projection).
    pub fn new(seed: u64, stream: u64) -> Self {
        Self {
            rng: hpn_common::stream(&[seed, stream]),
            spare: None,
        }
    }

    /// One sample of N(0, 1).
    pub fn sample(&mut self) -> f64 {
        if let Some(z) = self.spare.take() {
            return z;
        }
        // u1 in (0, 1] so that ln(u1) is finite.
        let u1 = 1.0 - self.rng.random::<f64>();
        let u2 = self.rng.random::<f64>();
        let radius = (-2.0 * u1.ln()).sqrt();
        let angle = std::f64::consts::TAU * u2;
        self.spare = Some(radius * angle.sin());
        radius * angle.cos()
    }

    /// `count` samples of N(0, 1).
    pub fn samples(&mut self, count: usize) -> Vec<f64> {
        (0..count).map(|_| self.sample()).collect()
    }
}

/// `count` orthonormal vectors in R^dims (row-major, `count <= dims`), drawn uniformly at random:
/// Gram-Schmidt (applied twice for accuracy) on Gaussian vectors. Used to rotate closed-form
/// layouts into a seeded random orientation.
pub(crate) fn random_orthonormal_rows(
    count: usize,
    dims: usize,
    gaussian: &mut Gaussian,
) -> Vec<f64> {
    let mut rows: Vec<f64> = Vec::with_capacity(count * dims);
    while rows.len() < count * dims {
        let mut v = gaussian.samples(dims);
        for _ in 0..2 {
            for q in rows.chunks_exact(dims) {
                let projection: f64 = q.iter().zip(&v).map(|(a, b)| a * b).sum();
                v.iter_mut().zip(q).for_each(|(x, a)| *x -= projection * a);
            }
        }
        let norm = v.iter().map(|x| x * x).sum::<f64>().sqrt();
        // A draw (numerically) inside the span of the previous rows has probability zero;
        // draw again rather than divide by a tiny norm.
        if norm > 1e-6 {
            rows.extend(v.iter().map(|x| x / norm));
        }
    }
    rows
}
