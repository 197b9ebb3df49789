//! PNG plots with plotters: predicted vs actual, residuals, importance, partial dependence,
//! learning curves (dense, or sparse points) and confusion matrices.

use std::path::Path;

use plotters::prelude::*;

use crate::error::{BoxError, EvalError};
use crate::explain::{Importance, PartialDependence};

const WIDTH: u32 = 900;
const HEIGHT: u32 = 640;

fn draw_error(path: &Path, error: impl Into<BoxError>) -> EvalError {
    EvalError::Draw {
        path: path.to_path_buf(),
        source: error.into(),
    }
}

/// Draws into a temporary file next to `path`, then renames it, so a reader never sees half a PNG.
fn atomic_png(
    path: &Path,
    size: (u32, u32),
    draw: impl FnOnce(&DrawingArea<BitMapBackend<'_>, plotters::coord::Shift>) -> Result<(), BoxError>,
) -> Result<(), EvalError> {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(|e| EvalError::write(path, e))?;
    }
    // The bitmap backend picks the image format from the extension, so the temporary file
    // keeps `.png` at the end.
    let stem = path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let temporary = path.with_file_name(format!(".{stem}.partial.png"));
    {
        let root = BitMapBackend::new(&temporary, size).into_drawing_area();
        root.fill(&WHITE).map_err(|e| draw_error(path, e))?;
        draw(&root).map_err(|e| draw_error(path, e))?;
        root.present().map_err(|e| draw_error(path, e))?;
    }
    std::fs::rename(&temporary, path).map_err(|e| EvalError::write(path, e))
}

fn bounds(values: impl Iterator<Item = f64>) -> (f64, f64) {
    let (min, max) = values
        .filter(|v| v.is_finite())
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
            (lo.min(v), hi.max(v))
        });
    if !min.is_finite() {
        return (0.0, 1.0);
    }
    if min == max {
        return (min - 0.5, max + 0.5);
    }
    let pad = (max - min) * 0.05;
    (min - pad, max + pad)
}

/// A chart on f64 axes.
type XyChart<'a, 'b> = ChartContext<
    'a,
    BitMapBackend<'b>,
    plotters::coord::cartesian::Cartesian2d<
        plotters::coord::types::RangedCoordf64,
        plotters::coord::types::RangedCoordf64,
    >,
>;

/// The set-up every scatter, histogram and line plot shares: a title, f64 axes over `x` and `y`,
/// and a mesh with the axes described.
fn xy_chart<'a, 'b>(
    root: &'a DrawingArea<BitMapBackend<'b>, plotters::coord::Shift>,
    title: &str,
    (x, y): ((f64, f64), (f64, f64)),
    x_label: &str,
    y_label: &str,
) -> Result<XyChart<'a, 'b>, BoxError> {
    let mut chart = ChartBuilder::on(root)
        .caption(title, ("sans-serif", 22))
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(60)
        .build_cartesian_2d(x.0..x.1, y.0..y.1)?;
    chart
        .configure_mesh()
        .x_desc(x_label)
        .y_desc(y_label)
        .draw()?;
    Ok(chart)
}

/// A scatter plot of predicted against true values, with the diagonal.
pub fn predicted_vs_actual(
    path: &Path,
    title: &str,
    truth: &[f64],
    predicted: &[f64],
) -> Result<(), EvalError> {
    let (low, high) = bounds(truth.iter().chain(predicted).copied());
    atomic_png(path, (HEIGHT, HEIGHT), |root| {
        let mut chart = xy_chart(
            root,
            title,
            ((low, high), (low, high)),
            "true value",
            "predicted value",
        )?;
        chart.draw_series(
            truth
                .iter()
                .zip(predicted)
                .map(|(&t, &p)| Circle::new((t, p), 2, BLUE.mix(0.25).filled())),
        )?;
        chart.draw_series(LineSeries::new(
            [(low, low), (high, high)],
            RED.stroke_width(2),
        ))?;
        Ok(())
    })
}

