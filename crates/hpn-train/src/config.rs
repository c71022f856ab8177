//! The experiment file: one TOML schema for every experiment of the paper.
//!
//! Unknown keys are rejected, and every error names the file and the key. Every key has a
//! default; the defaults are the paper's training recipe (Sec. 3): SGD with lr 0.01, momentum
//! 0.9, dampening 0, weight decay 1e-4, batch 128, 250 epochs, lr x0.1 at epochs 100 and 200,
//! loss summed over the batch, accuracy every 10 epochs.

use std::path::{Path, PathBuf};

use hpn_models::{Backbone, Shortcut};
use hpn_prototypes::PlacementMethod;
use serde::{Deserialize, Serialize};

use crate::device::BackendKind;
use crate::error::TrainError;

/// What the network predicts (paper Sec. 2.1, 2.2, 2.3).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Task {
    /// A class out of K, read as the nearest prototype (Eq. 3).
    #[default]
    Classification,
    /// A real value, read from the cosine to the upper pole (Eq. 7).
    Regression,
    /// A class and a value from one output (Sec. 2.3).
    Joint,
}

/// A dataset format hpn can read.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum DatasetKind {
    /// A directory of MNIST-style IDX files, plain or gzipped (MNIST, Fashion-MNIST).
    #[default]
    Mnist,
    /// The CIFAR-10 binary version (`data_batch_*.bin`, `test_batch.bin`).
    Cifar10,
    /// The CIFAR-100 binary version (`train.bin`, `test.bin`).
    Cifar100,
    /// `root/{train,test}/<class>/*.{jpg,png}`.
    ImageFolder,
    /// The official Tiny ImageNet layout (ImageNet-200 of the paper).
    TinyImagenet,
    /// The official CUB-200-2011 layout.
    Cub200,
    /// A CSV of image ids with a value and/or class column (OmniArt style).
    Csv,
}

/// Training-time augmentation (paper Sec. 3).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum AugmentationKind {
    /// None.
    #[default]
    None,
    /// Random crop with zero padding (`padding` pixels) and horizontal flip (CIFAR, ImageNet-200).
    CropFlip,
    /// Random-resized crop to `image_size` and horizontal flip (CUB-200, OmniArt).
    RandomResizedCrop,
}

/// Per-channel normalisation constants.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum NormalizationKind {
    /// Pixels scaled to [0, 1] only.
    None,
    /// MNIST mean 0.1307, std 0.3081.
    #[default]
    Mnist,
    /// CIFAR mean (0.507, 0.487, 0.441), std (0.267, 0.256, 0.276).
    Cifar,
    /// ImageNet mean (0.485, 0.456, 0.406), std (0.229, 0.224, 0.225).
    Imagenet,
}

/// The rotated-MNIST construction of the paper's Fig. 5.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RotationConfig {
    /// Digits kept, relabelled 0.. in this order.
    pub digits: Vec<usize>,
    /// Each image is rotated by a seeded random angle in [0, max_degrees]; the angle is the
    /// regression target.
    pub max_degrees: f32,
}

impl Default for RotationConfig {
    fn default() -> Self {
        RotationConfig {
            digits: vec![2, 3, 4, 5, 7],
            max_degrees: 180.0,
        }
    }
}

/// The linear class imbalance of the paper's Table 4: class c keeps
/// `round(min + (max - min) c / (K - 1))` training examples.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ImbalanceConfig {
    pub min: usize,
    pub max: usize,
}

/// Column names of a CSV dataset (OmniArt style).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CsvConfig {
    /// CSV of the training split.
    pub train: PathBuf,
    /// CSV of the test split.
    pub test: PathBuf,
    /// Directory holding `<id>.jpg` / `<id>.png`.
    pub images: PathBuf,
    /// Column with the image id.
    pub id_column: String,
    /// Column with the regression value (e.g. creation year), if any.
    pub value_column: Option<String>,
    /// Column with the class (e.g. style), if any.
    pub class_column: Option<String>,
}

