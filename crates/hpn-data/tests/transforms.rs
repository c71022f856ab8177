//! Rotation, rotated MNIST, augmentation, normalisation, class-wise subsets, the loader and
//! the dataset report, each against values worked out by hand or by an independent route.

use std::path::Path;
use std::sync::Arc;

use burn::data::dataset::Dataset;
use burn::tensor::Device;
use hpn_data::{
    Augmentation, AugmentedDataset, ImageSet, Normalization, Splits, describe, linear_imbalance,
    loader, read_idx, replay_subset, rotate_bilinear, rotated_mnist, split_classes,
    subsample_per_class, train_validation_split,
};

fn mnist16() -> ImageSet {
    let f = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    read_idx(
        &f.join("mnist-t10k-16-images-idx3-ubyte.gz"),
        &f.join("mnist-t10k-16-labels-idx1-ubyte"),
    )
    .unwrap()
}

#[test]
fn quarter_turns_of_a_real_digit_are_exact_index_maps() {
    let set = mnist16();
    let digit = set.image(0); // a 7
    let n = 28;
    let at = |img: &[u8], x: usize, y: usize| img[y * n + x];
    assert_eq!(rotate_bilinear(digit, 1, n, n, 0.0), digit);
    assert_eq!(rotate_bilinear(digit, 1, n, n, 360.0), digit);
    let r90 = rotate_bilinear(digit, 1, n, n, 90.0);
    let r180 = rotate_bilinear(digit, 1, n, n, 180.0);
    let r270 = rotate_bilinear(digit, 1, n, n, -90.0);
    for y in 0..n {
        for x in 0..n {
            // counter-clockwise quarter turn: the transpose flipped upside down
            assert_eq!(at(&r90, x, y), at(digit, n - 1 - y, x));
            assert_eq!(at(&r180, x, y), at(digit, n - 1 - x, n - 1 - y));
            assert_eq!(at(&r270, x, y), at(digit, y, n - 1 - x));
        }
    }
    // The top stroke of the 7 (rows 7-9) turns counter-clockwise into the left columns.
    let ink_left: u32 = (0..n)
        .map(|y| (7..10).map(|x| at(&r90, x, y) as u32).sum::<u32>())
        .sum();
    let ink_right: u32 = (0..n)
        .map(|y| (18..21).map(|x| at(&r90, x, y) as u32).sum::<u32>())
        .sum();
    assert!(ink_left > ink_right, "{ink_left} vs {ink_right}");
}

#[test]
fn any_angle_keeps_the_centre_pixel_and_blanks_corners_of_a_flat_image() {
    // 5 x 5 image, two channels: the centre (2, 2) is the rotation centre.
    let mut img = vec![100u8; 2 * 25];
    img[12] = 7;
    img[25 + 12] = 9;
    for angle in [13.0f32, 45.0, 101.5, 250.0] {
        let out = rotate_bilinear(&img, 2, 5, 5, angle);
        assert_eq!((out[12], out[25 + 12]), (7, 9));
    }
    let flat = vec![200u8; 25];
    let out = rotate_bilinear(&flat, 1, 5, 5, 45.0);
    // corner (0, 0): u = v = -2 samples (2, 2 - 2 sqrt 2) = (2, -0.828); only the row-0
    // neighbour is inside, with weight 1 - 0.828 = 0.172: round(200 * 0.1716) = 34
    assert_eq!(out[0], 34);
    // pixel (2, 1): u = 0, v = -1 samples (2 + sin45, 2 - cos45) = (2.71, 1.29): inside, flat
    assert_eq!(out[7], 200);
}

