//! The experiment file: one TOML schema for every experiment of the paper.
//!
//! The sections are the libraries' own types where one exists: `[model]` is hpn-models'
//! [`BackboneConfig`], `dataset.augmentation` and `dataset.normalization` are hpn-data's
//! [`Augmentation`] and [`Normalization`], `loss.reduction` is hpn-losses' [`Reduction`],
//! `prototypes.method` is hpn-prototypes' [`PlacementMethod`]. Values are kebab-case
//! everywhere. Unknown keys are rejected, keys of older files are named with what replaced
//! them, and every error names the file and the key. Relative paths are taken from the folder
//! of the experiment file. Every key has a default; the defaults are the paper's training
//! recipe (Sec. 3): SGD with lr 0.01, momentum 0.9, dampening 0, weight decay 1e-4, batch 128,
//! 250 epochs, lr x0.1 at epochs 100 and 200, the HPN loss summed over the batch, accuracy
//! every 10 epochs.

use std::path::{Path, PathBuf};

use hpn_data::{Augmentation, Normalization};
use hpn_losses::Reduction;
use hpn_models::BackboneConfig;
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
    /// Training examples kept of the first class.
    pub min: usize,
    /// Training examples kept of the last class.
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
    /// Directory of the dataset; a relative path is taken from the folder of the experiment
    /// file.
    pub path: PathBuf,
    /// Seed of every random choice made on the data (rotation angles, subsets, splits); the
    /// same for all training seeds.
    pub seed: u64,
    /// CIFAR-100: use the 20 coarse labels instead of the 100 fine ones.
    pub coarse_labels: bool,
    /// Side length images are stored at when read (image folders, Tiny ImageNet, CUB, CSV).
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
    /// Training-time augmentation (hpn-data's [`Augmentation`], e.g.
    /// `{ kind = "crop-flip", padding = 4 }`); evaluation images are never augmented.
    pub augmentation: Augmentation,
    /// Per-channel normalisation (hpn-data's [`Normalization`]: `"mnist"`, `"cifar"`,
    /// `"imagenet"`, `"none"` or `{ mean = [..], std = [..] }`).
    pub normalization: Normalization,
    /// The folder decoded images are cached in (image folders, Tiny ImageNet, CUB, CSV);
    /// absent: `<out>/.cache/<dataset folder>/`, beside the run directories.
    pub cache: Option<PathBuf>,
    /// Datasets of image files (image folders, Tiny ImageNet, CUB, CSV): leave undecodable or
    /// missing images out with a warning instead of stopping.
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
            augmentation: Augmentation::None,
            normalization: Normalization::mnist(),
            cache: None,
            skip_bad: false,
            csv: None,
        }
    }
}

/// Where the outputs should point: class prototypes and regression poles on S^(D-1)
/// (paper Sec. 2.1-2.3).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PrototypesConfig {
    /// How class prototypes are placed.
    pub method: PlacementMethod,
    /// D: the outputs of an HPN network live on S^(D-1). For the joint task axis 0 holds the
    /// regression poles and the class prototypes use the other D - 1 axes. The baselines size
    /// their own output layer (softmax-ce K logits, mse 1, multitask 1 + K).
    pub dims: usize,
    /// Load the class prototypes from this `.npy` (K, D) instead of placing them; a relative
    /// path is taken from the folder of the experiment file.
    pub file: Option<PathBuf>,
    /// Class-name word vectors (`.npy` or text), for `privileged` and `word-vectors`; a
    /// relative path is taken from the folder of the experiment file.
    pub word_vectors: Option<PathBuf>,
    /// Seed of the placement (the same for every training seed, as in the paper).
    pub seed: u64,
    /// Optimisation steps of the placer (its own default when absent).
    pub steps: Option<usize>,
    /// Regression bounds [v_l, v_u] of Eq. 7; default: min and max of the training targets.
    pub regression_bounds: Option<[f32; 2]>,
}