impl Default for CsvConfig {
    fn default() -> Self {
        CsvConfig {
            train: PathBuf::from("train.csv"),
            test: PathBuf::from("test.csv"),
            images: PathBuf::from("images"),
            id_column: "id".into(),
            value_column: Some("year".into()),
            class_column: None,
        }
    }
}

/// Where the data comes from and how it is prepared.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DatasetConfig {
    /// The file format.
    pub kind: DatasetKind,
    /// Directory of the dataset (relative paths are taken from the current directory).
    pub path: PathBuf,
    /// Seed of every random choice made on the data (rotation angles, subsets, splits); the
    /// same for all training seeds.
    pub seed: u64,
    /// CIFAR-100: use the 20 coarse labels instead of the 100 fine ones.
    pub coarse_labels: bool,
    /// Side length images are resized to when read (image folders, CUB, CSV).
    pub image_size: Option<u32>,
    /// Build rotated MNIST from the digits (Fig. 5).
    pub rotation: Option<RotationConfig>,
    /// Keep this many training images per class (seeded).
    pub train_per_class: Option<usize>,
    /// Keep this many test images per class (seeded).
    pub test_per_class: Option<usize>,
    /// Linear class imbalance of the training set (Table 4).
    pub imbalance: Option<ImbalanceConfig>,
    /// Hold out this fraction of the training set and evaluate on it instead of the test set.
    pub validation_fraction: Option<f32>,
    /// Training-time augmentation.
    pub augmentation: AugmentationKind,
    /// Zero padding of the random crop.
    pub padding: usize,
    /// Per-channel normalisation.
    pub normalization: NormalizationKind,
    /// Where decoded images are cached (image folders, CUB, CSV); default: next to the run.
    pub cache: Option<PathBuf>,
    /// Skip undecodable images with a warning instead of stopping.
    pub skip_bad: bool,
    /// CSV column names, for `kind = "csv"`.
    pub csv: Option<CsvConfig>,
}

impl Default for DatasetConfig {
    fn default() -> Self {
        DatasetConfig {
            kind: DatasetKind::Mnist,
            path: PathBuf::from("datasets/mnist-subset"),
            seed: 0,
            coarse_labels: false,
            image_size: None,
            rotation: None,
            train_per_class: None,
            test_per_class: None,
            imbalance: None,
            validation_fraction: None,
            augmentation: AugmentationKind::None,
            padding: 4,
            normalization: NormalizationKind::Mnist,
            cache: None,
            skip_bad: false,
            csv: None,
        }
    }
}

/// The network.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ModelConfig {
    /// Which backbone.
    pub backbone: Backbone,
    /// Output dimension D of the hypersphere S^{D-1} (HPN losses). The baselines size their
    /// heads themselves: softmax-ce K outputs, mse 1, multitask 1 + K.
    pub output_dim: usize,
    /// Shortcut of the CIFAR ResNets where the shape changes.
    pub shortcut: Shortcut,
}

impl Default for ModelConfig {
    fn default() -> Self {
        ModelConfig {
            backbone: Backbone::ConvNet,
            output_dim: 10,
            shortcut: Shortcut::default(),
        }
    }
}

/// Where the outputs should point: prototypes and poles (paper Sec. 2.1-2.3).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LayoutConfig {
    /// How class prototypes are placed.
    pub method: PlacementMethod,
    /// Load the class prototypes from this `.npy` (K, D) instead of placing them.
    pub file: Option<PathBuf>,
    /// Class-name word vectors (`.npy` or text), for `privileged` and `word-vectors`.
    pub word_vectors: Option<PathBuf>,
    /// Seed of the placement (the same for every training seed, as in the paper).
    pub seed: u64,
    /// Optimisation steps of the placer (its own default when absent).
    pub steps: Option<usize>,
    /// Regression bounds [v_l, v_u]; default: min and max of the training targets.
    pub regression_bounds: Option<[f32; 2]>,
}

impl Default for LayoutConfig {
    fn default() -> Self {
        LayoutConfig {
            method: PlacementMethod::Uniform,
            file: None,
            word_vectors: None,
            seed: 300,
            steps: None,
            regression_bounds: None,
        }
    }
}

