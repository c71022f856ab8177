//! Per-epoch records of a training run and `metrics.csv`.

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::error::TrainError;
use crate::fsutil::write_atomic;

/// One row of `metrics.csv`: what happened in one epoch.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EpochRecord {
    /// 1-based epoch number.
    pub epoch: usize,
    /// Learning rate used in this epoch.
    pub lr: f64,
    /// Training loss, averaged over the batches of the epoch.
    pub train_loss: f64,
    /// Accuracy (%) on the evaluation set, when evaluated this epoch and the task has classes.
    pub accuracy: Option<f64>,
    /// Mean absolute error on the evaluation set, when evaluated and the task has a target.
    pub mae: Option<f64>,
    /// Wall-clock seconds of the epoch (training and evaluation).
    pub seconds: f64,
    /// Training throughput in images per second.
    pub images_per_second: f64,
}

/// The CSV header of `metrics.csv`.
pub const CSV_HEADER: &str = "epoch,lr,train_loss,accuracy,mae,seconds,images_per_second";

fn opt(v: Option<f64>) -> String {
    v.map(|x| format!("{x:.4}")).unwrap_or_default()
}

/// Writes all records as `metrics.csv` (atomically, so a killed run keeps the previous file).
pub fn write_csv(path: &Path, records: &[EpochRecord]) -> Result<(), TrainError> {
    let mut text = String::from(CSV_HEADER);
    text.push('\n');
    for r in records {
        text.push_str(&format!(
            "{},{},{:.6},{},{},{:.2},{:.1}\n",
            r.epoch,
            r.lr,
            r.train_loss,
            opt(r.accuracy),
            opt(r.mae),
            r.seconds,
            r.images_per_second
        ));
    }
    write_atomic(path, text.as_bytes())
}

/// The last evaluated accuracy and MAE of a run.
pub fn final_metrics(records: &[EpochRecord]) -> (Option<f64>, Option<f64>) {
    let last = records
        .iter()
        .rev()
        .find(|r| r.accuracy.is_some() || r.mae.is_some());
    (last.and_then(|r| r.accuracy), last.and_then(|r| r.mae))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_has_one_row_per_epoch_and_blank_unevaluated_cells() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("metrics.csv");
        let rec = |epoch, accuracy| EpochRecord {
            epoch,
            lr: 0.01,
            train_loss: 1.5,
            accuracy,
            mae: None,
            seconds: 2.0,
            images_per_second: 100.0,
        };
        write_csv(&path, &[rec(1, None), rec(2, Some(97.5))]).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], CSV_HEADER);
        assert_eq!(lines[1], "1,0.01,1.500000,,,2.00,100.0");
        assert_eq!(lines[2], "2,0.01,1.500000,97.5000,,2.00,100.0");
        assert_eq!(
            final_metrics(&[rec(1, Some(50.0)), rec(2, None)]),
            (Some(50.0), None)
        );
    }
}
