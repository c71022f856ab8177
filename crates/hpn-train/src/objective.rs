//! What is trained and how an output is read back: the loss of the config (HPN or a
//! baseline) and the metrics (accuracy, mean absolute error) on top of hpn-losses.

use burn::tensor::{Int, Tensor, TensorData};
use hpn_losses::{Reduction, RegressionBounds};
use hpn_prototypes::OutputLayout;

use crate::config::{ExperimentConfig, LossKind, ReductionKind, Task};

/// The loss of one experiment, with the fixed prototypes and poles it compares against.
#[derive(Clone, Debug)]
pub struct Objective {
    task: Task,
    loss: LossKind,
    reduction: Reduction,
    task_weight: Option<f32>,
    num_classes: usize,
    /// Class prototypes in the space the class loss sees: (K, D), or (K, D - 1) for joint.
    prototypes: Option<(Vec<f32>, usize)>,
    /// Upper regression pole p_u (D).
    pole: Option<Vec<f32>>,
    bounds: Option<RegressionBounds>,
}

/// What one batch scored.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct BatchScore {
    /// Examples in the batch.
    pub count: usize,
    /// Correctly classified examples (classification and joint).
    pub correct: usize,
    /// Sum of |predicted value - true value| (regression and joint).
    pub abs_error: f64,
}

impl BatchScore {
    /// Adds another batch.
    pub fn add(&mut self, other: BatchScore) {
        self.count += other.count;
        self.correct += other.correct;
        self.abs_error += other.abs_error;
    }
}

/// What the model says about one input.
#[derive(Clone, Debug, PartialEq)]
pub struct Prediction {
    /// Predicted class and its score (cosine to the prototype, or softmax probability).
    pub class: Option<(usize, f32)>,
    /// Predicted regression value.
    pub value: Option<f32>,
}

/// The width of the network output for `config` with `num_classes` classes.
pub fn output_width(config: &ExperimentConfig, num_classes: usize) -> usize {
    match config.loss.kind {
        LossKind::Hpn => config.model.output_dim,
        LossKind::SoftmaxCe => num_classes,
        LossKind::Mse => 1,
        LossKind::Multitask => 1 + num_classes,
    }
}

fn tensor1(values: &[f32], like: &Tensor<2>) -> Tensor<1> {
    Tensor::from_data(
        TensorData::new(values.to_vec(), [values.len()]),
        &like.device(),
    )
}

fn tensor2(values: &[f32], rows: usize, like: &Tensor<2>) -> Tensor<2> {
    let cols = values.len() / rows.max(1);
    Tensor::from_data(
        TensorData::new(values.to_vec(), [rows, cols]),
        &like.device(),
    )
}

impl Objective {
    /// The objective of `config`; `layout` is `None` for the baselines; `bounds` are needed for
    /// regression and joint tasks.
    pub fn new(
        config: &ExperimentConfig,
        layout: Option<&OutputLayout>,
        num_classes: usize,
        bounds: Option<RegressionBounds>,
    ) -> Self {
        let prototypes = layout
            .and_then(|l| l.class_subspace_prototypes())
            .map(|p| (p.as_slice().to_vec(), p.classes()));
        let pole = layout.and_then(|l| l.upper_pole()).map(|p| p.to_vec());
        Objective {
            task: config.task,
            loss: config.loss.kind,
            reduction: match config.loss.reduction {
                ReductionKind::Sum => Reduction::Sum,
                ReductionKind::Mean => Reduction::Mean,
            },
            task_weight: config.loss.task_weight,
            num_classes,
            prototypes,
            pole,
            bounds,
        }
    }

    fn prototypes_like(&self, z: &Tensor<2>) -> Tensor<2> {
        let (data, rows) = self
            .prototypes
            .as_ref()
            .expect("HPN classification needs prototypes");
        tensor2(data, *rows, z)
    }

    fn pole_like(&self, z: &Tensor<2>) -> Tensor<1> {
        tensor1(self.pole.as_ref().expect("HPN regression needs a pole"), z)
    }

    fn bounds(&self) -> RegressionBounds {
        self.bounds.expect("regression needs bounds")
    }

