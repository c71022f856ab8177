//! Parameter counts against counts derived by hand from the architectures.

use burn::tensor::Device;
use hpn_models::{Backbone, BackboneConfig, Shortcut};

/// Weights of a bias-free `k x k` convolution.
fn conv(k: usize, i: usize, o: usize) -> usize {
    k * k * i * o
}

/// Weight and bias of a BatchNorm (running statistics are buffers, not parameters).
fn bn(c: usize) -> usize {
    2 * c
}

/// Weight and bias of a linear layer.
fn linear(i: usize, o: usize) -> usize {
    i * o + o
}

/// CIFAR ResNet with `n` blocks per stage, width `w`, as described in docs/paper-facts.md, section 3.
fn cifar_resnet(n: usize, w: usize, shortcut: Shortcut, d: usize) -> usize {
    let block = |i: usize, o: usize| conv(3, i, o) + bn(o) + conv(3, o, o) + bn(o);
    let projection = |i: usize, o: usize| match shortcut {
        Shortcut::Conv3x3 => conv(3, i, o) + bn(o),
        Shortcut::Conv1x1 => conv(1, i, o) + bn(o),
        Shortcut::ZeroPad => 0,
    };
    let (c1, c2, c3) = (16 * w, 32 * w, 64 * w);
    let stem = conv(3, 3, c1) + bn(c1);
    let stage1 = n * block(c1, c1);
    let stage2 = block(c1, c2) + projection(c1, c2) + (n - 1) * block(c2, c2);
    let stage3 = block(c2, c3) + projection(c2, c3) + (n - 1) * block(c3, c3);
    stem + stage1 + stage2 + stage3 + linear(c3, d)
}

/// DenseNet-121, CIFAR variant: stem 3 -> 2k, bottleneck layers BN(c) + 1x1 (c -> 4k) +
/// BN(4k) + 3x3 (4k -> k), transitions BN(c) + 1x1 (c -> c/2), final BN, Linear(c -> D).
fn densenet121(d: usize) -> usize {
    let k = 32;
    let layer = |c: usize| bn(c) + conv(1, c, 4 * k) + bn(4 * k) + conv(3, 4 * k, k);
    let mut c = 2 * k;
    let mut total = conv(3, 3, c);
    for (b, layers) in [6, 12, 24, 16].into_iter().enumerate() {
        for j in 0..layers {
            total += layer(c + j * k);
        }
        c += layers * k;
        if b < 3 {
            total += bn(c) + conv(1, c, c / 2);
            c /= 2;
        }
    }
    total + bn(c) + linear(c, d)
}

fn count(backbone: Backbone, d: usize) -> usize {
    count_with(BackboneConfig::new(backbone, d))
}

fn count_with(config: BackboneConfig) -> usize {
    config
        .init(&Device::flex())
        .expect("valid configuration")
        .num_params()
}

#[test]
fn resnet32_has_486736_plus_65d_parameters() {
    for d in [2, 10, 100] {
        assert_eq!(count(Backbone::ResNet32, d), 486_736 + 65 * d);
    }
    assert_eq!(count(Backbone::ResNet32, 100), 493_236);
    // The hand formula agrees with the reference number.
    assert_eq!(cifar_resnet(5, 1, Shortcut::Conv3x3, 100), 493_236);
}

#[test]
fn cifar_resnet_shortcuts_depths_and_widths() {
    for shortcut in [Shortcut::Conv3x3, Shortcut::Conv1x1, Shortcut::ZeroPad] {
        let config = BackboneConfig::new(Backbone::ResNet32, 25).with_shortcut(shortcut);
        assert_eq!(
            count_with(config),
            cifar_resnet(5, 1, shortcut, 25),
            "{shortcut:?}"
        );
    }
    // ResNet-20 (n = 3) at width 2 and ResNet-8 (n = 1).
    let wide = Backbone::ResNetCifar {
        depth: 20,
        width: 2,
    };
    assert_eq!(count(wide, 10), cifar_resnet(3, 2, Shortcut::Conv3x3, 10));
    let tiny = Backbone::ResNetCifar { depth: 8, width: 1 };
    assert_eq!(count(tiny, 3), cifar_resnet(1, 1, Shortcut::Conv3x3, 3));
}

#[test]
fn densenet121_parameter_count() {
    for d in [10, 100] {
        assert_eq!(count(Backbone::DenseNet121, d), densenet121(d));
    }
    assert_eq!(densenet121(0), 6_946_048);
}

#[test]
fn imagenet_resnets_match_torchvision() {
    // torchvision: resnet18 11,689,512 and resnet34 21,797,672 parameters with 1000 classes.
    assert_eq!(count(Backbone::ResNet18, 1000), 11_689_512);
    assert_eq!(count(Backbone::ResNet34, 1000), 21_797_672);
    assert_eq!(count(Backbone::ResNet18, 200), 11_176_512 + 513 * 200);
    assert_eq!(count(Backbone::ResNet34, 47), 21_284_672 + 513 * 47);
}

#[test]
fn convnet_parameter_count() {
    for (c, d) in [(1, 3), (3, 10)] {
        let expected = (conv(3, c, 32) + 32)
            + (conv(3, 32, 64) + 64)
            + linear(64 * 7 * 7, 128)
            + linear(128, d);
        let config = BackboneConfig::new(Backbone::ConvNet, d).with_in_channels(c);
        assert_eq!(count_with(config), expected);
        // BatchNorm's gamma and beta for 32, 64 and 128 channels; running statistics are not
        // parameters.
        let normalised = BackboneConfig::new(Backbone::ConvNetBn, d).with_in_channels(c);
        assert_eq!(count_with(normalised), expected + 2 * (32 + 64 + 128));
    }
}
