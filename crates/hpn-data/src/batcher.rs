//! Batching [`ImageItem`]s into tensors and building Burn data loaders.

use std::sync::Arc;

use burn::data::dataloader::batcher::Batcher;
use burn::data::dataloader::{DataLoader, DataLoaderBuilder};
use burn::tensor::{Device, Int, Tensor, TensorData};

use crate::{AugmentedDataset, ImageItem};

/// A batch of images on a device.
#[derive(Clone, Debug)]
pub struct ImageBatch {
    /// Normalised images, `[B, C, H, W]`.
    pub images: Tensor<4>,
    /// Class indices, `[B]`.
    pub labels: Tensor<1, Int>,
    /// Regression targets, `[B]` (0 where the set has none).
    pub targets: Tensor<1>,
}

/// Stacks [`ImageItem`]s (all of the same shape) into an [`ImageBatch`].
#[derive(Clone, Copy, Debug, Default)]
pub struct ImageBatcher;

impl Batcher<ImageItem, ImageBatch> for ImageBatcher {
    /// # Panics
    /// If the items do not all have the shape of the first one (items of one
    /// [`AugmentedDataset`] always do).
    fn batch(&self, items: Vec<ImageItem>, device: &Device) -> ImageBatch {
        let shape = items.first().map_or([1, 1, 1], |i| i.shape);
        let per_item: usize = shape.iter().product();
        let b = items.len();
        let mut pixels = Vec::with_capacity(b * per_item);
        let mut labels = Vec::with_capacity(b);
        let mut targets = Vec::with_capacity(b);
        for item in items {
            assert_eq!(
                item.shape, shape,
                "ImageBatcher: items of shapes {:?} and {shape:?} in one batch",
                item.shape
            );
            pixels.extend_from_slice(&item.pixels);
            labels.push(item.label as i64);
            targets.push(item.target);
        }
        ImageBatch {
            images: Tensor::from_data(
                TensorData::new(pixels, [b, shape[0], shape[1], shape[2]]),
                device,
            ),
            labels: Tensor::from_data(TensorData::new(labels, [b]), device),
            targets: Tensor::from_data(TensorData::new(targets, [b]), device),
        }
    }
}

/// A Burn data loader of [`ImageBatch`]es on `device` (always set: Burn otherwise uses its
/// default device). `shuffle_seed = Some(s)` shuffles the order with seed `s` (the same order
/// for every `iter()` of a single-worker loader), `None` keeps the set's order; `workers = 0`
/// loads on the calling thread, `n > 0` on `n` background threads. The last batch may be
/// smaller; a `batch_size` of 0 is taken as 1.
///
/// The dataset's epoch is fixed: build one loader per epoch (see [`epoch_loader`]) so that
/// augmentations change between epochs.
pub fn loader(
    dataset: AugmentedDataset,
    batch_size: usize,
    shuffle_seed: Option<u64>,
    workers: usize,
    device: &Device,
) -> Arc<dyn DataLoader<ImageBatch>> {
    let mut builder = DataLoaderBuilder::new(ImageBatcher)
        .batch_size(batch_size.max(1))
        .num_workers(workers)
        .set_device(device.clone());
    if let Some(seed) = shuffle_seed {
        builder = builder.shuffle(seed);
    }
    builder.build(dataset)
}

/// The loader of epoch `epoch`: the dataset moved to that epoch (new augmentations) and, when
/// `shuffle_seed` is given, an order shuffled with the seed
/// `hpn_common::derive_seed(&[shuffle_seed, epoch])`.
pub fn epoch_loader(
    dataset: &AugmentedDataset,
    epoch: usize,
    batch_size: usize,
    shuffle_seed: Option<u64>,
    workers: usize,
    device: &Device,
) -> Arc<dyn DataLoader<ImageBatch>> {
    let seed = shuffle_seed.map(|s| hpn_common::derive_seed(&[s, epoch as u64]));
    loader(dataset.for_epoch(epoch), batch_size, seed, workers, device)
}
