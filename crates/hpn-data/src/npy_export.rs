//! An [`ImageSet`] as `.npy` arrays (NumPy's format, C order), for another implementation of
//! the same experiment to read exactly the images hpn trains and evaluates on.

use std::path::{Path, PathBuf};

use npyz::WriterBuilder;

use crate::error::DataError;
use crate::image_set::ImageSet;

/// Writes `set` into `dir` as `<prefix>_images.npy` (uint8, N x C x H x W, the pixels as
/// stored), `<prefix>_labels.npy` (int64 class indices) and, when the set has regression
/// targets, `<prefix>_targets.npy` (float32). Each file goes through a temporary file and a
/// rename. Returns the paths written.
pub fn write_npy_arrays(
    set: &ImageSet,
    dir: &Path,
    prefix: &str,
) -> Result<Vec<PathBuf>, DataError> {
    let n = set.len() as u64;
    let shape = [
        n,
        set.channels() as u64,
        set.height() as u64,
        set.width() as u64,
    ];
    let mut written = Vec::new();
    let images = dir.join(format!("{prefix}_images.npy"));
    write_npy(&images, &shape, set.pixels())?;
    written.push(images);
    let labels: Vec<i64> = set.labels().iter().map(|&l| l as i64).collect();
    let labels_path = dir.join(format!("{prefix}_labels.npy"));
    write_npy(&labels_path, &[n], &labels)?;
    written.push(labels_path);
    if let Some(targets) = set.targets() {
        let path = dir.join(format!("{prefix}_targets.npy"));
        write_npy(&path, &[n], targets)?;
        written.push(path);
    }
    Ok(written)
}

fn write_npy<T>(path: &Path, shape: &[u64], values: &[T]) -> Result<(), DataError>
where
    T: npyz::Serialize + npyz::AutoSerialize + Copy,
{
    let io = |e: std::io::Error| DataError::io(path, e);
    let mut bytes = Vec::new();
    {
        let mut writer = npyz::WriteOptions::<T>::new()
            .default_dtype()
            .shape(shape)
            .writer(&mut bytes)
            .begin_nd()
            .map_err(io)?;
        writer.extend(values.iter().copied()).map_err(io)?;
        writer.finish().map_err(io)?;
    }
    hpn_common::write_atomic(path, &bytes).map_err(io)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arrays_read_back_with_their_shapes_and_values() {
        let set = ImageSet::new(
            (0..2 * 3 * 2 * 2).map(|i| i as u8).collect(),
            3,
            2,
            2,
            vec![1, 0],
            Some(vec![12.5, -30.0]),
            vec!["a".into(), "b".into()],
        )
        .unwrap();
        let dir = tempfile::tempdir().unwrap();
        let written = write_npy_arrays(&set, dir.path(), "train").unwrap();
        assert_eq!(written.len(), 3);

        let bytes = std::fs::read(dir.path().join("train_images.npy")).unwrap();
        let file = npyz::NpyFile::new(&bytes[..]).unwrap();
        assert_eq!(file.shape(), &[2, 3, 2, 2]);
        let pixels: Vec<u8> = file.into_vec().unwrap();
        assert_eq!(pixels, set.pixels());

        let bytes = std::fs::read(dir.path().join("train_labels.npy")).unwrap();
        let labels: Vec<i64> = npyz::NpyFile::new(&bytes[..]).unwrap().into_vec().unwrap();
        assert_eq!(labels, vec![1, 0]);

        let bytes = std::fs::read(dir.path().join("train_targets.npy")).unwrap();
        let targets: Vec<f32> = npyz::NpyFile::new(&bytes[..]).unwrap().into_vec().unwrap();
        assert_eq!(targets, vec![12.5, -30.0]);
    }

    #[test]
    fn a_set_without_targets_writes_no_targets_file() {
        let set = ImageSet::new(vec![7; 4], 1, 2, 2, vec![0], None, vec!["a".into()]).unwrap();
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(write_npy_arrays(&set, dir.path(), "eval").unwrap().len(), 2);
        assert!(!dir.path().join("eval_targets.npy").exists());
    }

    #[test]
    fn a_folder_that_cannot_exist_is_an_error_naming_the_file() {
        let set = ImageSet::new(vec![7; 4], 1, 2, 2, vec![0], None, vec!["a".into()]).unwrap();
        let dir = tempfile::tempdir().unwrap();
        // A plain file where the folder should be.
        std::fs::write(dir.path().join("blocker"), b"x").unwrap();
        let impossible = dir.path().join("blocker/sub");
        let error = write_npy_arrays(&set, &impossible, "eval").unwrap_err();
        assert!(error.to_string().contains("eval_images.npy"), "{error}");
    }
}
