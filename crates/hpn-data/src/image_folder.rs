//! Image folders: `root/{train,test}/<class>/*.{jpg,jpeg,png}`, one sub-folder per class.

use std::path::{Path, PathBuf};

use crate::cache::{CacheContent, Fingerprint, cached_or_build};
use crate::decode::{DecodedImages, ImageEntry, StoredSize, decode_images, has_image_extension};
use crate::options::{add_read_options, stored_size};
use crate::{DataError, ImageSet, ReadOptions, ReadReport, Splits};

/// The sorted entries of `dir` that satisfy `keep`.
pub(crate) fn sorted_entries(
    dir: &Path,
    keep: impl Fn(&Path) -> bool,
) -> Result<Vec<PathBuf>, DataError> {
    let read = std::fs::read_dir(dir).map_err(|e| DataError::io(dir, e))?;
    let mut out = Vec::new();
    for entry in read {
        let entry = entry.map_err(|e| DataError::io(dir, e))?;
        let path = entry.path();
        if keep(&path) {
            out.push(path);
        }
    }
    out.sort();
    Ok(out)
}

/// The class folders of `split_dir`, sorted by name.
fn class_folders(split_dir: &Path) -> Result<Vec<(String, PathBuf)>, DataError> {
    sorted_entries(split_dir, Path::is_dir)?
        .into_iter()
        .map(|p| {
            let name = p
                .file_name()
                .and_then(|n| n.to_str())
                .ok_or_else(|| DataError::layout(&p, "class folder name is not UTF-8"))?
                .to_string();
            Ok((name, p))
        })
        .collect()
}

/// The image entries of one split, labelled by the position of their folder in `classes`.
fn split_entries(split_dir: &Path, classes: &[String]) -> Result<Vec<ImageEntry>, DataError> {
    let mut entries = Vec::new();
    for (name, folder) in class_folders(split_dir)? {
        let label = classes.iter().position(|c| *c == name).ok_or_else(|| {
            DataError::layout(
                &folder,
                format!("class folder {name:?} does not exist in the training split"),
            )
        })?;
        let files = sorted_entries(&folder, |p| p.is_file() && has_image_extension(p))?;
        if files.is_empty() {
            return Err(DataError::layout(
                &folder,
                "empty class folder: no .jpg, .jpeg or .png file",
            ));
        }
        entries.extend(files.into_iter().map(|path| ImageEntry {
            path,
            label,
            target: None,
        }));
    }
    Ok(entries)
}

/// Turns decoded images into an [`ImageSet`] with the given class names.
pub(crate) fn into_image_set(
    decoded: DecodedImages,
    class_names: Vec<String>,
) -> Result<ImageSet, DataError> {
    let labels = decoded.kept.iter().map(|e| e.label).collect();
    let targets = if decoded.kept.iter().all(|e| e.target.is_some()) && !decoded.kept.is_empty() {
        Some(decoded.kept.iter().filter_map(|e| e.target).collect())
    } else {
        None
    };
    ImageSet::new(
        decoded.pixels,
        decoded.channels,
        decoded.height,
        decoded.width,
        labels,
        targets,
        class_names,
    )
}

/// Decodes a train and a test list, checks that both got the same image shape, and returns
/// the cache content `train`, `test`.
pub(crate) fn decode_splits(
    train: Vec<ImageEntry>,
    test: Vec<ImageEntry>,
    size: StoredSize,
    class_names: &[String],
    skip_bad: bool,
    root: &Path,
) -> Result<CacheContent, DataError> {
    let train = decode_images(train, size, skip_bad)?;
    let mut test = decode_images(test, size, skip_bad)?;
    if !train.kept.is_empty()
        && !test.kept.is_empty()
        && (test.height, test.width) != (train.height, train.width)
    {
        return Err(DataError::layout(
            root,
            format!(
                "test images are {} x {} (width x height), training images {} x {}; pass a size",
                test.width, test.height, train.width, train.height
            ),
        ));
    }
    if test.channels != train.channels {
        if train.channels == 3 && test.channels == 1 {
            test = expand_grey(test);
        } else {
            // The training set is grey while the test set has colour: grey cannot hold it.
            return Err(DataError::layout(
                root,
                "training images are all grey but some test images are in colour",
            ));
        }
    }
    let mut skipped = train.skipped.clone();
    skipped.extend(test.skipped.iter().cloned());
    Ok(CacheContent {
        sets: vec![
            ("train".into(), into_image_set(train, class_names.to_vec())?),
            ("test".into(), into_image_set(test, class_names.to_vec())?),
        ],
        skipped,
    })
}

