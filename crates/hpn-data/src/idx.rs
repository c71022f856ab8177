//! IDX files (the MNIST format of LeCun et al.): a 4-byte magic `00 00 <type> <ndim>`, `ndim`
//! big-endian `u32` sizes, then the values. Only unsigned bytes (type `0x08`) are used here:
//! images are `(N, H, W)` (magic `0x00000803`), labels `(N)` (magic `0x00000801`).

use std::path::{Path, PathBuf};

use crate::file_bytes::read_maybe_gzip;
use crate::image_set::numbered_class_names;
use crate::{DataError, ImageSet, Splits};

/// IDX type code of unsigned bytes.
const IDX_U8: u8 = 0x08;

/// A parsed IDX array of bytes: its sizes and its values (borrowed from the file).
struct IdxArray<'a> {
    dims: Vec<usize>,
    values: &'a [u8],
}

/// Parses `bytes` as an IDX array of `u8` with `ndim` dimensions; `path` only names the file in errors.
fn parse_idx<'a>(bytes: &'a [u8], ndim: u8, path: &Path) -> Result<IdxArray<'a>, DataError> {
    if bytes.len() < 4 {
        return Err(DataError::format(
            path,
            format!("{} bytes, too short for an IDX header", bytes.len()),
        ));
    }
    let expected_magic = [0, 0, IDX_U8, ndim];
    if bytes[..4] != expected_magic {
        return Err(DataError::format(
            path,
            format!(
                "IDX magic {:02x} {:02x} {:02x} {:02x}, expected {:02x} {:02x} {:02x} {:02x} \
                 (unsigned bytes, {ndim} dimensions)",
                bytes[0],
                bytes[1],
                bytes[2],
                bytes[3],
                expected_magic[0],
                expected_magic[1],
                expected_magic[2],
                expected_magic[3]
            ),
        ));
    }
    let header_len = 4 + 4 * ndim as usize;
    if bytes.len() < header_len {
        return Err(DataError::format(
            path,
            format!(
                "truncated IDX header: {} bytes, expected {header_len}",
                bytes.len()
            ),
        ));
    }
    let dims: Vec<usize> = bytes[4..header_len]
        .chunks_exact(4)
        .map(|c| u32::from_be_bytes([c[0], c[1], c[2], c[3]]) as usize)
        .collect();
    let count = dims
        .iter()
        .try_fold(1usize, |acc, &d| acc.checked_mul(d))
        .ok_or_else(|| DataError::format(path, format!("IDX sizes {dims:?} overflow")))?;
    let found = bytes.len() - header_len;
    if found != count {
        return Err(DataError::format(
            path,
            format!(
                "IDX sizes {dims:?} need {count} data bytes, found {found} ({})",
                if found < count {
                    "truncated"
                } else {
                    "trailing bytes"
                }
            ),
        ));
    }
    Ok(IdxArray {
        dims,
        values: &bytes[header_len..],
    })
}

/// Builds an [`ImageSet`] from the bytes of an IDX image file and an IDX label file.
/// The class count is the largest label plus one; class names are the label numbers.
pub fn parse_idx_pair(
    image_bytes: &[u8],
    label_bytes: &[u8],
    images: &Path,
    labels: &Path,
) -> Result<ImageSet, DataError> {
    let image_array = parse_idx(image_bytes, 3, images)?;
    let label_array = parse_idx(label_bytes, 1, labels)?;
    let (n, height, width) = (
        image_array.dims[0],
        image_array.dims[1],
        image_array.dims[2],
    );
    if height == 0 || width == 0 {
        return Err(DataError::format(
            images,
            format!("image size {height} x {width}: expected at least 1 x 1"),
        ));
    }
    if label_array.dims[0] != n {
        return Err(DataError::format(
            labels,
            format!(
                "{} labels, but {} holds {n} images",
                label_array.dims[0],
                images.display()
            ),
        ));
    }
    let labels_vec: Vec<usize> = label_array.values.iter().map(|&l| l as usize).collect();
    let classes = labels_vec.iter().max().map_or(0, |&m| m + 1);
    ImageSet::new(
        image_array.values.to_vec(),
        1,
        height,
        width,
        labels_vec,
        None,
        numbered_class_names(classes),
    )
}

