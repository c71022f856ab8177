//! CPU kernels of training-mode batch normalisation (Ioffe and Szegedy 2015) over a contiguous
//! (N, C, S) tensor, S the product of the spatial sizes: statistics and normalisation in two
//! passes over the input, and the backward pass in two passes over the input and its gradient.

use std::mem::MaybeUninit;

use rayon::prelude::*;

use crate::unfilled::filled;

/// Shape of a batch-normalised tensor: N samples, C channels, S entries per channel and sample.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NormShape {
    /// Batch size N.
    pub batch: usize,
    /// Channels C.
    pub channels: usize,
    /// Entries per channel and sample S (H W for an image).
    pub spatial: usize,
}

impl NormShape {
    fn len(&self) -> usize {
        self.batch * self.channels * self.spatial
    }

    /// M = N S, the entries each channel's statistics run over.
    fn count(&self) -> f64 {
        (self.batch * self.spatial) as f64
    }

    /// The planes x[n, c, ..] of channel `c`, for every n.
    fn planes<'a>(&self, x: &'a [f32], c: usize) -> impl Iterator<Item = &'a [f32]> {
        let s = self.spatial;
        (0..self.batch)
            .map(move |n| &x[(n * self.channels + c) * s..(n * self.channels + c + 1) * s])
    }
}

/// Batch statistics and output of training-mode batch normalisation.
#[derive(Clone, Debug, PartialEq)]
pub struct NormForward {
    /// `y = gamma[c] (x - mean[c]) / sqrt(var[c] + eps) + beta[c]`, shaped like x.
    pub output: Vec<f32>,
    /// `mean[c] = (1 / M) sum_{n, s} x[n, c, s]`.
    pub mean: Vec<f32>,
    /// The biased variance `var[c] = (1 / M) sum_{n, s} (x[n, c, s] - mean[c])^2`.
    pub variance: Vec<f32>,
}

/// Gradients of training-mode batch normalisation.
#[derive(Clone, Debug, PartialEq)]
pub struct NormBackward {
    /// `dx = gamma[c] / sqrt(var[c] + eps) (dy - mean(dy)[c] - x_hat mean(dy x_hat)[c])`, with
    /// `x_hat = (x - mean[c]) / sqrt(var[c] + eps)` and the means over the M entries of channel c.
    pub input: Vec<f32>,
    /// `dgamma[c] = sum_{n, s} dy x_hat`.
    pub gamma: Vec<f32>,
    /// `dbeta[c] = sum_{n, s} dy`.
    pub beta: Vec<f32>,
}

/// A tensor of `shape` whose every plane (n, c) is written by f(plane, n, c), in parallel.
fn map_planes(
    shape: &NormShape,
    f: impl Fn(&mut [MaybeUninit<f32>], usize, usize) + Sync,
) -> Vec<f32> {
    filled(shape.len(), |out| {
        out.par_chunks_mut(shape.spatial)
            .enumerate()
            .for_each(|(i, plane)| f(plane, i / shape.channels, i % shape.channels))
    })
}

/// Training-mode batch normalisation of `x` (N, C, S contiguous) with the per-channel `gamma`
/// and `beta`: the statistics are accumulated in f64 (sum and sum of squares of x minus one of
/// the channel's entries, one pass), then
/// y = gamma (x - mean) / sqrt(var + eps) + beta in a second pass. Panics on lengths that do not
/// match `shape`.
pub fn batch_norm_train(
    x: &[f32],
    gamma: &[f32],
    beta: &[f32],
    epsilon: f64,
    shape: &NormShape,
) -> NormForward {
    assert_eq!(x.len(), shape.len(), "input length");
    assert_eq!(gamma.len(), shape.channels, "gamma length");
    assert_eq!(beta.len(), shape.channels, "beta length");
    let count = shape.count();
    let stats: Vec<(f64, f64)> = (0..shape.channels)
        .into_par_iter()
        .map(|c| {
            // Sums of x - k with k one entry of the channel, so that the variance
            // E[(x - k)^2] - E[x - k]^2 does not cancel when the mean is large.
            let k = x[c * shape.spatial];
            let (mut sum, mut squares) = (0.0f64, 0.0f64);
            for plane in shape.planes(x, c) {
                let (s, q) = plane.iter().fold((0.0f32, 0.0f32), |(s, q), &v| {
                    let d = v - k;
                    (s + d, q + d * d)
                });
                sum += s as f64;
                squares += q as f64;
            }
            let shifted = sum / count;
            (
                k as f64 + shifted,
                (squares / count - shifted * shifted).max(0.0),
            )
        })
        .collect();
    let coefficients: Vec<(f32, f32)> = stats
        .iter()
        .zip(gamma.iter().zip(beta))
        .map(|(&(mean, var), (&g, &b))| {
            let scale = g as f64 / (var + epsilon).sqrt();
            (scale as f32, (b as f64 - mean * scale) as f32)
        })
        .collect();
    let output = map_planes(shape, |plane, n, c| {
        let (scale, shift) = coefficients[c];
        let src = &x[(n * shape.channels + c) * shape.spatial..][..shape.spatial];
        for (y, &v) in plane.iter_mut().zip(src) {
            y.write(v * scale + shift);
        }
    });
    NormForward {
        output,
        mean: stats.iter().map(|s| s.0 as f32).collect(),
        variance: stats.iter().map(|s| s.1 as f32).collect(),
    }
}