#[test]
fn rotated_mnist_keeps_the_digits_relabels_and_records_angles() {
    let set = mnist16();
    let rot = rotated_mnist(&set, &[2, 3, 4, 5, 7], 180.0, 11).unwrap();
    // labels of the fixture: 7 2 1 0 4 1 4 9 5 9 0 6 9 0 1 5 -> kept 7 2 4 4 5 5
    assert_eq!(rot.labels(), &[4, 0, 2, 2, 3, 3]);
    assert_eq!(
        rot.class_names(),
        &["2", "3", "4", "5", "7"].map(String::from)
    );
    let angles = rot.targets().unwrap();
    assert!(angles.iter().all(|a| (0.0..=180.0).contains(a)));
    for (k, &i) in [0usize, 1, 4, 6, 8, 15].iter().enumerate() {
        assert_eq!(
            rot.image(k),
            rotate_bilinear(set.image(i), 1, 28, 28, angles[k])
        );
    }
    assert_eq!(
        rot,
        rotated_mnist(&set, &[2, 3, 4, 5, 7], 180.0, 11).unwrap()
    );
    assert_ne!(
        angles,
        rotated_mnist(&set, &[2, 3, 4, 5, 7], 180.0, 12)
            .unwrap()
            .targets()
            .unwrap()
    );
    let still = rotated_mnist(&set, &[7], 0.0, 1).unwrap();
    assert_eq!(still.image(0), set.image(0));
    assert!(rotated_mnist(&set, &[2, 2], 180.0, 1).is_err());
    assert!(rotated_mnist(&set, &[10], 180.0, 1).is_err());
    assert!(rotated_mnist(&set, &[2], f32::NAN, 1).is_err());
}

/// Six 2-channel 4 x 5 images with distinct values, labels 0,1,0,1,0,1, targets 0..6.
fn small_set() -> ImageSet {
    let n = 6;
    let pixels: Vec<u8> = (0..n * 40).map(|v| (v % 251) as u8 + 1).collect();
    ImageSet::new(
        pixels,
        2,
        4,
        5,
        (0..n).map(|i| i % 2).collect(),
        Some((0..n).map(|i| i as f32).collect()),
        vec!["a".into(), "b".into()],
    )
    .unwrap()
}

/// Independent reference: pad with zeros, crop at (oy, ox), mirror if asked.
fn reference_crop_flip(
    img: &[u8],
    [c, h, w]: [usize; 3],
    p: usize,
    (oy, ox): (usize, usize),
    flip: bool,
) -> Vec<u8> {
    let (ph, pw) = (h + 2 * p, w + 2 * p);
    let mut padded = vec![0u8; c * ph * pw];
    for ch in 0..c {
        for y in 0..h {
            for x in 0..w {
                padded[ch * ph * pw + (y + p) * pw + x + p] = img[ch * h * w + y * w + x];
            }
        }
    }
    let mut out = Vec::new();
    for ch in 0..c {
        for y in 0..h {
            for x in 0..w {
                let xx = if flip { w - 1 - x } else { x };
                out.push(padded[ch * ph * pw + (oy + y) * pw + ox + xx]);
            }
        }
    }
    out
}

#[test]
fn crop_flip_outputs_are_padded_crops_and_deterministic() {
    let set = Arc::new(small_set());
    let unit = Normalization::new(vec![0.0], vec![1.0 / 255.0]).unwrap(); // x = p exactly
    let data = AugmentedDataset::new(set.clone(), Augmentation::CropFlip { padding: 2 }, unit, 5);
    let mut seen_flip = [false; 2];
    let mut offsets = std::collections::BTreeSet::new();
    for epoch in 0..40 {
        let d = data.for_epoch(epoch);
        for i in 0..set.len() {
            let item = d.get(i).unwrap();
            assert_eq!(item.shape, [2, 4, 5]);
            let got: Vec<u8> = item.pixels.iter().map(|&v| v.round() as u8).collect();
            let matches: Vec<(usize, usize, bool)> = (0..=4)
                .flat_map(|oy| (0..=4).flat_map(move |ox| [(oy, ox, false), (oy, ox, true)]))
                .filter(|&(oy, ox, f)| {
                    reference_crop_flip(set.image(i), [2, 4, 5], 2, (oy, ox), f) == got
                })
                .collect();
            assert_eq!(
                matches.len(),
                1,
                "item {i} epoch {epoch} is not a unique padded crop"
            );
            let (oy, ox, f) = matches[0];
            seen_flip[f as usize] = true;
            offsets.insert((oy, ox));
            assert_eq!(item.label, i % 2);
            assert_eq!(item.target, i as f32);
        }
    }
    assert!(seen_flip[0] && seen_flip[1]);
    assert!(
        offsets.len() > 15,
        "only {} of 25 offsets drawn",
        offsets.len()
    );

    // Same (seed, epoch, index): same item whatever the call order; other epoch: other items.
    let a: Vec<_> = (0..6).map(|i| data.get(i).unwrap()).collect();
    let b: Vec<_> = (0..6).rev().map(|i| data.get(i).unwrap()).collect();
    assert!(a.iter().zip(b.iter().rev()).all(|(x, y)| x == y));
    let later: Vec<_> = (0..6).map(|i| data.for_epoch(1).get(i).unwrap()).collect();
    assert_ne!(a, later);
    let other_seed = AugmentedDataset::new(
        set,
        Augmentation::CropFlip { padding: 2 },
        Normalization::unit_range(),
        6,
    );
    let c: Vec<_> = (0..6).map(|i| other_seed.get(i).unwrap().pixels).collect();
    let a_unit: Vec<_> = a
        .iter()
        .map(|x| x.pixels.iter().map(|v| v / 255.0).collect::<Vec<_>>())
        .collect();
    assert_ne!(a_unit, c);
}

