//! Stride-1 convolutions (K > 1) over K shifted copies of the zero-padded image instead of a
//! column matrix of K^2 rows per channel.
//!
//! With X' the input padded by p ((H_p, W_p) = (H + 2p, W + 2p)), H_o = H_p - K + 1 and
//! W_o = W_p - K + 1, the shifted copies of a group of samples j are
//! S[(c K + kx), (j H_p + r) W_o + x] = X'_j[c, r, x + kx] for every padded row r. Row (c, kx)
//! of S read from column ky W_o on is the im2col row (c, ky, kx): its entry at position
//! q = (j H_p + y) W_o + x is X'_j[c, y + ky, x + kx]. So for each ky the K C rows of S,
//! shifted by ky W_o, form one matrix with a constant row stride, and
//!
//! - forward: Y (O, q) = sum over ky of W_ky (O, C K) S_ky (C K, q), with
//!   W_ky[o, (c, kx)] = W[o, c, ky, kx];
//! - weight gradient: dW_ky^T (C K, O) += S_ky dY'^T, where dY' is dY laid out on the same
//!   positions q and zero elsewhere.
//!
//! Positions with y >= H_o (the last K - 1 padded rows of each sample) are computed and
//! discarded (forward) or meet zeros (weight gradient): for a 32x32 map 6 % more product work,
//! for 8x8 20 %, against building 3 rather than 9 copies of the image per 3x3 convolution.
//! Each output is summed as K partial products of C K terms each, added in ky order.

use crate::conv::{COLUMN_BUDGET, ConvShape, product, weight_grad_partials};
use crate::unfilled::write_copy;

/// Whether a convolution goes through the shifted copies: stride 1, a kernel wider than 1 (a
/// 1x1 convolution already multiplies the image itself) and at most one padded row in
/// [`DISCARDED_SHARE`] computed and discarded, (K - 1) / (H + 2p) <= 1 / 16. On smaller maps
/// the discarded rows and the K products of inner dimension C K (rather than one of C K^2)
/// cost more than the copies saved: with `cargo xtask bench conv` a 32x32 map (2 of 34 rows)
/// took 24 % less time over the three passes, an 8x8 map (2 of 10) 21 % more.
pub(crate) fn applies(shape: &ConvShape) -> bool {
    let padded_height = shape.height + 2 * shape.padding;
    shape.stride == 1 && shape.kernel > 1 && (shape.kernel - 1) * DISCARDED_SHARE <= padded_height
}

/// The inverse of the largest share of padded rows the shifted path may compute and discard.
const DISCARDED_SHARE: usize = 16;

/// Samples per matrix product on this path for `shape`, at most `limit` (see
/// [`Shifted::group`]).
#[cfg(test)]
pub(crate) fn samples_per_product(shape: &ConvShape, limit: usize) -> usize {
    Shifted::new(shape).group(limit)
}

/// The geometry of the shifted copies of one shape.
struct Shifted {
    /// Rows of S: C K.
    rows: usize,
    /// Padded height H_p.
    padded_height: usize,
    /// Output (H_o, W_o).
    out: (usize, usize),
}

impl Shifted {
    fn new(shape: &ConvShape) -> Self {
        Self {
            rows: shape.in_channels * shape.kernel,
            padded_height: shape.height + 2 * shape.padding,
            out: shape.output_size(),
        }
    }

    /// Entries of one row of S per sample: H_p W_o.
    fn per_sample(&self) -> usize {
        self.padded_height * self.out.1
    }

    /// Row stride of S for `taken` samples.
    fn stride(&self, taken: usize) -> usize {
        taken * self.per_sample()
    }

    /// Positions a product computes for `taken` samples: up to the last output of the last
    /// sample, (taken - 1) H_p W_o + H_o W_o.
    fn positions(&self, taken: usize) -> usize {
        (taken - 1) * self.per_sample() + self.out.0 * self.out.1
    }

    /// Samples per product: as many as keep S within [`COLUMN_BUDGET`], at least one, at most
    /// `limit`.
    fn group(&self, limit: usize) -> usize {
        let per_sample = self.rows * self.per_sample();
        (COLUMN_BUDGET / per_sample.max(1)).clamp(1, limit.max(1))
    }
}

/// Writes S for samples `first..first + taken` of `input` into `rows` (row stride
/// `taken` H_p W_o), reading the image directly: zero where x + kx or the padded row falls in
/// the padding.
fn fill_shifted(input: &[f32], shape: &ConvShape, first: usize, taken: usize, rows: &mut [f32]) {
    let geometry = Shifted::new(shape);
    let (h, w, k, p) = (shape.height, shape.width, shape.kernel, shape.padding);
    let out_w = geometry.out.1;
    let stride = geometry.stride(taken);
    let sample_in = shape.in_channels * h * w;
    for j in 0..taken {
        let sample = &input[(first + j) * sample_in..(first + j + 1) * sample_in];
        for c in 0..shape.in_channels {
            let image = &sample[c * h * w..(c + 1) * h * w];
            for kx in 0..k {
                // Output columns x whose source column x + kx - p lies in the image.
                let lead = p.saturating_sub(kx).min(out_w);
                let source = (lead + kx).saturating_sub(p);
                let inside = w.saturating_sub(source).min(out_w - lead);
                let row = (c * k + kx) * stride + j * geometry.per_sample();
                let lines = &mut rows[row..row + geometry.per_sample()];
                for (r, line) in lines.chunks_exact_mut(out_w).enumerate() {
                    if r < p || r >= p + h {
                        line.fill(0.0);
                        continue;
                    }
                    let src = &image[(r - p) * w + source..][..inside];
                    line[..lead].fill(0.0);
                    line[lead..lead + inside].copy_from_slice(src);
                    line[lead + inside..].fill(0.0);
                }
            }
        }
    }
}

