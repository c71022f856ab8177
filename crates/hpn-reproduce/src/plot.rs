//! The figure of a claim: each row's metric against the setting it varies (output dimension,
//! learning rate, task weight), one line per series through the means of the trained seeds,
//! every seed as a dot (a cross when it collapsed), and the PyTorch reference's mean as a
//! triangle where it ran.

use std::path::Path;

use plotters::coord::Shift;
use plotters::prelude::*;

use crate::error::ReproduceError;
use crate::manifest::Metric;
use crate::run::ClaimOutcome;

/// Line colours, one per series in the order the manifest first names them.
const COLOURS: [RGBColor; 8] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(127, 127, 127),
];

/// One row as the figure draws it.
struct Point {
    series: usize,
    x: f64,
    mean: Option<f64>,
    seeds: Vec<(f64, bool)>,
    reference: Option<f64>,
}

fn points(outcome: &ClaimOutcome, metric: Metric, log_x: bool) -> (Vec<String>, Vec<Point>) {
    let mut series: Vec<String> = Vec::new();
    let mut out = Vec::new();
    for row in &outcome.claim.rows {
        let (Some(name), Some(x)) = (&row.series, row.x) else {
            continue;
        };
        let index = series.iter().position(|s| s == name).unwrap_or_else(|| {
            series.push(name.clone());
            series.len() - 1
        });
        let summary = outcome.results.get(&row.config);
        let value = |a: Option<f64>, m: Option<f64>| match metric {
            Metric::Accuracy => a,
            Metric::Mae => m,
        };
        let mean = summary.and_then(|s| value(s.accuracy.map(|v| v.mean), s.mae.map(|v| v.mean)));
        let seeds = summary
            .map(|s| {
                s.seeds
                    .iter()
                    .filter_map(|seed| Some((value(seed.accuracy, seed.mae)?, seed.trained())))
                    .collect()
            })
            .unwrap_or_default();
        let reference = outcome
            .reference
            .iter()
            .find(|c| c.config == row.config)
            .and_then(|c| {
                value(
                    c.reference.accuracy.map(|v| v.mean),
                    c.reference.mae.map(|v| v.mean),
                )
            });
        out.push(Point {
            series: index,
            x: if log_x { x.log10() } else { x },
            mean,
            seeds,
            reference,
        });
    }
    (series, out)
}

/// A padded range holding every value, never empty.
fn range(values: impl Iterator<Item = f64>) -> std::ops::Range<f64> {
    let (lo, hi) = values
        .filter(|v| v.is_finite())
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), v| {
            (a.min(v), b.max(v))
        });
    if !lo.is_finite() {
        return 0.0..1.0;
    }
    let pad = if hi > lo { (hi - lo) * 0.08 } else { 0.5 };
    (lo - pad)..(hi + pad)
}

fn panel(
    area: &DrawingArea<SVGBackend<'_>, Shift>,
    outcome: &ClaimOutcome,
    metric: Metric,
    err: &dyn Fn(String) -> ReproduceError,
) -> Result<(), ReproduceError> {
    let spec = outcome.claim.plot.as_ref().expect("a claim with a plot");
    let (series, points) = points(outcome, metric, spec.log_x);
    let xs = range(points.iter().map(|p| p.x));
    let ys = range(points.iter().flat_map(|p| {
        p.seeds
            .iter()
            .map(|s| s.0)
            .chain(p.mean)
            .chain(p.reference)
            .collect::<Vec<_>>()
    }));
    let x_name = if spec.log_x {
        format!("{} (log10)", spec.x)
    } else {
        spec.x.clone()
    };
    let mut chart = ChartBuilder::on(area)
        .caption(
            format!("{}: {}", outcome.claim.id, metric.label()),
            ("sans-serif", 18),
        )
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(55)
        .build_cartesian_2d(xs, ys)
        .map_err(|e| err(e.to_string()))?;
    chart
        .configure_mesh()
        .x_desc(x_name)
        .y_desc(metric.label())
        .draw()
        .map_err(|e| err(e.to_string()))?;
    for (i, name) in series.iter().enumerate() {
        let colour = COLOURS[i % COLOURS.len()];
        let mut line: Vec<(f64, f64)> = points
            .iter()
            .filter(|p| p.series == i)
            .filter_map(|p| Some((p.x, p.mean?)))
            .collect();
        line.sort_by(|a, b| a.0.total_cmp(&b.0));
        chart
            .draw_series(LineSeries::new(line, colour.stroke_width(2)))
            .map_err(|e| err(e.to_string()))?
            .label(name.clone())
            .legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 18, y)], colour.stroke_width(2))
            });
        let mine = || points.iter().filter(move |p| p.series == i);
        chart
            .draw_series(mine().flat_map(|p| {
                p.seeds
                    .iter()
                    .filter(|s| s.1)
                    .map(|s| Circle::new((p.x, s.0), 3, colour.filled()))
                    .collect::<Vec<_>>()
            }))
            .map_err(|e| err(e.to_string()))?;
        chart
            .draw_series(mine().flat_map(|p| {
                p.seeds
                    .iter()
                    .filter(|s| !s.1)
                    .map(|s| Cross::new((p.x, s.0), 5, colour.stroke_width(2)))
                    .collect::<Vec<_>>()
            }))
            .map_err(|e| err(e.to_string()))?;
        chart
            .draw_series(
                mine().filter_map(|p| {
                    Some(TriangleMarker::new((p.x, p.reference?), 7, colour.filled()))
                }),
            )
            .map_err(|e| err(e.to_string()))?;
    }
    // Legend entries for the marker kinds, in black.
    chart
        .draw_series(std::iter::empty::<Circle<(f64, f64), i32>>())
        .map_err(|e| err(e.to_string()))?
        .label("one seed (dot), collapsed seed (cross)")
        .legend(|(x, y)| Circle::new((x + 9, y), 3, BLACK.filled()));
    if points.iter().any(|p| p.reference.is_some()) {
        chart
            .draw_series(std::iter::empty::<Circle<(f64, f64), i32>>())
            .map_err(|e| err(e.to_string()))?
            .label("PyTorch reference, mean")
            .legend(|(x, y)| TriangleMarker::new((x + 9, y), 6, BLACK.filled()));
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::LowerRight)
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .draw()
        .map_err(|e| err(e.to_string()))?;
    Ok(())
}

