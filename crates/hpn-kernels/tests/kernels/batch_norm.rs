//! `batch_norm_forward` (the fused Flex BatchNorm) against Burn's own `BatchNorm::forward`:
//! the same output, gradients and running statistics, for rank 4 and rank 2 inputs.

use burn::module::Param;
use burn::nn::BatchNormConfig;
use burn::tensor::activation::relu;
use burn::tensor::{Device, Tensor};
use hpn_kernels::{batch_norm_forward, batch_norm_relu_forward};

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

/// (output, dL/dx, dL/dgamma, dL/dbeta, dL/dresidual, running mean, running var) for
/// L = sum(y * w) with y = relu(bn(x) + residual), by `batch_norm_relu_forward` or by the
/// three separate operations.
fn relu_run<const D: usize>(
    x: &Tensor<D>,
    residual: Option<&Tensor<D>>,
    w: &Tensor<D>,
    fused: bool,
) -> Vec<Vec<f32>> {
    let device = x.device();
    let channels = x.dims()[1];
    let bn = trained_norm(channels, 51, &device);
    let x = x.clone().require_grad();
    let residual = residual.map(|r| r.clone().require_grad());
    let y = if fused {
        batch_norm_relu_forward(&bn, x.clone(), residual.clone())
    } else {
        let y = batch_norm_forward(&bn, x.clone());
        relu(match residual.clone() {
            Some(r) => y + r,
            None => y,
        })
    };
    let grads = y.clone().mul(w.clone()).sum().backward();
    let mut out = vec![
        floats(y),
        floats(x.grad(&grads).expect("x requires grad")),
        floats(bn.gamma.grad(&grads).expect("gamma requires grad")),
        floats(bn.beta.grad(&grads).expect("beta requires grad")),
    ];
    if let Some(r) = residual {
        out.push(floats(r.grad(&grads).expect("residual requires grad")));
    }
    out.push(floats(bn.running_mean.value_sync()));
    out.push(floats(bn.running_var.value_sync()));
    out
}

/// The fused BatchNorm-add-ReLU gives the bits of BatchNorm, sum and ReLU run one after the
/// other, in value, every gradient (the residual's included) and the running statistics; about
/// half of the outputs are rectified to 0, so the mask is exercised both ways.
#[test]
fn fused_batch_norm_relu_has_the_bits_of_the_three_operations() {
    let device = Device::flex().autodiff();
    let x4 = images([4, 3, 5, 7], 52, &device).mul_scalar(2.0);
    let r4 = images([4, 3, 5, 7], 53, &device);
    let w4 = images([4, 3, 5, 7], 54, &device);
    let x2 = images([6, 5], 55, &device);
    let w2 = images([6, 5], 56, &device);
    let cases = [
        (
            "rank 4 with residual",
            relu_run(&x4, Some(&r4), &w4, true),
            relu_run(&x4, Some(&r4), &w4, false),
        ),
        (
            "rank 4",
            relu_run(&x4, None, &w4, true),
            relu_run(&x4, None, &w4, false),
        ),
        (
            "rank 2",
            relu_run(&x2, None, &w2, true),
            relu_run(&x2, None, &w2, false),
        ),
    ];
    for (case, fused, separate) in cases {
        assert_eq!(fused.len(), separate.len(), "{case}");
        let zeros = fused[0].iter().filter(|v| **v == 0.0).count();
        assert!(
            zeros > fused[0].len() / 5 && zeros < fused[0].len() * 4 / 5,
            "{case}: {zeros} of {} outputs rectified",
            fused[0].len()
        );
        for (k, (a, b)) in fused.iter().zip(&separate).enumerate() {
            assert_eq!(a.len(), b.len(), "{case}, result {k}");
            for (i, (p, q)) in a.iter().zip(b).enumerate() {
                assert_eq!(
                    p.to_bits(),
                    q.to_bits(),
                    "{case}, result {k}, entry {i}: {p} vs {q}"
                );
            }
        }
    }
}
