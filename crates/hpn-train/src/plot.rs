//! Plots of a run, as SVG files a browser or any image viewer opens.

use std::path::Path;

use plotters::prelude::*;

use crate::error::TrainError;
use crate::metrics::EpochRecord;

fn plot_error(path: &Path, e: impl std::fmt::Display) -> TrainError {
    TrainError::Plot {
        path: path.to_path_buf(),
        message: e.to_string(),
    }
}

/// Two panels against the epoch: the training loss, and the evaluation metric (accuracy %, or
/// MAE when the task has no classes).
pub fn training_curves(
    path: &Path,
    name: &str,
    seed: u64,
    records: &[EpochRecord],
) -> Result<(), TrainError> {
    if records.is_empty() {
        return Ok(());
    }
    let root = SVGBackend::new(path, (960, 400)).into_drawing_area();
    root.fill(&WHITE).map_err(|e| plot_error(path, e))?;
    let (left, right) = root.split_horizontally(480);
    let last_epoch = records.last().map(|r| r.epoch).unwrap_or(1) as f64;

    let losses: Vec<(f64, f64)> = records
        .iter()
        .map(|r| (r.epoch as f64, r.train_loss))
        .collect();
    let caption = format!("{name} seed {seed}: training loss");
    line_panel(
        path,
        &left,
        (caption, "loss"),
        last_epoch,
        losses,
        BLUE,
        false,
    )?;

    let accuracy: Vec<(f64, f64)> = records
        .iter()
        .filter_map(|r| r.accuracy.map(|a| (r.epoch as f64, a)))
        .collect();
    let (label, points) = if accuracy.is_empty() {
        (
            "test MAE",
            records
                .iter()
                .filter_map(|r| r.mae.map(|m| (r.epoch as f64, m)))
                .collect::<Vec<_>>(),
        )
    } else {
        ("test accuracy (%)", accuracy)
    };
    let caption = format!("{name} seed {seed}: {label}");
    line_panel(
        path,
        &right,
        (caption, label),
        last_epoch,
        points,
        RED,
        true,
    )?;
    root.present().map_err(|e| plot_error(path, e))
}

/// One panel: `points` against the epoch as a line (with a dot per point if `dots`), titled
/// `caption`, the y axis named `label`.
fn line_panel(
    path: &Path,
    area: &DrawingArea<SVGBackend<'_>, plotters::coord::Shift>,
    (caption, label): (String, &str),
    last_epoch: f64,
    points: Vec<(f64, f64)>,
    colour: RGBColor,
    dots: bool,
) -> Result<(), TrainError> {
    let (lo, hi) = bounds(points.iter().map(|p| p.1));
    let mut chart = ChartBuilder::on(area)
        .caption(caption, ("sans-serif", 18))
        .margin(10)
        .x_label_area_size(35)
        .y_label_area_size(55)
        .build_cartesian_2d(0.0..last_epoch, lo..hi)
        .map_err(|e| plot_error(path, e))?;
    chart
        .configure_mesh()
        .x_desc("epoch")
        .y_desc(label)
        .draw()
        .map_err(|e| plot_error(path, e))?;
    chart
        .draw_series(LineSeries::new(points.clone(), &colour))
        .map_err(|e| plot_error(path, e))?;
    if dots {
        chart
            .draw_series(
                points
                    .into_iter()
                    .map(|p| Circle::new(p, 3, colour.filled())),
            )
            .map_err(|e| plot_error(path, e))?;
    }
    Ok(())
}

/// A padded range that holds every value (and is never empty).
fn bounds(values: impl Iterator<Item = f64>) -> (f64, f64) {
    let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
    for v in values.filter(|v| v.is_finite()) {
        lo = lo.min(v);
        hi = hi.max(v);
    }
    if !lo.is_finite() {
        return (0.0, 1.0);
    }
    let pad = ((hi - lo) * 0.05).max(1e-3);
    (lo - pad, hi + pad)
}

/// A colour on a blue-to-red scale for t in [0, 1].
fn ramp(t: f64) -> RGBColor {
    let t = t.clamp(0.0, 1.0);
    let r = (255.0 * t) as u8;
    let b = (255.0 * (1.0 - t)) as u8;
    let g = (160.0 * (1.0 - (2.0 * t - 1.0).abs())) as u8;
    RGBColor(r, g, b)
}

/// Distinct colours for up to ten classes.
const CLASS_COLOURS: [RGBColor; 10] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(127, 127, 127),
    RGBColor(188, 189, 34),
    RGBColor(23, 190, 207),
];

/// Points drawn at most per panel of [`sphere_figure`]: every k-th output beyond that, so the
/// SVG stays small enough to commit.
pub const SPHERE_POINTS: usize = 1500;

