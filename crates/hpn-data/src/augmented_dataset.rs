//! [`AugmentedDataset`]: a Burn `Dataset` of augmented, normalised images whose randomness
//! depends only on `(seed, epoch, index)`.

use std::sync::Arc;

use burn::data::dataset::{Dataset, DatasetError};
use hpn_common::stream;

use crate::augmentation::{Geometry, augment_into};
use crate::{Augmentation, DataError, ImageSet, Normalization};

/// One training or test example: normalised, augmented pixels and its labels.
#[derive(Clone, Debug, PartialEq)]
pub struct ImageItem {
    /// `C * H * W` values, channel-first, already augmented and normalised.
    pub pixels: Vec<f32>,
    /// `[C, H, W]` of `pixels`.
    pub shape: [usize; 3],
    /// Class index.
    pub label: usize,
    /// Regression target (0 when the set has none).
    pub target: f32,
}

/// An [`ImageSet`] seen through an [`Augmentation`] and a [`Normalization`], as a Burn
/// [`Dataset`] of [`ImageItem`]s.
///
/// Item `i` of epoch `e` draws its random numbers from the stream
/// `hpn_common::stream(&[seed, e, i])` (SplitMix64 into Xoshiro256++), so an item is the same whatever the number of loader
/// workers or the order of calls, and differs between epochs. Use [`AugmentedDataset::for_epoch`]
/// (or [`crate::epoch_loader`]) to move to the next epoch.
#[derive(Clone, Debug)]
pub struct AugmentedDataset {
    set: Arc<ImageSet>,
    augmentation: Augmentation,
    normalization: Normalization,
    affine: Arc<Result<Vec<(f32, f32)>, String>>,
    seed: u64,
    epoch: usize,
}

impl AugmentedDataset {
    /// Wraps `set` at epoch 0. Parameter problems (a normalisation with another channel count,
    /// a zero crop size) surface as errors from [`AugmentedDataset::check`] and from every `get`.
    pub fn new(
        set: Arc<ImageSet>,
        augmentation: Augmentation,
        normalization: Normalization,
        seed: u64,
    ) -> Self {
        let affine = augmentation
            .check()
            .and_then(|_| normalization.affine(set.channels()))
            .map_err(|e| e.to_string());
        Self {
            set,
            augmentation,
            normalization,
            affine: Arc::new(affine),
            seed,
            epoch: 0,
        }
    }

    /// The same dataset at `epoch` (shares the images; only the random streams change).
    pub fn for_epoch(&self, epoch: usize) -> Self {
        Self {
            epoch,
            ..self.clone()
        }
    }

    /// Checks that the augmentation and the normalisation fit the images.
    pub fn check(&self) -> Result<(), DataError> {
        match self.affine.as_ref() {
            Ok(_) => Ok(()),
            Err(message) => Err(DataError::invalid("augmented dataset", message.clone())),
        }
    }

    /// The underlying images.
    pub fn set(&self) -> &Arc<ImageSet> {
        &self.set
    }

    /// The augmentation.
    pub fn augmentation(&self) -> &Augmentation {
        &self.augmentation
    }

    /// The normalisation.
    pub fn normalization(&self) -> &Normalization {
        &self.normalization
    }

    /// The seed.
    pub fn seed(&self) -> u64 {
        self.seed
    }

    /// The epoch.
    pub fn epoch(&self) -> usize {
        self.epoch
    }

    /// `[C, H, W]` of every item.
    pub fn item_shape(&self) -> [usize; 3] {
        let (h, w) = self
            .augmentation
            .output_size(self.set.height(), self.set.width());
        [self.set.channels(), h, w]
    }

    /// Item `index` (augmented with the stream of `(seed, epoch, index)`, then normalised).
    pub fn item(&self, index: usize) -> Result<ImageItem, DataError> {
        let affine = match self.affine.as_ref() {
            Ok(a) => a,
            Err(message) => {
                return Err(DataError::invalid("augmented dataset", message.clone()));
            }
        };
        if index >= self.set.len() {
            return Err(DataError::invalid(
                "index",
                format!("{index}, the dataset has {} items", self.set.len()),
            ));
        }
        let geometry = Geometry {
            channels: self.set.channels(),
            height: self.set.height(),
            width: self.set.width(),
            affine,
        };
        let shape = self.item_shape();
        let mut pixels = Vec::with_capacity(shape.iter().product());
        let mut rng = stream(&[self.seed, self.epoch as u64, index as u64]);
        augment_into(
            &self.augmentation,
            self.set.image(index),
            &geometry,
            &mut rng,
            &mut pixels,
        );
        Ok(ImageItem {
            pixels,
            shape,
            label: self.set.labels()[index],
            target: self.set.targets().map_or(0.0, |t| t[index]),
        })
    }
}

impl Dataset<ImageItem> for AugmentedDataset {
    fn get(&self, index: usize) -> Result<ImageItem, DatasetError> {
        self.item(index).map_err(DatasetError::new)
    }

    fn len(&self) -> usize {
        self.set.len()
    }
}
