//! CPU kernels of 2-d max pooling (f32, NCHW, square window, the same stride and padding on both
//! axes, no dilation, floor mode): the forward pass with the position of each maximum, and the
//! backward pass that sends each output gradient to that position.
//!
//! Y[p, oy, ox] = max over (ky, kx) of X[p, oy s + ky - pad, ox s + kx - pad], taking only the
//! positions inside the image (padding never wins). The window is read row by row and a later
//! entry replaces the maximum only when it is larger or NaN, which is the rule (and so the
//! argmax) of Burn's Flex pooling; the backward pass adds the gradients of the outputs in their
//! order, dX[p, argmax(o)] += dY[p, o], as Burn's does, so both give Burn's bits.
//! Planes (one image channel each) are split over rayon's threads.

use multiversion::multiversion;
use rayon::prelude::*;

/// Entries of input one rayon task takes at least (whole planes), so that small planes do not
/// become one task each.
const TASK_ENTRIES: usize = 1 << 14;

/// Shape of a max pooling: `planes` (N C) images of H x W, a K x K window moved by s, with p
/// rows and columns of padding on every side; output (N C, H_o, W_o) with
/// H_o = (H + 2p - K) / s + 1.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PoolShape {
    /// Number of planes N C.
    pub planes: usize,
    /// Input height H.
    pub height: usize,
    /// Input width W.
    pub width: usize,
    /// Square window size K.
    pub kernel: usize,
    /// Stride s (both axes).
    pub stride: usize,
    /// Padding p (every side).
    pub padding: usize,
}

impl PoolShape {
    /// Whether the kernels apply: a non-empty image, K >= 1, s >= 1, a padded image at least
    /// as large as the window, and 2p <= K, so that every window holds at least one entry of
    /// the image.
    pub fn is_valid(&self) -> bool {
        self.height >= 1
            && self.width >= 1
            && self.kernel >= 1
            && self.stride >= 1
            && 2 * self.padding <= self.kernel
            && self.height + 2 * self.padding >= self.kernel
            && self.width + 2 * self.padding >= self.kernel
    }

    /// (H_o, W_o) = ((H + 2p - K) / s + 1, (W + 2p - K) / s + 1); call on a valid shape.
    pub fn output_size(&self) -> (usize, usize) {
        let side = |n: usize| (n + 2 * self.padding - self.kernel) / self.stride + 1;
        (side(self.height), side(self.width))
    }

    fn plane_in(&self) -> usize {
        self.height * self.width
    }

    fn plane_out(&self) -> usize {
        let (h, w) = self.output_size();
        h * w
    }

    /// Planes per rayon task.
    fn planes_per_task(&self) -> usize {
        (TASK_ENTRIES / self.plane_in().max(1)).max(1)
    }

    /// The window rows (or columns) of output row (or column) `o` inside an image side of `n`:
    /// `o s - p + k` for k in the returned range.
    fn window(&self, o: usize, n: usize) -> (usize, usize) {
        let start = o * self.stride;
        let first = self.padding.saturating_sub(start);
        let last = (n + self.padding - start).min(self.kernel);
        (first, last)
    }
}

/// Y and the position (y W + x within its plane) of each output's maximum, for `input`
/// (N C, H, W) contiguous. Panics when the length does not match `shape` or the shape is not
/// valid.
pub fn max_pool2d(input: &[f32], shape: &PoolShape) -> (Vec<f32>, Vec<u32>) {
    assert!(shape.is_valid(), "pooling shape {shape:?}");
    assert_eq!(input.len(), shape.planes * shape.plane_in(), "input length");
    assert!(
        u32::try_from(shape.plane_in()).is_ok(),
        "planes of more than 2^32 entries"
    );
    let (plane_in, plane_out) = (shape.plane_in(), shape.plane_out());
    let per_task = shape.planes_per_task();
    let mut values = vec![0.0f32; shape.planes * plane_out];
    let mut positions = vec![0u32; shape.planes * plane_out];
    values
        .par_chunks_mut(per_task * plane_out)
        .zip(positions.par_chunks_mut(per_task * plane_out))
        .zip(input.par_chunks(per_task * plane_in))
        .for_each(|((values, positions), input)| {
            for ((values, positions), plane) in values
                .chunks_exact_mut(plane_out)
                .zip(positions.chunks_exact_mut(plane_out))
                .zip(input.chunks_exact(plane_in))
            {
                pool_plane(plane, shape, values, positions);
            }
        });
    (values, positions)
}

