//! Using a finished run: evaluate it again, or predict classes / values for image files.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use burn::data::dataloader::batcher::Batcher;
use burn::data::dataset::Dataset;
use burn::module::Module;
use burn::tensor::Device;
use hpn_data::{Augmentation, AugmentedDataset, ImageBatcher, ImageSet};
use hpn_models::Model;

use crate::checkpoint::load_model;
use crate::collapse::Collapse;
use crate::config::ExperimentConfig;
use crate::data;
use crate::error::TrainError;
use crate::experiment::SavedHead;
use crate::head::{Head, Prediction};
use crate::open_set::OpenSetReport;
use crate::train::{build_model, check_collapse, evaluate, metrics_of};

/// A trained run, loaded for inference.
pub struct LoadedRun {
    /// The config the run was trained with (its `config.toml`).
    pub config: ExperimentConfig,
    /// What `head.json` records: classes, input shape, bounds, prototypes file.
    pub saved: SavedHead,
    /// The head rebuilt from it, on the device the run was loaded on.
    pub head: Head,
    /// The trained network (inference copy).
    pub model: Model,
    /// Open-set runs: the seed's report, whose threshold `predict_images` applies.
    pub open_set: Option<OpenSetReport>,
    /// The seed directory the model came from.
    pub seed_dir: PathBuf,
}

/// The seed directories of a run that hold a finished model, in seed order.
pub fn finished_seeds(run_dir: &Path) -> Result<Vec<PathBuf>, TrainError> {
    let entries = std::fs::read_dir(run_dir).map_err(|e| TrainError::io("read", run_dir, e))?;
    let mut dirs: Vec<(u64, PathBuf)> = entries
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            let name = e.file_name().to_string_lossy().to_string();
            let seed = name.strip_prefix("seed-")?.parse().ok()?;
            e.path()
                .join("model.bpk")
                .exists()
                .then(|| (seed, e.path()))
        })
        .collect();
    dirs.sort();
    Ok(dirs.into_iter().map(|(_, p)| p).collect())
}

/// Loads the config, head and the model of `seed_dir` (default: the first finished seed).
pub fn load_run(
    run_dir: &Path,
    seed_dir: Option<&Path>,
    device: &Device,
) -> Result<LoadedRun, TrainError> {
    let config = ExperimentConfig::load(&run_dir.join("config.toml"))?;
    let saved = SavedHead::load(run_dir)?;
    let head = saved.head(&config, run_dir, device)?;
    let seed_dir = match seed_dir {
        Some(d) => d.to_path_buf(),
        None => finished_seeds(run_dir)?
            .into_iter()
            .next()
            .ok_or_else(|| TrainError::Run {
                path: run_dir.to_path_buf(),
                message:
                    "no seed directory holds a finished model (seed-*/model.bpk); train it first"
                        .into(),
            })?,
    };
    let model = build_model(&config, saved.output_width, saved.image_shape.0, device)?;
    let model = load_model(model, &seed_dir.join("model.bpk"))?.valid();
    let open_set = OpenSetReport::load(&seed_dir)?;
    Ok(LoadedRun {
        open_set,
        config,
        saved,
        head,
        model,
        seed_dir,
    })
}

/// A finished seed, evaluated again.
#[derive(Clone, Debug, PartialEq)]
pub struct SeedEvaluation {
    /// The seed directory.
    pub dir: PathBuf,
    /// Accuracy (%) on the evaluation set, when the task has classes.
    pub accuracy: Option<f64>,
    /// Mean absolute error, when the task has a regression target.
    pub mae: Option<f64>,
    /// Open-set runs: threshold and AUROC computed again.
    pub open_set: Option<OpenSetReport>,
    /// Signs that the seed did not train, checked again (empty for a trained seed).
    pub collapse: Vec<Collapse>,
}

/// Accuracy (%) and MAE of every finished seed of a run, re-evaluated on its evaluation set.
/// Decoded images are cached beside the run directory (`<run>/../.cache`), as training did
/// with the default `--out`.
pub fn evaluate_run(run_dir: &Path, device: &Device) -> Result<Vec<SeedEvaluation>, TrainError> {
    let mut out = Vec::new();
    let seeds = finished_seeds(run_dir)?;
    if seeds.is_empty() {
        return Err(TrainError::Run {
            path: run_dir.to_path_buf(),
            message: "no seed directory holds a finished model (seed-*/model.bpk)".into(),
        });
    }
    let mut prepared = None;
    for dir in seeds {
        let run = load_run(run_dir, Some(&dir), device)?;
        let data = match &prepared {
            Some(d) => d,
            None => prepared.insert(data::prepare(&run.config, &cache_root(run_dir))?),
        };
        let (_, eval) = data::datasets(&run.config, data, 0);
        let score = evaluate(
            &run.model,
            &run.head,
            eval,
            run.config.training.eval_batch_size,
            run.config.training.workers,
            device,
        )?;
        let (accuracy, mae) = metrics_of(&score, &run.head);
        let collapse = check_collapse(&score, &run.head, data).signs;
        let open_set = crate::open_set::evaluate(&run.model, &run.head, &run.config, data, device)?;
        out.push(SeedEvaluation {
            dir,
            accuracy,
            mae,
            open_set,
            collapse,
        });
    }
    Ok(out)
}

