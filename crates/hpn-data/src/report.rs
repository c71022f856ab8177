//! A summary of a dataset's splits and of what looks wrong in them (for `xtask data check`).

use std::fmt;

use crate::{ImageSet, Splits};

/// Counts of one split.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct SplitReport {
    /// `"train"` or `"test"`.
    pub name: String,
    /// Number of images.
    pub len: usize,
    /// `[C, H, W]` of the images.
    pub shape: [usize; 3],
    /// Images per class, indexed by class.
    pub class_counts: Vec<usize>,
    /// Whether the split has regression targets, and their range.
    pub target_range: Option<(f32, f32)>,
}

/// Per-split, per-class counts of a dataset and the problems found: empty classes, classes
/// missing from the test split, labels out of range, splits that disagree on classes or shape.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct DatasetReport {
    /// Class names (of the training split).
    pub class_names: Vec<String>,
    /// Training and test split counts.
    pub splits: Vec<SplitReport>,
    /// Human-readable problems; empty when none were found.
    pub problems: Vec<String>,
}

impl DatasetReport {
    /// Whether no problem was found.
    pub fn is_ok(&self) -> bool {
        self.problems.is_empty()
    }
}

fn split_report(name: &str, set: &ImageSet, problems: &mut Vec<String>) -> SplitReport {
    let k = set.classes();
    let mut class_counts = vec![0; k];
    for (i, &label) in set.labels().iter().enumerate() {
        match class_counts.get_mut(label) {
            Some(count) => *count += 1,
            None => problems.push(format!(
                "{name}: image {i} has label {label}, but there are {k} classes"
            )),
        }
    }
    if set.is_empty() {
        problems.push(format!("{name}: no images"));
    } else {
        let empty: Vec<&str> = class_counts
            .iter()
            .zip(set.class_names())
            .filter(|(c, _)| **c == 0)
            .map(|(_, n)| n.as_str())
            .collect();
        if !empty.is_empty() {
            problems.push(format!(
                "{name}: {} empty class(es): {}",
                empty.len(),
                empty.join(", ")
            ));
        }
    }
    let target_range = set.targets().and_then(|t| {
        let lo = t.iter().copied().fold(f32::INFINITY, f32::min);
        let hi = t.iter().copied().fold(f32::NEG_INFINITY, f32::max);
        (lo <= hi).then_some((lo, hi))
    });
    SplitReport {
        name: name.to_string(),
        len: set.len(),
        shape: [set.channels(), set.height(), set.width()],
        class_counts,
        target_range,
    }
}

/// Describes `splits`: per-split, per-class counts and the problems found.
pub fn describe(splits: &Splits) -> DatasetReport {
    let mut problems = Vec::new();
    let train = split_report("train", &splits.train, &mut problems);
    let test = split_report("test", &splits.test, &mut problems);
    if splits.train.class_names() != splits.test.class_names() {
        problems.push(format!(
            "train and test have different classes ({} vs {})",
            splits.train.classes(),
            splits.test.classes()
        ));
    } else if !splits.test.is_empty() {
        let missing: Vec<&str> = train
            .class_counts
            .iter()
            .zip(&test.class_counts)
            .zip(splits.train.class_names())
            .filter(|((tr, te), _)| **tr > 0 && **te == 0)
            .map(|(_, n)| n.as_str())
            .collect();
        if !missing.is_empty() {
            problems.push(format!(
                "{} class(es) have training images but none in test: {}",
                missing.len(),
                missing.join(", ")
            ));
        }
    }
    if train.shape != test.shape && !splits.test.is_empty() && !splits.train.is_empty() {
        problems.push(format!(
            "train images are {:?} (C, H, W), test images {:?}",
            train.shape, test.shape
        ));
    }
    DatasetReport {
        class_names: splits.train.class_names().to_vec(),
        splits: vec![train, test],
        problems,
    }
}

impl fmt::Display for DatasetReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "{} classes", self.class_names.len())?;
        for s in &self.splits {
            let nonzero: Vec<usize> = s.class_counts.iter().copied().filter(|&c| c > 0).collect();
            let (lo, hi) = (
                nonzero.iter().min().copied().unwrap_or(0),
                nonzero.iter().max().copied().unwrap_or(0),
            );
            write!(
                f,
                "{:<5} {:>7} images of {} x {} x {} (C x H x W), {lo}..{hi} per non-empty class",
                s.name, s.len, s.shape[0], s.shape[1], s.shape[2]
            )?;
            if let Some((tlo, thi)) = s.target_range {
                write!(f, ", targets {tlo}..{thi}")?;
            }
            writeln!(f)?;
        }
        writeln!(f, "{:<24} {:>7} {:>7}", "class", "train", "test")?;
        for (k, name) in self.class_names.iter().enumerate() {
            let count = |i: usize| {
                self.splits
                    .get(i)
                    .and_then(|s| s.class_counts.get(k))
                    .copied()
                    .unwrap_or(0)
            };
            writeln!(f, "{name:<24} {:>7} {:>7}", count(0), count(1))?;
        }
        if self.problems.is_empty() {
            write!(f, "no problems found")
        } else {
            writeln!(f, "{} problem(s):", self.problems.len())?;
            for (i, p) in self.problems.iter().enumerate() {
                if i + 1 == self.problems.len() {
                    write!(f, "  - {p}")?;
                } else {
                    writeln!(f, "  - {p}")?;
                }
            }
            Ok(())
        }
    }
}
