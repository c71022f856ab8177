//! Turns the `[dataset]` section into training and evaluation sets (hpn-data does the work).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use hpn_data::{
    Augmentation, AugmentedDataset, CsvColumns, CsvTables, ImageSet, ReadOptions, ReadReport,
    Splits,
};

use crate::config::{DatasetConfig, DatasetKind, ExperimentConfig};
use crate::error::TrainError;

/// The data of one experiment, prepared as the config asks.
#[derive(Clone, Debug)]
pub struct PreparedData {
    /// What the model is trained on.
    pub train: Arc<ImageSet>,
    /// What it is evaluated on (the test split, or a validation split carved from training).
    pub eval: Arc<ImageSet>,
    /// Class names in label order (the known classes, with open-set evaluation).
    pub class_names: Vec<String>,
    /// Open-set evaluation: known-class training images held out to choose the threshold.
    pub calibration: Option<Arc<ImageSet>>,
    /// Open-set evaluation: the test images of the classes held out of training.
    pub unknown: Option<Arc<ImageSet>>,
}

impl PreparedData {
    /// Number of classes.
    pub fn classes(&self) -> usize {
        self.class_names.len()
    }

    /// (channels, height, width) of every image.
    pub fn image_shape(&self) -> (usize, usize, usize) {
        (
            self.train.channels(),
            self.train.height(),
            self.train.width(),
        )
    }
}

/// The default cache folder of decoded images for a dataset directory: one folder per dataset
/// path under `cache_root`.
fn default_cache(config: &DatasetConfig, cache_root: &Path) -> PathBuf {
    let stem: String = config
        .path
        .to_string_lossy()
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect();
    cache_root.join(stem.trim_start_matches('_'))
}

/// Reads the splits of `config.dataset`, before any subsampling. Decoded images of image-file
/// datasets are cached under `cache_root` unless the config names a cache.
pub fn read_splits(config: &DatasetConfig, cache_root: &Path) -> Result<Splits, TrainError> {
    let path = config.path.as_path();
    let cache_dir = config
        .cache
        .clone()
        .unwrap_or_else(|| default_cache(config, cache_root));
    // The options of the readers of image files, with the cache file `name`.
    let options = |name: &str| -> Result<ReadOptions, TrainError> {
        make_cache_dir(&cache_dir)?;
        Ok(ReadOptions {
            size: config.image_size.map(|s| (s, s)),
            cache: Some(cache_dir.join(name)),
            skip_bad: config.skip_bad,
        })
    };
    let (splits, report) = match config.kind {
        DatasetKind::Mnist => (hpn_data::read_mnist_dir(path)?, ReadReport::default()),
        DatasetKind::Cifar10 => (hpn_data::read_cifar10_bin(path)?, ReadReport::default()),
        DatasetKind::Cifar100 => (
            hpn_data::read_cifar100_bin(path, !config.coarse_labels)?,
            ReadReport::default(),
        ),
        DatasetKind::ImageFolder => hpn_data::read_image_folder(path, &options("images.bin")?)?,
        DatasetKind::TinyImagenet => {
            hpn_data::read_tiny_imagenet(path, &options("tiny-imagenet.bin")?)?
        }
        DatasetKind::Cub200 => hpn_data::read_cub200(path, &options("cub200.bin")?)?,
        DatasetKind::Csv => {
            let csv = config.csv.clone().unwrap_or_default();
            let tables = CsvTables {
                train: path.join(&csv.train),
                test: path.join(&csv.test),
                images: path.join(&csv.images),
                columns: CsvColumns {
                    id: csv.id_column.clone(),
                    value: csv.value_column.clone(),
                    class: csv.class_column.clone(),
                },
            };
            hpn_data::read_csv_splits(&tables, &options("csv.bin")?)?
        }
    };
    if !report.skipped.is_empty() {
        eprintln!(
            "warning: skipped {} unreadable entries of {} (skip_bad = true)",
            report.skipped.len(),
            path.display()
        );
    }
    Ok(splits)
}

fn make_cache_dir(dir: &Path) -> Result<(), TrainError> {
    std::fs::create_dir_all(dir).map_err(|e| TrainError::io("create cache directory", dir, e))
}

