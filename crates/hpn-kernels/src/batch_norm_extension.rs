//! Batch normalisation for the Flex CPU backend with the fused kernels of
//! [`batch_norm`](crate::batch_norm), as a Burn backend extension: training mode with its own
//! backward node, inference in one pass; dtypes other than f32 go to Burn's own
//! `batch_norm_train` and `batch_norm`.

use burn::backend::autodiff::NodeId;
use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::retro_forward::RetroForward;
use burn::backend::autodiff::checkpoint::state::BackwardStates;
use burn::backend::autodiff::checkpoint::strategy::CheckpointStrategy;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind};
use burn::backend::flex::FlexTensor;
use burn::backend::ops::ModuleOps;
use burn::backend::tensor::FloatTensor;
use burn::backend::{Autodiff, AutodiffBackend, Backend, Dispatch, Flex, backend_extension};
use burn::nn::BatchNorm;
use burn::tensor::{DType, Shape, Tensor, TensorData};

use crate::batch_norm::{
    NormShape, batch_norm_inference, batch_norm_train, batch_norm_train_backward,
};

/// Training-mode batch normalisation over axis 1 of a tensor of rank >= 2, returning the output,
/// the batch mean and the biased batch variance (both of length C).
#[backend_extension(Flex, Autodiff)]
pub trait FusedBatchNormBackend: Backend {
    /// (y, mean, var) with y = gamma (x - mean) / sqrt(var + eps) + beta per channel.
    fn fused_batch_norm_train(
        x: FloatTensor<Self>,
        gamma: FloatTensor<Self>,
        beta: FloatTensor<Self>,
        epsilon: f64,
    ) -> (FloatTensor<Self>, FloatTensor<Self>, FloatTensor<Self>);

    /// y = ((x - mean) / sqrt(var + eps)) gamma + beta per channel, with given statistics.
    fn fused_batch_norm_inference(
        x: FloatTensor<Self>,
        gamma: FloatTensor<Self>,
        beta: FloatTensor<Self>,
        mean: FloatTensor<Self>,
        variance: FloatTensor<Self>,
        epsilon: f64,
    ) -> FloatTensor<Self>;
}

/// The [`NormShape`] of `x`, or `None` for a dtype other than f32 or a rank below 2.
fn norm_shape(x: &FlexTensor, gamma: &FlexTensor) -> Option<NormShape> {
    let dims = x.layout().shape().to_vec();
    (x.dtype() == DType::F32 && gamma.dtype() == DType::F32 && dims.len() >= 2).then(|| NormShape {
        batch: dims[0],
        channels: dims[1],
        spatial: dims[2..].iter().product(),
    })
}

fn flex_from(values: Vec<f32>, dims: Vec<usize>) -> FlexTensor {
    FlexTensor::from_data(TensorData::new(values, Shape::from(dims)))
}

/// (y, mean, var) on Flex tensors: the fused kernel for f32, Burn's `batch_norm_train` otherwise.
fn flex_forward(
    x: FlexTensor,
    gamma: FlexTensor,
    beta: FlexTensor,
    epsilon: f64,
) -> (FlexTensor, FlexTensor, FlexTensor) {
    if let Some(shape) = norm_shape(&x, &gamma) {
        let (x_c, g_c, b_c) = (
            x.to_contiguous(),
            gamma.to_contiguous(),
            beta.to_contiguous(),
        );
        if let (Some(xs), Some(gs), Some(bs)) = (
            x_c.as_slice::<f32>(),
            g_c.as_slice::<f32>(),
            b_c.as_slice::<f32>(),
        ) {
            let result = batch_norm_train(xs, gs, bs, epsilon, &shape);
            let dims = x.layout().shape().to_vec();
            return (
                flex_from(result.output, dims),
                flex_from(result.mean, vec![shape.channels]),
                flex_from(result.variance, vec![shape.channels]),
            );
        }
    }
    let result = Flex::batch_norm_train(x, gamma, beta, epsilon);
    (result.output, result.mean, result.variance)
}

