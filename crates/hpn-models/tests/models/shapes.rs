//! Output shapes for each network and input size.

use burn::tensor::Device;
use hpn_models::{Backbone, BackboneConfig, ModelError, Shortcut};

use crate::util::images;

fn outputss(config: BackboneConfig, input: [usize; 4]) -> [usize; 2] {
    let device = Device::flex();
    let model = config.init(&device).expect("valid configuration");
    model.check_input(input).expect("input fits");
    model.forward(images(input, 1, &device)).dims()
}

#[test]
fn cifar_resnets_take_32_and_64_pixels() {
    for side in [32, 64] {
        let dims = outputss(
            BackboneConfig::new(Backbone::ResNet32, 100),
            [2, 3, side, side],
        );
        assert_eq!(dims, [2, 100]);
    }
    for shortcut in [Shortcut::Conv1x1, Shortcut::ZeroPad] {
        let config = BackboneConfig::new(Backbone::ResNetCifar { depth: 8, width: 2 }, 5)
            .with_shortcut(shortcut);
        assert_eq!(outputss(config, [2, 3, 20, 12]), [2, 5]);
    }
}

#[test]
fn imagenet_resnets() {
    assert_eq!(
        outputss(BackboneConfig::new(Backbone::ResNet18, 7), [2, 3, 64, 64]),
        [2, 7]
    );
    // One full-size forward at 224 px.
    assert_eq!(
        outputss(BackboneConfig::new(Backbone::ResNet34, 3), [1, 3, 224, 224]),
        [1, 3]
    );
}

#[test]
fn densenet121_small_inputs() {
    assert_eq!(
        outputss(BackboneConfig::new(Backbone::DenseNet121, 10), [2, 3, 8, 8]),
        [2, 10]
    );
    assert_eq!(
        outputss(
            BackboneConfig::new(Backbone::DenseNet121, 4),
            [1, 3, 32, 32]
        ),
        [1, 4]
    );
}

#[test]
fn convnet_any_channels_and_small_sizes() {
    let mnist = BackboneConfig::new(Backbone::ConvNet, 3).with_in_channels(1);
    assert_eq!(outputss(mnist.clone(), [4, 1, 28, 28]), [4, 3]);
    assert_eq!(outputss(mnist, [2, 1, 16, 20]), [2, 3]);
    let colour = BackboneConfig::new(Backbone::ConvNet, 10);
    assert_eq!(outputss(colour, [2, 3, 32, 32]), [2, 10]);
}

#[test]
fn inputs_that_do_not_fit_are_errors() {
    let device = Device::flex();
    let model = BackboneConfig::new(Backbone::ConvNet, 3)
        .with_in_channels(1)
        .init(&device)
        .unwrap();
    assert_eq!(model.in_channels(), 1);
    assert_eq!(
        model.check_input([2, 3, 28, 28]),
        Err(ModelError::ChannelMismatch {
            expected: 1,
            actual: 3
        })
    );
    let error = model.check_input([2, 1, 3, 28]).unwrap_err();
    assert!(
        matches!(
            error,
            ModelError::InputTooSmall {
                min: 4,
                height: 3,
                ..
            }
        ),
        "{error}"
    );
    let dense = BackboneConfig::new(Backbone::DenseNet121, 3)
        .init(&device)
        .unwrap();
    assert!(dense.check_input([1, 3, 7, 7]).is_err());
    assert!(dense.check_input([1, 3, 8, 8]).is_ok());
}