    /// The training loss of a batch of outputs `z` (N, width).
    pub fn loss(&self, z: Tensor<2>, labels: Tensor<1, Int>, targets: Tensor<1>) -> Tensor<1> {
        let r = self.reduction;
        match (self.task, self.loss) {
            (Task::Classification, LossKind::Hpn) => {
                let p = self.prototypes_like(&z);
                hpn_losses::classification_loss(z, p, labels, r)
            }
            (Task::Classification, _) => hpn_losses::softmax_cross_entropy(z, labels, r),
            (Task::Regression, LossKind::Hpn) => {
                let pole = self.pole_like(&z);
                hpn_losses::regression_loss(z, pole, targets, self.bounds(), r)
            }
            (Task::Regression, _) => hpn_losses::mse_regression_loss(z, targets, self.bounds(), r),
            (Task::Joint, LossKind::Hpn) => {
                let p = self.prototypes_like(&z);
                let pole = self.pole_like(&z);
                hpn_losses::joint_loss(
                    z,
                    pole,
                    p,
                    labels,
                    targets,
                    self.bounds(),
                    self.task_weight,
                    r,
                )
            }
            (Task::Joint, _) => hpn_losses::multitask_loss(
                z,
                labels,
                targets,
                self.bounds(),
                self.task_weight.unwrap_or(0.5),
                r,
            ),
        }
    }

    /// Predicted classes (N) of a batch, when the task has classes.
    fn classes(&self, z: &Tensor<2>) -> Option<(Tensor<1, Int>, Tensor<2>)> {
        let [n, width] = z.dims();
        match (self.task, self.loss) {
            (Task::Regression, _) => None,
            (Task::Classification, LossKind::Hpn) => {
                let scores = hpn_losses::cosine_similarity(z.clone(), self.prototypes_like(z));
                Some((scores.clone().argmax(1).reshape([n]), scores))
            }
            (Task::Joint, LossKind::Hpn) => {
                let sub = hpn_losses::class_subspace(z.clone());
                let scores = hpn_losses::cosine_similarity(sub, self.prototypes_like(z));
                Some((scores.clone().argmax(1).reshape([n]), scores))
            }
            (Task::Classification, _) => {
                let probs = burn::tensor::activation::softmax(z.clone(), 1);
                Some((probs.clone().argmax(1).reshape([n]), probs))
            }
            (Task::Joint, _) => {
                let logits = z.clone().slice([0..n, 1..width]);
                let probs = burn::tensor::activation::softmax(logits, 1);
                Some((probs.clone().argmax(1).reshape([n]), probs))
            }
        }
    }

    /// Predicted values (N) of a batch, when the task has a regression target.
    fn values(&self, z: &Tensor<2>) -> Option<Tensor<1>> {
        let [n, _] = z.dims();
        match (self.task, self.loss) {
            (Task::Classification, _) => None,
            (_, LossKind::Hpn) => Some(hpn_losses::decode_regression(
                z.clone(),
                self.pole_like(z),
                self.bounds(),
            )),
            (Task::Regression, _) => Some(hpn_losses::decode_mse(z.clone(), self.bounds())),
            (Task::Joint, _) => Some(hpn_losses::decode_mse(
                z.clone().slice([0..n, 0..1]),
                self.bounds(),
            )),
        }
    }

    /// Scores a batch of outputs against its labels and targets.
    pub fn score(&self, z: Tensor<2>, labels: &[usize], targets: &[f32]) -> BatchScore {
        let mut score = BatchScore {
            count: labels.len(),
            ..BatchScore::default()
        };
        if let Some((predicted, _)) = self.classes(&z) {
            score.correct = predicted
                .into_data()
                .iter::<i64>()
                .zip(labels)
                .filter(|(p, l)| *p == **l as i64)
                .count();
        }
        if let Some(values) = self.values(&z) {
            score.abs_error = values
                .into_data()
                .iter::<f32>()
                .zip(targets)
                .map(|(v, &t)| (v as f64 - t as f64).abs())
                .sum();
        }
        score
    }

    /// Reads each output row back as a class and/or a value.
    pub fn predict(&self, z: Tensor<2>) -> Vec<Prediction> {
        let [n, _] = z.dims();
        let classes: Vec<Option<(usize, f32)>> = match self.classes(&z) {
            Some((predicted, scores)) => {
                let k = self.num_classes;
                let scores: Vec<f32> = scores.into_data().iter::<f32>().collect();
                predicted
                    .into_data()
                    .iter::<i64>()
                    .enumerate()
                    .map(|(i, c)| Some((c as usize, scores[i * k + c as usize])))
                    .collect()
            }
            None => vec![None; n],
        };
        let values: Vec<Option<f32>> = match self.values(&z) {
            Some(v) => v.into_data().iter::<f32>().map(Some).collect(),
            None => vec![None; n],
        };
        classes
            .into_iter()
            .zip(values)
            .map(|(class, value)| Prediction { class, value })
            .collect()
    }
}
