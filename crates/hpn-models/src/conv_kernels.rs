//! CPU kernels for the gradient of a 2-d convolution with respect to its weights, as an
//! im2col + matrix multiplication per sample.

use gemm::{Parallelism, gemm};
use rayon::prelude::*;

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
    /// (H_o, W_o) = ((H + 2p - K) / s + 1, (W + 2p - K) / s + 1).
    pub fn output_size(&self) -> (usize, usize) {
        let out = |size: usize| (size + 2 * self.padding - self.kernel) / self.stride + 1;
        (out(self.height), out(self.width))
    }

    /// Rows of one sample's column matrix: C K K.
    fn patch_len(&self) -> usize {
        self.in_channels * self.kernel * self.kernel
    }
}

/// Writes the column matrix of one sample: cols[(c K + ky) K + kx, y W_o + x] =
/// input[c, y s + ky - p, x s + kx - p] (0 outside the image). `cols` has C K K rows of
/// H_o W_o entries.
fn im2col(sample: &[f32], shape: &ConvShape, cols: &mut [f32]) {
    let (out_h, out_w) = shape.output_size();
    let (h, w, k, s, p) = (
        shape.height,
        shape.width,
        shape.kernel,
        shape.stride,
        shape.padding,
    );
    let plane = out_h * out_w;
    for c in 0..shape.in_channels {
        let image = &sample[c * h * w..(c + 1) * h * w];
        for ky in 0..k {
            for kx in 0..k {
                let row = (c * k + ky) * k + kx;
                let dst = &mut cols[row * plane..(row + 1) * plane];
                for y in 0..out_h {
                    let iy = (y * s + ky) as isize - p as isize;
                    let line = &mut dst[y * out_w..(y + 1) * out_w];
                    if iy < 0 || iy >= h as isize {
                        line.fill(0.0);
                        continue;
                    }
                    let src = &image[iy as usize * w..(iy as usize + 1) * w];
                    for (x, value) in line.iter_mut().enumerate() {
                        let ix = (x * s + kx) as isize - p as isize;
                        *value = if ix < 0 || ix >= w as isize {
                            0.0
                        } else {
                            src[ix as usize]
                        };
                    }
                }
            }
        }
    }
}

/// Copies one sample (C, H, W) into `padded` (C, H + 2p, W + 2p) with zeros around it.
fn pad_sample(sample: &[f32], shape: &ConvShape, padded: &mut [f32]) {
    let (h, w, p) = (shape.height, shape.width, shape.padding);
    let (ph, pw) = (h + 2 * p, w + 2 * p);
    padded.fill(0.0);
    for c in 0..shape.in_channels {
        for y in 0..h {
            let src = &sample[(c * h + y) * w..(c * h + y + 1) * w];
            let start = (c * ph + y + p) * pw + p;
            padded[start..start + w].copy_from_slice(src);
        }
    }
}

/// Stride-1 weight gradient of one sample without a column matrix. With X' the input padded by
/// p and dY' the output gradient padded on the right to the width W' = W + 2p (zeros), the
/// entries X'[c, y + ky, x + kx] for all (y, x) of the output sit at the contiguous offsets
/// (ky W' + kx) + (y W' + x) of channel c, so dW[:, :, ky, kx] += dY' (O, H_o W') times the
/// slice of X' starting at ky W' + kx, read as (H_o W', C) with channel stride (H + 2p) W':
/// K^2 matrix products, no copy beyond the padding.
fn weight_grad_shifted(padded: &[f32], padded_grad: &[f32], shape: &ConvShape, grad: &mut [f32]) {
    let (out_h, _) = shape.output_size();
    let pw = shape.width + 2 * shape.padding;
    let channel = (shape.height + 2 * shape.padding) * pw;
    let k = shape.kernel;
    let depth = out_h * pw;
    for ky in 0..k {
        for kx in 0..k {
            let offset = ky * pw + kx;
            // The last rows of the slice may run past the plane into the next channel or past
            // the buffer's end; `padded` has k extra zeros so every read stays in bounds, and
            // those entries meet zero columns of dY'.
            // SAFETY: dst covers O x (C K K) with column stride K^2 starting at ky K + kx;
            // lhs covers O x depth; rhs reads depth x C entries from offset with channel stride
            // `channel`, within `padded` (length C * channel + pw + k, checked by the caller).
            unsafe {
                gemm(
                    shape.out_channels,
                    shape.in_channels,
                    depth,
                    grad.as_mut_ptr().add(ky * k + kx),
                    (k * k) as isize,
                    (shape.in_channels * k * k) as isize,
                    true,
                    padded_grad.as_ptr(),
                    1,
                    depth as isize,
                    padded.as_ptr().add(offset),
                    channel as isize,
                    1,
                    1.0,
                    1.0,
                    false,
                    false,
                    false,
                    Parallelism::None,
                );
            }
        }
    }
}

