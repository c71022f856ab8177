//! Burn's ndarray backend against Flex, the default: the same initial weights (one record
//! written on Flex and read on ndarray) and the same batches give the same losses over three
//! SGD steps for the ConvNet and ResNet-32, the same first-step loss and parameter gradients
//! for ResNet-32, the same gradients of Eq. 1 and Eq. 7, and a short quickstart trained on
//! ndarray is evaluated on Flex to the same accuracy.

use burn::tensor::Device;
use hpn_backend_tests::{
    assert_same_first_step, assert_same_gradients, assert_same_steps, evaluate_on,
    short_quickstart, train,
};
use hpn_models::{Backbone, BackboneConfig};
use hpn_train::BackendKind;

#[allow(deprecated)]
fn ndarray() -> Device {
    Device::ndarray()
}

#[test]
fn convnet_takes_the_same_three_steps_on_ndarray_as_on_flex() {
    let dir = tempfile::tempdir().unwrap();
    let config = BackboneConfig::new(Backbone::ConvNet, 10).with_in_channels(1);
    assert_same_steps(config, 1, [8, 1, 28, 28], 0.01, &ndarray(), dir.path());
}

#[test]
fn resnet32_takes_the_same_three_steps_on_ndarray_as_on_flex() {
    // At lr 1e-3: see `assert_same_steps` for why not 1e-2.
    let dir = tempfile::tempdir().unwrap();
    let config = BackboneConfig::new(Backbone::ResNet32, 10);
    assert_same_steps(config, 1, [16, 3, 32, 32], 1e-3, &ndarray(), dir.path());
}

#[test]
fn resnet32_computes_the_same_first_step_on_ndarray_as_on_flex() {
    let dir = tempfile::tempdir().unwrap();
    let config = BackboneConfig::new(Backbone::ResNet32, 10);
    assert_same_first_step(config, 1, [16, 3, 32, 32], &ndarray(), dir.path());
}

#[test]
fn loss_gradients_agree_with_flex() {
    assert_same_gradients(&ndarray());
}

#[test]
fn a_short_quickstart_on_ndarray_trains_and_evaluates_the_same_on_flex() {
    // A small slice of the quickstart, so that ndarray (tens of times slower than Flex) trains
    // it in seconds: 300 training and 200 test images, 30 steps of 10. On Flex these settings
    // reach 70.0-79.0 % over seeds 1-5.
    let config = short_quickstart(BackendKind::Ndarray, 30, 20, 10);
    let tmp = tempfile::tempdir().unwrap();
    let (run_dir, accuracy) = train(&config, tmp.path());
    assert!(accuracy >= 60.0, "one epoch on ndarray: {accuracy} %");

    // The run trained on ndarray is evaluated on Flex to the same accuracy.
    let on_flex = evaluate_on(&run_dir, &Device::flex());
    assert!(
        (on_flex - accuracy).abs() <= 0.1,
        "trained on ndarray {accuracy} %, evaluated on flex {on_flex} %"
    );
}
