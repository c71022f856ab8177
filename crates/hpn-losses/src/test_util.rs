//! Helpers shared by the unit tests: a deterministic generator and host read-back.

use burn::tensor::{Device, Int, Tensor};

/// A small deterministic generator (splitmix64) for test inputs.
pub struct SplitMix(pub u64);

impl SplitMix {
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in [-1, 1).
    pub fn uniform(&mut self) -> f32 {
        ((self.next_u64() >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
    }

    pub fn matrix(&mut self, rows: usize, cols: usize) -> Vec<Vec<f32>> {
        (0..rows)
            .map(|_| (0..cols).map(|_| self.uniform()).collect())
            .collect()
    }
}

pub fn device() -> Device {
    Device::flex()
}

pub fn tensor2(rows: &[Vec<f32>], device: &Device) -> Tensor<2> {
    let n = rows.len();
    let d = rows.first().map_or(0, Vec::len);
    let flat: Vec<f32> = rows.iter().flatten().copied().collect();
    Tensor::<1>::from_data(flat.as_slice(), device).reshape([n, d])
}

pub fn labels(values: &[i64], device: &Device) -> Tensor<1, Int> {
    Tensor::<1, Int>::from_data(values, device)
}

pub fn floats<const D: usize>(t: Tensor<D>) -> Vec<f32> {
    t.try_into_vec_as::<f32>()
        .expect("read back a float tensor")
}

pub fn ints<const D: usize>(t: Tensor<D, Int>) -> Vec<i64> {
    t.try_into_vec_as::<i64>().expect("read back an int tensor")
}

pub fn scalar(t: Tensor<1>) -> f32 {
    let v = floats(t);
    assert_eq!(v.len(), 1, "a loss has shape [1]");
    v[0]
}

pub fn assert_close(actual: f32, expected: f32, tol: f32) {
    assert!(
        (actual - expected).abs() <= tol,
        "expected {expected}, got {actual} (tolerance {tol})"
    );
}
