//! Training-time image augmentations (paper Sec. 3): random crop with zero padding plus
//! horizontal flip (CIFAR, Tiny ImageNet), random resized crop plus flip (CUB-200, OmniArt),
//! and the deterministic resize + centre crop used at test time for large images. Each writes
//! normalised `f32` values directly, channel-first.

use rand::{Rng, RngExt};

use crate::DataError;

/// One augmentation, applied to a `(C, H, W)` `u8` image. In serde form it is a table with a
/// `kind` in kebab-case and the variant's fields: `{ kind = "none" }`,
/// `{ kind = "crop-flip", padding = 4 }`, `{ kind = "random-resized-crop", size = 224 }`,
/// `{ kind = "resize-center-crop", resize = 256, crop = 224 }`.
#[derive(Clone, Debug, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case", deny_unknown_fields)]
pub enum Augmentation {
    /// No change (evaluation of small images): output `(C, H, W)`.
    #[default]
    None,
    /// Random crop of the input size from the image padded by `padding` zero pixels on every
    /// side, then a horizontal flip with probability 1/2 (torchvision `RandomCrop(size,
    /// padding)` + `RandomHorizontalFlip`): output `(C, H, W)`.
    CropFlip {
        /// Zero pixels added on each side before cropping (4 in the paper).
        padding: usize,
    },
    /// Random resized crop (torchvision defaults: area fraction in `[0.08, 1]`, aspect ratio in
    /// `[3/4, 4/3]` log-uniform, 10 tries then a centre crop), resized bilinearly to
    /// `size x size`, then a horizontal flip with probability 1/2: output `(C, size, size)`.
    RandomResizedCrop {
        /// Output side (224 in the paper).
        size: u32,
    },
    /// Deterministic: scale so the shorter side is `resize` (bilinear), then cut the centre
    /// `crop x crop` (zeros where the crop exceeds the image): output `(C, crop, crop)`.
    ResizeCenterCrop {
        /// Shorter side after scaling (e.g. 256).
        resize: u32,
        /// Output side (e.g. 224).
        crop: u32,
    },
}

impl Augmentation {
    /// Output `(height, width)` for an input of `height x width`.
    pub fn output_size(&self, height: usize, width: usize) -> (usize, usize) {
        match self {
            Augmentation::None | Augmentation::CropFlip { .. } => (height, width),
            Augmentation::RandomResizedCrop { size } => (*size as usize, *size as usize),
            Augmentation::ResizeCenterCrop { crop, .. } => (*crop as usize, *crop as usize),
        }
    }

    /// Whether the augmentation draws random numbers.
    pub fn is_random(&self) -> bool {
        matches!(
            self,
            Augmentation::CropFlip { .. } | Augmentation::RandomResizedCrop { .. }
        )
    }

    /// Checks the parameters (sizes at least 1).
    pub fn check(&self) -> Result<(), DataError> {
        match self {
            Augmentation::RandomResizedCrop { size: 0 } => Err(DataError::invalid(
                "augmentation",
                "RandomResizedCrop size 0, expected at least 1",
            )),
            Augmentation::ResizeCenterCrop { resize, crop } if *resize == 0 || *crop == 0 => {
                Err(DataError::invalid(
                    "augmentation",
                    format!(
                        "ResizeCenterCrop resize {resize}, crop {crop}: both must be at least 1"
                    ),
                ))
            }
            _ => Ok(()),
        }
    }
}

/// The shape of an input image and the per-channel `(scale, offset)` of the normalisation.
pub(crate) struct Geometry<'a> {
    pub channels: usize,
    pub height: usize,
    pub width: usize,
    pub affine: &'a [(f32, f32)],
}

/// For one output axis: source index pair and weight of the second, for bilinear sampling.
#[derive(Clone, Copy)]
struct Tap {
    i0: usize,
    i1: usize,
    w1: f32,
    inside: bool,
}

/// Bilinear taps mapping `out_len` output positions onto the source interval
/// `[start, start + len)` of an axis of `src_len` pixels (half-pixel centres, clamped to the
/// image edge). Output positions listed in `outside` (by predicate) get `inside = false`.
fn taps(
    out_len: usize,
    start: f32,
    len: f32,
    src_len: usize,
    outside: impl Fn(usize) -> bool,
) -> Vec<Tap> {
    let step = len / out_len as f32;
    let max = (src_len - 1) as f32;
    (0..out_len)
        .map(|o| {
            let s = (start + (o as f32 + 0.5) * step - 0.5).clamp(0.0, max);
            let i0 = s.floor() as usize;
            let i1 = (i0 + 1).min(src_len - 1);
            Tap {
                i0,
                i1,
                w1: s - i0 as f32,
                inside: !outside(o),
            }
        })
        .collect()
}