#[test]
fn normalisation_values_on_a_hand_made_image() {
    // 3 x 1 x 2 image: red (255, 0), green (0, 255), blue (128, 128)
    let set = ImageSet::new(
        vec![255, 0, 0, 255, 128, 128],
        3,
        1,
        2,
        vec![0],
        None,
        vec!["x".into()],
    )
    .unwrap();
    let d = AugmentedDataset::new(Arc::new(set), Augmentation::None, Normalization::cifar(), 0);
    let px = d.get(0).unwrap().pixels;
    let want = [
        (1.0 - 0.507) / 0.267,
        (0.0 - 0.507) / 0.267,
        (0.0 - 0.487) / 0.256,
        (1.0 - 0.487) / 0.256,
        (128.0 / 255.0 - 0.441) / 0.276,
        (128.0 / 255.0 - 0.441) / 0.276,
    ];
    for (g, w) in px.iter().zip(want) {
        assert!((g - w).abs() < 1e-5, "{g} vs {w}");
    }
    // MNIST: 0 -> -0.1307 / 0.3081 = -0.424213
    let grey = ImageSet::new(vec![0], 1, 1, 1, vec![0], None, vec!["x".into()]).unwrap();
    let d = AugmentedDataset::new(
        Arc::new(grey.clone()),
        Augmentation::None,
        Normalization::mnist(),
        0,
    );
    assert!((d.get(0).unwrap().pixels[0] + 0.424_213).abs() < 1e-5);
    // CIFAR statistics on a grey image: an error, not a panic
    let d = AugmentedDataset::new(
        Arc::new(grey),
        Augmentation::None,
        Normalization::cifar(),
        0,
    );
    assert!(d.check().is_err() && d.get(0).is_err());
}

#[test]
fn random_resized_crop_and_center_crop_shapes() {
    let set = Arc::new(
        ImageSet::new(
            vec![90; 3 * 16 * 12],
            3,
            16,
            12,
            vec![0],
            None,
            vec!["x".into()],
        )
        .unwrap(),
    );
    let unit = Normalization::unit_range();
    let rrc = AugmentedDataset::new(
        set.clone(),
        Augmentation::RandomResizedCrop { size: 7 },
        unit.clone(),
        3,
    );
    for e in 0..20 {
        let item = rrc.for_epoch(e).get(0).unwrap();
        assert_eq!(item.shape, [3, 7, 7]);
        // a flat image stays flat whatever the crop
        assert!(item.pixels.iter().all(|v| (v - 90.0 / 255.0).abs() < 1e-6));
    }
    let center = AugmentedDataset::new(
        set,
        Augmentation::ResizeCenterCrop {
            resize: 8,
            crop: 10,
        },
        unit,
        3,
    );
    let item = center.get(0).unwrap();
    assert_eq!(item.shape, [3, 10, 10]);
    // 12 x 16 -> 8 x 10 (shorter side 8, longer truncated 10.67 -> 10); a 10-wide crop pads one
    // zero column on each side and keeps the full height.
    let row: Vec<f32> = item.pixels[..10].to_vec();
    assert_eq!(row[0], 0.0);
    assert_eq!(row[9], 0.0);
    assert!(row[1..9].iter().all(|v| (v - 90.0 / 255.0).abs() < 1e-6));
}