/// One plane of [`max_pool2d`]. Each window starts from its first entry inside the image and
/// takes a later entry where it is larger or NaN. The columns whose windows lie inside the
/// image go together: tap by tap (in the window's row-major order), every such output of the
/// row is updated at once ([`take_larger`], vector selects rather than a branch, which on random
/// data is mispredicted about every other entry), instead of one window after another (the
/// pool of ResNet-18's stem took 8 % of its step that way). The border columns keep the
/// window-by-window loop.
fn pool_plane(plane: &[f32], shape: &PoolShape, values: &mut [f32], positions: &mut [u32]) {
    let (out_h, out_w) = shape.output_size();
    let (s, p, w, k) = (shape.stride, shape.padding, shape.width, shape.kernel);
    // Output columns [inner_start, inner_end) have all K taps inside the row.
    let inner_start = p.div_ceil(s).min(out_w);
    let inner_end = if w + p >= k {
        ((w + p - k) / s + 1).min(out_w)
    } else {
        0
    }
    .max(inner_start);
    let inner = inner_start..inner_end;
    for oy in 0..out_h {
        let (ky0, ky1) = shape.window(oy, shape.height);
        let rows = (oy * s + ky0 - p) * w..(oy * s + ky1 - p) * w;
        let out = oy * out_w..(oy + 1) * out_w;
        let (values, positions) = (&mut values[out.clone()], &mut positions[out]);
        for ox in (0..inner.start).chain(inner.end..out_w) {
            let (kx0, kx1) = shape.window(ox, w);
            let (x0, x1) = (ox * s + kx0 - p, ox * s + kx1 - p);
            let mut at = rows.start + x0;
            let mut best = plane[at];
            for row in rows.clone().step_by(w) {
                for (index, &v) in plane[row + x0..row + x1].iter().enumerate() {
                    if v > best || v.is_nan() {
                        best = v;
                        at = row + x0 + index;
                    }
                }
            }
            values[ox] = best;
            positions[ox] = at as u32;
        }
        let (best, at) = (&mut values[inner.clone()], &mut positions[inner.clone()]);
        for (j, ox) in inner.clone().enumerate() {
            let i = rows.start + ox * s - p;
            best[j] = plane[i];
            at[j] = i as u32;
        }
        let mut taps = vec![0.0f32; inner.len()];
        for row in rows.clone().step_by(w) {
            for kx in 0..k {
                let first = row + inner.start * s + kx - p;
                for (j, t) in taps.iter_mut().enumerate() {
                    *t = plane[first + j * s];
                }
                take_larger(best, at, &taps, first as u32, s as u32);
            }
        }
    }
}

/// best[j], at[j] <- taps[j], first + j stride where taps[j] is larger than best[j] or NaN: one
/// tap of a row of windows, as selects over whole vectors (a compiled `if` per entry became a
/// mispredicted branch).
#[multiversion(targets("x86_64+avx512f", "x86_64+avx2"))]
fn take_larger(best: &mut [f32], at: &mut [u32], taps: &[f32], first: u32, stride: u32) {
    for (j, ((b, a), &v)) in best.iter_mut().zip(at.iter_mut()).zip(taps).enumerate() {
        let take = v > *b || v.is_nan();
        *b = if take { v } else { *b };
        *a = if take { first + j as u32 * stride } else { *a };
    }
}