impl Default for PrototypesConfig {
    fn default() -> Self {
        PrototypesConfig {
            method: PlacementMethod::Uniform,
            dims: 10,
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

impl LossKind {
    /// How the loss is reduced over a batch when the experiment file does not say: the sum for
    /// the HPN losses (the authors' code), the mean for the baselines (PyTorch's default for
    /// `CrossEntropyLoss` and `MSELoss`; a summed cross-entropy at lr 1e-2 diverges).
    pub fn default_reduction(self) -> Reduction {
        match self {
            LossKind::Hpn => Reduction::Sum,
            LossKind::SoftmaxCe | LossKind::Mse | LossKind::Multitask => Reduction::Mean,
        }
    }
}

/// The loss and its weighting.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LossConfig {
    /// HPN or one of the baselines.
    pub kind: LossKind,
    /// Sum or mean over the batch; absent: [`LossKind::default_reduction`].
    pub reduction: Option<Reduction>,
    /// Joint / multitask: w in (1 - w) L_regression + w L_classification. Absent: plain sum.
    pub task_weight: Option<f32>,
}

impl LossConfig {
    /// The reduction in force: the configured one, else the kind's default.
    pub fn reduction(&self) -> Reduction {
        self.reduction
            .unwrap_or_else(|| self.kind.default_reduction())
    }
}

/// SGD with momentum and a multi-step learning-rate schedule.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct OptimizerConfig {
    /// Learning rate of the first epoch.
    pub learning_rate: f64,
    /// Momentum (PyTorch's form: v = momentum v + (1 - dampening) g).
    pub momentum: f64,
    /// PyTorch and the paper use 0 (Burn's own default is 0.1).
    pub dampening: f64,
    /// Coupled L2 weight decay, as PyTorch SGD.
    pub weight_decay: f64,
    /// Epochs (0-based) from which the learning rate is multiplied by `gamma` once more.
    pub milestones: Vec<usize>,
    /// Factor applied to the learning rate at each milestone.
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
    /// Epochs per seed.
    pub epochs: usize,
    /// Training batch size.
    pub batch_size: usize,
    /// Evaluate on the test set every this many epochs and after the last one.
    pub eval_every: usize,
    /// Data-loading worker threads.
    pub workers: usize,
    /// Batch size of evaluation.
    pub eval_batch_size: usize,
    /// Recompute BatchNorm, ReLU and residual sums in the backward pass instead of keeping
    /// their outputs (Burn's balanced gradient checkpointing): the same gradients bit for bit
    /// with less memory held between the forward and backward pass.
    pub gradient_checkpointing: bool,
}

impl Default for TrainingConfig {
    fn default() -> Self {
        TrainingConfig {
            epochs: 250,
            batch_size: 128,
            eval_every: 10,
            workers: 2,
            eval_batch_size: 500,
            gradient_checkpointing: false,
        }
    }
}

/// Open-set evaluation, one of the open problems the paper names: classes held out of
/// training, whose test images are inputs from no known class. After training, the score of
/// the predicted class (the cosine to its prototype for HPN, Eq. 3; the softmax probability for
/// the baseline) is thresholded: the threshold accepts `known_accepted` of a calibration part
/// held out of the training split, and the evaluation reports the AUROC of known against
/// unknown test images.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct OpenSetConfig {
    /// Labels held out of training (after any rotated-MNIST relabelling); the other classes
    /// are relabelled `0..` in order.
    pub unknown_classes: Vec<usize>,
    /// Fraction of the known-class training split held out (stratified) to choose the
    /// threshold; it is not trained on.
    pub calibration_fraction: f32,
    /// Fraction of the calibration images the threshold accepts as known.
    pub known_accepted: f32,
}

impl Default for OpenSetConfig {
    fn default() -> Self {
        OpenSetConfig {
            unknown_classes: Vec::new(),
            calibration_fraction: 0.1,
            known_accepted: 0.95,
        }
    }
}