/// Intervals against the truth for a sample of rows, ordered by prediction: for each row a grey
/// bar from `low` to `high`, a small black tick at the prediction, and its true value as a dot,
/// green when the interval holds it and red when not.
pub fn intervals(
    path: &Path,
    title: &str,
    truth: &[f64],
    predicted: &[f64],
    bounds: &[(f64, f64)],
) -> Result<(), EvalError> {
    let n = truth.len().min(predicted.len()).min(bounds.len());
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by(|&a, &b| predicted[a].total_cmp(&predicted[b]));
    let values = || {
        truth[..n]
            .iter()
            .chain(&predicted[..n])
            .copied()
            .chain(bounds[..n].iter().flat_map(|&(l, h)| [l, h]))
    };
    let (low, high) = self::bounds(values());
    atomic_png(path, (WIDTH, HEIGHT), |root| {
        let mut chart = xy_chart(
            root,
            title,
            ((0.0, n.max(1) as f64), (low, high)),
            "tracks, by predicted value",
            "value",
        )?;
        let at = |rank: usize| rank as f64 + 0.5;
        chart.draw_series(order.iter().enumerate().map(|(rank, &row)| {
            let (l, h) = bounds[row];
            PathElement::new(
                vec![(at(rank), l), (at(rank), h)],
                BLACK.mix(0.25).stroke_width(3),
            )
        }))?;
        chart.draw_series(
            order
                .iter()
                .enumerate()
                .map(|(rank, &row)| Circle::new((at(rank), predicted[row]), 1, BLACK.filled())),
        )?;
        chart.draw_series(order.iter().enumerate().map(|(rank, &row)| {
            let (l, h) = bounds[row];
            let inside = (l..=h).contains(&truth[row]);
            let color = if inside { GREEN.mix(0.8) } else { RED.mix(0.9) };
            Circle::new((at(rank), truth[row]), 3, color.filled())
        }))?;
        Ok(())
    })
}

/// A reliability diagram: for each set of bins, the accuracy of each non-empty bin against its
/// mean top-class probability, joined by a line, with the diagonal of perfect calibration.
pub fn reliability(
    path: &Path,
    title: &str,
    curves: &[(&str, &[crate::calibration::ReliabilityBin])],
) -> Result<(), EvalError> {
    let colors = [RED, BLUE, GREEN, MAGENTA];
    atomic_png(path, (HEIGHT, HEIGHT), |root| {
        let mut chart = xy_chart(
            root,
            title,
            ((0.0, 1.0), (0.0, 1.0)),
            "mean top-class probability",
            "accuracy",
        )?;
        chart.draw_series(LineSeries::new(
            [(0.0, 0.0), (1.0, 1.0)],
            BLACK.mix(0.4).stroke_width(1),
        ))?;
        for (index, (label, bins)) in curves.iter().enumerate() {
            let color = colors[index % colors.len()];
            let points: Vec<(f64, f64)> = bins
                .iter()
                .filter(|b| b.rows > 0)
                .map(|b| (b.confidence, b.accuracy))
                .collect();
            chart
                .draw_series(LineSeries::new(points.clone(), color.stroke_width(2)))?
                .label(*label)
                .legend(move |(x, y)| {
                    PathElement::new(vec![(x, y), (x + 16, y)], color.stroke_width(2))
                });
            chart.draw_series(
                points
                    .into_iter()
                    .map(|p| Circle::new(p, 4, color.filled())),
            )?;
        }
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperLeft)
            .background_style(WHITE.mix(0.8))
            .border_style(BLACK)
            .draw()?;
        Ok(())
    })
}

/// A histogram of residuals (true − predicted).
pub fn residuals(
    path: &Path,
    title: &str,
    truth: &[f64],
    predicted: &[f64],
) -> Result<(), EvalError> {
    let residuals: Vec<f64> = truth.iter().zip(predicted).map(|(t, p)| t - p).collect();
    let (low, high) = bounds(residuals.iter().copied());
    let bins = 40usize;
    let width = (high - low) / bins as f64;
    let mut counts = vec![0u32; bins];
    for r in &residuals {
        let bin = (((r - low) / width) as usize).min(bins - 1);
        counts[bin] += 1;
    }
    let top = counts.iter().copied().max().unwrap_or(1) as f64 * 1.1;
    atomic_png(path, (WIDTH, HEIGHT), |root| {
        let mut chart = xy_chart(
            root,
            title,
            ((low, high), (0.0, top)),
            "residual (true − predicted)",
            "tracks",
        )?;
        chart.draw_series(counts.iter().enumerate().map(|(i, &c)| {
            let x0 = low + i as f64 * width;
            Rectangle::new(
                [(x0, 0.0), (x0 + width * 0.95, c as f64)],
                BLUE.mix(0.6).filled(),
            )
        }))?;
        Ok(())
    })
}

