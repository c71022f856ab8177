//! The inner loops of the BatchNorm kernels ([`batch_norm`](crate::batch_norm)): one plane (or
//! one run of entries) at a time, element-wise passes and two-sum reductions.
//!
//! The crate is built for the baseline x86-64, where these loops move 4 floats per instruction.
//! Each function here is also compiled for AVX2 and for AVX-512F and picks the widest version
//! the CPU has at run time (`multiversion`). No version fuses a multiply with an add (Rust never
//! contracts them), and a reduction keeps [`LANES`] partial sums in a fixed order whatever the
//! vector width, so every version gives the same bits.

use std::mem::MaybeUninit;

use multiversion::multiversion;

/// Independent partial sums a reduction keeps, one AVX-512 register of f32 (two AVX2 ones), so
/// that the additions do not wait on each other; they are added up in a fixed order at the end.
pub(crate) const LANES: usize = 16;

/// (sum f(v).0, sum f(v).1) over `values`: entry i goes to partial sum i mod [`LANES`], and the
/// partial sums are added up in order. Inlined into each version of its callers.
#[inline(always)]
fn lane_sums(values: &[f32], f: impl Fn(f32) -> (f32, f32)) -> (f32, f32) {
    let (mut a, mut b) = ([0.0f32; LANES], [0.0f32; LANES]);
    let chunks = values.chunks_exact(LANES);
    let rest = chunks.remainder();
    for chunk in chunks {
        for i in 0..LANES {
            let (p, q) = f(chunk[i]);
            a[i] += p;
            b[i] += q;
        }
    }
    for (i, &v) in rest.iter().enumerate() {
        let (p, q) = f(v);
        a[i] += p;
        b[i] += q;
    }
    (a.iter().sum(), b.iter().sum())
}

/// (sum f(x, y).0, sum f(x, y).1) over the pairs of `xs` and `ys` (same length), in the lanes
/// of [`lane_sums`].
#[inline(always)]
fn lane_sums2(xs: &[f32], ys: &[f32], f: impl Fn(f32, f32) -> (f32, f32)) -> (f32, f32) {
    let (mut a, mut b) = ([0.0f32; LANES], [0.0f32; LANES]);
    let (xc, yc) = (xs.chunks_exact(LANES), ys.chunks_exact(LANES));
    let (xr, yr) = (xc.remainder(), yc.remainder());
    for (x, y) in xc.zip(yc) {
        for i in 0..LANES {
            let (p, q) = f(x[i], y[i]);
            a[i] += p;
            b[i] += q;
        }
    }
    for (i, (&x, &y)) in xr.iter().zip(yr).enumerate() {
        let (p, q) = f(x, y);
        a[i] += p;
        b[i] += q;
    }
    (a.iter().sum(), b.iter().sum())
}

/// (sum (v - k), sum (v - k)^2) over `values`: the shifted sums of the batch statistics.
#[multiversion(targets("x86_64+avx512f", "x86_64+avx2"))]
pub(crate) fn shifted_sums(values: &[f32], k: f32) -> (f32, f32) {
    lane_sums(values, |v| {
        let d = v - k;
        (d, d * d)
    })
}

/// (sum g, sum g (x - m)) over the pairs of `xs` and `gs`: the sums of the BatchNorm backward
/// pass, dbeta and dgamma / inv_std.
#[multiversion(targets("x86_64+avx512f", "x86_64+avx2"))]
pub(crate) fn gradient_sums(xs: &[f32], gs: &[f32], m: f32) -> (f32, f32) {
    lane_sums2(xs, gs, |v, g| (g, g * (v - m)))
}

/// The rectifier max(v, 0) as Burn's Flex backend computes it: NaN stays NaN, -0 becomes +0.
#[inline(always)]
fn relu(v: f32) -> f32 {
    if v.is_nan() || v > 0.0 { v } else { 0.0 }
}

/// out = x scale + shift, entry by entry (`out` and `xs` of the same length).
#[multiversion(targets("x86_64+avx512f", "x86_64+avx2"))]
pub(crate) fn affine(out: &mut [MaybeUninit<f32>], xs: &[f32], scale: f32, shift: f32) {
    for (y, &v) in out.iter_mut().zip(xs) {
        y.write(v * scale + shift);
    }
}

/// out = relu(x scale + shift).
#[multiversion(targets("x86_64+avx512f", "x86_64+avx2"))]
pub(crate) fn affine_relu(out: &mut [MaybeUninit<f32>], xs: &[f32], scale: f32, shift: f32) {
    for (y, &v) in out.iter_mut().zip(xs) {
        y.write(relu(v * scale + shift));
    }
}

/// out = relu((x scale + shift) + r), rounded after each operation.
#[multiversion(targets("x86_64+avx512f", "x86_64+avx2"))]
pub(crate) fn affine_add_relu(
    out: &mut [MaybeUninit<f32>],
    xs: &[f32],
    rs: &[f32],
    scale: f32,
    shift: f32,
) {
    for ((y, &v), &r) in out.iter_mut().zip(xs).zip(rs) {
        y.write(relu((v * scale + shift) + r));
    }
}

