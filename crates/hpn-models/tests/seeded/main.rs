//! Tests whose initial weights must be repeatable. Burn's random generator is process-wide, so
//! these tests live in a binary of their own, and every network in it is built through
//! [`seeded_init`], which holds a lock from seeding to the last draw: no other test can draw
//! from the generator in between.

use std::sync::Mutex;

use burn::tensor::Device;
use hpn_models::{BackboneConfig, Model};

mod init;
mod training;
#[path = "../models/util.rs"]
#[allow(dead_code)]
mod util;

static BURN_RNG: Mutex<()> = Mutex::new(());

/// `config.init(device)` with Burn's generator seeded to `seed` just before, under the lock.
pub fn seeded_init(config: &BackboneConfig, seed: u64, device: &Device) -> Model {
    let _guard = BURN_RNG
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    device.seed(seed);
    config.init(device).expect("valid configuration")
}
