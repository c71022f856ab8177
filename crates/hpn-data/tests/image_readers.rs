//! Readers of decoded-image datasets (image folders, Tiny ImageNet, CUB-200, CSV tables) on
//! small image files written here, including the cache and the handling of bad entries.

use std::path::Path;

use hpn_data::{
    CsvColumns, DataError, read_csv_images, read_csv_images_with_report, read_csv_splits,
    read_cub200, read_image_folder, read_image_folder_with_report, read_tiny_imagenet,
};
use image::{GrayImage, Luma, Rgb, RgbImage};

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
    let splits = read_image_folder(dir.path(), None, None).unwrap();
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
    let splits = read_image_folder(root, Some((4, 4)), None).unwrap();
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
    let msg = read_image_folder(root, None, None).unwrap_err().to_string();
    assert!(msg.contains("test") && msg.contains("5 x 5"), "{msg}");
    // ... and so is one in the same split, naming the file
    GrayImage::from_pixel(5, 5, Luma([1]))
        .save(root.join("train/b/h.png"))
        .unwrap();
    let msg = read_image_folder(root, None, None).unwrap_err().to_string();
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
    let (first, r1) =
        read_image_folder_with_report(&root, Some((4, 3)), Some(&cache), false).unwrap();
    assert!(!r1.from_cache && cache.is_file());
    let (second, r2) =
        read_image_folder_with_report(&root, Some((4, 3)), Some(&cache), false).unwrap();
    assert!(r2.from_cache);
    assert_eq!(first, second);
    // another size is another cache key
    let (_, r3) = read_image_folder_with_report(&root, Some((2, 2)), Some(&cache), false).unwrap();
    assert!(!r3.from_cache);
    // a changed image (other size in bytes) invalidates the cache
    save_rgb(&root.join("train/cat/a.png"), &rgb(4, 3, 99));
    let (third, r4) =
        read_image_folder_with_report(&root, Some((4, 3)), Some(&cache), false).unwrap();
    assert!(!r4.from_cache);
    assert_eq!(third.train.image(1)[0], 99);
    // a corrupt cache file is rebuilt, not trusted
    let mut bytes = std::fs::read(&cache).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0xff;
    std::fs::write(&cache, &bytes).unwrap();
    let (fourth, r5) =
        read_image_folder_with_report(&root, Some((4, 3)), Some(&cache), false).unwrap();
    assert!(!r5.from_cache);
    assert_eq!(fourth, third);
}

#[test]
fn folder_bad_entries_error_or_skip() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    make_folder(root);
    std::fs::write(root.join("train/cat/broken.jpg"), b"\xff\xd8\xff garbage").unwrap();
    let err = read_image_folder(root, None, None).unwrap_err();
    assert!(matches!(err, DataError::Decode { .. }));
    assert!(err.to_string().contains("broken.jpg"));
    let (splits, report) = read_image_folder_with_report(root, None, None, true).unwrap();
    assert_eq!(splits.train.len(), 3);
    assert_eq!(report.skipped.len(), 1);
    assert!(report.skipped[0].0.ends_with("train/cat/broken.jpg"));
    assert_eq!(splits.train.labels(), &[0, 1, 1]);

    // an empty class folder
    std::fs::create_dir_all(root.join("train/dog")).unwrap();
    let msg = read_image_folder(root, None, None).unwrap_err().to_string();
    assert!(
        msg.contains("dog") && msg.contains("empty class folder"),
        "{msg}"
    );
    std::fs::remove_dir(root.join("train/dog")).unwrap();
    // a test class unknown to training
    save_rgb(&root.join("test/emu/e.png"), &rgb(4, 3, 0));
    let msg = read_image_folder(root, None, None).unwrap_err().to_string();
    assert!(msg.contains("emu"), "{msg}");
    // no test folder
    let other = tempfile::tempdir().unwrap();
    save_rgb(&other.path().join("train/a/a.png"), &rgb(2, 2, 0));
    assert!(matches!(
        read_image_folder(other.path(), None, None),
        Err(DataError::Layout { .. })
    ));
}

#[test]
fn tiny_imagenet_layout() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
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
    let cache = root.join("tiny.cache");
    let splits = read_tiny_imagenet(root, Some(&cache)).unwrap();
    assert_eq!(
        splits.train.class_names(),
        &[
            "goldfish".to_string(),
            "European fire salamander".to_string()
        ]
    );
    assert_eq!(splits.train.labels(), &[0, 0, 1, 1]);
    assert_eq!(splits.test.labels(), &[1, 0]);
    assert_eq!(splits, read_tiny_imagenet(root, Some(&cache)).unwrap());
    std::fs::write(
        root.join("val/val_annotations.txt"),
        "val_0.JPEG\tn99\t0\t0\t5\t5\n",
    )
    .unwrap();
    let msg = read_tiny_imagenet(root, None).unwrap_err().to_string();
    assert!(
        msg.contains("val_annotations.txt") && msg.contains("line 1") && msg.contains("n99"),
        "{msg}"
    );
}

