//! CPU kernels of a 2-d convolution (f32, NCHW, no groups or dilation): forward, input
//! gradient and weight gradient, each one matrix product per group of samples over a column
//! matrix (im2col) built from the zero-padded image.
//!
//! With X' the input padded by p and the column matrix
//! cols[(c K + ky) K + kx, y W_o + x] = X'[c, y s + ky, x s + kx] (C K^2 rows, H_o W_o columns
//! per sample):
//!
//! - forward: Y (O, H_o W_o) = W (O, C K^2) cols;
//! - weight gradient: dW^T (C K^2, O) = sum over samples of cols dY^T (dY is (O, H_o W_o));
//! - input gradient: for stride 1 the forward convolution of dY padded by K - 1 - p with the
//!   kernel W~[c, o, ky, kx] = W[o, c, K - 1 - ky, K - 1 - kx]; otherwise
//!   dcols = W^T dY and the column entries added back where they came from (col2im).
//!
//! The forward and stride-1 input-gradient products have an inner dimension of C K^2 (O K^2),
//! the weight gradient the pixels of a group of samples, which keeps the `gemm` micro-kernels
//! busy even for the 16-channel layers of a CIFAR ResNet (only the col2im product of a strided
//! layer has the inner dimension O).
//! Samples are split over rayon's threads; each thread groups a few samples into one product
//! so that small feature maps (8x8) still give wide matrices.
//!
//! Stride-1 layers on maps where it pays (see `conv_shifted`) take another route for the
//! forward and weight-gradient products (and so for the stride-1 input gradient): K products
//! over K column-shifted copies of the padded image instead of one over its K^2-row column
//! matrix, a third of the copying.

use std::mem::MaybeUninit;

use gemm::{Parallelism, gemm};
use rayon::prelude::*;

use crate::unfilled::{filled, write_copy, write_ptr};
use crate::{conv_direct, conv_shifted};

/// Column-matrix entries one thread aims to hold at a time (256 Ki floats, 1 MiB), which sets how
/// many samples go into one matrix product.
pub(crate) const COLUMN_BUDGET: usize = 1 << 18;

/// Partial sums of the weight gradient, computed in parallel and added in a fixed order (see
/// [`conv2d_weight_grad`]): a constant, so that the result does not depend on the thread count.
pub const WEIGHT_GRAD_ACCUMULATORS: usize = 8;

/// Shape of a convolution without groups or dilation: input (N, C, H, W), weights
/// (O, C, K, K), stride s, zero padding p on every side; output (N, O, H_o, W_o) with
/// H_o = (H + 2p - K) / s + 1.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ConvShape {
    /// Batch size N.
    pub batch: usize,
    /// Input channels C.
    pub in_channels: usize,
    /// Output channels O.
    pub out_channels: usize,
    /// Input height H.
    pub height: usize,
    /// Input width W.
    pub width: usize,
    /// Square kernel size K.
    pub kernel: usize,
    /// Stride s (both axes).
    pub stride: usize,
    /// Zero padding p (every side).
    pub padding: usize,
}

impl ConvShape {
    /// (H_o, W_o) = ((H + 2p - K) / s + 1, (W + 2p - K) / s + 1); panics when the kernel is
    /// larger than the padded input (see [`ConvShape::is_valid`]).
    pub fn output_size(&self) -> (usize, usize) {
        let out = |size: usize| (size + 2 * self.padding - self.kernel) / self.stride + 1;
        (out(self.height), out(self.width))
    }

    /// Whether the kernels accept the shape: K >= 1, s >= 1, a kernel no larger than the padded
    /// input, and no empty dimension.
    pub fn is_valid(&self) -> bool {
        self.kernel >= 1
            && self.stride >= 1
            && self.kernel <= self.height + 2 * self.padding
            && self.kernel <= self.width + 2 * self.padding
            && self.batch * self.in_channels * self.out_channels * self.height * self.width > 0
    }

    /// Rows of one sample's column matrix: C K K.
    fn patch_len(&self) -> usize {
        self.in_channels * self.kernel * self.kernel
    }

    /// Columns of one sample's column matrix: H_o W_o.
    fn plane(&self) -> usize {
        let (out_h, out_w) = self.output_size();
        out_h * out_w
    }

    fn sample_in(&self) -> usize {
        self.in_channels * self.height * self.width
    }

    fn sample_out(&self) -> usize {
        self.out_channels * self.plane()
    }

    /// (H + 2p, W + 2p).
    fn padded_size(&self) -> (usize, usize) {
        (
            self.height + 2 * self.padding,
            self.width + 2 * self.padding,
        )
    }

    /// Samples per matrix product: as many as fit [`COLUMN_BUDGET`], at least one, at most
    /// `limit`.
    fn group(&self, limit: usize) -> usize {
        let per_sample = self.patch_len() * self.plane();
        (COLUMN_BUDGET / per_sample.max(1)).clamp(1, limit.max(1))
    }