/// Inference-mode batch normalisation on Flex tensors: the one-pass kernel for f32, Burn's
/// `batch_norm` otherwise.
fn flex_inference(
    x: FlexTensor,
    gamma: FlexTensor,
    beta: FlexTensor,
    mean: FlexTensor,
    variance: FlexTensor,
    epsilon: f64,
) -> FlexTensor {
    if let Some(shape) = norm_shape(&x, &gamma) {
        let contiguous = [&x, &gamma, &beta, &mean, &variance].map(|t| t.to_contiguous());
        if let [Some(xs), Some(gs), Some(bs), Some(ms), Some(vs)] =
            contiguous.each_ref().map(|t| t.as_slice::<f32>())
        {
            let output = batch_norm_inference(xs, gs, bs, ms, vs, epsilon, &shape);
            return flex_from(output, x.layout().shape().to_vec());
        }
    }
    Flex::batch_norm(x, gamma, beta, mean, variance, epsilon)
}

impl FusedBatchNormBackend for Flex {
    fn fused_batch_norm_train(
        x: FloatTensor<Self>,
        gamma: FloatTensor<Self>,
        beta: FloatTensor<Self>,
        epsilon: f64,
    ) -> (FloatTensor<Self>, FloatTensor<Self>, FloatTensor<Self>) {
        flex_forward(x, gamma, beta, epsilon)
    }

    fn fused_batch_norm_inference(
        x: FloatTensor<Self>,
        gamma: FloatTensor<Self>,
        beta: FloatTensor<Self>,
        mean: FloatTensor<Self>,
        variance: FloatTensor<Self>,
        epsilon: f64,
    ) -> FloatTensor<Self> {
        flex_inference(x, gamma, beta, mean, variance, epsilon)
    }
}

#[derive(Debug)]
struct FusedBatchNormBackward;

impl Backward<Flex, 3> for FusedBatchNormBackward {
    type State = (NodeId, NodeId, FlexTensor, FlexTensor, f64);

    fn backward(
        self,
        ops: Ops<Self::State, 3>,
        grads: &mut Gradients,
        checkpointer: &mut Checkpointer,
    ) {
        let [node_x, node_gamma, node_beta] = ops.parents;
        let grad = grads.consume::<Flex>(&ops.node);
        let (x_state, gamma_state, mean, variance, epsilon) = ops.state;
        let x = checkpointer.retrieve_node_output::<FlexTensor>(x_state);
        let gamma = checkpointer.retrieve_node_output::<FlexTensor>(gamma_state);
        let (dx, dgamma, dbeta) = flex_backward(x, gamma, mean, variance, epsilon, grad);
        if let Some(node) = node_x {
            grads.register::<Flex>(node.id, dx);
        }
        if let Some(node) = node_gamma {
            grads.register::<Flex>(node.id, dgamma);
        }
        if let Some(node) = node_beta {
            grads.register::<Flex>(node.id, dbeta);
        }
    }
}

/// (dx, dgamma, dbeta) on Flex tensors: the fused kernel for f32, Burn's
/// `batch_norm_train_backward` otherwise.
fn flex_backward(
    x: FlexTensor,
    gamma: FlexTensor,
    mean: FlexTensor,
    variance: FlexTensor,
    epsilon: f64,
    grad: FlexTensor,
) -> (FlexTensor, FlexTensor, FlexTensor) {
    if let Some(shape) = norm_shape(&x, &gamma)
        && grad.dtype() == DType::F32
    {
        let contiguous = [&x, &gamma, &mean, &variance, &grad].map(|t| t.to_contiguous());
        if let [Some(xs), Some(gs), Some(ms), Some(vs), Some(dys)] =
            contiguous.each_ref().map(|t| t.as_slice::<f32>())
        {
            let result = batch_norm_train_backward(xs, gs, ms, vs, epsilon, dys, &shape);
            let dims = x.layout().shape().to_vec();
            return (
                flex_from(result.input, dims),
                flex_from(result.gamma, vec![shape.channels]),
                flex_from(result.beta, vec![shape.channels]),
            );
        }
    }
    let result = Flex::batch_norm_train_backward(x, gamma, mean, variance, epsilon, grad);
    (result.x_grad, result.gamma_grad, result.beta_grad)
}

