//! The results of all seeds of an experiment: `summary.json` and a Markdown table with
//! mean +- std, in the shape of the paper's tables.

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::collapse::Collapse;
use crate::error::TrainError;
use crate::fsutil::{read_json_if_present, write_atomic};
use crate::train::SeedResult;

/// Mean and sample standard deviation (n - 1) of some values.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct MeanStd {
    /// Mean of the values.
    pub mean: f64,
    /// Sample standard deviation (n - 1), 0 for one value.
    pub std: f64,
    /// Number of values.
    pub n: usize,
}

impl MeanStd {
    /// Mean and sample standard deviation; std is 0 for a single value.
    pub fn of(values: &[f64]) -> Option<Self> {
        if values.is_empty() {
            return None;
        }
        let n = values.len();
        let mean = values.iter().sum::<f64>() / n as f64;
        let var = if n > 1 {
            values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1) as f64
        } else {
            0.0
        };
        Some(MeanStd {
            mean,
            std: var.sqrt(),
            n,
        })
    }
}

impl std::fmt::Display for MeanStd {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:.2} ± {:.2}", self.mean, self.std)
    }
}

/// One seed's line of the summary.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SeedSummary {
    /// The training seed.
    pub seed: u64,
    /// Final accuracy (%) of this seed, when the task has classes.
    pub accuracy: Option<f64>,
    /// Final mean absolute error of this seed, when the task has a regression target.
    pub mae: Option<f64>,
    /// Training throughput of this seed (images/s, mean over its epochs).
    pub images_per_second: f64,
    /// Wall-clock seconds of all its epochs.
    pub seconds: f64,
    /// Open-set AUROC of this seed, when the experiment has one.
    #[serde(default)]
    pub auroc: Option<f64>,
    /// Class-incremental second phase: accuracy (%) on the old classes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub old_accuracy: Option<f64>,
    /// Class-incremental second phase: accuracy (%) on the new classes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub new_accuracy: Option<f64>,
    /// Signs that this seed did not train; a seed with any is left out of the means.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub collapsed: Vec<Collapse>,
}

impl SeedSummary {
    /// Whether the seed trained (no sign of collapse).
    pub fn trained(&self) -> bool {
        self.collapsed.is_empty()
    }
}

/// `summary.json`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    /// Experiment name.
    pub name: String,
    /// One line saying what the experiment shows.
    pub description: String,
    /// Backend it ran on.
    pub backend: String,
    /// The training budget, "epochs x training images".
    pub scale: String,
    /// One line per seed.
    pub seeds: Vec<SeedSummary>,
    /// Accuracy (%) over the trained seeds, when the task has classes.
    pub accuracy: Option<MeanStd>,
    /// Mean absolute error over the trained seeds, when the task has a regression target.
    pub mae: Option<MeanStd>,
    /// Training throughput (images/s) over the seeds.
    pub images_per_second: Option<MeanStd>,
    /// Open-set AUROC over the trained seeds, when the experiment has one.
    #[serde(default)]
    pub auroc: Option<MeanStd>,
    /// Class-incremental second phase: accuracy (%) on the old classes over the trained seeds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub old_accuracy: Option<MeanStd>,
    /// Class-incremental second phase: accuracy (%) on the new classes over the trained seeds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub new_accuracy: Option<MeanStd>,
    /// How many seeds collapsed (and are left out of the means).
    #[serde(default)]
    pub collapsed_seeds: usize,
}

impl Summary {
    /// The summary of finished seeds.
    pub fn new(
        name: &str,
        description: &str,
        backend: &str,
        scale: &str,
        results: &[SeedResult],
    ) -> Self {
        let seeds: Vec<SeedSummary> = results
            .iter()
            .map(|r| SeedSummary {
                seed: r.seed,
                accuracy: r.accuracy,
                mae: r.mae,
                images_per_second: r.images_per_second,
                seconds: r.seconds,
                auroc: r.auroc,
                old_accuracy: r.incremental.as_ref().map(|i| i.old_accuracy),
                new_accuracy: r.incremental.as_ref().map(|i| i.new_accuracy),
                collapsed: r.collapse.clone(),
            })
            .collect();
        Self::from_seeds(name, description, backend, scale, seeds)
    }

