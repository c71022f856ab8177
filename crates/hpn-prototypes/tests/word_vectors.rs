//! Word vectors: loading, the word-vector baseline, privileged placement and ranking agreement.

use std::path::Path;

use burn::tensor::Device;
use hpn_prototypes::{
    Placement, PlacementMethod, PlacementOptions, PrototypeError, Prototypes, WordVectors,
    place_privileged, place_uniform_authors, place_word_vectors, privileged_loss,
    ranking_agreement, separation_stats, uniformity_loss,
};

fn fixture(name: &str) -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

/// `classes` vectors in 8 dims around 3 well-separated directions (a seeded LCG, no rand).
fn clustered(classes: usize) -> WordVectors {
    let mut state: u64 = 12345;
    let mut noise = || {
        state = state
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        ((state >> 33) as f64 / (1u64 << 31) as f64 - 0.5) as f32
    };
    let mut data = Vec::new();
    for k in 0..classes {
        for d in 0..8 {
            let centre = if d == k % 3 { 2.0 } else { 0.0 };
            data.push(centre + 0.6 * noise());
        }
    }
    WordVectors::from_rows((0..classes).map(|k| format!("c{k}")).collect(), data, 8)
        .expect("finite, non-zero rows")
}

#[test]
fn loads_the_text_format_with_an_optional_header() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let path = dir.path().join("words.txt");
    std::fs::write(&path, "3 2\ncat 1 0\n\ndog 0.5 0.5\nfish -1 2.5\n").expect("writable");
    let w = WordVectors::load(&path).expect("valid");
    assert_eq!(w.names(), ["cat", "dog", "fish"]);
    assert_eq!((w.len(), w.dims()), (3, 2));
    assert_eq!(w.row(2), [-1.0, 2.5]);
}

#[test]
fn loads_npy_word_vectors() {
    let w = WordVectors::load(&fixture("word_vectors.npy")).expect("valid");
    assert_eq!((w.len(), w.dims()), (4, 3));
    assert_eq!(w.names(), ["0", "1", "2", "3"]);
    assert_eq!(w.row(1), [0.9, 0.1, 0.0]);
}

#[test]
fn text_errors_name_the_line() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let path = dir.path().join("bad.txt");
    for (text, line) in [("a 1 2\nb 1\n", 2), ("a 1 2\nb 1 x\n", 2), ("lonely\n", 1)] {
        std::fs::write(&path, text).expect("writable");
        match WordVectors::load(&path) {
            Err(PrototypeError::WordVectorText { line: l, .. }) => assert_eq!(l, line, "{text:?}"),
            other => panic!("{text:?}: {other:?}"),
        }
    }
    std::fs::write(&path, "a 1 2\nb 0 0\n").expect("writable");
    let err = WordVectors::load(&path).expect_err("zero row");
    assert!(err.to_string().contains("all zeros"), "{err}");
    std::fs::write(&path, "\n\n").expect("writable");
    assert!(WordVectors::load(&path).is_err());
}

#[test]
fn from_rows_rejects_bad_shapes_and_values() {
    let names = || vec!["a".to_string(), "b".to_string()];
    assert!(WordVectors::from_rows(names(), vec![1.0; 3], 2).is_err());
    assert!(WordVectors::from_rows(names(), vec![1.0, f32::NAN, 1.0, 1.0], 2).is_err());
    assert!(WordVectors::from_rows(names(), vec![1.0, 1.0, 0.0, 0.0], 2).is_err());
    assert!(WordVectors::from_rows(Vec::new(), Vec::new(), 2).is_err());
}

#[test]
fn word_vector_baseline_normalises_or_projects() {
    let w = clustered(6);
    let options = PlacementOptions::default();
    // Same dims: just the normalised vectors.
    let p = place_word_vectors(6, 8, &w, &options).expect("valid");
    for k in 0..6 {
        let norm: f32 = w.row(k).iter().map(|v| v * v).sum::<f32>().sqrt();
        for (a, b) in p.row(k).iter().zip(w.row(k)) {
            assert!((a - b / norm).abs() < 1e-6);
        }
    }
    assert!((ranking_agreement(&p, &w) - 1.0).abs() < 1e-6);
    // Other dims: a seeded projection, deterministic, unit rows.
    let q = place_word_vectors(6, 5, &w, &options).expect("valid");
    assert_eq!(q.dims(), 5);
    assert_eq!(q, place_word_vectors(6, 5, &w, &options).expect("valid"));
    // Wrong number of rows.
    assert!(matches!(
        place_word_vectors(7, 8, &w, &options),
        Err(PrototypeError::WordVectors { .. })
    ));
}

#[test]
fn ranking_agreement_on_a_hand_example() {
    // Words: cos(w0,w1) = 0, cos(w0,w2) = 0.6, cos(w1,w2) = 0.8.
    let w = WordVectors::from_rows(
        vec!["a".into(), "b".into(), "c".into()],
        vec![1.0, 0.0, 0.0, 1.0, 0.6, 0.8],
        2,
    )
    .expect("valid");
    // Prototypes at 0, 60, 180 degrees: cos01 = 0.5, cos02 = -1, cos12 = -0.5. Triplet (i,j,k)
    // agrees iff [cp_ij >= cp_ik] == [cw_ij >= cw_ik]:
    //   (0,1,2): true vs false, (0,2,1): false vs true, (1,0,2): true vs false,
    //   (1,2,0): false vs true, (2,0,1): false vs false (agrees), (2,1,0): true vs true (agrees).
    let s = 3f32.sqrt() / 2.0;
    let p = Prototypes::new(vec![1.0, 0.0, 0.5, s, -1.0, 0.0], 3, 2).expect("unit");
    assert!((ranking_agreement(&p, &w) - 2.0 / 6.0).abs() < 1e-6);
    assert!(ranking_agreement(&p, &clustered(4)).is_nan());
}

