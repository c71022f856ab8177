//! Caltech-UCSD Birds-200-2011 (Wah et al., 2011): 200 bird species, about 30 training
//! images per class. Layout: `images.txt` (id, relative path), `image_class_labels.txt`
//! (id, class id from 1), `train_test_split.txt` (id, 1 = train / 0 = test), `classes.txt`
//! (class id, name such as `001.Black_footed_Albatross`), images under `images/`.

use std::collections::HashMap;
use std::path::Path;

use crate::cache::{Fingerprint, cached_or_build};
use crate::decode::{ImageEntry, StoredSize};
use crate::file_bytes::read_text;
use crate::image_folder::{content_into_splits, decode_splits};
use crate::{DataError, Splits};

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

/// Reads CUB-200-2011 from `root` (the folder holding `images.txt`). Labels are the class ids
/// minus one; class names are the species without the `NNN.` prefix. Every image is stored
/// scaled so its shorter side is `size` (e.g. 256), then cut to the centre `size x size`
/// (training then uses a random resized crop of 224, testing a centre crop).
///
/// An image id missing from a table, a class id out of range, a split flag other than 0/1, or
/// an undecodable image is an error naming the file and line. `cache` works as in
/// [`crate::read_image_folder_with_report`].
pub fn read_cub200(root: &Path, size: u32, cache: Option<&Path>) -> Result<Splits, DataError> {
    if size == 0 {
        return Err(DataError::invalid("size", "0: expected at least 1 pixel"));
    }
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
    fingerprint.add_u64(size as u64);
    for entry in train.iter().chain(&test) {
        fingerprint.add_file(root, &entry.path)?;
        fingerprint.add_u64(entry.label as u64);
    }
    let (content, _) = cached_or_build(cache, fingerprint.finish(), || {
        decode_splits(train, test, stored, &class_names, false, root)
    })?;
    content_into_splits(content, cache)
}
