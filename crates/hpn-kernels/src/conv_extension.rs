//! A 2-d convolution for the Flex CPU backend that runs the kernels of
//! [`conv`](crate::conv) (forward, input gradient and weight gradient), as a
//! Burn backend extension with its own backward node; what the kernels do not cover (dtypes
//! other than f32) goes to Burn's Flex convolution.

use burn::backend::autodiff::NodeId;
use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::CheckpointStrategy;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind};
use burn::backend::flex::FlexTensor;
use burn::backend::ops::ModuleOps;
use burn::backend::tensor::FloatTensor;
use burn::backend::{Autodiff, Backend, Dispatch, Flex, backend_extension};
use burn::nn::conv::Conv2d;
use burn::tensor::ops::ConvOptions;
use burn::tensor::{DType, Shape, Tensor, TensorData};

use crate::conv::{ConvShape, conv2d, conv2d_input_grad, conv2d_weight_grad};
use crate::is_flex;

/// A convolution without bias, groups or dilation, with a square kernel and the same stride and
/// zero padding on both axes, computed by [`conv`](crate::conv) where they apply.
#[backend_extension(Flex, Autodiff)]
pub trait KernelConvBackend: Backend {
    /// y = conv2d(x, w) with stride `stride` and zero padding `padding` on every side.
    fn kernel_conv2d(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        stride: usize,
        padding: usize,
    ) -> FloatTensor<Self>;
}

fn options(stride: usize, padding: usize) -> ConvOptions<2> {
    ConvOptions::new([stride, stride], [padding, padding], [1, 1], 1)
}

impl KernelConvBackend for Flex {
    fn kernel_conv2d(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        stride: usize,
        padding: usize,
    ) -> FloatTensor<Self> {
        flex_forward(x, weight, stride, padding)
    }
}

/// The [`ConvShape`] of `x` (N, C, H, W) and `weight` (O, C, K, K), or `None` when a kernel of
/// [`conv`](crate::conv) does not apply (dtype other than f32, non-square kernel).
fn kernel_shape(
    x: &FlexTensor,
    weight: &FlexTensor,
    stride: usize,
    padding: usize,
) -> Option<ConvShape> {
    let x_dims = x.layout().shape().to_vec();
    let w_dims = weight.layout().shape().to_vec();
    let plain = x.dtype() == DType::F32
        && weight.dtype() == DType::F32
        && x_dims.len() == 4
        && w_dims.len() == 4
        && w_dims[2] == w_dims[3]
        && w_dims[1] == x_dims[1];
    let shape = plain.then(|| ConvShape {
        batch: x_dims[0],
        in_channels: x_dims[1],
        out_channels: w_dims[0],
        height: x_dims[2],
        width: x_dims[3],
        kernel: w_dims[2],
        stride,
        padding,
    });
    shape.filter(ConvShape::is_valid)
}

fn flex_from(values: Vec<f32>, dims: Vec<usize>) -> FlexTensor {
    FlexTensor::from_data(TensorData::new(values, Shape::from(dims)))
}

/// y = conv2d(x, w): [`conv2d`] in f32, Burn's Flex convolution otherwise.
fn flex_forward(x: FlexTensor, weight: FlexTensor, stride: usize, padding: usize) -> FlexTensor {
    if let Some(shape) = kernel_shape(&x, &weight, stride, padding) {
        let (x_c, w_c) = (x.to_contiguous(), weight.to_contiguous());
        if let (Some(input), Some(kernel)) = (x_c.as_slice::<f32>(), w_c.as_slice::<f32>()) {
            let values = conv2d(input, kernel, &shape);
            let (out_h, out_w) = shape.output_size();
            return flex_from(values, vec![shape.batch, shape.out_channels, out_h, out_w]);
        }
    }
    Flex::conv2d(x, weight, None, options(stride, padding))
}

/// dL/dx: [`conv2d_input_grad`] in f32, Burn's Flex path otherwise.
fn flex_input_grad(
    x: FlexTensor,
    weight: FlexTensor,
    output_grad: FlexTensor,
    stride: usize,
    padding: usize,
) -> FlexTensor {
    if let Some(shape) = kernel_shape(&x, &weight, stride, padding)
        && output_grad.dtype() == DType::F32
    {
        let (g_c, w_c) = (output_grad.to_contiguous(), weight.to_contiguous());
        if let (Some(grad), Some(kernel)) = (g_c.as_slice::<f32>(), w_c.as_slice::<f32>()) {
            let values = conv2d_input_grad(grad, kernel, &shape);
            let dims = vec![shape.batch, shape.in_channels, shape.height, shape.width];
            return flex_from(values, dims);
        }
    }
    Flex::conv2d_x_backward(x, weight, output_grad, options(stride, padding))
}

