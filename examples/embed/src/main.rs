//! A Burn project that takes only `hpn-prototypes` and `hpn-losses`: it defines its own small
//! network, fixes three class prototypes on the sphere S^2 before training (paper Eq. 5; for
//! K <= D + 1 the placer returns the regular simplex), and trains the network so that its
//! output points at its class's prototype (squared cosine loss, paper Eq. 1). Prediction is
//! the nearest prototype by cosine (Eq. 3).
//!
//! Run it with `cargo run --release --manifest-path examples/embed/Cargo.toml`; it exits with
//! an error unless the loss falls and the network classifies the training points.

use burn::module::Module;
use burn::nn::{Linear, LinearConfig, Relu};
use burn::optim::{GradientsParams, SgdConfig};
use burn::tensor::{Device, Int, Tensor, TensorData};
use hpn_losses::{Reduction, classification_loss, predict};
use hpn_prototypes::{Placement, PlacementMethod, separation_stats};

/// Two linear layers with a ReLU between: 2-d points in, D outputs on the sphere's scale out.
#[derive(Module, Debug)]
pub struct Model {
    hidden: Linear,
    output: Linear,
    activation: Relu,
}

impl Model {
    /// A fresh network with `hidden` units and `dims` outputs.
    pub fn new(hidden: usize, dims: usize, device: &Device) -> Self {
        Self {
            hidden: LinearConfig::new(2, hidden).init(device),
            output: LinearConfig::new(hidden, dims).init(device),
            activation: Relu::new(),
        }
    }

    /// Points (N, 2) -> outputs z (N, D).
    pub fn forward(&self, points: Tensor<2>) -> Tensor<2> {
        let x = self.hidden.forward(points);
        let x = self.activation.forward(x);
        self.output.forward(x)
    }
}

/// `per_class` points around each of three centres, with a small deterministic jitter.
fn toy_data(per_class: usize, device: &Device) -> (Tensor<2>, Tensor<1, Int>, Vec<i64>) {
    let centres = [(2.0f32, 0.0f32), (-1.0, 1.7), (-1.0, -1.7)];
    let mut points = Vec::new();
    let mut labels = Vec::new();
    for (class, (cx, cy)) in centres.iter().enumerate() {
        for i in 0..per_class {
            let t = i as f32 * 2.399; // golden angle: points spread around the centre
            let r = 0.5 * ((i + 1) as f32 / per_class as f32).sqrt();
            points.extend([cx + r * t.cos(), cy + r * t.sin()]);
            labels.push(class as i64);
        }
    }
    let n = labels.len();
    (
        Tensor::from_data(TensorData::new(points, [n, 2]), device),
        Tensor::from_data(TensorData::new(labels.clone(), [n]), device),
        labels,
    )
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let device = Device::flex().autodiff();
    device.seed(7);

    // Three prototypes on S^2, fixed before training: the regular simplex, cosines -1/2.
    let prototypes = Placement::new(PlacementMethod::Uniform, 3, 3).place(&device)?;
    let stats = separation_stats(&prototypes);
    println!(
        "prototypes: 3 on S^2, max cosine {:.4} (best possible -0.5)",
        stats.max_cosine
    );
    let p = prototypes.to_tensor(&device);

    let (points, labels, label_values) = toy_data(20, &device);
    let mut model = Model::new(16, 3, &device);
    let mut optimizer = SgdConfig::new().init();
    let mut first = None;
    let mut last = 0.0;
    for step in 0..60 {
        let z = model.forward(points.clone());
        let loss = classification_loss(z, p.clone(), labels.clone(), Reduction::Mean);
        last = loss.clone().into_scalar::<f32>();
        first.get_or_insert(last);
        if step % 20 == 0 {
            println!("step {step:2}: loss {last:.4}");
        }
        let grads = GradientsParams::from_grads(loss.backward(), &model);
        model = optimizer.step(0.5, model, grads);
    }
    let predicted: Vec<i64> = predict(model.forward(points), p).try_into_vec_as::<i64>()?;
    let correct = predicted
        .iter()
        .zip(&label_values)
        .filter(|(a, b)| a == b)
        .count();
    let first = first.unwrap_or(last);
    println!(
        "loss {first:.4} -> {last:.4}; {correct} of {} points nearest their class prototype",
        label_values.len()
    );
    if !(last < 0.5 * first && correct * 10 >= label_values.len() * 9) {
        return Err(format!("did not train: loss {first} -> {last}, {correct} correct").into());
    }
    Ok(())
}
