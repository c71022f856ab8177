//! Direct stride-1 "same" convolutions (odd K, p = (K - 1) / 2, so H_o = H and W_o = W) with
//! AVX-512: no column matrix and no matrix-product packing, the image is read where it lies.
//!
//! One sample's output plane is a run of H W positions q = y W + x, and for the tap (ky, kx)
//! the input entries a run of positions needs are the same run of the input plane moved by
//! (ky - p) W + (kx - p). So with each input plane copied between p zero rows above and below,
//! 16 consecutive outputs of one channel take, per (c, ky, kx), one 16-wide load of the input
//! (lanes whose column x + kx - p falls outside the row masked to zero) and one fused
//! multiply-add with the broadcast weight W[o, c, ky, kx]:
//!
//! Y[o, q] = sum over c, ky, kx, in that order, of W[o, c, ky, kx] X'[c, q + (ky - p) W + kx - p].
//!
//! A tile holds [`BLOCK`] output channels times [`VECTORS`] vectors of 16 positions in
//! registers, so each input load serves [`BLOCK`] multiply-adds and each broadcast weight
//! [`VECTORS`]. Every output is one chain of fused multiply-adds in the order above, started
//! from zero, on whichever thread takes its sample: the bits do not depend on the thread
//! count. The stride-1 input gradient of such a layer is again such a convolution (padding
//! K - 1 - p = p, see [`crate::conv::conv2d_input_grad`]), so it runs here too.
//!
//! The weight gradient of a 3x3 layer on a large map (see [`applies_to_weight_grad`]) runs
//! here as well: dW[o, c, ky, kx] is a sum over positions of dY[o, q] times the same shifted
//! input run, taken 16 positions at a time in vector lanes.
//!
//! On a CPU without AVX-512F these layers take the matrix-product paths of
//! [`crate::conv`], whose sums run in another order: the same seed then gives other bits
//! there than on an AVX-512 CPU (each CPU is deterministic on its own).

// Elsewhere than on x86-64 `applies` is false and the tiles do not exist: what prepares them is
// compiled but never called.
#![cfg_attr(
    not(target_arch = "x86_64"),
    allow(dead_code, unused_variables, unused_mut)
)]

use crate::conv::{ConvShape, weight_grad_partials};

/// Output channels per register tile.
const BLOCK: usize = 8;

/// 16-wide vectors of positions per register tile.
const VECTORS: usize = 2;

/// Positions per register tile.
const TILE: usize = 16 * VECTORS;

/// Whether a convolution runs here: stride 1, odd K with p = (K - 1) / 2 (output size = input
/// size), K > 1, and a CPU with AVX-512F.
pub(crate) fn applies(shape: &ConvShape) -> bool {
    shape.stride == 1
        && shape.kernel > 1
        && shape.kernel % 2 == 1
        && 2 * shape.padding == shape.kernel - 1
        && available()
}

/// Whether this CPU runs the AVX-512 tiles (checked once by the standard library's cache).
pub(crate) fn available() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        std::arch::is_x86_feature_detected!("avx512f")
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

/// The weights of output channels `first..first + count` as [(c K + ky) K + kx][o - first],
/// so that a tile's broadcasts for one tap are consecutive.
fn pack_block(weight: &[f32], shape: &ConvShape, first: usize, count: usize) -> Vec<f32> {
    let taps = shape.in_channels * shape.kernel * shape.kernel;
    let mut packed = vec![0.0f32; taps * count];
    for i in 0..count {
        let row = &weight[(first + i) * taps..(first + i + 1) * taps];
        for (t, &w) in row.iter().enumerate() {
            packed[t * count + i] = w;
        }
    }
    packed
}

/// One sample's input planes, each between p zero rows above and below, after a margin of
/// `lead` entries and followed by a margin of `trail` (so every load of a tile, masked lanes
/// included, addresses the buffer).
struct Padded {
    values: Vec<f32>,
    lead: usize,
    /// Entries per channel: (H + 2p) W.
    plane: usize,
}