/// Scratch buffers of one sample for the stride-1 kernels: the padded input X' (C planes of
/// (H + 2p) W' plus a tail of zeros so shifted reads stay in bounds) and an output-sized
/// buffer of O rows of H_o W'.
struct Padded {
    pw: usize,
    channel: usize,
    depth: usize,
}

impl Padded {
    fn new(shape: &ConvShape) -> Self {
        let pw = shape.width + 2 * shape.padding;
        let (out_h, _) = shape.output_size();
        Self {
            pw,
            channel: (shape.height + 2 * shape.padding) * pw,
            depth: out_h * pw,
        }
    }

    /// Length of a padded-input buffer: C planes and a tail of W' + K zeros.
    fn input_len(&self, shape: &ConvShape) -> usize {
        shape.in_channels * self.channel + self.pw + shape.kernel
    }
}

/// Whether the stride-1 kernels apply: stride 1 and an output no larger than the padded input.
fn shifted_applies(shape: &ConvShape) -> bool {
    shape.stride == 1
        && shape.kernel <= shape.height + 2 * shape.padding
        && shape.kernel <= shape.width + 2 * shape.padding
}

/// Output of a stride-1 convolution without bias:
/// Y[n, o, y, x] = sum_{c, ky, kx} W[o, c, ky, kx] X[n, c, y + ky - p, x + kx - p].
/// Per sample, with X' the zero-padded input of width W': Y' (O, H_o W') = sum_{ky, kx}
/// W[:, :, ky, kx] (O, C) times the slice of X' starting at ky W' + kx read as (C, H_o W'),
/// then the first W_o columns of each row of Y' are kept. `None` when the stride is not 1.
pub fn conv2d_stride1(input: &[f32], weight: &[f32], shape: &ConvShape) -> Option<Vec<f32>> {
    if !shifted_applies(shape) {
        return None;
    }
    let (out_h, out_w) = shape.output_size();
    let geometry = Padded::new(shape);
    let k2 = shape.kernel * shape.kernel;
    let sample_in = shape.in_channels * shape.height * shape.width;
    let sample_out = shape.out_channels * out_h * out_w;
    assert_eq!(input.len(), shape.batch * sample_in, "input length");
    assert_eq!(
        weight.len(),
        shape.out_channels * shape.in_channels * k2,
        "weight length"
    );
    let mut output = vec![0.0f32; shape.batch * sample_out];
    let threads = rayon::current_num_threads().max(1);
    let per_chunk = shape.batch.div_ceil(threads).max(1);
    output
        .par_chunks_mut(per_chunk * sample_out)
        .enumerate()
        .for_each(|(chunk, out)| {
            let mut padded = vec![0.0f32; geometry.input_len(shape)];
            let mut wide = vec![0.0f32; shape.out_channels * geometry.depth];
            for (i, out) in out.chunks_mut(sample_out).enumerate() {
                let n = chunk * per_chunk + i;
                let len = shape.in_channels * geometry.channel;
                pad_sample(
                    &input[n * sample_in..(n + 1) * sample_in],
                    shape,
                    &mut padded[..len],
                );
                for ky in 0..shape.kernel {
                    for kx in 0..shape.kernel {
                        let tap = ky * shape.kernel + kx;
                        // SAFETY: dst is O x depth (row stride depth); lhs reads W[o, c, tap]
                        // at (o C + c) K^2 + tap; rhs reads C x depth entries of `padded` from
                        // ky W' + kx with channel stride `channel`, in bounds by `input_len`.
                        unsafe {
                            gemm(
                                shape.out_channels,
                                geometry.depth,
                                shape.in_channels,
                                wide.as_mut_ptr(),
                                1,
                                geometry.depth as isize,
                                tap != 0,
                                weight.as_ptr().add(tap),
                                k2 as isize,
                                (shape.in_channels * k2) as isize,
                                padded.as_ptr().add(ky * geometry.pw + kx),
                                1,
                                geometry.channel as isize,
                                1.0,
                                1.0,
                                false,
                                false,
                                false,
                                Parallelism::None,
                            );
                        }
                    }
                }
                for o in 0..shape.out_channels {
                    for y in 0..out_h {
                        let src = o * geometry.depth + y * geometry.pw;
                        let dst = (o * out_h + y) * out_w;
                        out[dst..dst + out_w].copy_from_slice(&wide[src..src + out_w]);
                    }
                }
            }
        });
    Some(output)
}

