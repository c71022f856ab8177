//! A few SGD steps reduce the hyperspherical loss of a tiny batch.

use burn::optim::decay::WeightDecayConfig;
use burn::optim::momentum::MomentumConfig;
use burn::optim::{GradientsParams, SgdConfig};
use burn::tensor::{Device, Int, Tensor, TensorData};
use hpn_losses::{Reduction, classification_loss, predict};
use hpn_models::{Backbone, BackboneConfig, Shortcut};

use crate::util::SplitMix;

/// Trains `config` on 8 textured images (two per class) for `steps` SGD steps (momentum 0.9, dampening 0, weight decay
/// 1e-4, the paper's optimiser) against 4 one-hot prototypes in D = 4; returns the first
/// and last loss and how many of the 8 images the last forward classifies right.
///
/// The best constant output (the mean direction of the prototypes, cos 1/2 to each) has loss
/// 8 x (1 - 1/2)^2 = 2, so a loss well under 2 means the network tells the images apart.
fn fit(config: BackboneConfig, side: usize, steps: usize, lr: f64) -> (f32, f32, usize) {
    let device = Device::flex().autodiff();
    let mut model = crate::seeded_init(&config, 17, &device);
    let prototypes = Tensor::<2>::eye(4, &device);
    let labels_data = [0i64, 1, 2, 3, 0, 1, 2, 3];
    let labels = Tensor::<1, Int>::from_data(labels_data, &device);
    let x = textured_images(&labels_data, model.in_channels(), side, 21, &device);

    let mut optimizer = SgdConfig::new()
        .with_momentum(Some(MomentumConfig {
            momentum: 0.9,
            dampening: 0.0,
            nesterov: false,
        }))
        .with_weight_decay(Some(WeightDecayConfig { penalty: 1e-4 }))
        .init();

    let mut losses = Vec::new();
    for _ in 0..steps {
        let z = model.forward(x.clone());
        let loss = classification_loss(z, prototypes.clone(), labels.clone(), Reduction::Sum);
        losses.push(loss.clone().into_scalar::<f32>());
        let grads = GradientsParams::from_grads(loss.backward(), &model);
        model = optimizer.step(lr, model, grads);
    }
    let z = model.forward(x.clone());
    let last = classification_loss(z.clone(), prototypes.clone(), labels, Reduction::Sum)
        .into_scalar::<f32>();
    let predicted = predict(z, prototypes).try_into_vec_as::<i64>().unwrap();
    let correct = predicted
        .iter()
        .zip(labels_data)
        .filter(|(p, l)| **p == *l)
        .count();
    (losses[0], last, correct)
}

#[test]
fn sgd_reduces_hpn_loss_for_each_shortcut() {
    for shortcut in [Shortcut::Conv3x3, Shortcut::Conv1x1, Shortcut::ZeroPad] {
        let config = BackboneConfig::new(Backbone::ResNetCifar { depth: 8, width: 1 }, 4)
            .with_shortcut(shortcut);
        let (first, last, correct) = fit(config, 12, 80, 0.01);
        eprintln!("{shortcut:?}: loss {first} -> {last}, {correct} of 8");
        assert!(first.is_finite() && last.is_finite());
        assert!(last < 0.5 * first, "{shortcut:?}: loss {first} -> {last}");
        assert!(
            last < 1.0,
            "{shortcut:?}: loss {last} not well below the constant-output 2"
        );
        assert!(
            correct >= 6,
            "{shortcut:?}: {correct} of 8 training images classified right"
        );
    }
}

#[test]
fn sgd_fits_a_tiny_batch_with_the_convnet() {
    let config = BackboneConfig::new(Backbone::ConvNet, 4).with_in_channels(1);
    // Without BatchNorm the initial outputs are small (|z| ~ 0.05) and the gradient of the
    // cosine loss scales with 1 / |z|: a small learning rate keeps the first steps from
    // throwing the output layer's bias onto the constant solution.
    let (first, last, correct) = fit(config, 16, 100, 3e-4);
    eprintln!("convnet: loss {first} -> {last}, {correct} of 8");
    assert!(last < 0.5 * first && last < 2.0, "loss {first} -> {last}");
    assert!(
        correct >= 7,
        "{correct} of 8 training images classified right"
    );
}

/// Images whose texture tells their class (0: horizontal stripes, 1: vertical stripes,
/// 2: checkerboard, 3: wide horizontal stripes), the same in every channel, plus noise of
/// amplitude 0.3, so that a network can learn to tell the classes apart.
fn textured_images(
    labels: &[i64],
    channels: usize,
    side: usize,
    seed: u64,
    device: &Device,
) -> Tensor<4> {
    let mut rng = SplitMix(seed);
    let mut values = Vec::with_capacity(labels.len() * channels * side * side);
    for label in labels {
        for _ in 0..channels {
            for row in 0..side {
                for col in 0..side {
                    let pattern = match label % 4 {
                        0 => row % 2 == 0,
                        1 => col % 2 == 0,
                        2 => (row + col) % 2 == 0,
                        _ => row % 4 < 2,
                    };
                    let base = if pattern { 1.0 } else { -1.0 };
                    values.push(base + 0.3 * rng.uniform());
                }
            }
        }
    }
    Tensor::from_data(
        TensorData::new(values, [labels.len(), channels, side, side]),
        device,
    )
}
