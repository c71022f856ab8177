//! What is trained and how an output is read back: the [`Head`] of an experiment, built once
//! from the task, the loss and the output layout, holding the prototypes and the pole on the
//! device. Loss, prediction, scoring and output width all come from it.

use burn::tensor::{Device, Int, Tensor, TensorData};
use hpn_losses::{Reduction, RegressionBounds};
use hpn_prototypes::OutputLayout;

use crate::config::{ExperimentConfig, LossKind, Task};
use crate::error::TrainError;

/// How the outputs are read: one arm per (task, loss) pair the config allows. One per
/// experiment, so the size difference of the arms does not matter.
#[derive(Clone, Debug)]
#[allow(clippy::large_enum_variant)]
enum Readout {
    /// Eq. 1 against the prototypes (K, D); prediction by Eq. 3.
    HpnClasses { prototypes: Tensor<2> },
    /// Eq. 7 against the upper pole p_u (D); value decoded from cos(z, p_u).
    HpnRegression {
        pole: Tensor<1>,
        bounds: RegressionBounds,
    },
    /// Sec. 2.3: Eq. 1 on axes 1.. against the prototypes (K, D - 1) plus Eq. 7 on the whole
    /// output against the pole on axis 0.
    HpnJoint {
        prototypes: Tensor<2>,
        pole: Tensor<1>,
        bounds: RegressionBounds,
    },
    /// Softmax cross-entropy over K logits.
    Softmax,
    /// Squared error of one output against the target scaled to [0, 1].
    Mse { bounds: RegressionBounds },
    /// One regression output, then K logits.
    Multitask { bounds: RegressionBounds },
}

/// The loss and the readout of one experiment, with the fixed prototypes and poles it
/// compares against, already on the device.
#[derive(Clone, Debug)]
pub struct Head {
    readout: Readout,
    reduction: Reduction,
    task_weight: Option<f32>,
    classes: usize,
    width: usize,
}

/// What one batch (or a whole evaluation set) scored.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct BatchScore {
    /// Examples in the batch.
    pub count: usize,
    /// Correctly classified examples (classification and joint).
    pub correct: usize,
    /// Sum of |predicted value - true value| (regression and joint).
    pub abs_error: f64,
    /// How many examples were predicted as each class (K entries for tasks with classes,
    /// none otherwise): what tells a network that gives every input one class.
    pub predicted_counts: Vec<usize>,
    /// Examples of each true class (K entries for tasks with classes, none otherwise).
    pub label_counts: Vec<usize>,
    /// Correctly classified examples of each true class: with `label_counts`, the accuracy of
    /// any group of classes (old and new ones of a class-incremental phase).
    pub correct_by_label: Vec<usize>,
}

impl BatchScore {
    /// The score of predictions read back to the host: `classes` (predicted class per example,
    /// with K) against `labels`, and `values` (predicted value per example) against `targets`;
    /// `None` where the task has no classes or no values.
    pub fn of_predictions(
        classes: Option<(&[i64], usize)>,
        values: Option<&[f32]>,
        labels: &[i64],
        targets: &[f32],
    ) -> Self {
        let mut score = BatchScore {
            count: labels.len(),
            ..BatchScore::default()
        };
        if let Some((predicted, k)) = classes {
            score.predicted_counts = vec![0; k];
            score.label_counts = vec![0; k];
            score.correct_by_label = vec![0; k];
            for (p, l) in predicted.iter().zip(labels) {
                score.correct += usize::from(p == l);
                if let Some(label) = usize::try_from(*l).ok().filter(|&l| l < k) {
                    score.label_counts[label] += 1;
                    score.correct_by_label[label] += usize::from(p == l);
                }
                if let Some(count) = usize::try_from(*p)
                    .ok()
                    .and_then(|p| score.predicted_counts.get_mut(p))
                {
                    *count += 1;
                }
            }
        }
        if let Some(values) = values {
            score.abs_error = values
                .iter()
                .zip(targets)
                .map(|(&v, &t)| (f64::from(v) - f64::from(t)).abs())
                .sum();
        }
        score
    }

