//! Batch normalisation for the Flex CPU backend with the fused kernels of
//! [`batch_norm`](crate::batch_norm), as a Burn backend extension: training mode with its own
//! backward node, inference in one pass; dtypes other than f32 go to Burn's own
//! `batch_norm_train` and `batch_norm`.

use burn::backend::autodiff::NodeId;
use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::retro_forward::RetroForward;
use burn::backend::autodiff::checkpoint::state::BackwardStates;
use burn::backend::autodiff::checkpoint::strategy::{CheckpointStrategy, NoCheckpointing};
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind};
use burn::backend::flex::FlexTensor;
use burn::backend::ops::{ActivationOps, FloatTensorOps, ModuleOps};
use burn::backend::tensor::FloatTensor;
use burn::backend::{Autodiff, AutodiffBackend, Backend, Dispatch, Flex, backend_extension};
use burn::nn::BatchNorm;
use burn::tensor::{DType, Shape, Tensor, TensorData};

use crate::batch_norm::{
    NormShape, batch_norm_inference, batch_norm_relu_train, batch_norm_train,
    batch_norm_train_backward, relu_backward,
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

    /// (y, mean, var) with y = relu(gamma (x - mean) / sqrt(var + eps) + beta) per channel.
    fn fused_batch_norm_relu_train(
        x: FloatTensor<Self>,
        gamma: FloatTensor<Self>,
        beta: FloatTensor<Self>,
        epsilon: f64,
    ) -> (FloatTensor<Self>, FloatTensor<Self>, FloatTensor<Self>);

    /// (y, mean, var) with y = relu(gamma (x - mean) / sqrt(var + eps) + beta + r) per channel,
    /// r the `residual` (shaped like x).
    fn fused_batch_norm_add_relu_train(
        x: FloatTensor<Self>,
        gamma: FloatTensor<Self>,
        beta: FloatTensor<Self>,
        residual: FloatTensor<Self>,
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

/// (relu(y [+ r]), mean, var) on Flex tensors: the fused kernel for f32, Burn's
/// `batch_norm_train`, `float_add` and `relu` otherwise.
fn flex_relu_forward(
    x: FlexTensor,
    gamma: FlexTensor,
    beta: FlexTensor,
    residual: Option<FlexTensor>,
    epsilon: f64,
) -> (FlexTensor, FlexTensor, FlexTensor) {
    let residual_f32 = residual.as_ref().is_none_or(|r| {
        r.dtype() == DType::F32 && r.layout().shape().to_vec() == x.layout().shape().to_vec()
    });
    if let Some(shape) = norm_shape(&x, &gamma)
        && residual_f32
    {
        let (x_c, g_c, b_c) = (
            x.to_contiguous(),
            gamma.to_contiguous(),
            beta.to_contiguous(),
        );
        let r_c = residual.as_ref().map(|r| r.to_contiguous());
        let rs = r_c.as_ref().map(|r| r.as_slice::<f32>());
        if let (Some(xs), Some(gs), Some(bs), None | Some(Some(_))) = (
            x_c.as_slice::<f32>(),
            g_c.as_slice::<f32>(),
            b_c.as_slice::<f32>(),
            rs,
        ) {
            let result = batch_norm_relu_train(xs, gs, bs, rs.flatten(), epsilon, &shape);
            let dims = x.layout().shape().to_vec();
            return (
                flex_from(result.output, dims),
                flex_from(result.mean, vec![shape.channels]),
                flex_from(result.variance, vec![shape.channels]),
            );
        }
    }
    let result = Flex::batch_norm_train(x, gamma, beta, epsilon);
    let sum = match residual {
        Some(r) => Flex::float_add(result.output, r),
        None => result.output,
    };
    (Flex::relu(sum), result.mean, result.variance)
}

/// The rectifier's input gradient on Flex tensors: [`relu_backward`] for f32, Burn's
/// `relu_backward` otherwise.
fn flex_relu_backward(output: FlexTensor, grad: FlexTensor) -> FlexTensor {
    if output.dtype() == DType::F32 && grad.dtype() == DType::F32 {
        let (y_c, g_c) = (output.to_contiguous(), grad.to_contiguous());
        if let (Some(ys), Some(gs)) = (y_c.as_slice::<f32>(), g_c.as_slice::<f32>())
            && ys.len() == gs.len()
        {
            return flex_from(relu_backward(ys, gs), output.layout().shape().to_vec());
        }
    }
    Flex::relu_backward(output, grad)
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

    fn fused_batch_norm_relu_train(
        x: FloatTensor<Self>,
        gamma: FloatTensor<Self>,
        beta: FloatTensor<Self>,
        epsilon: f64,
    ) -> (FloatTensor<Self>, FloatTensor<Self>, FloatTensor<Self>) {
        flex_relu_forward(x, gamma, beta, None, epsilon)
    }

    fn fused_batch_norm_add_relu_train(
        x: FloatTensor<Self>,
        gamma: FloatTensor<Self>,
        beta: FloatTensor<Self>,
        residual: FloatTensor<Self>,
        epsilon: f64,
    ) -> (FloatTensor<Self>, FloatTensor<Self>, FloatTensor<Self>) {
        flex_relu_forward(x, gamma, beta, Some(residual), epsilon)
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

/// Backward node of [`FusedBatchNormBackend::fused_batch_norm_relu_train`]: parents x, gamma,
/// beta.
#[derive(Debug)]
struct FusedBatchNormReluBackward;

/// Backward node of [`FusedBatchNormBackend::fused_batch_norm_add_relu_train`]: parents x,
/// gamma, beta and the residual.
#[derive(Debug)]
struct FusedBatchNormAddReluBackward;

/// What the rectified nodes keep: x and gamma (checkpointed), the batch mean and variance,
/// epsilon and the output itself (the rectifier's mask).
type ReluNormState = (NodeId, NodeId, FlexTensor, FlexTensor, f64, FlexTensor);

/// (dx, dgamma, dbeta, g) of a rectified node, g = the rectifier's input gradient (also the
/// residual's gradient): g from the output and its gradient, then the batch norm's backward.
fn relu_norm_grads(
    state: ReluNormState,
    grad: FlexTensor,
    checkpointer: &mut Checkpointer,
) -> [FlexTensor; 4] {
    let (x_state, gamma_state, mean, variance, epsilon, output) = state;
    let x = checkpointer.retrieve_node_output::<FlexTensor>(x_state);
    let gamma = checkpointer.retrieve_node_output::<FlexTensor>(gamma_state);
    let g = flex_relu_backward(output, grad);
    let (dx, dgamma, dbeta) = flex_backward(x, gamma, mean, variance, epsilon, g.clone());
    [dx, dgamma, dbeta, g]
}

impl Backward<Flex, 3> for FusedBatchNormReluBackward {
    type State = ReluNormState;

    fn backward(
        self,
        ops: Ops<Self::State, 3>,
        grads: &mut Gradients,
        checkpointer: &mut Checkpointer,
    ) {
        let grad = grads.consume::<Flex>(&ops.node);
        let [dx, dgamma, dbeta, _] = relu_norm_grads(ops.state, grad, checkpointer);
        for (node, g) in ops.parents.into_iter().zip([dx, dgamma, dbeta]) {
            if let Some(node) = node {
                grads.register::<Flex>(node.id, g);
            }
        }
    }
}

impl Backward<Flex, 4> for FusedBatchNormAddReluBackward {
    type State = ReluNormState;

    fn backward(
        self,
        ops: Ops<Self::State, 4>,
        grads: &mut Gradients,
        checkpointer: &mut Checkpointer,
    ) {
        let grad = grads.consume::<Flex>(&ops.node);
        let all = relu_norm_grads(ops.state, grad, checkpointer);
        for (node, g) in ops.parents.into_iter().zip(all) {
            if let Some(node) = node {
                grads.register::<Flex>(node.id, g);
            }
        }
    }
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

/// A tensor of the autodiff Flex backend (the same type for every checkpointing strategy).
type AutodiffFlexTensor<C> = FloatTensor<Autodiff<Flex, C>>;

/// The forward pass of a rectified node, relu(BN(x) + residual) (the sum optional), tracked
/// (keeping [`ReluNormState`] for [`relu_norm_grads`]) or not: the one body of
/// [`FusedBatchNormBackend::fused_batch_norm_relu_train`] (three parents) and
/// [`FusedBatchNormBackend::fused_batch_norm_add_relu_train`] (four).
fn relu_norm_forward<BO, C, const N: usize>(
    ops: OpsKind<BO, Flex, ReluNormState, C, N>,
    x: AutodiffFlexTensor<C>,
    gamma: AutodiffFlexTensor<C>,
    beta: AutodiffFlexTensor<C>,
    residual: Option<FlexTensor>,
    epsilon: f64,
) -> (
    AutodiffFlexTensor<C>,
    AutodiffFlexTensor<C>,
    AutodiffFlexTensor<C>,
)
where
    BO: Backward<Flex, N, State = ReluNormState>,
    C: CheckpointStrategy,
{
    let from_inner = <Autodiff<Flex, C> as AutodiffBackend>::from_inner;
    match ops {
        OpsKind::Tracked(mut prep) => {
            let x_state = prep.checkpoint(&x);
            let gamma_state = prep.checkpoint(&gamma);
            let (output, mean, variance) = flex_relu_forward(
                x.into_primitive(),
                gamma.into_primitive(),
                beta.into_primitive(),
                residual,
                epsilon,
            );
            let state = (
                x_state,
                gamma_state,
                mean.clone(),
                variance.clone(),
                epsilon,
                output.clone(),
            );
            (
                prep.finish(state, output),
                from_inner(mean),
                from_inner(variance),
            )
        }
        OpsKind::UnTracked(prep) => {
            let (output, mean, variance) = flex_relu_forward(
                x.into_primitive(),
                gamma.into_primitive(),
                beta.into_primitive(),
                residual,
                epsilon,
            );
            (prep.finish(output), from_inner(mean), from_inner(variance))
        }
    }
}

/// Whether `C` recomputes memory-bound operations (any strategy but [`NoCheckpointing`]).
fn checkpointing<C: CheckpointStrategy>() -> bool {
    std::any::TypeId::of::<C>() != std::any::TypeId::of::<NoCheckpointing>()
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

    /// The output is kept for the backward pass (it is the rectifier's mask and the next
    /// layer's input anyway). Under a checkpointing strategy, where BatchNorm and ReLU are not
    /// kept but recomputed, the two run as separate tracked operations instead (the same
    /// bits), so that checkpointing saves what it saved before.
    fn fused_batch_norm_relu_train(
        x: FloatTensor<Self>,
        gamma: FloatTensor<Self>,
        beta: FloatTensor<Self>,
        epsilon: f64,
    ) -> (FloatTensor<Self>, FloatTensor<Self>, FloatTensor<Self>) {
        if checkpointing::<C>() {
            let (y, mean, variance) = Self::fused_batch_norm_train(x, gamma, beta, epsilon);
            return (Self::relu(y), mean, variance);
        }
        let ops = FusedBatchNormReluBackward
            .prepare::<C>([x.node(), gamma.node(), beta.node()])
            .compute_bound()
            .stateful();
        relu_norm_forward(ops, x, gamma, beta, None, epsilon)
    }

    /// As [`Self::fused_batch_norm_relu_train`], with the residual as a fourth parent.
    fn fused_batch_norm_add_relu_train(
        x: FloatTensor<Self>,
        gamma: FloatTensor<Self>,
        beta: FloatTensor<Self>,
        residual: FloatTensor<Self>,
        epsilon: f64,
    ) -> (FloatTensor<Self>, FloatTensor<Self>, FloatTensor<Self>) {
        if checkpointing::<C>() {
            let (y, mean, variance) = Self::fused_batch_norm_train(x, gamma, beta, epsilon);
            return (Self::relu(Self::float_add(y, residual)), mean, variance);
        }
        let ops = FusedBatchNormAddReluBackward
            .prepare::<C>([x.node(), gamma.node(), beta.node(), residual.node()])
            .compute_bound()
            .stateful();
        relu_norm_forward(
            ops,
            x,
            gamma,
            beta,
            Some(residual.into_primitive()),
            epsilon,
        )
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
/// as Burn's `BatchNorm` does (see [`update_running`]). Call it where [`flex_training`] holds.
fn flex_batch_norm_train<const D: usize>(bn: &BatchNorm, x: Tensor<D>) -> Tensor<D> {
    let (output, mean, variance) = <Dispatch as FusedBatchNormBackend>::fused_batch_norm_train(
        x.into_dispatch(),
        bn.gamma.val().into_dispatch(),
        bn.beta.val().into_dispatch(),
        bn.epsilon,
    );
    update_running(bn, mean, variance);
    Tensor::from_dispatch(output)
}

/// Burn's running-statistics update, r <- (1 - momentum) r + momentum s with s the batch mean
/// and the biased batch variance (dispatch tensors of length C, as the fused operations return
/// them).
fn update_running(bn: &BatchNorm, mean: FloatTensor<Dispatch>, variance: FloatTensor<Dispatch>) {
    let (mean, variance) = (
        Tensor::<1>::from_dispatch(mean),
        Tensor::<1>::from_dispatch(variance),
    );
    let device = mean.device();
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
}

/// `relu(bn.forward(x) + residual)` (without the sum when `residual` is `None`), the
/// BatchNorm-ReLU pair of the ResNets, DenseNet-121 and the ConvNet. Training on the Flex CPU
/// backend (where [`batch_norm_forward`] runs its fused kernels) normalises, adds and rectifies
/// in one output pass ([`batch_norm_relu_train`]) and takes the rectifier's mask from the
/// output in the backward pass; value, gradients and running statistics have the bits of the
/// three separate operations. Under gradient checkpointing (which recomputes BatchNorm and
/// ReLU rather than keeping them) and in every other case it is those three operations.
pub fn batch_norm_relu_forward<const D: usize>(
    bn: &BatchNorm,
    x: Tensor<D>,
    residual: Option<Tensor<D>>,
) -> Tensor<D> {
    let residual_fits = residual.as_ref().is_none_or(|r| r.dims() == x.dims());
    if flex_training(bn, &x) && residual_fits {
        let (x, gamma, beta) = (
            x.into_dispatch(),
            bn.gamma.val().into_dispatch(),
            bn.beta.val().into_dispatch(),
        );
        let (output, mean, variance) = match residual {
            Some(r) => <Dispatch as FusedBatchNormBackend>::fused_batch_norm_add_relu_train(
                x,
                gamma,
                beta,
                r.into_dispatch(),
                bn.epsilon,
            ),
            None => <Dispatch as FusedBatchNormBackend>::fused_batch_norm_relu_train(
                x, gamma, beta, bn.epsilon,
            ),
        };
        update_running(bn, mean, variance);
        return Tensor::from_dispatch(output);
    }
    let y = batch_norm_forward(bn, x);
    burn::tensor::activation::relu(match residual {
        Some(r) => y + r,
        None => y,
    })
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