/// The training-mode forward pass again, for a backward pass under gradient checkpointing that
/// dropped the output: the same kernel on the same (x, gamma, beta), so the same bits.
#[derive(Debug)]
struct RetroBatchNorm {
    x: NodeId,
    gamma: NodeId,
    beta: NodeId,
    epsilon: f64,
}

impl RetroForward for RetroBatchNorm {
    fn forward(&self, states: &mut BackwardStates, out_node: NodeId) {
        let x = states.get_state::<FlexTensor>(&self.x);
        let gamma = states.get_state::<FlexTensor>(&self.gamma);
        let beta = states.get_state::<FlexTensor>(&self.beta);
        let (output, _, _) = flex_forward(x, gamma, beta, self.epsilon);
        states.save(out_node, output);
    }
}

impl<C: CheckpointStrategy> FusedBatchNormBackend for Autodiff<Flex, C> {
    /// Memory-bound (two passes over x): under a checkpointing strategy its output is not kept
    /// for the backward pass but recomputed from x, gamma and beta when a later operation's
    /// backward needs it (the next ReLU, a residual sum); without one it is kept as usual.
    fn fused_batch_norm_train(
        x: FloatTensor<Self>,
        gamma: FloatTensor<Self>,
        beta: FloatTensor<Self>,
        epsilon: f64,
    ) -> (FloatTensor<Self>, FloatTensor<Self>, FloatTensor<Self>) {
        match FusedBatchNormBackward
            .prepare::<C>([x.node(), gamma.node(), beta.node()])
            .memory_bound()
            .retro_forward(RetroBatchNorm {
                x: x.id(),
                gamma: gamma.id(),
                beta: beta.id(),
                epsilon,
            })
            .parents([&x, &gamma, &beta])
            .stateful()
        {
            OpsKind::Tracked(mut prep) => {
                let x_state = prep.checkpoint(&x);
                let gamma_state = prep.checkpoint(&gamma);
                let (output, mean, variance) = flex_forward(
                    x.into_primitive(),
                    gamma.into_primitive(),
                    beta.into_primitive(),
                    epsilon,
                );
                let state = (
                    x_state,
                    gamma_state,
                    mean.clone(),
                    variance.clone(),
                    epsilon,
                );
                (
                    prep.finish(state, output),
                    Self::from_inner(mean),
                    Self::from_inner(variance),
                )
            }
            OpsKind::UnTracked(prep) => {
                let (output, mean, variance) = flex_forward(
                    x.into_primitive(),
                    gamma.into_primitive(),
                    beta.into_primitive(),
                    epsilon,
                );
                (
                    prep.finish(output),
                    Self::from_inner(mean),
                    Self::from_inner(variance),
                )
            }
        }
    }

    /// Burn's tracked composition, so that gradients flow (the one-pass kernel runs on the plain
    /// device only).
    fn fused_batch_norm_inference(
        x: FloatTensor<Self>,
        gamma: FloatTensor<Self>,
        beta: FloatTensor<Self>,
        mean: FloatTensor<Self>,
        variance: FloatTensor<Self>,
        epsilon: f64,
    ) -> FloatTensor<Self> {
        <Self as ModuleOps<Self>>::batch_norm(x, gamma, beta, mean, variance, epsilon)
    }
}

/// Whether [`flex_batch_norm_train`] applies: an autodiff Flex device, the layer's training flag
/// on (Burn's `BatchNorm` takes its training path under the same conditions) and a non-empty
/// input of rank >= 2 with the layer's number of channels on axis 1.
fn flex_training<const D: usize>(bn: &BatchNorm, x: &Tensor<D>) -> bool {
    let flex_autodiff = matches!(
        x.device().as_dispatch(),
        burn::backend::DispatchDevice::Autodiff(inner)
            if matches!(**inner, burn::backend::DispatchDevice::Flex(_))
    );
    flex_autodiff && bn.training.is_enabled() && fits_layer(bn, x)
}