    /// Adds another batch.
    pub fn add(&mut self, other: BatchScore) {
        self.count += other.count;
        self.correct += other.correct;
        self.abs_error += other.abs_error;
        if self.predicted_counts.len() < other.predicted_counts.len() {
            self.predicted_counts
                .resize(other.predicted_counts.len(), 0);
        }
        for (total, n) in self.predicted_counts.iter_mut().zip(other.predicted_counts) {
            *total += n;
        }
        add_counts(&mut self.label_counts, other.label_counts);
        add_counts(&mut self.correct_by_label, other.correct_by_label);
    }

    /// Accuracy (%) on the examples whose true class lies in `classes`; `None` when there are
    /// none.
    pub fn accuracy_of(&self, classes: std::ops::Range<usize>) -> Option<f64> {
        let count: usize = self.label_counts.get(classes.clone())?.iter().sum();
        let correct: usize = self.correct_by_label.get(classes)?.iter().sum();
        (count > 0).then(|| 100.0 * correct as f64 / count as f64)
    }
}

/// `total[c] += more[c]`, growing `total` to `more`'s length.
fn add_counts(total: &mut Vec<usize>, more: Vec<usize>) {
    if total.len() < more.len() {
        total.resize(more.len(), 0);
    }
    for (t, n) in total.iter_mut().zip(more) {
        *t += n;
    }
}

/// What the model says about one input.
#[derive(Clone, Debug, PartialEq)]
pub struct Prediction {
    /// Predicted class and its score (cosine to the prototype, or softmax probability).
    pub class: Option<(usize, f32)>,
    /// Predicted regression value.
    pub value: Option<f32>,
    /// Open-set runs: whether the class score reaches the run's threshold (`false`: an input
    /// from no known class); `None` without an open-set threshold.
    pub known: Option<bool>,
}

impl Head {
    /// The head of `config` for `classes` classes. `layout` holds the prototypes and poles
    /// (required by the HPN loss, ignored by the baselines); `bounds` are required by the tasks
    /// with a regression target. Tensors are placed on `device` once; they are constants, so
    /// the same head serves the autodiff training device and the plain evaluation device.
    pub fn new(
        config: &ExperimentConfig,
        layout: Option<&OutputLayout>,
        classes: usize,
        bounds: Option<RegressionBounds>,
        device: &Device,
    ) -> Result<Self, TrainError> {
        let missing = |what: &str| TrainError::Run {
            path: "<head>".into(),
            message: format!(
                "the {:?} task with the {:?} loss needs {what}",
                config.task, config.loss.kind
            ),
        };
        let prototypes = || -> Result<Tensor<2>, TrainError> {
            let p = layout
                .and_then(OutputLayout::class_subspace_prototypes)
                .ok_or_else(|| missing("class prototypes"))?;
            Ok(p.to_tensor(device))
        };
        let pole = || -> Result<Tensor<1>, TrainError> {
            let p = layout
                .and_then(OutputLayout::upper_pole)
                .ok_or_else(|| missing("a regression pole"))?;
            Ok(Tensor::from_data(
                TensorData::new(p.to_vec(), [p.len()]),
                device,
            ))
        };
        let bounds = || bounds.ok_or_else(|| missing("regression bounds"));
        let readout = match (config.task, config.loss.kind) {
            (Task::Classification, LossKind::Hpn) => Readout::HpnClasses {
                prototypes: prototypes()?,
            },
            (Task::Regression, LossKind::Hpn) => Readout::HpnRegression {
                pole: pole()?,
                bounds: bounds()?,
            },
            (Task::Joint, LossKind::Hpn) => Readout::HpnJoint {
                prototypes: prototypes()?,
                pole: pole()?,
                bounds: bounds()?,
            },
            (Task::Classification, _) => Readout::Softmax,
            (Task::Regression, _) => Readout::Mse { bounds: bounds()? },
            (Task::Joint, _) => Readout::Multitask { bounds: bounds()? },
        };
        let width = match readout {
            Readout::HpnClasses { .. }
            | Readout::HpnRegression { .. }
            | Readout::HpnJoint { .. } => config.prototypes.dims,
            Readout::Softmax => classes,
            Readout::Mse { .. } => 1,
            Readout::Multitask { .. } => 1 + classes,
        };
        Ok(Head {
            readout,
            reduction: config.loss.reduction(),
            task_weight: config.loss.task_weight,
            classes,
            width,
        })
    }