#[test]
fn cub200_layout_and_square_storage() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
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
    let splits = read_cub200(root, 8, None).unwrap();
    assert_eq!(
        splits.train.class_names(),
        &["Albatross".to_string(), "Wren".to_string()]
    );
    assert_eq!(splits.train.labels(), &[0, 1]);
    assert_eq!(splits.test.labels(), &[1]);
    assert_eq!((splits.train.height(), splits.train.width()), (8, 8));
    std::fs::write(root.join("image_class_labels.txt"), "1 1\n2 3\n3 2\n").unwrap();
    let msg = read_cub200(root, 8, None).unwrap_err().to_string();
    assert!(
        msg.contains("image_class_labels.txt") && msg.contains("line 2"),
        "{msg}"
    );
    std::fs::write(root.join("image_class_labels.txt"), "1 1\n3 2\n").unwrap();
    let msg = read_cub200(root, 8, None).unwrap_err().to_string();
    assert!(msg.contains("image id 2"), "{msg}");
}

fn omniart_columns() -> CsvColumns {
    CsvColumns {
        id: "id".into(),
        value: Some("year".into()),
        class: Some("style".into()),
    }
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
    let set = read_csv_images(&csv, &images, &omniart_columns(), (4, 4), None).unwrap();
    assert_eq!(
        set.class_names(),
        &["Baroque".to_string(), "Impressionism, late".to_string()]
    );
    assert_eq!(set.labels(), &[0, 1, 0]);
    assert_eq!(set.targets(), Some(&[1650.0, 1890.0, 1660.0][..]));
    assert_eq!((set.height(), set.width()), (4, 4));

    std::fs::write(
        &csv,
        "id,year,style\np1,1650,Baroque\np2,,Baroque\np3,16x0,Baroque\np4,1700,Rococo\n",
    )
    .unwrap();
    let msg = read_csv_images(&csv, &images, &omniart_columns(), (4, 4), None)
        .unwrap_err()
        .to_string();
    assert!(
        msg.contains("omniart.csv") && msg.contains("line 3") && msg.contains("year"),
        "{msg}"
    );
    let (set, report) =
        read_csv_images_with_report(&csv, &images, &omniart_columns(), (4, 4), None, true).unwrap();
    assert_eq!(set.len(), 1);
    assert_eq!(report.skipped.len(), 3);
    assert!(report.skipped[1].1.contains("line 4") && report.skipped[2].1.contains("p4"));

    let no_class = CsvColumns {
        id: "id".into(),
        value: None,
        class: None,
    };
    let set = read_csv_images(&csv, &images, &no_class, (4, 4), None).unwrap_err();
    assert!(set.to_string().contains("p4"));
    let bad_column = CsvColumns {
        id: "name".into(),
        value: None,
        class: None,
    };
    let msg = read_csv_images(&csv, &images, &bad_column, (4, 4), None)
        .unwrap_err()
        .to_string();
    assert!(msg.contains("no column \"name\""), "{msg}");
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
    let cache = dir.path().join("omni.cache");
    let (splits, report) = read_csv_splits(
        &train,
        &test,
        &images,
        &omniart_columns(),
        (5, 5),
        Some(&cache),
        false,
    )
    .unwrap();
    assert!(!report.from_cache);
    assert_eq!(splits.train.labels(), &[1, 0, 0]);
    assert_eq!(splits.test.labels(), &[1]);
    assert_eq!(splits.test.class_names(), splits.train.class_names());
    let (again, report) = read_csv_splits(
        &train,
        &test,
        &images,
        &omniart_columns(),
        (5, 5),
        Some(&cache),
        false,
    )
    .unwrap();
    assert!(report.from_cache);
    assert_eq!(again, splits);
    std::fs::write(&test, "id,year,style\n4,1510,rococo\n").unwrap();
    let msg = read_csv_splits(
        &train,
        &test,
        &images,
        &omniart_columns(),
        (5, 5),
        None,
        false,
    )
    .unwrap_err()
    .to_string();
    assert!(
        msg.contains("test.csv") && msg.contains("line 2") && msg.contains("rococo"),
        "{msg}"
    );
}
