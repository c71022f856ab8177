//! Growing the output layer (class-incremental softmax): the old logits are unchanged, the new
//! ones are the fresh network's.

use burn::tensor::Device;
use hpn_models::{Backbone, BackboneConfig, ModelError};

use crate::util::{floats, images};

#[test]
fn a_grown_convnet_keeps_its_old_logits_and_takes_the_new_ones_from_the_fresh_net() {
    let device = Device::flex();
    let config = |outputs| BackboneConfig::new(Backbone::ConvNet, outputs).with_in_channels(1);
    let old = config(5).init(&device).unwrap();
    let fresh = config(8).init(&device).unwrap();
    let x = images([3, 1, 28, 28], 4, &device);
    let before = floats(old.forward(x.clone()));
    let hidden_fresh = floats(fresh.forward(x.clone()));

    let old_weight = old.output_layer().weight.val();
    let old_bias = floats(old.output_layer().bias.as_ref().unwrap().val());
    let grown = old.grow_outputs(&fresh).unwrap();
    assert_eq!(grown.outputs(), 8);
    let after = floats(grown.forward(x));
    for row in 0..3 {
        // Logits 0..5: the old network's (the same weights; a wider matrix product may sum
        // in another order, hence the tolerance).
        for c in 0..5 {
            let (a, b) = (after[row * 8 + c], before[row * 5 + c]);
            assert!((a - b).abs() <= 1e-5 * b.abs().max(1.0), "{a} vs {b}");
        }
        // Logits 5..8 combine the old network's features with the fresh layer's columns, so
        // they differ from what the fresh network gives.
        assert_ne!(
            &after[row * 8 + 5..row * 8 + 8],
            &hidden_fresh[row * 8 + 5..row * 8 + 8]
        );
    }
    // The weights: old columns bit for bit, new columns the fresh layer's; the same for the
    // bias.
    let w = floats(grown.output_layer().weight.val());
    let w_fresh = floats(fresh.output_layer().weight.val());
    let w_old = floats(old_weight);
    for (i, chunk) in w.chunks(8).enumerate() {
        assert_eq!(&chunk[..5], &w_old[i * 5..i * 5 + 5]);
        assert_eq!(&chunk[5..], &w_fresh[i * 8 + 5..i * 8 + 8]);
    }
    let bias = |m: &hpn_models::Model| floats(m.output_layer().bias.as_ref().unwrap().val());
    let b = bias(&grown);
    assert_eq!(&b[..5], &old_bias[..]);
    assert_eq!(&b[5..], &bias(&fresh)[5..]);
}

#[test]
fn growing_into_a_narrower_or_another_network_is_an_error() {
    let device = Device::flex();
    let convnet = |outputs| {
        BackboneConfig::new(Backbone::ConvNet, outputs)
            .with_in_channels(1)
            .init(&device)
            .unwrap()
    };
    let resnet = BackboneConfig::new(Backbone::ResNetCifar { depth: 8, width: 1 }, 8)
        .init(&device)
        .unwrap();
    assert!(matches!(
        convnet(5).grow_outputs(&convnet(5)),
        Err(ModelError::Growth { .. })
    ));
    assert!(matches!(
        convnet(5).grow_outputs(&resnet),
        Err(ModelError::Growth { .. })
    ));
}
