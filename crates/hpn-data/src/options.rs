//! What every reader of image files takes ([`ReadOptions`]) and returns besides the images
//! ([`ReadReport`]).

use std::path::{Path, PathBuf};

use crate::DataError;
use crate::cache::Fingerprint;
use crate::decode::StoredSize;

/// How images are read from disk.
///
/// The readers of image files ([`crate::read_image_folder`], [`crate::read_tiny_imagenet`],
/// [`crate::read_cub200`], [`crate::read_csv_images`], [`crate::read_csv_splits`]) all take
/// one; [`ReadOptions::default`] reads at the reader's default size, without a cache, failing
/// on the first bad image.
///
/// ```
/// use hpn_data::ReadOptions;
///
/// let options = ReadOptions {
///     size: Some((32, 32)),
///     skip_bad: true,
///     ..ReadOptions::default()
/// };
/// assert_eq!(options.cache, None);
/// ```
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ReadOptions {
    /// (width, height) images are stored at; None = the reader's default (image folder: the
    /// files' own size, which must then agree; CUB-200: 256 x 256; CSV: 224 x 224; Tiny
    /// ImageNet: always 64 x 64, a different size is an error).
    ///
    /// A given size stores every image scaled (aspect ratio kept, bilinear `Triangle` filter)
    /// to just cover `width x height`, then cut in the centre; CUB-200 takes only a square
    /// size (its shorter side scaled to the side, then the centre square).
    pub size: Option<(u32, u32)>,
    /// Decoded-image cache file, None = no cache.
    ///
    /// With `Some(path)`, the decoded sets are written to `path` (a compact binary file, written
    /// atomically), and a later read of the same files (names, sizes, modification times) with
    /// the same `size` and `skip_bad` takes them from there without decoding a single image. A
    /// cache of other files or options, or a corrupt one, is rebuilt. [`crate::read_csv_splits`]
    /// uses `<path>.train` and `<path>.test`.
    pub cache: Option<PathBuf>,
    /// Leave undecodable / missing images (and bad CSV rows) out and list them in the
    /// ReadReport instead of failing.
    pub skip_bad: bool,
}

impl ReadOptions {
    /// The cache file, if any.
    pub(crate) fn cache_path(&self) -> Option<&Path> {
        self.cache.as_deref()
    }
}

/// What a reader left out or reused: the entries skipped (when [`ReadOptions::skip_bad`] is
/// set) with the reason for each, and whether the images came from the cache.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ReadReport {
    /// Image files (or, for bad CSV rows, the CSV file) left out, each with the reason.
    pub skipped: Vec<(PathBuf, String)>,
    /// Whether the decoded images were read from the cache instead of the image files.
    pub from_cache: bool,
}

/// Converts an optional `(width, height)` into the stored-size rule: `None` keeps the files'
/// size, a size covers it; a zero side is an error.
pub(crate) fn stored_size(size: Option<(u32, u32)>) -> Result<StoredSize, DataError> {
    match size {
        None => Ok(StoredSize::AsIs),
        Some((width, height)) if width > 0 && height > 0 => Ok(StoredSize::Cover { width, height }),
        Some((width, height)) => Err(DataError::invalid(
            "size",
            format!("{width} x {height}: width and height must be at least 1"),
        )),
    }
}

/// Adds the stored-size rule and the skip flag, which decide the decoded content, to a
/// cache fingerprint.
pub(crate) fn add_read_options(fingerprint: &mut Fingerprint, size: StoredSize, skip_bad: bool) {
    match size {
        StoredSize::AsIs => fingerprint.add_str("as-is"),
        StoredSize::Cover { width, height } => {
            fingerprint.add_str("cover");
            fingerprint.add_u64(width as u64);
            fingerprint.add_u64(height as u64);
        }
    }
    fingerprint.add_u64(skip_bad as u64);
}
