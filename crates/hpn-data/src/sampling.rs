//! Class-wise subsets: a fixed number per class, the paper's linear class imbalance
//! (Table 4: 2 to 200 training images per CIFAR-100 class), and a stratified validation split.

use hpn_common::stream;
use rand::seq::SliceRandom;

use crate::{DataError, ImageSet};

/// The indices of each class in an order shuffled by `(seed, class)`.
fn shuffled_by_class(set: &ImageSet, seed: u64) -> Vec<Vec<usize>> {
    let mut by_class = set.indices_by_class();
    for (class, indices) in by_class.iter_mut().enumerate() {
        indices.shuffle(&mut stream(&[seed, class as u64]));
    }
    by_class
}

/// Takes the first `counts[c]` shuffled images of each class `c`; the result keeps the
/// original order of the set. A class with fewer images than asked is an error.
fn take_per_class(
    set: &ImageSet,
    counts: &[usize],
    seed: u64,
    what: &'static str,
) -> Result<ImageSet, DataError> {
    let by_class = shuffled_by_class(set, seed);
    let mut chosen = Vec::new();
    for (class, (indices, &want)) in by_class.iter().zip(counts).enumerate() {
        if indices.len() < want {
            return Err(DataError::invalid(
                what,
                format!(
                    "class {class} ({:?}) has {} images, {want} asked",
                    set.class_names()[class],
                    indices.len()
                ),
            ));
        }
        chosen.extend_from_slice(&indices[..want]);
    }
    chosen.sort_unstable();
    Ok(set.subset(&chosen))
}

/// Keeps `per_class` images of every class, chosen at random (seeded by `seed`); the kept
/// images stay in their original order. A class with fewer than `per_class` images is an error.
pub fn subsample_per_class(
    set: &ImageSet,
    per_class: usize,
    seed: u64,
) -> Result<ImageSet, DataError> {
    let counts = vec![per_class; set.classes()];
    take_per_class(set, &counts, seed, "per_class")
}

/// The training set of a class-incremental phase: every image of the new classes `old..K` and
/// `replay` images of each old class `0..old`, chosen at random (seeded by `seed`), so that a
/// fixed memory of the earlier phase is trained on again; labels, names and the original order
/// are kept. `old` must leave at least one new class; an old class with fewer than `replay`
/// images is an error.
pub fn replay_subset(
    set: &ImageSet,
    old: usize,
    replay: usize,
    seed: u64,
) -> Result<ImageSet, DataError> {
    let k = set.classes();
    if old == 0 || old >= k {
        return Err(DataError::invalid(
            "old_classes",
            format!("{old}, expected 1..{k} so that old and new classes are both left"),
        ));
    }
    let counts: Vec<usize> = (0..k)
        .map(|c| if c < old { replay } else { usize::MAX })
        .collect();
    let by_class = shuffled_by_class(set, seed);
    let mut chosen = Vec::new();
    for (class, (indices, &want)) in by_class.iter().zip(&counts).enumerate() {
        if want != usize::MAX && indices.len() < want {
            return Err(DataError::invalid(
                "replay_per_class",
                format!(
                    "class {class} ({:?}) has {} images, {want} asked",
                    set.class_names()[class],
                    indices.len()
                ),
            ));
        }
        chosen.extend_from_slice(&indices[..want.min(indices.len())]);
    }
    chosen.sort_unstable();
    Ok(set.subset(&chosen))
}

/// The number of images class `c` of `k` keeps under the linear imbalance:
/// `round(min + (max - min) * c / (k - 1))`; with one class, `max`.
pub fn linear_imbalance_count(
    c: usize,
    k: usize,
    min_per_class: usize,
    max_per_class: usize,
) -> usize {
    if k <= 1 {
        return max_per_class;
    }
    let span = max_per_class as f64 - min_per_class as f64;
    (min_per_class as f64 + span * c as f64 / (k - 1) as f64).round() as usize
}

/// The linearly imbalanced subset of the paper's Table 4 (CIFAR-100 with 2 to 200 images per
/// class): class `c` of `K` keeps `round(min + (max - min) c / (K - 1))` images chosen at random
/// (seeded by `seed`), so class 0 keeps `min` and class `K - 1` keeps `max`.
/// `min_per_class > max_per_class` or a class with too few images is an error.
pub fn linear_imbalance(
    set: &ImageSet,
    min_per_class: usize,
    max_per_class: usize,
    seed: u64,
) -> Result<ImageSet, DataError> {
    if min_per_class > max_per_class {
        return Err(DataError::invalid(
            "min_per_class",
            format!("{min_per_class} is above max_per_class {max_per_class}"),
        ));
    }
    let k = set.classes();
    let counts: Vec<usize> = (0..k)
        .map(|c| linear_imbalance_count(c, k, min_per_class, max_per_class))
        .collect();
    take_per_class(set, &counts, seed, "linear_imbalance")
}

/// Splits a set into `(train, validation)`, stratified: of each class, `round(fraction * n_c)`
/// images chosen at random (seeded by `seed`) go to validation, the rest to training; both keep
/// the original order. `validation_fraction` must lie in `[0, 1]`.
pub fn train_validation_split(
    set: &ImageSet,
    validation_fraction: f32,
    seed: u64,
) -> Result<(ImageSet, ImageSet), DataError> {
    if !(0.0..=1.0).contains(&validation_fraction) {
        return Err(DataError::invalid(
            "validation_fraction",
            format!("{validation_fraction}, expected a number in [0, 1]"),
        ));
    }
    let mut train = Vec::new();
    let mut validation = Vec::new();
    for indices in shuffled_by_class(set, seed) {
        let n_val = (validation_fraction as f64 * indices.len() as f64).round() as usize;
        validation.extend_from_slice(&indices[..n_val]);
        train.extend_from_slice(&indices[n_val..]);
    }
    train.sort_unstable();
    validation.sort_unstable();
    Ok((set.subset(&train), set.subset(&validation)))
}

/// Splits `set` into the images of the known classes and those of the classes listed in
/// `unknown` (open-set evaluation: inputs from no known class). The known images are relabelled
/// `0..` in the order of their classes and keep those class names; the unknown images keep
/// their labels and names. An unknown label out of range, or no known class left, is an error.
pub fn split_classes(set: &ImageSet, unknown: &[usize]) -> Result<(ImageSet, ImageSet), DataError> {
    let k = set.classes();
    if let Some(&bad) = unknown.iter().find(|&&c| c >= k) {
        return Err(DataError::invalid(
            "unknown_classes",
            format!("class {bad}, expected labels 0..{k}"),
        ));
    }
    let is_unknown = |c: usize| unknown.contains(&c);
    let known_classes: Vec<usize> = (0..k).filter(|&c| !is_unknown(c)).collect();
    if known_classes.is_empty() {
        return Err(DataError::invalid(
            "unknown_classes",
            format!("all {k} classes listed, expected at least one known class"),
        ));
    }
    let (known_idx, unknown_idx): (Vec<usize>, Vec<usize>) =
        (0..set.len()).partition(|&i| !is_unknown(set.labels()[i]));
    let mut new_label = vec![usize::MAX; k];
    for (new, &old) in known_classes.iter().enumerate() {
        new_label[old] = new;
    }
    let known = set.subset(&known_idx);
    let labels = known.labels().iter().map(|&l| new_label[l]).collect();
    let targets = known.targets().map(<[f32]>::to_vec);
    let names = known_classes
        .iter()
        .map(|&c| set.class_names()[c].clone())
        .collect();
    let known = known.relabel(labels, targets, names)?;
    Ok((known, set.subset(&unknown_idx)))
}
