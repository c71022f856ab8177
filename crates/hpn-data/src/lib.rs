//! Datasets for Hyperspherical Prototype Networks (Mettes, van der Pol, Snoek, NeurIPS 2019):
//! files on disk -> [`ImageSet`] (`u8` pixels in memory) -> [`AugmentedDataset`] (augmented,
//! normalised [`ImageItem`]s, a Burn `Dataset`) -> [`loader`] ([`ImageBatch`]es on a device,
//! in an order fixed by the seed whatever the number of worker threads).
//!
//! - Readers: MNIST IDX ([`read_idx`], [`read_mnist_dir`]), CIFAR-10/100 binary
//!   ([`read_cifar10_bin`], [`read_cifar100_bin`]), image folders ([`read_image_folder`]),
//!   Tiny ImageNet ([`read_tiny_imagenet`]), CUB-200-2011 ([`read_cub200`]) and CSV image tables
//!   such as OmniArt ([`read_csv_images`], [`read_csv_splits`]). The readers of image files take
//!   one [`ReadOptions`] (stored size, a cache file of the decoded images, skipping bad images)
//!   and return a [`ReadReport`] of what they skipped.
//! - Derived sets: rotated MNIST ([`rotated_mnist`]), fixed count per class
//!   ([`subsample_per_class`]), the paper's linear 2-to-200 imbalance ([`linear_imbalance`]),
//!   a stratified validation split ([`train_validation_split`]).
//! - Augmentation and normalisation of the paper's recipe ([`Augmentation`], [`Normalization`]),
//!   deterministic in `(seed, epoch, index)`; batches in an order that depends on the seed and
//!   the epoch only ([`BatchLoader`]), whatever the number of loader workers.
//! - [`describe`]: per-class counts and problems of a dataset.
//!
//! ```
//! use std::sync::Arc;
//! use burn::tensor::Device;
//! use hpn_data::{Augmentation, AugmentedDataset, ImageSet, Normalization, loader};
//!
//! // Four 3 x 8 x 8 images of two classes.
//! let set = ImageSet::new(
//!     vec![128; 4 * 3 * 8 * 8], 3, 8, 8,
//!     vec![0, 1, 0, 1], None,
//!     vec!["cat".into(), "dog".into()],
//! )?;
//! let train = AugmentedDataset::new(
//!     Arc::new(set),
//!     Augmentation::CropFlip { padding: 2 },
//!     Normalization::cifar(),
//!     42,
//! );
//! let device = Device::flex();
//! let batches = loader(train.for_epoch(0), 3, Some(7), 0, &device);
//! let sizes: Vec<[usize; 4]> = batches
//!     .iter()
//!     .map(|batch| batch.map(|b| b.images.dims()))
//!     .collect::<Result<_, _>>()?;
//! assert_eq!(sizes, vec![[3, 3, 8, 8], [1, 3, 8, 8]]);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod augmentation;
mod augmented_dataset;
mod batcher;
mod cache;
mod cifar_bin;
mod csv_images;
mod cub200;
mod decode;
mod error;
mod file_bytes;
mod idx;
mod image_folder;
mod image_set;
mod loader;
mod normalization;
mod npy_export;
mod options;
mod report;
mod rotation;
mod sampling;
mod tiny_imagenet;

pub use augmentation::Augmentation;
pub use augmented_dataset::{AugmentedDataset, ImageItem};
pub use batcher::{ImageBatch, ImageBatcher};
pub use cifar_bin::{read_cifar10_bin, read_cifar100_bin};
pub use csv_images::{CsvColumns, CsvTables, read_csv_images, read_csv_splits};
pub use cub200::read_cub200;
pub use error::DataError;
pub use idx::{encode_idx, read_idx, read_mnist_dir};
pub use image_folder::read_image_folder;
pub use image_set::{ImageSet, Splits};
pub use loader::{BatchLoader, Batches, epoch_loader, loader};
pub use normalization::Normalization;
pub use npy_export::write_npy_arrays;
pub use options::{ReadOptions, ReadReport};
pub use report::{DatasetReport, SplitReport, describe};
pub use rotation::{rotate_bilinear, rotated_mnist};
pub use sampling::{
    linear_imbalance, linear_imbalance_count, replay_subset, split_classes, subsample_per_class,
    train_validation_split,
};
pub use tiny_imagenet::read_tiny_imagenet;

/// Byte-level parsers exposed for fuzzing and tools: they take the bytes of a file instead of
/// its path (the path only names the file in errors).
pub mod parse {
    pub use crate::cifar_bin::parse_cifar_records;
    pub use crate::idx::parse_idx_pair;
}