    /// The width of the network output this head reads: D for the HPN losses, K logits for
    /// softmax cross-entropy, 1 for MSE, 1 + K for the multitask baseline.
    pub fn width(&self) -> usize {
        self.width
    }

    /// Whether the outputs are read as classes (classification and joint).
    pub fn has_classes(&self) -> bool {
        !matches!(
            self.readout,
            Readout::HpnRegression { .. } | Readout::Mse { .. }
        )
    }

    /// K, when the outputs are read as classes.
    pub fn classes(&self) -> Option<usize> {
        self.has_classes().then_some(self.classes)
    }

    /// Whether the outputs are read as values (regression and joint).
    pub fn has_values(&self) -> bool {
        !matches!(self.readout, Readout::HpnClasses { .. } | Readout::Softmax)
    }

    /// The training loss of a batch of outputs `z` (N, width): Eq. 1, Eq. 7, their (weighted)
    /// sum, or a baseline's, reduced over the batch as configured.
    pub fn loss(&self, z: Tensor<2>, labels: Tensor<1, Int>, targets: Tensor<1>) -> Tensor<1> {
        let r = self.reduction;
        match &self.readout {
            Readout::HpnClasses { prototypes } => {
                hpn_losses::classification_loss(z, prototypes.clone(), labels, r)
            }
            Readout::HpnRegression { pole, bounds } => {
                hpn_losses::regression_loss(z, pole.clone(), targets, *bounds, r)
            }
            Readout::HpnJoint {
                prototypes,
                pole,
                bounds,
            } => hpn_losses::joint_loss(
                z,
                pole.clone(),
                prototypes.clone(),
                labels,
                targets,
                *bounds,
                self.task_weight,
                r,
            ),
            Readout::Softmax => hpn_losses::softmax_cross_entropy(z, labels, r),
            Readout::Mse { bounds } => hpn_losses::mse_regression_loss(z, targets, *bounds, r),
            Readout::Multitask { bounds } => hpn_losses::multitask_loss(
                z,
                labels,
                targets,
                *bounds,
                self.task_weight.unwrap_or(0.5),
                r,
            ),
        }
    }

    /// Predicted classes (N) and the per-class scores (N, K) of a batch, when the task has
    /// classes: argmax cosine to the prototypes (Eq. 3) or argmax softmax probability.
    pub fn predicted_classes(&self, z: &Tensor<2>) -> Option<(Tensor<1, Int>, Tensor<2>)> {
        let [n, width] = z.dims();
        let scores = match &self.readout {
            Readout::HpnRegression { .. } | Readout::Mse { .. } => return None,
            Readout::HpnClasses { prototypes } => {
                hpn_losses::cosine_similarity(z.clone(), prototypes.clone())
            }
            Readout::HpnJoint { prototypes, .. } => hpn_losses::cosine_similarity(
                hpn_losses::class_subspace(z.clone()),
                prototypes.clone(),
            ),
            Readout::Softmax => burn::tensor::activation::softmax(z.clone(), 1),
            Readout::Multitask { .. } => {
                burn::tensor::activation::softmax(z.clone().slice([0..n, 1..width]), 1)
            }
        };
        Some((scores.clone().argmax(1).reshape([n]), scores))
    }

