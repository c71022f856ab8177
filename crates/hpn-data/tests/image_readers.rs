//! Readers of decoded-image datasets (image folders, Tiny ImageNet, CUB-200, CSV tables) on
//! small image files written here, including the cache and the handling of bad entries.

use std::path::Path;

use hpn_data::{
    CsvColumns, CsvTables, DataError, ImageSet, ReadOptions, ReadReport, Splits, read_csv_images,
    read_csv_splits, read_cub200, read_image_folder, read_tiny_imagenet,
};
use image::{GrayImage, Luma, Rgb, RgbImage};

/// Options with a stored size only.
fn sized(size: Option<(u32, u32)>) -> ReadOptions {
    ReadOptions {
        size,
        ..ReadOptions::default()
    }
}

/// Options with a stored size and a cache file.
fn cached(size: Option<(u32, u32)>, cache: &Path) -> ReadOptions {
    ReadOptions {
        size,
        cache: Some(cache.to_path_buf()),
        skip_bad: false,
    }
}

/// Options that skip bad images, with an optional cache file.
fn skipping(cache: Option<&Path>) -> ReadOptions {
    ReadOptions {
        size: None,
        cache: cache.map(Path::to_path_buf),
        skip_bad: true,
    }
}

/// The splits of a reader that must succeed, without its report.
fn ok_splits(read: Result<(Splits, ReadReport), DataError>) -> Splits {
    read.unwrap().0
}

/// Writes bytes that are not an image to `path`, under an image file name.
fn write_corrupt(path: &Path) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, b"\x89PNG\r\n\x1a\n not really a PNG").unwrap();
}

/// Checks that `skipped` lists exactly the files ending in `names`, in that order.
fn assert_skipped(report: &ReadReport, names: &[&str]) {
    let got: Vec<String> = report
        .skipped
        .iter()
        .map(|(p, _)| p.to_string_lossy().into_owned())
        .collect();
    assert_eq!(got.len(), names.len(), "{got:?}");
    for (path, name) in got.iter().zip(names) {
        assert!(path.ends_with(name), "{path} is not {name}");
    }
}

/// An RGB image whose pixel `(x, y)` is `(base + x, base + y, base)`.
fn rgb(width: u32, height: u32, base: u8) -> RgbImage {
    RgbImage::from_fn(width, height, |x, y| {
        Rgb([base + x as u8, base + y as u8, base])
    })
}

fn save_rgb(path: &Path, image: &RgbImage) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    image.save(path).unwrap();
}

/// `root/{train,test}/{cat,ant}` with PNG images (lossless) of 4 x 3 pixels.
fn make_folder(root: &Path) {
    save_rgb(&root.join("train/cat/a.png"), &rgb(4, 3, 10));
    save_rgb(&root.join("train/cat/b.png"), &rgb(4, 3, 20));
    save_rgb(&root.join("train/ant/x.PNG"), &rgb(4, 3, 30));
    save_rgb(&root.join("test/ant/y.png"), &rgb(4, 3, 40));
    save_rgb(&root.join("test/cat/z.jpg"), &rgb(4, 3, 50));
    std::fs::write(root.join("train/cat/notes.txt"), "not an image").unwrap();
}

#[test]
fn folder_classes_sorted_pixels_channel_first() {
    let dir = tempfile::tempdir().unwrap();
    make_folder(dir.path());
    let (splits, report) = read_image_folder(dir.path(), &ReadOptions::default()).unwrap();
    assert_eq!(report, ReadReport::default());
    assert_eq!(
        splits.train.class_names(),
        &["ant".to_string(), "cat".to_string()]
    );
    assert_eq!(splits.train.labels(), &[0, 1, 1]);
    assert_eq!(splits.test.labels(), &[0, 1]);
    assert_eq!(
        (
            splits.train.channels(),
            splits.train.height(),
            splits.train.width()
        ),
        (3, 3, 4)
    );
    // train/cat/b.png: R plane = 20 + x, G plane = 20 + y, B plane = 20.
    let img = splits.train.image(2);
    assert_eq!(&img[0..4], &[20, 21, 22, 23]);
    assert_eq!(&img[12..16], &[20, 20, 20, 20]);
    assert_eq!(&img[16..20], &[21, 21, 21, 21]);
    assert_eq!(&img[20..24], &[22, 22, 22, 22]);
    assert!(img[24..].iter().all(|&b| b == 20));
}