/// out = ((x - mean) / std) gamma + beta with `[mean, std, gamma, beta]`, in this order of
/// rounding (Burn's inference BatchNorm).
#[multiversion(targets("x86_64+avx512f", "x86_64+avx2"))]
pub(crate) fn normalise(out: &mut [MaybeUninit<f32>], xs: &[f32], [m, s, g, b]: [f32; 4]) {
    for (y, &v) in out.iter_mut().zip(xs) {
        y.write(((v - m) / s) * g + b);
    }
}

/// out = a g + b x + d with `[a, b, d]`: the BatchNorm input gradient.
#[multiversion(targets("x86_64+avx512f", "x86_64+avx2"))]
pub(crate) fn input_gradient(
    out: &mut [MaybeUninit<f32>],
    xs: &[f32],
    gs: &[f32],
    [a, b, d]: [f32; 3],
) {
    for ((o, &v), &g) in out.iter_mut().zip(xs).zip(gs) {
        o.write(a * g + b * v + d);
    }
}

/// out = g where the rectifier's output y is positive or NaN, 0 elsewhere (Burn's Flex
/// `relu_backward`).
#[multiversion(targets("x86_64+avx512f", "x86_64+avx2"))]
pub(crate) fn relu_gradient(out: &mut [MaybeUninit<f32>], ys: &[f32], gs: &[f32]) {
    for ((o, &y), &g) in out.iter_mut().zip(ys).zip(gs) {
        o.write(if y.is_nan() || y > 0.0 { g } else { 0.0 });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::unfilled::filled;

    fn values(count: usize, seed: u32) -> Vec<f32> {
        (0..count)
            .map(|i| (((i as u32).wrapping_mul(2_654_435_761) ^ seed) % 2000) as f32 / 500.0 - 2.0)
            .collect()
    }

    /// The two lane sums written out one entry at a time, in the lane order of [`lane_sums`].
    fn scalar_sums(n: usize, f: impl Fn(usize) -> (f32, f32)) -> (f32, f32) {
        let (mut a, mut b) = ([0.0f32; LANES], [0.0f32; LANES]);
        for i in 0..n {
            let (p, q) = f(i);
            a[i % LANES] += p;
            b[i % LANES] += q;
        }
        let (mut s, mut t) = (0.0f32, 0.0f32);
        for l in 0..LANES {
            s += a[l];
            t += b[l];
        }
        (s, t)
    }

    fn bits(v: &[f32]) -> Vec<u32> {
        v.iter().map(|x| x.to_bits()).collect()
    }

    /// Whatever version the CPU running the test picks (AVX-512F, AVX2 or the baseline), each
    /// loop gives the bits of the plain scalar loop, for lengths with and without a partial run
    /// of lanes.
    #[test]
    fn every_loop_gives_the_bits_of_the_scalar_loop() {
        for n in [0, 1, 15, 16, 17, 63, 1000] {
            let (xs, gs, rs) = (values(n, 1), values(n, 2), values(n, 3));
            let (k, m, scale, shift) = (0.3f32, -0.2f32, 1.7f32, -0.4f32);
            let expected = scalar_sums(n, |i| {
                let d = xs[i] - k;
                (d, d * d)
            });
            assert_eq!(shifted_sums(&xs, k), expected, "shifted sums, n = {n}");
            let expected = scalar_sums(n, |i| (gs[i], gs[i] * (xs[i] - m)));
            assert_eq!(
                gradient_sums(&xs, &gs, m),
                expected,
                "gradient sums, n = {n}"
            );
            let relu = |v: f32| if v.is_nan() || v > 0.0 { v } else { 0.0 };
            let cases: [(&str, Vec<f32>, Vec<f32>); 6] = [
                (
                    "affine",
                    filled(n, |o| affine(o, &xs, scale, shift)),
                    xs.iter().map(|v| v * scale + shift).collect(),
                ),
                (
                    "affine relu",
                    filled(n, |o| affine_relu(o, &xs, scale, shift)),
                    xs.iter().map(|v| relu(v * scale + shift)).collect(),
                ),
                (
                    "affine add relu",
                    filled(n, |o| affine_add_relu(o, &xs, &rs, scale, shift)),
                    (0..n)
                        .map(|i| relu((xs[i] * scale + shift) + rs[i]))
                        .collect(),
                ),
                (
                    "normalise",
                    filled(n, |o| normalise(o, &xs, [m, 1.3, scale, shift])),
                    xs.iter().map(|v| ((v - m) / 1.3) * scale + shift).collect(),
                ),
                (
                    "input gradient",
                    filled(n, |o| input_gradient(o, &xs, &gs, [scale, m, shift])),
                    (0..n).map(|i| scale * gs[i] + m * xs[i] + shift).collect(),
                ),
                (
                    "relu gradient",
                    filled(n, |o| relu_gradient(o, &rs, &gs)),
                    (0..n)
                        .map(|i| if rs[i] > 0.0 { gs[i] } else { 0.0 })
                        .collect(),
                ),
            ];
            for (name, got, expected) in cases {
                assert_eq!(bits(&got), bits(&expected), "{name}, n = {n}");
            }
        }
    }
}