/// dX of a max pooling from its output gradient `output_grad` (N C, H_o, W_o) and the
/// positions [`max_pool2d`] returned: dX[p, argmax(o)] += dY[p, o], outputs in order, zero
/// elsewhere; the result is (N C, H, W). Panics when the lengths do not match `shape`.
pub fn max_pool2d_backward(output_grad: &[f32], positions: &[u32], shape: &PoolShape) -> Vec<f32> {
    assert!(shape.is_valid(), "pooling shape {shape:?}");
    let (plane_in, plane_out) = (shape.plane_in(), shape.plane_out());
    assert_eq!(
        output_grad.len(),
        shape.planes * plane_out,
        "output gradient length"
    );
    assert_eq!(positions.len(), output_grad.len(), "positions length");
    let per_task = shape.planes_per_task();
    let mut input_grad = vec![0.0f32; shape.planes * plane_in];
    input_grad
        .par_chunks_mut(per_task * plane_in)
        .zip(output_grad.par_chunks(per_task * plane_out))
        .zip(positions.par_chunks(per_task * plane_out))
        .for_each(|((input_grad, output_grad), positions)| {
            for ((dx, dy), at) in input_grad
                .chunks_exact_mut(plane_in)
                .zip(output_grad.chunks_exact(plane_out))
                .zip(positions.chunks_exact(plane_out))
            {
                for (g, &i) in dy.iter().zip(at) {
                    dx[i as usize] += g;
                }
            }
        });
    input_grad
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The definition: every window entry inside the image, first maximum in row-major order.
    fn reference(input: &[f32], shape: &PoolShape) -> (Vec<f32>, Vec<u32>) {
        let (out_h, out_w) = shape.output_size();
        let (h, w, k, s, p) = (
            shape.height as isize,
            shape.width as isize,
            shape.kernel as isize,
            shape.stride as isize,
            shape.padding as isize,
        );
        let (mut values, mut positions) = (Vec::new(), Vec::new());
        for plane in input.chunks_exact(shape.plane_in()) {
            for oy in 0..out_h as isize {
                for ox in 0..out_w as isize {
                    let mut best: Option<(f32, usize)> = None;
                    for ky in 0..k {
                        for kx in 0..k {
                            let (y, x) = (oy * s + ky - p, ox * s + kx - p);
                            if y < 0 || y >= h || x < 0 || x >= w {
                                continue;
                            }
                            let i = (y * w + x) as usize;
                            if best.is_none_or(|(b, _)| plane[i] > b) {
                                best = Some((plane[i], i));
                            }
                        }
                    }
                    let (b, i) = best.expect("a window inside the image");
                    values.push(b);
                    positions.push(i as u32);
                }
            }
        }
        (values, positions)
    }

    fn values(count: usize, seed: u64) -> Vec<f32> {
        // A few repeated values, so that ties occur and the first maximum must win.
        (0..count as u64)
            .map(|i| ((i.wrapping_mul(2_654_435_761).wrapping_add(seed * 97)) % 13) as f32 - 6.0)
            .collect()
    }

    #[test]
    fn forward_and_backward_match_the_definition() {
        // (kernel, stride, padding, height, width): the ConvNet's 2x2 pool, ResNet's 3x3
        // stride-2 padded stem pool (overlapping windows), odd sides, a window as large as the
        // padded image.
        for (kernel, stride, padding, height, width) in [
            (2, 2, 0, 28, 28),
            (2, 2, 0, 7, 9),
            (3, 2, 1, 12, 11),
            (3, 1, 1, 5, 6),
            (3, 3, 0, 10, 8),
            (1, 1, 0, 3, 4),
            (4, 2, 2, 1, 1),
        ] {
            let shape = PoolShape {
                planes: 5,
                height,
                width,
                kernel,
                stride,
                padding,
            };
            let x = values(shape.planes * shape.plane_in(), kernel as u64);
            let (y, at) = max_pool2d(&x, &shape);
            let (expected_y, expected_at) = reference(&x, &shape);
            assert_eq!(y, expected_y, "{shape:?} values");
            assert_eq!(at, expected_at, "{shape:?} positions");

            let dy = values(y.len(), 3);
            let dx = max_pool2d_backward(&dy, &at, &shape);
            let mut expected = vec![0.0f32; x.len()];
            for (o, (&g, &i)) in dy.iter().zip(&expected_at).enumerate() {
                let plane = o / shape.plane_out();
                expected[plane * shape.plane_in() + i as usize] += g;
            }
            assert_eq!(dx, expected, "{shape:?} input gradient");
        }
    }

    #[test]
    fn nan_wins_its_window() {
        let shape = PoolShape {
            planes: 1,
            height: 2,
            width: 2,
            kernel: 2,
            stride: 2,
            padding: 0,
        };
        let (y, at) = max_pool2d(&[1.0, f32::NAN, 3.0, 2.0], &shape);
        assert!(y[0].is_nan());
        assert_eq!(at, vec![1]);
    }

    #[test]
    fn windows_made_of_padding_are_invalid() {
        let shape = PoolShape {
            planes: 1,
            height: 4,
            width: 4,
            kernel: 2,
            stride: 2,
            padding: 2,
        };
        assert!(!shape.is_valid());
        let padding_only = PoolShape {
            height: 0,
            padding: 1,
            ..shape
        };
        assert!(!padding_only.is_valid());
        assert!(
            PoolShape {
                padding: 1,
                ..shape
            }
            .is_valid()
        );
    }
}