#[test]
fn folder_resize_grey_detection_and_size_mismatch() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    for (split, class, v) in [
        ("train", "a", 10u8),
        ("train", "b", 200),
        ("test", "a", 60),
        ("test", "b", 90),
    ] {
        let p = root.join(split).join(class).join("g.png");
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        GrayImage::from_pixel(8, 6, Luma([v])).save(&p).unwrap();
    }
    let splits = ok_splits(read_image_folder(root, &sized(Some((4, 4)))));
    assert_eq!(
        (
            splits.train.channels(),
            splits.train.height(),
            splits.train.width()
        ),
        (1, 4, 4)
    );
    // a constant image stays constant under scaling
    assert!(splits.train.image(1).iter().all(|&p| p == 200));
    // without a size, a test image of another size is an error
    GrayImage::from_pixel(5, 5, Luma([1]))
        .save(root.join("test/b/g.png"))
        .unwrap();
    let msg = read_image_folder(root, &ReadOptions::default())
        .unwrap_err()
        .to_string();
    assert!(msg.contains("test") && msg.contains("5 x 5"), "{msg}");
    // ... and so is one in the same split, naming the file
    GrayImage::from_pixel(5, 5, Luma([1]))
        .save(root.join("train/b/h.png"))
        .unwrap();
    let msg = read_image_folder(root, &ReadOptions::default())
        .unwrap_err()
        .to_string();
    assert!(
        msg.contains("h.png") && msg.contains("expected 8 x 6"),
        "{msg}"
    );
}

#[test]
fn cache_is_reused_and_invalidated_by_a_changed_file() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("data");
    make_folder(&root);
    let cache = dir.path().join("cache/folder.bin");
    let options = cached(Some((4, 3)), &cache);
    let (first, r1) = read_image_folder(&root, &options).unwrap();
    assert!(!r1.from_cache && cache.is_file());
    let (second, r2) = read_image_folder(&root, &options).unwrap();
    assert!(r2.from_cache);
    assert_eq!(first, second);
    // skip_bad is part of the cache key
    let with_skip = ReadOptions {
        skip_bad: true,
        ..options.clone()
    };
    let (skipped, r3) = read_image_folder(&root, &with_skip).unwrap();
    assert!(!r3.from_cache);
    assert_eq!(skipped, first);
    assert!(read_image_folder(&root, &with_skip).unwrap().1.from_cache);
    assert!(!read_image_folder(&root, &options).unwrap().1.from_cache);
    // and so is the size
    let (_, r3) = read_image_folder(&root, &cached(Some((2, 2)), &cache)).unwrap();
    assert!(!r3.from_cache);
    // a changed image (other size in bytes) invalidates the cache
    save_rgb(&root.join("train/cat/a.png"), &rgb(4, 3, 99));
    let (third, r4) = read_image_folder(&root, &options).unwrap();
    assert!(!r4.from_cache);
    assert_eq!(third.train.image(1)[0], 99);
    // a corrupt cache file is rebuilt, not trusted
    let mut bytes = std::fs::read(&cache).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0xff;
    std::fs::write(&cache, &bytes).unwrap();
    let (fourth, r5) = read_image_folder(&root, &options).unwrap();
    assert!(!r5.from_cache);
    assert_eq!(fourth, third);
}

#[test]
fn folder_bad_entries_error_or_skip() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    make_folder(root);
    std::fs::write(root.join("train/cat/broken.jpg"), b"\xff\xd8\xff garbage").unwrap();
    let err = read_image_folder(root, &ReadOptions::default()).unwrap_err();
    assert!(matches!(err, DataError::Decode { .. }));
    assert!(err.to_string().contains("broken.jpg"));
    let (splits, report) = read_image_folder(root, &skipping(None)).unwrap();
    assert_eq!(splits.train.len(), 3);
    assert_eq!(report.skipped.len(), 1);
    assert!(report.skipped[0].0.ends_with("train/cat/broken.jpg"));
    assert_eq!(splits.train.labels(), &[0, 1, 1]);

    // an empty class folder
    std::fs::create_dir_all(root.join("train/dog")).unwrap();
    let msg = read_image_folder(root, &ReadOptions::default())
        .unwrap_err()
        .to_string();
    assert!(
        msg.contains("dog") && msg.contains("empty class folder"),
        "{msg}"
    );
    std::fs::remove_dir(root.join("train/dog")).unwrap();
    // a test class unknown to training
    save_rgb(&root.join("test/emu/e.png"), &rgb(4, 3, 0));
    let msg = read_image_folder(root, &ReadOptions::default())
        .unwrap_err()
        .to_string();
    assert!(msg.contains("emu"), "{msg}");
    // no test folder
    let other = tempfile::tempdir().unwrap();
    save_rgb(&other.path().join("train/a/a.png"), &rgb(2, 2, 0));
    assert!(matches!(
        read_image_folder(other.path(), &ReadOptions::default()),
        Err(DataError::Layout { .. })
    ));
}

