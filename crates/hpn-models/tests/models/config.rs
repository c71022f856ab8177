//! Configuration checks and the names used in experiment files.

use burn::tensor::Device;
use hpn_models::{Backbone, BackboneConfig, ModelError, Shortcut};

#[test]
fn invalid_sizes_are_errors_that_name_the_field() {
    let device = Device::flex();
    for depth in [0, 2, 7, 9, 33] {
        let config = BackboneConfig::new(Backbone::ResNetCifar { depth, width: 1 }, 10);
        let error = config.init(&device).unwrap_err();
        assert_eq!(error, ModelError::InvalidDepth { depth });
        assert!(error.to_string().contains(&depth.to_string()));
    }
    let error = BackboneConfig::new(
        Backbone::ResNetCifar {
            depth: 14,
            width: 0,
        },
        10,
    )
    .init(&device)
    .unwrap_err();
    assert_eq!(error, ModelError::Zero { field: "width" });
    let error = BackboneConfig::new(Backbone::ResNet18, 0)
        .init(&device)
        .unwrap_err();
    assert!(error.to_string().contains("outputs"), "{error}");
    let error = BackboneConfig::new(Backbone::ConvNet, 3)
        .with_in_channels(0)
        .validate()
        .unwrap_err();
    assert!(error.to_string().contains("in_channels"), "{error}");
}

#[test]
fn names_in_experiment_files() {
    let cases = [
        (Backbone::ResNet32, "\"resnet32\""),
        (Backbone::DenseNet121, "\"densenet121\""),
        (Backbone::ResNet18, "\"resnet18\""),
        (Backbone::ResNet34, "\"resnet34\""),
        (Backbone::ConvNet, "\"convnet\""),
        (Backbone::ConvNetBn, "\"convnet-bn\""),
        (
            Backbone::ResNetCifar {
                depth: 20,
                width: 2,
            },
            "{\"resnet-cifar\":{\"depth\":20,\"width\":2}}",
        ),
    ];
    for (backbone, json) in cases {
        assert_eq!(serde_json::to_string(&backbone).unwrap(), json);
        assert_eq!(serde_json::from_str::<Backbone>(json).unwrap(), backbone);
    }
    assert_eq!(
        serde_json::from_str::<Backbone>("\"resnet-32\"").unwrap(),
        Backbone::ResNet32
    );
    assert!(serde_json::from_str::<Backbone>("\"resnet50\"").is_err());
    for (shortcut, json) in [
        (Shortcut::Conv3x3, "\"conv3x3\""),
        (Shortcut::Conv1x1, "\"conv1x1\""),
        (Shortcut::ZeroPad, "\"zero-pad\""),
    ] {
        assert_eq!(serde_json::to_string(&shortcut).unwrap(), json);
        assert_eq!(serde_json::from_str::<Shortcut>(json).unwrap(), shortcut);
    }
    assert_eq!(Shortcut::default(), Shortcut::Conv3x3);
    let config = BackboneConfig::new(Backbone::ResNet32, 100);
    assert_eq!(
        (config.in_channels, config.shortcut),
        (3, Shortcut::Conv3x3)
    );
}