    /// The ranges of samples each rayon thread takes, as (first, count).
    pub(crate) fn thread_ranges(&self) -> Vec<(usize, usize)> {
        let threads = rayon::current_num_threads().max(1);
        let per_thread = self.batch.div_ceil(threads).max(1);
        (0..self.batch)
            .step_by(per_thread)
            .map(|first| (first, per_thread.min(self.batch - first)))
            .collect()
    }

    /// A buffer of `sample_len` values per sample, written in full by
    /// `fill(chunk, first, count)` on one rayon task per [`Self::thread_ranges`] entry
    /// (see [`filled`]); `chunk` holds samples `first..first + count`.
    pub(crate) fn per_sample_chunks(
        &self,
        sample_len: usize,
        fill: impl Fn(&mut [MaybeUninit<f32>], usize, usize) + Sync,
    ) -> Vec<f32> {
        let ranges = self.thread_ranges();
        let per_thread = ranges[0].1;
        filled(self.batch * sample_len, |buffer| {
            buffer
                .par_chunks_mut(per_thread * sample_len)
                .zip(ranges)
                .for_each(|(chunk, (first, count))| fill(chunk, first, count))
        })
    }
}

/// Copies one sample (C, H, W) into `padded` (C, H + 2p, W + 2p) with zeros around it.
fn pad_sample(sample: &[f32], shape: &ConvShape, padded: &mut [f32]) {
    let (h, w, p) = (shape.height, shape.width, shape.padding);
    let (ph, pw) = shape.padded_size();
    if p > 0 {
        padded.fill(0.0);
    }
    for c in 0..shape.in_channels {
        for y in 0..h {
            let src = &sample[(c * h + y) * w..(c * h + y + 1) * w];
            let start = (c * ph + y + p) * pw + p;
            padded[start..start + w].copy_from_slice(src);
        }
    }
}

/// Scratch of one thread taking `count` samples: how many go into one product, the padded
/// image of one sample, the column matrix of a group, and an (O, group H_o W_o) matrix for the
/// grouped output or output gradient (empty when groups hold one sample).
struct Scratch {
    group: usize,
    padded: Vec<f32>,
    cols: Vec<f32>,
    rows: Vec<f32>,
}

impl Scratch {
    fn new(shape: &ConvShape, count: usize) -> Self {
        let group = shape.group(count);
        let (ph, pw) = shape.padded_size();
        Self {
            group,
            padded: vec![0.0; shape.in_channels * ph * pw],
            cols: vec![0.0; shape.patch_len() * group * shape.plane()],
            rows: vec![
                0.0;
                if group > 1 {
                    shape.sample_out() * group
                } else {
                    0
                }
            ],
        }
    }
}

/// The column matrix of `count` consecutive samples of `input` (from sample `first`), a
/// (C K K) x (count H_o W_o) row-major matrix whose sample j's columns start at j H_o W_o.
/// For a 1x1 convolution of stride 1 without padding, one sample's columns are the sample
/// itself, returned without a copy; otherwise they are written into `cols` from each sample's
/// padded image (`padded`).
fn im2col<'a>(
    input: &'a [f32],
    shape: &ConvShape,
    first: usize,
    count: usize,
    padded: &mut [f32],
    cols: &'a mut [f32],
) -> &'a [f32] {
    let plane = shape.plane();
    let width = count * plane;
    let sample_in = shape.sample_in();
    if count == 1 && shape.kernel == 1 && shape.stride == 1 && shape.padding == 0 {
        return &input[first * sample_in..(first + 1) * sample_in];
    }
    for j in 0..count {
        let n = first + j;
        let sample = &input[n * sample_in..(n + 1) * sample_in];
        pad_sample(sample, shape, padded);
        sample_columns(padded, shape, cols, width, j * plane);
    }
    &cols[..shape.patch_len() * width]
}

/// The columns of one sample from its padded image, at column `offset` of `cols` (rows of
/// `width`): row (c, ky, kx), line y holds X'[c, y s + ky, x s + kx] for x < W_o. For stride 1
/// each line is one run of the padded image.
fn sample_columns(
    padded: &[f32],
    shape: &ConvShape,
    cols: &mut [f32],
    width: usize,
    offset: usize,
) {
    let (out_h, out_w) = shape.output_size();
    let (ph, pw) = shape.padded_size();
    let (k, s) = (shape.kernel, shape.stride);
    let plane = out_h * out_w;
    for c in 0..shape.in_channels {
        let image = &padded[c * ph * pw..(c + 1) * ph * pw];
        for ky in 0..k {
            for kx in 0..k {
                let row = (c * k + ky) * k + kx;
                let dst = &mut cols[row * width + offset..][..plane];
                for (y, line) in dst.chunks_exact_mut(out_w).enumerate() {
                    let src = &image[(y * s + ky) * pw + kx..];
                    if s == 1 {
                        line.copy_from_slice(&src[..out_w]);
                    } else {
                        for (x, value) in line.iter_mut().enumerate() {
                            *value = src[x * s];
                        }
                    }
                }
            }
        }
    }
}