impl Padded {
    fn new(shape: &ConvShape) -> Self {
        let (h, w, p) = (shape.height, shape.width, shape.padding);
        let plane = (h + 2 * p) * w;
        let lead = p + 16;
        let trail = p + TILE + 16;
        Self {
            values: vec![0.0; lead + shape.in_channels * plane + trail],
            lead,
            plane,
        }
    }

    /// Copies `sample` (C, H, W) in; the zero rows and margins stay as allocated.
    fn fill(&mut self, sample: &[f32], shape: &ConvShape) {
        let (hw, pw) = (shape.height * shape.width, shape.padding * shape.width);
        for c in 0..shape.in_channels {
            let start = self.lead + c * self.plane + pw;
            self.values[start..start + hw].copy_from_slice(&sample[c * hw..(c + 1) * hw]);
        }
    }
}

/// [`conv2d`](crate::conv::conv2d) for a shape where [`applies`] holds.
pub(crate) fn conv2d_direct(input: &[f32], weight: &[f32], shape: &ConvShape) -> Vec<f32> {
    let plane = shape.height * shape.width;
    let o_count = shape.out_channels;
    let sample_out = o_count * plane;
    let sample_in = shape.in_channels * plane;
    // Whole blocks of BLOCK channels, then the channels left over one at a time.
    let whole = o_count / BLOCK * BLOCK;
    let blocks: Vec<(usize, usize, Vec<f32>)> = (0..whole)
        .step_by(BLOCK)
        .map(|first| (first, BLOCK))
        .chain((whole..o_count).map(|first| (first, 1)))
        .map(|(first, size)| (first, size, pack_block(weight, shape, first, size)))
        .collect();
    let masks = column_masks(shape);
    shape.per_sample_chunks(sample_out, |out, first, count| {
        let mut padded = Padded::new(shape);
        for j in 0..count {
            padded.fill(&input[(first + j) * sample_in..][..sample_in], shape);
            let out = &mut out[j * sample_out..(j + 1) * sample_out];
            for (o0, size, packed) in &blocks {
                let out = &mut out[o0 * plane..(o0 + size) * plane];
                // SAFETY: `applies` checked AVX-512F; `padded` was built for `shape`; `out`
                // holds `size` planes and `packed` C K^2 taps of `size` weights.
                #[cfg(target_arch = "x86_64")]
                unsafe {
                    match (*size == BLOCK, shape.kernel) {
                        (true, 3) => avx512::tiles::<BLOCK, 3>(&padded, shape, &masks, packed, out),
                        (true, _) => avx512::tiles::<BLOCK, 0>(&padded, shape, &masks, packed, out),
                        (false, 3) => avx512::tiles::<1, 3>(&padded, shape, &masks, packed, out),
                        (false, _) => avx512::tiles::<1, 0>(&padded, shape, &masks, packed, out),
                    }
                }
            }
        }
    })
}

/// Output channels per register block of the weight gradient: with the 3 taps of one kernel
/// row, 12 vector accumulators.
const GRAD_BLOCK: usize = 4;

/// Whether the weight gradient runs here: [`applies`], K = 3 (the only size whose
/// accumulators are unrolled) and a map of at least [`GRAD_MIN_PLANE`] positions. On smaller
/// maps the column-matrix products are as fast or faster, since each sample's plane is only a
/// few vectors long: with `cargo xtask bench conv`, alternating runs, this path took 113-131
/// GFLOP/s against 89-129 on a 16x16 map but 57-145 (median 92) against 86-142 (median 118) on
/// an 8x8 one; on a 32x32 map 121-124 against the shifted copies' 62-79.
pub(crate) fn applies_to_weight_grad(shape: &ConvShape) -> bool {
    applies(shape) && shape.kernel == 3 && shape.height * shape.width >= GRAD_MIN_PLANE
}

/// The smallest map (H W positions) whose weight gradient runs here: 16x16.
const GRAD_MIN_PLANE: usize = 256;

