//! [`ImageSet`]: images held in memory as `u8` pixels, and [`Splits`]: a train and a test set.

use crate::DataError;

/// An image dataset held in memory: `u8` pixels in channel-first order `(C, H, W)` per image,
/// one class label per image, optional regression targets (one `f32` per image, e.g. a
/// rotation angle or a creation year) and the class names.
///
/// Invariants, checked by [`ImageSet::new`]: `pixels.len() == N * C * H * W`, every label is
/// `< class_names.len()`, and the targets (when present) number `N` and are finite.
#[derive(Clone, Debug, PartialEq)]
pub struct ImageSet {
    pixels: Vec<u8>,
    channels: usize,
    height: usize,
    width: usize,
    labels: Vec<usize>,
    targets: Option<Vec<f32>>,
    class_names: Vec<String>,
}

impl ImageSet {
    /// Builds a set from its parts, checking the invariants listed on [`ImageSet`].
    ///
    /// `pixels` holds the images one after the other, each `channels * height * width` bytes
    /// in `(C, H, W)` order; `labels[i]` is the class index of image `i`.
    pub fn new(
        pixels: Vec<u8>,
        channels: usize,
        height: usize,
        width: usize,
        labels: Vec<usize>,
        targets: Option<Vec<f32>>,
        class_names: Vec<String>,
    ) -> Result<Self, DataError> {
        if channels == 0 || height == 0 || width == 0 {
            return Err(DataError::invalid(
                "image shape",
                format!(
                    "channels {channels}, height {height}, width {width}: all must be at least 1"
                ),
            ));
        }
        let image_len = channels
            .checked_mul(height)
            .and_then(|v| v.checked_mul(width))
            .ok_or_else(|| {
                DataError::invalid(
                    "image shape",
                    format!("{channels} x {height} x {width} overflows"),
                )
            })?;
        let expected = labels.len().checked_mul(image_len);
        if expected != Some(pixels.len()) {
            return Err(DataError::invalid(
                "pixels",
                format!(
                    "{} bytes for {} labels of {channels} x {height} x {width} images, expected {}",
                    pixels.len(),
                    labels.len(),
                    labels.len().saturating_mul(image_len)
                ),
            ));
        }
        if let Some((index, &label)) = labels
            .iter()
            .enumerate()
            .find(|&(_, &label)| label >= class_names.len())
        {
            return Err(DataError::invalid(
                "labels",
                format!(
                    "label {label} of image {index} is out of range: {} class names",
                    class_names.len()
                ),
            ));
        }
        if let Some(targets) = &targets {
            if targets.len() != labels.len() {
                return Err(DataError::invalid(
                    "targets",
                    format!("{} targets for {} images", targets.len(), labels.len()),
                ));
            }
            if let Some((index, value)) = targets.iter().enumerate().find(|(_, v)| !v.is_finite()) {
                return Err(DataError::invalid(
                    "targets",
                    format!("target {value} of image {index} is not a finite number"),
                ));
            }
        }
        Ok(Self {
            pixels,
            channels,
            height,
            width,
            labels,
            targets,
            class_names,
        })
    }

    /// Number of images `N`.
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    /// Whether the set holds no image.
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    /// Channels per image `C` (1 for grey, 3 for RGB).
    pub fn channels(&self) -> usize {
        self.channels
    }

    /// Image height `H` in pixels.
    pub fn height(&self) -> usize {
        self.height
    }

    /// Image width `W` in pixels.
    pub fn width(&self) -> usize {
        self.width
    }

    /// Bytes per image, `C * H * W`.
    pub fn image_len(&self) -> usize {
        self.channels * self.height * self.width
    }

    /// Number of classes `K` (the number of class names; a class may have no image).
    pub fn classes(&self) -> usize {
        self.class_names.len()
    }

    /// Class names; index `k` names class `k`.
    pub fn class_names(&self) -> &[String] {
        &self.class_names
    }

    /// Class index of every image.
    pub fn labels(&self) -> &[usize] {
        &self.labels
    }

    /// Regression target of every image, when the set has them.
    pub fn targets(&self) -> Option<&[f32]> {
        self.targets.as_deref()
    }

    /// All pixels, image after image, each in `(C, H, W)` order.
    pub fn pixels(&self) -> &[u8] {
        &self.pixels
    }

    /// Pixels of image `i`, `(C, H, W)` order.
    ///
    /// # Panics
    /// If `i >= len()`, like slice indexing.
    pub fn image(&self, i: usize) -> &[u8] {
        let n = self.image_len();
        &self.pixels[i * n..(i + 1) * n]
    }

