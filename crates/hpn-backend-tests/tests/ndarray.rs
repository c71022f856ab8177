//! Burn's ndarray backend against Flex, the default: the same initial weights (one record
//! written on Flex and read on ndarray) and the same batches give the same losses over three
//! SGD steps for the ConvNet and ResNet-32, the same gradients of Eq. 1 and Eq. 7, and a
//! short quickstart trained on ndarray is evaluated on Flex to the same accuracy.

use std::path::Path;

use burn::module::Module;
use burn::optim::decay::WeightDecayConfig;
use burn::optim::momentum::MomentumConfig;
use burn::optim::{GradientsParams, SgdConfig};
use burn::store::ModuleRecord;
use burn::tensor::{Device, Int, Tensor, TensorData};
use hpn_losses::{Reduction, RegressionBounds, classification_loss, regression_loss};
use hpn_models::{Backbone, BackboneConfig, Model};
use hpn_train::{BackendKind, ExperimentConfig, RunOptions};

#[allow(deprecated)]
fn ndarray() -> Device {
    Device::ndarray()
}

/// Values in [-1, 1) from a fixed linear congruential sequence: the same on every backend.
fn values(count: usize, seed: u64) -> Vec<f32> {
    let mut state = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
    (0..count)
        .map(|_| {
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            ((state >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
        })
        .collect()
}

fn tensor<const D: usize>(dims: [usize; D], seed: u64, device: &Device) -> Tensor<D> {
    let count = dims.iter().product();
    Tensor::from_data(TensorData::new(values(count, seed), dims), device)
}

fn floats<const D: usize>(t: Tensor<D>) -> Vec<f32> {
    t.try_into_vec_as::<f32>()
        .expect("read back a float tensor")
}

/// The largest |a - b| / (1e-3 + |b|) over the entries.
fn largest_relative_gap(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len());
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs() / (1e-3 + y.abs()))
        .fold(0.0, f32::max)
}

/// The losses of three SGD steps (momentum 0.9, weight decay 1e-4, Eq. 1 summed) of `model` on
/// `device`, the same batch every step.
fn three_steps(mut model: Model, images: [usize; 4], dims: usize, device: &Device) -> Vec<f32> {
    let x = tensor(images, 7, device);
    let labels: Vec<i64> = (0..images[0] as i64).map(|i| i % dims as i64).collect();
    let labels = Tensor::<1, Int>::from_data(TensorData::new(labels, [images[0]]), device);
    // One-hot prototypes: the rows of the identity.
    let prototypes = Tensor::<2>::eye(dims, device);
    let mut optimizer = SgdConfig::new()
        .with_momentum(Some(MomentumConfig {
            momentum: 0.9,
            dampening: 0.0,
            nesterov: false,
        }))
        .with_weight_decay(Some(WeightDecayConfig { penalty: 1e-4 }))
        .init();
    let mut losses = Vec::new();
    for _ in 0..3 {
        let z = model.forward(x.clone());
        let loss = classification_loss(z, prototypes.clone(), labels.clone(), Reduction::Sum);
        losses.push(floats(loss.clone())[0]);
        let grads = GradientsParams::from_grads(loss.backward(), &model);
        model = optimizer.step(0.01, model, grads);
    }
    losses
}

/// Builds `config` on autodiff Flex, writes its record, reads it into the same network on
/// autodiff ndarray, and compares three SGD steps on each.
fn same_steps_on_both(config: BackboneConfig, images: [usize; 4], dir: &Path) {
    let flex = Device::flex().autodiff();
    let nd = ndarray().autodiff();
    let model = config.init(&flex).unwrap();
    let path = dir.join("initial.bpk");
    model.clone().into_record().save(&path).unwrap();
    let record = ModuleRecord::load(&path).unwrap();
    let copy = config.init(&nd).unwrap().load_record(record);

    let on_flex = three_steps(model, images, config.outputs, &flex);
    let on_ndarray = three_steps(copy, images, config.outputs, &nd);
    let gap = largest_relative_gap(&on_ndarray, &on_flex);
    assert!(
        gap < 1e-3,
        "{}: ndarray losses {on_ndarray:?} against flex {on_flex:?} (gap {gap})",
        config.backbone.name()
    );
    // Three steps that train: the loss moves.
    assert!(on_flex[2] < on_flex[0], "{on_flex:?}");
}