/// [`conv2d_weight_grad`](crate::conv::conv2d_weight_grad) for a shape where
/// [`applies_to_weight_grad`] holds:
/// dW[o, c, ky, kx] = sum over n and q of dY[n, o, q] X'[n, c, q + (ky - p) W + kx - p].
/// The positions go in chunks small enough for the output gradients and the input plane of a
/// chunk to stay in the L1 cache ([`GRAD_CHUNK`] positions, or a group of whole samples when
/// a plane is smaller) while one kernel row of one input channel and [`GRAD_BLOCK`] output
/// channels is summed over them, lane by lane (lane l takes the positions q = l mod 16); the
/// 16 lanes are then added into the weight's sum, chunk after chunk. The groups (set by the
/// shape alone) are dealt to the accumulators of [`weight_grad_partials`] and added in a fixed
/// order, so the bits do not depend on the thread count.
pub(crate) fn conv2d_weight_grad_direct(
    input: &[f32],
    output_grad: &[f32],
    shape: &ConvShape,
) -> Vec<f32> {
    let plane = shape.height * shape.width;
    let (c_count, o_count) = (shape.in_channels, shape.out_channels);
    let sample_in = c_count * plane;
    let sample_out = o_count * plane;
    let group = (GRAD_CHUNK / plane).clamp(1, shape.batch.max(1));
    let masks = vector_masks(shape);
    let weights = o_count * c_count * 9;
    let partials = weight_grad_partials(
        shape.batch,
        group,
        weights,
        || (0..group).map(|_| Padded::new(shape)).collect::<Vec<_>>(),
        |padded, sums, first, taken| {
            for (j, padded) in padded.iter_mut().enumerate().take(taken) {
                padded.fill(&input[(first + j) * sample_in..][..sample_in], shape);
            }
            let padded = &padded[..taken];
            let dy = &output_grad[first * sample_out..(first + taken) * sample_out];
            for q0 in (0..plane).step_by(GRAD_CHUNK) {
                let positions = q0..plane.min(q0 + GRAD_CHUNK);
                for o0 in (0..o_count).step_by(GRAD_BLOCK) {
                    let size = GRAD_BLOCK.min(o_count - o0);
                    for c in 0..c_count {
                        let chunk = (padded, positions.clone());
                        // SAFETY: `applies` checked AVX-512F; `padded` holds the group's
                        // samples built for `shape`, `dy` their output gradients, `masks` was
                        // built for `shape`, the positions are multiples of 16 from inside the
                        // plane, and `sums` holds all O C 9 weights.
                        #[cfg(target_arch = "x86_64")]
                        unsafe {
                            if size == GRAD_BLOCK {
                                avx512::weight_taps::<GRAD_BLOCK>(
                                    chunk, shape, &masks, dy, o0, c, sums,
                                );
                            } else {
                                for o in o0..o0 + size {
                                    avx512::weight_taps::<1>(
                                        chunk.clone(),
                                        shape,
                                        &masks,
                                        dy,
                                        o,
                                        c,
                                        sums,
                                    );
                                }
                            }
                        }
                    }
                }
            }
        },
    );
    let mut total = vec![0.0f32; weights];
    for partial in partials {
        for (sum, value) in total.iter_mut().zip(&partial) {
            *sum += value;
        }
    }
    total
}

/// Positions per chunk of the direct weight gradient (a multiple of [`TILE`]): with
/// [`GRAD_BLOCK`] output-gradient planes and one input plane, 5 Ki floats (20 KiB), within the
/// L1 data cache.
const GRAD_CHUNK: usize = 1024;

/// [`column_masks`] of a 3x3 layer by vector of 16 positions: entry i holds the masks of
/// positions 16 i to 16 i + 15 for kx = 0, 1, 2 (the one for kx = 1 = p keeps exactly the
/// positions inside the plane).
fn vector_masks(shape: &ConvShape) -> Vec<[u16; 3]> {
    debug_assert_eq!(shape.kernel, 3);
    let by_tile = column_masks(shape);
    let vectors = (shape.height * shape.width).div_ceil(16);
    (0..vectors)
        .map(|i| {
            let (t, v) = (i / VECTORS, i % VECTORS);
            [0, 1, 2].map(|kx| by_tile[t * 3 + kx][v])
        })
        .collect()
}

