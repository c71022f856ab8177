//! Initial weights follow the authors' recipe.

use burn::tensor::Device;
use hpn_models::{Backbone, BackboneConfig, Model};

use crate::util::{floats, images};

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

/// Asserts that `values` have a standard deviation within `tolerance` (relative) of `expected`.
fn assert_std(what: &str, values: &[f32], expected: f64, tolerance: f64) {
    let (_, std) = mean_and_std(values);
    assert!(
        (std - expected).abs() < tolerance * expected,
        "{what}: std {std}, expected {expected}"
    );
}

#[test]
fn convolutions_start_from_he_normal_and_batch_norm_from_identity() {
    let model = crate::seeded_init(
        &BackboneConfig::new(Backbone::ResNet32, 10),
        3,
        &Device::flex(),
    );
    let Model::ResNetCifar(net) = model else {
        panic!("ResNet-32 is a CIFAR ResNet");
    };
    // A 64 -> 64 3x3 convolution: 36,864 weights drawn from N(0, sqrt(2 / (3 * 3 * 64))).
    let weights = floats(net.layer3[1].conv2.weight.val());
    assert_eq!(weights.len(), 36_864);
    let (mean, _) = mean_and_std(&weights);
    let expected = (2.0f64 / 576.0).sqrt();
    assert!(mean.abs() < 0.05 * expected, "mean {mean}");
    assert_std("layer3 conv", &weights, expected, 0.03);
    // Stem: 3 -> 16, std sqrt(2 / (9 * 16)).
    let stem = floats(net.conv1.weight.val());
    assert_std("stem", &stem, (2.0f64 / 144.0).sqrt(), 0.2);

    let block = &net.layer2[0];
    assert!(floats(block.bn1.gamma.val()).iter().all(|g| *g == 1.0));
    assert!(floats(block.bn1.beta.val()).iter().all(|b| *b == 0.0));
    assert!(net.conv1.bias.is_none(), "convolutions have no bias");
    assert!(net.fc.bias.is_some(), "the output layer has a bias");
}

#[test]
fn convnet_starts_from_he_normal_with_outputs_of_order_one() {
    let device = Device::flex();
    let model = crate::seeded_init(
        &BackboneConfig::new(Backbone::ConvNet, 3).with_in_channels(1),
        4,
        &device,
    );
    let Model::ConvNet(net) = &model else {
        panic!("a ConvNet");
    };
    // 32 -> 64 3x3: 18,432 weights from N(0, sqrt(2 / (9 * 32))).
    let conv2 = floats(net.conv2.weight.val());
    assert_std("conv2", &conv2, (2.0f64 / 288.0).sqrt(), 0.03);
    // 3136 -> 128: 401,408 weights from N(0, sqrt(2 / 3136)).
    let fc1 = floats(net.fc1.weight.val());
    assert_std("fc1", &fc1, (2.0f64 / 3136.0).sqrt(), 0.03);
    // Inputs uniform in [-1, 1) (variance 1/3): the outputs vary with the input by about
    // sqrt(1/3) (He init keeps the second moment through ReLU layers); PyTorch's default
    // initialisation gives about 0.015 here.
    let z = floats(model.forward(images([64, 1, 28, 28], 5, &device)));
    let mut spread = 0.0;
    for d in 0..3 {
        let column: Vec<f32> = z.iter().skip(d).step_by(3).copied().collect();
        spread += mean_and_std(&column).1 / 3.0;
    }
    assert!(
        (0.1..3.0).contains(&spread),
        "output std across inputs {spread}"
    );
}