/// Inference-mode batch normalisation of `x` (N, C, S contiguous) with given statistics, in one
/// pass: `y = ((x - mean[c]) / sqrt(var[c] + eps)) gamma[c] + beta[c]`, each operation rounded to
/// f32 in this order (eps rounded to f32 first), which is how Burn's default `batch_norm`
/// composes it from four element-wise passes, so the result is Burn's bit for bit. Panics on
/// lengths that do not match `shape`.
pub fn batch_norm_inference(
    x: &[f32],
    gamma: &[f32],
    beta: &[f32],
    mean: &[f32],
    variance: &[f32],
    epsilon: f64,
    shape: &NormShape,
) -> Vec<f32> {
    assert_eq!(x.len(), shape.len(), "input length");
    for (what, v) in [
        ("gamma", gamma),
        ("beta", beta),
        ("mean", mean),
        ("variance", variance),
    ] {
        assert_eq!(v.len(), shape.channels, "{what} length");
    }
    let std: Vec<f32> = variance
        .iter()
        .map(|&v| (v + epsilon as f32).sqrt())
        .collect();
    map_planes(shape, |plane, n, c| {
        let (m, s, g, b) = (mean[c], std[c], gamma[c], beta[c]);
        let src = &x[(n * shape.channels + c) * shape.spatial..][..shape.spatial];
        for (y, &v) in plane.iter_mut().zip(src) {
            y.write(((v - m) / s) * g + b);
        }
    })
}