/// Samples the image bilinearly on the grid `ys x xs`, optionally mirrored left-right, and
/// appends normalised values to `out`.
fn sample_grid(image: &[u8], g: &Geometry, ys: &[Tap], xs: &[Tap], flip: bool, out: &mut Vec<f32>) {
    let plane = g.height * g.width;
    let out_w = xs.len();
    for c in 0..g.channels {
        let src = &image[c * plane..(c + 1) * plane];
        let (scale, offset) = g.affine[c];
        for ty in ys {
            let row0 = &src[ty.i0 * g.width..(ty.i0 + 1) * g.width];
            let row1 = &src[ty.i1 * g.width..(ty.i1 + 1) * g.width];
            for ox in 0..out_w {
                let tx = xs[if flip { out_w - 1 - ox } else { ox }];
                let value = if ty.inside && tx.inside {
                    let top = row0[tx.i0] as f32 * (1.0 - tx.w1) + row0[tx.i1] as f32 * tx.w1;
                    let bottom = row1[tx.i0] as f32 * (1.0 - tx.w1) + row1[tx.i1] as f32 * tx.w1;
                    top * (1.0 - ty.w1) + bottom * ty.w1
                } else {
                    0.0
                };
                out.push(value * scale + offset);
            }
        }
    }
}

/// Random crop of `H x W` from the image padded by `padding` zeros, then an optional mirror.
/// Output pixel `(x, y)` is input `(ox - p + x', oy - p + y)` with `x' = W - 1 - x` when
/// flipped, else `x`; zero outside the image.
pub(crate) fn crop_flip(
    image: &[u8],
    g: &Geometry,
    padding: usize,
    offset_y: usize,
    offset_x: usize,
    flip: bool,
    out: &mut Vec<f32>,
) {
    let (h, w) = (g.height as isize, g.width as isize);
    let p = padding as isize;
    let plane = g.height * g.width;
    for c in 0..g.channels {
        let src = &image[c * plane..(c + 1) * plane];
        let (scale, offset) = g.affine[c];
        for y in 0..h {
            let sy = offset_y as isize - p + y;
            if sy < 0 || sy >= h {
                out.extend(std::iter::repeat_n(offset, g.width));
                continue;
            }
            let row = &src[sy as usize * g.width..(sy as usize + 1) * g.width];
            for x in 0..w {
                let xx = if flip { w - 1 - x } else { x };
                let sx = offset_x as isize - p + xx;
                let v = if sx < 0 || sx >= w {
                    0.0
                } else {
                    row[sx as usize] as f32
                };
                out.push(v * scale + offset);
            }
        }
    }
}

/// The crop box `(top, left, height, width)` of torchvision's `RandomResizedCrop` with scale
/// `[0.08, 1]` and ratio `[3/4, 4/3]`.
pub(crate) fn random_resized_box(
    height: usize,
    width: usize,
    rng: &mut impl Rng,
) -> (usize, usize, usize, usize) {
    let area = (height * width) as f32;
    let (log_lo, log_hi) = ((3.0f32 / 4.0).ln(), (4.0f32 / 3.0).ln());
    for _ in 0..10 {
        let target = area * rng.random_range(0.08f32..1.0);
        let ratio = rng.random_range(log_lo..log_hi).exp();
        let cw = (target * ratio).sqrt().round() as usize;
        let ch = (target / ratio).sqrt().round() as usize;
        if cw > 0 && ch > 0 && cw <= width && ch <= height {
            let top = rng.random_range(0..=height - ch);
            let left = rng.random_range(0..=width - cw);
            return (top, left, ch, cw);
        }
    }
    // Fallback: the largest centred box whose ratio is inside [3/4, 4/3].
    let in_ratio = width as f32 / height as f32;
    let (ch, cw) = if in_ratio < 3.0 / 4.0 {
        (((width as f32) * 4.0 / 3.0).round() as usize, width)
    } else if in_ratio > 4.0 / 3.0 {
        (height, ((height as f32) * 4.0 / 3.0).round() as usize)
    } else {
        (height, width)
    };
    let (ch, cw) = (ch.clamp(1, height), cw.clamp(1, width));
    ((height - ch) / 2, (width - cw) / 2, ch, cw)
}