/// For tile t (positions t [`TILE`] on) and tap column kx, entry t K + kx: per vector v, the
/// lanes l whose position q = t TILE + 16 v + l is inside the plane (q < H W) and whose
/// column x = q mod W moved by kx - p stays inside the row, 0 <= x + kx - p < W.
fn column_masks(shape: &ConvShape) -> Vec<[u16; VECTORS]> {
    let (w, k, p) = (shape.width, shape.kernel, shape.padding);
    let plane = shape.height * w;
    let mut masks = Vec::with_capacity(plane.div_ceil(TILE) * k);
    for q0 in (0..plane).step_by(TILE) {
        for kx in 0..k {
            let mut mask = [0u16; VECTORS];
            for (v, bits) in mask.iter_mut().enumerate() {
                for l in 0..16 {
                    let q = q0 + 16 * v + l;
                    let x = q % w;
                    if q < plane && x + kx >= p && x + kx - p < w {
                        *bits |= 1 << l;
                    }
                }
            }
            masks.push(mask);
        }
    }
    masks
}

#[cfg(target_arch = "x86_64")]
mod avx512 {
    use std::arch::x86_64::*;
    use std::mem::MaybeUninit;

    use super::{Padded, TILE, VECTORS};
    use crate::conv::ConvShape;

    /// Writes all H W positions of `B` output planes (`out`, plane after plane) of one
    /// sample, from its padded input and the packed weights of the `B` channels.
    ///
    /// # Safety
    /// The CPU has AVX-512F; `out` holds `B` planes of H W; `packed` holds C K^2 taps of `B`
    /// weights; `padded` was built by [`Padded::new`] and `masks` by [`column_masks`](super::column_masks) for
    /// `shape`.
    #[target_feature(enable = "avx512f")]
    pub(super) unsafe fn tiles<const B: usize, const K: usize>(
        padded: &Padded,
        shape: &ConvShape,
        masks: &[[u16; VECTORS]],
        packed: &[f32],
        out: &mut [MaybeUninit<f32>],
    ) {
        let (h, w, p) = (shape.height, shape.width, shape.padding);
        // K > 0 fixes the kernel size at compile time, so the tap loops unroll.
        let k = if K > 0 { K } else { shape.kernel };
        debug_assert_eq!(k, shape.kernel);
        let plane = h * w;
        let c_count = shape.in_channels;
        debug_assert_eq!(out.len(), B * plane);
        debug_assert_eq!(packed.len(), c_count * k * k * B);
        // The entry of the first real row, column 0, of channel 0.
        let origin = padded.lead + p * w;
        let values = padded.values.as_ptr();
        let out = out.as_mut_ptr().cast::<f32>();
        for (t, q0) in (0..plane).step_by(TILE).enumerate() {
            let masks = &masks[t * k..(t + 1) * k];
            let mut acc = [[_mm512_setzero_ps(); VECTORS]; B];
            let mut taps = packed.as_ptr();
            for c in 0..c_count {
                for ky in 0..k {
                    // SAFETY: the row of tap (ky, kx) starts at most p + p W entries before
                    // and ends at most TILE + p + p W after the real rows of channel c; the
                    // margins and zero rows of `Padded` cover both.
                    let row =
                        unsafe { values.add(origin + c * padded.plane + q0 + ky * w - p * w) };
                    for (kx, mask) in masks[..k].iter().enumerate() {
                        let mut x = [_mm512_setzero_ps(); VECTORS];
                        for (v, x) in x.iter_mut().enumerate() {
                            // SAFETY: as above; masked lanes are not read.
                            *x = unsafe {
                                _mm512_maskz_loadu_ps(mask[v], row.add(16 * v + kx).sub(p))
                            };
                        }
                        for acc in acc.iter_mut() {
                            // SAFETY: `packed` holds C K^2 B weights, read in order.
                            let weight = _mm512_set1_ps(unsafe { *taps });
                            taps = unsafe { taps.add(1) };
                            for v in 0..VECTORS {
                                acc[v] = _mm512_fmadd_ps(weight, x[v], acc[v]);
                            }
                        }
                    }
                }
            }
            for (o, acc) in acc.iter().enumerate() {
                for (v, value) in acc.iter().enumerate() {
                    let at = q0 + 16 * v;
                    if at >= plane {
                        break;
                    }
                    let lanes = (plane - at).min(16);
                    let keep = if lanes == 16 {
                        u16::MAX
                    } else {
                        (1u16 << lanes) - 1
                    };
                    // SAFETY: the kept lanes are positions below H W of plane o of `out`.
                    unsafe { _mm512_mask_storeu_ps(out.add(o * plane + at), keep, *value) };
                }
            }
        }
    }