/// Gradient of a stride-1 convolution with respect to its input:
/// dX[n, c, i, j] = sum_{o, ky, kx} W[o, c, ky, kx] dY[n, o, i - ky + p, j - kx + p].
/// Per sample, with dY' the output gradient padded on the right to width W' (zeros):
/// dX' (C planes of X') += W[:, :, ky, kx]^T (C, O) times dY' (O, H_o W'), written from offset
/// ky W' + kx with channel stride (H + 2p) W', for every (ky, kx) in turn; then the interior
/// of dX' is kept. `None` when the stride is not 1.
pub fn conv2d_stride1_input_grad(
    output_grad: &[f32],
    weight: &[f32],
    shape: &ConvShape,
) -> Option<Vec<f32>> {
    if !shifted_applies(shape) {
        return None;
    }
    let (out_h, out_w) = shape.output_size();
    let geometry = Padded::new(shape);
    let k2 = shape.kernel * shape.kernel;
    let (h, w, p) = (shape.height, shape.width, shape.padding);
    let sample_in = shape.in_channels * h * w;
    let sample_out = shape.out_channels * out_h * out_w;
    assert_eq!(
        output_grad.len(),
        shape.batch * sample_out,
        "output gradient length"
    );
    assert_eq!(
        weight.len(),
        shape.out_channels * shape.in_channels * k2,
        "weight length"
    );
    let mut input_grad = vec![0.0f32; shape.batch * sample_in];
    let threads = rayon::current_num_threads().max(1);
    let per_chunk = shape.batch.div_ceil(threads).max(1);
    input_grad
        .par_chunks_mut(per_chunk * sample_in)
        .enumerate()
        .for_each(|(chunk, out)| {
            let mut padded = vec![0.0f32; geometry.input_len(shape)];
            let mut wide = vec![0.0f32; shape.out_channels * geometry.depth];
            for (i, out) in out.chunks_mut(sample_in).enumerate() {
                let n = chunk * per_chunk + i;
                let dy = &output_grad[n * sample_out..(n + 1) * sample_out];
                for (row, src) in dy.chunks_exact(out_w).enumerate() {
                    let o = row / out_h;
                    let y = row % out_h;
                    let start = o * geometry.depth + y * geometry.pw;
                    wide[start..start + out_w].copy_from_slice(src);
                }
                padded.fill(0.0);
                for ky in 0..shape.kernel {
                    for kx in 0..shape.kernel {
                        let tap = ky * shape.kernel + kx;
                        // SAFETY: dst is C rows of depth entries from ky W' + kx with row
                        // stride `channel` (rows do not overlap: depth + ky W' + kx <= channel +
                        // kx), inside `padded` by `input_len`; lhs reads W[o, c, tap] as
                        // (C, O); rhs is O x depth with row stride depth.
                        unsafe {
                            gemm(
                                shape.in_channels,
                                geometry.depth,
                                shape.out_channels,
                                padded.as_mut_ptr().add(ky * geometry.pw + kx),
                                1,
                                geometry.channel as isize,
                                true,
                                weight.as_ptr().add(tap),
                                (shape.in_channels * k2) as isize,
                                k2 as isize,
                                wide.as_ptr(),
                                1,
                                geometry.depth as isize,
                                1.0,
                                1.0,
                                false,
                                false,
                                false,
                                Parallelism::None,
                            );
                        }
                    }
                }
                for c in 0..shape.in_channels {
                    for y in 0..h {
                        let src = c * geometry.channel + (y + p) * geometry.pw + p;
                        let dst = (c * h + y) * w;
                        out[dst..dst + w].copy_from_slice(&padded[src..src + w]);
                    }
                }
            }
        });
    Some(input_grad)
}

