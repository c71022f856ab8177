//! Deterministic inputs and read-back shared by the tests.

use burn::tensor::{Device, Tensor, TensorData};
use rand::RngExt;

/// A tensor of `dims` filled with values uniform in [-1, 1) from the xoshiro stream of `seed`,
/// the same on every run.
pub fn images<const D: usize>(dims: [usize; D], seed: u64, device: &Device) -> Tensor<D> {
    let mut rng = hpn_common::stream(&[seed]);
    let count: usize = dims.iter().product();
    let values: Vec<f32> = (0..count).map(|_| rng.random_range(-1.0..1.0)).collect();
    Tensor::from_data(TensorData::new(values, dims), device)
}

/// The values of a float tensor, read back to the host.
pub fn floats<const D: usize>(t: Tensor<D>) -> Vec<f32> {
    t.try_into_vec_as::<f32>()
        .expect("read back a float tensor")
}