/// Reads an IDX image file `(N, H, W)` of `u8` and its IDX label file `(N)` of `u8` (plain, or
/// gzip-compressed: detected by the magic `1f 8b`, not by the name) into a one-channel [`ImageSet`].
///
/// The class count is the largest label plus one and the class names are the numbers
/// (`"0"`, `"1"`, ...). Errors name the file on a wrong magic number, a truncated file,
/// trailing bytes, or an image count that differs from the label count.
pub fn read_idx(images: &Path, labels: &Path) -> Result<ImageSet, DataError> {
    let image_bytes = read_maybe_gzip(images)?;
    let label_bytes = read_maybe_gzip(labels)?;
    parse_idx_pair(&image_bytes, &label_bytes, images, labels)
}

/// `dir/name` or `dir/name.gz`, whichever exists (plain first).
fn find_plain_or_gz(dir: &Path, name: &str) -> Result<PathBuf, DataError> {
    let plain = dir.join(name);
    if plain.is_file() {
        return Ok(plain);
    }
    let gz = dir.join(format!("{name}.gz"));
    if gz.is_file() {
        return Ok(gz);
    }
    Err(DataError::layout(
        dir,
        format!("missing {name} (or {name}.gz)"),
    ))
}

/// Reads an MNIST folder: `train-images-idx3-ubyte`, `train-labels-idx1-ubyte`,
/// `t10k-images-idx3-ubyte`, `t10k-labels-idx1-ubyte`, each plain or with a `.gz` suffix.
///
/// Both splits get the ten class names `"0"..="9"` (class `k` is digit `k`); a label above 9
/// is an error naming the file and the entry.
pub fn read_mnist_dir(dir: &Path) -> Result<Splits, DataError> {
    let read_split = |prefix: &str| -> Result<ImageSet, DataError> {
        let images = find_plain_or_gz(dir, &format!("{prefix}-images-idx3-ubyte"))?;
        let labels = find_plain_or_gz(dir, &format!("{prefix}-labels-idx1-ubyte"))?;
        let set = read_idx(&images, &labels)?;
        if let Some((index, &label)) = set.labels().iter().enumerate().find(|&(_, &l)| l > 9) {
            return Err(DataError::entry(
                &labels,
                index,
                format!("label {label}, expected a digit 0..=9"),
            ));
        }
        set.with_class_names(numbered_class_names(10))
    };
    Ok(Splits {
        train: read_split("train")?,
        test: read_split("t10k")?,
    })
}

/// Encodes `set` (one channel) as an IDX image file and an IDX label file; used by tests
/// and by tools that export subsets.
pub fn encode_idx(set: &ImageSet) -> Result<(Vec<u8>, Vec<u8>), DataError> {
    if set.channels() != 1 {
        return Err(DataError::invalid(
            "set",
            format!(
                "IDX images have one channel, the set has {}",
                set.channels()
            ),
        ));
    }
    let to_u32 = |v: usize, what: &'static str| {
        u32::try_from(v).map_err(|_| DataError::invalid(what, format!("{v} exceeds u32")))
    };
    let mut images = vec![0, 0, IDX_U8, 3];
    for d in [set.len(), set.height(), set.width()] {
        images.extend_from_slice(&to_u32(d, "set size")?.to_be_bytes());
    }
    images.extend_from_slice(set.pixels());
    let mut labels = vec![0, 0, IDX_U8, 1];
    labels.extend_from_slice(&to_u32(set.len(), "set size")?.to_be_bytes());
    for (i, &l) in set.labels().iter().enumerate() {
        labels.push(u8::try_from(l).map_err(|_| {
            DataError::invalid("labels", format!("label {l} of image {i} exceeds 255"))
        })?);
    }
    Ok((images, labels))
}
