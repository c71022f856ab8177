//! Tiny ImageNet (the paper's "ImageNet-200"): 200 classes of 64 x 64 images.
//! Layout: `train/<wnid>/images/*.JPEG`, `val/images/*.JPEG` with `val/val_annotations.txt`
//! (tab-separated: file name, wnid, box), optional `words.txt` (wnid, tab, names).

use std::collections::HashMap;
use std::path::Path;

use crate::cache::{Fingerprint, cached_or_build};
use crate::decode::{ImageEntry, StoredSize, has_image_extension};
use crate::file_bytes::read_text;
use crate::image_folder::{decode_splits, sorted_entries, splits_and_report};
use crate::options::add_read_options;
use crate::{DataError, ReadOptions, ReadReport, Splits};

/// The side of every Tiny ImageNet image.
const SIDE: u32 = 64;

/// The stored size: the files' own with no size given, else 64 x 64 (the only size allowed).
fn tiny_size(size: Option<(u32, u32)>) -> Result<StoredSize, DataError> {
    match size {
        None => Ok(StoredSize::AsIs),
        Some((SIDE, SIDE)) => Ok(StoredSize::Cover {
            width: SIDE,
            height: SIDE,
        }),
        Some((width, height)) => Err(DataError::invalid(
            "size",
            format!(
                "{width} x {height} for Tiny ImageNet, whose images are always {SIDE} x {SIDE}: \
                 give {SIDE} x {SIDE} or no size"
            ),
        )),
    }
}

/// Reads the class names from `words.txt` (first name of each wnid), or keeps the wnids when
/// the file is absent or lacks a wnid.
fn class_names(root: &Path, wnids: &[String]) -> Result<Vec<String>, DataError> {
    let words_path = root.join("words.txt");
    if !words_path.is_file() {
        return Ok(wnids.to_vec());
    }
    let text = read_text(&words_path)?;
    let words: HashMap<&str, &str> = text
        .lines()
        .filter_map(|line| line.split_once('\t'))
        .map(|(wnid, names)| (wnid.trim(), names.split(',').next().unwrap_or(names).trim()))
        .collect();
    Ok(wnids
        .iter()
        .map(|w| {
            words
                .get(w.as_str())
                .filter(|n| !n.is_empty())
                .map_or_else(|| w.clone(), |n| n.to_string())
        })
        .collect())
}

/// Reads Tiny ImageNet from `root` (the folder holding `train/` and `val/`) with what was
/// skipped. Classes are the training wnids sorted alphabetically; names come from `words.txt`
/// when present (the first of the comma-separated names), else the wnids. The validation set
/// is returned as `test`, as in the paper. Images are stored at their 64 x 64 size (with no
/// [`ReadOptions::size`], the files' own size, which must agree), grey ones converted to RGB;
/// a size other than 64 x 64 is an error.
///
/// A missing folder, an empty class folder, an annotation row that is malformed or names an
/// unknown wnid is an error naming the file and row; so is an undecodable or missing image
/// (naming it), unless [`ReadOptions::skip_bad`] is set, in which case it is left out and
/// listed in the [`ReadReport`]. [`ReadOptions::cache`] names the decoded-image cache.
pub fn read_tiny_imagenet(
    root: &Path,
    options: &ReadOptions,
) -> Result<(Splits, ReadReport), DataError> {
    let size = tiny_size(options.size)?;
    let skip_bad = options.skip_bad;
    let cache = options.cache_path();
    let train_dir = root.join("train");
    let val_dir = root.join("val");
    let annotations = val_dir.join("val_annotations.txt");
    if !train_dir.is_dir() {
        return Err(DataError::layout(root, "missing folder train/"));
    }
    let wnid_dirs = sorted_entries(&train_dir, Path::is_dir)?;
    if wnid_dirs.is_empty() {
        return Err(DataError::layout(&train_dir, "no class folders"));
    }
    let mut wnids = Vec::new();
    let mut train = Vec::new();
    for (label, dir) in wnid_dirs.iter().enumerate() {
        let wnid = dir
            .file_name()
            .and_then(|n| n.to_str())
            .ok_or_else(|| DataError::layout(dir, "class folder name is not UTF-8"))?;
        wnids.push(wnid.to_string());
        let images_dir = dir.join("images");
        let files = if images_dir.is_dir() {
            sorted_entries(&images_dir, |p| p.is_file() && has_image_extension(p))?
        } else {
            Vec::new()
        };
        if files.is_empty() {
            return Err(DataError::layout(
                dir,
                "empty class folder: no image under images/",
            ));
        }
        train.extend(files.into_iter().map(|path| ImageEntry {
            path,
            label,
            target: None,
        }));
    }
    let text = read_text(&annotations)?;
    let mut test = Vec::new();
    for (row, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let mut fields = line.split('\t');
        let (Some(file), Some(wnid)) = (fields.next(), fields.next()) else {
            return Err(DataError::entry(
                &annotations,
                format!("line {}", row + 1),
                "expected <file name> TAB <wnid> ...",
            ));
        };
        let label = wnids.iter().position(|w| w == wnid.trim()).ok_or_else(|| {
            DataError::entry(
                &annotations,
                format!("line {}", row + 1),
                format!("wnid {wnid:?} is not a training class"),
            )
        })?;
        test.push(ImageEntry {
            path: val_dir.join("images").join(file.trim()),
            label,
            target: None,
        });
    }
    if test.is_empty() {
        return Err(DataError::format(&annotations, "no annotation rows"));
    }
    let names = class_names(root, &wnids)?;
    let mut fingerprint = Fingerprint::new("tiny-imagenet");
    add_read_options(&mut fingerprint, size, skip_bad);
    for entry in train.iter().chain(&test) {
        fingerprint.add_file(root, &entry.path, skip_bad)?;
        fingerprint.add_u64(entry.label as u64);
    }
    for name in &names {
        fingerprint.add_str(name);
    }
    let (content, from_cache) = cached_or_build(cache, fingerprint.finish(), || {
        decode_splits(train, test, size, &names, skip_bad, root)
    })?;
    splits_and_report(content, from_cache, cache)
}
