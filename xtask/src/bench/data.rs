//! `bench data`: throughput of the CIFAR training input pipeline: JPEG decoding (first read,
//! then the cache), and random crop (4 px zero padding) + flip + normalisation + batches of 128
//! into Flex tensors through Burn's data loader with 0, 1 and 2 workers; then random resized
//! crops of large images.
//!
//! The folder holds `train/<class>/*.jpg` and `test/<class>/*.jpg` (or holds one sub-folder
//! that does).

use anyhow::{Context, Result, bail};
use clap::Args;

#[derive(Args, Debug)]
pub struct DataArgs {
    /// CIFAR-10 JPEG folder.
    folder: PathBuf,
    /// Cache file of the decoded images (deleted first; default in the temporary folder).
    #[arg(long)]
    cache: Option<PathBuf>,
}

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use burn::tensor::Device;
use hpn_data::{
    Augmentation, AugmentedDataset, ImageSet, Normalization, ReadOptions, epoch_loader,
    read_image_folder,
};

/// `root` if it holds `train/`, else its only sub-folder that does.
fn dataset_root(root: &Path) -> Option<PathBuf> {
    if root.join("train").is_dir() {
        return Some(root.to_path_buf());
    }
    std::fs::read_dir(root)
        .ok()?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .find(|p| p.join("train").is_dir())
}

pub fn run(args: DataArgs) -> Result<()> {
    let Some(root) = dataset_root(&args.folder) else {
        bail!(
            "{}: no train/ folder in it or in a sub-folder",
            args.folder.display()
        );
    };
    let cache = args
        .cache
        .unwrap_or_else(|| std::env::temp_dir().join("hpn-data-bench-cifar10.cache"));
    let _ = std::fs::remove_file(&cache);
    println!(
        "dataset {} | cache {} | {} threads available",
        root.display(),
        cache.display(),
        std::thread::available_parallelism().map_or(1, |n| n.get())
    );

    let options = ReadOptions {
        cache: Some(cache.clone()),
        ..ReadOptions::default()
    };
    let start = Instant::now();
    let (splits, report) =
        read_image_folder(&root, &options).with_context(|| format!("read {}", root.display()))?;
    let decode_s = start.elapsed().as_secs_f64();
    let images = splits.train.len() + splits.test.len();
    anyhow::ensure!(!report.from_cache, "the first read came from the cache");
    println!(
        "first read (JPEG decode + cache write): {images} images in {decode_s:.2} s = {:.0} img/s",
        images as f64 / decode_s
    );
    let start = Instant::now();
    let (again, report) = read_image_folder(&root, &options)?;
    let cached_s = start.elapsed().as_secs_f64();
    anyhow::ensure!(
        report.from_cache && again == splits,
        "the second read did not give the cached images back"
    );
    println!(
        "second read (cache, {:.0} MB): {cached_s:.3} s = {:.0} img/s",
        std::fs::metadata(&cache)?.len() as f64 / 1e6,
        images as f64 / cached_s
    );
    println!(
        "train {} images of {} x {} x {}, {} classes",
        splits.train.len(),
        splits.train.channels(),
        splits.train.height(),
        splits.train.width(),
        splits.train.classes()
    );

    let device = Device::flex();
    let train = AugmentedDataset::new(
        Arc::new(splits.train),
        Augmentation::CropFlip { padding: 4 },
        Normalization::cifar(),
        1,
    );
    // Augmentation + normalisation alone, one thread.
    let start = Instant::now();
    let n = train.set().len();
    let mut checksum = 0.0f32;
    for i in 0..n {
        checksum += train.item(i)?.pixels[0];
    }
    let s = start.elapsed().as_secs_f64();
    println!(
        "augment + normalise only, 1 thread: {:.0} img/s (checksum {checksum:.1})",
        n as f64 / s
    );
    for workers in [0usize, 1, 2] {
        for epoch in 0..2 {
            let loader = epoch_loader(&train, epoch, 128, Some(7), workers, &device);
            let start = Instant::now();
            let mut seen = 0;
            for batch in loader.iter() {
                let batch = batch?;
                seen += batch.images.dims()[0];
            }
            let s = start.elapsed().as_secs_f64();
            println!(
                "full pipeline, batch 128, {workers} worker(s), epoch {epoch}: {seen} images in {s:.2} s = {:.0} img/s",
                seen as f64 / s
            );
        }
    }

    // Large images: random resized crop 224 + flip from 256 x 256 stored images (CUB-200 and
    // OmniArt recipe), synthetic pixels.
    let side = 256;
    let count = 256;
    let pixels: Vec<u8> = (0..count * 3 * side * side)
        .map(|i| (i * 31 % 251) as u8)
        .collect();
    let large = ImageSet::new(
        pixels,
        3,
        side,
        side,
        vec![0; count],
        None,
        vec!["bird".into()],
    )?;
    let large = AugmentedDataset::new(
        Arc::new(large),
        Augmentation::RandomResizedCrop { size: 224 },
        Normalization::imagenet(),
        1,
    );
    for workers in [0usize, 2] {
        let loader = epoch_loader(&large, 0, 64, Some(7), workers, &device);
        let start = Instant::now();
        let mut seen = 0;
        for batch in loader.iter() {
            seen += batch?.images.dims()[0];
        }
        let s = start.elapsed().as_secs_f64();
        println!(
            "random resized crop 224 from 256 x 256, batch 64, {workers} worker(s): {seen} images in {s:.2} s = {:.0} img/s",
            seen as f64 / s
        );
    }
    Ok(())
}
