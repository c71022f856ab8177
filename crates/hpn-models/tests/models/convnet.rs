//! The ConvNet skips its adaptive pool where the map already has the grid's size (28x28
//! inputs); outputs and gradients must be the bits the pool would have given.

use burn::tensor::{Device, Tensor};
use hpn_models::{Backbone, BackboneConfig, ConvNet, Model, batch_norm_forward, conv2d_forward};

use crate::util::{floats, images};

/// The ConvNet's forward written out with the adaptive pool always applied.
fn with_pool(net: &ConvNet, images: Tensor<4>) -> Tensor<2> {
    let bn = |layer: &Option<burn::nn::BatchNorm>, x: Tensor<4>| match layer {
        Some(layer) => batch_norm_forward(layer, x),
        None => x,
    };
    let x = conv2d_forward(&net.conv1, images);
    let x = net.pool.forward(net.relu.forward(bn(&net.bn1, x)));
    let x = conv2d_forward(&net.conv2, x);
    let x = net.pool.forward(net.relu.forward(bn(&net.bn2, x)));
    let x = net.grid.forward(x);
    let [n, c, h, w] = x.dims();
    let x = net.fc1.forward(x.reshape([n, c * h * w]));
    let x = match &net.bn3 {
        Some(layer) => batch_norm_forward(layer, x),
        None => x,
    };
    net.fc2.forward(net.relu.forward(x))
}

#[test]
fn skipping_the_identity_pool_gives_the_pools_bits() {
    let device = Device::flex().autodiff();
    for backbone in [Backbone::ConvNet, Backbone::ConvNetBn] {
        let model = BackboneConfig::new(backbone.clone(), 5)
            .with_in_channels(1)
            .init(&device)
            .unwrap();
        let Model::ConvNet(net) = &model else {
            panic!("expected a ConvNet");
        };
        let x = images([3, 1, 28, 28], 7, &device).require_grad();
        let ours = net.forward(x.clone());
        let theirs = with_pool(net, x.clone());
        assert_eq!(
            floats(ours.clone()),
            floats(theirs.clone()),
            "{backbone:?} forward"
        );
        let weights = images([1, 1, 3, 5], 8, &device).reshape([3, 5]);
        let ours = (ours * weights.clone()).sum().backward();
        let theirs = (theirs * weights).sum().backward();
        let grad = |grads| floats(x.grad(&grads).expect("input gradient"));
        assert_eq!(grad(ours), grad(theirs), "{backbone:?} input gradient");
    }
}