/// Horizontal bars of importance, largest at the top, with ± one standard deviation where given.
pub fn importance(
    path: &Path,
    title: &str,
    x_label: &str,
    items: &[Importance],
) -> Result<(), EvalError> {
    let n = items.len().max(1);
    let (low, high) = bounds(
        items
            .iter()
            .flat_map(|i| [i.mean - i.sd, i.mean + i.sd, 0.0]),
    );
    let height = (80 + 24 * n as u32).max(300);
    // Row r (0 at the bottom) shows item n − 1 − r, so the first item is on top.
    let item_at = |row: usize| (row < n).then(|| items.get(n - 1 - row)).flatten();
    atomic_png(path, (WIDTH, height), |root| {
        let mut chart = ChartBuilder::on(root)
            .caption(title, ("sans-serif", 22))
            .margin(12)
            .x_label_area_size(40)
            .y_label_area_size(150)
            .build_cartesian_2d(low..high, (0..n).into_segmented())?;
        chart
            .configure_mesh()
            .disable_y_mesh()
            .y_labels(n)
            .y_label_formatter(&|value| match value {
                SegmentValue::CenterOf(row) => {
                    item_at(*row).map(|i| i.feature.clone()).unwrap_or_default()
                }
                _ => String::new(),
            })
            .x_desc(x_label)
            .draw()?;
        chart.draw_series((0..items.len()).filter_map(|row| {
            let item = item_at(row)?;
            Some(Rectangle::new(
                [
                    (0.0, SegmentValue::Exact(row)),
                    (item.mean, SegmentValue::Exact(row + 1)),
                ],
                GREEN.mix(0.7).filled(),
            ))
        }))?;
        chart.draw_series((0..items.len()).filter_map(|row| {
            let item = item_at(row).filter(|i| i.sd > 0.0)?;
            Some(PathElement::new(
                [
                    (item.mean - item.sd, SegmentValue::CenterOf(row)),
                    (item.mean + item.sd, SegmentValue::CenterOf(row)),
                ],
                BLACK.stroke_width(2),
            ))
        }))?;
        Ok(())
    })
}

/// Small multiples of partial-dependence curves, one panel per feature.
pub fn partial_dependence(
    path: &Path,
    title: &str,
    curves: &[PartialDependence],
) -> Result<(), EvalError> {
    let columns = 3usize;
    let rows = curves.len().div_ceil(columns).max(1);
    let (low, high) = bounds(
        curves
            .iter()
            .flat_map(|c| c.mean_prediction.iter().copied()),
    );
    atomic_png(path, (WIDTH + 300, 60 + 300 * rows as u32), |root| {
        let root = root.titled(title, ("sans-serif", 24))?;
        let panels = root.split_evenly((rows, columns));
        for (panel, curve) in panels.iter().zip(curves) {
            let (x_low, x_high) = bounds(curve.grid.iter().copied());
            let mut chart = ChartBuilder::on(panel)
                .caption(&curve.feature, ("sans-serif", 18))
                .margin(8)
                .x_label_area_size(30)
                .y_label_area_size(45)
                .build_cartesian_2d(x_low..x_high, low..high)?;
            chart.configure_mesh().x_labels(5).y_labels(5).draw()?;
            chart.draw_series(LineSeries::new(
                curve
                    .grid
                    .iter()
                    .copied()
                    .zip(curve.mean_prediction.iter().copied()),
                BLUE.stroke_width(2),
            ))?;
        }
        Ok(())
    })
}

/// Lines of named series over epochs (the first value is epoch 1), such as training and
/// validation loss.
pub fn learning_curves(
    path: &Path,
    title: &str,
    y_label: &str,
    series: &[(&str, &[f64])],
) -> Result<(), EvalError> {
    let points: Vec<Vec<(f64, f64)>> = series
        .iter()
        .map(|(_, values)| {
            values
                .iter()
                .enumerate()
                .map(|(epoch, &v)| ((epoch + 1) as f64, v))
                .collect()
        })
        .collect();
    let named: Vec<(&str, &[(f64, f64)])> = series
        .iter()
        .zip(&points)
        .map(|((name, _), p)| (*name, p.as_slice()))
        .collect();
    point_curves(path, title, "epoch", y_label, &named)
}

