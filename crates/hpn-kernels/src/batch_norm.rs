//! CPU kernels of training-mode batch normalisation (Ioffe and Szegedy 2015) over a contiguous
//! (N, C, S) tensor, S the product of the spatial sizes: statistics and normalisation in two
//! passes over the input, and the backward pass in two passes over the input and its gradient.

use std::mem::MaybeUninit;

use rayon::prelude::*;

use crate::norm_loops::{
    affine, affine_add_relu, affine_relu, gradient_sums, input_gradient, normalise, relu_gradient,
    shifted_sums,
};
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

/// Entries a parallel task of [`map_planes`] covers at least: a task per plane of 64 entries
/// (an 8x8 map) spent more time in the scheduler than in the pass.
const TASK_ENTRIES: usize = 16 * 1024;

/// A tensor of `shape` whose every plane (n, c) is written by f(plane, n, c), in parallel over
/// runs of whole planes.
fn map_planes(
    shape: &NormShape,
    f: impl Fn(&mut [MaybeUninit<f32>], usize, usize) + Sync,
) -> Vec<f32> {
    filled(shape.len(), |out| {
        out.par_chunks_mut(shape.spatial)
            .enumerate()
            .with_min_len(TASK_ENTRIES.div_ceil(shape.spatial.max(1)))
            .for_each(|(i, plane)| f(plane, i / shape.channels, i % shape.channels))
    })
}

/// Per channel c, (sum over n of f(n C + c, c).0, the same for .1), f giving the two sums of
/// plane (n, c) in f32 and the sums over n running in f64 in the order of n. The planes are
/// summed in parallel in memory order (reading channel by channel instead, one plane per page,
/// ran at a third of the element-wise passes' speed) and added up afterwards, so the bits do
/// not depend on the thread count.
fn channel_sums(
    shape: &NormShape,
    f: impl Fn(usize, usize) -> (f32, f32) + Sync,
) -> Vec<(f64, f64)> {
    let planes: Vec<(f32, f32)> = (0..shape.batch * shape.channels)
        .into_par_iter()
        .with_min_len(TASK_ENTRIES.div_ceil(shape.spatial.max(1)))
        .map(|i| f(i, i % shape.channels))
        .collect();
    (0..shape.channels)
        .map(|c| {
            (0..shape.batch).fold((0.0f64, 0.0f64), |(a, b), n| {
                let (p, q) = planes[n * shape.channels + c];
                (a + p as f64, b + q as f64)
            })
        })
        .collect()
}

/// One channel's batch statistics and the coefficients of its output pass y = x scale + shift.
#[derive(Clone, Copy, Debug)]
struct ChannelNorm {
    mean: f64,
    /// The biased variance.
    variance: f64,
    /// gamma / sqrt(var + eps).
    scale: f32,
    /// beta - mean scale.
    shift: f32,
}

/// The [`ChannelNorm`] of every channel, from the sums of x minus one of the channel's entries
/// and of its square (one pass, in f64 across planes).
fn train_statistics(
    x: &[f32],
    gamma: &[f32],
    beta: &[f32],
    epsilon: f64,
    shape: &NormShape,
) -> Vec<ChannelNorm> {
    assert_eq!(x.len(), shape.len(), "input length");
    assert_eq!(gamma.len(), shape.channels, "gamma length");
    assert_eq!(beta.len(), shape.channels, "beta length");
    let count = shape.count();
    // Sums of x - k with k one entry of each channel, so that the variance
    // E[(x - k)^2] - E[x - k]^2 does not cancel when the mean is large.
    let shifts: Vec<f32> = (0..shape.channels).map(|c| x[c * shape.spatial]).collect();
    let sums = channel_sums(shape, |i, c| {
        let k = shifts[c];
        shifted_sums(&x[i * shape.spatial..][..shape.spatial], k)
    });
    sums.iter()
        .zip(&shifts)
        .zip(gamma.iter().zip(beta))
        .map(|((&(sum, squares), &k), (&g, &b))| {
            let shifted = sum / count;
            let mean = k as f64 + shifted;
            let variance = (squares / count - shifted * shifted).max(0.0);
            let scale = g as f64 / (variance + epsilon).sqrt();
            ChannelNorm {
                mean,
                variance,
                scale: scale as f32,
                shift: (b as f64 - mean * scale) as f32,
            }
        })
        .collect()
}

/// The [`NormForward`] of the channels' statistics and an output.
fn norm_forward(output: Vec<f32>, channels: &[ChannelNorm]) -> NormForward {
    NormForward {
        output,
        mean: channels.iter().map(|c| c.mean as f32).collect(),
        variance: channels.iter().map(|c| c.variance as f32).collect(),
    }
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
    let channels = train_statistics(x, gamma, beta, epsilon, shape);
    let output = map_planes(shape, |plane, n, c| {
        let ChannelNorm { scale, shift, .. } = channels[c];
        let src = &x[(n * shape.channels + c) * shape.spatial..][..shape.spatial];
        affine(plane, src, scale, shift);
    });
    norm_forward(output, &channels)
}