/// Reads the dataset (caching decoded images under `cache_root`, see [`read_splits`]) and
/// applies rotation, subsampling, imbalance and the validation split. Every random choice is
/// drawn from `dataset.seed`, so all training seeds see the same data.
pub fn prepare(config: &ExperimentConfig, cache_root: &Path) -> Result<PreparedData, TrainError> {
    let d = &config.dataset;
    // One stream per random choice on the data, all derived from `dataset.seed`.
    let seed_of = |choice: u64| hpn_common::derive_seed(&[d.seed, choice]);
    let Splits {
        mut train,
        mut test,
    } = read_splits(d, cache_root)?;
    if let Some(rotation) = &d.rotation {
        let (digits, degrees) = (&rotation.digits, rotation.max_degrees);
        train = hpn_data::rotated_mnist(&train, digits, degrees, seed_of(0))?;
        test = hpn_data::rotated_mnist(&test, digits, degrees, seed_of(1))?;
    }
    // Open set: the held-out classes leave training; their test images become the unknowns.
    let mut unknown = None;
    if let Some(open) = &config.open_set {
        let (known_train, _) = hpn_data::split_classes(&train, &open.unknown_classes)?;
        let (known_test, unknown_test) = hpn_data::split_classes(&test, &open.unknown_classes)?;
        train = known_train;
        test = known_test;
        unknown = Some(Arc::new(unknown_test));
    }
    if let Some(n) = d.train_per_class {
        train = hpn_data::subsample_per_class(&train, n, seed_of(2))?;
    }
    if let Some(imb) = d.imbalance {
        train = hpn_data::linear_imbalance(&train, imb.min, imb.max, seed_of(3))?;
    }
    // Class-incremental phases: the first trains and tests on the old classes alone, the
    // second trains on the new classes and a replay memory of the old, and tests on all.
    if let Some(inc) = &config.incremental {
        let k = train.classes();
        if inc.old_classes >= k {
            return Err(TrainError::InvalidValue {
                path: d.path.clone(),
                key: "incremental.old_classes".into(),
                value: inc.old_classes.to_string(),
                expected: format!("fewer than the dataset's {k} classes"),
            });
        }
        if inc.from.is_none() {
            let later: Vec<usize> = (inc.old_classes..k).collect();
            train = hpn_data::split_classes(&train, &later)?.0;
            test = hpn_data::split_classes(&test, &later)?.0;
        } else {
            train =
                hpn_data::replay_subset(&train, inc.old_classes, inc.replay_per_class, seed_of(7))?;
        }
    }
    let eval = if let Some(fraction) = d.validation_fraction {
        let (t, v) = hpn_data::train_validation_split(&train, fraction, seed_of(4))?;
        train = t;
        v
    } else {
        test
    };
    let eval = match d.test_per_class {
        Some(n) => hpn_data::subsample_per_class(&eval, n, seed_of(5))?,
        None => eval,
    };
    let calibration = match &config.open_set {
        Some(open) => {
            let (t, c) =
                hpn_data::train_validation_split(&train, open.calibration_fraction, seed_of(6))?;
            train = t;
            Some(Arc::new(c))
        }
        None => None,
    };
    let class_names = train.class_names().to_vec();
    Ok(PreparedData {
        train: Arc::new(train),
        eval: Arc::new(eval),
        class_names,
        calibration,
        unknown,
    })
}

/// The augmented training set and the plain evaluation set of an experiment.
pub fn datasets(
    config: &ExperimentConfig,
    data: &PreparedData,
    seed: u64,
) -> (AugmentedDataset, AugmentedDataset) {
    let (channels, _, _) = data.image_shape();
    let norm = config.dataset.normalization.for_channels(channels);
    let train = AugmentedDataset::new(
        data.train.clone(),
        config.dataset.augmentation.clone(),
        norm.clone(),
        seed,
    );
    let eval = AugmentedDataset::new(data.eval.clone(), Augmentation::None, norm, seed);
    (train, eval)
}

/// `set` as the model sees it at evaluation: normalised as the config says, never augmented.
pub fn plain(config: &ExperimentConfig, set: Arc<ImageSet>) -> AugmentedDataset {
    let norm = config.dataset.normalization.for_channels(set.channels());
    AugmentedDataset::new(set, Augmentation::None, norm, 0)
}
