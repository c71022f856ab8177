//! Batching [`ImageItem`]s into tensors (also usable with Burn's own `DataLoaderBuilder`).

use burn::data::dataloader::batcher::Batcher;
use burn::tensor::{Device, Int, Tensor, TensorData};

use crate::ImageItem;

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
    /// [`AugmentedDataset`](crate::AugmentedDataset) always do).
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
