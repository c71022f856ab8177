//! `configs/reproduce/claims.toml`: the claims, the rows of their tables, and the experiments
//! behind the rows, as data. `configs/reproduce/generate.py` writes one experiment file per
//! `[[experiment]]` from the same file.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::error::ReproduceError;
use crate::rules::Rule;

/// The manifest's file name inside the experiment folder.
pub const MANIFEST_FILE: &str = "claims.toml";

/// The whole manifest: the claims in page order and the experiments they use.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    /// The claims, in the order of the results page.
    #[serde(rename = "claim")]
    pub claims: Vec<Claim>,
    /// The experiments, one experiment file each.
    #[serde(rename = "experiment")]
    pub experiments: Vec<Experiment>,
}

/// A claim of the paper and the experiments that test it.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Claim {
    /// Short id, e.g. `claim1`, as `--only` takes it.
    pub id: String,
    /// Title on the results page.
    pub title: String,
    /// What the paper claims, in one sentence.
    pub statement: String,
    /// The rule that decides, from the results, whether the claim held.
    pub rule: Rule,
    /// The claim's figure, when it has one: each row a point of its series.
    pub plot: Option<PlotSpec>,
    /// The rows the PyTorch reference trains with `--reference` (at least one HPN setting and
    /// one baseline where the claim has a baseline).
    #[serde(default)]
    pub reference: Vec<String>,
    /// The experiments of the claim, one table row each.
    pub rows: Vec<Row>,
}

/// One row of a claim's table: an experiment and what the paper reports for it.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Row {
    /// The experiment's name (its file is `<config>.toml` in the experiment folder).
    pub config: String,
    /// The setting, as the table shows it.
    pub label: String,
    /// The paper's figure for the corresponding setting (its scale, not ours), or `-`.
    pub paper: String,
    /// The line of the claim's figure this row belongs to (needed when the claim has a plot).
    pub series: Option<String>,
    /// The row's position on the figure's x axis (needed when the claim has a plot).
    pub x: Option<f64>,
}

/// A claim's figure: the rows' metrics against a setting, one line per series.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlotSpec {
    /// Name of the x axis (the setting the rows vary).
    pub x: String,
    /// The metrics drawn, one panel each.
    pub y: Vec<Metric>,
    /// Draw x on a log10 scale.
    #[serde(default)]
    pub log_x: bool,
}

/// A metric of a run's summary.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Metric {
    /// Test accuracy (%).
    Accuracy,
    /// Test mean absolute error.
    Mae,
}

impl Metric {
    /// The axis name of the metric.
    pub fn label(self) -> &'static str {
        match self {
            Metric::Accuracy => "test accuracy (%)",
            Metric::Mae => "test MAE (degrees)",
        }
    }
}

/// The recipe of one experiment, as `generate.py` turns it into an experiment file.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Experiment {
    /// Experiment name, also its file name without `.toml`.
    pub name: String,
    /// One line saying what it runs.
    pub description: String,
    /// `classification`, `regression` or `joint`.
    pub task: String,
    /// `mnist`, `rotated` or `cifar10`.
    pub data: String,
    /// Training images per class (all when absent).
    pub train: Option<usize>,
    /// Test images per class (all when absent).
    pub test: Option<usize>,
    /// Linearly uneven training images per class.
    pub imbalance: Option<Imbalance>,
    /// The network, as an experiment file names it (`"convnet-bn"`,
    /// `{ resnet-cifar = { depth = 8, width = 1 } }`).
    pub backbone: hpn_models::Backbone,
    /// Output dimension D.
    pub dims: usize,
    /// Prototype placement method.
    pub prototypes: String,
    /// Loss kind.
    pub loss: String,
    /// Training epochs.
    pub epochs: usize,
    /// Learning rate (generate.py's rule when absent).
    pub lr: Option<f64>,
    /// Epochs at which the rate drops x0.1 (generate.py's rule when absent).
    pub milestones: Option<Vec<usize>>,
    /// Batch size (128 when absent).
    pub batch: Option<usize>,
    /// Word-vector file for word-vector or privileged prototypes.
    pub words: Option<String>,
    /// Task weight of a joint loss.
    pub weight: Option<f64>,
    /// Training seeds (1, 2, 3 when absent).
    pub seeds: Option<Vec<u64>>,
}

