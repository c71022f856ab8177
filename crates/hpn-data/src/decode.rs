//! Decoding image files (JPEG, PNG) in parallel into one `u8` buffer of channel-first images.

use std::path::{Path, PathBuf};

use image::imageops::FilterType;
use image::{ColorType, RgbImage};

use crate::DataError;

/// How a decoded image is brought to the stored size.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum StoredSize {
    /// Keep the file's size; every image must have the size of the first one.
    AsIs,
    /// Scale (keeping the aspect ratio, filter `Triangle`) so that the image just covers
    /// `width x height`, then cut the centre `width x height`.
    Cover { width: u32, height: u32 },
}

/// One image to decode: its file and its label.
#[derive(Clone, Debug)]
pub(crate) struct ImageEntry {
    pub path: PathBuf,
    pub label: usize,
    pub target: Option<f32>,
}

/// The outcome of decoding a list of entries.
pub(crate) struct DecodedImages {
    /// `(C, H, W)` bytes of every kept image, image after image.
    pub pixels: Vec<u8>,
    pub channels: usize,
    pub height: usize,
    pub width: usize,
    /// The entries kept, in input order.
    pub kept: Vec<ImageEntry>,
    /// Entries left out (only when skipping was asked): file and reason.
    pub skipped: Vec<(PathBuf, String)>,
}

/// Whether an image's colour type carries no colour (grey, with or without alpha).
fn is_grey(color: ColorType) -> bool {
    matches!(
        color,
        ColorType::L8 | ColorType::La8 | ColorType::L16 | ColorType::La16
    )
}

/// Decodes the image file at `path` (format from its content) to RGB, and says whether it was grey.
pub(crate) fn decode_rgb(path: &Path) -> Result<(RgbImage, bool), DataError> {
    let bytes = std::fs::read(path).map_err(|e| DataError::io(path, e))?;
    let image = image::load_from_memory(&bytes).map_err(|e| DataError::Decode {
        path: path.to_path_buf(),
        message: e.to_string(),
    })?;
    let grey = is_grey(image.color());
    Ok((image.into_rgb8(), grey))
}

/// Scales `image` (aspect ratio kept) to just cover `width x height`, then cuts the centre.
pub(crate) fn cover(image: RgbImage, width: u32, height: u32) -> RgbImage {
    let (w, h) = image.dimensions();
    if (w, h) == (width, height) {
        return image;
    }
    let scale = (width as f64 / w as f64).max(height as f64 / h as f64);
    let new_w = ((w as f64 * scale).round() as u32).max(width);
    let new_h = ((h as f64 * scale).round() as u32).max(height);
    let resized = if (new_w, new_h) == (w, h) {
        image
    } else {
        image::imageops::resize(&image, new_w, new_h, FilterType::Triangle)
    };
    let x = (new_w - width) / 2;
    let y = (new_h - height) / 2;
    image::imageops::crop_imm(&resized, x, y, width, height).to_image()
}

/// Writes the interleaved RGB `image` into `out` as three planes (channel-first).
fn write_planes(image: &RgbImage, out: &mut [u8]) {
    let plane = (image.width() * image.height()) as usize;
    for (i, px) in image.pixels().enumerate() {
        out[i] = px.0[0];
        out[plane + i] = px.0[1];
        out[2 * plane + i] = px.0[2];
    }
}

/// Decodes one entry to the stored size; errors say which file and why.
fn decode_one(path: &Path, size: StoredSize) -> Result<(RgbImage, bool), DataError> {
    let (image, grey) = decode_rgb(path)?;
    Ok(match size {
        StoredSize::AsIs => (image, grey),
        StoredSize::Cover { width, height } => (cover(image, width, height), grey),
    })
}