    /// The summary of seed lines, however they were obtained (trained now, or read from an
    /// earlier summary): quality means over the seeds that trained, throughput over all.
    pub fn from_seeds(
        name: &str,
        description: &str,
        backend: &str,
        scale: &str,
        seeds: Vec<SeedSummary>,
    ) -> Self {
        let collect = |f: &dyn Fn(&SeedSummary) -> Option<f64>| -> Vec<f64> {
            seeds.iter().filter(|s| s.trained()).filter_map(f).collect()
        };
        Summary {
            name: name.into(),
            description: description.into(),
            backend: backend.into(),
            scale: scale.into(),
            accuracy: MeanStd::of(&collect(&|s| s.accuracy)),
            mae: MeanStd::of(&collect(&|s| s.mae)),
            images_per_second: MeanStd::of(
                &seeds
                    .iter()
                    .map(|s| s.images_per_second)
                    .collect::<Vec<_>>(),
            ),
            auroc: MeanStd::of(&collect(&|s| s.auroc)),
            old_accuracy: MeanStd::of(&collect(&|s| s.old_accuracy)),
            new_accuracy: MeanStd::of(&collect(&|s| s.new_accuracy)),
            collapsed_seeds: seeds.iter().filter(|s| !s.trained()).count(),
            seeds,
        }
    }

    /// This summary with the seeds of `earlier` that it lacks, in seed order: a run directory
    /// trained seed by seed (`--seeds 3 --resume` after seeds 1 and 2) summarises every seed it
    /// holds. `earlier` is taken only at the same scale (epochs x training images); otherwise
    /// this summary is returned as it is.
    pub fn with_earlier(self, earlier: &Summary) -> Self {
        if earlier.scale != self.scale {
            return self;
        }
        let mut seeds: Vec<SeedSummary> = earlier
            .seeds
            .iter()
            .filter(|e| !self.seeds.iter().any(|s| s.seed == e.seed))
            .cloned()
            .chain(self.seeds.iter().cloned())
            .collect();
        seeds.sort_by_key(|s| s.seed);
        Self::from_seeds(
            &self.name,
            &self.description,
            &self.backend,
            &self.scale,
            seeds,
        )
    }

    /// The Markdown table: one row per seed and a mean +- std row.
    pub fn markdown(&self) -> String {
        let mut s = format!("# {}\n\n", self.name);
        if !self.description.is_empty() {
            s.push_str(&format!("{}\n\n", self.description));
        }
        s.push_str(&format!(
            "Backend: {}; budget: {} (epochs x training images)\n\n",
            self.backend, self.scale
        ));
        // The open-set column only for open-set experiments, the old / new columns only for
        // class-incremental second phases.
        let open = self.auroc.is_some();
        let incremental = self.old_accuracy.is_some();
        s.push_str("| seed | accuracy (%) | MAE |");
        s.push_str(if open { " open-set AUROC |" } else { "" });
        s.push_str(if incremental {
            " old classes (%) | new classes (%) |"
        } else {
            ""
        });
        s.push_str(" images/s | seconds | trained |\n|---|---|---|");
        s.push_str(if open { "---|" } else { "" });
        s.push_str(if incremental { "---|---|" } else { "" });
        s.push_str("---|---|---|\n");
        let cell = |v: Option<f64>| v.map(|x| format!("{x:.2}")).unwrap_or_else(|| "-".into());
        let auroc = |v: Option<f64>| {
            let text = v.map(|x| format!("{x:.4}")).unwrap_or_else(|| "-".into());
            if open {
                format!(" {text} |")
            } else {
                String::new()
            }
        };
        let groups = |old: Option<f64>, new: Option<f64>| {
            if incremental {
                format!(" {} | {} |", cell(old), cell(new))
            } else {
                String::new()
            }
        };
        for r in &self.seeds {
            let trained = if r.trained() {
                "yes".to_string()
            } else {
                let signs: Vec<String> = r.collapsed.iter().map(|c| c.to_string()).collect();
                format!("**collapsed**: {}", signs.join("; "))
            };
            s.push_str(&format!(
                "| {} | {} | {} |{}{} {:.0} | {:.0} | {trained} |\n",
                r.seed,
                cell(r.accuracy),
                cell(r.mae),
                auroc(r.auroc),
                groups(r.old_accuracy, r.new_accuracy),
                r.images_per_second,
                r.seconds
            ));
        }
        let ms = |v: &Option<MeanStd>| v.map(|m| m.to_string()).unwrap_or_else(|| "-".into());
        let auroc_mean = match &self.auroc {
            Some(m) => format!(" {:.4} ± {:.4} |", m.mean, m.std),
            None => String::new(),
        };
        let groups_mean = if incremental {
            format!(" {} | {} |", ms(&self.old_accuracy), ms(&self.new_accuracy))
        } else {
            String::new()
        };
        s.push_str(&format!(
            "| mean ± std | {} | {} |{}{} {} | | {} of {} |\n",
            ms(&self.accuracy),
            ms(&self.mae),
            auroc_mean,
            groups_mean,
            self.images_per_second
                .map(|m| format!("{:.0}", m.mean))
                .unwrap_or_default(),
            self.seeds.len() - self.collapsed_seeds,
            self.seeds.len()
        ));
        if self.collapsed_seeds > 0 {
            s.push_str(&format!(
                "\n{} of {} seeds collapsed (did not train) and are left out of the means.\n",
                self.collapsed_seeds,
                self.seeds.len()
            ));
        }
        s
    }

