//! Burn's wgpu backend against Flex: the same initial weights and batches give the same losses
//! over three SGD steps for the ConvNet and ResNet-32, the same first-step loss and parameter
//! gradients for ResNet-32, the same gradients of Eq. 1 and Eq. 7;
//! a short quickstart trains on wgpu as it does on Flex, and a run trained on either backend
//! evaluates and predicts the same on the other; a machine without any graphics driver gets an
//! error that says so.
//!
//! On a machine without a GPU, Mesa's software Vulkan device (Debian's `mesa-vulkan-drivers`)
//! runs them. Where wgpu finds no device at all, the tests that need one say so and pass,
//! unless `HPN_REQUIRE_WGPU` is set (as CI sets it), which makes that a failure.

use std::process::{Command, Output};

use burn::tensor::Device;
use hpn_backend_tests::{
    assert_same_first_step, assert_same_gradients, assert_same_steps, digit_pngs, evaluate_on,
    floats, predict_on, short_quickstart, tensor, train,
};
use hpn_models::{Backbone, BackboneConfig};
use hpn_train::{BackendKind, select_device};

/// The wgpu device, or `None` (after saying why) where there is none and none is required.
fn wgpu() -> Option<Device> {
    match select_device(BackendKind::Wgpu) {
        Ok(device) => Some(device),
        Err(e) if std::env::var_os("HPN_REQUIRE_WGPU").is_some() => {
            panic!("HPN_REQUIRE_WGPU is set, but {e}")
        }
        Err(e) => {
            eprintln!(
                "skipped: {e}. Install a Vulkan driver (Debian: mesa-vulkan-drivers) to run it."
            );
            None
        }
    }
}

#[test]
fn convnet_takes_the_same_three_steps_on_wgpu_as_on_flex() {
    let Some(device) = wgpu() else { return };
    let dir = tempfile::tempdir().unwrap();
    let config = BackboneConfig::new(Backbone::ConvNet, 10).with_in_channels(1);
    assert_same_steps(config, 1, [8, 1, 28, 28], 0.01, &device, dir.path());
}

#[test]
fn resnet32_takes_the_same_three_steps_on_wgpu_as_on_flex() {
    let Some(device) = wgpu() else { return };
    // At lr 1e-3: see `assert_same_steps` for why not 1e-2.
    let dir = tempfile::tempdir().unwrap();
    let config = BackboneConfig::new(Backbone::ResNet32, 10);
    assert_same_steps(config, 1, [16, 3, 32, 32], 1e-3, &device, dir.path());
}

#[test]
fn resnet32_computes_the_same_first_step_on_wgpu_as_on_flex() {
    let Some(device) = wgpu() else { return };
    let dir = tempfile::tempdir().unwrap();
    let config = BackboneConfig::new(Backbone::ResNet32, 10);
    assert_same_first_step(config, 1, [16, 3, 32, 32], &device, dir.path());
}

#[test]
fn loss_gradients_agree_with_flex() {
    let Some(device) = wgpu() else { return };
    assert_same_gradients(&device);
}

#[test]
fn a_short_quickstart_trains_on_wgpu_as_on_flex_and_each_run_works_on_the_other_backend() {
    let Some(device) = wgpu() else { return };
    // One epoch over 2,000 training digits (63 steps of 32) and 500 test digits: on Flex
    // seeds 1-5 reach 89.2-90.4 %.
    let tmp = tempfile::tempdir().unwrap();
    let mut on_wgpu = short_quickstart(BackendKind::Wgpu, 200, 50, 32);
    on_wgpu.name = "on-wgpu".into();
    let mut on_flex = on_wgpu.clone();
    on_flex.backend = BackendKind::Flex;
    on_flex.name = "on-flex".into();
    let (wgpu_run, wgpu_accuracy) = train(&on_wgpu, tmp.path());
    let (flex_run, flex_accuracy) = train(&on_flex, tmp.path());
    println!("one short epoch: wgpu {wgpu_accuracy:.2} %, flex {flex_accuracy:.2} %");
    assert!(wgpu_accuracy >= 85.0, "wgpu: {wgpu_accuracy} %");
    // Same data, order and initial weights; only float rounding differs.
    assert!(
        (wgpu_accuracy - flex_accuracy).abs() <= 3.0,
        "wgpu {wgpu_accuracy} % against flex {flex_accuracy} %"
    );

    // Each run evaluates on the other backend to its own accuracy, give or take two of the
    // 500 images whose nearest prototype rounding can change.
    for (run, trained, other, name) in [
        (&wgpu_run, wgpu_accuracy, Device::flex(), "wgpu run on flex"),
        (&flex_run, flex_accuracy, device.clone(), "flex run on wgpu"),
    ] {
        let again = evaluate_on(run, &other);
        assert!(
            (again - trained).abs() <= 0.4,
            "{name}: {again} % against {trained} %"
        );
    }

    // `predict` of the wgpu run gives the same classes and cosines on both backends.
    let (files, labels) = digit_pngs(tmp.path(), 40);
    let by_wgpu = predict_on(&wgpu_run, &files, &device);
    let by_flex = predict_on(&wgpu_run, &files, &Device::flex());
    let mut correct = 0;
    for ((w, f), label) in by_wgpu.iter().zip(&by_flex).zip(&labels) {
        assert_eq!(w.0, f.0, "class on wgpu {w:?}, on flex {f:?}");
        assert!(
            (w.1 - f.1).abs() < 1e-3,
            "cosine on wgpu {w:?}, on flex {f:?}"
        );
        correct += usize::from(w.0 == *label);
    }
    assert!(correct >= 30, "{correct} of 40 PNG digits right");
}

/// Runs this test binary's `probe` in a child process with `env` set.
fn run_probe(env: &[(&str, &str)]) -> Output {
    let mut command = Command::new(std::env::current_exe().unwrap());
    command.args([
        "--exact",
        "probe",
        "--ignored",
        "--nocapture",
        "--test-threads=1",
    ]);
    for (key, value) in env {
        command.env(key, value);
    }
    command.output().expect("run the probe")
}

/// Sets up wgpu and adds two vectors there; prints the outcome on one line. Run
/// by the test below in a child process, whose environment it chooses.
#[test]
#[ignore = "run in a child process by the test below"]
fn probe() {
    match select_device(BackendKind::Wgpu) {
        Ok(device) => {
            let sum = tensor([4], 1, &device) + tensor([4], 2, &device);
            println!("probe: ok {:?}", floats(sum));
        }
        Err(e) => println!("probe: error: {e}"),
    }
}

#[test]
fn no_graphics_driver_is_an_error_that_says_so_and_no_panic() {
    // The Vulkan loader and EGL (OpenGL) pointed at driver lists that do not exist.
    let missing = "/nonexistent/hpn-no-driver.json";
    let output = run_probe(&[
        ("VK_DRIVER_FILES", missing),
        ("VK_ICD_FILENAMES", missing),
        ("__EGL_VENDOR_LIBRARY_FILENAMES", missing),
    ]);
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stdout}\n{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    let line = stdout
        .lines()
        .find_map(|l| l.find("probe: ").map(|at| &l[at..]))
        .unwrap_or_else(|| panic!("no probe line in {stdout}"));
    assert!(
        line.contains("backend `wgpu`: no device found (is a GPU and its driver present?)"),
        "{line}"
    );
}
