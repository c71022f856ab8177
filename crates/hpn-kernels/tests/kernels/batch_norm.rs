//! `batch_norm_forward` (the fused Flex BatchNorm) against Burn's own `BatchNorm::forward`:
//! the same output, gradients and running statistics, for rank 4 and rank 2 inputs.

use burn::module::Param;
use burn::nn::BatchNormConfig;
use burn::tensor::{Device, Tensor};
use hpn_kernels::batch_norm_forward;

use crate::util::{floats, images};

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

/// A BatchNorm of `channels` whose gamma, beta and running statistics are away from their
/// initial values, as after training.
fn trained_norm(channels: usize, seed: u64, device: &Device) -> burn::nn::BatchNorm {
    let mut bn = BatchNormConfig::new(channels).init(device);
    bn.gamma = Param::from_tensor(images([channels], seed, device).add_scalar(1.5));
    bn.beta = Param::from_tensor(images([channels], seed + 1, device));
    bn.running_mean.update(images([channels], seed + 2, device));
    bn.running_var
        .update(images([channels], seed + 3, device).add_scalar(1.2));
    bn
}

/// `batch_norm_forward` and Burn's `forward` give the same bits for `x`.
fn assert_same_bits<const D: usize>(bn: &burn::nn::BatchNorm, x: Tensor<D>) {
    let ours = floats(batch_norm_forward(bn, x.clone()));
    let burn = floats(bn.forward(x));
    assert_eq!(ours.len(), burn.len());
    for (i, (a, b)) in ours.iter().zip(&burn).enumerate() {
        assert_eq!(a.to_bits(), b.to_bits(), "rank {D}, entry {i}: {a} vs {b}");
    }
}

/// Inference on the plain Flex device (running statistics, the `valid()` copy of a network):
/// the one-pass kernel gives Burn's `BatchNorm::forward` bit for bit, for rank 4 and rank 2.
#[test]
fn inference_batch_norm_is_burns_bit_for_bit() {
    let device = Device::flex();
    let x4 = images([4, 3, 5, 6], 31, &device).mul_scalar(4.0);
    assert_same_bits(&trained_norm(3, 32, &device), x4);
    let x2 = images([6, 5], 36, &device).mul_scalar(4.0);
    assert_same_bits(&trained_norm(5, 37, &device), x2);
}