/// The paper's Figure 5 for a joint model on S^2: each test output z normalised to the sphere,
/// z / |z|. Left panel: the class plane (coordinates 1 and 2) seen from the pole, coloured by
/// class, with the unit circle. Right panel: the angle atan2(z_2, z_1) in the class plane (x)
/// against the cosine to the regression pole, z_0 / |z| (y), coloured by the true rotation from
/// blue (smallest) to red (largest). Axes are labelled; a legend names the classes and the
/// rotation scale. Written as SVG.
pub fn sphere_figure(
    path: &Path,
    outputs: &[f32],
    labels: &[usize],
    targets: &[f32],
    class_names: &[String],
) -> Result<(), TrainError> {
    let n = labels.len();
    if outputs.len() != 3 * n || targets.len() != n {
        return Err(plot_error(
            path,
            "the sphere figure needs outputs of width 3",
        ));
    }
    let (lo, hi) = targets
        .iter()
        .fold((f32::INFINITY, f32::NEG_INFINITY), |(a, b), &t| {
            (a.min(t), b.max(t))
        });
    let span = (hi - lo).max(1e-6) as f64;
    let step = n.div_ceil(SPHERE_POINTS).max(1);
    let points: Vec<(usize, [f64; 3])> = (0..n)
        .step_by(step)
        .map(|i| {
            let z = &outputs[3 * i..3 * i + 3];
            let norm = (z.iter().map(|v| v * v).sum::<f32>()).sqrt().max(1e-9);
            (i, [0, 1, 2].map(|k| (z[k] / norm) as f64))
        })
        .collect();
    let err = |e| plot_error(path, e);
    let root = SVGBackend::new(path, (1100, 520)).into_drawing_area();
    root.fill(&WHITE).map_err(err)?;
    let (left, right) = root.split_horizontally(520);

    let mut a = ChartBuilder::on(&left)
        .caption("class plane, seen from the pole", ("sans-serif", 18))
        .margin(10)
        .x_label_area_size(40)
        .y_label_area_size(50)
        .build_cartesian_2d(-1.05f64..1.05, -1.05f64..1.05)
        .map_err(err)?;
    a.configure_mesh()
        .x_desc("z1 / |z|")
        .y_desc("z2 / |z|")
        .draw()
        .map_err(err)?;
    a.draw_series(LineSeries::new(
        (0..=360).map(|deg| {
            let t = (deg as f64).to_radians();
            (t.cos(), t.sin())
        }),
        &BLACK,
    ))
    .map_err(err)?;
    let mut classes: Vec<usize> = labels.to_vec();
    classes.sort_unstable();
    classes.dedup();
    for class in classes {
        let colour = CLASS_COLOURS[class % CLASS_COLOURS.len()];
        let name = class_names
            .get(class)
            .cloned()
            .unwrap_or_else(|| format!("class {class}"));
        a.draw_series(
            points
                .iter()
                .filter(|(i, _)| labels[*i] == class)
                .map(|(_, x)| Circle::new((x[1], x[2]), 2, colour.filled())),
        )
        .map_err(err)?
        .label(name)
        .legend(move |(x, y)| Circle::new((x + 6, y), 4, colour.filled()));
    }
    a.configure_series_labels()
        .position(SeriesLabelPosition::UpperRight)
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .draw()
        .map_err(err)?;

    let pi = std::f64::consts::PI;
    let mut b = ChartBuilder::on(&right)
        .caption("rotation along the pole axis", ("sans-serif", 18))
        .margin(10)
        .x_label_area_size(40)
        .y_label_area_size(50)
        .build_cartesian_2d(-pi..pi, -1.05f64..1.05)
        .map_err(err)?;
    b.configure_mesh()
        .x_desc("angle in the class plane, atan2(z2, z1) (radians)")
        .y_desc("cosine to the pole, z0 / |z|")
        .draw()
        .map_err(err)?;
    b.draw_series(points.iter().map(|(i, x)| {
        let rot = ramp((targets[*i] - lo) as f64 / span);
        Circle::new((x[2].atan2(x[1]), x[0]), 2, rot.filled())
    }))
    .map_err(err)?;
    for t in [0.0, 0.5, 1.0] {
        let colour = ramp(t);
        b.draw_series(std::iter::empty::<Circle<(f64, f64), i32>>())
            .map_err(err)?
            .label(format!("rotation {:.0}", lo as f64 + t * span))
            .legend(move |(x, y)| Circle::new((x + 6, y), 4, colour.filled()));
    }
    b.configure_series_labels()
        .position(SeriesLabelPosition::UpperRight)
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .draw()
        .map_err(err)?;
    root.present().map_err(err)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_an_svg_with_both_panels() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("curves.svg");
        let records: Vec<EpochRecord> = (1..=4)
            .map(|e| EpochRecord {
                epoch: e,
                lr: 0.01,
                train_loss: 10.0 / e as f64,
                accuracy: (e % 2 == 0).then_some(50.0 + e as f64),
                mae: None,
                seconds: 1.0,
                images_per_second: 1.0,
            })
            .collect();
        training_curves(&path, "t", 1, &records).unwrap();
        let svg = std::fs::read_to_string(&path).unwrap();
        assert!(svg.starts_with("<svg"));
        assert!(svg.contains("training loss"));
        assert!(svg.contains("test accuracy"));
        assert!(svg.matches("<polyline").count() >= 2, "two curves");
    }

    #[test]
    fn the_sphere_figure_labels_its_axes_and_names_each_class() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sphere.svg");
        // Four outputs on the axes of S^2, two classes, rotations 0..=180.
        let outputs = [1.0, 0.0, 0.0, 0.0, 2.0, 0.0, 0.0, 0.0, 3.0, -1.0, 0.0, 0.0];
        let names = ["two".to_string(), "three".to_string()];
        sphere_figure(
            &path,
            &outputs,
            &[0, 1, 1, 0],
            &[0.0, 60.0, 120.0, 180.0],
            &names,
        )
        .unwrap();
        let svg = std::fs::read_to_string(&path).unwrap();
        for text in [
            "z1 / |z|",
            "cosine to the pole",
            "two",
            "three",
            "rotation 0",
            "rotation 180",
        ] {
            assert!(svg.contains(text), "no {text}");
        }
        assert!(sphere_figure(&path, &outputs[..9], &[0, 1, 1, 0], &[0.0; 4], &names).is_err());
    }
}