/// Tiny ImageNet with two classes of two 8 x 8 training images each and two validation
/// images, with `words.txt`.
fn make_tiny(root: &Path) {
    for (wnid, base) in [("n02", 10u8), ("n01", 50)] {
        for i in 0..2 {
            save_rgb(
                &root.join(format!("train/{wnid}/images/{wnid}_{i}.JPEG")),
                &rgb(8, 8, base),
            );
        }
    }
    save_rgb(&root.join("val/images/val_0.JPEG"), &rgb(8, 8, 0));
    save_rgb(&root.join("val/images/val_1.JPEG"), &rgb(8, 8, 0));
    std::fs::write(
        root.join("val/val_annotations.txt"),
        "val_0.JPEG\tn02\t0\t0\t5\t5\nval_1.JPEG\tn01\t1\t1\t6\t6\n",
    )
    .unwrap();
    std::fs::write(
        root.join("words.txt"),
        "n01\tgoldfish, Carassius auratus\nn02\tEuropean fire salamander\n",
    )
    .unwrap();
}

#[test]
fn tiny_imagenet_layout() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    make_tiny(root);
    let cache = root.join("tiny.cache");
    let (splits, report) = read_tiny_imagenet(root, &cached(None, &cache)).unwrap();
    assert!(!report.from_cache && report.skipped.is_empty());
    assert_eq!(
        splits.train.class_names(),
        &[
            "goldfish".to_string(),
            "European fire salamander".to_string()
        ]
    );
    assert_eq!(splits.train.labels(), &[0, 0, 1, 1]);
    assert_eq!(splits.test.labels(), &[1, 0]);
    assert_eq!((splits.train.height(), splits.train.width()), (8, 8));
    let (again, report) = read_tiny_imagenet(root, &cached(None, &cache)).unwrap();
    assert!(report.from_cache);
    assert_eq!(splits, again);
    // 64 x 64 is the one size that may be given; another is an error naming it
    let at_64 = ok_splits(read_tiny_imagenet(root, &sized(Some((64, 64)))));
    assert_eq!((at_64.train.height(), at_64.train.width()), (64, 64));
    let msg = read_tiny_imagenet(root, &sized(Some((32, 64))))
        .unwrap_err()
        .to_string();
    assert!(msg.contains("32 x 64") && msg.contains("64 x 64"), "{msg}");
    std::fs::write(
        root.join("val/val_annotations.txt"),
        "val_0.JPEG\tn99\t0\t0\t5\t5\n",
    )
    .unwrap();
    let msg = read_tiny_imagenet(root, &ReadOptions::default())
        .unwrap_err()
        .to_string();
    assert!(
        msg.contains("val_annotations.txt") && msg.contains("line 1") && msg.contains("n99"),
        "{msg}"
    );
}

#[test]
fn tiny_imagenet_skip_bad_leaves_a_corrupt_image_out() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    make_tiny(root);
    write_corrupt(&root.join("train/n01/images/n01_1.JPEG"));
    let err = read_tiny_imagenet(root, &ReadOptions::default()).unwrap_err();
    assert!(matches!(err, DataError::Decode { .. }), "{err}");
    assert!(err.to_string().contains("n01_1.JPEG"), "{err}");

    let cache = root.join("tiny.cache");
    let (splits, report) = read_tiny_imagenet(root, &skipping(Some(&cache))).unwrap();
    assert!(!report.from_cache);
    assert_skipped(&report, &["train/n01/images/n01_1.JPEG"]);
    assert_eq!(splits.train.labels(), &[0, 1, 1]);
    assert_eq!(splits.test.labels(), &[1, 0]);
    // the cache keeps the report; without skip_bad the cache is not used and the error is back
    let (again, report) = read_tiny_imagenet(root, &skipping(Some(&cache))).unwrap();
    assert!(report.from_cache);
    assert_skipped(&report, &["train/n01/images/n01_1.JPEG"]);
    assert_eq!(again, splits);
    assert!(read_tiny_imagenet(root, &cached(None, &cache)).is_err());

    // a validation image listed but missing: an error naming it, or skipped
    std::fs::remove_file(root.join("val/images/val_1.JPEG")).unwrap();
    let msg = read_tiny_imagenet(root, &ReadOptions::default())
        .unwrap_err()
        .to_string();
    assert!(msg.contains("val_1.JPEG"), "{msg}");
    let (splits, report) = read_tiny_imagenet(root, &skipping(Some(&cache))).unwrap();
    assert!(!report.from_cache);
    assert_skipped(
        &report,
        &["train/n01/images/n01_1.JPEG", "val/images/val_1.JPEG"],
    );
    assert_eq!(splits.test.labels(), &[1]);
}

