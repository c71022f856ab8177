//! Per-channel normalisation `x = (p / 255 - mean_c) / std_c` of `u8` pixels `p`.

use std::fmt;

use serde::de::{self, MapAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::DataError;

/// Per-channel mean and standard deviation of pixel values scaled to `[0, 1]`; a pixel `p` of
/// channel `c` becomes `(p / 255 - mean[c]) / std[c]` (torchvision's `ToTensor` + `Normalize`).
/// A single mean/std pair applies to every channel.
///
/// In serde form it is a preset name, `"none"` ([`Normalization::unit_range`]), `"mnist"`,
/// `"cifar"` or `"imagenet"`, or a table `{ mean = [..], std = [..] }`, checked as
/// [`Normalization::new`] checks it (a bad table is a deserialisation error). It is written as
/// the preset name when it equals a preset, else as the table.
#[derive(Clone, Debug, PartialEq)]
pub struct Normalization {
    /// Mean of each channel, in `[0, 1]` pixel units.
    pub mean: Vec<f32>,
    /// Standard deviation of each channel, in `[0, 1]` pixel units; every entry `> 0`.
    pub std: Vec<f32>,
}

impl Normalization {
    /// CIFAR-100 channel means (R, G, B) used by the paper's code.
    pub const CIFAR_MEAN: [f32; 3] = [0.507, 0.487, 0.441];
    /// CIFAR-100 channel standard deviations (R, G, B) used by the paper's code.
    pub const CIFAR_STD: [f32; 3] = [0.267, 0.256, 0.276];
    /// ImageNet channel means (R, G, B), used for Tiny ImageNet, CUB-200 and OmniArt.
    pub const IMAGENET_MEAN: [f32; 3] = [0.485, 0.456, 0.406];
    /// ImageNet channel standard deviations (R, G, B).
    pub const IMAGENET_STD: [f32; 3] = [0.229, 0.224, 0.225];
    /// MNIST mean of the grey channel.
    pub const MNIST_MEAN: [f32; 1] = [0.1307];
    /// MNIST standard deviation of the grey channel.
    pub const MNIST_STD: [f32; 1] = [0.3081];

    /// A normalisation with the given means and standard deviations (same length, at least one,
    /// every std finite and `> 0`, every mean finite).
    pub fn new(mean: Vec<f32>, std: Vec<f32>) -> Result<Self, DataError> {
        if mean.is_empty() || mean.len() != std.len() {
            return Err(DataError::invalid(
                "normalization",
                format!(
                    "{} means and {} standard deviations: expected the same number, at least one",
                    mean.len(),
                    std.len()
                ),
            ));
        }
        if let Some(s) = std.iter().find(|s| !(s.is_finite() && **s > 0.0)) {
            return Err(DataError::invalid(
                "normalization",
                format!("standard deviation {s}, expected a finite number > 0"),
            ));
        }
        if let Some(m) = mean.iter().find(|m| !m.is_finite()) {
            return Err(DataError::invalid(
                "normalization",
                format!("mean {m}, expected a finite number"),
            ));
        }
        Ok(Self { mean, std })
    }

    /// CIFAR statistics ([`Self::CIFAR_MEAN`], [`Self::CIFAR_STD`]).
    pub fn cifar() -> Self {
        Self {
            mean: Self::CIFAR_MEAN.to_vec(),
            std: Self::CIFAR_STD.to_vec(),
        }
    }

    /// ImageNet statistics ([`Self::IMAGENET_MEAN`], [`Self::IMAGENET_STD`]).
    pub fn imagenet() -> Self {
        Self {
            mean: Self::IMAGENET_MEAN.to_vec(),
            std: Self::IMAGENET_STD.to_vec(),
        }
    }

    /// MNIST statistics ([`Self::MNIST_MEAN`], [`Self::MNIST_STD`]).
    pub fn mnist() -> Self {
        Self {
            mean: Self::MNIST_MEAN.to_vec(),
            std: Self::MNIST_STD.to_vec(),
        }
    }

    /// Scaling to `[0, 1]` only (mean 0, std 1).
    pub fn unit_range() -> Self {
        Self {
            mean: vec![0.0],
            std: vec![1.0],
        }
    }

    /// The preset of that serde name: `"none"` ([`Self::unit_range`]), `"mnist"`, `"cifar"`
    /// or `"imagenet"`; `None` for any other name.
    pub fn preset(name: &str) -> Option<Self> {
        match name {
            "none" => Some(Self::unit_range()),
            "mnist" => Some(Self::mnist()),
            "cifar" => Some(Self::cifar()),
            "imagenet" => Some(Self::imagenet()),
            _ => None,
        }
    }

    /// The serde name of the preset this normalisation equals (see [`Self::preset`]), if any.
    pub fn preset_name(&self) -> Option<&'static str> {
        PRESETS
            .into_iter()
            .find(|name| Self::preset(name).as_ref() == Some(self))
    }

    /// The normalisation for images of `channels` channels: kept as is when it has one
    /// constant per channel or a single pair (which applies to every channel); on a
    /// one-channel image, several constants (such as the three of [`Self::cifar`]) become
    /// their mean. Any other mismatch is kept, for [`Self::affine`] to report.
    pub fn for_channels(&self, channels: usize) -> Normalization {
        let n = self.mean.len();
        if channels != 1 || n <= 1 || self.std.len() != n {
            return self.clone();
        }
        let average = |v: &[f32]| v.iter().sum::<f32>() / n as f32;
        Normalization {
            mean: vec![average(&self.mean)],
            std: vec![average(&self.std)],
        }
    }

    /// For each of `channels` channels, the `(scale, offset)` with `x = p * scale + offset`,
    /// i.e. `scale = 1 / (255 std_c)`, `offset = -mean_c / std_c`. A single mean/std pair is
    /// repeated; any other length that differs from `channels` is an error.
    pub fn affine(&self, channels: usize) -> Result<Vec<(f32, f32)>, DataError> {
        let pick = |v: &[f32], c: usize| if v.len() == 1 { v[0] } else { v[c] };
        if (self.mean.len() != 1 && self.mean.len() != channels)
            || self.mean.len() != self.std.len()
        {
            return Err(DataError::invalid(
                "normalization",
                format!(
                    "{} means and {} standard deviations for images with {channels} channels",
                    self.mean.len(),
                    self.std.len()
                ),
            ));
        }
        if let Some(s) = self.std.iter().find(|s| !(s.is_finite() && **s > 0.0)) {
            return Err(DataError::invalid(
                "normalization",
                format!("standard deviation {s}, expected a finite number > 0"),
            ));
        }
        if let Some(m) = self.mean.iter().find(|m| !m.is_finite()) {
            return Err(DataError::invalid(
                "normalization",
                format!("mean {m}, expected a finite number"),
            ));
        }
        Ok((0..channels)
            .map(|c| {
                let (m, s) = (pick(&self.mean, c) as f64, pick(&self.std, c) as f64);
                ((1.0 / (255.0 * s)) as f32, (-m / s) as f32)
            })
            .collect())
    }
}

