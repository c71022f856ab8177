//! Runs that did not train: a network that gives (nearly) every test image one class, scores
//! near chance, or predicts no better than a constant. Such a seed is marked, kept out of the
//! means of `summary.json`, and counted on its own by the reproduction's verdicts, so that it is
//! never read as evidence about the method.
//!
//! The bars: a seed is collapsed when at least [`ONE_CLASS_FRACTION`] of its evaluation images
//! get the same predicted class, when its accuracy is below [`CHANCE_FACTOR`] times chance
//! (100 / K %), or when its MAE is at least `1 -` [`CONSTANT_GUESS_MARGIN`] times the MAE of
//! the best constant guess (the median of the evaluation targets).

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::error::TrainError;
use crate::fsutil::{read_json_if_present, write_atomic};
use crate::head::BatchScore;

/// Fraction of evaluation images in one predicted class from which a seed counts as collapsed.
pub const ONE_CLASS_FRACTION: f64 = 0.9;
/// A seed whose accuracy is below this many times chance counts as collapsed.
pub const CHANCE_FACTOR: f64 = 1.5;
/// A seed whose MAE is within this fraction of the constant guess's counts as collapsed.
pub const CONSTANT_GUESS_MARGIN: f64 = 0.05;

/// The file of a seed directory that records its check.
pub const COLLAPSE_FILE: &str = "collapse.json";

/// One sign that a seed did not train.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Collapse {
    /// `fraction` of the evaluation images were given class `class`.
    OneClass {
        /// The predicted class most images got.
        class: usize,
        /// Its share of the evaluation images, in [0, 1].
        fraction: f64,
    },
    /// Accuracy (%) below [`CHANCE_FACTOR`] times chance (%).
    NearChance {
        /// The seed's accuracy (%).
        accuracy: f64,
        /// 100 / K (%).
        chance: f64,
    },
    /// MAE within [`CONSTANT_GUESS_MARGIN`] of the best constant guess's.
    ConstantGuess {
        /// The seed's MAE.
        mae: f64,
        /// The MAE of predicting the median evaluation target for every image.
        constant_mae: f64,
    },
}

impl std::fmt::Display for Collapse {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Collapse::OneClass { class, fraction } => write!(
                f,
                "{:.0} % of test images given class {class}",
                100.0 * fraction
            ),
            Collapse::NearChance { accuracy, chance } => {
                write!(f, "accuracy {accuracy:.2} % against chance {chance:.2} %")
            }
            Collapse::ConstantGuess { mae, constant_mae } => write!(
                f,
                "MAE {mae:.2} against {constant_mae:.2} for a constant guess"
            ),
        }
    }
}

/// What the check of one finished seed found, as `seed-<s>/collapse.json` keeps it.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct CollapseCheck {
    /// Share of the evaluation images in the most frequent predicted class.
    pub largest_class_fraction: Option<f64>,
    /// MAE of predicting the median evaluation target for every image.
    pub constant_mae: Option<f64>,
    /// Every sign of collapse found; empty for a trained seed.
    pub signs: Vec<Collapse>,
}

impl CollapseCheck {
    /// Checks the final evaluation `score` of a seed. `classes` is K for tasks with classes,
    /// `constant_mae` the constant guess's MAE for tasks with a regression target
    /// ([`constant_guess_mae`]).
    pub fn of(score: &BatchScore, classes: Option<usize>, constant_mae: Option<f64>) -> Self {
        let mut check = CollapseCheck {
            constant_mae,
            ..CollapseCheck::default()
        };
        let n = score.count.max(1) as f64;
        if let Some(k) = classes.filter(|k| *k > 0) {
            if let Some((class, &count)) = score
                .predicted_counts
                .iter()
                .enumerate()
                .max_by_key(|(c, n)| (**n, std::cmp::Reverse(*c)))
            {
                let fraction = count as f64 / n;
                check.largest_class_fraction = Some(fraction);
                if k > 1 && fraction >= ONE_CLASS_FRACTION {
                    check.signs.push(Collapse::OneClass { class, fraction });
                }
            }
            let accuracy = 100.0 * score.correct as f64 / n;
            let chance = 100.0 / k as f64;
            if k > 1 && accuracy < CHANCE_FACTOR * chance {
                check.signs.push(Collapse::NearChance { accuracy, chance });
            }
        }
        if let Some(constant_mae) = constant_mae.filter(|m| *m > 0.0) {
            let mae = score.abs_error / n;
            if mae >= (1.0 - CONSTANT_GUESS_MARGIN) * constant_mae {
                check
                    .signs
                    .push(Collapse::ConstantGuess { mae, constant_mae });
            }
        }
        check
    }