/// Lines with markers of named series of `(x, y)` points that need not share their x values,
/// such as a validation accuracy every epoch and a training accuracy at a few epochs.
pub fn point_curves(
    path: &Path,
    title: &str,
    x_label: &str,
    y_label: &str,
    series: &[(&str, &[(f64, f64)])],
) -> Result<(), EvalError> {
    let finite = |p: &&(f64, f64)| p.0.is_finite() && p.1.is_finite();
    let (x_low, x_high) = bounds(
        series
            .iter()
            .flat_map(|(_, v)| v.iter().filter(finite).map(|p| p.0)),
    );
    let (low, high) = bounds(
        series
            .iter()
            .flat_map(|(_, v)| v.iter().filter(finite).map(|p| p.1)),
    );
    let colours = [BLUE, RED, GREEN, MAGENTA, CYAN, BLACK];
    atomic_png(path, (WIDTH, HEIGHT), |root| {
        let mut chart = xy_chart(
            root,
            title,
            ((x_low, x_high), (low, high)),
            x_label,
            y_label,
        )?;
        for (i, (name, points)) in series.iter().enumerate() {
            let colour = colours[i % colours.len()];
            let points: Vec<(f64, f64)> = points.iter().filter(finite).copied().collect();
            chart
                .draw_series(LineSeries::new(
                    points.iter().copied(),
                    colour.stroke_width(2),
                ))?
                .label(*name)
                .legend(move |(x, y)| {
                    PathElement::new([(x, y), (x + 20, y)], colour.stroke_width(2))
                });
            if points.len() <= 40 {
                chart.draw_series(points.iter().map(|&p| Circle::new(p, 4, colour.filled())))?;
            }
        }
        chart
            .configure_series_labels()
            .background_style(WHITE.mix(0.8))
            .border_style(BLACK)
            .draw()?;
        Ok(())
    })
}