/// Which loss is trained.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum LossKind {
    /// Hyperspherical prototype losses: Eq. 1 (classification), Eq. 7 (regression), their sum (joint).
    #[default]
    Hpn,
    /// Baseline: softmax cross-entropy over a K-way linear head.
    SoftmaxCe,
    /// Baseline: squared error on the target normalised to [0, 1], output clamped to [0, 1].
    Mse,
    /// Baseline for the joint task: MSE + cross-entropy with a task weight.
    Multitask,
}

/// Sum or mean over the batch.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ReductionKind {
    /// Sum over the batch (the authors' code).
    #[default]
    Sum,
    /// Mean over the batch.
    Mean,
}

/// The loss and its weighting.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LossConfig {
    pub kind: LossKind,
    pub reduction: ReductionKind,
    /// Joint / multitask: w in (1 - w) L_regression + w L_classification. Absent: plain sum.
    pub task_weight: Option<f32>,
}

/// SGD with momentum and a multi-step learning-rate schedule.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct OptimizerConfig {
    pub learning_rate: f64,
    pub momentum: f64,
    /// PyTorch and the paper use 0 (Burn's own default is 0.1).
    pub dampening: f64,
    /// Coupled L2 weight decay, as PyTorch SGD.
    pub weight_decay: f64,
    /// Epochs (0-based) from which the learning rate is multiplied by `gamma` once more.
    pub milestones: Vec<usize>,
    pub gamma: f64,
}

impl Default for OptimizerConfig {
    fn default() -> Self {
        OptimizerConfig {
            learning_rate: 0.01,
            momentum: 0.9,
            dampening: 0.0,
            weight_decay: 1e-4,
            milestones: vec![100, 200],
            gamma: 0.1,
        }
    }
}

impl OptimizerConfig {
    /// The learning rate of `epoch` (0-based): lr * gamma^(number of milestones <= epoch).
    pub fn learning_rate_at(&self, epoch: usize) -> f64 {
        let passed = self.milestones.iter().filter(|&&m| m <= epoch).count();
        self.learning_rate * self.gamma.powi(passed as i32)
    }
}

/// Epochs, batches and evaluation.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TrainingConfig {
    pub epochs: usize,
    pub batch_size: usize,
    /// Evaluate on the test set every this many epochs and after the last one.
    pub eval_every: usize,
    /// Data-loading worker threads.
    pub workers: usize,
    /// Batch size of evaluation.
    pub eval_batch_size: usize,
}

impl Default for TrainingConfig {
    fn default() -> Self {
        TrainingConfig {
            epochs: 250,
            batch_size: 128,
            eval_every: 10,
            workers: 2,
            eval_batch_size: 500,
        }
    }
}

/// One experiment: everything needed to train and evaluate, for every seed.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ExperimentConfig {
    /// Name of the run directory `runs/<name>`.
    pub name: String,
    /// One line saying what the experiment shows.
    pub description: String,
    pub task: Task,
    /// Backend used unless the command line says otherwise.
    pub backend: BackendKind,
    /// One training run per seed; results are reported as mean +- std.
    pub seeds: Vec<u64>,
    pub dataset: DatasetConfig,
    pub model: ModelConfig,
    pub layout: LayoutConfig,
    pub loss: LossConfig,
    pub optimizer: OptimizerConfig,
    pub training: TrainingConfig,
}

impl Default for ExperimentConfig {
    fn default() -> Self {
        ExperimentConfig {
            name: "experiment".into(),
            description: String::new(),
            task: Task::Classification,
            backend: BackendKind::Flex,
            seeds: vec![1, 2, 3],
            dataset: DatasetConfig::default(),
            model: ModelConfig::default(),
            layout: LayoutConfig::default(),
            loss: LossConfig::default(),
            optimizer: OptimizerConfig::default(),
            training: TrainingConfig::default(),
        }
    }
}

impl ExperimentConfig {
    /// Reads and checks an experiment file.
    pub fn load(path: &Path) -> Result<Self, TrainError> {
        let text = std::fs::read_to_string(path).map_err(|source| TrainError::ReadConfig {
            path: path.to_path_buf(),
            source,
        })?;
        Self::parse(&text, path)
    }

