//! 2-d max pooling for the Flex CPU backend with the kernels of
//! [`max_pool`](crate::max_pool), as a Burn backend extension whose backward node keeps the
//! positions of the maxima; what the kernels do not cover (dtypes other than f32) goes to
//! Burn's Flex pooling.

use std::sync::Arc;

use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::CheckpointStrategy;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind};
use burn::backend::flex::FlexTensor;
use burn::backend::tensor::FloatTensor;
use burn::backend::{Autodiff, Backend, Dispatch, Flex, backend_extension};
use burn::nn::PaddingConfig2d;
use burn::nn::pool::MaxPool2d;
use burn::tensor::{DType, Shape, Tensor, TensorData};

use crate::is_flex;
use crate::max_pool::{PoolShape, max_pool2d, max_pool2d_backward};

/// Max pooling with a square window, the same stride and padding on both axes, no dilation and
/// floor mode, computed by [`max_pool`](crate::max_pool) where it applies.
#[backend_extension(Flex, Autodiff)]
pub trait KernelMaxPoolBackend: Backend {
    /// y = max_pool2d(x) with a `kernel` x `kernel` window, stride `stride` and padding
    /// `padding` on every side.
    fn kernel_max_pool2d(
        x: FloatTensor<Self>,
        kernel: usize,
        stride: usize,
        padding: usize,
    ) -> FloatTensor<Self>;
}

/// The [`PoolShape`] of `x` (N, C, H, W), or `None` where the kernels do not apply (dtype other
/// than f32, rank other than 4, an invalid window).
fn kernel_shape(x: &FlexTensor, kernel: usize, stride: usize, padding: usize) -> Option<PoolShape> {
    let dims = x.layout().shape().to_vec();
    let shape = (x.dtype() == DType::F32 && dims.len() == 4).then(|| PoolShape {
        planes: dims[0] * dims[1],
        height: dims[2],
        width: dims[3],
        kernel,
        stride,
        padding,
    });
    shape.filter(PoolShape::is_valid)
}

/// y and the positions of the maxima, for an `x` whose [`kernel_shape`] is `shape`.
fn flex_forward(x: &FlexTensor, shape: &PoolShape) -> (FlexTensor, Vec<u32>) {
    let x_c = x.to_contiguous();
    let input = x_c
        .as_slice::<f32>()
        .expect("a contiguous f32 tensor has an f32 slice");
    let (values, positions) = max_pool2d(input, shape);
    let dims = x.layout().shape().to_vec();
    let (out_h, out_w) = shape.output_size();
    let output = FlexTensor::from_data(TensorData::new(
        values,
        Shape::from(vec![dims[0], dims[1], out_h, out_w]),
    ));
    (output, positions)
}

fn burn_max_pool<B: Backend>(
    x: FloatTensor<B>,
    kernel: usize,
    stride: usize,
    padding: usize,
) -> FloatTensor<B> {
    B::max_pool2d(
        x,
        [kernel, kernel],
        [stride, stride],
        [padding, padding],
        [1, 1],
        false,
    )
}

impl KernelMaxPoolBackend for Flex {
    fn kernel_max_pool2d(
        x: FloatTensor<Self>,
        kernel: usize,
        stride: usize,
        padding: usize,
    ) -> FloatTensor<Self> {
        match kernel_shape(&x, kernel, stride, padding) {
            Some(shape) => flex_forward(&x, &shape).0,
            None => burn_max_pool::<Flex>(x, kernel, stride, padding),
        }
    }
}

/// What the backward pass needs: the positions of the maxima and the input's shape.
#[derive(Clone, Debug)]
struct Positions {
    positions: Arc<Vec<u32>>,
    shape: PoolShape,
    input_dims: Vec<usize>,
}

#[derive(Debug)]
struct KernelMaxPoolBackward;

impl Backward<Flex, 1> for KernelMaxPoolBackward {
    type State = Positions;

    fn backward(
        self,
        ops: Ops<Self::State, 1>,
        grads: &mut Gradients,
        _checkpointer: &mut Checkpointer,
    ) {
        let [node_x] = ops.parents;
        let grad = grads.consume::<Flex>(&ops.node);
        let Positions {
            positions,
            shape,
            input_dims,
        } = ops.state;
        if let Some(node) = node_x {
            let grad = grad.to_contiguous();
            let output_grad = grad
                .as_slice::<f32>()
                .expect("the gradient of an f32 pooling is f32");
            let values = max_pool2d_backward(output_grad, &positions, &shape);
            let dx = FlexTensor::from_data(TensorData::new(values, Shape::from(input_dims)));
            grads.register::<Flex>(node.id, dx);
        }
    }
}

impl<C: CheckpointStrategy> KernelMaxPoolBackend for Autodiff<Flex, C> {
    fn kernel_max_pool2d(
        x: FloatTensor<Self>,
        kernel: usize,
        stride: usize,
        padding: usize,
    ) -> FloatTensor<Self> {
        let Some(shape) = kernel_shape(x.primitive(), kernel, stride, padding) else {
            return burn_max_pool::<Self>(x, kernel, stride, padding);
        };
        match KernelMaxPoolBackward
            .prepare::<C>([x.node()])
            .compute_bound()
            .stateful()
        {
            OpsKind::Tracked(prep) => {
                let x = x.into_primitive();
                let (output, positions) = flex_forward(&x, &shape);
                let state = Positions {
                    positions: Arc::new(positions),
                    shape,
                    input_dims: x.layout().shape().to_vec(),
                };
                prep.finish(state, output)
            }
            OpsKind::UnTracked(prep) => prep.finish(flex_forward(&x.into_primitive(), &shape).0),
        }
    }
}

/// `pool.forward(x)`: Y[n, c, oy, ox] = max over the window at (oy s - p, ox s - p) of the
/// image entries (padding never wins). On Flex, for f32 inputs, a square window with the same
/// stride and explicit padding on both axes, no dilation and floor mode, the kernels of
/// [`max_pool`](crate::max_pool) (forward with the positions of the maxima, backward sending
/// each gradient there); Burn's `MaxPool2d::forward` everywhere else. Burn's value and
/// gradient bit for bit.
pub fn max_pool2d_forward(pool: &MaxPool2d, x: Tensor<4>) -> Tensor<4> {
    let [kh, kw] = pool.kernel_size;
    let [sh, sw] = pool.stride;
    let padding = match &pool.padding {
        PaddingConfig2d::Explicit(top, left, bottom, right)
            if top == left && left == bottom && bottom == right =>
        {
            Some(*top)
        }
        PaddingConfig2d::Valid => Some(0),
        _ => None,
    };
    let plain = kh == kw && sh == sw && pool.dilation == [1, 1] && !pool.ceil_mode;
    match padding {
        Some(padding) if plain && is_flex(x.device().as_dispatch()) => {
            Tensor::from_dispatch(<Dispatch as KernelMaxPoolBackend>::kernel_max_pool2d(
                x.into_dispatch(),
                kh,
                sh,
                padding,
            ))
        }
        _ => pool.forward(x),
    }
}