/// Class-incremental learning, the other open problem the paper names: the classes `0..old`
/// are learned in a first phase (a run with this table and no `from`: the later classes leave
/// its training and test sets), then a second phase (`from` the first run's directory) starts
/// each seed from the first run's weights of the same seed, adds the classes `old..K` and
/// trains on their images plus `replay_per_class` stored images of each old class. With the HPN
/// loss the new classes get prototypes placed around the fixed old ones (hpn-prototypes'
/// `extend_layout`); with softmax cross-entropy the output layer grows by one logit per new
/// class. The second phase reports accuracy on the old classes, the new ones and all of them.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct IncrementalConfig {
    /// The classes of the first phase: labels `0..old_classes` (after any rotated-MNIST
    /// relabelling); the rest arrive in the second.
    pub old_classes: usize,
    /// The finished first-phase run directory the second phase starts from; absent: this run
    /// is the first phase. A relative path is taken from the folder of the experiment file.
    pub from: Option<PathBuf>,
    /// Second phase: training images of each old class trained on again (chosen with
    /// `dataset.seed`, among those the first phase trained on).
    pub replay_per_class: usize,
}

/// One experiment: everything needed to train and evaluate, for every seed.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ExperimentConfig {
    /// Name of the run directory `<out>/<name>`.
    pub name: String,
    /// One line saying what the experiment shows.
    pub description: String,
    /// Classification, regression or both.
    pub task: Task,
    /// Backend used unless the command line says otherwise.
    pub backend: BackendKind,
    /// One training run per seed; results are reported as mean +- std.
    pub seeds: Vec<u64>,
    /// Where the data comes from and how it is prepared.
    pub dataset: DatasetConfig,
    /// The network (hpn-models' [`BackboneConfig`]: `backbone`, `shortcut`).
    pub model: BackboneConfig,
    /// The class prototypes and regression poles the outputs are trained to point at.
    pub prototypes: PrototypesConfig,
    /// The loss.
    pub loss: LossConfig,
    /// SGD and its schedule.
    pub optimizer: OptimizerConfig,
    /// Epochs, batches, evaluation, loader threads.
    pub training: TrainingConfig,
    /// Open-set evaluation with classes held out of training; absent: none.
    pub open_set: Option<OpenSetConfig>,
    /// Class-incremental training in two phases; absent: all classes at once.
    pub incremental: Option<IncrementalConfig>,
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
            model: BackboneConfig::default(),
            prototypes: PrototypesConfig::default(),
            loss: LossConfig::default(),
            optimizer: OptimizerConfig::default(),
            training: TrainingConfig::default(),
            open_set: None,
            incremental: None,
        }
    }
}

/// Keys of older experiment files and what took their place (docs/config-reference.md,
/// "Files written for earlier versions").
const RENAMED_KEYS: [(&str, &str); 4] = [
    (
        "layout",
        "the [layout] section is now [prototypes] (same keys)",
    ),
    (
        "model.output_dim",
        "D is now `dims` in the [prototypes] section",
    ),
    (
        "dataset.padding",
        "the padding is now part of the augmentation: augmentation = { kind = \"crop-flip\", padding = 4 }",
    ),
    (
        "dataset.augmentation",
        "the augmentation is now a table: augmentation = { kind = \"crop-flip\", padding = 4 }, { kind = \"random-resized-crop\", size = 224 } or { kind = \"none\" }",
    ),
];

/// The first key of `table` that an older version of hpn wrote and this one reads differently.
fn renamed_key(table: &toml::Table) -> Option<(&'static str, &'static str)> {
    let section = |name: &str| table.get(name).and_then(toml::Value::as_table);
    RENAMED_KEYS.into_iter().find(|(key, _)| match *key {
        "layout" => table.contains_key("layout"),
        "model.output_dim" => section("model").is_some_and(|t| t.contains_key("output_dim")),
        "dataset.padding" => section("dataset").is_some_and(|t| t.contains_key("padding")),
        "dataset.augmentation" => section("dataset")
            .and_then(|t| t.get("augmentation"))
            .is_some_and(toml::Value::is_str),
        _ => false,
    })
}