/// Gradients of [`batch_norm_train`] given the output gradient `dy`, from the input, gamma and
/// the batch statistics the forward pass returned (see [`NormBackward`] for the formulas).
/// Panics on lengths that do not match `shape`.
pub fn batch_norm_train_backward(
    x: &[f32],
    gamma: &[f32],
    mean: &[f32],
    variance: &[f32],
    epsilon: f64,
    dy: &[f32],
    shape: &NormShape,
) -> NormBackward {
    assert_eq!(x.len(), shape.len(), "input length");
    assert_eq!(dy.len(), shape.len(), "output gradient length");
    for (what, v) in [("gamma", gamma), ("mean", mean), ("variance", variance)] {
        assert_eq!(v.len(), shape.channels, "{what} length");
    }
    let count = shape.count();
    let inv_std: Vec<f64> = variance
        .iter()
        .map(|&v| 1.0 / (v as f64 + epsilon).sqrt())
        .collect();
    // (sum dy, sum dy x_hat) per channel.
    let sums: Vec<(f64, f64)> = (0..shape.channels)
        .into_par_iter()
        .map(|c| {
            let m = mean[c];
            let (mut sum, mut dot) = (0.0f64, 0.0f64);
            for (xs, gs) in shape.planes(x, c).zip(shape.planes(dy, c)) {
                let (s, d) = xs
                    .iter()
                    .zip(gs)
                    .fold((0.0f32, 0.0f32), |(s, d), (&v, &g)| {
                        (s + g, d + g * (v - m))
                    });
                sum += s as f64;
                dot += d as f64;
            }
            (sum, dot * inv_std[c])
        })
        .collect();
    // dx = a dy + b x + d with a = gamma inv_std, b = -a inv_std mean(dy x_hat),
    // d = -a mean(dy) - b mean.
    let coefficients: Vec<(f32, f32, f32)> = (0..shape.channels)
        .map(|c| {
            let a = gamma[c] as f64 * inv_std[c];
            let b = -a * inv_std[c] * sums[c].1 / count;
            let d = -a * sums[c].0 / count - b * mean[c] as f64;
            (a as f32, b as f32, d as f32)
        })
        .collect();
    let input = map_planes(shape, |plane, n, c| {
        let (a, b, d) = coefficients[c];
        let start = (n * shape.channels + c) * shape.spatial;
        let (xs, gs) = (&x[start..][..shape.spatial], &dy[start..][..shape.spatial]);
        for ((out, &v), &g) in plane.iter_mut().zip(xs).zip(gs) {
            out.write(a * g + b * v + d);
        }
    });
    NormBackward {
        input,
        gamma: sums.iter().map(|s| s.1 as f32).collect(),
        beta: sums.iter().map(|s| s.0 as f32).collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SHAPE: NormShape = NormShape {
        batch: 3,
        channels: 2,
        spatial: 5,
    };
    const EPS: f64 = 1e-5;

    fn values(count: usize, seed: u32, offset: f32) -> Vec<f32> {
        (0..count)
            .map(|i| {
                offset + (((i as u32).wrapping_mul(2_654_435_761) ^ seed) % 1000) as f32 / 250.0
                    - 2.0
            })
            .collect()
    }

    /// y by the definition, in f64.
    fn reference(x: &[f64], gamma: &[f64], beta: &[f64], shape: &NormShape) -> Vec<f64> {
        let mut y = vec![0.0; x.len()];
        for c in 0..shape.channels {
            let index = |n: usize, s: usize| (n * shape.channels + c) * shape.spatial + s;
            let entries: Vec<usize> = (0..shape.batch)
                .flat_map(|n| (0..shape.spatial).map(move |s| index(n, s)))
                .collect();
            let m = entries.len() as f64;
            let mean = entries.iter().map(|&i| x[i]).sum::<f64>() / m;
            let var = entries.iter().map(|&i| (x[i] - mean).powi(2)).sum::<f64>() / m;
            for &i in &entries {
                y[i] = gamma[c] * (x[i] - mean) / (var + EPS).sqrt() + beta[c];
            }
        }
        y
    }

    fn as_f64(v: &[f32]) -> Vec<f64> {
        v.iter().map(|&a| a as f64).collect()
    }

    #[test]
    fn forward_matches_the_definition_even_for_a_large_mean() {
        for offset in [0.0f32, 1000.0] {
            let x = values(30, 1, offset);
            let (gamma, beta) = (vec![1.5f32, -0.5], vec![0.25f32, 2.0]);
            let ours = batch_norm_train(&x, &gamma, &beta, EPS, &SHAPE);
            let expected = reference(&as_f64(&x), &as_f64(&gamma), &as_f64(&beta), &SHAPE);
            for (a, b) in ours.output.iter().zip(&expected) {
                assert!((*a as f64 - b).abs() < 2e-4, "offset {offset}: {a} vs {b}");
            }
            let x0: Vec<f64> = (0..3)
                .flat_map(|n| as_f64(&x[n * 10..n * 10 + 5]))
                .collect();
            let mean = x0.iter().sum::<f64>() / 15.0;
            let var = x0.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / 15.0;
            assert!((ours.mean[0] as f64 - mean).abs() < 1e-4 * (1.0 + mean.abs()));
            assert!(
                (ours.variance[0] as f64 - var).abs() < 1e-4,
                "{} vs {var}",
                ours.variance[0]
            );
        }
    }

    #[test]
    fn backward_matches_central_differences_of_the_definition() {
        let x = values(30, 3, 0.5);
        let (gamma, beta) = (vec![1.5f32, -0.5], vec![0.25f32, 2.0]);
        let r = values(30, 7, 0.0);
        let forward = batch_norm_train(&x, &gamma, &beta, EPS, &SHAPE);
        let grads = batch_norm_train_backward(
            &x,
            &gamma,
            &forward.mean,
            &forward.variance,
            EPS,
            &r,
            &SHAPE,
        );
        // L = sum y r, differentiated numerically in f64.
        let (x64, g64, b64, r64) = (as_f64(&x), as_f64(&gamma), as_f64(&beta), as_f64(&r));
        let loss = |x: &[f64], g: &[f64], b: &[f64]| -> f64 {
            reference(x, g, b, &SHAPE)
                .iter()
                .zip(&r64)
                .map(|(y, r)| y * r)
                .sum()
        };
        let h = 1e-6;
        let numeric = |which: usize, i: usize| {
            let mut args = [x64.clone(), g64.clone(), b64.clone()];
            args[which][i] += h;
            let up = loss(&args[0], &args[1], &args[2]);
            args[which][i] -= 2.0 * h;
            let down = loss(&args[0], &args[1], &args[2]);
            (up - down) / (2.0 * h)
        };
        for i in 0..30 {
            let expected = numeric(0, i);
            assert!(
                (grads.input[i] as f64 - expected).abs() < 1e-3,
                "dx[{i}]: {} vs {expected}",
                grads.input[i]
            );
        }
        for c in 0..2 {
            let (dg, db) = (numeric(1, c), numeric(2, c));
            assert!(
                (grads.gamma[c] as f64 - dg).abs() < 1e-3,
                "dgamma[{c}]: {} vs {dg}",
                grads.gamma[c]
            );
            assert!(
                (grads.beta[c] as f64 - db).abs() < 1e-3,
                "dbeta[{c}]: {} vs {db}",
                grads.beta[c]
            );
        }
    }
}