    /// The images at `indices`, in that order (an index may repeat), with the same class names.
    ///
    /// # Panics
    /// If an index is `>= len()`, like slice indexing.
    pub fn subset(&self, indices: &[usize]) -> ImageSet {
        let n = self.image_len();
        let mut pixels = Vec::with_capacity(indices.len() * n);
        for &i in indices {
            pixels.extend_from_slice(self.image(i));
        }
        ImageSet {
            pixels,
            channels: self.channels,
            height: self.height,
            width: self.width,
            labels: indices.iter().map(|&i| self.labels[i]).collect(),
            targets: self
                .targets
                .as_ref()
                .map(|t| indices.iter().map(|&i| t[i]).collect()),
            class_names: self.class_names.clone(),
        }
    }

    /// Number of images of each class, indexed by class (length `classes()`).
    pub fn class_counts(&self) -> Vec<usize> {
        let mut counts = vec![0; self.classes()];
        for &label in &self.labels {
            counts[label] += 1;
        }
        counts
    }

    /// Indices of the images of each class, in dataset order (outer length `classes()`).
    pub fn indices_by_class(&self) -> Vec<Vec<usize>> {
        let mut by_class = vec![Vec::new(); self.classes()];
        for (i, &label) in self.labels.iter().enumerate() {
            by_class[label].push(i);
        }
        by_class
    }

    /// The same images and labels under new class names (e.g. `"0"..="9"` for MNIST).
    pub fn with_class_names(self, class_names: Vec<String>) -> Result<Self, DataError> {
        Self::new(
            self.pixels,
            self.channels,
            self.height,
            self.width,
            self.labels,
            self.targets,
            class_names,
        )
    }

    /// The same images with new labels, targets and class names (checked as in [`ImageSet::new`]).
    pub fn relabel(
        self,
        labels: Vec<usize>,
        targets: Option<Vec<f32>>,
        class_names: Vec<String>,
    ) -> Result<Self, DataError> {
        Self::new(
            self.pixels,
            self.channels,
            self.height,
            self.width,
            labels,
            targets,
            class_names,
        )
    }

    /// Splits the set into its raw parts `(pixels, channels, height, width, labels, targets,
    /// class_names)`, the inverse of [`ImageSet::new`].
    #[allow(clippy::type_complexity)]
    pub fn into_parts(
        self,
    ) -> (
        Vec<u8>,
        usize,
        usize,
        usize,
        Vec<usize>,
        Option<Vec<f32>>,
        Vec<String>,
    ) {
        (
            self.pixels,
            self.channels,
            self.height,
            self.width,
            self.labels,
            self.targets,
            self.class_names,
        )
    }
}

/// A dataset's official training and test sets (for Tiny ImageNet the validation set serves as
/// the test set, as in the paper).
#[derive(Clone, Debug, PartialEq)]
pub struct Splits {
    /// The training set.
    pub train: ImageSet,
    /// The test set.
    pub test: ImageSet,
}

/// Class names `"0"`, `"1"`, ... `"{k-1}"`.
pub(crate) fn numbered_class_names(k: usize) -> Vec<String> {
    (0..k).map(|c| c.to_string()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tiny() -> ImageSet {
        // three 1x1x2 images of classes 0, 1, 1
        ImageSet::new(
            vec![1, 2, 3, 4, 5, 6],
            1,
            1,
            2,
            vec![0, 1, 1],
            Some(vec![0.5, 1.5, 2.5]),
            vec!["a".into(), "b".into(), "c".into()],
        )
        .unwrap()
    }

    #[test]
    fn accessors_follow_the_layout() {
        let set = tiny();
        assert_eq!(set.len(), 3);
        assert_eq!(set.image(1), &[3, 4]);
        assert_eq!(set.class_counts(), vec![1, 2, 0]);
        assert_eq!(set.classes(), 3);
    }

    #[test]
    fn subset_keeps_pixels_labels_targets_together() {
        let sub = tiny().subset(&[2, 0, 2]);
        assert_eq!(sub.pixels(), &[5, 6, 1, 2, 5, 6]);
        assert_eq!(sub.labels(), &[1, 0, 1]);
        assert_eq!(sub.targets(), Some(&[2.5, 0.5, 2.5][..]));
    }

    #[test]
    fn new_rejects_inconsistent_parts() {
        let names = || vec!["a".to_string()];
        assert!(ImageSet::new(vec![0; 3], 1, 1, 2, vec![0, 0], None, names()).is_err());
        assert!(ImageSet::new(vec![0; 4], 1, 1, 2, vec![0, 1], None, names()).is_err());
        assert!(ImageSet::new(vec![0; 4], 1, 1, 2, vec![0, 0], Some(vec![1.0]), names()).is_err());
        assert!(
            ImageSet::new(
                vec![0; 4],
                1,
                1,
                2,
                vec![0, 0],
                Some(vec![1.0, f32::NAN]),
                names()
            )
            .is_err()
        );
        assert!(ImageSet::new(vec![], 0, 1, 2, vec![], None, names()).is_err());
    }
}
