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

/// The paper's Figure 5 for a joint model on S^2: each test output normalised to the sphere.
/// Left panel: the class plane (axes 1 and 2) seen from the pole, coloured by class. Right
/// panel: the angle in the class plane (x) against the cosine to the upper pole (y, the
/// regression axis), coloured by the true rotation from blue (smallest) to red (largest).
/// Written as a PNG without text (axes span [-1, 1] and [-pi, pi] x [-1, 1]).
pub fn sphere_figure(
    path: &Path,
    outputs: &[f32],
    labels: &[usize],
    targets: &[f32],
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
    let size = 520u32;
    let mut buffer = vec![255u8; (2 * size * size * 3) as usize];
    {
        let root = BitMapBackend::with_buffer(&mut buffer, (2 * size, size)).into_drawing_area();
        let (left, right) = root.split_horizontally(size);
        let mut a = ChartBuilder::on(&left)
            .margin(20)
            .build_cartesian_2d(-1.05f64..1.05, -1.05f64..1.05)
            .map_err(|e| plot_error(path, e))?;
        a.draw_series((0..=360).map(|deg| {
            let t = (deg as f64).to_radians();
            Circle::new((t.cos(), t.sin()), 1, BLACK.filled())
        }))
        .map_err(|e| plot_error(path, e))?;
        let mut b = ChartBuilder::on(&right)
            .margin(20)
            .build_cartesian_2d(-std::f64::consts::PI..std::f64::consts::PI, -1.05f64..1.05)
            .map_err(|e| plot_error(path, e))?;
        b.draw_series([-1.0, 0.0, 1.0].into_iter().flat_map(|y| {
            (0..=200).map(move |i| {
                let x = -std::f64::consts::PI + i as f64 * std::f64::consts::TAU / 200.0;
                Circle::new((x, y), 1, RGBColor(200, 200, 200).filled())
            })
        }))
        .map_err(|e| plot_error(path, e))?;
        for i in 0..n {
            let z = &outputs[3 * i..3 * i + 3];
            let norm = (z.iter().map(|v| v * v).sum::<f32>()).sqrt().max(1e-9);
            let (x0, x1, x2) = (
                (z[0] / norm) as f64,
                (z[1] / norm) as f64,
                (z[2] / norm) as f64,
            );
            let class = CLASS_COLOURS[labels[i] % CLASS_COLOURS.len()];
            a.draw_series(std::iter::once(Circle::new((x1, x2), 2, class.filled())))
                .map_err(|e| plot_error(path, e))?;
            let rot = ramp((targets[i] - lo) as f64 / span);
            b.draw_series(std::iter::once(Circle::new(
                (x2.atan2(x1), x0),
                2,
                rot.filled(),
            )))
            .map_err(|e| plot_error(path, e))?;
        }
        root.present().map_err(|e| plot_error(path, e))?;
    }
    image::save_buffer(
        path,
        &buffer,
        2 * size,
        size,
        image::ExtendedColorType::Rgb8,
    )
    .map_err(|e| plot_error(path, e))
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
}