/// dst (m x n, row stride `dst_rs`) = [dst +] lhs (m x k) rhs (k x n), with the strides of the
/// `gemm` crate (column stride, row stride) and no nested threads.
///
/// # Safety
/// Every pointer must cover the entries its strides address for the given sizes, and `dst`
/// must not overlap the operands.
#[allow(clippy::too_many_arguments)]
pub(crate) unsafe fn product(
    (m, n, k): (usize, usize, usize),
    dst: *mut f32,
    dst_rs: usize,
    accumulate: bool,
    lhs: (*const f32, usize, usize),
    rhs: (*const f32, usize, usize),
) {
    // SAFETY: forwarded from the caller.
    unsafe {
        gemm(
            m,
            n,
            k,
            dst,
            1,
            dst_rs as isize,
            accumulate,
            lhs.0,
            lhs.1 as isize,
            lhs.2 as isize,
            rhs.0,
            rhs.1 as isize,
            rhs.2 as isize,
            1.0,
            1.0,
            false,
            false,
            false,
            Parallelism::None,
        );
    }
}

/// Output of a convolution without bias:
/// Y[n, o, y, x] = sum_{c, ky, kx} W[o, c, ky, kx] X[n, c, y s + ky - p, x s + kx - p]
/// (zero outside the image), as W (O, C K^2) times the column matrix of a group of samples.
/// `input` is (N, C, H, W) and `weight` (O, C, K, K), both contiguous; the result is
/// (N, O, H_o, W_o). Panics when the lengths do not match `shape` or the shape is not valid.
pub fn conv2d(input: &[f32], weight: &[f32], shape: &ConvShape) -> Vec<f32> {
    assert!(shape.is_valid(), "convolution shape {shape:?}");
    assert_eq!(input.len(), shape.batch * shape.sample_in(), "input length");
    assert_eq!(
        weight.len(),
        shape.out_channels * shape.patch_len(),
        "weight length"
    );
    if conv_direct::applies(shape) {
        return conv_direct::conv2d_direct(input, weight, shape);
    }
    if conv_shifted::applies(shape) {
        return conv_shifted::conv2d_shifted(input, weight, shape);
    }
    let (plane, patch, sample_out) = (shape.plane(), shape.patch_len(), shape.sample_out());
    shape.per_sample_chunks(sample_out, |out, first, count| {
        let Scratch {
            group,
            mut padded,
            mut cols,
            rows: mut wide,
        } = Scratch::new(shape, count);
        for start in (0..count).step_by(group) {
            let taken = group.min(count - start);
            let width = taken * plane;
            let cols = im2col(input, shape, first + start, taken, &mut padded, &mut cols);
            let out = &mut out[start * sample_out..(start + taken) * sample_out];
            let dst = if taken == 1 {
                write_ptr(out)
            } else {
                wide.as_mut_ptr()
            };
            // SAFETY: dst holds O rows of `width` entries, all written, none read; lhs is W,
            // O x CKK row-major; rhs is cols, CKK x width row-major.
            unsafe {
                product(
                    (shape.out_channels, width, patch),
                    dst,
                    width,
                    false,
                    (weight.as_ptr(), 1, patch),
                    (cols.as_ptr(), 1, width),
                );
            }
            if taken > 1 {
                for j in 0..taken {
                    for o in 0..shape.out_channels {
                        let src = o * width + j * plane;
                        let dst = (j * shape.out_channels + o) * plane;
                        write_copy(&mut out[dst..dst + plane], &wide[src..src + plane]);
                    }
                }
            }
        }
    })
}

/// Gradient of a convolution with respect to its input:
/// dX[n, c, i, j] = sum_{o, ky, kx} W[o, c, ky, kx] dY[n, o, (i + p - ky) / s, (j + p - kx) / s]
/// over the terms whose divisions are exact and in range. For stride 1 with p <= K - 1 this is
/// the forward [`conv2d`] of dY with padding K - 1 - p and the kernel
/// W~[c, o, ky, kx] = W[o, c, K - 1 - ky, K - 1 - kx]; otherwise dcols = W^T dY per group of
/// samples, whose entries are added back into the padded image (col2im) and the interior kept.
/// `output_grad` is (N, O, H_o, W_o) and `weight` (O, C, K, K), both contiguous; the result is
/// (N, C, H, W).
pub fn conv2d_input_grad(output_grad: &[f32], weight: &[f32], shape: &ConvShape) -> Vec<f32> {
    assert!(shape.is_valid(), "convolution shape {shape:?}");
    assert_eq!(
        output_grad.len(),
        shape.batch * shape.sample_out(),
        "output gradient length"
    );
    assert_eq!(
        weight.len(),
        shape.out_channels * shape.patch_len(),
        "weight length"
    );
    let (out_h, out_w) = shape.output_size();
    let k = shape.kernel;
    if shape.stride == 1 && shape.padding < k {
        let (c_in, c_out) = (shape.in_channels, shape.out_channels);
        let mut flipped = vec![0.0f32; weight.len()];
        for o in 0..c_out {
            for c in 0..c_in {
                for ky in 0..k {
                    for kx in 0..k {
                        flipped[((c * c_out + o) * k + ky) * k + kx] =
                            weight[((o * c_in + c) * k + (k - 1 - ky)) * k + (k - 1 - kx)];
                    }
                }
            }
        }
        let transposed = ConvShape {
            batch: shape.batch,
            in_channels: c_out,
            out_channels: c_in,
            height: out_h,
            width: out_w,
            kernel: k,
            stride: 1,
            padding: k - 1 - shape.padding,
        };
        return conv2d(output_grad, &flipped, &transposed);
    }
    col2im_input_grad(output_grad, weight, shape)
}

