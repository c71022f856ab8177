//! The binary versions of CIFAR-10 and CIFAR-100 (Krizhevsky, 2009).
//!
//! CIFAR-10: records of 1 label byte + 3072 pixel bytes (1024 red, 1024 green, 1024 blue, each
//! a 32 x 32 row-major plane, so already channel-first), in `data_batch_1.bin` ..
//! `data_batch_5.bin` and `test_batch.bin`; class names in `batches.meta.txt`.
//! CIFAR-100: records of 2 label bytes (coarse, fine) + 3072 pixel bytes in `train.bin` and
//! `test.bin`; class names in `fine_label_names.txt` and `coarse_label_names.txt`.

use std::path::Path;

use crate::file_bytes::{read_maybe_gzip, read_text};
use crate::{DataError, ImageSet, Splits};

/// CIFAR image side in pixels.
const SIDE: usize = 32;
/// Pixel bytes per CIFAR record, `3 * 32 * 32`.
const PIXELS: usize = 3 * SIDE * SIDE;

/// Parses a sequence of CIFAR records. Each record is `label_bytes` label bytes followed by
/// 3072 pixel bytes; the label used is the byte at `label_offset`, checked `< classes`.
pub fn parse_cifar_records(
    bytes: &[u8],
    label_bytes: usize,
    label_offset: usize,
    classes: usize,
    path: &Path,
) -> Result<(Vec<u8>, Vec<usize>), DataError> {
    let record = label_bytes + PIXELS;
    if !bytes.len().is_multiple_of(record) {
        return Err(DataError::format(
            path,
            format!(
                "{} bytes is not a whole number of {record}-byte records \
                 ({} complete, {} bytes left over: truncated or not a CIFAR file)",
                bytes.len(),
                bytes.len() / record,
                bytes.len() % record
            ),
        ));
    }
    let n = bytes.len() / record;
    let mut pixels = Vec::with_capacity(n * PIXELS);
    let mut labels = Vec::with_capacity(n);
    for (index, chunk) in bytes.chunks_exact(record).enumerate() {
        let label = chunk[label_offset] as usize;
        if label >= classes {
            return Err(DataError::entry(
                path,
                format!("record {index}"),
                format!("label {label}, expected 0..{classes}"),
            ));
        }
        labels.push(label);
        pixels.extend_from_slice(&chunk[label_bytes..]);
    }
    Ok((pixels, labels))
}

/// Reads a class-name file: one name per line, blank lines ignored; exactly `expected` names.
fn read_class_names(path: &Path, expected: usize) -> Result<Vec<String>, DataError> {
    let names: Vec<String> = read_text(path)?
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(str::to_string)
        .collect();
    if names.len() != expected {
        return Err(DataError::format(
            path,
            format!("{} class names, expected {expected}", names.len()),
        ));
    }
    Ok(names)
}

/// Reads the files of one split and concatenates their records.
fn read_split(
    dir: &Path,
    files: &[String],
    label_bytes: usize,
    label_offset: usize,
    class_names: &[String],
) -> Result<ImageSet, DataError> {
    let mut pixels = Vec::new();
    let mut labels = Vec::new();
    for name in files {
        let path = dir.join(name);
        let bytes = read_maybe_gzip(&path)?;
        let (p, l) =
            parse_cifar_records(&bytes, label_bytes, label_offset, class_names.len(), &path)?;
        pixels.extend_from_slice(&p);
        labels.extend_from_slice(&l);
    }
    ImageSet::new(pixels, 3, SIDE, SIDE, labels, None, class_names.to_vec())
}

/// Reads the CIFAR-10 binary folder (`cifar-10-batches-bin`): training set from
/// `data_batch_1.bin` .. `data_batch_5.bin`, test set from `test_batch.bin`, the ten class names
/// from `batches.meta.txt`. Images are 3 x 32 x 32.
pub fn read_cifar10_bin(dir: &Path) -> Result<Splits, DataError> {
    let names = read_class_names(&dir.join("batches.meta.txt"), 10)?;
    let train_files: Vec<String> = (1..=5).map(|i| format!("data_batch_{i}.bin")).collect();
    Ok(Splits {
        train: read_split(dir, &train_files, 1, 0, &names)?,
        test: read_split(dir, &["test_batch.bin".to_string()], 1, 0, &names)?,
    })
}

/// Reads the CIFAR-100 binary folder (`cifar-100-binary`): `train.bin`, `test.bin`, labelled
/// with the 100 fine classes (`fine = true`, names from `fine_label_names.txt`) or the 20
/// coarse superclasses (`fine = false`, names from `coarse_label_names.txt`).
pub fn read_cifar100_bin(dir: &Path, fine: bool) -> Result<Splits, DataError> {
    let (names_file, k, offset) = if fine {
        ("fine_label_names.txt", 100, 1)
    } else {
        ("coarse_label_names.txt", 20, 0)
    };
    let names = read_class_names(&dir.join(names_file), k)?;
    Ok(Splits {
        train: read_split(dir, &["train.bin".to_string()], 2, offset, &names)?,
        test: read_split(dir, &["test.bin".to_string()], 2, offset, &names)?,
    })
}