#[test]
fn subsample_imbalance_and_validation_counts() {
    // 100 classes x 210 one-pixel images
    let k = 100;
    let labels: Vec<usize> = (0..k * 210).map(|i| i % k).collect();
    let set = ImageSet::new(
        labels.iter().map(|&l| l as u8).collect(),
        1,
        1,
        1,
        labels.clone(),
        None,
        (0..k).map(|c| format!("c{c}")).collect(),
    )
    .unwrap();
    let sub = subsample_per_class(&set, 50, 1).unwrap();
    assert_eq!(sub.class_counts(), vec![50; k]);
    assert!(
        sub.labels()
            .iter()
            .zip(sub.pixels())
            .all(|(&l, &p)| l as u8 == p)
    );
    assert_ne!(
        sub.labels(),
        subsample_per_class(&set, 50, 2).unwrap().labels()
    );
    assert!(subsample_per_class(&set, 211, 1).is_err());

    // 2 to 200: class c keeps 2 + (198 / 99) c = 2 + 2c
    let imb = linear_imbalance(&set, 2, 200, 1).unwrap();
    let counts = imb.class_counts();
    assert_eq!((counts[0], counts[50], counts[99]), (2, 102, 200));
    assert!(counts.iter().enumerate().all(|(c, &n)| n == 2 + 2 * c));
    assert_eq!(imb.len(), 200 + 2 * 4950);
    assert!(linear_imbalance(&set, 200, 2, 1).is_err());
    assert!(linear_imbalance(&set, 2, 211, 1).is_err());

    let (train, val) = train_validation_split(&set, 0.1, 3).unwrap();
    assert_eq!(val.class_counts(), vec![21; k]);
    assert_eq!(train.class_counts(), vec![189; k]);
    assert!(train_validation_split(&set, 1.5, 3).is_err());
}

#[test]
fn loader_batches_are_identical_for_any_worker_count() {
    let set = Arc::new(small_set());
    let data = AugmentedDataset::new(
        set,
        Augmentation::CropFlip { padding: 1 },
        Normalization::unit_range(),
        9,
    );
    let device = Device::flex();
    // Items of all batches in the order the loader gives them.
    let collect = |workers: usize, shuffle: Option<u64>| {
        let mut items: Vec<(i64, f32, Vec<f32>)> = Vec::new();
        for batch in loader(data.clone(), 4, shuffle, workers, &device).iter() {
            let batch = batch.unwrap();
            let [b, c, h, w] = batch.images.dims();
            assert_eq!([c, h, w], [2, 4, 5]);
            let px = batch.images.into_data().try_to_vec::<f32>().unwrap();
            let labels = batch
                .labels
                .into_data()
                .convert::<i64>()
                .try_to_vec::<i64>()
                .unwrap();
            let targets = batch.targets.into_data().try_to_vec::<f32>().unwrap();
            for i in 0..b {
                items.push((labels[i], targets[i], px[i * 40..(i + 1) * 40].to_vec()));
            }
        }
        items
    };
    let plain = collect(0, None);
    assert_eq!(
        plain.iter().map(|i| i.1).collect::<Vec<_>>(),
        vec![0., 1., 2., 3., 4., 5.]
    );
    assert_eq!(
        plain.iter().map(|i| i.0).collect::<Vec<_>>(),
        vec![0, 1, 0, 1, 0, 1]
    );
    for (k, item) in plain.iter().enumerate() {
        assert_eq!(item.2, data.get(k).unwrap().pixels);
    }
    // The same batches in the same order for any number of workers, shuffled or not.
    let sorted = |mut v: Vec<(i64, f32, Vec<f32>)>| {
        v.sort_by(|a, b| a.1.total_cmp(&b.1));
        v
    };
    assert_eq!(collect(1, None), plain);
    assert_eq!(collect(2, None), plain);
    assert_eq!(collect(3, None), plain);
    let shuffled = collect(0, Some(4));
    assert_ne!(
        shuffled.iter().map(|i| i.1).collect::<Vec<_>>(),
        vec![0., 1., 2., 3., 4., 5.]
    );
    assert_eq!(sorted(shuffled.clone()), plain);
    assert_eq!(collect(1, Some(4)), shuffled);
    assert_eq!(collect(2, Some(4)), shuffled);
    assert_eq!(collect(5, Some(4)), shuffled);
    assert_ne!(collect(2, Some(5)), shuffled);
}