/// The col2im path of [`conv2d_input_grad`], for any stride and padding.
fn col2im_input_grad(output_grad: &[f32], weight: &[f32], shape: &ConvShape) -> Vec<f32> {
    let (_, out_w) = shape.output_size();
    let (ph, pw) = shape.padded_size();
    let (h, w, k, s, p) = (
        shape.height,
        shape.width,
        shape.kernel,
        shape.stride,
        shape.padding,
    );
    let (plane, patch) = (shape.plane(), shape.patch_len());
    let sample_in = shape.sample_in();
    shape.per_sample_chunks(sample_in, |out, first, count| {
        let Scratch {
            group,
            mut padded,
            mut cols,
            rows: mut gathered,
        } = Scratch::new(shape, count);
        for start in (0..count).step_by(group) {
            let taken = group.min(count - start);
            let width = taken * plane;
            let n0 = first + start;
            let rhs = output_rows(output_grad, shape, n0, taken, &mut gathered);
            // SAFETY: dst is cols, CKK rows of `width`; lhs is W^T (CKK x O) read from the
            // row-major O x CKK weights; rhs is O x width row-major.
            unsafe {
                product(
                    (patch, width, shape.out_channels),
                    cols.as_mut_ptr(),
                    width,
                    false,
                    (weight.as_ptr(), patch, 1),
                    (rhs.as_ptr(), 1, width),
                );
            }
            for j in 0..taken {
                padded.fill(0.0);
                for c in 0..shape.in_channels {
                    let image = &mut padded[c * ph * pw..(c + 1) * ph * pw];
                    for ky in 0..k {
                        for kx in 0..k {
                            let row = (c * k + ky) * k + kx;
                            let src = &cols[row * width + j * plane..][..plane];
                            for (y, line) in src.chunks_exact(out_w).enumerate() {
                                let base = (y * s + ky) * pw + kx;
                                for (x, value) in line.iter().enumerate() {
                                    image[base + x * s] += value;
                                }
                            }
                        }
                    }
                }
                let dx = &mut out[(start + j) * sample_in..(start + j + 1) * sample_in];
                for c in 0..shape.in_channels {
                    for y in 0..h {
                        let src = (c * ph + y + p) * pw + p;
                        write_copy(
                            &mut dx[(c * h + y) * w..(c * h + y + 1) * w],
                            &padded[src..src + w],
                        );
                    }
                }
            }
        }
    })
}

/// The output gradient of samples `first..first + taken` as one (O, taken H_o W_o) matrix:
/// dY_group[o, j H_o W_o + i] = dY[first + j, o, i], the gradient itself for one sample,
/// otherwise gathered into `scratch`.
fn output_rows<'a>(
    output_grad: &'a [f32],
    shape: &ConvShape,
    first: usize,
    taken: usize,
    scratch: &'a mut [f32],
) -> &'a [f32] {
    let (rows, plane, sample_out) = (shape.out_channels, shape.plane(), shape.sample_out());
    let src = &output_grad[first * sample_out..(first + taken) * sample_out];
    if taken == 1 {
        return src;
    }
    let width = taken * plane;
    for j in 0..taken {
        for r in 0..rows {
            let from = (j * rows + r) * plane;
            scratch[r * width + j * plane..r * width + (j + 1) * plane]
                .copy_from_slice(&src[from..from + plane]);
        }
    }
    &scratch[..rows * width]
}

