//! Deterministic inputs shared by the tests.

use burn::tensor::{Device, Tensor, TensorData};

/// splitmix64, uniform in [-1, 1).
pub struct SplitMix(pub u64);

impl SplitMix {
    pub fn uniform(&mut self) -> f32 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        ((z >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
    }
}

/// A batch of deterministic pseudo-random images.
pub fn images(dims: [usize; 4], seed: u64, device: &Device) -> Tensor<4> {
    let mut rng = SplitMix(seed);
    let values: Vec<f32> = (0..dims.iter().product::<usize>())
        .map(|_| rng.uniform())
        .collect();
    Tensor::from_data(TensorData::new(values, dims), device)
}

pub fn floats<const D: usize>(t: Tensor<D>) -> Vec<f32> {
    t.try_into_vec_as::<f32>()
        .expect("read back a float tensor")
}