/// The weights as K matrices W_ky (O, C K): entry `[ky][o][c K + kx]` is `W[o, c, ky, kx]`.
fn weights_by_ky(weight: &[f32], shape: &ConvShape) -> Vec<f32> {
    let (o_count, c_count, k) = (shape.out_channels, shape.in_channels, shape.kernel);
    let mut by_ky = vec![0.0f32; weight.len()];
    for o in 0..o_count {
        for c in 0..c_count {
            for ky in 0..k {
                for kx in 0..k {
                    by_ky[((ky * o_count + o) * c_count + c) * k + kx] =
                        weight[((o * c_count + c) * k + ky) * k + kx];
                }
            }
        }
    }
    by_ky
}

/// [`conv2d`](crate::conv::conv2d) for a shape where [`applies`] holds.
pub(crate) fn conv2d_shifted(input: &[f32], weight: &[f32], shape: &ConvShape) -> Vec<f32> {
    let geometry = Shifted::new(shape);
    let (out_h, out_w) = geometry.out;
    let plane = out_h * out_w;
    let (o_count, inner) = (shape.out_channels, geometry.rows);
    let sample_out = o_count * plane;
    let by_ky = weights_by_ky(weight, shape);
    shape.per_sample_chunks(sample_out, |out, first, count| {
        let group = geometry.group(count);
        let mut rows = vec![0.0f32; inner * geometry.stride(group)];
        let mut wide = vec![0.0f32; o_count * geometry.positions(group)];
        for start in (0..count).step_by(group) {
            let taken = group.min(count - start);
            let (stride, positions) = (geometry.stride(taken), geometry.positions(taken));
            fill_shifted(input, shape, first + start, taken, &mut rows);
            for ky in 0..shape.kernel {
                // SAFETY: dst is O rows of `positions`; lhs is W_ky, O x CK row-major;
                // rhs starts at column ky W_o of S (CK rows of `stride`), and its last
                // entry, (CK - 1) stride + (K - 1) W_o + positions - 1 = CK stride - 1,
                // is the last of S.
                unsafe {
                    product(
                        (o_count, positions, inner),
                        wide.as_mut_ptr(),
                        positions,
                        ky > 0,
                        (by_ky[ky * o_count * inner..].as_ptr(), 1, inner),
                        (rows[ky * out_w..].as_ptr(), 1, stride),
                    );
                }
            }
            for j in 0..taken {
                for o in 0..o_count {
                    let src = o * positions + j * geometry.per_sample();
                    let dst = ((start + j) * o_count + o) * plane;
                    write_copy(&mut out[dst..dst + plane], &wide[src..src + plane]);
                }
            }
        }
    })
}

/// [`conv2d_weight_grad`](crate::conv::conv2d_weight_grad) for a shape where [`applies`]
/// holds, with the same fixed grouping of samples into accumulators
/// ([`weight_grad_partials`]), so the bits do not depend on the thread count.
pub(crate) fn conv2d_weight_grad_shifted(
    input: &[f32],
    output_grad: &[f32],
    shape: &ConvShape,
) -> Vec<f32> {
    let geometry = Shifted::new(shape);
    let (out_h, out_w) = geometry.out;
    let plane = out_h * out_w;
    let (o_count, inner, k) = (shape.out_channels, geometry.rows, shape.kernel);
    let group = geometry.group(shape.batch);
    let scratch = || {
        (
            vec![0.0f32; inner * geometry.stride(group)],
            vec![0.0f32; o_count * geometry.positions(group)],
        )
    };
    // Each partial is [ky][c K + kx][o]: dW_ky^T for each ky.
    let partials = weight_grad_partials(
        shape.batch,
        group,
        k * inner * o_count,
        scratch,
        |(rows, spread), grad, n0, taken| {
            let (stride, positions) = (geometry.stride(taken), geometry.positions(taken));
            fill_shifted(input, shape, n0, taken, rows);
            // dY' (O, positions): each sample's plane at j H_p W_o, zeros in between.
            let dy = &mut spread[..o_count * positions];
            for (o, line) in dy.chunks_exact_mut(positions).enumerate() {
                for j in 0..taken {
                    let at = j * geometry.per_sample();
                    let src = ((n0 + j) * o_count + o) * plane;
                    line[at..at + plane].copy_from_slice(&output_grad[src..src + plane]);
                    let gap_end = (at + geometry.per_sample()).min(positions);
                    line[at + plane..gap_end].fill(0.0);
                }
            }
            for ky in 0..k {
                // SAFETY: dst is dW_ky^T, CK x O row-major; lhs starts at column ky W_o of S
                // (CK rows of `stride`, last entry CK stride - 1 as in the forward pass); rhs
                // is dY'^T (positions x O) read from the row-major O x positions dY'.
                unsafe {
                    product(
                        (inner, o_count, positions),
                        grad[ky * inner * o_count..].as_mut_ptr(),
                        o_count,
                        true,
                        (rows[ky * out_w..].as_ptr(), 1, stride),
                        (dy.as_ptr(), positions, 1),
                    );
                }
            }
        },
    );
    // Add the accumulators in their order and move [ky][c][kx][o] to (O, C, K, K).
    let mut total = vec![0.0f32; o_count * inner * k];
    let c_count = shape.in_channels;
    for partial in partials {
        for ky in 0..k {
            for c in 0..c_count {
                for kx in 0..k {
                    let row = &partial[((ky * c_count + c) * k + kx) * o_count..][..o_count];
                    for (o, v) in row.iter().enumerate() {
                        total[((o * c_count + c) * k + ky) * k + kx] += v;
                    }
                }
            }
        }
    }
    total
}