/// Training images per class from `min` (last class) to `max` (first class).
#[derive(Clone, Copy, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Imbalance {
    /// Images of the smallest class.
    pub min: usize,
    /// Images of the largest class.
    pub max: usize,
}

impl Experiment {
    /// The data as a table's reader names it.
    fn data_label(&self) -> &str {
        match self.data.as_str() {
            "mnist" => "MNIST subset",
            "mnist-full" => "MNIST",
            "rotated" => "rotated MNIST subset",
            "cifar10" => "CIFAR-10",
            other => other,
        }
    }

    /// The training seeds: the manifest's, or 1, 2, 3 when it names none.
    pub fn training_seeds(&self) -> Vec<u64> {
        self.seeds.clone().unwrap_or_else(|| vec![1, 2, 3])
    }
}

impl Manifest {
    /// The scale of a claim's runs, one part per data set, network, epochs and seeds, in row
    /// order: "MNIST: ConvNet-BN, 3 epochs, 3 seeds; CIFAR-10: ResNet-8, 4 epochs, 1 seed".
    pub fn scale_of(&self, claim: &Claim) -> String {
        let mut parts: Vec<String> = Vec::new();
        for row in &claim.rows {
            let Some(e) = self.experiments.iter().find(|e| e.name == row.config) else {
                continue;
            };
            let seeds = e.training_seeds().len();
            let plural = |n: usize| if n == 1 { "" } else { "s" };
            let part = format!(
                "{}: {}, {} epoch{}, {} seed{}",
                e.data_label(),
                e.backbone.name(),
                e.epochs,
                plural(e.epochs),
                seeds,
                plural(seeds)
            );
            if !parts.contains(&part) {
                parts.push(part);
            }
        }
        parts.join("; ")
    }

    /// Reads and checks `claims.toml` in the experiment folder `configs`.
    pub fn load(configs: &Path) -> Result<Self, ReproduceError> {
        let path = configs.join(MANIFEST_FILE);
        let text =
            std::fs::read_to_string(&path).map_err(|source| ReproduceError::ReadManifest {
                path: path.clone(),
                source,
            })?;
        Self::parse(&text, &path)
    }

    /// Parses and checks a manifest; `path` only names it in errors.
    pub fn parse(text: &str, path: &Path) -> Result<Self, ReproduceError> {
        let error = |message: String| ReproduceError::Manifest {
            path: path.to_path_buf(),
            message,
        };
        let manifest: Manifest = toml::from_str(text).map_err(|e| error(e.to_string()))?;
        let mut names = HashSet::new();
        for e in &manifest.experiments {
            if !names.insert(e.name.as_str()) {
                return Err(error(format!("experiment `{}` is defined twice", e.name)));
            }
        }
        let mut ids = HashSet::new();
        for claim in &manifest.claims {
            if !ids.insert(claim.id.as_str()) {
                return Err(error(format!("claim `{}` is defined twice", claim.id)));
            }
            if claim.rows.is_empty() {
                return Err(error(format!("claim `{}` has no rows", claim.id)));
            }
            for row in &claim.rows {
                if !names.contains(row.config.as_str()) {
                    return Err(error(format!(
                        "claim `{}`: row `{}` names no [[experiment]]",
                        claim.id, row.config
                    )));
                }
            }
            if let Some(plot) = &claim.plot {
                if plot.y.is_empty() {
                    return Err(error(format!("claim `{}`: plot has no y metric", claim.id)));
                }
                for row in &claim.rows {
                    match (&row.series, row.x) {
                        (Some(_), Some(x)) if !plot.log_x || x > 0.0 => {}
                        (Some(_), Some(x)) => {
                            return Err(error(format!(
                                "claim `{}`: row `{}` has x = {x}, but a log scale needs x > 0",
                                claim.id, row.config
                            )));
                        }
                        _ => {
                            return Err(error(format!(
                                "claim `{}` has a plot: row `{}` needs `series` and `x`",
                                claim.id, row.config
                            )));
                        }
                    }
                }
            }
            for config in &claim.reference {
                if !claim.rows.iter().any(|r| &r.config == config) {
                    return Err(error(format!(
                        "claim `{}`: reference setting `{config}` is not one of its rows",
                        claim.id
                    )));
                }
            }
        }
        Ok(manifest)
    }