/// dL/dW for a convolution of `input` (N, C, H, W, contiguous) whose output gradient is
/// `output_grad` (N, O, H_o, W_o, contiguous):
/// dW[o, c, ky, kx] = sum_n sum_{y, x} dY[n, o, y, x] X[n, c, y s + ky - p, x s + kx - p],
/// returned as (O, C, K, K) row-major: dW^T (C K^2, O) += cols (C K^2, g H_o W_o) dY^T for each
/// group of g samples.
///
/// The sum over samples does not depend on the number of threads: the groups (g set by the
/// shape alone) are dealt round-robin to [`WEIGHT_GRAD_ACCUMULATORS`] accumulators, each adds
/// its groups in batch order, the accumulators run in parallel and are added in a fixed order.
/// So the same inputs give the same bits on 1, 2 or 64 cores.
pub fn conv2d_weight_grad(input: &[f32], output_grad: &[f32], shape: &ConvShape) -> Vec<f32> {
    assert!(shape.is_valid(), "convolution shape {shape:?}");
    assert_eq!(input.len(), shape.batch * shape.sample_in(), "input length");
    assert_eq!(
        output_grad.len(),
        shape.batch * shape.sample_out(),
        "output gradient length"
    );
    if conv_direct::applies_to_weight_grad(shape) {
        return conv_direct::conv2d_weight_grad_direct(input, output_grad, shape);
    }
    if conv_shifted::applies(shape) {
        return conv_shifted::conv2d_weight_grad_shifted(input, output_grad, shape);
    }
    let (plane, patch) = (shape.plane(), shape.patch_len());
    let size = shape.out_channels * patch;
    let group = shape.group(shape.batch);
    let partials = weight_grad_partials(
        shape.batch,
        group,
        size,
        || Scratch::new(shape, group),
        |scratch, grad, n0, taken| {
            let width = taken * plane;
            let cols = im2col(
                input,
                shape,
                n0,
                taken,
                &mut scratch.padded,
                &mut scratch.cols,
            );
            let dy_rows = output_rows(output_grad, shape, n0, taken, &mut scratch.rows);
            // SAFETY: grad is dW^T, CKK x O row-major; lhs is cols, CKK x width row-major;
            // rhs is dY^T (width x O) read from the row-major O x width gradient.
            unsafe {
                product(
                    (patch, shape.out_channels, width),
                    grad.as_mut_ptr(),
                    shape.out_channels,
                    true,
                    (cols.as_ptr(), 1, width),
                    (dy_rows.as_ptr(), width, 1),
                );
            }
        },
    );
    // Sum the dW^T (CKK x O) of the accumulators in their order, in place and in their layout
    // (adding into the transposed layout directly, one write per `patch` floats, took 4 % of a
    // ResNet-18 step), then transpose to (O, C, K, K) once.
    let mut sum = vec![0.0f32; size];
    for partial in partials {
        for (t, v) in sum.iter_mut().zip(&partial) {
            *t += v;
        }
    }
    let mut total = vec![0.0f32; size];
    for (r, row) in sum.chunks_exact(shape.out_channels).enumerate() {
        for (o, v) in row.iter().enumerate() {
            total[o * patch + r] = *v;
        }
    }
    total
}