/// The serde names of the presets, in the order [`Normalization::preset_name`] tries them.
const PRESETS: [&str; 4] = ["none", "mnist", "cifar", "imagenet"];

/// The table form of a [`Normalization`].
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Table<T> {
    mean: T,
    std: T,
}

impl Serialize for Normalization {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self.preset_name() {
            Some(name) => serializer.serialize_str(name),
            None => Table {
                mean: &self.mean,
                std: &self.std,
            }
            .serialize(serializer),
        }
    }
}

impl<'de> Deserialize<'de> for Normalization {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct NormalizationVisitor;

        impl<'de> Visitor<'de> for NormalizationVisitor {
            type Value = Normalization;

            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str(
                    "a preset name (\"none\", \"mnist\", \"cifar\" or \"imagenet\") \
                     or a table { mean = [..], std = [..] }",
                )
            }

            fn visit_str<E: de::Error>(self, name: &str) -> Result<Normalization, E> {
                Normalization::preset(name).ok_or_else(|| E::unknown_variant(name, &PRESETS))
            }

            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Normalization, A::Error> {
                let table =
                    Table::<Vec<f32>>::deserialize(de::value::MapAccessDeserializer::new(map))?;
                Normalization::new(table.mean, table.std).map_err(de::Error::custom)
            }
        }

        deserializer.deserialize_any(NormalizationVisitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn affine_matches_the_formula() {
        let n = Normalization::cifar();
        let a = n.affine(3).unwrap();
        for (c, &(scale, offset)) in a.iter().enumerate() {
            for p in [0u8, 1, 128, 255] {
                let want = (p as f32 / 255.0 - n.mean[c]) / n.std[c];
                assert!((p as f32 * scale + offset - want).abs() < 1e-5);
            }
        }
        // a white pixel in the red channel: (1 - 0.507) / 0.267 = 1.846442
        assert!((255.0 * a[0].0 + a[0].1 - 1.846_442).abs() < 1e-5);
    }

    #[test]
    fn one_pair_broadcasts_and_mismatch_fails() {
        assert_eq!(Normalization::mnist().affine(3).unwrap().len(), 3);
        assert!(Normalization::cifar().affine(1).is_err());
        assert!(Normalization::new(vec![0.5], vec![0.0]).is_err());
        assert!(Normalization::new(vec![0.5, 0.5], vec![1.0]).is_err());
    }
}