    /// The experiment file of a row's config.
    pub fn experiment_file(configs: &Path, config: &str) -> PathBuf {
        configs.join(format!("{config}.toml"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SMALL: &str = r#"
[[claim]]
id = "c1"
title = "t"
statement = "s"
rule = "scarce-data"
reference = ["a"]
rows = [{ config = "a", label = "A", paper = "-" }]

[[experiment]]
name = "a"
description = "d"
task = "classification"
data = "mnist"
train = 10
backbone = "convnet"
dims = 10
prototypes = "uniform"
loss = "hpn"
epochs = 1
"#;

    fn parse(text: &str) -> Result<Manifest, ReproduceError> {
        Manifest::parse(text, Path::new("claims.toml"))
    }

    #[test]
    fn a_consistent_manifest_parses() {
        let m = parse(SMALL).unwrap();
        assert_eq!(m.claims[0].rule, Rule::ScarceData);
        assert_eq!(m.experiments[0].train, Some(10));
    }

    #[test]
    fn the_scale_names_each_data_set_network_epochs_and_seeds_once() {
        let text = SMALL.replace(
            r#"rows = [{ config = "a", label = "A", paper = "-" }]"#,
            r#"rows = [{ config = "a", label = "A", paper = "-" }, { config = "b", label = "B", paper = "-" }, { config = "c", label = "C", paper = "-" }]"#,
        ) + r#"
[[experiment]]
name = "b"
description = "d"
task = "classification"
data = "cifar10"
backbone = { resnet-cifar = { depth = 8, width = 1 } }
dims = 3
prototypes = "uniform"
loss = "hpn"
epochs = 4
seeds = [7]

[[experiment]]
name = "c"
description = "d"
task = "classification"
data = "mnist"
backbone = "convnet"
dims = 3
prototypes = "uniform"
loss = "hpn"
epochs = 1
"#;
        let m = parse(&text).unwrap();
        assert_eq!(
            m.scale_of(&m.claims[0]),
            "MNIST subset: ConvNet, 1 epoch, 3 seeds; CIFAR-10: ResNet-8, 4 epochs, 1 seed"
        );
    }

    #[test]
    fn contradictions_are_errors_naming_what_is_wrong() {
        let cases = [
            (
                SMALL.replace("rows = [{ config = \"a\"", "rows = [{ config = \"b\""),
                "row `b` names no [[experiment]]",
            ),
            (
                SMALL.replace("reference = [\"a\"]", "reference = [\"z\"]"),
                "reference setting `z` is not one of its rows",
            ),
            (
                SMALL.replace("epochs = 1", "epochs = 1\nepoch = 2"),
                "unknown field `epoch`",
            ),
            (
                SMALL.replace("scarce-data", "scarce"),
                "unknown variant `scarce`",
            ),
            (
                SMALL.replace("rule =", "plot = { x = \"D\", y = [\"accuracy\"] }\nrule ="),
                "row `a` needs `series` and `x`",
            ),
            (
                SMALL
                    .replace(
                        "rule =",
                        "plot = { x = \"lr\", y = [\"mae\"], log_x = true }\nrule =",
                    )
                    .replace("paper = \"-\" }", "paper = \"-\", series = \"s\", x = 0 }"),
                "a log scale needs x > 0",
            ),
            (
                format!(
                    "{SMALL}\n[[experiment]]\nname = \"a\"\ndescription = \"d\"\ntask = \"t\"\ndata = \"mnist\"\nbackbone = \"convnet\"\ndims = 1\nprototypes = \"p\"\nloss = \"l\"\nepochs = 1\n"
                ),
                "experiment `a` is defined twice",
            ),
        ];
        for (text, expected) in cases {
            let message = parse(&text).unwrap_err().to_string();
            assert!(
                message.starts_with("claims manifest claims.toml:"),
                "{message}"
            );
            assert!(message.contains(expected), "{message} lacks {expected}");
        }
    }
}