/// The decoded-image cache folder of the runs beside `run_dir`.
fn cache_root(run_dir: &Path) -> PathBuf {
    run_dir
        .parent()
        .map_or_else(|| PathBuf::from(".cache"), |p| p.join(".cache"))
}

/// Decodes an image file into the channel-first u8 layout of the run's inputs.
fn decode(path: &Path, (c, h, w): (usize, usize, usize)) -> Result<Vec<u8>, TrainError> {
    let img = image::open(path).map_err(|e| TrainError::Image {
        path: path.to_path_buf(),
        message: e.to_string(),
    })?;
    let img = img.resize_exact(w as u32, h as u32, image::imageops::FilterType::Triangle);
    Ok(match c {
        1 => img.to_luma8().into_raw(),
        3 => {
            let rgb = img.to_rgb8();
            let mut out = vec![0u8; 3 * h * w];
            for (i, px) in rgb.pixels().enumerate() {
                for ch in 0..3 {
                    out[ch * h * w + i] = px[ch];
                }
            }
            out
        }
        other => {
            return Err(TrainError::Image {
                path: path.to_path_buf(),
                message: format!("the model expects {other} channels; only 1 and 3 are supported"),
            });
        }
    })
}

/// Predicts a class (with its cosine or probability) and/or a value for each image file.
pub fn predict_images(
    run: &LoadedRun,
    images: &[PathBuf],
    device: &Device,
) -> Result<Vec<Prediction>, TrainError> {
    let shape = run.saved.image_shape;
    let mut pixels = Vec::new();
    for path in images {
        pixels.extend(decode(path, shape)?);
    }
    let set = ImageSet::new(
        pixels,
        shape.0,
        shape.1,
        shape.2,
        vec![0; images.len()],
        None,
        run.saved.class_names.clone(),
    )?;
    let norm = run.config.dataset.normalization.for_channels(shape.0);
    let dataset = AugmentedDataset::new(Arc::new(set), Augmentation::None, norm, 0);
    let items = (0..dataset.len())
        .map(|i| dataset.get(i))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| TrainError::Run {
            path: run.seed_dir.clone(),
            message: format!("preparing the images: {e}"),
        })?;
    let batch = ImageBatcher.batch(items, device);
    let z = run.model.forward(batch.images);
    let mut predictions = run.head.predict(z);
    if let Some(open) = &run.open_set {
        for p in &mut predictions {
            p.known = p.class.map(|(_, score)| score >= open.threshold);
        }
    }
    Ok(predictions)
}

/// The network outputs on the evaluation set of a loaded run, with the labels and targets.
pub struct EvalOutputs {
    /// Output rows (N, width), row-major.
    pub outputs: Vec<f32>,
    /// Width of each row.
    pub width: usize,
    /// Class label of each row.
    pub labels: Vec<usize>,
    /// Regression target of each row (0 where the set has none).
    pub targets: Vec<f32>,
}

/// Runs the model of `run` (trained in `run_dir`) over its evaluation set and keeps every
/// output row.
pub fn eval_outputs(
    run: &LoadedRun,
    run_dir: &Path,
    device: &Device,
) -> Result<EvalOutputs, TrainError> {
    let data = data::prepare(&run.config, &cache_root(run_dir))?;
    let (_, eval) = data::datasets(&run.config, &data, 0);
    let mut out = EvalOutputs {
        outputs: Vec::new(),
        width: run.saved.output_width,
        labels: data.eval.labels().to_vec(),
        targets: data
            .eval
            .targets()
            .map(|t| t.to_vec())
            .unwrap_or_else(|| vec![0.0; data.eval.len()]),
    };
    let batch_size = run.config.training.eval_batch_size;
    let indices: Vec<usize> = (0..eval.len()).collect();
    for chunk in indices.chunks(batch_size) {
        let items = chunk
            .iter()
            .map(|&i| eval.get(i))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| TrainError::Run {
                path: run.seed_dir.clone(),
                message: format!("reading the evaluation set: {e}"),
            })?;
        let batch = ImageBatcher.batch(items, device);
        let z = run.model.forward(batch.images);
        out.outputs.extend(z.into_data().iter::<f32>());
    }
    Ok(out)
}
