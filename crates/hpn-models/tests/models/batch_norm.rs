//! BatchNorm statistics move during training forwards only, and the inference copy of a network
//! treats every image on its own.

use burn::module::Module;
use burn::tensor::{Device, Tensor};
use hpn_models::{Backbone, BackboneConfig, Model, ResNetCifar};

use crate::util::{floats, images};

fn cifar(model: &Model) -> &ResNetCifar {
    match model {
        Model::ResNetCifar(net) => net,
        _ => panic!("expected a CIFAR ResNet"),
    }
}

fn stem_running_mean(model: &Model) -> Vec<f32> {
    floats(cifar(model).bn1.running_mean.value_sync())
}

#[test]
fn running_statistics_change_in_training_only() {
    let device = Device::flex().autodiff();
    let inner = device.clone().inner();
    let model = BackboneConfig::new(Backbone::ResNetCifar { depth: 8, width: 1 }, 4)
        .init(&device)
        .unwrap();
    let batch = [4, 3, 12, 12];

    // Inference copy: running statistics are used, not updated.
    let valid = model.valid();
    let _ = valid.forward(images(batch, 3, &inner));
    assert!(stem_running_mean(&valid).iter().all(|m| *m == 0.0));
    assert!(stem_running_mean(&model).iter().all(|m| *m == 0.0));

    // Training forward: running mean <- 0.9 * 0 + 0.1 * batch mean of the stem convolution.
    let x = images(batch, 3, &device);
    let stem = cifar(&model).conv1.forward(x.clone());
    let batch_mean = floats(stem.mean_dim(3).mean_dim(2).mean_dim(0));
    let _ = model.forward(x);
    let running = stem_running_mean(&model);
    assert!(running.iter().any(|m| *m != 0.0));
    for (r, m) in running.iter().zip(&batch_mean) {
        assert!(
            (r - 0.1 * m).abs() < 1e-6,
            "running {r}, 0.1 x batch mean {}",
            0.1 * m
        );
    }
}

#[test]
fn inference_output_does_not_depend_on_the_batch() {
    let device = Device::flex().autodiff();
    let inner = device.clone().inner();
    let model = BackboneConfig::new(Backbone::ResNetCifar { depth: 8, width: 1 }, 3)
        .init(&device)
        .unwrap();
    let batch = images([3, 3, 8, 8], 9, &inner);
    let first = batch.clone().narrow(0, 0, 1);

    let valid = model.valid();
    let whole = floats(valid.forward(batch.clone()).narrow(0, 0, 1));
    let alone = floats(valid.forward(first.clone()));
    for (a, b) in whole.iter().zip(&alone) {
        assert!((a - b).abs() < 1e-5, "inference: {a} vs {b}");
    }

    // In training mode the batch statistics differ, so the same image gets another output.
    let train_whole = floats(model.forward(Tensor::from_inner(batch)).narrow(0, 0, 1));
    let train_pair = floats(
        model
            .forward(Tensor::from_inner(
                images([3, 3, 8, 8], 10, &inner).slice_assign([0..1, 0..3, 0..8, 0..8], first),
            ))
            .narrow(0, 0, 1),
    );
    assert!(
        train_whole
            .iter()
            .zip(&train_pair)
            .any(|(a, b)| (a - b).abs() > 1e-4),
        "training outputs should depend on the batch"
    );
}