#[test]
fn report_counts_and_problems() {
    let set = small_set();
    let mut names = set.class_names().to_vec();
    names.push("empty".into());
    let train = set.clone().with_class_names(names.clone()).unwrap();
    let test = set.subset(&[0, 2]).with_class_names(names).unwrap();
    let report = describe(&Splits { train, test });
    assert_eq!(report.splits[0].class_counts, vec![3, 3, 0]);
    assert_eq!(report.splits[1].class_counts, vec![2, 0, 0]);
    assert_eq!(report.splits[0].target_range, Some((0.0, 5.0)));
    assert_eq!(report.problems.len(), 3, "{:?}", report.problems);
    assert!(
        report
            .problems
            .iter()
            .any(|p| p.starts_with("train: 1 empty") && p.contains("empty"))
    );
    assert!(
        report
            .problems
            .iter()
            .any(|p| p.contains("none in test: b"))
    );
    let text = report.to_string();
    assert!(
        text.contains("3 classes") && text.contains("3 problem(s)"),
        "{text}"
    );
    let clean = describe(&Splits {
        train: small_set(),
        test: small_set(),
    });
    assert!(clean.is_ok() && clean.to_string().ends_with("no problems found"));
}

#[test]
fn augmentation_and_normalization_read_from_toml() {
    let a: Augmentation = toml::from_str("kind = \"crop-flip\"\npadding = 4").unwrap();
    assert_eq!(a, Augmentation::CropFlip { padding: 4 });
    let a: Augmentation =
        toml::from_str("kind = \"resize-center-crop\"\nresize = 256\ncrop = 224").unwrap();
    assert_eq!(
        a,
        Augmentation::ResizeCenterCrop {
            resize: 256,
            crop: 224
        }
    );
    assert_eq!(
        toml::from_str::<Augmentation>("kind = \"none\"").unwrap(),
        Augmentation::None
    );
    assert!(toml::from_str::<Augmentation>("kind = \"crop-flip\"\npading = 4").is_err());
    // kebab-case only: the snake_case spelling is not a kind
    assert!(toml::from_str::<Augmentation>("kind = \"crop_flip\"\npadding = 4").is_err());
    for (augmentation, text) in [
        (Augmentation::None, "kind = \"none\"\n"),
        (
            Augmentation::CropFlip { padding: 4 },
            "kind = \"crop-flip\"\npadding = 4\n",
        ),
        (
            Augmentation::RandomResizedCrop { size: 224 },
            "kind = \"random-resized-crop\"\nsize = 224\n",
        ),
        (
            Augmentation::ResizeCenterCrop {
                resize: 256,
                crop: 224,
            },
            "kind = \"resize-center-crop\"\nresize = 256\ncrop = 224\n",
        ),
    ] {
        assert_eq!(toml::to_string(&augmentation).unwrap(), text);
        assert_eq!(toml::from_str::<Augmentation>(text).unwrap(), augmentation);
    }
}

/// A config section holding a normalisation (a bare string is not a TOML document).
#[derive(Debug, PartialEq, serde::Serialize, serde::Deserialize)]
struct WithNormalization {
    normalization: Normalization,
}

fn normalization_from_toml(text: &str) -> Result<Normalization, String> {
    toml::from_str::<WithNormalization>(text)
        .map(|w| w.normalization)
        .map_err(|e| e.to_string())
}