/// CUB-200 with two species: a.jpg (40 x 20, train), b.png (10 x 30, test), c.png (16 x 16,
/// train).
fn make_cub(root: &Path) {
    save_rgb(&root.join("images/001.Albatross/a.jpg"), &rgb(40, 20, 0));
    save_rgb(&root.join("images/002.Wren/b.png"), &rgb(10, 30, 0));
    save_rgb(&root.join("images/002.Wren/c.png"), &rgb(16, 16, 0));
    std::fs::write(
        root.join("images.txt"),
        "1 001.Albatross/a.jpg\n2 002.Wren/b.png\n3 002.Wren/c.png\n",
    )
    .unwrap();
    std::fs::write(root.join("image_class_labels.txt"), "1 1\n2 2\n3 2\n").unwrap();
    std::fs::write(root.join("train_test_split.txt"), "1 1\n2 0\n3 1\n").unwrap();
    std::fs::write(root.join("classes.txt"), "1 001.Albatross\n2 002.Wren\n").unwrap();
}

#[test]
fn cub200_layout_and_square_storage() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    make_cub(root);
    let splits = ok_splits(read_cub200(root, &sized(Some((8, 8)))));
    assert_eq!(
        splits.train.class_names(),
        &["Albatross".to_string(), "Wren".to_string()]
    );
    assert_eq!(splits.train.labels(), &[0, 1]);
    assert_eq!(splits.test.labels(), &[1]);
    assert_eq!((splits.train.height(), splits.train.width()), (8, 8));
    // without a size: 256 x 256
    let (default, _) = read_cub200(root, &ReadOptions::default()).unwrap();
    assert_eq!((default.test.height(), default.test.width()), (256, 256));
    // a size that is not square, or zero, is an error naming it
    let msg = read_cub200(root, &sized(Some((8, 6))))
        .unwrap_err()
        .to_string();
    assert!(msg.contains("8 x 6") && msg.contains("square"), "{msg}");
    assert!(read_cub200(root, &sized(Some((0, 0)))).is_err());
    std::fs::write(root.join("image_class_labels.txt"), "1 1\n2 3\n3 2\n").unwrap();
    let msg = read_cub200(root, &sized(Some((8, 8))))
        .unwrap_err()
        .to_string();
    assert!(
        msg.contains("image_class_labels.txt") && msg.contains("line 2"),
        "{msg}"
    );
    std::fs::write(root.join("image_class_labels.txt"), "1 1\n3 2\n").unwrap();
    let msg = read_cub200(root, &sized(Some((8, 8))))
        .unwrap_err()
        .to_string();
    assert!(msg.contains("image id 2"), "{msg}");
}