/// `path` without `.` components and with each `..` taken back against the component before
/// it, without touching the file system.
fn normalize(path: &Path) -> PathBuf {
    use std::path::Component;
    let mut out = PathBuf::new();
    for component in path.components() {
        match component {
            Component::CurDir => {}
            Component::ParentDir => {
                if !out.pop() {
                    out.push("..");
                }
            }
            other => out.push(other),
        }
    }
    out
}

/// `path` taken from `base` when relative.
fn resolve(base: &Path, path: &Path) -> PathBuf {
    if path.as_os_str().is_empty() || path.is_absolute() {
        path.to_path_buf()
    } else {
        normalize(&base.join(path))
    }
}

impl ExperimentConfig {
    /// Reads and checks an experiment file; relative paths in it are taken from its folder.
    pub fn load(path: &Path) -> Result<Self, TrainError> {
        let text = std::fs::read_to_string(path).map_err(|source| TrainError::ReadConfig {
            path: path.to_path_buf(),
            source,
        })?;
        Self::parse(&text, path)
    }

    /// Parses and checks the TOML `text` of the experiment file at `path` (which need not
    /// exist: the embedded quickstart is parsed as `configs/quickstart.toml`). `path` names the
    /// file in errors, and relative paths in the text are taken from its folder. The loss
    /// reduction in force is filled in, so the parsed config says everything it does.
    pub fn parse(text: &str, path: &Path) -> Result<Self, TrainError> {
        let parse_error = |message: String| TrainError::ParseConfig {
            path: path.to_path_buf(),
            message,
        };
        let table: toml::Table = toml::from_str(text).map_err(|e| parse_error(e.to_string()))?;
        if let Some((key, replacement)) = renamed_key(&table) {
            return Err(TrainError::RenamedKey {
                path: path.to_path_buf(),
                key,
                replacement,
            });
        }
        let mut config: ExperimentConfig =
            toml::from_str(text).map_err(|e| parse_error(e.to_string()))?;
        config.validate(path)?;
        let folder = path.parent().unwrap_or(Path::new(""));
        let base = std::path::absolute(if folder.as_os_str().is_empty() {
            Path::new(".")
        } else {
            folder
        })
        .map_err(|e| TrainError::io("find the folder of", path, e))?;
        config.resolve_paths(&base);
        config.loss.reduction = Some(config.loss.reduction());
        Ok(config)
    }

    /// Takes every relative path of the config (dataset, cache, prototype file, word vectors)
    /// from `base`. The CSV file names stay relative to the dataset folder.
    pub fn resolve_paths(&mut self, base: &Path) {
        self.dataset.path = resolve(base, &self.dataset.path);
        self.dataset.cache = self.dataset.cache.as_deref().map(|p| resolve(base, p));
        self.prototypes.file = self.prototypes.file.as_deref().map(|p| resolve(base, p));
        self.prototypes.word_vectors = self
            .prototypes
            .word_vectors
            .as_deref()
            .map(|p| resolve(base, p));
        if let Some(inc) = &mut self.incremental {
            inc.from = inc.from.as_deref().map(|p| resolve(base, p));
        }
    }