/// Repeats the single grey plane of every image three times.
fn expand_grey(mut decoded: DecodedImages) -> DecodedImages {
    let plane = decoded.height * decoded.width;
    let mut pixels = Vec::with_capacity(decoded.pixels.len() * 3);
    for image in decoded.pixels.chunks_exact(plane) {
        for _ in 0..3 {
            pixels.extend_from_slice(image);
        }
    }
    decoded.pixels = pixels;
    decoded.channels = 3;
    decoded
}

/// Splits cache content back into train and test.
fn content_into_splits(content: CacheContent, cache: Option<&Path>) -> Result<Splits, DataError> {
    let mut train = None;
    let mut test = None;
    for (name, set) in content.sets {
        match name.as_str() {
            "train" => train = Some(set),
            "test" => test = Some(set),
            _ => {}
        }
    }
    match (train, test) {
        (Some(train), Some(test)) => Ok(Splits { train, test }),
        _ => Err(DataError::format(
            cache.map_or_else(PathBuf::new, Path::to_path_buf),
            "cache lacks the train or test set",
        )),
    }
}

/// Reads `root/train/<class>/*` and `root/test/<class>/*` (`.jpg`, `.jpeg`, `.png`, any case;
/// other files are ignored) with the splits and what was skipped. Classes are the training
/// split's folder names sorted alphabetically; label `k` is the `k`-th name. A test class folder
/// absent from training, an empty class folder, or an undecodable image is an error naming the
/// folder or file, unless [`ReadOptions::skip_bad`] is set, in which case undecodable images
/// are left out and listed in the [`ReadReport`].
///
/// [`ReadOptions::size`] `= Some((width, height))` stores every image scaled (aspect ratio
/// kept, bilinear `Triangle` filter) to just cover `width x height` and cut in the centre;
/// `None` keeps the files' size, which must then be the same for all images. When every image
/// is grey the sets have one channel, otherwise three (RGB). [`ReadOptions::cache`] names the
/// decoded-image cache.
pub fn read_image_folder(
    root: &Path,
    options: &ReadOptions,
) -> Result<(Splits, ReadReport), DataError> {
    let size = stored_size(options.size)?;
    let skip_bad = options.skip_bad;
    let cache = options.cache_path();
    let train_dir = root.join("train");
    let test_dir = root.join("test");
    for dir in [&train_dir, &test_dir] {
        if !dir.is_dir() {
            return Err(DataError::layout(
                root,
                format!("missing folder {}", dir.display()),
            ));
        }
    }
    let classes: Vec<String> = class_folders(&train_dir)?
        .into_iter()
        .map(|(n, _)| n)
        .collect();
    if classes.is_empty() {
        return Err(DataError::layout(&train_dir, "no class folders"));
    }
    let train = split_entries(&train_dir, &classes)?;
    let test = split_entries(&test_dir, &classes)?;
    let mut fingerprint = Fingerprint::new("image-folder");
    add_read_options(&mut fingerprint, size, skip_bad);
    for entry in train.iter().chain(&test) {
        fingerprint.add_file(root, &entry.path, skip_bad)?;
        fingerprint.add_u64(entry.label as u64);
    }
    let (content, from_cache) = cached_or_build(cache, fingerprint.finish(), || {
        decode_splits(train, test, size, &classes, skip_bad, root)
    })?;
    splits_and_report(content, from_cache, cache)
}

/// Splits cache content into the train and test sets and the [`ReadReport`].
pub(crate) fn splits_and_report(
    content: CacheContent,
    from_cache: bool,
    cache: Option<&Path>,
) -> Result<(Splits, ReadReport), DataError> {
    let skipped = content.skipped.clone();
    Ok((
        content_into_splits(content, cache)?,
        ReadReport {
            skipped,
            from_cache,
        },
    ))
}
