//! Property tests: random bytes and random truncations or corruptions of valid files given to
//! the binary readers give `Ok` or `Err`, never a panic; a truncated valid file is always `Err`.

use std::io::Write;
use std::path::Path;

use hpn_data::parse::{parse_cifar_records, parse_idx_pair};
use hpn_data::read_idx;
use proptest::prelude::*;

fn valid_idx(n: u32, h: u32, w: u32) -> (Vec<u8>, Vec<u8>) {
    let mut images = 0x0803u32.to_be_bytes().to_vec();
    for d in [n, h, w] {
        images.extend_from_slice(&d.to_be_bytes());
    }
    images.extend((0..n * h * w).map(|v| v as u8));
    let mut labels = 0x0801u32.to_be_bytes().to_vec();
    labels.extend_from_slice(&n.to_be_bytes());
    labels.extend((0..n).map(|v| (v % 10) as u8));
    (images, labels)
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(bytes).unwrap();
    e.finish().unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn idx_random_bytes_never_panic(images in proptest::collection::vec(any::<u8>(), 0..64),
                                    labels in proptest::collection::vec(any::<u8>(), 0..32)) {
        let _ = parse_idx_pair(&images, &labels, Path::new("i"), Path::new("l"));
    }

    #[test]
    fn idx_random_headers_never_panic(dims in proptest::collection::vec(any::<u32>(), 3),
                                      tail in proptest::collection::vec(any::<u8>(), 0..64)) {
        // A valid magic with random (often huge) sizes must not allocate or index past the end.
        let mut images = 0x0803u32.to_be_bytes().to_vec();
        for d in &dims { images.extend_from_slice(&d.to_be_bytes()); }
        images.extend(&tail);
        let mut labels = 0x0801u32.to_be_bytes().to_vec();
        labels.extend_from_slice(&dims[0].to_be_bytes());
        labels.extend(&tail);
        let _ = parse_idx_pair(&images, &labels, Path::new("i"), Path::new("l"));
    }

    #[test]
    fn idx_truncation_is_an_error(n in 1u32..5, h in 1u32..6, w in 1u32..6, cut in 0usize..1000) {
        let (images, labels) = valid_idx(n, h, w);
        prop_assert!(parse_idx_pair(&images, &labels, Path::new("i"), Path::new("l")).is_ok());
        let cut_images = cut % images.len();
        prop_assert!(parse_idx_pair(&images[..cut_images], &labels, Path::new("i"), Path::new("l")).is_err());
        let cut_labels = cut % labels.len();
        prop_assert!(parse_idx_pair(&images, &labels[..cut_labels], Path::new("i"), Path::new("l")).is_err());
    }

    #[test]
    fn idx_corrupted_byte_never_panics(at in 0usize..200, value in any::<u8>()) {
        let (mut images, mut labels) = valid_idx(3, 4, 5);
        let i = at % images.len();
        images[i] = value;
        let j = at % labels.len();
        labels[j] = value;
        let _ = parse_idx_pair(&images, &labels, Path::new("i"), Path::new("l"));
    }

    #[test]
    fn cifar_random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..8000),
                                      two_labels in any::<bool>()) {
        let (label_bytes, offset, k) = if two_labels { (2, 1, 100) } else { (1, 0, 10) };
        if let Ok((pixels, labels)) = parse_cifar_records(&bytes, label_bytes, offset, k, Path::new("c")) {
            prop_assert_eq!(pixels.len(), labels.len() * 3072);
            prop_assert!(labels.iter().all(|&l| l < k));
        }
    }

    #[test]
    fn cifar_truncation_is_an_error(records in 1usize..3, cut in 1usize..3073) {
        let bytes: Vec<u8> = (0..records * 3073).map(|i| if i % 3073 == 0 { 3 } else { i as u8 }).collect();
        prop_assert!(parse_cifar_records(&bytes, 1, 0, 10, Path::new("c")).is_ok());
        let short = &bytes[..bytes.len() - cut];
        prop_assert!(parse_cifar_records(short, 1, 0, 10, Path::new("c")).is_err());
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn gzip_truncation_and_corruption_through_files(cut in 0usize..10_000, at in 0usize..10_000, value in any::<u8>()) {
        let (images, labels) = valid_idx(4, 7, 7);
        let gz = gzip(&images);
        let dir = tempfile::tempdir().unwrap();
        let (ip, lp) = (dir.path().join("i.gz"), dir.path().join("l"));
        std::fs::write(&lp, &labels).unwrap();
        std::fs::write(&ip, &gz[..cut % gz.len()]).unwrap();
        prop_assert!(read_idx(&ip, &lp).is_err());
        let mut corrupt = gz.clone();
        let i = 2 + at % (gz.len() - 2);
        corrupt[i] ^= value | 1;
        std::fs::write(&ip, &corrupt).unwrap();
        if let Ok(set) = read_idx(&ip, &lp) {
            // If the corruption left a valid stream (e.g. in the gzip header), the data is intact.
            prop_assert_eq!(set.pixels(), &images[16..]);
        }
    }
}
