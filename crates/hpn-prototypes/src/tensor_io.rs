//! Moving matrices between the host and a Burn device.

use burn::tensor::{Device, Tensor, TensorData};

use crate::error::PrototypeError;

/// Reads a float tensor back to the host as `f32`, row-major.
pub(crate) fn read_f32<const D: usize>(tensor: Tensor<D>) -> Result<Vec<f32>, PrototypeError> {
    tensor
        .try_into_vec_as::<f32>()
        .map_err(|e| PrototypeError::TensorRead {
            reason: format!("{e:?}"),
        })
}

/// A float tensor of the given shape on `device` from row-major `f64` values (rounded to `f32`).
pub(crate) fn tensor_from_f64<const D: usize>(
    values: &[f64],
    shape: [usize; D],
    device: &Device,
) -> Tensor<D> {
    let data: Vec<f32> = values.iter().map(|&v| v as f32).collect();
    Tensor::from_data(TensorData::new(data, shape), device)
}

/// Rows of a (.., D) tensor scaled to unit Euclidean norm: x / \|x\|_2 along the last axis.
pub(crate) fn normalise_last_axis<const D: usize>(x: Tensor<D>) -> Tensor<D> {
    let norm = x.clone().square().sum_dim(D - 1).sqrt();
    x.div(norm)
}
