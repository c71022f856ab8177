//! Bad input gives typed errors, never a panic; method names round-trip.

use burn::tensor::Device;
use hpn_prototypes::{
    Placement, PlacementMethod, PlacementOptions, PrototypeError, Prototypes, WordVectors,
    place_circle, place_one_hot, separation_stats,
};

fn place_with(
    method: PlacementMethod,
    classes: usize,
    dims: usize,
    options: &PlacementOptions,
) -> Result<Prototypes, PrototypeError> {
    let words = WordVectors::from_rows(
        (0..classes.max(1)).map(|k| k.to_string()).collect(),
        (0..classes.max(1) * 4)
            .map(|v| 1.0 + (v % 7) as f32)
            .collect(),
        4,
    )
    .expect("valid word vectors");
    Placement::new(method, classes, dims)
        .with_word_vectors(&words)
        .with_options(options.clone())
        .place(&Device::flex())
}

#[test]
fn too_few_classes_or_dims_for_every_method() {
    let options = PlacementOptions::default();
    for method in PlacementMethod::ALL {
        assert!(
            matches!(
                place_with(method, 1, 4, &options),
                Err(PrototypeError::TooFewClasses {
                    classes: 1,
                    minimum: 2
                })
            ),
            "{method}"
        );
        assert!(
            matches!(
                place_with(method, 0, 4, &options),
                Err(PrototypeError::TooFewClasses { .. })
            ),
            "{method}"
        );
        assert!(
            matches!(
                place_with(method, 4, 0, &options),
                Err(PrototypeError::TooFewDims { dims: 0 })
            ),
            "{method}"
        );
    }
}

#[test]
fn shape_limits_of_the_fixed_layouts() {
    assert!(matches!(
        place_one_hot(5, 4),
        Err(PrototypeError::UnsupportedShape { .. })
    ));
    assert!(place_one_hot(4, 4).is_ok());
    for dims in [1, 3] {
        assert!(matches!(
            place_circle(5, dims),
            Err(PrototypeError::UnsupportedShape { .. })
        ));
    }
    // S^0 holds only two distinct points.
    assert!(matches!(
        place_with(PlacementMethod::Uniform, 3, 1, &PlacementOptions::default()),
        Err(PrototypeError::UnsupportedShape { .. })
    ));
    // Eq. 6 needs triplets.
    assert!(matches!(
        place_with(
            PlacementMethod::Privileged,
            2,
            3,
            &PlacementOptions::default()
        ),
        Err(PrototypeError::UnsupportedShape { .. })
    ));
}

#[test]
fn invalid_options_are_rejected() {
    let bad = [
        PlacementOptions {
            steps: Some(0),
            ..PlacementOptions::default()
        },
        PlacementOptions {
            learning_rate: Some(0.0),
            ..PlacementOptions::default()
        },
        PlacementOptions {
            learning_rate: Some(f32::NAN),
            ..PlacementOptions::default()
        },
        PlacementOptions {
            restarts: Some(0),
            ..PlacementOptions::default()
        },
        PlacementOptions {
            progress_every: 0,
            ..PlacementOptions::default()
        },
    ];
    for options in &bad {
        for method in [PlacementMethod::Uniform, PlacementMethod::UniformAuthors] {
            assert!(
                matches!(
                    place_with(method, 30, 3, options),
                    Err(PrototypeError::InvalidOption { .. })
                ),
                "{method} {options:?}"
            );
        }
    }
}

#[test]
fn prototypes_new_checks_shape_values_and_norms() {
    assert!(matches!(
        Prototypes::new(vec![1.0, 0.0, 0.0], 2, 2),
        Err(PrototypeError::ShapeMismatch { len: 3, .. })
    ));
    assert!(matches!(
        Prototypes::new(vec![1.0, 0.0, f32::INFINITY, 0.0], 2, 2),
        Err(PrototypeError::NonFinite { row: 1, .. })
    ));
    assert!(matches!(
        Prototypes::new(vec![1.0, 0.0, 0.5, 0.5], 2, 2),
        Err(PrototypeError::NotUnitNorm { row: 1, .. })
    ));
    assert!(matches!(
        Prototypes::new(Vec::new(), 0, 2),
        Err(PrototypeError::TooFewClasses { .. })
    ));
    assert!(Prototypes::new(vec![1.0, 0.0, 0.0, 1.00005], 2, 2).is_ok());
}

#[test]
fn method_names_round_trip() {
    let names = [
        "uniform",
        "uniform-authors",
        "privileged",
        "circle",
        "one-hot",
        "word-vectors",
    ];
    for (method, name) in PlacementMethod::ALL.into_iter().zip(names) {
        assert_eq!(method.to_string(), name);
        assert_eq!(name.parse::<PlacementMethod>().ok(), Some(method));
    }
    let err = "Uniform"
        .parse::<PlacementMethod>()
        .expect_err("case matters");
    assert!(err.to_string().contains("one-hot"), "{err}");
}

#[test]
fn place_dispatches_every_method() {
    let options = PlacementOptions {
        steps: Some(20),
        ..PlacementOptions::default()
    };
    for (method, dims) in [
        (PlacementMethod::Uniform, 3),
        (PlacementMethod::UniformAuthors, 3),
        (PlacementMethod::Privileged, 3),
        (PlacementMethod::Circle, 2),
        (PlacementMethod::OneHot, 6),
        (PlacementMethod::WordVectors, 3),
    ] {
        let mut reports = 0;
        let words = WordVectors::from_rows(
            (0..6).map(|k| k.to_string()).collect(),
            (0..24).map(|v| 1.0 + (v % 5) as f32).collect(),
            4,
        )
        .expect("valid");
        let p = Placement::new(method, 6, dims)
            .with_word_vectors(&words)
            .with_options(options.clone())
            .place_with_progress(&Device::flex(), &mut |_| reports += 1)
            .unwrap_or_else(|e| panic!("{method}: {e}"));
        assert_eq!((p.classes(), p.dims()), (6, dims), "{method}");
        assert!(reports >= 1, "{method} reported no progress");
    }
}

#[test]
fn separation_stats_on_a_hand_example() {
    // 0, 60, 180 degrees: cosines 0.5, -1, -0.5.
    let s = 3f32.sqrt() / 2.0;
    let p = Prototypes::new(vec![1.0, 0.0, 0.5, s, -1.0, 0.0], 3, 2).expect("unit");
    let stats = separation_stats(&p);
    assert!((stats.max_cosine - 0.5).abs() < 1e-6);
    assert!((stats.min_distance - 0.5).abs() < 1e-6);
    assert!((stats.max_distance - 2.0).abs() < 1e-6);
    assert!((stats.mean_distance - (1.0 + 1.0 / 3.0)).abs() < 1e-6);
    assert!((stats.min_angle_degrees - 60.0).abs() < 1e-4);
    let single = Prototypes::new(vec![0.0, 1.0], 1, 2).expect("unit");
    assert!(separation_stats(&single).max_cosine.is_nan());
}
