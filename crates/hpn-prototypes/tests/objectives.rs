//! Eq. 5 and Eq. 6 on hand-computed 3-class examples.

use burn::tensor::{Device, Tensor, TensorData};
use hpn_prototypes::{privileged_loss, triplet_targets, triplet_weights, uniformity_loss};

fn matrix(rows: &[[f32; 2]], device: &Device) -> Tensor<2> {
    let data: Vec<f32> = rows.iter().flatten().copied().collect();
    Tensor::from_data(TensorData::new(data, [rows.len(), 2]), device)
}

fn scalar(t: Tensor<1>) -> f64 {
    f64::from(t.into_scalar::<f32>())
}

/// Unit vectors at 0, 60 and 180 degrees: cos01 = 0.5, cos02 = -1, cos12 = -0.5.
fn three_prototypes(device: &Device) -> Tensor<2> {
    let s = 3f32.sqrt() / 2.0;
    matrix(&[[1.0, 0.0], [0.5, s], [-1.0, 0.0]], device)
}

/// Word vectors with cos(w0, w1) = 0, cos(w0, w2) = 0.6, cos(w1, w2) = 0.8.
fn three_word_vectors(device: &Device) -> Tensor<2> {
    matrix(&[[1.0, 0.0], [0.0, 1.0], [0.6, 0.8]], device)
}

#[test]
fn eq5_on_three_prototypes() {
    // Row maxima over j != i: row 0 -> 0.5, row 1 -> 0.5, row 2 -> -0.5; mean = 1/6.
    let loss = scalar(uniformity_loss(three_prototypes(&Device::flex())));
    assert!((loss - 1.0 / 6.0).abs() < 1e-6, "{loss}");
}

#[test]
fn eq6_targets_on_three_classes() {
    let device = Device::flex();
    let s = triplet_targets(three_word_vectors(&device))
        .into_data()
        .try_to_vec::<f32>()
        .expect("f32");
    let at = |i: usize, j: usize, k: usize| s[i * 9 + j * 3 + k];
    // S_ijk = [cos(w_i, w_j) >= cos(w_i, w_k)]
    assert_eq!(at(0, 1, 2), 0.0); // 0 >= 0.6 ?
    assert_eq!(at(0, 2, 1), 1.0); // 0.6 >= 0
    assert_eq!(at(1, 0, 2), 0.0); // 0 >= 0.8 ?
    assert_eq!(at(1, 2, 0), 1.0);
    assert_eq!(at(2, 0, 1), 0.0); // 0.6 >= 0.8 ?
    assert_eq!(at(2, 1, 0), 1.0);
    let w = triplet_weights(3, &device)
        .into_data()
        .try_to_vec::<f32>()
        .expect("f32");
    let nonzero: Vec<usize> = (0..27).filter(|&n| w[n] != 0.0).collect();
    // The 6 ordered triplets of distinct indices, each weighted 1/6.
    assert_eq!(nonzero, vec![5, 7, 11, 15, 19, 21]);
    assert!(nonzero.iter().all(|&n| (w[n] - 1.0 / 6.0).abs() < 1e-7));
}

#[test]
fn eq6_loss_on_three_classes() {
    let device = Device::flex();
    let loss = scalar(privileged_loss(
        three_prototypes(&device),
        three_word_vectors(&device),
    ));
    // bce(o, S) = ln(1 + e^o) - S o, with o_ijk = cos(p_i, p_j) - cos(p_i, p_k):
    //   (0,1,2): o = 1.5, S = 0    (0,2,1): o = -1.5, S = 1
    //   (1,0,2): o = 1.0, S = 0    (1,2,0): o = -1.0, S = 1
    //   (2,0,1): o = -0.5, S = 0   (2,1,0): o = 0.5, S = 1
    let softplus = |x: f64| (1.0 + x.exp()).ln();
    let expected = (softplus(1.5)
        + (softplus(-1.5) + 1.5)
        + softplus(1.0)
        + (softplus(-1.0) + 1.0)
        + softplus(-0.5)
        + (softplus(0.5) - 0.5))
        / 6.0;
    assert!((expected - 1.162_92).abs() < 1e-4, "hand value {expected}");
    assert!((loss - expected).abs() < 1e-5, "{loss} vs {expected}");
}

#[test]
fn eq6_loss_is_lower_when_prototypes_follow_the_words() {
    let device = Device::flex();
    let words = three_word_vectors(&device);
    let following = privileged_loss(words.clone(), words.clone());
    let against = privileged_loss(three_prototypes(&device), words);
    assert!(scalar(following) < scalar(against));
}