#[test]
fn privileged_trades_some_separation_for_the_word_ranking() {
    // Against the authors' Eq. 5-only update from the same seeded Gaussian start and the same
    // number of steps, adding Eq. 6 must lower the Eq. 6 loss and the summed loss it minimises,
    // and keep more of the word-vector ranking.
    let classes = 12;
    let w = clustered(classes);
    let device = Device::flex();
    let eq6 = |p: &Prototypes| {
        privileged_loss(p.to_tensor(&device), w.to_tensor(&device)).into_scalar::<f32>()
    };
    let eq5 = |p: &Prototypes| uniformity_loss(p.to_tensor(&device)).into_scalar::<f32>();
    for seed in [1, 2] {
        let options = PlacementOptions {
            seed,
            steps: Some(300),
            ..PlacementOptions::default()
        };
        let p = place_privileged(classes, 5, &w, &options, &mut |_| {}, &device).expect("valid");
        let a = place_uniform_authors(classes, 5, &options, &mut |_| {}, &device).expect("valid");
        assert!(
            eq6(&p) < eq6(&a),
            "seed {seed}: Eq. 6 {} vs {}",
            eq6(&p),
            eq6(&a)
        );
        assert!(
            eq5(&p) + eq6(&p) < eq5(&a) + eq6(&a),
            "seed {seed}: Eq. 5 + 6 not lower"
        );
        let (ours, theirs) = (ranking_agreement(&p, &w), ranking_agreement(&a, &w));
        assert!(
            ours > theirs + 0.05,
            "seed {seed}: ranking {ours} vs {theirs}"
        );
        // Still well separated: 12 points in R^5, no pair closer than 60 degrees.
        assert!(separation_stats(&p).min_angle_degrees > 60.0);
        // Deterministic.
        let again =
            place_privileged(classes, 5, &w, &options, &mut |_| {}, &device).expect("valid");
        assert_eq!(p, again);
    }
}

#[test]
fn methods_that_need_word_vectors_say_so() {
    for method in [PlacementMethod::Privileged, PlacementMethod::WordVectors] {
        let err = Placement::new(method, 10, 4)
            .place(&Device::flex())
            .expect_err("no word vectors");
        assert!(
            matches!(err, PrototypeError::MissingWordVectors { .. }),
            "{err}"
        );
    }
    let w = clustered(5);
    let err = place_privileged(
        6,
        3,
        &w,
        &PlacementOptions::default(),
        &mut |_| {},
        &Device::flex(),
    )
    .expect_err("5 rows for 6 classes");
    assert!(err.to_string().contains("5 rows"), "{err}");
    // Three classes on S^0 cannot be kept apart: refused, not returned with duplicates.
    let err = place_privileged(
        3,
        1,
        &clustered(3),
        &PlacementOptions::default(),
        &mut |_| {},
        &Device::flex(),
    )
    .expect_err("3 classes in 1 dimension");
    assert!(
        matches!(&err, PrototypeError::UnsupportedShape { method, .. } if method == "privileged"),
        "{err}"
    );
}

/// The committed GloVe 6B 50-d vectors of a dataset's class names.
fn glove(dataset: &str) -> WordVectors {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../datasets/word-vectors")
        .join(format!("{dataset}.txt"));
    WordVectors::load(&path).expect("committed word vectors")
}

#[test]
fn privileged_never_crowds_prototypes_below_half_the_uniform_separation() {
    // The ten digit names are near-parallel in GloVe space (pairwise cosines up to 0.9), so
    // Eq. 6 pulls their prototypes together; at D = 2 and 3 the max-only Eq. 5 gradient
    // (zero at coincidence) cannot hold them apart. The placer must keep every pair at least
    // half the best uniform separation apart and still follow the words better than Eq. 5 alone.
    let device = Device::flex();
    for dataset in ["mnist", "cifar10"] {
        let w = glove(dataset);
        for dims in [2, 3, 5] {
            let options = PlacementOptions::default();
            let uniform = hpn_prototypes::place_uniform(10, dims, &options, &mut |_| {}, &device)
                .expect("valid");
            let floor = separation_stats(&uniform).min_angle_degrees / 2.0;
            let p = place_privileged(10, dims, &w, &options, &mut |_| {}, &device).expect("valid");
            let angle = separation_stats(&p).min_angle_degrees;
            assert!(
                angle >= floor - 0.05,
                "{dataset} D = {dims}: closest pair {angle:.2} deg, floor {floor:.2} deg"
            );
            let a = place_uniform_authors(10, dims, &options, &mut |_| {}, &device).expect("valid");
            let (ours, theirs) = (ranking_agreement(&p, &w), ranking_agreement(&a, &w));
            assert!(
                ours > theirs,
                "{dataset} D = {dims}: ranking {ours} vs {theirs}"
            );
        }
    }
}