    /// Reads `dir/summary.json`; `None` when the run has not finished all its seeds.
    pub fn load(dir: &Path) -> Result<Option<Self>, TrainError> {
        read_json_if_present(&dir.join("summary.json"), "a summary")
    }

    /// Writes `summary.json` and `summary.md` into `dir`.
    pub fn write(&self, dir: &Path) -> Result<(), TrainError> {
        let json = serde_json::to_string_pretty(self).map_err(|e| TrainError::Run {
            path: dir.to_path_buf(),
            message: e.to_string(),
        })?;
        write_atomic(&dir.join("summary.json"), json.as_bytes())?;
        write_atomic(&dir.join("summary.md"), self.markdown().as_bytes())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mean_and_sample_std_by_hand() {
        let m = MeanStd::of(&[1.0, 2.0, 3.0, 4.0]).unwrap();
        assert!((m.mean - 2.5).abs() < 1e-12);
        // sum of squares 2.25 + 0.25 + 0.25 + 2.25 = 5, / 3
        assert!((m.std - (5.0f64 / 3.0).sqrt()).abs() < 1e-12);
        assert_eq!(MeanStd::of(&[7.0]).unwrap().std, 0.0);
        assert!(MeanStd::of(&[]).is_none());
    }

    /// A seed that trained to `accuracy`, at 100 images/s for 10 s.
    fn trained_seed(seed: u64, accuracy: f64) -> SeedResult {
        SeedResult {
            seed,
            accuracy: Some(accuracy),
            mae: None,
            images_per_second: 100.0,
            seconds: 10.0,
            auroc: None,
            incremental: None,
            collapse: Vec::new(),
            dir: Default::default(),
        }
    }

    #[test]
    fn table_has_a_row_per_seed_and_a_mean_row() {
        let r = trained_seed;
        let s = Summary::new("x", "", "flex", "1 x 10", &[r(1, 90.0), r(2, 92.0)]);
        let md = s.markdown();
        assert!(md.contains("| 1 | 90.00 | - |"), "{md}");
        assert!(md.contains("| mean ± std | 91.00 ± 1.41 |"), "{md}");
        assert_eq!(s.collapsed_seeds, 0);
    }

    #[test]
    fn a_summary_keeps_earlier_seeds_of_the_same_scale_in_seed_order() {
        let r = trained_seed;
        let earlier = Summary::new("x", "", "flex", "4 x 50", &[r(2, 90.0), r(3, 50.0)]);
        let now = Summary::new("x", "", "flex", "4 x 50", &[r(1, 93.0), r(3, 96.0)]);
        let both = now.clone().with_earlier(&earlier);
        let order: Vec<u64> = both.seeds.iter().map(|s| s.seed).collect();
        // Seed 3 trained again: the new line wins.
        assert_eq!(order, vec![1, 2, 3]);
        // (93 + 90 + 96) / 3 = 93, sample std 3.
        let acc = both.accuracy.unwrap();
        assert_eq!((acc.mean, acc.std, acc.n), (93.0, 3.0, 3));
        // Another scale (other epochs) is another experiment: nothing is taken.
        let longer = Summary::new("x", "", "flex", "8 x 50", &[r(2, 90.0)]);
        assert_eq!(now.clone().with_earlier(&longer), now);
    }

    #[test]
    fn collapsed_seeds_are_marked_and_left_out_of_the_means() {
        let r = |seed, acc: f64, collapse: Vec<Collapse>| SeedResult {
            seed,
            accuracy: Some(acc),
            mae: None,
            images_per_second: 100.0 * seed as f64,
            seconds: 10.0,
            auroc: None,
            incremental: None,
            collapse,
            dir: Default::default(),
        };
        let one_class = Collapse::OneClass {
            class: 4,
            fraction: 0.97,
        };
        let results = [
            r(1, 90.0, vec![]),
            r(2, 9.7, vec![one_class.clone()]),
            r(3, 94.0, vec![]),
        ];
        let s = Summary::new("x", "", "flex", "1 x 10", &results);
        assert_eq!(s.collapsed_seeds, 1);
        let accuracy = s.accuracy.unwrap();
        assert_eq!((accuracy.mean, accuracy.n), (92.0, 2));
        // Throughput is a property of the machine, not of training: every seed counts.
        assert_eq!(s.images_per_second.unwrap().mean, 200.0);
        let md = s.markdown();
        assert!(
            md.contains("**collapsed**: 97 % of test images given class 4"),
            "{md}"
        );
        assert!(md.contains("| 2 of 3 |"), "{md}");
        assert!(md.contains("1 of 3 seeds collapsed"), "{md}");
        // The signs survive summary.json.
        let back: Summary = serde_json::from_str(&serde_json::to_string(&s).unwrap()).unwrap();
        assert_eq!(back.seeds[1].collapsed, vec![one_class]);
    }
}