/// A non-empty input of rank >= 2 with the layer's number of channels on axis 1; a shape Burn
/// rejects goes to Burn, which reports it.
fn fits_layer<const D: usize>(bn: &BatchNorm, x: &Tensor<D>) -> bool {
    let [features] = bn.gamma.shape().dims();
    D >= 2 && x.dims()[1] == features && x.shape().num_elements() > 0
}

/// `bn.forward(x)` in training mode with the fused kernels, and the running statistics updated
/// as Burn's `BatchNorm` does, r <- (1 - momentum) r + momentum s with s the batch mean and the
/// biased batch variance. Call it where [`flex_training`] holds.
fn flex_batch_norm_train<const D: usize>(bn: &BatchNorm, x: Tensor<D>) -> Tensor<D> {
    let device = x.device();
    let (output, mean, variance) = <Dispatch as FusedBatchNormBackend>::fused_batch_norm_train(
        x.into_dispatch(),
        bn.gamma.val().into_dispatch(),
        bn.beta.val().into_dispatch(),
        bn.epsilon,
    );
    let (mean, variance) = (
        Tensor::<1>::from_dispatch(mean),
        Tensor::<1>::from_dispatch(variance),
    );
    let running_mean = bn.running_mean.value_sync().to_device(&device);
    let running_var = bn.running_var.value_sync().to_device(&device);
    let running_mean = running_mean
        .mul_scalar(1.0 - bn.momentum)
        .add(mean.detach().mul_scalar(bn.momentum));
    let running_var = running_var
        .mul_scalar(1.0 - bn.momentum)
        .add(variance.detach().mul_scalar(bn.momentum));
    bn.running_mean.update(running_mean.detach());
    bn.running_var.update(running_var.detach());
    Tensor::from_dispatch(output)
}

/// `bn.forward(x)`: y = gamma (x - mu) / sqrt(sigma^2 + eps) + beta per channel (axis 1), with
/// the batch statistics and a running-average update in training mode (autodiff device, training
/// flag on) and the running statistics otherwise. Training on the Flex CPU backend runs the
/// fused kernels of [`batch_norm`](crate::batch_norm) (two passes forward, two backward); the
/// value, gradients and running statistics are Burn's to float rounding. Inference on the plain
/// Flex device runs the one-pass kernel [`batch_norm_inference`], Burn's value bit for bit.
/// Every other case is `bn.forward(x)`.
pub fn batch_norm_forward<const D: usize>(bn: &BatchNorm, x: Tensor<D>) -> Tensor<D> {
    if flex_training(bn, &x) {
        return flex_batch_norm_train(bn, x);
    }
    if flex_inference_applies(bn, &x) {
        return flex_batch_norm_inference(bn, x);
    }
    bn.forward(x)
}

/// Whether [`flex_batch_norm_inference`] applies: the plain Flex device (no autodiff, where
/// Burn's `BatchNorm` always takes its inference path) and a non-empty input of rank >= 2 with
/// the layer's number of channels on axis 1.
fn flex_inference_applies<const D: usize>(bn: &BatchNorm, x: &Tensor<D>) -> bool {
    matches!(
        x.device().as_dispatch(),
        burn::backend::DispatchDevice::Flex(_)
    ) && fits_layer(bn, x)
}

/// `bn.forward(x)` in inference mode (running statistics) in one pass.
fn flex_batch_norm_inference<const D: usize>(bn: &BatchNorm, x: Tensor<D>) -> Tensor<D> {
    let device = x.device();
    let mean = bn.running_mean.value().to_device(&device);
    let variance = bn.running_var.value().to_device(&device);
    Tensor::from_dispatch(
        <Dispatch as FusedBatchNormBackend>::fused_batch_norm_inference(
            x.into_dispatch(),
            bn.gamma.val().into_dispatch(),
            bn.beta.val().into_dispatch(),
            mean.into_dispatch(),
            variance.into_dispatch(),
            bn.epsilon,
        ),
    )
}