    /// Whether any sign of collapse was found.
    pub fn collapsed(&self) -> bool {
        !self.signs.is_empty()
    }

    /// Reads `dir/collapse.json`; `None` when the seed has not been checked.
    pub fn load(dir: &Path) -> Result<Option<Self>, TrainError> {
        read_json_if_present(&dir.join(COLLAPSE_FILE), "a collapse check")
    }

    /// Writes `dir/collapse.json`.
    pub fn write(&self, dir: &Path) -> Result<(), TrainError> {
        let json = serde_json::to_string_pretty(self).map_err(|e| TrainError::Run {
            path: dir.to_path_buf(),
            message: e.to_string(),
        })?;
        write_atomic(&dir.join(COLLAPSE_FILE), json.as_bytes())
    }
}

/// The MAE of the best constant guess under absolute error, mean |t - median(t)|; `None` for no
/// targets.
pub fn constant_guess_mae(targets: &[f32]) -> Option<f64> {
    if targets.is_empty() {
        return None;
    }
    let mut sorted: Vec<f64> = targets.iter().map(|&t| f64::from(t)).collect();
    sorted.sort_by(f64::total_cmp);
    let median = sorted[sorted.len() / 2];
    Some(sorted.iter().map(|t| (t - median).abs()).sum::<f64>() / sorted.len() as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn score(
        count: usize,
        correct: usize,
        predicted_counts: Vec<usize>,
        abs_error: f64,
    ) -> BatchScore {
        BatchScore {
            count,
            correct,
            abs_error,
            predicted_counts,
            ..BatchScore::default()
        }
    }

    #[test]
    fn a_trained_seed_shows_no_sign() {
        let s = score(100, 95, vec![10, 11, 9, 10, 10, 10, 10, 10, 10, 10], 0.0);
        let check = CollapseCheck::of(&s, Some(10), None);
        assert!(!check.collapsed(), "{check:?}");
        assert_eq!(check.largest_class_fraction, Some(0.11));
    }

    #[test]
    fn one_class_for_most_images_is_a_collapse() {
        // 91 of 100 images in class 3, accuracy 19 %: above 1.5 x chance, still collapsed.
        let s = score(100, 19, vec![1, 1, 1, 91, 1, 1, 1, 1, 1, 1], 0.0);
        let check = CollapseCheck::of(&s, Some(10), None);
        assert_eq!(
            check.signs,
            vec![Collapse::OneClass {
                class: 3,
                fraction: 0.91
            }]
        );
        // 89 % is below the bar.
        let s = score(100, 19, vec![2, 1, 1, 89, 1, 1, 1, 2, 1, 1], 0.0);
        assert!(!CollapseCheck::of(&s, Some(10), None).collapsed());
    }

    #[test]
    fn accuracy_below_one_and_a_half_chance_is_a_collapse() {
        // K = 10: chance 10 %, bar 15 %.
        let spread = vec![10; 10];
        let s = score(100, 14, spread.clone(), 0.0);
        assert_eq!(
            CollapseCheck::of(&s, Some(10), None).signs,
            vec![Collapse::NearChance {
                accuracy: 14.0,
                chance: 10.0
            }]
        );
        assert!(!CollapseCheck::of(&score(100, 15, spread, 0.0), Some(10), None).collapsed());
    }

    #[test]
    fn the_constant_guess_is_the_median_and_mae_near_it_is_a_collapse() {
        // The median of an even count is its upper middle, 20: (20 + 10 + 0 + 10) / 4 = 10.
        assert_eq!(constant_guess_mae(&[0.0, 10.0, 20.0, 30.0]), Some(10.0));
        assert_eq!(constant_guess_mae(&[0.0, 10.0, 20.0]), Some(20.0 / 3.0));
        assert_eq!(constant_guess_mae(&[]), None);
        // MAE 9.6 against a constant guess of 10: within 5 %.
        let near = score(10, 0, vec![], 96.0);
        assert_eq!(
            CollapseCheck::of(&near, None, Some(10.0)).signs,
            vec![Collapse::ConstantGuess {
                mae: 9.6,
                constant_mae: 10.0
            }]
        );
        let trained = score(10, 0, vec![], 94.0);
        assert!(!CollapseCheck::of(&trained, None, Some(10.0)).collapsed());
    }

    #[test]
    fn the_check_round_trips_through_its_file() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(CollapseCheck::load(dir.path()).unwrap(), None);
        let s = score(100, 10, vec![100, 0], 0.0);
        let check = CollapseCheck::of(&s, Some(2), None);
        check.write(dir.path()).unwrap();
        assert_eq!(CollapseCheck::load(dir.path()).unwrap(), Some(check));
    }
}