/// A confusion-matrix heatmap: rows are true classes (top to bottom), columns predicted, each
/// labelled with its class name at the centre of its cells; every cell shows its count and its
/// share of the row, and is shaded by that share.
pub fn confusion_matrix(
    path: &Path,
    title: &str,
    classes: &[String],
    counts: &[Vec<usize>],
) -> Result<(), EvalError> {
    let n = classes.len();
    if n == 0 || counts.len() != n || counts.iter().any(|row| row.len() != n) {
        return Err(EvalError::Invalid(format!(
            "a confusion matrix over {n} classes needs {n}×{n} counts"
        )));
    }
    let longest = classes.iter().map(|c| c.chars().count()).max().unwrap_or(4) as u32;
    let label_area = (40 + 9 * longest).max(80);
    let size = 160 + 110 * n as u32;
    atomic_png(path, (size + label_area, size), |root| {
        let mut chart = ChartBuilder::on(root)
            .caption(title, ("sans-serif", 22))
            .margin(16)
            .x_label_area_size(60)
            .y_label_area_size(label_area)
            // A segmented `0..m` range has the m + 1 segments 0..=m.
            .build_cartesian_2d((0..n - 1).into_segmented(), (0..n - 1).into_segmented())?;
        // Column c is class c; row r (0 at the bottom) is class n − 1 − r, so class 0 is on top.
        let name = |value: &SegmentValue<usize>, flip: bool| match value {
            SegmentValue::CenterOf(i) if *i < n => {
                let class = if flip { n - 1 - *i } else { *i };
                classes[class].clone()
            }
            _ => String::new(),
        };
        chart
            .configure_mesh()
            .disable_mesh()
            .x_labels(n)
            .y_labels(n)
            .x_label_formatter(&|v| name(v, false))
            .y_label_formatter(&|v| name(v, true))
            .x_label_style(("sans-serif", 16))
            .y_label_style(("sans-serif", 16))
            .x_desc("predicted class")
            .y_desc("true class")
            .draw()?;
        let mut cells = Vec::with_capacity(n * n);
        for (t, row) in counts.iter().enumerate() {
            let total = row.iter().sum::<usize>().max(1) as f64;
            for (p, &count) in row.iter().enumerate() {
                cells.push((p, n - 1 - t, count, count as f64 / total));
            }
        }
        chart.draw_series(cells.iter().map(|&(p, y, _, share)| {
            let colour = RGBColor(
                255 - (share * 200.0) as u8,
                255 - (share * 120.0) as u8,
                255,
            );
            Rectangle::new(
                [
                    (SegmentValue::Exact(p), SegmentValue::Exact(y)),
                    (SegmentValue::Exact(p + 1), SegmentValue::Exact(y + 1)),
                ],
                colour.filled(),
            )
        }))?;
        let centred = |size: u32| {
            ("sans-serif", size).into_font().color(&BLACK).pos(
                plotters::style::text_anchor::Pos::new(
                    plotters::style::text_anchor::HPos::Center,
                    plotters::style::text_anchor::VPos::Center,
                ),
            )
        };
        chart.draw_series(cells.iter().map(|&(p, y, count, share)| {
            Text::new(
                format!("{count} ({:.0}%)", 100.0 * share),
                (SegmentValue::CenterOf(p), SegmentValue::CenterOf(y)),
                centred(if n > 5 { 15 } else { 19 }),
            )
        }))?;
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Width and height of a PNG file, read from its header.
    fn png_size(path: &Path) -> (u32, u32) {
        let bytes = std::fs::read(path).unwrap();
        assert_eq!(
            &bytes[..8],
            b"\x89PNG\r\n\x1a\n",
            "{} is not a PNG",
            path.display()
        );
        let be = |at: usize| u32::from_be_bytes(bytes[at..at + 4].try_into().unwrap());
        (be(16), be(20))
    }

    #[test]
    fn every_plot_writes_a_whole_png_and_nothing_else() {
        let dir = tempfile::tempdir().unwrap();
        let file = |name: &str| dir.path().join(name);
        let truth = [0.1, 0.5, 0.9, 0.3];
        let predicted = [0.2, 0.4, 0.8, 0.35];
        predicted_vs_actual(&file("scatter.png"), "scatter", &truth, &predicted).unwrap();
        residuals(&file("residuals.png"), "residuals", &truth, &predicted).unwrap();
        let items: Vec<Importance> = ["energy", "danceability"]
            .iter()
            .map(|f| Importance {
                feature: f.to_string(),
                mean: 0.01,
                sd: 0.002,
            })
            .collect();
        importance(&file("importance.png"), "importance", "rise", &items).unwrap();
        let curve = PartialDependence {
            feature: "energy".into(),
            grid: vec![0.1, 0.5, 0.9],
            mean_prediction: vec![0.3, 0.4, 0.6],
            quantiles: vec![0.05, 0.5, 0.95],
        };
        partial_dependence(&file("pd.png"), "pd", &[curve]).unwrap();
        let (train, validation) = ([0.3, 0.2, 0.15], [0.32, 0.25, 0.24]);
        learning_curves(
            &file("curves.png"),
            "curves",
            "loss",
            &[("train", &train), ("validation", &validation)],
        )
        .unwrap();
        let classes = vec!["sad".to_string(), "happy".to_string()];
        confusion_matrix(&file("cm.png"), "cm", &classes, &[vec![5, 1], vec![2, 7]]).unwrap();

        assert_eq!(png_size(&file("scatter.png")), (HEIGHT, HEIGHT));
        assert_eq!(png_size(&file("curves.png")), (WIDTH, HEIGHT));
        let mut names: Vec<String> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        // No temporary `.partial.png` file is left behind.
        assert_eq!(
            names,
            [
                "cm.png",
                "curves.png",
                "importance.png",
                "pd.png",
                "residuals.png",
                "scatter.png"
            ]
        );
    }

    #[test]
    fn a_confusion_matrix_of_the_wrong_shape_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let classes = vec!["a".to_string(), "b".to_string()];
        let error = confusion_matrix(&dir.path().join("cm.png"), "cm", &classes, &[vec![1, 2]]);
        assert!(error.is_err());
        assert!(!dir.path().join("cm.png").exists());
    }
}
