//! Open-set evaluation: is an input from one of the known classes at all? The score of an
//! input is that of its predicted class (the cosine to the nearest prototype for HPN, Eq. 3;
//! the largest softmax probability for the cross-entropy baseline). A threshold chosen on
//! known-class images held out of training flags inputs below it as unknown, and the AUROC of
//! known against unknown test images measures how well the score separates them at every
//! threshold.

use std::path::Path;

use burn::tensor::Device;
use hpn_models::Model;
use serde::{Deserialize, Serialize};

use crate::config::ExperimentConfig;
use crate::data::{self, PreparedData};
use crate::error::TrainError;
use crate::fsutil::{read_json_if_present, write_atomic};
use crate::head::Head;

/// Name of the open-set report in a seed directory.
pub const OPEN_SET_FILE: &str = "open_set.json";

/// What the open-set evaluation of one trained seed found (`seed-<s>/open_set.json`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct OpenSetReport {
    /// Inputs whose score is below this are flagged unknown.
    pub threshold: f32,
    /// Area under the ROC curve of known (positive) against unknown test images by score:
    /// the probability that a random known image scores above a random unknown one, ties
    /// counted half (Mann-Whitney U / (n_known n_unknown)).
    pub auroc: f64,
    /// Fraction of known test images accepted at the threshold.
    pub known_accepted: f64,
    /// Fraction of unknown test images flagged unknown at the threshold.
    pub unknown_rejected: f64,
    /// Known and unknown test images scored.
    pub counts: (usize, usize),
}

impl OpenSetReport {
    /// Reads `open_set.json` of a seed directory, if there is one.
    pub fn load(seed_dir: &Path) -> Result<Option<Self>, TrainError> {
        read_json_if_present(&seed_dir.join(OPEN_SET_FILE), "an open-set report")
    }

    pub(crate) fn write(&self, seed_dir: &Path) -> Result<(), TrainError> {
        let json = serde_json::to_string_pretty(self).map_err(|e| TrainError::Run {
            path: seed_dir.to_path_buf(),
            message: e.to_string(),
        })?;
        write_atomic(&seed_dir.join(OPEN_SET_FILE), json.as_bytes())
    }
}

/// AUROC of `known` (positives) against `unknown` (negatives): the fraction of (known,
/// unknown) pairs in which the known score is higher, ties counted half. Computed from the
/// ranks of the pooled scores (average ranks for ties) in O(n log n). `None` when either side
/// is empty.
pub fn auroc(known: &[f32], unknown: &[f32]) -> Option<f64> {
    if known.is_empty() || unknown.is_empty() {
        return None;
    }
    let mut pooled: Vec<(f32, bool)> = known
        .iter()
        .map(|&s| (s, true))
        .chain(unknown.iter().map(|&s| (s, false)))
        .collect();
    pooled.sort_by(|a, b| a.0.total_cmp(&b.0));
    let mut known_rank_sum = 0.0f64;
    let mut i = 0;
    while i < pooled.len() {
        let mut j = i;
        while j + 1 < pooled.len() && pooled[j + 1].0 == pooled[i].0 {
            j += 1;
        }
        // Ranks i+1 ..= j+1 share their average.
        let rank = (i + j + 2) as f64 / 2.0;
        known_rank_sum += rank * pooled[i..=j].iter().filter(|p| p.1).count() as f64;
        i = j + 1;
    }
    let (p, n) = (known.len() as f64, unknown.len() as f64);
    Some((known_rank_sum - p * (p + 1.0) / 2.0) / (p * n))
}

/// The threshold that accepts (score >= threshold) at least `accepted` of `scores`: the
/// score at index floor((1 - accepted) n) of the sorted scores. `None` for no scores.
pub fn threshold_accepting(scores: &[f32], accepted: f32) -> Option<f32> {
    if scores.is_empty() {
        return None;
    }
    let mut sorted = scores.to_vec();
    sorted.sort_by(f32::total_cmp);
    let index =
        (((1.0 - accepted as f64) * sorted.len() as f64).floor() as usize).min(sorted.len() - 1);
    Some(sorted[index])
}

/// The predicted-class score of every image of `set`, in order.
fn scores(
    model: &Model,
    head: &Head,
    dataset: hpn_data::AugmentedDataset,
    config: &ExperimentConfig,
    device: &Device,
) -> Result<Vec<f32>, TrainError> {
    let loader = hpn_data::loader(
        dataset,
        config.training.eval_batch_size,
        None,
        config.training.workers,
        device,
    );
    let mut out = Vec::new();
    for batch in loader.iter() {
        let batch = batch?;
        let z = model.forward(batch.images);
        if let Some(best) = head.best_scores(&z) {
            out.extend(best.into_data().iter::<f32>());
        }
    }
    Ok(out)
}