/// dL/dW on Flex tensors: the kernel of [`conv2d_weight_grad`] for f32, Burn's own
/// `conv2d_weight_backward` for any other dtype.
fn flex_weight_grad(
    x: FlexTensor,
    weight: FlexTensor,
    output_grad: FlexTensor,
    stride: usize,
    padding: usize,
) -> FlexTensor {
    if let Some(shape) = kernel_shape(&x, &weight, stride, padding)
        && output_grad.dtype() == DType::F32
    {
        let (x_c, g_c) = (x.to_contiguous(), output_grad.to_contiguous());
        if let (Some(input), Some(grad)) = (x_c.as_slice::<f32>(), g_c.as_slice::<f32>()) {
            let values = conv2d_weight_grad(input, grad, &shape);
            let dims = weight.layout().shape().to_vec();
            return flex_from(values, dims);
        }
    }
    Flex::conv2d_weight_backward(x, weight, output_grad, options(stride, padding))
}

#[derive(Debug)]
struct KernelConvBackward;

impl Backward<Flex, 2> for KernelConvBackward {
    type State = (NodeId, NodeId, usize, usize);

    fn backward(
        self,
        ops: Ops<Self::State, 2>,
        grads: &mut Gradients,
        checkpointer: &mut Checkpointer,
    ) {
        let [node_x, node_weight] = ops.parents;
        let grad = grads.consume::<Flex>(&ops.node);
        let (x_state, weight_state, stride, padding) = ops.state;
        let x = checkpointer.retrieve_node_output::<FlexTensor>(x_state);
        let weight = checkpointer.retrieve_node_output::<FlexTensor>(weight_state);
        if let Some(node) = node_x {
            let dx = flex_input_grad(x.clone(), weight.clone(), grad.clone(), stride, padding);
            grads.register::<Flex>(node.id, dx);
        }
        if let Some(node) = node_weight {
            let dw = flex_weight_grad(x, weight, grad, stride, padding);
            grads.register::<Flex>(node.id, dw);
        }
    }
}

impl<C: CheckpointStrategy> KernelConvBackend for Autodiff<Flex, C> {
    fn kernel_conv2d(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        stride: usize,
        padding: usize,
    ) -> FloatTensor<Self> {
        match KernelConvBackward
            .prepare::<C>([x.node(), weight.node()])
            .compute_bound()
            .stateful()
        {
            OpsKind::Tracked(mut prep) => {
                let x_state = prep.checkpoint(&x);
                let weight_state = prep.checkpoint(&weight);
                let output =
                    flex_forward(x.into_primitive(), weight.into_primitive(), stride, padding);
                prep.finish((x_state, weight_state, stride, padding), output)
            }
            OpsKind::UnTracked(prep) => prep.finish(flex_forward(
                x.into_primitive(),
                weight.into_primitive(),
                stride,
                padding,
            )),
        }
    }
}

/// `conv.forward(x)`: on Flex, for a convolution without groups or dilation, with a square
/// kernel and the same stride and padding on both axes, the kernels of
/// [`conv`](crate::conv) (forward, input gradient, weight gradient) with the bias, if any, added afterwards as `y + b[o]`; Burn's `Conv2d::forward`
/// everywhere else. The same value and gradients as Burn's convolution, to float rounding.
pub fn conv2d_forward(conv: &Conv2d, x: Tensor<4>) -> Tensor<4> {
    let weight = conv.weight.val();
    let [out_channels, _, kh, kw] = weight.dims();
    let stride = conv.stride;
    let padding = match &conv.padding {
        burn::nn::PaddingConfig2d::Explicit(top, left, bottom, right)
            if top == left && left == bottom && bottom == right =>
        {
            Some(*top)
        }
        burn::nn::PaddingConfig2d::Valid => Some(0),
        _ => None,
    };
    let plain = conv.groups == 1 && conv.dilation == [1, 1] && stride[0] == stride[1] && kh == kw;
    match padding {
        Some(padding) if plain && is_flex(x.device().as_dispatch()) => {
            let y = Tensor::from_dispatch(<Dispatch as KernelConvBackend>::kernel_conv2d(
                x.into_dispatch(),
                weight.into_dispatch(),
                stride[0],
                padding,
            ));
            match &conv.bias {
                Some(bias) => y.add(bias.val().reshape([1, out_channels, 1, 1])),
                None => y,
            }
        }
        _ => conv.forward(x),
    }
}
