//! Image rotation with bilinear interpolation, and the rotated-MNIST dataset of the paper's
//! Figure 5 (digits 2, 3, 4, 5, 7, each rotated by a random angle in [0, 180] degrees; the
//! angle is the regression target, the digit the class).

use hpn_common::stream;
use rand::RngExt;

use crate::{DataError, ImageSet};

/// `(sin, cos)` of `degrees`, exact for multiples of 90 degrees so that quarter turns move
/// pixels without any interpolation.
fn sin_cos_degrees(degrees: f32) -> (f32, f32) {
    let r = degrees.rem_euclid(360.0);
    if r == 0.0 {
        (0.0, 1.0)
    } else if r == 90.0 {
        (1.0, 0.0)
    } else if r == 180.0 {
        (0.0, -1.0)
    } else if r == 270.0 {
        (-1.0, 0.0)
    } else {
        r.to_radians().sin_cos()
    }
}

/// Rotates a channel-first `(C, H, W)` image by `degrees` about its centre
/// `((W - 1) / 2, (H - 1) / 2)`, keeping its size.
///
/// Convention: positive angles turn the picture counter-clockwise as displayed (row 0 at the
/// top), as PIL's `Image.rotate` and torchvision's `rotate`. Output pixel `(x, y)` takes the
/// input at `(cx + u cos t - v sin t, cy + u sin t + v cos t)` with `u = x - cx`, `v = y - cy`,
/// interpolated bilinearly from the four neighbours, pixels outside the image counting as 0,
/// then rounded to the nearest `u8`. For a square image a 90-degree turn is exact:
/// `out[y][x] = in[x][W - 1 - y]` (the transpose flipped upside down).
///
/// # Panics
/// If `image.len() != channels * height * width` or `degrees` is not finite.
pub fn rotate_bilinear(
    image: &[u8],
    channels: usize,
    height: usize,
    width: usize,
    degrees: f32,
) -> Vec<u8> {
    assert_eq!(
        image.len(),
        channels * height * width,
        "rotate_bilinear: image has {} bytes, expected {channels} x {height} x {width}",
        image.len()
    );
    assert!(
        degrees.is_finite(),
        "rotate_bilinear: angle {degrees} is not finite"
    );
    let (sin, cos) = sin_cos_degrees(degrees);
    let cx = (width as f32 - 1.0) / 2.0;
    let cy = (height as f32 - 1.0) / 2.0;
    let plane = height * width;
    let mut out = vec![0u8; image.len()];
    for y in 0..height {
        let v = y as f32 - cy;
        for x in 0..width {
            let u = x as f32 - cx;
            let sx = cx + u * cos - v * sin;
            let sy = cy + u * sin + v * cos;
            let x0 = sx.floor();
            let y0 = sy.floor();
            let fx = sx - x0;
            let fy = sy - y0;
            let (x0, y0) = (x0 as i64, y0 as i64);
            // The four neighbours and their weights; those outside the image are skipped (value 0).
            let taps = [
                (x0, y0, (1.0 - fx) * (1.0 - fy)),
                (x0 + 1, y0, fx * (1.0 - fy)),
                (x0, y0 + 1, (1.0 - fx) * fy),
                (x0 + 1, y0 + 1, fx * fy),
            ];
            for c in 0..channels {
                let src = &image[c * plane..(c + 1) * plane];
                let mut acc = 0.0f32;
                for &(tx, ty, w) in &taps {
                    if w != 0.0
                        && tx >= 0
                        && ty >= 0
                        && (tx as usize) < width
                        && (ty as usize) < height
                    {
                        acc += w * src[ty as usize * width + tx as usize] as f32;
                    }
                }
                out[c * plane + y * width + x] = acc.round().clamp(0.0, 255.0) as u8;
            }
        }
    }
    out
}

/// Builds rotated MNIST (paper, Sec. 3.4 and Figure 5) from a digit set: keeps the images whose
/// class is one of `digits` (class indices, e.g. `[2, 3, 4, 5, 7]`), relabels them `0..` in the
/// order of `digits` (so 2 -> 0, 3 -> 1, 4 -> 2, 5 -> 3, 7 -> 4), and rotates each by an angle
/// drawn uniformly from `[0, max_degrees]` (e.g. 180) with [`rotate_bilinear`]; the angle in
/// degrees becomes the image's regression target. The angle of the `i`-th input image depends
/// only on `(seed, i)`.
pub fn rotated_mnist(
    set: &ImageSet,
    digits: &[usize],
    max_degrees: f32,
    seed: u64,
) -> Result<ImageSet, DataError> {
    if digits.is_empty() {
        return Err(DataError::invalid(
            "digits",
            "empty list, expected at least one class",
        ));
    }
    for (i, &d) in digits.iter().enumerate() {
        if d >= set.classes() {
            return Err(DataError::invalid(
                "digits",
                format!(
                    "class {d} does not exist: the set has {} classes",
                    set.classes()
                ),
            ));
        }
        if digits[..i].contains(&d) {
            return Err(DataError::invalid(
                "digits",
                format!("class {d} is listed twice"),
            ));
        }
    }
    if !max_degrees.is_finite() || max_degrees < 0.0 {
        return Err(DataError::invalid(
            "max_degrees",
            format!("{max_degrees}, expected a finite angle >= 0"),
        ));
    }
    let (c, h, w) = (set.channels(), set.height(), set.width());
    let mut pixels = Vec::new();
    let mut labels = Vec::new();
    let mut targets = Vec::new();
    for (i, &label) in set.labels().iter().enumerate() {
        let Some(new_label) = digits.iter().position(|&d| d == label) else {
            continue;
        };
        let angle = if max_degrees == 0.0 {
            0.0
        } else {
            stream(&[seed, i as u64]).random_range(0.0..=max_degrees)
        };
        pixels.extend_from_slice(&rotate_bilinear(set.image(i), c, h, w, angle));
        labels.push(new_label);
        targets.push(angle);
    }
    let class_names = digits
        .iter()
        .map(|&d| set.class_names()[d].clone())
        .collect();
    ImageSet::new(pixels, c, h, w, labels, Some(targets), class_names)
}
