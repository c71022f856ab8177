//! Readers of the binary formats: IDX (MNIST) and CIFAR binary, on files written here and on
//! sixteen real MNIST test digits.

use std::io::Write;
use std::path::{Path, PathBuf};

use hpn_data::{
    DataError, ImageSet, encode_idx, read_cifar10_bin, read_cifar100_bin, read_idx, read_mnist_dir,
};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

fn idx_header(magic: u32, dims: &[u32]) -> Vec<u8> {
    let mut out = magic.to_be_bytes().to_vec();
    for d in dims {
        out.extend_from_slice(&d.to_be_bytes());
    }
    out
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(bytes).unwrap();
    e.finish().unwrap()
}

/// Two 2 x 3 images (values 0..6 and 10..16) labelled 4 and 1.
fn tiny_idx() -> (Vec<u8>, Vec<u8>) {
    let mut images = idx_header(0x0803, &[2, 2, 3]);
    images.extend(0..6u8);
    images.extend(10..16u8);
    let mut labels = idx_header(0x0801, &[2]);
    labels.extend([4u8, 1]);
    (images, labels)
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, bytes).unwrap();
    p
}

#[test]
fn idx_plain_and_gzip_give_the_same_set() {
    let dir = tempfile::tempdir().unwrap();
    let (images, labels) = tiny_idx();
    let a = read_idx(
        &write(dir.path(), "i", &images),
        &write(dir.path(), "l", &labels),
    )
    .unwrap();
    let b = read_idx(
        &write(dir.path(), "i.gz", &gzip(&images)),
        &write(dir.path(), "l.gz", &gzip(&labels)),
    )
    .unwrap();
    assert_eq!(a, b);
    assert_eq!((a.len(), a.channels(), a.height(), a.width()), (2, 1, 2, 3));
    assert_eq!(a.image(1), &[10, 11, 12, 13, 14, 15]);
    assert_eq!(a.labels(), &[4, 1]);
    assert_eq!(a.classes(), 5);
}

fn idx_error(images: &[u8], labels: &[u8]) -> String {
    let dir = tempfile::tempdir().unwrap();
    let err = read_idx(
        &write(dir.path(), "imgs", images),
        &write(dir.path(), "labs", labels),
    )
    .unwrap_err();
    err.to_string()
}

#[test]
fn idx_bad_inputs_name_the_file() {
    let (images, labels) = tiny_idx();
    // wrong magic: a label file given as images
    let msg = idx_error(&labels, &labels);
    assert!(msg.contains("imgs") && msg.contains("magic"), "{msg}");
    // truncated images
    let msg = idx_error(&images[..images.len() - 1], &labels);
    assert!(msg.contains("imgs") && msg.contains("truncated"), "{msg}");
    // trailing bytes
    let mut long = images.clone();
    long.push(0);
    assert!(idx_error(&long, &labels).contains("trailing"));
    // image count != label count
    let mut three = idx_header(0x0801, &[3]);
    three.extend([0u8, 1, 2]);
    let msg = idx_error(&images, &three);
    assert!(msg.contains("labs") && msg.contains("3 labels"), "{msg}");
    // truncated gzip stream
    let gz = gzip(&images);
    let msg = idx_error(&gz[..gz.len() / 2], &labels);
    assert!(msg.contains("gzip"), "{msg}");
    // missing file
    let err = read_idx(Path::new("/nonexistent/x"), Path::new("/nonexistent/y")).unwrap_err();
    assert!(matches!(err, DataError::Io { .. }));
}

#[test]
fn real_mnist_digits_from_fixtures() {
    let f = fixtures();
    let set = read_idx(
        &f.join("mnist-t10k-16-images-idx3-ubyte.gz"),
        &f.join("mnist-t10k-16-labels-idx1-ubyte"),
    )
    .unwrap();
    // The first sixteen MNIST test labels, as published.
    assert_eq!(
        set.labels(),
        &[7, 2, 1, 0, 4, 1, 4, 9, 5, 9, 0, 6, 9, 0, 1, 5]
    );
    assert_eq!(
        (set.len(), set.channels(), set.height(), set.width()),
        (16, 1, 28, 28)
    );
    // The outermost ring of pixels of these sixteen digits is blank (checked with Python).
    for i in 0..set.len() {
        let img = set.image(i);
        for y in 0..28 {
            for x in 0..28 {
                if y == 0 || y == 27 || x == 0 || x == 27 {
                    assert_eq!(img[y * 28 + x], 0, "image {i} pixel ({x}, {y})");
                }
            }
        }
    }
    // Pixel sums computed from the raw file independently (Python, gzip module).
    let sums: Vec<u32> = (0..3)
        .map(|i| set.image(i).iter().map(|&p| p as u32).sum())
        .collect();
    assert_eq!(sums, vec![18454, 28850, 9871]);
}

