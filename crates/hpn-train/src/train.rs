//! The training loop of one seed: forward, loss against the fixed prototypes, backward, SGD
//! with momentum and weight decay, multi-step learning rate, evaluation, metrics, checkpoints.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use burn::module::Module;
use burn::optim::decay::WeightDecayConfig;
use burn::optim::momentum::MomentumConfig;
use burn::optim::{GradientsParams, ModuleOptimizer, SgdConfig};
use burn::tensor::{Device, Int, Tensor};
use hpn_data::AugmentedDataset;
use hpn_models::Model;

use crate::checkpoint::{self, RunState};
use crate::collapse::{Collapse, CollapseCheck, constant_guess_mae};
use crate::config::ExperimentConfig;
use crate::data::PreparedData;
use crate::error::TrainError;
use crate::fsutil::create_dir;
use crate::head::{BatchScore, Head};
use crate::incremental::{FirstPhase, IncrementalReport};
use crate::metrics::{self, EpochRecord};
use crate::plot;
use crate::progress::Progress;

/// What one finished seed reports.
#[derive(Clone, Debug, PartialEq)]
pub struct SeedResult {
    /// The training seed.
    pub seed: u64,
    /// Final accuracy (%) on the evaluation set, when the task has classes.
    pub accuracy: Option<f64>,
    /// Final mean absolute error, when the task has a regression target.
    pub mae: Option<f64>,
    /// Mean training throughput over all epochs of the seed (resumed ones included).
    pub images_per_second: f64,
    /// Wall-clock seconds of all epochs.
    pub seconds: f64,
    /// Open-set AUROC of known against unknown test images, when the experiment has one.
    pub auroc: Option<f64>,
    /// Class-incremental second phase: accuracy on the old and on the new classes.
    pub incremental: Option<IncrementalReport>,
    /// Signs that the seed did not train (empty for a trained seed).
    pub collapse: Vec<Collapse>,
    /// The seed's directory.
    pub dir: PathBuf,
}

/// How one seed is run.
#[derive(Clone, Debug)]
pub struct SeedOptions {
    /// Continue from the checkpoint in the seed directory, if there is one.
    pub resume: bool,
    /// Checked after every epoch; once true, the seed stops with its checkpoint written.
    pub stop: Option<Arc<AtomicBool>>,
    /// No progress bar (tests, scripts).
    pub quiet: bool,
}