#[test]
fn convnet_takes_the_same_three_steps_on_ndarray_as_on_flex() {
    let dir = tempfile::tempdir().unwrap();
    let config = BackboneConfig::new(Backbone::ConvNet, 10).with_in_channels(1);
    same_steps_on_both(config, [8, 1, 28, 28], dir.path());
}

#[test]
fn resnet32_takes_the_same_three_steps_on_ndarray_as_on_flex() {
    let dir = tempfile::tempdir().unwrap();
    let config = BackboneConfig::new(Backbone::ResNet32, 10);
    same_steps_on_both(config, [4, 3, 32, 32], dir.path());
}

/// dL/dz of Eq. 1 (classification) and Eq. 7 (regression) at the same outputs on `device`.
fn loss_gradients(device: &Device) -> (Vec<f32>, Vec<f32>) {
    let device = device.clone().autodiff();
    let z = tensor([6, 4], 3, &device).require_grad();
    let prototypes = Tensor::<2>::eye(4, &device);
    let labels =
        Tensor::<1, Int>::from_data(TensorData::new(vec![0i64, 1, 2, 3, 0, 2], [6]), &device);
    let loss = classification_loss(z.clone(), prototypes, labels, Reduction::Sum);
    let class_grad = floats(z.grad(&loss.backward()).unwrap());

    let z = tensor([6, 4], 5, &device).require_grad();
    let pole = Tensor::<1>::from_data(TensorData::new(vec![0.0f32, 0.0, 0.0, 1.0], [4]), &device);
    let targets = tensor([6], 9, &device).mul_scalar(90.0);
    let bounds = RegressionBounds::new(-90.0, 90.0).unwrap();
    let loss = regression_loss(z.clone(), pole, targets, bounds, Reduction::Sum);
    (class_grad, floats(z.grad(&loss.backward()).unwrap()))
}

#[test]
fn loss_gradients_agree_with_flex() {
    let (class_flex, regression_flex) = loss_gradients(&Device::flex());
    let (class_nd, regression_nd) = loss_gradients(&ndarray());
    assert!(class_flex.iter().any(|g| g.abs() > 1e-3));
    assert!(largest_relative_gap(&class_nd, &class_flex) < 1e-4);
    assert!(largest_relative_gap(&regression_nd, &regression_flex) < 1e-4);
}

#[test]
fn a_short_quickstart_on_ndarray_trains_and_evaluates_the_same_on_flex() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let mut config = ExperimentConfig::load(&root.join("configs/quickstart.toml")).unwrap();
    // A small slice of the quickstart, so that ndarray (tens of times slower than Flex) trains
    // it in seconds: 300 training and 200 test images, 30 steps of 10, with BatchNorm so that
    // 30 steps are enough (the plain ConvNet can stay near chance this early). On Flex these
    // settings reach 70.0-79.0 % over seeds 1-5.
    config.backend = BackendKind::Ndarray;
    config.model.backbone = Backbone::ConvNetBn;
    config.dataset.train_per_class = Some(30);
    config.dataset.test_per_class = Some(20);
    config.training.epochs = 1;
    config.training.batch_size = 10;
    let tmp = tempfile::tempdir().unwrap();
    let options = RunOptions {
        out: Some(tmp.path().to_path_buf()),
        quiet: true,
        ..RunOptions::default()
    };
    let summary = hpn_train::run(&config, &options).unwrap();
    let accuracy = summary.accuracy.expect("a trained seed").mean;
    assert!(accuracy >= 60.0, "one epoch on ndarray: {accuracy} %");

    // The run trained on ndarray is evaluated on Flex to the same accuracy.
    let run_dir = tmp.path().join("quickstart");
    let again = hpn_train::inference::evaluate_run(&run_dir, &Device::flex()).unwrap();
    let on_flex = again[0].accuracy.unwrap();
    assert!(
        (on_flex - accuracy).abs() <= 0.1,
        "trained on ndarray {accuracy} %, evaluated on flex {on_flex} %"
    );
}