/// Whether a claim gets a figure: it has a `plot` and at least one of its rows ran.
pub fn has_figure(outcome: &ClaimOutcome) -> bool {
    outcome.claim.plot.is_some()
        && outcome
            .claim
            .rows
            .iter()
            .any(|r| outcome.results.get(&r.config).is_some())
}

/// Draws the figure of a claim with a `plot` as an SVG at `path`, one panel per metric.
/// Returns false (and writes nothing) when [`has_figure`] is false.
pub fn claim_figure(path: &Path, outcome: &ClaimOutcome) -> Result<bool, ReproduceError> {
    let Some(spec) = &outcome.claim.plot else {
        return Ok(false);
    };
    if !has_figure(outcome) {
        return Ok(false);
    }
    let err = |message: String| ReproduceError::Plot {
        path: path.to_path_buf(),
        message,
    };
    let width = 640u32;
    let root = SVGBackend::new(path, (width * spec.y.len() as u32, 460)).into_drawing_area();
    root.fill(&WHITE).map_err(|e| err(e.to_string()))?;
    let panels = root.split_evenly((1, spec.y.len()));
    for (area, metric) in panels.iter().zip(&spec.y) {
        panel(area, outcome, *metric, &err)?;
    }
    root.present().map_err(|e| err(e.to_string()))?;
    Ok(true)
}

#[cfg(test)]
mod tests {
    use hpn_train::{MeanStd, SeedSummary, Summary};

    use super::*;
    use crate::manifest::{Claim, PlotSpec, Row};
    use crate::results::Results;
    use crate::rules::Rule;
    use crate::verdict::judge;

    fn summary(values: &[(f64, bool)]) -> Summary {
        let trained: Vec<f64> = values.iter().filter(|v| v.1).map(|v| v.0).collect();
        Summary {
            name: String::new(),
            description: String::new(),
            backend: "flex".into(),
            scale: "1 x 10".into(),
            seeds: values
                .iter()
                .enumerate()
                .map(|(i, &(mae, trained))| SeedSummary {
                    seed: i as u64 + 1,
                    accuracy: None,
                    mae: Some(mae),
                    images_per_second: 1.0,
                    seconds: 1.0,
                    auroc: None,
                    old_accuracy: None,
                    new_accuracy: None,
                    collapsed: if trained {
                        Vec::new()
                    } else {
                        vec![hpn_train::Collapse::ConstantGuess {
                            mae,
                            constant_mae: mae,
                        }]
                    },
                })
                .collect(),
            accuracy: None,
            mae: MeanStd::of(&trained),
            images_per_second: None,
            auroc: None,
            old_accuracy: None,
            new_accuracy: None,
            collapsed_seeds: values.len() - trained.len(),
        }
    }

    fn outcome(with_results: bool) -> ClaimOutcome {
        let row = |config: &str, series: &str, x: f64| Row {
            config: config.into(),
            label: config.into(),
            paper: "-".into(),
            series: Some(series.into()),
            x: Some(x),
        };
        let claim = Claim {
            id: "claim5".into(),
            title: String::new(),
            statement: String::new(),
            rule: Rule::Regression,
            plot: Some(PlotSpec {
                x: "learning rate".into(),
                y: vec![Metric::Mae],
                log_x: true,
            }),
            reference: Vec::new(),
            rows: vec![
                row("hpn-a", "HPN S^1", 0.01),
                row("hpn-b", "HPN S^1", 0.001),
                row("mse-a", "MSE", 0.01),
            ],
        };
        let results = Results {
            summaries: if with_results {
                vec![
                    ("hpn-a".into(), Some(summary(&[(20.0, true), (22.0, true)]))),
                    (
                        "hpn-b".into(),
                        Some(summary(&[(18.0, true), (45.0, false)])),
                    ),
                    ("mse-a".into(), None),
                ]
            } else {
                Vec::new()
            },
        };
        let verdict = judge(&claim, &results);
        ClaimOutcome {
            claim,
            scale: String::new(),
            results,
            verdict,
            reference: Vec::new(),
        }
    }

    #[test]
    fn the_figure_draws_every_seed_and_names_its_axes_and_series() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("claim5.svg");
        assert!(claim_figure(&path, &outcome(true)).unwrap());
        let svg = std::fs::read_to_string(&path).unwrap();
        for text in [
            "learning rate (log10)",
            "test MAE (degrees)",
            "HPN S^1",
            "MSE",
            "collapsed seed",
        ] {
            assert!(svg.contains(text), "no {text}");
        }
        // Three trained seeds plus the legend's dot; one collapsed seed drawn as a cross (two
        // strokes).
        assert_eq!(svg.matches("<circle").count(), 4, "{svg}");
        // No runs at all: no figure.
        let empty = dir.path().join("none.svg");
        assert!(!claim_figure(&empty, &outcome(false)).unwrap());
        assert!(!empty.exists());
    }
}