#[test]
fn normalization_presets_round_trip_through_toml_as_their_names() {
    for (name, preset) in [
        ("none", Normalization::unit_range()),
        ("mnist", Normalization::mnist()),
        ("cifar", Normalization::cifar()),
        ("imagenet", Normalization::imagenet()),
    ] {
        let text = toml::to_string(&WithNormalization {
            normalization: preset.clone(),
        })
        .unwrap();
        assert_eq!(text, format!("normalization = \"{name}\"\n"));
        assert_eq!(normalization_from_toml(&text).unwrap(), preset);
        assert_eq!(Normalization::preset(name), Some(preset.clone()));
        assert_eq!(preset.preset_name(), Some(name));
    }
    let msg = normalization_from_toml("normalization = \"imagenet21k\"").unwrap_err();
    assert!(
        msg.contains("imagenet21k") && msg.contains("cifar"),
        "{msg}"
    );
}

#[test]
fn normalization_tables_round_trip_and_bad_tables_are_errors() {
    let custom = Normalization::new(vec![0.5, 0.25, 0.125], vec![0.25, 0.5, 2.0]).unwrap();
    let text = toml::to_string(&WithNormalization {
        normalization: custom.clone(),
    })
    .unwrap();
    assert!(!text.contains('"'), "{text}");
    assert_eq!(normalization_from_toml(&text).unwrap(), custom);
    let inline = normalization_from_toml("normalization = { mean = [0.5], std = [0.25] }").unwrap();
    assert_eq!(inline, Normalization::new(vec![0.5], vec![0.25]).unwrap());
    assert_eq!(inline.preset_name(), None);
    // A table equal to a preset is written as the preset's name.
    let cifar = normalization_from_toml(
        "normalization = { mean = [0.507, 0.487, 0.441], std = [0.267, 0.256, 0.276] }",
    )
    .unwrap();
    assert_eq!(cifar, Normalization::cifar());
    assert_eq!(
        toml::to_string(&WithNormalization {
            normalization: cifar
        })
        .unwrap(),
        "normalization = \"cifar\"\n"
    );

    let msg =
        normalization_from_toml("normalization = { mean = [0.5], std = [-0.25] }").unwrap_err();
    assert!(msg.contains("standard deviation -0.25"), "{msg}");
    let msg =
        normalization_from_toml("normalization = { mean = [0.5, 0.5], std = [0.25] }").unwrap_err();
    assert!(msg.contains("2 means and 1 standard deviations"), "{msg}");
    let msg = normalization_from_toml("normalization = { mean = [0.5], std = [0.0] }").unwrap_err();
    assert!(msg.contains("standard deviation 0"), "{msg}");
    let msg = normalization_from_toml("normalization = { mean = [0.5] }").unwrap_err();
    assert!(msg.contains("std"), "{msg}");
    let msg = normalization_from_toml("normalization = { mean = [0.5], std = [0.5], sd = [1.0] }")
        .unwrap_err();
    assert!(msg.contains("sd"), "{msg}");
    assert!(normalization_from_toml("normalization = 3").is_err());
}

#[test]
fn normalization_for_channels() {
    // one constant per channel, or a single pair: kept as is
    assert_eq!(
        Normalization::cifar().for_channels(3),
        Normalization::cifar()
    );
    assert_eq!(
        Normalization::mnist().for_channels(1),
        Normalization::mnist()
    );
    assert_eq!(
        Normalization::mnist().for_channels(3),
        Normalization::mnist()
    );
    assert_eq!(
        Normalization::unit_range().for_channels(3),
        Normalization::unit_range()
    );
    // three constants on a grey image: their mean
    let grey = Normalization::imagenet().for_channels(1);
    assert_eq!(grey.mean.len(), 1);
    assert_eq!(grey.std.len(), 1);
    assert!((grey.mean[0] - (0.485 + 0.456 + 0.406) / 3.0).abs() < 1e-6);
    assert!((grey.std[0] - (0.229 + 0.224 + 0.225) / 3.0).abs() < 1e-6);
    let set = ImageSet::new(vec![0], 1, 1, 1, vec![0], None, vec!["x".into()]).unwrap();
    let d = AugmentedDataset::new(
        Arc::new(set),
        Augmentation::None,
        Normalization::cifar().for_channels(1),
        0,
    );
    assert!(d.check().is_ok());
    let want = -((0.507 + 0.487 + 0.441) / 3.0) / ((0.267 + 0.256 + 0.276) / 3.0);
    assert!((d.get(0).unwrap().pixels[0] - want).abs() < 1e-5);
    // any other mismatch is left for the dataset's check to report
    let two = Normalization::new(vec![0.1, 0.2], vec![0.3, 0.4]).unwrap();
    assert_eq!(two.for_channels(3), two);
    assert!(Normalization::cifar().for_channels(2).affine(2).is_err());
}

