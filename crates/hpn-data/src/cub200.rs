//! Caltech-UCSD Birds-200-2011 (Wah et al., 2011): 200 bird species, about 30 training
//! images per class. Layout: `images.txt` (id, relative path), `image_class_labels.txt`
//! (id, class id from 1), `train_test_split.txt` (id, 1 = train / 0 = test), `classes.txt`
//! (class id, name such as `001.Black_footed_Albatross`), images under `images/`.

use std::collections::HashMap;
use std::path::Path;

use crate::cache::{Fingerprint, cached_or_build};
use crate::decode::{ImageEntry, StoredSize};
use crate::file_bytes::read_text;
use crate::image_folder::{decode_splits, splits_and_report};
use crate::options::add_read_options;
use crate::{DataError, ReadOptions, ReadReport, Splits};

/// The side images are stored at when no size is given.
const DEFAULT_SIDE: u32 = 256;

/// The side of the stored squares: [`DEFAULT_SIDE`] with no size; a size must be square and
/// at least 1.
fn cub_side(size: Option<(u32, u32)>) -> Result<u32, DataError> {
    match size {
        None => Ok(DEFAULT_SIDE),
        Some((width, height)) if width == height && width > 0 => Ok(width),
        Some((width, height)) => Err(DataError::invalid(
            "size",
            format!(
                "{width} x {height} for CUB-200, whose images are stored square (shorter side \
                 scaled to the side, then the centre cut): expected a square size of at least 1"
            ),
        )),
    }
}

/// Parses a whitespace-separated `<id> <value>` file into `(id, value, line number)` rows.
fn id_value_rows(path: &Path) -> Result<Vec<(u64, String, usize)>, DataError> {
    let text = read_text(path)?;
    let mut rows = Vec::new();
    for (index, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        let (id, value) = line.split_once(char::is_whitespace).ok_or_else(|| {
            DataError::entry(path, format!("line {}", index + 1), "expected <id> <value>")
        })?;
        let id = id.parse::<u64>().map_err(|_| {
            DataError::entry(
                path,
                format!("line {}", index + 1),
                format!("id {id:?} is not a number"),
            )
        })?;
        rows.push((id, value.trim().to_string(), index + 1));
    }
    Ok(rows)
}

/// The species name without its `NNN.` prefix.
fn species_name(raw: &str) -> String {
    match raw.split_once('.') {
        Some((prefix, rest)) if prefix.chars().all(|c| c.is_ascii_digit()) => rest.to_string(),
        _ => raw.to_string(),
    }
}

/// Reads CUB-200-2011 from `root` (the folder holding `images.txt`) with what was skipped.
/// Labels are the class ids minus one; class names are the species without the `NNN.` prefix.
/// Every image is stored scaled so its shorter side is the side `s` of the square
/// [`ReadOptions::size`] `(s, s)` (256 with no size), then cut to the centre `s x s` (training
/// then uses a random resized crop of 224, testing a centre crop); a size that is not square is
/// an error.
///
/// An image id missing from a table, a class id out of range, or a split flag other than 0/1
/// is an error naming the file and line; so is an undecodable or missing image (naming it),
/// unless [`ReadOptions::skip_bad`] is set, in which case it is left out and listed in the
/// [`ReadReport`]. [`ReadOptions::cache`] names the decoded-image cache.
pub fn read_cub200(root: &Path, options: &ReadOptions) -> Result<(Splits, ReadReport), DataError> {
    let size = cub_side(options.size)?;
    let skip_bad = options.skip_bad;
    let cache = options.cache_path();
    let images_txt = root.join("images.txt");
    let labels_txt = root.join("image_class_labels.txt");
    let split_txt = root.join("train_test_split.txt");
    let classes_txt = root.join("classes.txt");
    let classes = id_value_rows(&classes_txt)?;
    let mut class_names = vec![String::new(); classes.len()];
    for (id, name, line) in &classes {
        let slot = (*id as usize)
            .checked_sub(1)
            .and_then(|i| class_names.get_mut(i))
            .ok_or_else(|| {
                DataError::entry(
                    &classes_txt,
                    format!("line {line}"),
                    format!("class id {id}, expected 1..={}", classes.len()),
                )
            })?;
        *slot = species_name(name);
    }
    if let Some(missing) = class_names.iter().position(String::is_empty) {
        return Err(DataError::entry(
            &classes_txt,
            format!("class id {}", missing + 1),
            "missing or without a name",
        ));
    }
    let labels: HashMap<u64, (String, usize)> = id_value_rows(&labels_txt)?
        .into_iter()
        .map(|(id, v, line)| (id, (v, line)))
        .collect();
    let is_train: HashMap<u64, (String, usize)> = id_value_rows(&split_txt)?
        .into_iter()
        .map(|(id, v, line)| (id, (v, line)))
        .collect();
    let (mut train, mut test) = (Vec::new(), Vec::new());
    for (id, relative, _line) in id_value_rows(&images_txt)? {
        let (class, label_line) = labels.get(&id).ok_or_else(|| {
            DataError::entry(
                &labels_txt,
                format!("image id {id}"),
                "missing (listed in images.txt)",
            )
        })?;
        let label = class
            .parse::<usize>()
            .ok()
            .and_then(|c| c.checked_sub(1))
            .filter(|&c| c < class_names.len())
            .ok_or_else(|| {
                DataError::entry(
                    &labels_txt,
                    format!("line {label_line}"),
                    format!("class {class:?}, expected 1..={}", class_names.len()),
                )
            })?;
        let (flag, split_line) = is_train.get(&id).ok_or_else(|| {
            DataError::entry(
                &split_txt,
                format!("image id {id}"),
                "missing (listed in images.txt)",
            )
        })?;
        let entry = ImageEntry {
            path: root.join("images").join(&relative),
            label,
            target: None,
        };
        match flag.as_str() {
            "1" => train.push(entry),
            "0" => test.push(entry),
            other => {
                return Err(DataError::entry(
                    &split_txt,
                    format!("line {split_line}"),
                    format!("split flag {other:?}, expected 1 (train) or 0 (test)"),
                ));
            }
        }
    }
    if train.is_empty() {
        return Err(DataError::format(&images_txt, "no training image listed"));
    }
    let stored = StoredSize::Cover {
        width: size,
        height: size,
    };
    let mut fingerprint = Fingerprint::new("cub200");
    add_read_options(&mut fingerprint, stored, skip_bad);
    for entry in train.iter().chain(&test) {
        fingerprint.add_file(root, &entry.path, skip_bad)?;
        fingerprint.add_u64(entry.label as u64);
    }
    let (content, from_cache) = cached_or_build(cache, fingerprint.finish(), || {
        decode_splits(train, test, stored, &class_names, skip_bad, root)
    })?;
    splits_and_report(content, from_cache, cache)
}