#[test]
fn mnist_dir_accepts_plain_and_gz_names_and_fixes_ten_classes() {
    let f = fixtures();
    let set = read_idx(
        &f.join("mnist-t10k-16-images-idx3-ubyte.gz"),
        &f.join("mnist-t10k-16-labels-idx1-ubyte"),
    )
    .unwrap();
    let (images, labels) = encode_idx(&set).unwrap();
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "train-images-idx3-ubyte.gz", &gzip(&images));
    write(dir.path(), "train-labels-idx1-ubyte", &labels);
    write(dir.path(), "t10k-images-idx3-ubyte", &images);
    write(dir.path(), "t10k-labels-idx1-ubyte.gz", &gzip(&labels));
    let splits = read_mnist_dir(dir.path()).unwrap();
    assert_eq!(splits.train, splits.test);
    assert_eq!(splits.train.classes(), 10);
    assert_eq!(splits.train.class_names()[7], "7");
    assert_eq!(splits.train.pixels(), set.pixels());

    // A label above 9 names the file and the entry.
    let mut bad = labels.clone();
    *bad.last_mut().unwrap() = 12;
    write(dir.path(), "t10k-labels-idx1-ubyte", &bad);
    std::fs::remove_file(dir.path().join("t10k-labels-idx1-ubyte.gz")).unwrap();
    let msg = read_mnist_dir(dir.path()).unwrap_err().to_string();
    assert!(
        msg.contains("t10k-labels-idx1-ubyte") && msg.contains("entry 15"),
        "{msg}"
    );

    std::fs::remove_file(dir.path().join("t10k-images-idx3-ubyte")).unwrap();
    let msg = read_mnist_dir(dir.path()).unwrap_err().to_string();
    assert!(msg.contains("t10k-images-idx3-ubyte"), "{msg}");
}

/// A CIFAR record: labels then a 3 x 32 x 32 image whose red plane is `r`, green `g`, blue `b`.
fn record(labels: &[u8], r: u8, g: u8, b: u8) -> Vec<u8> {
    let mut out = labels.to_vec();
    for v in [r, g, b] {
        out.extend(std::iter::repeat_n(v, 1024));
    }
    out
}

#[test]
fn cifar10_binary_folder() {
    let dir = tempfile::tempdir().unwrap();
    let names = "airplane\nautomobile\nbird\ncat\ndeer\ndog\nfrog\nhorse\nship\ntruck\n\n";
    write(dir.path(), "batches.meta.txt", names.as_bytes());
    for i in 1..=5u8 {
        let mut bytes = record(&[i], i, 100, 200);
        bytes.extend(record(&[9], 0, 0, i));
        write(dir.path(), &format!("data_batch_{i}.bin"), &bytes);
    }
    write(dir.path(), "test_batch.bin", &record(&[3], 7, 8, 9));
    let splits = read_cifar10_bin(dir.path()).unwrap();
    assert_eq!(splits.train.len(), 10);
    assert_eq!(splits.test.len(), 1);
    assert_eq!(splits.train.labels(), &[1, 9, 2, 9, 3, 9, 4, 9, 5, 9]);
    assert_eq!(splits.test.class_names()[3], "cat");
    let img = splits.test.image(0);
    assert_eq!((img[0], img[1024], img[2048], img[3071]), (7, 8, 9, 9));

    // label 10 is out of range: the file and the record are named
    write(dir.path(), "test_batch.bin", &record(&[10], 0, 0, 0));
    let msg = read_cifar10_bin(dir.path()).unwrap_err().to_string();
    assert!(
        msg.contains("test_batch.bin") && msg.contains("record 0") && msg.contains("label 10"),
        "{msg}"
    );
    // truncated record
    let mut short = record(&[1], 0, 0, 0);
    short.pop();
    write(dir.path(), "test_batch.bin", &short);
    let msg = read_cifar10_bin(dir.path()).unwrap_err().to_string();
    assert!(
        msg.contains("test_batch.bin") && msg.contains("truncated"),
        "{msg}"
    );
    // wrong number of class names
    write(dir.path(), "batches.meta.txt", b"a\nb\n");
    assert!(
        read_cifar10_bin(dir.path())
            .unwrap_err()
            .to_string()
            .contains("2 class names")
    );
}

#[test]
fn cifar100_fine_and_coarse() {
    let dir = tempfile::tempdir().unwrap();
    let fine: String = (0..100).map(|i| format!("fine{i}\n")).collect();
    let coarse: String = (0..20).map(|i| format!("coarse{i}\n")).collect();
    write(dir.path(), "fine_label_names.txt", fine.as_bytes());
    write(dir.path(), "coarse_label_names.txt", coarse.as_bytes());
    let mut train = record(&[19, 99], 1, 2, 3);
    train.extend(record(&[0, 42], 4, 5, 6));
    write(dir.path(), "train.bin", &train);
    write(dir.path(), "test.bin", &record(&[5, 7], 0, 0, 0));
    let f = read_cifar100_bin(dir.path(), true).unwrap();
    assert_eq!(f.train.labels(), &[99, 42]);
    assert_eq!(f.train.class_names()[99], "fine99");
    assert_eq!(f.train.image(1)[1024], 5);
    let c = read_cifar100_bin(dir.path(), false).unwrap();
    assert_eq!(c.train.labels(), &[19, 0]);
    assert_eq!(c.test.labels(), &[5]);
    assert_eq!(c.train.classes(), 20);
    // a coarse label of 20 is out of range for the coarse reading only
    write(dir.path(), "test.bin", &record(&[20, 7], 0, 0, 0));
    assert!(read_cifar100_bin(dir.path(), true).is_ok());
    assert!(read_cifar100_bin(dir.path(), false).is_err());
}

#[test]
fn encode_idx_rejects_what_idx_cannot_hold() {
    let rgb = ImageSet::new(vec![0; 3], 3, 1, 1, vec![0], None, vec!["a".into()]).unwrap();
    assert!(encode_idx(&rgb).is_err());
}

#[test]
fn committed_mnist_subset_reads_with_its_documented_counts() {
    // datasets/mnist-subset: 1,000 training images per digit and 2,000 test images.
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../datasets/mnist-subset");
    let splits = read_mnist_dir(&dir).unwrap();
    assert_eq!(splits.train.class_counts(), vec![1000; 10]);
    assert_eq!(splits.test.len(), 2000);
    assert_eq!((splits.train.height(), splits.train.width()), (28, 28));
}