    /// The score of the predicted class of each output (N): the largest cosine to a prototype
    /// (Eq. 3) or the largest softmax probability; `None` when the task has no classes.
    pub fn best_scores(&self, z: &Tensor<2>) -> Option<Tensor<1>> {
        let [n, _] = z.dims();
        self.predicted_classes(z)
            .map(|(_, scores)| scores.max_dim(1).reshape([n]))
    }

    /// Predicted values (N) of a batch, when the task has a regression target.
    pub fn predicted_values(&self, z: &Tensor<2>) -> Option<Tensor<1>> {
        let [n, _] = z.dims();
        match &self.readout {
            Readout::HpnClasses { .. } | Readout::Softmax => None,
            Readout::HpnRegression { pole, bounds } | Readout::HpnJoint { pole, bounds, .. } => {
                Some(hpn_losses::decode_regression(
                    z.clone(),
                    pole.clone(),
                    *bounds,
                ))
            }
            Readout::Mse { bounds } => Some(hpn_losses::decode_mse(z.clone(), *bounds)),
            Readout::Multitask { bounds } => Some(hpn_losses::decode_mse(
                z.clone().slice([0..n, 0..1]),
                *bounds,
            )),
        }
    }

    /// Scores a batch of outputs against its labels and targets (one read-back of the
    /// predictions; [`BatchScore::of_predictions`] does the counting).
    pub fn score(&self, z: Tensor<2>, labels: &[usize], targets: &[f32]) -> BatchScore {
        let classes: Option<Vec<i64>> = self
            .predicted_classes(&z)
            .map(|(predicted, _)| predicted.into_data().iter::<i64>().collect());
        let values: Option<Vec<f32>> = self
            .predicted_values(&z)
            .map(|values| values.into_data().iter::<f32>().collect());
        let labels: Vec<i64> = labels.iter().map(|&l| l as i64).collect();
        BatchScore::of_predictions(
            classes.as_deref().map(|c| (c, self.classes)),
            values.as_deref(),
            &labels,
            targets,
        )
    }

    /// Reads each output row back as a class and/or a value.
    pub fn predict(&self, z: Tensor<2>) -> Vec<Prediction> {
        let [n, _] = z.dims();
        let classes: Vec<Option<(usize, f32)>> = match self.predicted_classes(&z) {
            Some((predicted, scores)) => {
                let k = self.classes;
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
        let values: Vec<Option<f32>> = match self.predicted_values(&z) {
            Some(v) => v.into_data().iter::<f32>().map(Some).collect(),
            None => vec![None; n],
        };
        classes
            .into_iter()
            .zip(values)
            .map(|(class, value)| Prediction {
                class,
                value,
                known: None,
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::BatchScore;

    #[test]
    fn accuracy_of_a_group_of_classes_counts_only_its_true_labels() {
        // Labels 0 0 1 2 2 2, predicted 0 1 1 2 0 2: class 0 1 of 2, class 1 1 of 1, class 2
        // 2 of 3.
        let labels = [0i64, 0, 1, 2, 2, 2];
        let predicted = [0i64, 1, 1, 2, 0, 2];
        let mut score = BatchScore::of_predictions(Some((&predicted, 3)), None, &labels, &[]);
        assert_eq!(score.label_counts, [2, 1, 3]);
        assert_eq!(score.correct_by_label, [1, 1, 2]);
        assert_eq!(score.accuracy_of(0..1), Some(50.0));
        assert_eq!(score.accuracy_of(1..3), Some(75.0));
        assert_eq!(score.accuracy_of(0..3), Some(100.0 * 4.0 / 6.0));
        assert_eq!(score.accuracy_of(2..4), None, "class 3 does not exist");
        // A second batch adds up class by class.
        let more = BatchScore::of_predictions(Some((&[1i64], 3)), None, &[1], &[]);
        score.add(more);
        assert_eq!(score.accuracy_of(1..2), Some(100.0));
        assert_eq!(score.label_counts, [2, 2, 3]);
    }
}
