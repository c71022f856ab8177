//! One type for every backbone, so a training loop holds a single `Model`.

use burn::module::{Module, ModuleVisitor, Param};
use burn::nn::Linear;
use burn::tensor::Tensor;

use crate::convnet::ConvNet;
use crate::densenet::DenseNet;
use crate::error::ModelError;
use crate::resnet::ResNet;
use crate::resnet_cifar::ResNetCifar;

/// Any backbone of [`Backbone`](crate::Backbone), built by
/// [`BackboneConfig::init`](crate::BackboneConfig::init). It is a Burn [`Module`]: records,
/// optimisers, `valid()` (the inference copy) and `no_grad()` work on it unchanged.
// The variants hold handles to their tensors (a few kB at most); a run builds one model and
// moves it once per optimiser step, so boxing would buy nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Module, Debug)]
pub enum Model {
    /// CIFAR ResNet family (ResNet-32 and other depths / widths).
    ResNetCifar(ResNetCifar),
    /// DenseNet-121, CIFAR variant.
    DenseNet(DenseNet),
    /// ResNet-18 / ResNet-34, ImageNet layout.
    ResNet(ResNet),
    /// Small ConvNet.
    ConvNet(ConvNet),
}

impl Model {
    /// Images (N, C, H, W) -> outputs z (N, D).
    ///
    /// # Panics
    ///
    /// If the images do not fit the network; [`check_input`](Self::check_input) says so
    /// without panicking.
    pub fn forward(&self, images: Tensor<4>) -> Tensor<2> {
        match self {
            Model::ResNetCifar(net) => net.forward(images),
            Model::DenseNet(net) => net.forward(images),
            Model::ResNet(net) => net.forward(images),
            Model::ConvNet(net) => net.forward(images),
        }
    }

    /// Number of trainable parameters, as PyTorch's `parameters()` counts them: BatchNorm
    /// running statistics are buffers and are left out (Burn's `Module::num_params` counts
    /// them too).
    pub fn num_params(&self) -> usize {
        let mut counter = TrainableCounter::default();
        self.visit(&mut counter);
        counter.count
    }

    /// Input channels the network expects.
    pub fn in_channels(&self) -> usize {
        let weight = match self {
            Model::ResNetCifar(net) => &net.conv1.weight,
            Model::DenseNet(net) => &net.conv1.weight,
            Model::ResNet(net) => &net.conv1.weight,
            Model::ConvNet(net) => &net.conv1.weight,
        };
        weight.shape().dims::<4>()[1]
    }

    /// Smallest height and width the network accepts.
    pub fn min_input_size(&self) -> usize {
        match self {
            // Padded convolutions and a padded max pool: every size from 1 works.
            Model::ResNetCifar(_) | Model::ResNet(_) => 1,
            // Three 2x2 average pools.
            Model::DenseNet(_) => 8,
            // Two 2x2 max pools.
            Model::ConvNet(_) => 4,
        }
    }

    /// The output layer, `Linear(features -> D)`.
    pub fn output_layer(&self) -> &Linear {
        match self {
            Model::ResNetCifar(net) => &net.fc,
            Model::DenseNet(net) => &net.linear,
            Model::ResNet(net) => &net.fc,
            Model::ConvNet(net) => &net.fc2,
        }
    }

    fn output_layer_mut(&mut self) -> &mut Linear {
        match self {
            Model::ResNetCifar(net) => &mut net.fc,
            Model::DenseNet(net) => &mut net.linear,
            Model::ResNet(net) => &mut net.fc,
            Model::ConvNet(net) => &mut net.fc2,
        }
    }

    /// Width D of the output.
    pub fn outputs(&self) -> usize {
        self.output_layer().weight.shape().dims::<2>()[1]
    }

    /// This network with its output layer widened to that of `fresh` (the same backbone
    /// built with more outputs): output columns `0..D` keep this network's weights and biases
    /// bit for bit, columns `D..` take `fresh`'s initial ones, and every other layer is this
    /// network's. Class-incremental training with softmax cross-entropy grows the classifier
    /// this way, one logit per new class, so old logits start where the earlier phase left
    /// them.
    pub fn grow_outputs(mut self, fresh: &Model) -> Result<Model, ModelError> {
        let [features, old] = self.output_layer().weight.shape().dims::<2>();
        let [fresh_features, new] = fresh.output_layer().weight.shape().dims::<2>();
        if self.family() != fresh.family() || features != fresh_features || new <= old {
            return Err(ModelError::Growth {
                from: format!(
                    "{} with {old} outputs from {features} features",
                    self.family()
                ),
                to: format!(
                    "{} with {new} outputs from {fresh_features} features",
                    fresh.family()
                ),
            });
        }
        let layer = self.output_layer();
        let added = fresh.output_layer();
        // New leaves: on an autodiff device the concatenation would otherwise be a node of
        // the graph, which cannot become a parameter.
        let weight = Tensor::cat(
            vec![
                layer.weight.val(),
                added.weight.val().slice([0..features, old..new]),
            ],
            1,
        )
        .detach();
        let bias = match (&layer.bias, &added.bias) {
            (Some(b), Some(a)) => Some(Param::from_tensor(
                Tensor::cat(vec![b.val(), a.val().slice(old..new)], 0).detach(),
            )),
            _ => None,
        };
        *self.output_layer_mut() = Linear {
            weight: Param::from_tensor(weight),
            bias,
        };
        Ok(self)
    }

    /// The backbone's family name, for messages.
    pub fn family(&self) -> &'static str {
        match self {
            Model::ResNetCifar(_) => "CIFAR ResNet",
            Model::DenseNet(_) => "DenseNet",
            Model::ResNet(_) => "ResNet",
            Model::ConvNet(_) => "ConvNet",
        }
    }

    /// Checks that a batch of shape `[N, C, H, W]` fits the network, so that a bad data set
    /// becomes an error instead of a panic inside [`forward`](Self::forward).
    pub fn check_input(&self, dims: [usize; 4]) -> Result<(), ModelError> {
        let [_, channels, height, width] = dims;
        let expected = self.in_channels();
        if channels != expected {
            return Err(ModelError::ChannelMismatch {
                expected,
                actual: channels,
            });
        }
        let min = self.min_input_size();
        if height < min || width < min {
            return Err(ModelError::InputTooSmall {
                backbone: self.family(),
                min,
                height,
                width,
            });
        }
        Ok(())
    }
}

/// Counts the elements of every float parameter except BatchNorm's `running_mean` and
/// `running_var` buffers, recognised by their field name.
#[derive(Default)]
struct TrainableCounter {
    path: Vec<String>,
    count: usize,
}

impl ModuleVisitor for TrainableCounter {
    fn enter_module(&mut self, name: &str, _container_type: &str) {
        self.path.push(name.to_string());
    }

    fn exit_module(&mut self, _name: &str, _container_type: &str) {
        self.path.pop();
    }

    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        let buffer = matches!(
            self.path.last().map(String::as_str),
            Some("running_mean" | "running_var")
        );
        if !buffer {
            self.count += param.lazy_shape().num_elements();
        }
    }
}