/// [`batch_norm_train`] followed by a rectifier in the same output pass, optionally after a
/// residual sum: y = relu(gamma (x - mean) / sqrt(var + eps) + beta + r) with r the entry of
/// `residual` (the ResNet block's `relu(bn(conv(x)) + shortcut)`). Each operation is rounded as
/// the separate passes round it (normalise, add, rectify), so y has their bits; the statistics
/// are those of x. Panics on lengths that do not match `shape`.
pub fn batch_norm_relu_train(
    x: &[f32],
    gamma: &[f32],
    beta: &[f32],
    residual: Option<&[f32]>,
    epsilon: f64,
    shape: &NormShape,
) -> NormForward {
    let channels = train_statistics(x, gamma, beta, epsilon, shape);
    if let Some(r) = residual {
        assert_eq!(r.len(), shape.len(), "residual length");
    }
    let output = map_planes(shape, |plane, n, c| {
        let ChannelNorm { scale, shift, .. } = channels[c];
        let start = (n * shape.channels + c) * shape.spatial;
        let src = &x[start..][..shape.spatial];
        match residual {
            Some(r) => affine_add_relu(plane, src, &r[start..][..shape.spatial], scale, shift),
            None => affine_relu(plane, src, scale, shift),
        }
    });
    norm_forward(output, &channels)
}

/// The gradient of the rectifier's input from its `output` and output gradient `dy` (same
/// length): dy where the output is positive or NaN, 0 elsewhere, as Burn's Flex backend computes
/// it. Panics on lengths that differ.
pub fn relu_backward(output: &[f32], dy: &[f32]) -> Vec<f32> {
    assert_eq!(output.len(), dy.len(), "output gradient length");
    filled(output.len(), |out| {
        out.par_chunks_mut(TASK_ENTRIES)
            .zip(
                output
                    .par_chunks(TASK_ENTRIES)
                    .zip(dy.par_chunks(TASK_ENTRIES)),
            )
            .for_each(|(out, (ys, gs))| relu_gradient(out, ys, gs))
    })
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
        normalise(plane, src, [m, s, g, b]);
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
    let sums: Vec<(f64, f64)> = channel_sums(shape, |i, c| {
        let m = mean[c];
        let plane = i * shape.spatial..(i + 1) * shape.spatial;
        gradient_sums(&x[plane.clone()], &dy[plane], m)
    })
    .into_iter()
    .zip(&inv_std)
    .map(|((sum, dot), &inv)| (sum, dot * inv))
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
        input_gradient(plane, xs, gs, [a, b, d]);
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

    /// Planes of 1, 16 and 37 entries (no full lane run, exactly one, two and a remainder) and
    /// more planes than one parallel task: the forward pass, and the rectified pass with a
    /// residual, against the definition in f64.
    #[test]
    fn planes_of_every_length_match_the_definition() {
        for (batch, spatial) in [(3, 1), (3, 16), (3, 37), (700, 16)] {
            let shape = NormShape {
                batch,
                channels: 2,
                spatial,
            };
            let x = values(shape.len(), 11, 0.5);
            let r = values(shape.len(), 12, 0.0);
            let (gamma, beta) = (vec![1.5f32, -0.5], vec![0.25f32, 2.0]);
            let expected = reference(&as_f64(&x), &as_f64(&gamma), &as_f64(&beta), &shape);
            let plain = batch_norm_train(&x, &gamma, &beta, EPS, &shape);
            let rectified = batch_norm_relu_train(&x, &gamma, &beta, Some(&r), EPS, &shape);
            assert_eq!(plain.mean, rectified.mean);
            assert_eq!(plain.variance, rectified.variance);
            for (i, e) in expected.iter().enumerate() {
                let (a, b) = (plain.output[i] as f64, rectified.output[i] as f64);
                assert!((a - e).abs() < 2e-4, "{shape:?} y[{i}]: {a} vs {e}");
                let e_relu = (e + r[i] as f64).max(0.0);
                assert!(
                    (b - e_relu).abs() < 2e-4,
                    "{shape:?} relu[{i}]: {b} vs {e_relu}"
                );
            }
        }
    }

    #[test]
    fn relu_backward_keeps_the_gradient_where_the_output_is_positive_or_nan() {
        let output = [2.0f32, 0.0, -0.0, f32::NAN, 1e-30, 0.0];
        let dy = [1.0f32, 2.0, 3.0, 4.0, 5.0, -6.0];
        let got = relu_backward(&output, &dy);
        assert_eq!(got, vec![1.0, 0.0, 0.0, 4.0, 5.0, 0.0]);
        let long: Vec<f32> = (0..3 * TASK_ENTRIES + 5)
            .map(|i| (i % 3) as f32 - 1.0)
            .collect();
        let got = relu_backward(&long, &vec![2.0; long.len()]);
        for (i, (g, y)) in got.iter().zip(&long).enumerate() {
            assert_eq!(*g, if *y > 0.0 { 2.0 } else { 0.0 }, "entry {i}");
        }
    }
}