#[test]
fn cub200_skip_bad_leaves_a_corrupt_image_out() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    make_cub(root);
    write_corrupt(&root.join("images/002.Wren/c.png"));
    let err = read_cub200(root, &sized(Some((8, 8)))).unwrap_err();
    assert!(matches!(err, DataError::Decode { .. }), "{err}");
    assert!(err.to_string().contains("c.png"), "{err}");

    let cache = root.join("cub.cache");
    let options = ReadOptions {
        size: Some((8, 8)),
        ..skipping(Some(&cache))
    };
    let (splits, report) = read_cub200(root, &options).unwrap();
    assert!(!report.from_cache);
    assert_skipped(&report, &["images/002.Wren/c.png"]);
    assert_eq!(splits.train.labels(), &[0]);
    assert_eq!(splits.test.labels(), &[1]);
    assert_eq!((splits.train.height(), splits.train.width()), (8, 8));
    let (again, report) = read_cub200(root, &options).unwrap();
    assert!(report.from_cache);
    assert_skipped(&report, &["images/002.Wren/c.png"]);
    assert_eq!(again, splits);
    // without skip_bad, the cache written with it is not used
    assert!(read_cub200(root, &cached(Some((8, 8)), &cache)).is_err());

    // an image listed but missing: an error naming it, or skipped
    std::fs::remove_file(root.join("images/002.Wren/b.png")).unwrap();
    let msg = read_cub200(root, &sized(Some((8, 8))))
        .unwrap_err()
        .to_string();
    assert!(msg.contains("b.png"), "{msg}");
    let (splits, report) = read_cub200(root, &options).unwrap();
    assert_skipped(&report, &["images/002.Wren/c.png", "images/002.Wren/b.png"]);
    assert!(splits.test.is_empty());
}

fn omniart_columns() -> CsvColumns {
    CsvColumns {
        id: "id".into(),
        value: Some("year".into()),
        class: Some("style".into()),
    }
}

/// The image set of a CSV read that must succeed, without its report.
fn image_set(read: Result<(ImageSet, ReadReport), DataError>) -> ImageSet {
    read.unwrap().0
}

#[test]
fn csv_images_values_classes_and_bad_rows() {
    let dir = tempfile::tempdir().unwrap();
    let images = dir.path().join("img");
    save_rgb(&images.join("p1.jpg"), &rgb(12, 6, 0));
    save_rgb(&images.join("p2.png"), &rgb(6, 12, 0));
    save_rgb(&images.join("p3.png"), &rgb(6, 6, 0));
    let csv = dir.path().join("omniart.csv");
    std::fs::write(
        &csv,
        "id,year,style\np1,1650,Baroque\np2,1890,\"Impressionism, late\"\np3,1660,Baroque\n",
    )
    .unwrap();
    let four = sized(Some((4, 4)));
    let set = image_set(read_csv_images(&csv, &images, &omniart_columns(), &four));
    assert_eq!(
        set.class_names(),
        &["Baroque".to_string(), "Impressionism, late".to_string()]
    );
    assert_eq!(set.labels(), &[0, 1, 0]);
    assert_eq!(set.targets(), Some(&[1650.0, 1890.0, 1660.0][..]));
    assert_eq!((set.height(), set.width()), (4, 4));
    // without a size: 224 x 224
    let set = image_set(read_csv_images(
        &csv,
        &images,
        &omniart_columns(),
        &ReadOptions::default(),
    ));
    assert_eq!((set.height(), set.width()), (224, 224));

    std::fs::write(
        &csv,
        "id,year,style\np1,1650,Baroque\np2,,Baroque\np3,16x0,Baroque\np4,1700,Rococo\n",
    )
    .unwrap();
    let msg = read_csv_images(&csv, &images, &omniart_columns(), &four)
        .unwrap_err()
        .to_string();
    assert!(
        msg.contains("omniart.csv") && msg.contains("line 3") && msg.contains("year"),
        "{msg}"
    );
    let skip_four = ReadOptions {
        size: Some((4, 4)),
        ..skipping(None)
    };
    let (set, report) = read_csv_images(&csv, &images, &omniart_columns(), &skip_four).unwrap();
    assert_eq!(set.len(), 1);
    assert_eq!(report.skipped.len(), 3);
    assert!(report.skipped[1].1.contains("line 4") && report.skipped[2].1.contains("p4"));

    let no_class = CsvColumns {
        id: "id".into(),
        value: None,
        class: None,
    };
    let set = read_csv_images(&csv, &images, &no_class, &four).unwrap_err();
    assert!(set.to_string().contains("p4"));
    let bad_column = CsvColumns {
        id: "name".into(),
        value: None,
        class: None,
    };
    let msg = read_csv_images(&csv, &images, &bad_column, &four)
        .unwrap_err()
        .to_string();
    assert!(msg.contains("no column \"name\""), "{msg}");
}

