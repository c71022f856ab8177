//! Layouts with a known optimum: simplex, cross-polytope, circle, one-hot.

use burn::tensor::Device;
use hpn_prototypes::{
    PlacementOptions, Prototypes, place_circle, place_one_hot, place_uniform, separation_stats,
};
use proptest::prelude::*;

fn uniform(classes: usize, dims: usize, options: &PlacementOptions) -> Prototypes {
    place_uniform(classes, dims, options, &mut |_| {}, &Device::flex())
        .unwrap_or_else(|e| panic!("K = {classes}, D = {dims}: {e}"))
}

/// Every pairwise cosine, in f64.
fn cosines(p: &Prototypes) -> Vec<f64> {
    let mut out = Vec::new();
    for i in 0..p.classes() {
        for j in i + 1..p.classes() {
            out.push(
                p.row(i)
                    .iter()
                    .zip(p.row(j))
                    .map(|(&a, &b)| f64::from(a) * f64::from(b))
                    .sum(),
            );
        }
    }
    out
}

fn assert_unit_rows(p: &Prototypes) {
    for k in 0..p.classes() {
        let norm: f64 = p
            .row(k)
            .iter()
            .map(|&v| f64::from(v).powi(2))
            .sum::<f64>()
            .sqrt();
        assert!((norm - 1.0).abs() < 1e-6, "row {k} has norm {norm}");
    }
}

#[test]
fn simplex_is_optimal_whenever_k_at_most_d_plus_one() {
    for (classes, dims) in [
        (2, 1),
        (3, 2),
        (4, 3),
        (5, 4),
        (10, 9),
        (10, 20),
        (50, 49),
        (100, 100),
    ] {
        let p = uniform(classes, dims, &PlacementOptions::default());
        assert_eq!((p.classes(), p.dims()), (classes, dims));
        assert_unit_rows(&p);
        let target = -1.0 / (classes as f64 - 1.0);
        for c in cosines(&p) {
            assert!(
                (c - target).abs() < 1e-6,
                "K = {classes}, D = {dims}: cosine {c}, expected {target}"
            );
        }
    }
}

#[test]
fn simplex_without_rotation_is_the_same_up_to_orientation() {
    let options = PlacementOptions {
        random_rotation: false,
        ..PlacementOptions::default()
    };
    let p = uniform(6, 8, &options);
    // Unrotated: the simplex lives in the first K - 1 = 5 coordinates.
    for k in 0..6 {
        assert!(p.row(k)[5..].iter().all(|&v| v == 0.0));
    }
    assert!((separation_stats(&p).max_cosine + 0.2).abs() < 1e-6);
}

#[test]
fn cross_polytope_reaches_zero_whenever_d_plus_two_at_most_k_at_most_2d() {
    for (classes, dims) in [
        (5, 3),
        (6, 3),
        (12, 10),
        (20, 10),
        (100, 50),
        (150, 100),
        (200, 100),
    ] {
        let p = uniform(classes, dims, &PlacementOptions::default());
        assert_unit_rows(&p);
        let max = cosines(&p).into_iter().fold(f64::NEG_INFINITY, f64::max);
        assert!(max <= 1e-6, "K = {classes}, D = {dims}: max cosine {max}");
        assert!(
            max >= -1e-6,
            "Rankin: max cosine cannot be below 0, got {max}"
        );
    }
}

#[test]
fn uniform_in_two_dimensions_is_the_regular_polygon() {
    for classes in [5, 7, 12] {
        let p = uniform(classes, 2, &PlacementOptions::default());
        let expected = (std::f64::consts::TAU / classes as f64).cos();
        let max = f64::from(separation_stats(&p).max_cosine);
        assert!(
            (max - expected).abs() < 1e-6,
            "K = {classes}: {max} vs {expected}"
        );
    }
}

#[test]
fn circle_puts_class_k_at_angle_two_pi_k_over_k() {
    let p = place_circle(8, 2).expect("D = 2");
    for k in 0..8 {
        let angle = std::f64::consts::TAU * k as f64 / 8.0;
        assert!((f64::from(p.row(k)[0]) - angle.cos()).abs() < 1e-7);
        assert!((f64::from(p.row(k)[1]) - angle.sin()).abs() < 1e-7);
    }
}

#[test]
fn one_hot_is_the_standard_basis() {
    let p = place_one_hot(3, 5).expect("D >= K");
    for k in 0..3 {
        for d in 0..5 {
            assert_eq!(p.row(k)[d], if d == k { 1.0 } else { 0.0 });
        }
    }
    let s = separation_stats(&p);
    assert_eq!(
        (s.min_distance, s.mean_distance, s.max_distance),
        (1.0, 1.0, 1.0)
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]
    #[test]
    fn closed_forms_are_optimal_for_random_shapes(dims in 1usize..40, extra in 0usize..80, seed in 0u64..1000) {
        // K in 2..=2D (or 2 when D = 1): always a closed form.
        let classes = (2 + extra % (2 * dims - 1).max(1)).min(2 * dims).max(2);
        let options = PlacementOptions { seed, ..PlacementOptions::default() };
        let p = uniform(classes, dims, &options);
        let max = f64::from(separation_stats(&p).max_cosine);
        let optimum = if classes <= dims + 1 { -1.0 / (classes as f64 - 1.0) } else { 0.0 };
        prop_assert!((max - optimum).abs() < 1e-6, "K = {}, D = {}: {} vs {}", classes, dims, max, optimum);
    }
}