    /// The config as TOML, every key written out (what `--dry-run` prints and a run saves).
    pub fn to_toml(&self) -> String {
        let mut full = self.clone();
        full.loss.reduction = Some(self.loss.reduction());
        toml::to_string_pretty(&full).unwrap_or_else(|e| format!("# cannot serialise: {e}\n"))
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
        if self.name.chars().all(|c| c == '.') {
            return bad(
                "name",
                format!("{:?}", self.name),
                "a name that is not only dots (it names a folder)",
            );
        }
        if let Err(e) = self.model.validate() {
            return bad(
                "model.backbone",
                format!("{:?}", self.model.backbone),
                &e.to_string(),
            );
        }
        if self.seeds.is_empty() {
            return bad("seeds", "[]".into(), "at least one seed");
        }
        let dims = self.prototypes.dims;
        if self.loss.kind == LossKind::Hpn {
            let (minimum, why) = match self.task {
                Task::Classification => (2, "at least 2 (S^1, the circle)"),
                Task::Regression => (2, "at least 2 for regression (two poles on S^1)"),
                Task::Joint => (
                    3,
                    "at least 3 for a joint task (one pole axis plus at least 2 class dimensions)",
                ),
            };
            if dims < minimum {
                return bad("prototypes.dims", dims.to_string(), why);
            }
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
        if self.dataset.image_size == Some(0) {
            return bad("dataset.image_size", "0".into(), "at least 1 pixel");
        }
        if let Err(e) = self.dataset.augmentation.check() {
            return bad(
                "dataset.augmentation",
                format!("{:?}", self.dataset.augmentation),
                &e.to_string(),
            );
        }
        if self.dataset.skip_bad
            && matches!(
                self.dataset.kind,
                DatasetKind::Mnist | DatasetKind::Cifar10 | DatasetKind::Cifar100
            )
        {
            return bad(
                "dataset.skip_bad",
                "true".into(),
                "false for IDX and CIFAR binary files, which hold no separate image files to skip (skip_bad applies to image-folder, tiny-imagenet, cub200 and csv)",
            );
        }
        if let Some([lo, hi]) = self.prototypes.regression_bounds
            && !(lo < hi && lo.is_finite() && hi.is_finite())
        {
            return bad(
                "prototypes.regression_bounds",
                format!("[{lo}, {hi}]"),
                "[lower, upper] with lower < upper",
            );
        }
        if self.prototypes.method.needs_word_vectors()
            && self.prototypes.word_vectors.is_none()
            && self.prototypes.file.is_none()
        {
            return bad(
                "prototypes.word_vectors",
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
        if let Some(open) = &self.open_set {
            if self.task != Task::Classification {
                return bad(
                    "open_set",
                    format!("a [open_set] table with task {:?}", self.task),
                    "open-set evaluation with the classification task",
                );
            }
            if open.unknown_classes.is_empty() {
                return bad(
                    "open_set.unknown_classes",
                    "[]".into(),
                    "at least one class held out of training",
                );
            }
            if !(open.calibration_fraction > 0.0 && open.calibration_fraction < 1.0) {
                return bad(
                    "open_set.calibration_fraction",
                    open.calibration_fraction.to_string(),
                    "a fraction strictly between 0 and 1",
                );
            }
            if !(open.known_accepted > 0.0 && open.known_accepted <= 1.0) {
                return bad(
                    "open_set.known_accepted",
                    open.known_accepted.to_string(),
                    "a fraction in (0, 1]",
                );
            }
        }
        if let Some(inc) = &self.incremental {
            if self.task != Task::Classification {
                return bad(
                    "incremental",
                    format!("a [incremental] table with task {:?}", self.task),
                    "class-incremental training with the classification task",
                );
            }
            if self.open_set.is_some() {
                return bad(
                    "incremental",
                    "a [incremental] table beside [open_set]".into(),
                    "one of class-incremental training and open-set evaluation",
                );
            }
            if self.dataset.validation_fraction.is_some() {
                return bad(
                    "dataset.validation_fraction",
                    "set with [incremental]".into(),
                    "no validation split: each phase is evaluated on the test set",
                );
            }
            if inc.old_classes == 0 {
                return bad(
                    "incremental.old_classes",
                    "0".into(),
                    "at least one class in the first phase",
                );
            }
            if inc.from.is_none() && inc.replay_per_class > 0 {
                return bad(
                    "incremental.replay_per_class",
                    inc.replay_per_class.to_string(),
                    "0 in the first phase (replay needs `from`, the first phase's run)",
                );
            }
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
        assert_eq!(c.loss.reduction(), Reduction::Sum);
        assert!((c.optimizer.learning_rate_at(99) - 0.01).abs() < 1e-12);
        assert!((c.optimizer.learning_rate_at(100) - 0.001).abs() < 1e-12);
        assert!((c.optimizer.learning_rate_at(249) - 0.0001).abs() < 1e-12);
    }

    #[test]
    fn each_loss_kind_has_its_own_default_reduction() {
        let reduction = |kind: &str| {
            let text = format!(
                "task = \"{}\"\n[dataset.rotation]\n[prototypes]\ndims = 3\n[loss]\nkind = \"{kind}\"\ntask_weight = 0.5\n",
                match kind {
                    "softmax-ce" => "classification",
                    "mse" => "regression",
                    _ => "joint",
                }
            );
            parse(&text).unwrap().loss.reduction()
        };
        assert_eq!(reduction("hpn"), Reduction::Sum);
        assert_eq!(reduction("softmax-ce"), Reduction::Mean);
        assert_eq!(reduction("mse"), Reduction::Mean);
        assert_eq!(reduction("multitask"), Reduction::Mean);
        let explicit = parse("[loss]\nkind = \"softmax-ce\"\nreduction = \"sum\"\n").unwrap();
        assert_eq!(explicit.loss.reduction(), Reduction::Sum);
        // What a run saves spells the reduction in force out.
        assert!(
            parse("[loss]\nkind = \"softmax-ce\"\n")
                .unwrap()
                .to_toml()
                .contains("reduction = \"mean\"")
        );
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
    fn keys_of_older_files_name_their_replacement() {
        let cases = [
            ("[layout]\nmethod = \"uniform\"\n", "layout", "[prototypes]"),
            ("[model]\noutput_dim = 10\n", "model.output_dim", "dims"),
            ("[dataset]\npadding = 4\n", "dataset.padding", "crop-flip"),
            (
                "[dataset]\naugmentation = \"crop-flip\"\n",
                "dataset.augmentation",
                "kind",
            ),
        ];
        for (text, key, replacement) in cases {
            let err = parse(text).unwrap_err();
            assert!(
                matches!(err, TrainError::RenamedKey { key: k, .. } if k == key),
                "{text:?}: {err}"
            );
            let message = err.to_string();
            assert!(message.contains("test.toml"), "{message}");
            assert!(message.contains(replacement), "{message}");
        }
    }

    #[test]
    fn inconsistent_values_are_reported_with_their_key() {
        let cases = [
            ("[prototypes]\ndims = 1\n", "prototypes.dims"),
            (
                "task = \"joint\"\n[dataset.rotation]\n[prototypes]\ndims = 2\n",
                "prototypes.dims",
            ),
            ("[loss]\nkind = \"mse\"\n", "loss.kind"),
            (
                "[optimizer]\nlearning_rate = -1.0\n",
                "optimizer.learning_rate",
            ),
            (
                "[prototypes]\nmethod = \"privileged\"\n",
                "prototypes.word_vectors",
            ),
            ("task = \"regression\"\n", "task"),
            (
                "[dataset]\nvalidation_fraction = 1.5\n",
                "dataset.validation_fraction",
            ),
            ("seeds = []\n", "seeds"),
            ("name = \"..\"\n", "name"),
            ("[open_set]\n", "open_set.unknown_classes"),
            (
                "[open_set]\nunknown_classes = [9]\nknown_accepted = 0.0\n",
                "open_set.known_accepted",
            ),
            (
                "task = \"joint\"\n[dataset.rotation]\n[prototypes]\ndims = 3\n[open_set]\nunknown_classes = [1]\n",
                "open_set",
            ),
            (
                "[model]\nbackbone = { resnet-cifar = { depth = 21, width = 1 } }\n",
                "model.backbone",
            ),
            ("[dataset]\nskip_bad = true\n", "dataset.skip_bad"),
            ("[incremental]\n", "incremental.old_classes"),
            (
                "[incremental]\nold_classes = 5\nreplay_per_class = 20\n",
                "incremental.replay_per_class",
            ),
            (
                "[incremental]\nold_classes = 5\n[dataset]\nvalidation_fraction = 0.1\n",
                "dataset.validation_fraction",
            ),
            (
                "[incremental]\nold_classes = 5\n[open_set]\nunknown_classes = [9]\n",
                "incremental",
            ),
            (
                "[dataset]\nkind = \"cifar10\"\nskip_bad = true\n",
                "dataset.skip_bad",
            ),
            (
                "[dataset]\naugmentation = { kind = \"random-resized-crop\", size = 0 }\n",
                "dataset.augmentation",
            ),
        ];
        for (text, key) in cases {
            let err = parse(text).unwrap_err().to_string();
            assert!(err.contains(key), "{text:?}: {err}");
        }
        // skip_bad is accepted where there are image files to skip.
        for kind in ["image-folder", "tiny-imagenet", "cub200"] {
            parse(&format!("[dataset]\nkind = \"{kind}\"\nskip_bad = true\n")).unwrap();
        }
    }

    #[test]
    fn library_types_are_read_in_their_own_serde_form() {
        let c = parse(
            "[model]\nbackbone = { resnet-cifar = { depth = 20, width = 2 } }\nshortcut = \"zero-pad\"\n\
             [dataset]\naugmentation = { kind = \"crop-flip\", padding = 2 }\nnormalization = \"cifar\"\n",
        )
        .unwrap();
        assert_eq!(
            c.model.backbone,
            hpn_models::Backbone::ResNetCifar {
                depth: 20,
                width: 2
            }
        );
        assert_eq!(c.model.shortcut, hpn_models::Shortcut::ZeroPad);
        assert_eq!(
            c.dataset.augmentation,
            Augmentation::CropFlip { padding: 2 }
        );
        assert_eq!(c.dataset.normalization, Normalization::cifar());
    }

    #[test]
    fn relative_paths_are_taken_from_the_folder_of_the_file() {
        let text = "[dataset]\npath = \"../data/mnist\"\ncache = \"cache/x.bin\"\n\
                    [prototypes]\nfile = \"p.npy\"\nword_vectors = \"/abs/w.txt\"\n";
        let c = ExperimentConfig::parse(text, Path::new("/srv/hpn/configs/exp.toml")).unwrap();
        assert_eq!(c.dataset.path, Path::new("/srv/hpn/data/mnist"));
        assert_eq!(
            c.dataset.cache.as_deref(),
            Some(Path::new("/srv/hpn/configs/cache/x.bin"))
        );
        assert_eq!(
            c.prototypes.file.as_deref(),
            Some(Path::new("/srv/hpn/configs/p.npy"))
        );
        assert_eq!(
            c.prototypes.word_vectors.as_deref(),
            Some(Path::new("/abs/w.txt"))
        );
        // A config without a folder takes its paths from the current directory.
        let here = parse("[dataset]\npath = \"d\"\n").unwrap();
        assert_eq!(here.dataset.path, std::path::absolute("d").unwrap());
    }

    #[test]
    fn round_trips_through_toml() {
        let c = parse(
            "name = \"x\"\ntask = \"joint\"\n[dataset.rotation]\n[prototypes]\ndims = 3\n\
             [dataset]\naugmentation = { kind = \"crop-flip\", padding = 4 }\n",
        )
        .unwrap();
        assert_eq!(c.loss.reduction, Some(Reduction::Sum));
        let again = parse(&c.to_toml()).unwrap();
        assert_eq!(again, c);
    }
}