/// Number of decoding threads: the machine's parallelism.
fn thread_count() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// Decodes `entries` on all cores into one channel-first buffer.
///
/// The stored size is `size` or, for [`StoredSize::AsIs`], the size of the first decodable
/// image. A file that cannot be read or decoded, or that has another size, is an error naming
/// it, unless `skip_bad`, in which case it is listed in `skipped` with the reason. When every
/// kept image is grey the result has one channel, otherwise three (RGB).
pub(crate) fn decode_images(
    entries: Vec<ImageEntry>,
    size: StoredSize,
    skip_bad: bool,
) -> Result<DecodedImages, DataError> {
    let mut skipped = Vec::new();
    // Learn the stored size from the first decodable image when the files decide it.
    let (width, height) = match size {
        StoredSize::Cover { width, height } => (width, height),
        StoredSize::AsIs => {
            let mut found = None;
            for entry in &entries {
                match decode_rgb(&entry.path) {
                    Ok((image, _)) => {
                        found = Some(image.dimensions());
                        break;
                    }
                    Err(e) if skip_bad => {
                        skipped.push((entry.path.clone(), e.to_string()));
                    }
                    Err(e) => return Err(e),
                }
            }
            found.unwrap_or((1, 1))
        }
    };
    let (w, h) = (width as usize, height as usize);
    let image_len = 3 * w * h;
    let n = entries.len();
    let mut pixels = vec![0u8; n * image_len];
    // One result per entry: Ok(grey) or the error.
    let mut outcomes: Vec<Result<bool, DataError>> = Vec::with_capacity(n);
    outcomes.resize_with(n, || Ok(false));
    let threads = thread_count().min(n.max(1));
    let per_thread = n.div_ceil(threads).max(1);
    std::thread::scope(|scope| {
        for ((entry_chunk, pixel_chunk), outcome_chunk) in entries
            .chunks(per_thread)
            .zip(pixels.chunks_mut(per_thread * image_len))
            .zip(outcomes.chunks_mut(per_thread))
        {
            scope.spawn(move || {
                for ((entry, out), outcome) in entry_chunk
                    .iter()
                    .zip(pixel_chunk.chunks_mut(image_len))
                    .zip(outcome_chunk.iter_mut())
                {
                    *outcome = decode_one(&entry.path, size).and_then(|(image, grey)| {
                        if image.dimensions() != (width, height) {
                            return Err(DataError::format(
                                &entry.path,
                                format!(
                                    "image is {} x {} (width x height), expected {width} x {height} \
                                     like the first image; pass a size to resize",
                                    image.width(),
                                    image.height()
                                ),
                            ));
                        }
                        write_planes(&image, out);
                        Ok(grey)
                    });
                }
            });
        }
    });
    // Compact: keep good images in order, collect or raise the bad ones.
    let mut kept = Vec::with_capacity(n);
    let mut all_grey = true;
    let mut write = 0;
    for (read, (entry, outcome)) in entries.into_iter().zip(outcomes).enumerate() {
        match outcome {
            Ok(grey) => {
                all_grey &= grey;
                if write != read {
                    pixels.copy_within(read * image_len..(read + 1) * image_len, write * image_len);
                }
                write += 1;
                kept.push(entry);
            }
            Err(e) if skip_bad => {
                if !skipped.iter().any(|(p, _)| *p == entry.path) {
                    skipped.push((entry.path, e.to_string()));
                }
            }
            Err(e) => return Err(e),
        }
    }
    pixels.truncate(write * image_len);
    let mut channels = 3;
    if all_grey && !kept.is_empty() {
        // Grey images decoded to RGB have three equal planes: keep the first.
        let plane = w * h;
        for i in 0..kept.len() {
            pixels.copy_within(i * image_len..i * image_len + plane, i * plane);
        }
        pixels.truncate(kept.len() * plane);
        channels = 1;
    }
    pixels.shrink_to_fit();
    Ok(DecodedImages {
        pixels,
        channels,
        height: h,
        width: w,
        kept,
        skipped,
    })
}

/// Whether `path` names a JPEG or PNG file by its extension (case-insensitive).
pub(crate) fn has_image_extension(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .map(|e| e.to_ascii_lowercase())
        .is_some_and(|e| matches!(e.as_str(), "jpg" | "jpeg" | "png"))
}