/// dL/dW for a convolution of `input` (N, C, H, W, contiguous) whose output gradient is
/// `output_grad` (N, O, H_o, W_o, contiguous):
/// dW[o, c, ky, kx] = sum_n sum_{y, x} dY[n, o, y, x] X[n, c, y s + ky - p, x s + kx - p],
/// returned as (O, C, K, K) row-major. Per sample: the im2col matrix (C K K, H_o W_o), then
/// dW += dY_n (O, H_o W_o) times its transpose; samples are split over the rayon threads, each
/// with its own accumulator.
pub fn conv2d_weight_grad(input: &[f32], output_grad: &[f32], shape: &ConvShape) -> Vec<f32> {
    let (out_h, out_w) = shape.output_size();
    let plane = out_h * out_w;
    let patch = shape.patch_len();
    let (sample_in, sample_out) = (
        shape.in_channels * shape.height * shape.width,
        shape.out_channels * plane,
    );
    assert_eq!(input.len(), shape.batch * sample_in, "input length");
    assert_eq!(
        output_grad.len(),
        shape.batch * sample_out,
        "output gradient length"
    );
    let size = shape.out_channels * patch;
    let threads = rayon::current_num_threads().max(1);
    let per_chunk = shape.batch.div_ceil(threads).max(1);
    let partials: Vec<Vec<f32>> = (0..shape.batch)
        .step_by(per_chunk)
        .collect::<Vec<_>>()
        .into_par_iter()
        .map(|first| {
            let mut grad = vec![0.0f32; size];
            let shifted = shape.stride == 1;
            let pw = shape.width + 2 * shape.padding;
            let channel = (shape.height + 2 * shape.padding) * pw;
            let (mut padded, mut padded_grad) = if shifted {
                (
                    vec![0.0f32; shape.in_channels * channel + pw + shape.kernel],
                    vec![0.0f32; shape.out_channels * out_h * pw],
                )
            } else {
                (Vec::new(), Vec::new())
            };
            let mut cols = vec![0.0f32; if shifted { 0 } else { patch * plane }];
            for n in first..(first + per_chunk).min(shape.batch) {
                if shifted {
                    let len = shape.in_channels * channel;
                    pad_sample(
                        &input[n * sample_in..(n + 1) * sample_in],
                        shape,
                        &mut padded[..len],
                    );
                    let dy = &output_grad[n * sample_out..(n + 1) * sample_out];
                    for (row, src) in dy.chunks_exact(out_w).enumerate() {
                        padded_grad[row * pw..row * pw + out_w].copy_from_slice(src);
                    }
                    weight_grad_shifted(&padded, &padded_grad, shape, &mut grad);
                    continue;
                }
                im2col(&input[n * sample_in..(n + 1) * sample_in], shape, &mut cols);
                let dy = &output_grad[n * sample_out..(n + 1) * sample_out];
                // grad (O x CKK, row-major) += dy (O x P, row-major) * cols^T (P x CKK).
                // SAFETY: the pointers cover O*CKK, O*P and CKK*P elements, exactly what the
                // strides below address; `grad` is owned by this closure.
                unsafe {
                    gemm(
                        shape.out_channels,
                        patch,
                        plane,
                        grad.as_mut_ptr(),
                        1,
                        patch as isize,
                        true,
                        dy.as_ptr(),
                        1,
                        plane as isize,
                        cols.as_ptr(),
                        plane as isize,
                        1,
                        1.0,
                        1.0,
                        false,
                        false,
                        false,
                        Parallelism::None,
                    );
                }
            }
            grad
        })
        .collect();
    let mut total = vec![0.0f32; size];
    for partial in partials {
        for (t, v) in total.iter_mut().zip(partial) {
            *t += v;
        }
    }
    total
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

    #[test]
    fn stride1_forward_and_input_gradient_match_the_definition() {
        for (padding, kernel, height, width) in [
            (1, 3, 7, 8),
            (0, 3, 6, 5),
            (2, 5, 4, 6),
            (0, 1, 3, 3),
            (1, 3, 1, 1),
        ] {
            let shape = ConvShape {
                batch: 5,
                in_channels: 3,
                out_channels: 4,
                height,
                width,
                kernel,
                stride: 1,
                padding,
            };
            let (out_h, out_w) = shape.output_size();
            let input = values(5 * 3 * height * width, 3);
            let weight = values(4 * 3 * kernel * kernel, 5);
            let output_grad = values(5 * 4 * out_h * out_w, 9);
            let forward = conv2d_stride1(&input, &weight, &shape).expect("stride 1");
            assert_close(
                &forward,
                &reference_forward(&input, &weight, &shape),
                &format!("forward {shape:?}"),
            );
            let dx = conv2d_stride1_input_grad(&output_grad, &weight, &shape).expect("stride 1");
            assert_close(
                &dx,
                &reference_input_grad(&output_grad, &weight, &shape),
                &format!("input grad {shape:?}"),
            );
        }
        let strided = ConvShape {
            batch: 1,
            in_channels: 1,
            out_channels: 1,
            height: 4,
            width: 4,
            kernel: 3,
            stride: 2,
            padding: 1,
        };
        assert!(conv2d_stride1(&[0.0; 16], &[0.0; 9], &strided).is_none());
        assert!(conv2d_stride1_input_grad(&[0.0; 4], &[0.0; 9], &strided).is_none());
    }

    fn values(count: usize, seed: u32) -> Vec<f32> {
        (0..count)
            .map(|i| (((i as u32).wrapping_mul(2_654_435_761) ^ seed) % 1000) as f32 / 500.0 - 1.0)
            .collect()
    }

    #[test]
    fn weight_gradient_matches_the_definition() {
        for (stride, padding, kernel, height) in
            [(1, 1, 3, 7), (2, 1, 3, 8), (2, 3, 7, 9), (1, 0, 1, 5)]
        {
            let shape = ConvShape {
                batch: 3,
                in_channels: 2,
                out_channels: 4,
                height,
                width: height + 1,
                kernel,
                stride,
                padding,
            };
            let (out_h, out_w) = shape.output_size();
            let input = values(3 * 2 * height * (height + 1), 7);
            let output_grad = values(3 * 4 * out_h * out_w, 11);
            let ours = conv2d_weight_grad(&input, &output_grad, &shape);
            let expected = reference(&input, &output_grad, &shape);
            for (a, b) in ours.iter().zip(&expected) {
                assert!(
                    (*a as f64 - b).abs() < 1e-4 * (1.0 + b.abs()),
                    "{shape:?}: {a} vs {b}"
                );
            }
        }
    }
}