/// Applies `augmentation` to `image` (shape and normalisation in `g`), drawing from `rng`,
/// and appends the normalised output to `out`.
pub(crate) fn augment_into(
    augmentation: &Augmentation,
    image: &[u8],
    g: &Geometry,
    rng: &mut impl Rng,
    out: &mut Vec<f32>,
) {
    match *augmentation {
        Augmentation::None => crop_flip(image, g, 0, 0, 0, false, out),
        Augmentation::CropFlip { padding } => {
            let span = padding.saturating_mul(2);
            let oy = rng.random_range(0..=span);
            let ox = rng.random_range(0..=span);
            let flip = rng.random_bool(0.5);
            crop_flip(image, g, padding, oy, ox, flip, out);
        }
        Augmentation::RandomResizedCrop { size } => {
            let (top, left, ch, cw) = random_resized_box(g.height, g.width, rng);
            let size = size as usize;
            let ys = taps(size, top as f32, ch as f32, g.height, |_| false);
            let xs = taps(size, left as f32, cw as f32, g.width, |_| false);
            let flip = rng.random_bool(0.5);
            sample_grid(image, g, &ys, &xs, flip, out);
        }
        Augmentation::ResizeCenterCrop { resize, crop } => {
            let (h, w) = (g.height as f64, g.width as f64);
            let short = h.min(w);
            // torchvision Resize(int): shorter side -> resize, longer side truncated.
            let new_h = ((resize as f64 * h / short) as usize).max(1);
            let new_w = ((resize as f64 * w / short) as usize).max(1);
            let crop = crop as usize;
            let top = ((new_h as f64 - crop as f64) / 2.0).round() as isize;
            let left = ((new_w as f64 - crop as f64) / 2.0).round() as isize;
            let axis = |start: isize, new_len: usize, src_len: usize| {
                let scale = src_len as f32 / new_len as f32;
                taps(
                    crop,
                    start as f32 * scale,
                    crop as f32 * scale,
                    src_len,
                    move |o| {
                        let r = start + o as isize;
                        r < 0 || r >= new_len as isize
                    },
                )
            };
            let ys = axis(top, new_h, g.height);
            let xs = axis(left, new_w, g.width);
            sample_grid(image, g, &ys, &xs, false, out);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hpn_common::stream;

    const ID: [(f32, f32); 1] = [(1.0, 0.0)];

    fn geometry(h: usize, w: usize) -> Geometry<'static> {
        Geometry {
            channels: 1,
            height: h,
            width: w,
            affine: &ID,
        }
    }

    /// 3 x 4 image with values 1..=12 row-major.
    fn ramp() -> Vec<u8> {
        (1..=12).collect()
    }

    #[test]
    fn crop_flip_by_hand() {
        let g = geometry(3, 4);
        let mut out = Vec::new();
        // padding 1, crop at (0, 0) of the padded image: shift down-right by one, zeros enter.
        crop_flip(&ramp(), &g, 1, 0, 0, false, &mut out);
        assert_eq!(out, vec![0., 0., 0., 0., 0., 1., 2., 3., 0., 5., 6., 7.]);
        out.clear();
        // centre crop (offset = padding) flipped: rows mirrored.
        crop_flip(&ramp(), &g, 1, 1, 1, true, &mut out);
        assert_eq!(out, vec![4., 3., 2., 1., 8., 7., 6., 5., 12., 11., 10., 9.]);
        out.clear();
        // crop at (2, 2): shift up-left by one.
        crop_flip(&ramp(), &g, 1, 2, 2, false, &mut out);
        assert_eq!(out, vec![6., 7., 8., 0., 10., 11., 12., 0., 0., 0., 0., 0.]);
    }

    #[test]
    fn resize_center_crop_identity_and_crop() {
        let img: Vec<u8> = (0..16).collect();
        let g = geometry(4, 4);
        let mut out = Vec::new();
        let mut rng = stream(&[0]);
        augment_into(
            &Augmentation::ResizeCenterCrop { resize: 4, crop: 2 },
            &img,
            &g,
            &mut rng,
            &mut out,
        );
        assert_eq!(out, vec![5., 6., 9., 10.]);
        out.clear();
        // upscale 2x (4 -> 8) then keep the middle 4: half-pixel centres give quarter steps.
        augment_into(
            &Augmentation::ResizeCenterCrop { resize: 8, crop: 4 },
            &img,
            &g,
            &mut rng,
            &mut out,
        );
        // resized position 2 maps to source (2.5 / 2 - 0.5) = 0.75, 3 -> 1.25, 4 -> 1.75, 5 -> 2.25
        let want_axis = [0.75f32, 1.25, 1.75, 2.25];
        for (i, y) in want_axis.iter().enumerate() {
            for (j, x) in want_axis.iter().enumerate() {
                assert!((out[i * 4 + j] - (y * 4.0 + x)).abs() < 1e-4);
            }
        }
    }

    #[test]
    fn random_resized_box_stays_inside_and_respects_ratio() {
        let mut rng = stream(&[7]);
        for _ in 0..500 {
            let (top, left, h, w) = random_resized_box(20, 30, &mut rng);
            assert!(top + h <= 20 && left + w <= 30 && h > 0 && w > 0);
        }
        // A 1 x 100 strip: every try needs a box at least 2 pixels high, so the fallback
        // centres the widest box of ratio at most 4/3: round(4/3) = 1 pixel wide.
        assert_eq!(random_resized_box(1, 100, &mut rng), (0, 49, 1, 1));
    }
}