    /// Adds, for b < `B` and the 9 taps (ky, kx) of K = 3, the sum of the products
    /// dY[n, o0 + b, q] X'[n, c, q + (ky - 1) W + kx - 1] over the samples of `padded` (output
    /// gradients `dy`, (taken, O, H W)) and the positions of the range into weight
    /// (o0 + b, c, ky, kx) of `sums` ((O, C, 3, 3)): lane by lane (lane q mod 16 takes
    /// position q), then across the 16 lanes.
    ///
    /// # Safety
    /// The CPU has AVX-512F; `padded` and `masks` ([`vector_masks`](super::vector_masks))
    /// were built for `shape` (K = 3, p = 1); `dy` holds `padded.len()` samples of O planes; the range starts at a multiple of 16 and
    /// ends at most at H W; o0 + `B` <= O, c < C, and `sums` holds O C 9 entries.
    #[target_feature(enable = "avx512f")]
    pub(super) unsafe fn weight_taps<const B: usize>(
        (padded, positions): (&[Padded], std::ops::Range<usize>),
        shape: &ConvShape,
        masks: &[[u16; 3]],
        dy: &[f32],
        o0: usize,
        c: usize,
        sums: &mut [f32],
    ) {
        const K: usize = 3;
        let w = shape.width;
        let plane = shape.height * w;
        let (c_count, sample_out) = (shape.in_channels, shape.out_channels * plane);
        debug_assert_eq!(shape.kernel, K);
        debug_assert_eq!(dy.len(), padded.len() * sample_out);
        debug_assert!(positions.start.is_multiple_of(16) && positions.end <= plane);
        debug_assert_eq!(sums.len(), shape.out_channels * c_count * 9);
        // One kernel row at a time: B x 3 accumulators stay in registers.
        for ky in 0..K {
            let mut acc = [[_mm512_setzero_ps(); K]; B];
            for (j, padded) in padded.iter().enumerate() {
                let values = padded.values.as_ptr();
                // The entry of the first real row, column 0, of channel c.
                let origin = padded.lead + w + c * padded.plane;
                let grads = &dy[j * sample_out + o0 * plane..];
                let vectors = &masks[positions.start / 16..positions.end.div_ceil(16)];
                for (i, mask) in vectors.iter().enumerate() {
                    let q0 = positions.start + 16 * i;
                    let mut g = [_mm512_setzero_ps(); B];
                    for (b, g) in g.iter_mut().enumerate() {
                        // SAFETY: the lanes of mask[1] are positions of plane o0 + b of
                        // sample j.
                        *g = unsafe {
                            _mm512_maskz_loadu_ps(mask[1], grads.as_ptr().add(b * plane + q0))
                        };
                    }
                    for (kx, &mask) in mask.iter().enumerate() {
                        // SAFETY: as in `tiles`: the margins and zero rows of `Padded` cover
                        // every lane of the row of tap (ky, kx); masked lanes are not read.
                        let x = unsafe {
                            _mm512_maskz_loadu_ps(
                                mask,
                                values.add(origin + q0 + ky * w + kx).sub(w + 1),
                            )
                        };
                        for (acc, g) in acc.iter_mut().zip(&g) {
                            acc[kx] = _mm512_fmadd_ps(*g, x, acc[kx]);
                        }
                    }
                }
            }
            for (b, acc) in acc.iter().enumerate() {
                for (kx, acc) in acc.iter().enumerate() {
                    sums[((o0 + b) * c_count + c) * 9 + ky * K + kx] += _mm512_reduce_add_ps(*acc);
                }
            }
        }
    }
}
