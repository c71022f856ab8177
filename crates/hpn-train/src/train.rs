//! The training loop of one seed: forward, loss against the fixed prototypes, backward, SGD
//! with momentum and weight decay, multi-step learning rate, evaluation, metrics, checkpoints.

use std::path::{Path, PathBuf};
use std::time::Instant;

use burn::data::dataloader::DataLoaderBuilder;
use burn::module::Module;
use burn::optim::decay::WeightDecayConfig;
use burn::optim::momentum::MomentumConfig;
use burn::optim::{GradientsParams, ModuleOptimizer, SgdConfig};
use burn::tensor::Device;
use hpn_data::{AugmentedDataset, ImageBatcher};
use hpn_models::{BackboneConfig, Model};

use crate::checkpoint::{self, RunState};
use crate::config::ExperimentConfig;
use crate::data::PreparedData;
use crate::error::TrainError;
use crate::fsutil::create_dir;
use crate::metrics::{self, EpochRecord};
use crate::objective::{BatchScore, Objective};
use crate::plot;
use crate::progress::Progress;

/// What one finished seed reports.
#[derive(Clone, Debug, PartialEq)]
pub struct SeedResult {
    pub seed: u64,
    /// Final accuracy (%) on the evaluation set, when the task has classes.
    pub accuracy: Option<f64>,
    /// Final mean absolute error, when the task has a regression target.
    pub mae: Option<f64>,
    /// Mean training throughput over the epochs trained in this process.
    pub images_per_second: f64,
    /// Wall-clock seconds of all epochs.
    pub seconds: f64,
    /// The seed's directory.
    pub dir: PathBuf,
}

/// How one seed is run.
#[derive(Clone, Debug)]
pub struct SeedOptions {
    /// Continue from the checkpoint in the seed directory, if there is one.
    pub resume: bool,
    /// Stop after this many epochs in this process (to test kill-and-resume); `None`: all.
    pub stop_after: Option<usize>,
    /// No progress bar (tests, scripts).
    pub quiet: bool,
}

/// The network of `config` with `width` outputs on `device`.
pub fn build_model(
    config: &ExperimentConfig,
    width: usize,
    in_channels: usize,
    device: &Device,
) -> Result<Model, TrainError> {
    let mut backbone = BackboneConfig::new(config.model.backbone.clone(), width);
    backbone.in_channels = in_channels;
    backbone.shortcut = config.model.shortcut;
    Ok(backbone.init(device)?)
}

/// SGD with momentum (dampening as configured, 0 by default) and coupled L2 weight decay.
pub fn build_optimizer(config: &ExperimentConfig) -> ModuleOptimizer {
    let o = &config.optimizer;
    let momentum = (o.momentum > 0.0).then_some(MomentumConfig {
        momentum: o.momentum,
        dampening: o.dampening,
        nesterov: false,
    });
    let decay = (o.weight_decay > 0.0).then_some(WeightDecayConfig {
        penalty: o.weight_decay as f32,
    });
    SgdConfig::new()
        .with_momentum(momentum)
        .with_weight_decay(decay)
        .init()
}

