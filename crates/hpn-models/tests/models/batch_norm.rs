//! BatchNorm statistics move during training forwards only, and the fused Flex BatchNorm
//! (`batch_norm_forward`) computes what Burn's `BatchNorm` does.

use burn::module::{Module, Param};
use burn::nn::BatchNormConfig;
use burn::tensor::{Device, Tensor};
use hpn_models::{Backbone, BackboneConfig, Model, ResNetCifar, batch_norm_forward};

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

/// (output, dL/dx, dL/dgamma, dL/dbeta, running mean, running var) for L = sum(y * r), with
/// Burn's BatchNorm or `batch_norm_forward`.
fn norm_run<const D: usize>(x: &Tensor<D>, r: &Tensor<D>, ours: bool) -> [Vec<f32>; 6] {
    let device = x.device();
    let channels = x.dims()[1];
    let mut bn = BatchNormConfig::new(channels).init(&device);
    bn.gamma = Param::from_tensor(Tensor::arange(1..channels as i64 + 1, &device).float());
    bn.beta = Param::from_tensor(Tensor::full([channels], 0.5, &device));
    let x = x.clone().require_grad();
    let y = if ours {
        batch_norm_forward(&bn, x.clone())
    } else {
        bn.forward(x.clone())
    };
    let grads = y.clone().mul(r.clone()).sum().backward();
    [
        floats(y),
        floats(x.grad(&grads).expect("x requires grad")),
        floats(bn.gamma.grad(&grads).expect("gamma requires grad")),
        floats(bn.beta.grad(&grads).expect("beta requires grad")),
        floats(bn.running_mean.value_sync()),
        floats(bn.running_var.value_sync()),
    ]
}

#[test]
fn fused_batch_norm_matches_burns_in_value_gradients_and_running_statistics() {
    let device = Device::flex().autodiff();
    let what = [
        "output",
        "dx",
        "dgamma",
        "dbeta",
        "running mean",
        "running var",
    ];
    let check = |ours: [Vec<f32>; 6], burn: [Vec<f32>; 6], case: &str| {
        for ((a, b), name) in ours.iter().zip(&burn).zip(what) {
            assert_eq!(a.len(), b.len());
            for (p, q) in a.iter().zip(b) {
                assert!(
                    (p - q).abs() < 2e-4 * (1.0 + q.abs()),
                    "{case} {name}: {p} vs {q}"
                );
            }
        }
    };
    let x4 = images([4, 3, 5, 6], 21, &device)
        .mul_scalar(3.0)
        .add_scalar(2.0);
    let r4 = images([4, 3, 5, 6], 22, &device);
    check(
        norm_run(&x4, &r4, true),
        norm_run(&x4, &r4, false),
        "rank 4",
    );
    let x2 = images([6, 5, 1, 1], 23, &device).reshape([6, 5]);
    let r2 = images([6, 5, 1, 1], 24, &device).reshape([6, 5]);
    check(
        norm_run(&x2, &r2, true),
        norm_run(&x2, &r2, false),
        "rank 2",
    );
}