    /// Parses and checks the TOML `text`; `path` is only used in error messages.
    pub fn parse(text: &str, path: &Path) -> Result<Self, TrainError> {
        let config: ExperimentConfig =
            toml::from_str(text).map_err(|e| TrainError::ParseConfig {
                path: path.to_path_buf(),
                message: e.to_string(),
            })?;
        config.validate(path)?;
        Ok(config)
    }

    /// The config as TOML, every key written out (what `--dry-run` prints and a run saves).
    pub fn to_toml(&self) -> String {
        toml::to_string_pretty(self).unwrap_or_else(|e| format!("# cannot serialise: {e}\n"))
    }

    /// Checks the values that the schema alone cannot.
    pub fn validate(&self, path: &Path) -> Result<(), TrainError> {
        let bad = |key: &str, value: String, expected: &str| {
            Err(TrainError::InvalidValue {
                path: path.to_path_buf(),
                key: key.into(),
                value,
                expected: expected.into(),
            })
        };
        if self.name.is_empty()
            || self
                .name
                .chars()
                .any(|c| !(c.is_ascii_alphanumeric() || "-_.".contains(c)))
        {
            return bad(
                "name",
                format!("{:?}", self.name),
                "a non-empty name of letters, digits, '-', '_' or '.'",
            );
        }
        if self.seeds.is_empty() {
            return bad("seeds", "[]".into(), "at least one seed");
        }
        if self.model.output_dim == 0 {
            return bad("model.output_dim", "0".into(), "at least 1");
        }
        if self.task == Task::Joint && self.loss.kind == LossKind::Hpn && self.model.output_dim < 3
        {
            return bad(
                "model.output_dim",
                self.model.output_dim.to_string(),
                "at least 3 for a joint task (one pole axis plus at least 2 class dimensions)",
            );
        }
        let loss_fits = match self.task {
            Task::Classification => matches!(self.loss.kind, LossKind::Hpn | LossKind::SoftmaxCe),
            Task::Regression => matches!(self.loss.kind, LossKind::Hpn | LossKind::Mse),
            Task::Joint => matches!(self.loss.kind, LossKind::Hpn | LossKind::Multitask),
        };
        if !loss_fits {
            return bad(
                "loss.kind",
                format!("{:?}", self.loss.kind),
                "hpn or softmax-ce for classification, hpn or mse for regression, hpn or multitask for joint",
            );
        }
        if let Some(w) = self.loss.task_weight
            && !(0.0..=1.0).contains(&w)
        {
            return bad("loss.task_weight", w.to_string(), "a number in [0, 1]");
        }
        if self.loss.kind == LossKind::Multitask && self.loss.task_weight.is_none() {
            return bad(
                "loss.task_weight",
                "absent".into(),
                "a weight in [0, 1] for the multitask baseline",
            );
        }
        if !(self.optimizer.learning_rate > 0.0 && self.optimizer.learning_rate.is_finite()) {
            return bad(
                "optimizer.learning_rate",
                self.optimizer.learning_rate.to_string(),
                "a positive number",
            );
        }
        if !(0.0..1.0).contains(&self.optimizer.momentum) {
            return bad(
                "optimizer.momentum",
                self.optimizer.momentum.to_string(),
                "a number in [0, 1)",
            );
        }
        if self.optimizer.weight_decay < 0.0 {
            return bad(
                "optimizer.weight_decay",
                self.optimizer.weight_decay.to_string(),
                "a non-negative number",
            );
        }
        if self.training.epochs == 0 {
            return bad("training.epochs", "0".into(), "at least 1");
        }
        if self.training.batch_size == 0 {
            return bad("training.batch_size", "0".into(), "at least 1");
        }
        if self.training.eval_every == 0 {
            return bad("training.eval_every", "0".into(), "at least 1");
        }
        if self.training.eval_batch_size == 0 {
            return bad("training.eval_batch_size", "0".into(), "at least 1");
        }
        if let Some(f) = self.dataset.validation_fraction
            && !(f > 0.0 && f < 1.0)
        {
            return bad(
                "dataset.validation_fraction",
                f.to_string(),
                "a fraction strictly between 0 and 1",
            );
        }
        if let Some(imb) = self.dataset.imbalance
            && (imb.min == 0 || imb.min > imb.max)
        {
            return bad(
                "dataset.imbalance",
                format!("{{ min = {}, max = {} }}", imb.min, imb.max),
                "1 <= min <= max",
            );
        }
        if let Some([lo, hi]) = self.layout.regression_bounds
            && !(lo < hi && lo.is_finite() && hi.is_finite())
        {
            return bad(
                "layout.regression_bounds",
                format!("[{lo}, {hi}]"),
                "[lower, upper] with lower < upper",
            );
        }
        let needs_words = matches!(
            self.layout.method,
            PlacementMethod::Privileged | PlacementMethod::WordVectors
        );
        if needs_words && self.layout.word_vectors.is_none() && self.layout.file.is_none() {
            return bad(
                "layout.word_vectors",
                "absent".into(),
                "a word-vector file for the privileged / word-vectors placements",
            );
        }
        if self.dataset.kind == DatasetKind::Csv && self.dataset.csv.is_none() {
            return bad(
                "dataset.csv",
                "absent".into(),
                "a [dataset.csv] table with the CSV files and column names",
            );
        }
        if self.task != Task::Classification
            && self.dataset.rotation.is_none()
            && self.dataset.kind != DatasetKind::Csv
        {
            return bad(
                "task",
                format!("{:?}", self.task),
                "regression and joint tasks need targets: rotated MNIST ([dataset.rotation]) or a CSV dataset",
            );
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<ExperimentConfig, TrainError> {
        ExperimentConfig::parse(text, Path::new("test.toml"))
    }

    #[test]
    fn defaults_are_the_paper_recipe() {
        let c = parse("name = \"x\"").unwrap();
        assert_eq!(c.optimizer.learning_rate, 0.01);
        assert_eq!(c.optimizer.momentum, 0.9);
        assert_eq!(c.optimizer.dampening, 0.0);
        assert_eq!(c.optimizer.weight_decay, 1e-4);
        assert_eq!(c.training.epochs, 250);
        assert_eq!(c.training.batch_size, 128);
        assert_eq!(c.loss.reduction, ReductionKind::Sum);
        assert!((c.optimizer.learning_rate_at(99) - 0.01).abs() < 1e-12);
        assert!((c.optimizer.learning_rate_at(100) - 0.001).abs() < 1e-12);
        assert!((c.optimizer.learning_rate_at(249) - 0.0001).abs() < 1e-12);
    }

    #[test]
    fn unknown_key_names_file_and_key() {
        let err = parse("name = \"x\"\n[training]\nepoch = 3\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("test.toml"), "{err}");
        assert!(err.contains("epoch"), "{err}");
    }

    #[test]
    fn wrong_type_is_reported() {
        let err = parse("[training]\nepochs = \"many\"\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("epochs"), "{err}");
    }

    #[test]
    fn inconsistent_values_are_reported_with_their_key() {
        let cases = [
            ("[model]\noutput_dim = 0\n", "model.output_dim"),
            (
                "task = \"joint\"\n[model]\noutput_dim = 2\n",
                "model.output_dim",
            ),
            ("[loss]\nkind = \"mse\"\n", "loss.kind"),
            (
                "[optimizer]\nlearning_rate = -1.0\n",
                "optimizer.learning_rate",
            ),
            ("[layout]\nmethod = \"privileged\"\n", "layout.word_vectors"),
            ("task = \"regression\"\n", "task"),
            (
                "[dataset]\nvalidation_fraction = 1.5\n",
                "dataset.validation_fraction",
            ),
            ("seeds = []\n", "seeds"),
        ];
        for (text, key) in cases {
            let err = parse(text).unwrap_err().to_string();
            assert!(err.contains(key), "{text:?}: {err}");
        }
    }

    #[test]
    fn round_trips_through_toml() {
        let c =
            parse("name = \"x\"\ntask = \"joint\"\n[dataset.rotation]\n[model]\noutput_dim = 3\n")
                .unwrap();
        let again = parse(&c.to_toml()).unwrap();
        assert_eq!(c, again);
    }
}
