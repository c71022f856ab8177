//! Initial weights follow the authors' recipe.

use burn::tensor::Device;
use hpn_models::{Backbone, BackboneConfig, Model};

use crate::util::floats;

fn mean_and_std(values: &[f32]) -> (f64, f64) {
    let n = values.len() as f64;
    let mean = values.iter().map(|v| f64::from(*v)).sum::<f64>() / n;
    let var = values
        .iter()
        .map(|v| (f64::from(*v) - mean).powi(2))
        .sum::<f64>()
        / n;
    (mean, var.sqrt())
}

#[test]
fn convolutions_start_from_he_normal_and_batch_norm_from_identity() {
    let model = BackboneConfig::new(Backbone::ResNet32, 10)
        .init(&Device::flex())
        .unwrap();
    let Model::ResNetCifar(net) = model else {
        panic!("ResNet-32 is a CIFAR ResNet");
    };
    // A 64 -> 64 3x3 convolution: 36,864 weights drawn from N(0, sqrt(2 / (3 * 3 * 64))).
    let weights = floats(net.layer3[1].conv2.weight.val());
    assert_eq!(weights.len(), 36_864);
    let (mean, std) = mean_and_std(&weights);
    let expected = (2.0f64 / 576.0).sqrt();
    assert!(mean.abs() < 0.05 * expected, "mean {mean}");
    assert!(
        (std - expected).abs() < 0.03 * expected,
        "std {std}, expected {expected}"
    );
    // Stem: 3 -> 16, std sqrt(2 / (9 * 16)).
    let (_, stem_std) = mean_and_std(&floats(net.conv1.weight.val()));
    let stem_expected = (2.0f64 / 144.0).sqrt();
    assert!(
        (stem_std - stem_expected).abs() < 0.2 * stem_expected,
        "stem std {stem_std}"
    );

    let block = &net.layer2[0];
    assert!(floats(block.bn1.gamma.val()).iter().all(|g| *g == 1.0));
    assert!(floats(block.bn1.beta.val()).iter().all(|b| *b == 0.0));
    assert!(net.conv1.bias.is_none(), "convolutions have no bias");
    assert!(net.fc.bias.is_some(), "the output layer has a bias");
}