#[test]
fn csv_skip_bad_leaves_a_corrupt_image_out() {
    let dir = tempfile::tempdir().unwrap();
    let images = dir.path().join("img");
    save_rgb(&images.join("p1.jpg"), &rgb(12, 6, 0));
    write_corrupt(&images.join("p2.png"));
    save_rgb(&images.join("p3.png"), &rgb(6, 6, 0));
    let csv = dir.path().join("omniart.csv");
    std::fs::write(
        &csv,
        "id,year,style\np1,1650,Baroque\np2,1890,Rococo\np3,1660,Baroque\n",
    )
    .unwrap();
    let four = sized(Some((4, 4)));
    let err = read_csv_images(&csv, &images, &omniart_columns(), &four).unwrap_err();
    assert!(matches!(err, DataError::Decode { .. }), "{err}");
    assert!(err.to_string().contains("p2.png"), "{err}");

    let cache = dir.path().join("csv.cache");
    let options = ReadOptions {
        size: Some((4, 4)),
        ..skipping(Some(&cache))
    };
    let (set, report) = read_csv_images(&csv, &images, &omniart_columns(), &options).unwrap();
    assert!(!report.from_cache);
    assert_skipped(&report, &["img/p2.png"]);
    assert_eq!(set.targets(), Some(&[1650.0, 1660.0][..]));
    // the classes are those of the rows read, the bad image's included
    assert_eq!(
        set.class_names(),
        &["Baroque".to_string(), "Rococo".to_string()]
    );
    assert_eq!(set.labels(), &[0, 0]);
    let (again, report) = read_csv_images(&csv, &images, &omniart_columns(), &options).unwrap();
    assert!(report.from_cache);
    assert_skipped(&report, &["img/p2.png"]);
    assert_eq!(again, set);
    assert!(
        read_csv_images(
            &csv,
            &images,
            &omniart_columns(),
            &cached(Some((4, 4)), &cache)
        )
        .is_err()
    );

    // the same through read_csv_splits, the bad image in the test table
    let train = dir.path().join("train.csv");
    let test = dir.path().join("test.csv");
    std::fs::write(&train, "id,year,style\np1,1650,Baroque\n").unwrap();
    std::fs::write(&test, "id,year,style\np2,1890,Baroque\np3,1660,Baroque\n").unwrap();
    let tables = CsvTables {
        train,
        test,
        images: images.clone(),
        columns: omniart_columns(),
    };
    let msg = read_csv_splits(&tables, &four).unwrap_err().to_string();
    assert!(msg.contains("p2.png"), "{msg}");
    let (splits, report) = read_csv_splits(&tables, &options).unwrap();
    assert_skipped(&report, &["img/p2.png"]);
    assert_eq!((splits.train.len(), splits.test.len()), (1, 1));
}

#[test]
fn csv_splits_share_the_training_classes() {
    let dir = tempfile::tempdir().unwrap();
    let images = dir.path().join("images");
    for id in ["1", "2", "3", "4"] {
        save_rgb(&images.join(format!("{id}.png")), &rgb(5, 5, 0));
    }
    let train = dir.path().join("train.csv");
    let test = dir.path().join("test.csv");
    std::fs::write(
        &train,
        "id,year,style\n1,1500,renaissance\n2,1650,baroque\n3,1660,baroque\n",
    )
    .unwrap();
    // the test table lacks "baroque": its label for renaissance must still be 1
    std::fs::write(&test, "id,year,style\n4,1510,renaissance\n").unwrap();
    let tables = CsvTables {
        train,
        test: test.clone(),
        images,
        columns: omniart_columns(),
    };
    let cache = dir.path().join("omni.cache");
    let options = cached(Some((5, 5)), &cache);
    let (splits, report) = read_csv_splits(&tables, &options).unwrap();
    assert!(!report.from_cache);
    assert!(dir.path().join("omni.cache.train").is_file());
    assert!(dir.path().join("omni.cache.test").is_file());
    assert_eq!(splits.train.labels(), &[1, 0, 0]);
    assert_eq!(splits.test.labels(), &[1]);
    assert_eq!(splits.test.class_names(), splits.train.class_names());
    let (again, report) = read_csv_splits(&tables, &options).unwrap();
    assert!(report.from_cache);
    assert_eq!(again, splits);
    std::fs::write(&test, "id,year,style\n4,1510,rococo\n").unwrap();
    let msg = read_csv_splits(&tables, &sized(Some((5, 5))))
        .unwrap_err()
        .to_string();
    assert!(
        msg.contains("test.csv") && msg.contains("line 2") && msg.contains("rococo"),
        "{msg}"
    );
}