/// Seed of the data order and augmentation of `epoch`.
fn epoch_seed(seed: u64, epoch: usize) -> u64 {
    // splitmix64 of (seed, epoch): distinct, well-mixed streams per epoch.
    let mut z = seed
        .wrapping_mul(0x9E37_79B9_7F4A_7C15)
        .wrapping_add(epoch as u64 + 1);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Evaluates `model` (inference copy) on `dataset`.
pub fn evaluate(
    model: &Model,
    objective: &Objective,
    dataset: AugmentedDataset,
    batch_size: usize,
    workers: usize,
    device: &Device,
) -> Result<BatchScore, TrainError> {
    let loader = DataLoaderBuilder::new(ImageBatcher)
        .batch_size(batch_size)
        .num_workers(workers)
        .set_device(device.clone())
        .build(dataset);
    let mut total = BatchScore::default();
    for batch in loader.iter() {
        let batch = batch.map_err(|e| TrainError::Run {
            path: PathBuf::from("<evaluation set>"),
            message: e.to_string(),
        })?;
        let labels: Vec<usize> = batch
            .labels
            .clone()
            .into_data()
            .iter::<i64>()
            .map(|l| l as usize)
            .collect();
        let targets: Vec<f32> = batch.targets.clone().into_data().iter::<f32>().collect();
        let z = model.forward(batch.images);
        total.add(objective.score(z, &labels, &targets));
    }
    Ok(total)
}

/// Accuracy (%) and MAE of a score, as the task defines them.
pub fn metrics_of(
    score: &BatchScore,
    has_classes: bool,
    has_values: bool,
) -> (Option<f64>, Option<f64>) {
    let n = score.count.max(1) as f64;
    (
        has_classes.then(|| 100.0 * score.correct as f64 / n),
        has_values.then(|| score.abs_error / n),
    )
}

/// Trains one seed in `dir` and returns its final metrics.
#[allow(clippy::too_many_arguments)]
pub fn train_seed(
    config: &ExperimentConfig,
    data: &PreparedData,
    objective: &Objective,
    width: usize,
    seed: u64,
    dir: &Path,
    options: &SeedOptions,
    device: &Device,
) -> Result<SeedResult, TrainError> {
    create_dir(dir)?;
    let epochs = config.training.epochs;
    let ad = device.clone().autodiff();
    device.seed(seed);
    ad.seed(seed);
    let (channels, _, _) = data.image_shape();
    let mut model = build_model(config, width, channels, &ad)?;
    let mut optimizer = build_optimizer(config);
    let mut state = RunState {
        seed,
        epochs_done: 0,
        epochs,
        records: Vec::new(),
        model_file: String::new(),
        optimizer_file: String::new(),
    };
    let progress = Progress::new(format!("{} seed {seed}", config.name), options.quiet);
    if options.resume
        && let Some(saved) = RunState::load(dir)?
    {
        let (m, o) = checkpoint::restore(dir, model, optimizer, &saved)?;
        model = m;
        optimizer = o;
        progress.message(&format!(
            "resuming {} from epoch {}/{}",
            dir.display(),
            saved.epochs_done,
            epochs
        ));
        state = saved;
        state.epochs = epochs;
    } else if RunState::load(dir)?.is_some() {
        progress.message(&format!(
            "{} holds an earlier run; starting again (use --resume to continue it)",
            dir.display()
        ));
    }
    let (has_classes, has_values) = (
        config.task != crate::config::Task::Regression,
        config.task != crate::config::Task::Classification,
    );
    let (train_set, eval_set) = crate::data::datasets(config, data, seed);
    let batch_size = config.training.batch_size;
    let mut trained_seconds = 0.0;
    let mut trained_images = 0usize;
    let last_epoch = match options.stop_after {
        Some(n) => epochs.min(state.epochs_done + n),
        None => epochs,
    };
    for epoch in state.epochs_done..last_epoch {
        let start = Instant::now();
        let lr = config.optimizer.learning_rate_at(epoch);
        let loader = DataLoaderBuilder::new(ImageBatcher)
            .batch_size(batch_size)
            .shuffle(epoch_seed(seed, epoch))
            .num_workers(config.training.workers)
            .set_device(ad.clone())
            .build(train_set.for_epoch(epoch));
        let batches = data.train.len().div_ceil(batch_size);
        progress.start_epoch(epoch + 1, epochs, batches);
        let mut loss_sum = 0.0f64;
        let mut seen_batches = 0usize;
        let mut seen_images = 0usize;
        for (b, batch) in loader.iter().enumerate() {
            let batch = batch.map_err(|e| TrainError::Run {
                path: dir.to_path_buf(),
                message: format!("reading training batch {b}: {e}"),
            })?;
            let n = batch.images.dims()[0];
            let z = model.forward(batch.images);
            let loss = objective.loss(z, batch.labels, batch.targets);
            let value: f32 = loss.clone().into_scalar();
            if !value.is_finite() {
                return Err(TrainError::Diverged {
                    epoch: epoch + 1,
                    batch: b,
                    value,
                });
            }
            let grads = GradientsParams::from_grads(loss.backward(), &model);
            model = optimizer.step(lr, model, grads);
            loss_sum += value as f64;
            seen_batches += 1;
            seen_images += n;
            let elapsed = start.elapsed().as_secs_f64().max(1e-9);
            progress.batch(value as f64, lr, seen_images as f64 / elapsed);
        }
        let train_seconds = start.elapsed().as_secs_f64();
        let last = epoch + 1 == epochs;
        let (accuracy, mae) = if (epoch + 1) % config.training.eval_every == 0 || last {
            let score = evaluate(
                &model.valid(),
                objective,
                eval_set.clone(),
                config.training.eval_batch_size,
                config.training.workers,
                device,
            )?;
            metrics_of(&score, has_classes, has_values)
        } else {
            (None, None)
        };
        let record = EpochRecord {
            epoch: epoch + 1,
            lr,
            train_loss: loss_sum / seen_batches.max(1) as f64,
            accuracy,
            mae,
            seconds: start.elapsed().as_secs_f64(),
            images_per_second: seen_images as f64 / train_seconds.max(1e-9),
        };
        progress.end_epoch(&record, epochs);
        trained_seconds += train_seconds;
        trained_images += seen_images;
        state.records.push(record);
        state.epochs_done = epoch + 1;
        metrics::write_csv(&dir.join("metrics.csv"), &state.records)?;
        state = checkpoint::save(dir, &model, &optimizer, state)?;
    }
    progress.finish();
    if state.epochs_done == epochs {
        let model_path = dir.join("model.bpk");
        model
            .clone()
            .into_record()
            .save(&model_path)
            .map_err(|e| TrainError::Checkpoint {
                path: model_path.clone(),
                message: e.to_string(),
            })?;
        if let Err(e) =
            plot::training_curves(&dir.join("curves.svg"), &config.name, seed, &state.records)
        {
            progress.message(&format!("warning: {e}"));
        }
    }
    let (accuracy, mae) = metrics::final_metrics(&state.records);
    Ok(SeedResult {
        seed,
        accuracy,
        mae,
        images_per_second: trained_images as f64 / trained_seconds.max(1e-9),
        seconds: state.records.iter().map(|r| r.seconds).sum(),
        dir: dir.to_path_buf(),
    })
}