/// The open-set report of a trained `model` (inference copy), or `None` when the experiment has
/// no `[open_set]`.
pub(crate) fn evaluate(
    model: &Model,
    head: &Head,
    config: &ExperimentConfig,
    data: &PreparedData,
    device: &Device,
) -> Result<Option<OpenSetReport>, TrainError> {
    let (Some(open), Some(calibration), Some(unknown)) =
        (&config.open_set, &data.calibration, &data.unknown)
    else {
        return Ok(None);
    };
    let run = |set| scores(model, head, data::plain(config, set), config, device);
    let calibration = run(calibration.clone())?;
    let known = run(data.eval.clone())?;
    let unknown = run(unknown.clone())?;
    let missing = |what: &str| TrainError::Run {
        path: "<open set>".into(),
        message: format!("no {what} images to score"),
    };
    let threshold = threshold_accepting(&calibration, open.known_accepted)
        .ok_or_else(|| missing("calibration"))?;
    let auroc = auroc(&known, &unknown).ok_or_else(|| missing("known or unknown test"))?;
    let share = |v: &[f32], keep: fn(f32, f32) -> bool| {
        v.iter().filter(|&&s| keep(s, threshold)).count() as f64 / v.len() as f64
    };
    Ok(Some(OpenSetReport {
        threshold,
        auroc,
        known_accepted: share(&known, |s, t| s >= t),
        unknown_rejected: share(&unknown, |s, t| s < t),
        counts: (known.len(), unknown.len()),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::tensor::{Tensor, TensorData};
    use hpn_prototypes::{OutputLayout, Prototypes};

    /// Two prototypes e_0, e_1 on S^2 (a hand-built layout): outputs near them score about 1
    /// (known), outputs along e_2 score 0 (orthogonal to both: from no known class).
    #[test]
    fn inputs_far_from_every_prototype_are_flagged_unknown() {
        let device = Device::flex();
        let prototypes = Prototypes::new(vec![1.0, 0.0, 0.0, 0.0, 1.0, 0.0], 2, 3).unwrap();
        let layout = OutputLayout::classification(prototypes);
        let mut config = ExperimentConfig::default();
        config.prototypes.dims = 3;
        let head = Head::new(&config, Some(&layout), 2, None, &device).unwrap();
        let z = Tensor::<2>::from_data(
            TensorData::new(
                vec![
                    2.0, 0.1, 0.0, // known, class 0
                    0.2, 3.0, 0.1, // known, class 1
                    0.0, 0.0, 1.0, // unknown: along e_2
                    0.1, -0.1, 2.0, // unknown: nearly along e_2
                ],
                [4, 3],
            ),
            &device,
        );
        let scores: Vec<f32> = head.best_scores(&z).unwrap().into_data().iter().collect();
        assert!(scores[0] > 0.99 && scores[1] > 0.99, "{scores:?}");
        assert!(scores[2].abs() < 1e-6 && scores[3] < 0.1, "{scores:?}");
        let threshold = threshold_accepting(&scores[..2], 1.0).unwrap();
        assert!(scores[2] < threshold && scores[3] < threshold);
        assert_eq!(auroc(&scores[..2], &scores[2..]), Some(1.0));
        let predictions = head.predict(z);
        assert_eq!(predictions[0].class.map(|c| c.0), Some(0));
        assert_eq!(predictions[1].class.map(|c| c.0), Some(1));
    }

    #[test]
    fn auroc_by_hand() {
        // Every known above every unknown: 1; every known below: 0.
        assert_eq!(auroc(&[0.9, 0.8], &[0.1, 0.2, 0.3]), Some(1.0));
        assert_eq!(auroc(&[0.1], &[0.5, 0.6]), Some(0.0));
        // Known {0.2, 0.6}, unknown {0.4}: pairs (0.2 < 0.4), (0.6 > 0.4) -> 1/2.
        assert_eq!(auroc(&[0.2, 0.6], &[0.4]), Some(0.5));
        // A tie counts half: known {0.5, 0.7}, unknown {0.5, 0.1}: pairs 0.5~0.5 (1/2),
        // 0.5>0.1, 0.7>0.5, 0.7>0.1 -> 3.5 / 4.
        assert_eq!(auroc(&[0.5, 0.7], &[0.5, 0.1]), Some(0.875));
        assert_eq!(auroc(&[], &[0.1]), None);
    }

    #[test]
    fn auroc_matches_counting_pairs() {
        let known: Vec<f32> = (0..37).map(|i| ((i * 7919) % 101) as f32 / 10.0).collect();
        let unknown: Vec<f32> = (0..23)
            .map(|i| ((i * 104_729) % 89) as f32 / 12.0)
            .collect();
        let mut wins = 0.0;
        for &k in &known {
            for &u in &unknown {
                wins += if k > u {
                    1.0
                } else if k == u {
                    0.5
                } else {
                    0.0
                };
            }
        }
        let expected = wins / (known.len() * unknown.len()) as f64;
        assert!((auroc(&known, &unknown).unwrap() - expected).abs() < 1e-12);
    }

    #[test]
    fn threshold_accepts_the_asked_fraction() {
        let scores: Vec<f32> = (1..=20).map(|i| i as f32).collect();
        // Accept 95 % of 20: the lowest one rejected, threshold 2.
        assert_eq!(threshold_accepting(&scores, 0.95), Some(2.0));
        assert_eq!(threshold_accepting(&scores, 1.0), Some(1.0));
        assert_eq!(threshold_accepting(&scores, 0.5), Some(11.0));
        let accepted = scores.iter().filter(|&&s| s >= 11.0).count();
        assert_eq!(accepted, 10);
        assert_eq!(threshold_accepting(&[], 0.9), None);
    }
}