#[test]
fn held_out_classes_leave_the_known_set_relabelled_in_order() {
    // Labels 0..4 cycling over 10 images, classes a..d; hold out b (1) and d (3).
    let labels: Vec<usize> = (0..10).map(|i| i % 4).collect();
    let pixels: Vec<u8> = (0..10u8).collect();
    let names = ["a", "b", "c", "d"].map(String::from).to_vec();
    let set = ImageSet::new(pixels, 1, 1, 1, labels, None, names).unwrap();
    let (known, unknown) = split_classes(&set, &[1, 3]).unwrap();
    // Known: images 0, 2, 4, 6, 8 (labels 0, 2, 0, 2, 0) relabelled a -> 0, c -> 1.
    assert_eq!(known.pixels(), &[0, 2, 4, 6, 8]);
    assert_eq!(known.labels(), &[0, 1, 0, 1, 0]);
    assert_eq!(known.class_names(), &["a".to_string(), "c".to_string()]);
    // Unknown: images 1, 3, 5, 7, 9 with their own labels.
    assert_eq!(unknown.pixels(), &[1, 3, 5, 7, 9]);
    assert_eq!(unknown.labels(), &[1, 3, 1, 3, 1]);
    assert!(split_classes(&set, &[4]).is_err(), "label out of range");
    assert!(
        split_classes(&set, &[0, 1, 2, 3]).is_err(),
        "no known class left"
    );
}

#[test]
fn a_replay_subset_keeps_every_new_image_and_a_fixed_memory_of_each_old_class() {
    // 40 images, labels cycling 0..4; classes 0 and 1 are old, 2 and 3 new.
    let labels: Vec<usize> = (0..40).map(|i| i % 4).collect();
    let pixels: Vec<u8> = (0..40u8).collect();
    let names = ["a", "b", "c", "d"].map(String::from).to_vec();
    let set = ImageSet::new(pixels, 1, 1, 1, labels, None, names.clone()).unwrap();
    let replay = replay_subset(&set, 2, 3, 7).unwrap();
    let count = |c: usize| replay.labels().iter().filter(|&&l| l == c).count();
    assert_eq!([count(0), count(1), count(2), count(3)], [3, 3, 10, 10]);
    // Labels and names are those of the full set, the original order is kept, and every
    // image keeps its own label (pixel i was written with label i % 4).
    assert_eq!(replay.class_names(), &names[..]);
    assert!(replay.pixels().windows(2).all(|w| w[0] < w[1]));
    for (&p, &l) in replay.pixels().iter().zip(replay.labels()) {
        assert_eq!(usize::from(p) % 4, l);
    }
    // The same seed draws the same memory, another seed another one.
    assert_eq!(
        replay_subset(&set, 2, 3, 7).unwrap().pixels(),
        replay.pixels()
    );
    let other: Vec<_> = (8..20)
        .map(|s| replay_subset(&set, 2, 3, s).unwrap().pixels().to_vec())
        .collect();
    assert!(other.iter().any(|p| p != replay.pixels()));
    // No replay: the new classes alone.
    assert_eq!(replay_subset(&set, 2, 0, 7).unwrap().len(), 20);
    assert!(
        replay_subset(&set, 2, 11, 7).is_err(),
        "more than a class holds"
    );
    assert!(replay_subset(&set, 0, 1, 7).is_err(), "no old class");
    assert!(replay_subset(&set, 4, 1, 7).is_err(), "no new class");
}