/// Partial sums of a weight gradient over fixed groups of `group` samples: accumulator a (of
/// at most [`WEIGHT_GRAD_ACCUMULATORS`]) takes groups a, a + A, a + 2A, ... on a rayon task of
/// its own with its own scratch, and `step(scratch, partial, first, taken)` adds one group into
/// its partial of `len` entries. Which samples each partial sums, and in what order, depends on
/// the shape only, so adding the partials in order gives the same bits on any thread count.
pub(crate) fn weight_grad_partials<S>(
    batch: usize,
    group: usize,
    len: usize,
    scratch: impl Fn() -> S + Sync,
    step: impl Fn(&mut S, &mut [f32], usize, usize) + Sync,
) -> Vec<Vec<f32>> {
    let groups: Vec<(usize, usize)> = (0..batch)
        .step_by(group)
        .map(|first| (first, group.min(batch - first)))
        .collect();
    let accumulators = WEIGHT_GRAD_ACCUMULATORS.min(groups.len());
    (0..accumulators)
        .into_par_iter()
        .map(|a| {
            let mut partial = vec![0.0f32; len];
            let mut scratch = scratch();
            for &(first, taken) in groups.iter().skip(a).step_by(accumulators) {
                step(&mut scratch, &mut partial, first, taken);
            }
            partial
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The definition, summed directly in f64.
    fn reference(input: &[f32], output_grad: &[f32], shape: &ConvShape) -> Vec<f64> {
        let (out_h, out_w) = shape.output_size();
        let (c_in, h, w, k) = (shape.in_channels, shape.height, shape.width, shape.kernel);
        let mut grad = vec![0.0f64; shape.out_channels * c_in * k * k];
        for n in 0..shape.batch {
            for o in 0..shape.out_channels {
                for c in 0..c_in {
                    for ky in 0..k {
                        for kx in 0..k {
                            let mut sum = 0.0;
                            for y in 0..out_h {
                                for x in 0..out_w {
                                    let iy =
                                        (y * shape.stride + ky) as isize - shape.padding as isize;
                                    let ix =
                                        (x * shape.stride + kx) as isize - shape.padding as isize;
                                    if iy < 0 || ix < 0 || iy >= h as isize || ix >= w as isize {
                                        continue;
                                    }
                                    let xi = ((n * c_in + c) * h + iy as usize) * w + ix as usize;
                                    let gi = ((n * shape.out_channels + o) * out_h + y) * out_w + x;
                                    sum += input[xi] as f64 * output_grad[gi] as f64;
                                }
                            }
                            grad[((o * c_in + c) * k + ky) * k + kx] += sum;
                        }
                    }
                }
            }
        }
        grad
    }

    /// Forward and input gradient by the definition, in f64.
    fn reference_forward(input: &[f32], weight: &[f32], shape: &ConvShape) -> Vec<f64> {
        let (out_h, out_w) = shape.output_size();
        let (c_in, h, w, k) = (shape.in_channels, shape.height, shape.width, shape.kernel);
        let mut out = vec![0.0f64; shape.batch * shape.out_channels * out_h * out_w];
        for n in 0..shape.batch {
            for o in 0..shape.out_channels {
                for y in 0..out_h {
                    for x in 0..out_w {
                        let mut sum = 0.0;
                        for c in 0..c_in {
                            for ky in 0..k {
                                for kx in 0..k {
                                    let iy =
                                        (y * shape.stride + ky) as isize - shape.padding as isize;
                                    let ix =
                                        (x * shape.stride + kx) as isize - shape.padding as isize;
                                    if iy < 0 || ix < 0 || iy >= h as isize || ix >= w as isize {
                                        continue;
                                    }
                                    sum += input
                                        [((n * c_in + c) * h + iy as usize) * w + ix as usize]
                                        as f64
                                        * weight[((o * c_in + c) * k + ky) * k + kx] as f64;
                                }
                            }
                        }
                        out[((n * shape.out_channels + o) * out_h + y) * out_w + x] = sum;
                    }
                }
            }
        }
        out
    }

    fn reference_input_grad(output_grad: &[f32], weight: &[f32], shape: &ConvShape) -> Vec<f64> {
        let (out_h, out_w) = shape.output_size();
        let (c_in, h, w, k) = (shape.in_channels, shape.height, shape.width, shape.kernel);
        let mut grad = vec![0.0f64; shape.batch * c_in * h * w];
        for n in 0..shape.batch {
            for o in 0..shape.out_channels {
                for y in 0..out_h {
                    for x in 0..out_w {
                        let g = output_grad[((n * shape.out_channels + o) * out_h + y) * out_w + x]
                            as f64;
                        for c in 0..c_in {
                            for ky in 0..k {
                                for kx in 0..k {
                                    let iy =
                                        (y * shape.stride + ky) as isize - shape.padding as isize;
                                    let ix =
                                        (x * shape.stride + kx) as isize - shape.padding as isize;
                                    if iy < 0 || ix < 0 || iy >= h as isize || ix >= w as isize {
                                        continue;
                                    }
                                    grad[((n * c_in + c) * h + iy as usize) * w + ix as usize] +=
                                        g * weight[((o * c_in + c) * k + ky) * k + kx] as f64;
                                }
                            }
                        }
                    }
                }
            }
        }
        grad
    }

    fn assert_close(ours: &[f32], expected: &[f64], what: &str) {
        assert_eq!(ours.len(), expected.len(), "{what}: length");
        for (a, b) in ours.iter().zip(expected) {
            assert!(
                (*a as f64 - b).abs() < 1e-4 * (1.0 + b.abs()),
                "{what}: {a} vs {b}"
            );
        }
    }

    fn check_all(shape: &ConvShape) {
        let (out_h, out_w) = shape.output_size();
        let (n, c, o, k) = (
            shape.batch,
            shape.in_channels,
            shape.out_channels,
            shape.kernel,
        );
        let input = values(n * c * shape.height * shape.width, 3);
        let weight = values(o * c * k * k, 5);
        let output_grad = values(n * o * out_h * out_w, 9);
        assert_close(
            &conv2d(&input, &weight, shape),
            &reference_forward(&input, &weight, shape),
            &format!("forward {shape:?}"),
        );
        assert_close(
            &conv2d_input_grad(&output_grad, &weight, shape),
            &reference_input_grad(&output_grad, &weight, shape),
            &format!("input grad {shape:?}"),
        );
        assert_close(
            &conv2d_weight_grad(&input, &output_grad, shape),
            &reference(&input, &output_grad, shape),
            &format!("weight grad {shape:?}"),
        );
    }

    /// The shifted-copies forward and weight gradient called directly, whatever
    /// `conv_shifted::applies` says for the shape.
    fn check_shifted(shape: &ConvShape) {
        let (out_h, out_w) = shape.output_size();
        let input = values(shape.batch * shape.sample_in(), 3);
        let weight = values(shape.out_channels * shape.patch_len(), 5);
        let output_grad = values(shape.batch * shape.out_channels * out_h * out_w, 9);
        assert_close(
            &conv_shifted::conv2d_shifted(&input, &weight, shape),
            &reference_forward(&input, &weight, shape),
            &format!("shifted forward {shape:?}"),
        );
        assert_close(
            &conv_shifted::conv2d_weight_grad_shifted(&input, &output_grad, shape),
            &reference(&input, &output_grad, shape),
            &format!("shifted weight grad {shape:?}"),
        );
    }

    #[test]
    fn shifted_copies_match_the_definition_on_small_maps() {
        // (padding, kernel, height, width): padding 0 to above K, kernels 2, 3 and 5, maps
        // wider than high and the reverse, a 1x1 map.
        for (padding, kernel, height, width) in [
            (1, 3, 7, 8),
            (1, 3, 5, 19),
            (0, 3, 6, 5),
            (4, 3, 3, 4),
            (2, 5, 4, 6),
            (1, 3, 1, 1),
            (0, 2, 3, 7),
            (1, 2, 6, 3),
        ] {
            for batch in [1, 3, 5] {
                check_shifted(&ConvShape {
                    batch,
                    in_channels: 3,
                    out_channels: 4,
                    height,
                    width,
                    kernel,
                    stride: 1,
                    padding,
                });
            }
        }
    }

    /// The direct AVX-512 forward (and so the stride-1 input gradient) and weight gradient,
    /// called directly whatever map size the routing rules pick them for.
    #[test]
    fn direct_convolutions_match_the_definition() {
        if !conv_direct::available() {
            eprintln!("this CPU has no AVX-512F: the direct convolutions cannot run here");
            return;
        }
        // (kernel, height, width, in channels, out channels): planes of 1, 16, 56, 95, 320, 930
        // and 1,155 positions (partial tiles and a partial last vector; 320 puts 3 samples in
        // a weight-gradient group, so groups of 3 and 2 for a batch of 5; 1,155 is more than
        // a chunk, so two chunks), 9 and 13 output channels (a block of 8 and
        // channels left over; 3 blocks of 4 and one left in the weight gradient), K = 5 and 7.
        for (kernel, height, width, in_channels, out_channels) in [
            (3, 7, 8, 3, 4),
            (3, 5, 19, 2, 9),
            (3, 1, 1, 1, 1),
            (3, 4, 4, 5, 16),
            (5, 4, 6, 3, 4),
            (7, 9, 10, 2, 3),
            (3, 16, 20, 4, 8),
            (3, 30, 31, 3, 13),
            (3, 33, 35, 2, 5),
        ] {
            for batch in [1, 3, 5] {
                let shape = ConvShape {
                    batch,
                    in_channels,
                    out_channels,
                    height,
                    width,
                    kernel,
                    stride: 1,
                    padding: kernel / 2,
                };
                assert!(conv_direct::applies(&shape), "{shape:?}");
                let input = values(batch * shape.sample_in(), 3);
                let weight = values(out_channels * shape.patch_len(), 5);
                let output_grad = values(batch * shape.sample_out(), 9);
                assert_close(
                    &conv_direct::conv2d_direct(&input, &weight, &shape),
                    &reference_forward(&input, &weight, &shape),
                    &format!("direct forward {shape:?}"),
                );
                assert_close(
                    &conv2d_input_grad(&output_grad, &weight, &shape),
                    &reference_input_grad(&output_grad, &weight, &shape),
                    &format!("direct input grad {shape:?}"),
                );
                if kernel == 3 {
                    assert_eq!(
                        conv_direct::applies_to_weight_grad(&shape),
                        height * width >= 256,
                        "{shape:?}"
                    );
                    assert_close(
                        &conv_direct::conv2d_weight_grad_direct(&input, &output_grad, &shape),
                        &reference(&input, &output_grad, &shape),
                        &format!("direct weight grad {shape:?}"),
                    );
                }
            }
        }
    }

    #[test]
    fn forward_and_both_gradients_match_the_definition() {
        // (stride, padding, kernel, height, width): stride 1 with the flipped-kernel input
        // gradient, padding >= K (col2im), strides 2 and 3, 1x1 kernels, 1x1 images.
        for (stride, padding, kernel, height, width) in [
            (1, 1, 3, 7, 8),
            (1, 1, 3, 5, 19),
            (1, 0, 3, 6, 5),
            (1, 4, 3, 3, 4),
            (1, 2, 5, 4, 6),
            (1, 0, 1, 3, 3),
            (1, 1, 3, 1, 1),
            (1, 1, 1, 4, 3),
            (2, 1, 3, 8, 8),
            (2, 1, 3, 7, 9),
            (2, 0, 1, 6, 6),
            (2, 3, 7, 9, 10),
            (3, 2, 3, 10, 7),
        ] {
            for batch in [1, 3, 5] {
                check_all(&ConvShape {
                    batch,
                    in_channels: 3,
                    out_channels: 4,
                    height,
                    width,
                    kernel,
                    stride,
                    padding,
                });
            }
        }
    }

    #[test]
    fn samples_too_large_to_group_match_the_definition() {
        // More entries per sample than the column budget (C K H_p W_o shifted entries for
        // stride 1, C K^2 H_o W_o column entries for stride 2): one sample per matrix product.
        // The input side grows with the stride so that every case has a 90 x 90 output.
        for stride in [1, 2] {
            let shape = ConvShape {
                batch: 3,
                in_channels: 12,
                out_channels: 2,
                height: 90 * stride,
                width: 90 * stride,
                kernel: 3,
                stride,
                padding: 1,
            };
            assert_eq!(samples_per_product(&shape), 1, "{shape:?}");
            check_all(&shape);
            if stride == 1 {
                // check_all took the direct convolutions where the CPU has AVX-512F.
                check_shifted(&shape);
            }
        }
    }

    /// Samples per matrix product of the path `shape` takes, for a whole batch.
    fn samples_per_product(shape: &ConvShape) -> usize {
        if conv_shifted::applies(shape) {
            conv_shifted::samples_per_product(shape, shape.batch)
        } else {
            shape.group(shape.batch)
        }
    }

    /// All three passes give the same bits on 1, 2 and 3 threads, on every path: for stride 1
    /// the direct convolutions where the CPU has them, and the shifted copies called directly.
    #[test]
    fn results_do_not_depend_on_the_thread_count() {
        // Stride 1 (shifted copies, 24 x 34 x 32 entries per sample: 10 samples per product, 3
        // groups) and stride 2 (column matrix, 72 x 256 per sample: 14 per product, 3 groups):
        // uneven groups and more than one accumulator either way.
        for stride in [1, 2] {
            let shape = ConvShape {
                batch: 29,
                in_channels: 8,
                out_channels: 4,
                height: 32,
                width: 32,
                kernel: 3,
                stride,
                padding: 1,
            };
            assert_eq!(conv_shifted::applies(&shape), stride == 1);
            let group = samples_per_product(&shape);
            assert!(
                group > 1 && shape.batch.div_ceil(group) >= 3,
                "{group} samples per product for {shape:?}"
            );
            let (ho, wo) = shape.output_size();
            let x = values(shape.batch * shape.sample_in(), 1);
            let w = values(shape.out_channels * shape.patch_len(), 2);
            let dy = values(shape.batch * shape.out_channels * ho * wo, 3);
            let on = |threads: usize| {
                let pool = rayon::ThreadPoolBuilder::new()
                    .num_threads(threads)
                    .build()
                    .unwrap();
                pool.install(|| {
                    let shifted = (stride == 1).then(|| {
                        (
                            conv_shifted::conv2d_shifted(&x, &w, &shape),
                            conv_shifted::conv2d_weight_grad_shifted(&x, &dy, &shape),
                        )
                    });
                    (
                        conv2d(&x, &w, &shape),
                        conv2d_input_grad(&dy, &w, &shape),
                        conv2d_weight_grad(&x, &dy, &shape),
                        shifted,
                    )
                })
            };
            let one = on(1);
            for threads in [2, 3] {
                let other = on(threads);
                assert!(
                    one.0 == other.0,
                    "forward differs on {threads} threads, stride {stride}"
                );
                assert!(
                    one.1 == other.1,
                    "input gradient differs on {threads} threads, stride {stride}"
                );
                assert!(
                    one.2 == other.2,
                    "weight gradient differs on {threads} threads, stride {stride}"
                );
                assert!(
                    one.3 == other.3,
                    "shifted copies differ on {threads} threads, stride {stride}"
                );
            }
        }
    }

    #[test]
    fn groups_of_uneven_size_match_the_definition() {
        // One thread, so one range of 25 samples: for stride 1 (shifted copies), 22 per product
        // (12 x 32 x 30 entries each), groups of 22 and 3; for stride 2 (column matrix, 60 x 60
        // input), 8 per product (36 x 900 entries each), groups of 8, 8, 8 and 1.
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(1)
            .build()
            .unwrap();
        for stride in [1, 2] {
            let shape = ConvShape {
                batch: 25,
                in_channels: 4,
                out_channels: 3,
                height: 30 * stride,
                width: 30 * stride,
                kernel: 3,
                stride,
                padding: 1,
            };
            assert_eq!(conv_shifted::applies(&shape), stride == 1);
            let group = samples_per_product(&shape);
            assert!(
                group > 1 && !shape.batch.is_multiple_of(group),
                "{group} samples per product for {shape:?}"
            );
            pool.install(|| {
                check_all(&shape);
                if stride == 1 {
                    // check_all took the direct convolutions where the CPU has AVX-512F.
                    check_shifted(&shape);
                }
            });
        }
    }

    #[test]
    fn shapes_with_a_kernel_larger_than_the_padded_input_are_invalid() {
        let shape = ConvShape {
            batch: 1,
            in_channels: 1,
            out_channels: 1,
            height: 2,
            width: 2,
            kernel: 5,
            stride: 1,
            padding: 1,
        };
        assert!(!shape.is_valid());
        assert!(
            ConvShape {
                padding: 2,
                ..shape
            }
            .is_valid()
        );
        assert!(!ConvShape { batch: 0, ..shape }.is_valid());
    }

    fn values(count: usize, seed: u32) -> Vec<f32> {
        (0..count)
            .map(|i| (((i as u32).wrapping_mul(2_654_435_761) ^ seed) % 1000) as f32 / 500.0 - 1.0)
            .collect()
    }
}
