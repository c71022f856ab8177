//! Turns the `[dataset]` section into training and evaluation sets (hpn-data does the work).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use hpn_data::{Augmentation, AugmentedDataset, CsvColumns, ImageSet, Normalization, Splits};

use crate::config::{
    AugmentationKind, DatasetConfig, DatasetKind, ExperimentConfig, NormalizationKind,
};
use crate::error::TrainError;

/// The data of one experiment, prepared as the config asks.
#[derive(Clone, Debug)]
pub struct PreparedData {
    /// What the model is trained on.
    pub train: Arc<ImageSet>,
    /// What it is evaluated on (the test split, or a validation split carved from training).
    pub eval: Arc<ImageSet>,
    /// Class names in label order.
    pub class_names: Vec<String>,
}

impl PreparedData {
    /// Number of classes.
    pub fn num_classes(&self) -> usize {
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

/// The default cache location of decoded images for a dataset directory.
fn default_cache(config: &DatasetConfig) -> PathBuf {
    let stem: String = config
        .path
        .to_string_lossy()
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect();
    PathBuf::from("runs").join(".cache").join(stem)
}

/// Reads the splits of `config.dataset`, before any subsampling.
pub fn read_splits(config: &DatasetConfig) -> Result<Splits, TrainError> {
    let path = config.path.as_path();
    let cache_dir = config
        .cache
        .clone()
        .unwrap_or_else(|| default_cache(config));
    let cache = |name: &str| -> PathBuf { cache_dir.join(name) };
    let size = config.image_size;
    let splits = match config.kind {
        DatasetKind::Mnist => hpn_data::read_mnist_dir(path)?,
        DatasetKind::Cifar10 => hpn_data::read_cifar10_bin(path)?,
        DatasetKind::Cifar100 => hpn_data::read_cifar100_bin(path, !config.coarse_labels)?,
        DatasetKind::ImageFolder => {
            let size = size.map(|s| (s, s));
            make_cache_dir(&cache_dir)?;
            hpn_data::read_image_folder(path, size, Some(&cache("images.bin")))?
        }
        DatasetKind::TinyImagenet => {
            make_cache_dir(&cache_dir)?;
            hpn_data::read_tiny_imagenet(path, Some(&cache("tiny-imagenet.bin")))?
        }
        DatasetKind::Cub200 => {
            make_cache_dir(&cache_dir)?;
            hpn_data::read_cub200(path, size.unwrap_or(256), Some(&cache("cub200.bin")))?
        }
        DatasetKind::Csv => {
            let csv = config.csv.clone().unwrap_or_default();
            let columns = CsvColumns {
                id: csv.id_column.clone(),
                value: csv.value_column.clone(),
                class: csv.class_column.clone(),
            };
            let side = size.unwrap_or(224);
            make_cache_dir(&cache_dir)?;
            let images = path.join(&csv.images);
            let (splits, report) = hpn_data::read_csv_splits(
                &path.join(&csv.train),
                &path.join(&csv.test),
                &images,
                &columns,
                (side, side),
                Some(&cache("csv.bin")),
                config.skip_bad,
            )?;
            if !report.skipped.is_empty() {
                eprintln!(
                    "warning: skipped {} unreadable entries of {} (skip_bad = true)",
                    report.skipped.len(),
                    path.display()
                );
            }
            splits
        }
    };
    Ok(splits)
}

fn make_cache_dir(dir: &Path) -> Result<(), TrainError> {
    std::fs::create_dir_all(dir).map_err(|e| TrainError::io("create cache directory", dir, e))
}

/// Reads the dataset and applies rotation, subsampling, imbalance and the validation split.
/// Every random choice is drawn from `data_seed`, so all training seeds see the same data.
pub fn prepare(config: &ExperimentConfig, data_seed: u64) -> Result<PreparedData, TrainError> {
    let d = &config.dataset;
    let Splits {
        mut train,
        mut test,
    } = read_splits(d)?;
    if let Some(rotation) = &d.rotation {
        train = hpn_data::rotated_mnist(&train, &rotation.digits, rotation.max_degrees, data_seed)?;
        test = hpn_data::rotated_mnist(
            &test,
            &rotation.digits,
            rotation.max_degrees,
            data_seed.wrapping_add(1),
        )?;
    }
    if let Some(n) = d.train_per_class {
        train = hpn_data::subsample_per_class(&train, n, data_seed)?;
    }
    if let Some(imb) = d.imbalance {
        train = hpn_data::linear_imbalance(&train, imb.min, imb.max, data_seed)?;
    }
    let eval = if let Some(fraction) = d.validation_fraction {
        let (t, v) = hpn_data::train_validation_split(&train, fraction, data_seed)?;
        train = t;
        v
    } else {
        test
    };
    let eval = match d.test_per_class {
        Some(n) => hpn_data::subsample_per_class(&eval, n, data_seed.wrapping_add(2))?,
        None => eval,
    };
    let class_names = train.class_names().to_vec();
    Ok(PreparedData {
        train: Arc::new(train),
        eval: Arc::new(eval),
        class_names,
    })
}

/// The normalisation constants the config names (hpn-data's CIFAR, ImageNet and MNIST
/// constants). Three constants on a grey image become their mean.
pub fn normalization(kind: NormalizationKind, channels: usize) -> Normalization {
    let n = match kind {
        NormalizationKind::None => Normalization::unit_range(),
        NormalizationKind::Mnist => Normalization::mnist(),
        NormalizationKind::Cifar => Normalization::cifar(),
        NormalizationKind::Imagenet => Normalization::imagenet(),
    };
    if n.mean.len() == channels || n.mean.len() == 1 {
        return n;
    }
    let average = |v: &[f32]| v.iter().sum::<f32>() / v.len() as f32;
    Normalization {
        mean: vec![average(&n.mean); channels],
        std: vec![average(&n.std); channels],
    }
}

/// The training-time augmentation the config names.
pub fn augmentation(config: &DatasetConfig, height: usize) -> Augmentation {
    match config.augmentation {
        AugmentationKind::None => Augmentation::None,
        AugmentationKind::CropFlip => Augmentation::CropFlip {
            padding: config.padding,
        },
        AugmentationKind::RandomResizedCrop => Augmentation::RandomResizedCrop {
            size: config.image_size.unwrap_or(height as u32),
        },
    }
}

/// The augmented training set and the plain evaluation set of an experiment.
pub fn datasets(
    config: &ExperimentConfig,
    data: &PreparedData,
    seed: u64,
) -> (AugmentedDataset, AugmentedDataset) {
    let (channels, height, _) = data.image_shape();
    let norm = normalization(config.dataset.normalization, channels);
    let train = AugmentedDataset::new(
        data.train.clone(),
        augmentation(&config.dataset, height),
        norm.clone(),
        seed,
    );
    let eval = AugmentedDataset::new(data.eval.clone(), Augmentation::None, norm, seed);
    (train, eval)
}