/// The network of `config` with `width` outputs and `in_channels` input channels on `device`.
pub fn build_model(
    config: &ExperimentConfig,
    width: usize,
    in_channels: usize,
    device: &Device,
) -> Result<Model, TrainError> {
    Ok(config
        .model
        .clone()
        .with_outputs(width)
        .with_in_channels(in_channels)
        .init(device)?)
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

/// Evaluates `model` (inference copy) on `dataset`. Predictions, labels and targets stay on the
/// device until the last batch and come back in one read each, so a GPU queue is not stalled
/// once per batch.
pub fn evaluate(
    model: &Model,
    head: &Head,
    dataset: AugmentedDataset,
    batch_size: usize,
    workers: usize,
    device: &Device,
) -> Result<BatchScore, TrainError> {
    let loader = hpn_data::loader(dataset, batch_size, None, workers, device);
    let (mut classes, mut values) = (Vec::new(), Vec::new());
    let (mut labels, mut targets) = (Vec::new(), Vec::new());
    for batch in loader.iter() {
        let batch = batch.map_err(|e| TrainError::Run {
            path: PathBuf::from("<evaluation set>"),
            message: e.to_string(),
        })?;
        let z = model.forward(batch.images);
        if let Some((predicted, _)) = head.predicted_classes(&z) {
            classes.push(predicted);
        }
        if let Some(v) = head.predicted_values(&z) {
            values.push(v);
        }
        labels.push(batch.labels);
        targets.push(batch.targets);
    }
    if labels.is_empty() {
        return Ok(BatchScore::default());
    }
    let ints = |parts: Vec<Tensor<1, Int>>| -> Vec<i64> {
        Tensor::cat(parts, 0).into_data().iter::<i64>().collect()
    };
    let floats = |parts: Vec<Tensor<1>>| -> Vec<f32> {
        Tensor::cat(parts, 0).into_data().iter::<f32>().collect()
    };
    let classes = (!classes.is_empty()).then(|| ints(classes));
    let values = (!values.is_empty()).then(|| floats(values));
    Ok(BatchScore::of_predictions(
        classes.as_deref().zip(head.classes()),
        values.as_deref(),
        &ints(labels),
        &floats(targets),
    ))
}

/// Accuracy (%) and MAE of a score, as far as `head` reads classes and values.
pub fn metrics_of(score: &BatchScore, head: &Head) -> (Option<f64>, Option<f64>) {
    let n = score.count.max(1) as f64;
    (
        head.has_classes().then(|| 100.0 * score.correct as f64 / n),
        head.has_values().then(|| score.abs_error / n),
    )
}

/// Training batches whose losses are read back to the host together (for the progress bar, the
/// divergence check and the epoch's mean loss).
const LOSS_READ_EVERY: usize = 8;

/// The training losses of an epoch read back so far.
#[derive(Default)]
struct LossTally {
    /// Sum of the batch losses, in batch order.
    sum: f64,
    /// Batches read.
    batches: usize,
    /// The last batch loss read.
    last: f64,
}

impl LossTally {
    /// Reads a run of batch losses (one element each) back in one transfer; a non-finite one is
    /// [`TrainError::Diverged`], naming its batch.
    fn read(&mut self, pending: Vec<Tensor<1>>, epoch: usize) -> Result<(), TrainError> {
        let values: Vec<f32> = Tensor::cat(pending, 0).into_data().iter::<f32>().collect();
        for value in values {
            if !value.is_finite() {
                return Err(TrainError::Diverged {
                    epoch: epoch + 1,
                    batch: self.batches,
                    value,
                });
            }
            self.sum += f64::from(value);
            self.batches += 1;
            self.last = f64::from(value);
        }
        Ok(())
    }
}

/// The collapse check of a final evaluation `score` on the evaluation set of `data`.
pub(crate) fn check_collapse(
    score: &BatchScore,
    head: &Head,
    data: &PreparedData,
) -> CollapseCheck {
    let constant = if head.has_values() {
        data.eval.targets().and_then(constant_guess_mae)
    } else {
        None
    };
    CollapseCheck::of(score, head.classes(), constant)
}

/// Mean training throughput (images/s) of the epochs recorded so far; 0 before the first.
fn mean_throughput(records: &[EpochRecord]) -> f64 {
    if records.is_empty() {
        return 0.0;
    }
    records.iter().map(|r| r.images_per_second).sum::<f64>() / records.len() as f64
}

/// Trains one seed in `dir` and returns its final metrics. A class-incremental second phase
/// starts from the `first` phase's weights of the same seed (unless it resumes its own
/// checkpoint).
#[allow(clippy::too_many_arguments)]
pub(crate) fn train_seed(
    config: &ExperimentConfig,
    data: &PreparedData,
    head: &Head,
    seed: u64,
    dir: &Path,
    first: Option<&FirstPhase>,
    options: &SeedOptions,
    device: &Device,
) -> Result<SeedResult, TrainError> {
    create_dir(dir)?;
    let epochs = config.training.epochs;
    let ad = if config.training.gradient_checkpointing {
        device.clone().autodiff().gradient_checkpointing()
    } else {
        device.clone().autodiff()
    };
    device.seed(seed);
    ad.seed(seed);
    let (channels, _, _) = data.image_shape();
    let mut model = build_model(config, head.width(), channels, &ad)?;
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
    } else {
        if RunState::load(dir)?.is_some() {
            progress.message(&format!(
                "{} holds an earlier run; starting again (use --resume to continue it)",
                dir.display()
            ));
            // The earlier finished model must not stand in for this run until it finishes.
            for file in ["model.bpk", crate::incremental::INCREMENTAL_FILE] {
                let old = dir.join(file);
                if old.exists() {
                    std::fs::remove_file(&old)
                        .map_err(|e| TrainError::io("remove the earlier result", &old, e))?;
                }
            }
        }
        if let Some(first) = first {
            model = first.start_model(model, seed, &ad)?;
        }
    }
    let (train_set, eval_set) = crate::data::datasets(config, data, seed);
    let batch_size = config.training.batch_size;
    let stop_requested = || {
        options
            .stop
            .as_ref()
            .is_some_and(|flag| flag.load(Ordering::SeqCst))
    };
    for epoch in state.epochs_done..epochs {
        let start = Instant::now();
        let lr = config.optimizer.learning_rate_at(epoch);
        let loader = hpn_data::epoch_loader(
            &train_set,
            epoch,
            batch_size,
            Some(seed),
            config.training.workers,
            &ad,
        );
        progress.start_epoch(epoch + 1, epochs, loader.len());
        // Batch losses stay on the device and are read back LOSS_READ_EVERY at a time (and at
        // the end of the epoch), in batch order, so the epoch's loss is the same f64 sum of
        // the same f32 values however often they are read.
        let mut pending: Vec<Tensor<1>> = Vec::with_capacity(LOSS_READ_EVERY);
        let mut losses = LossTally::default();
        let mut seen_images = 0usize;
        for (b, batch) in loader.iter().enumerate() {
            let batch = batch.map_err(|e| TrainError::Run {
                path: dir.to_path_buf(),
                message: format!("reading training batch {b}: {e}"),
            })?;
            let n = batch.images.dims()[0];
            let z = model.forward(batch.images);
            let loss = head.loss(z, batch.labels, batch.targets);
            pending.push(loss.clone().detach().reshape([1]));
            let grads = GradientsParams::from_grads(loss.backward(), &model);
            model = optimizer.step(lr, model, grads);
            seen_images += n;
            if pending.len() == LOSS_READ_EVERY {
                losses.read(std::mem::take(&mut pending), epoch)?;
                let elapsed = start.elapsed().as_secs_f64().max(1e-9);
                progress.batches(
                    LOSS_READ_EVERY,
                    losses.last,
                    lr,
                    seen_images as f64 / elapsed,
                );
            }
        }
        if !pending.is_empty() {
            let count = pending.len();
            losses.read(pending, epoch)?;
            let elapsed = start.elapsed().as_secs_f64().max(1e-9);
            progress.batches(count, losses.last, lr, seen_images as f64 / elapsed);
        }
        let train_seconds = start.elapsed().as_secs_f64();
        let last = epoch + 1 == epochs;
        let (accuracy, mae) = if (epoch + 1) % config.training.eval_every == 0 || last {
            let score = evaluate(
                &model.valid(),
                head,
                eval_set.clone(),
                config.training.eval_batch_size,
                config.training.workers,
                device,
            )?;
            let metrics = metrics_of(&score, head);
            if last {
                check_collapse(&score, head, data).write(dir)?;
            }
            metrics
        } else {
            (None, None)
        };
        let record = EpochRecord {
            epoch: epoch + 1,
            lr,
            train_loss: losses.sum / losses.batches.max(1) as f64,
            accuracy,
            mae,
            seconds: start.elapsed().as_secs_f64(),
            images_per_second: seen_images as f64 / train_seconds.max(1e-9),
        };
        progress.end_epoch(&record, epochs);
        state.records.push(record);
        state.epochs_done = epoch + 1;
        metrics::write_csv(&dir.join("metrics.csv"), &state.records)?;
        state = checkpoint::save(dir, &model, &optimizer, state)?;
        if state.epochs_done < epochs && stop_requested() {
            progress.finish();
            return Err(TrainError::Stopped {
                seed,
                epochs_done: state.epochs_done,
            });
        }
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
    let open_set = if state.epochs_done == epochs && config.open_set.is_some() {
        let report = crate::open_set::evaluate(&model.valid(), head, config, data, device)?;
        if let Some(r) = &report {
            r.write(dir)?;
            progress.message(&format!(
                "open set: AUROC {:.4}, threshold {:.4} accepts {:.1} % of known and rejects {:.1} % of unknown test images",
                r.auroc,
                r.threshold,
                100.0 * r.known_accepted,
                100.0 * r.unknown_rejected
            ));
        }
        report
    } else {
        None
    };
    let incremental = match (first, config.incremental.as_ref()) {
        (Some(first), Some(inc)) if state.epochs_done == epochs => {
            let report = match IncrementalReport::load(dir)? {
                Some(report) => report,
                None => {
                    let score = evaluate(
                        &model.valid(),
                        head,
                        eval_set.clone(),
                        config.training.eval_batch_size,
                        config.training.workers,
                        device,
                    )?;
                    let report = IncrementalReport::of(
                        &score,
                        inc.old_classes,
                        first.accuracy_of_seed(seed)?,
                    )?;
                    report.write(dir)?;
                    report
                }
            };
            progress.message(&format!(
                "classes 0..{} (old): {:.2} %, {}..{} (new): {:.2} %, all: {:.2} %{}",
                report.old_classes,
                report.old_accuracy,
                report.old_classes,
                report.classes,
                report.new_accuracy,
                report.all_accuracy,
                report
                    .first_phase_accuracy
                    .map(|a| format!(" (old classes after the first phase: {a:.2} %)"))
                    .unwrap_or_default()
            ));
            Some(report)
        }
        _ => None,
    };
    // A seed finished by an earlier process was checked then; one finished before the check
    // existed is evaluated once more.
    let collapse = if state.epochs_done == epochs {
        match CollapseCheck::load(dir)? {
            Some(check) => check.signs,
            None => {
                let score = evaluate(
                    &model.valid(),
                    head,
                    eval_set.clone(),
                    config.training.eval_batch_size,
                    config.training.workers,
                    device,
                )?;
                let check = check_collapse(&score, head, data);
                check.write(dir)?;
                check.signs
            }
        }
    } else {
        Vec::new()
    };
    for sign in &collapse {
        progress.message(&format!("seed {seed} collapsed: {sign}"));
    }
    let (accuracy, mae) = metrics::final_metrics(&state.records);
    Ok(SeedResult {
        collapse,
        seed,
        accuracy,
        mae,
        // Over every epoch of the seed, those of earlier processes (resumed runs) included.
        images_per_second: mean_throughput(&state.records),
        auroc: open_set.map(|r| r.auroc),
        incremental,
        seconds: state.records.iter().map(|r| r.seconds).sum(),
        dir: dir.to_path_buf(),
    })
}
