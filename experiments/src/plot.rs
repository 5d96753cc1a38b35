//! Plots drawn with plotters into PNG files, with an embedded font (DejaVu
//! Sans) so that text renders on machines without fonts installed.

use crate::run_dir::produce_png;
use anyhow::{anyhow, Result};
use plotters::prelude::*;
use std::path::Path;
use std::sync::Once;

static FONT: Once = Once::new();

pub(crate) fn ensure_font() {
    FONT.call_once(|| {
        let bytes: &'static [u8] = include_bytes!("../assets/DejaVuSans.ttf");
        plotters::style::register_font("sans-serif", FontStyle::Normal, bytes).map_err(|_| ()).expect("embedded font is valid");
    });
}

/// A horizontal reference line, e.g. a "solved" threshold or a published score.
#[derive(Debug, Clone)]
pub struct Reference {
    /// Its value.
    pub value: f64,
    /// Its label in the legend.
    pub label: String,
}

/// The published score for `env` among `published` (`(environment, score,
/// label)`), as a reference line.
pub fn published_reference(published: &[(&str, f64, &str)], env: &str) -> Option<Reference> {
    published.iter().find(|p| p.0 == env).map(|&(_, value, label)| Reference { value, label: label.into() })
}

/// One named series of points.
#[derive(Debug, Clone)]
pub struct Series {
    /// Label in the legend.
    pub label: String,
    /// `(x, y)` points.
    pub points: Vec<(f64, f64)>,
}

/// Mean of the last `window` values at each point (the running "last-100" curve).
pub fn rolling_mean(points: &[(f64, f64)], window: usize) -> Vec<(f64, f64)> {
    let mut sum = 0.0;
    points
        .iter()
        .enumerate()
        .map(|(i, &(x, y))| {
            sum += y;
            if i >= window {
                sum -= points[i - window].1;
            }
            (x, sum / (i + 1).min(window) as f64)
        })
        .collect()
}

fn bounds(series: &[&[(f64, f64)]], extra_y: &[f64]) -> (f64, f64, f64, f64) {
    let pts = series.iter().flat_map(|s| s.iter()).filter(|p| p.0.is_finite() && p.1.is_finite());
    let (mut x0, mut x1, mut y0, mut y1) = (f64::MAX, f64::MIN, f64::MAX, f64::MIN);
    for &(x, y) in pts {
        x0 = x0.min(x);
        x1 = x1.max(x);
        y0 = y0.min(y);
        y1 = y1.max(y);
    }
    for &y in extra_y {
        y0 = y0.min(y);
        y1 = y1.max(y);
    }
    if x0 > x1 {
        (x0, x1, y0, y1) = (0.0, 1.0, 0.0, 1.0);
    }
    if x1 <= x0 {
        x1 = x0 + 1.0;
    }
    let pad = ((y1 - y0) * 0.05).max(1e-6);
    (x0.min(0.0), x1, y0 - pad, y1 + pad)
}

/// Matplotlib's `tab10` colours: class scatters use all ten, line plots the first eight.
const TAB10: [RGBColor; 10] = [
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
pub(crate) const PALETTE: &[RGBColor] = TAB10.split_at(8).0;

type Area<'b> = DrawingArea<BitMapBackend<'b>, plotters::coord::Shift>;
type Chart<'a, 'b> = ChartContext<'a, BitMapBackend<'b>, Cartesian2d<plotters::coord::types::RangedCoordf64, plotters::coord::types::RangedCoordf64>>;

/// A linear chart over `(x0..x1, y0..y1)` with the house mesh (steps on x).
fn linear_chart<'a, 'b>(area: &'a Area<'b>, title: &str, (x0, x1, y0, y1): (f64, f64, f64, f64), y_desc: &str) -> Result<Chart<'a, 'b>> {
    linear_chart_x(area, title, (x0, x1, y0, y1), "environment steps", y_desc)
}

/// [`linear_chart`] with another x axis label (plain numbers).
fn linear_chart_x<'a, 'b>(area: &'a Area<'b>, title: &str, (x0, x1, y0, y1): (f64, f64, f64, f64), x_desc: &str, y_desc: &str) -> Result<Chart<'a, 'b>> {
    let mut chart = ChartBuilder::on(area)
        .caption(title, ("sans-serif", 24))
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(60)
        .build_cartesian_2d(x0..x1, y0..y1)
        .map_err(|e| anyhow!("plot: {e}"))?;
    chart
        .configure_mesh()
        .x_desc(x_desc)
        .y_desc(y_desc)
        .x_label_formatter(&|x| format_steps(*x))
        .light_line_style(RGBColor(235, 235, 235))
        .label_style(("sans-serif", 14))
        .draw()
        .map_err(|e| anyhow!("plot: {e}"))?;
    Ok(chart)
}

/// Dashed horizontal lines for `references`, coloured from `PALETTE[first_color..]`.
fn draw_references(chart: &mut Chart<'_, '_>, references: &[Reference], x0: f64, x1: f64, first_color: usize) -> Result<()> {
    for (k, r) in references.iter().enumerate() {
        let color = PALETTE[(first_color + k) % PALETTE.len()];
        chart
            .draw_series(DashedLineSeries::new(vec![(x0, r.value), (x1, r.value)], 8, 5, color.stroke_width(2)))
            .map_err(|e| anyhow!("plot: {e}"))?
            .label(r.label.clone())
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], color.stroke_width(2)));
    }
    Ok(())
}

/// The legend box, lower right.
fn draw_legend<'a, 'b: 'a>(chart: &mut Chart<'a, 'b>) -> Result<()> {
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::LowerRight)
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK.mix(0.3))
        .label_font(("sans-serif", 14))
        .draw()
        .map_err(|e| anyhow!("plot: {e}"))
}

/// A learning curve: every episode's return as a faint dot, the mean of the
/// last `window` episodes as a line, optional reference lines; below it, an
/// optional second panel (for example the TD loss) on a log scale.
pub fn learning_curve(path: &Path, title: &str, episodes: &[(f64, f64)], window: usize, references: &[Reference], lower: Option<&Series>) -> Result<()> {
    ensure_font();
    produce_png(path, |tmp| {
        let root = BitMapBackend::new(tmp, (1000, if lower.is_some() { 750 } else { 520 })).into_drawing_area();
        root.fill(&WHITE).map_err(|e| anyhow!("plot: {e}"))?;
        let (top, bottom) = match lower {
            Some(_) => {
                let (a, b) = root.split_vertically(500);
                (a, Some(b))
            }
            None => (root.clone(), None),
        };
        let smooth = rolling_mean(episodes, window);
        let refs: Vec<f64> = references.iter().map(|r| r.value).collect();
        let (x0, x1, y0, y1) = bounds(&[episodes], &refs);
        let mut chart = linear_chart(&top, title, (x0, x1, y0, y1), "episode return")?;
        chart
            .draw_series(episodes.iter().map(|&(x, y)| Circle::new((x, y), 1, PALETTE[0].mix(0.25).filled())))
            .map_err(|e| anyhow!("plot: {e}"))?
            .label("episode return")
            .legend(|(x, y)| Circle::new((x + 10, y), 3, PALETTE[0].mix(0.4).filled()));
        chart
            .draw_series(LineSeries::new(smooth, PALETTE[0].stroke_width(3)))
            .map_err(|e| anyhow!("plot: {e}"))?
            .label(format!("mean of last {window}"))
            .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], PALETTE[0].stroke_width(3)));
        draw_references(&mut chart, references, x0, x1, 3)?;
        draw_legend(&mut chart)?;
        if let (Some(area), Some(series)) = (bottom, lower) {
            let pts: Vec<(f64, f64)> = series.points.iter().copied().filter(|p| p.1.is_finite() && p.1 > 0.0).collect();
            let (_, _, _, ly1) = bounds(&[&pts], &[]);
            let ly0 = pts.iter().map(|p| p.1).fold(f64::MAX, f64::min).min(ly1 / 10.0).max(1e-12);
            let mut chart = ChartBuilder::on(&area)
                .margin(12)
                .x_label_area_size(40)
                .y_label_area_size(60)
                .build_cartesian_2d(x0..x1, (ly0..ly1.max(ly0 * 10.0)).log_scale())
                .map_err(|e| anyhow!("plot: {e}"))?;
            chart
                .configure_mesh()
                .x_desc("environment steps")
                .y_desc(series.label.as_str())
                .x_label_formatter(&|x| format_steps(*x))
                .light_line_style(RGBColor(235, 235, 235))
                .label_style(("sans-serif", 14))
                .draw()
                .map_err(|e| anyhow!("plot: {e}"))?;
            chart.draw_series(LineSeries::new(pts, PALETTE[1].stroke_width(1))).map_err(|e| anyhow!("plot: {e}"))?;
        }
        root.present().map_err(|e| anyhow!("plot: {e}"))?;
        Ok(())
    })
}

/// Several runs' smoothed curves on one chart (for example seeds 1-5 of one preset).
pub fn compare_curves(path: &Path, title: &str, runs: &[Series], window: usize, references: &[Reference]) -> Result<()> {
    ensure_font();
    produce_png(path, |tmp| {
        let root = BitMapBackend::new(tmp, (1000, 560)).into_drawing_area();
        root.fill(&WHITE).map_err(|e| anyhow!("plot: {e}"))?;
        let smooth: Vec<Vec<(f64, f64)>> = runs.iter().map(|r| rolling_mean(&r.points, window)).collect();
        let slices: Vec<&[(f64, f64)]> = smooth.iter().map(|s| s.as_slice()).collect();
        let refs: Vec<f64> = references.iter().map(|r| r.value).collect();
        let (x0, x1, y0, y1) = bounds(&slices, &refs);
        let mut chart = linear_chart(&root, title, (x0, x1, y0, y1), &format!("mean return of last {window} episodes"))?;
        for (k, (run, s)) in runs.iter().zip(smooth).enumerate() {
            let color = PALETTE[k % PALETTE.len()];
            chart
                .draw_series(LineSeries::new(s, color.stroke_width(2)))
                .map_err(|e| anyhow!("plot: {e}"))?
                .label(run.label.clone())
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], color.stroke_width(2)));
        }
        draw_references(&mut chart, references, x0, x1, runs.len())?;
        draw_legend(&mut chart)?;
        root.present().map_err(|e| anyhow!("plot: {e}"))?;
        Ok(())
    })
}

/// Student's t quantile t(0.975, df) for a 95% two-sided interval (df >= 1).
fn t975(df: usize) -> f64 {
    const T: [f64; 10] = [12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228];
    if df == 0 {
        f64::NAN
    } else if df <= T.len() {
        T[df - 1]
    } else {
        1.96 + 2.4 / df as f64
    }
}

/// Mean and half-width of the 95% interval (Student's t) of `values` (0 for one value).
pub fn mean_ci(values: &[f64]) -> (f64, f64) {
    let n = values.len() as f64;
    let m = values.iter().sum::<f64>() / n;
    if values.len() < 2 {
        return (m, 0.0);
    }
    let sd = (values.iter().map(|v| (v - m).powi(2)).sum::<f64>() / (n - 1.0)).sqrt();
    (m, t975(values.len() - 1) * sd / n.sqrt())
}

/// Piecewise-constant value of a step curve at `x` (the last point at or before `x`).
fn value_at(points: &[(f64, f64)], x: f64) -> Option<f64> {
    let i = points.partition_point(|p| p.0 <= x);
    (i > 0).then(|| points[i - 1].1)
}

/// Mean and 95% confidence interval (Student's t) across runs of the last-`window`
/// return, on a common grid of `grid` steps. Returns `(x, mean, low, high)`.
pub fn aggregate(runs: &[Series], window: usize, grid: usize) -> Vec<(f64, f64, f64, f64)> {
    let smooth: Vec<Vec<(f64, f64)>> = runs.iter().map(|r| rolling_mean(&r.points, window)).collect();
    let x_max = smooth.iter().filter_map(|s| s.last().map(|p| p.0)).fold(f64::MIN, f64::max);
    if smooth.is_empty() || x_max <= 0.0 {
        return Vec::new();
    }
    (0..=grid)
        .filter_map(|k| {
            let x = x_max * k as f64 / grid as f64;
            let ys: Vec<f64> = smooth.iter().filter_map(|s| value_at(s, x)).collect();
            if ys.len() < runs.len() {
                return None;
            }
            let (m, half) = mean_ci(&ys);
            Some((x, m, m - half, m + half))
        })
        .collect()
}

/// The mean over runs with its 95% interval as a band, reference lines and,
/// at the last step, each run's final deterministic evaluation (`final_evals`,
/// one per run; empty draws none): with an exploring behaviour policy (DQN's
/// epsilon-greedy) the training curve understates the trained policy.
pub fn aggregate_curve(path: &Path, title: &str, runs: &[Series], window: usize, references: &[Reference], final_evals: &[f64]) -> Result<()> {
    ensure_font();
    let agg = aggregate(runs, window, 400);
    produce_png(path, |tmp| {
        let root = BitMapBackend::new(tmp, (1000, 560)).into_drawing_area();
        root.fill(&WHITE).map_err(|e| anyhow!("plot: {e}"))?;
        let lows: Vec<(f64, f64)> = agg.iter().map(|a| (a.0, a.2)).collect();
        let highs: Vec<(f64, f64)> = agg.iter().map(|a| (a.0, a.3)).collect();
        let mut refs: Vec<f64> = references.iter().map(|r| r.value).collect();
        refs.extend(final_evals);
        let (x0, x1, y0, y1) = bounds(&[&lows, &highs], &refs);
        let mut chart = linear_chart(&root, title, (x0, x1, y0, y1), &format!("mean return of last {window} episodes"))?;
        let mut band: Vec<(f64, f64)> = highs.clone();
        band.extend(lows.iter().rev());
        chart
            .draw_series(std::iter::once(Polygon::new(band, PALETTE[0].mix(0.2).filled())))
            .map_err(|e| anyhow!("plot: {e}"))?
            .label(format!("95% interval over {} seeds", runs.len()))
            .legend(|(x, y)| Rectangle::new([(x, y - 5), (x + 20, y + 5)], PALETTE[0].mix(0.2).filled()));
        chart
            .draw_series(LineSeries::new(agg.iter().map(|a| (a.0, a.1)), PALETTE[0].stroke_width(3)))
            .map_err(|e| anyhow!("plot: {e}"))?
            .label("mean")
            .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], PALETTE[0].stroke_width(3)));
        if let Some(&(x_end, ..)) = agg.last() {
            let color = PALETTE[2];
            chart
                .draw_series(final_evals.iter().map(|&v| TriangleMarker::new((x_end, v), 7, color.filled())))
                .map_err(|e| anyhow!("plot: {e}"))?
                .label("deterministic evaluation at the end (each seed)")
                .legend(move |(x, y)| TriangleMarker::new((x + 10, y), 6, color.filled()));
        }
        draw_references(&mut chart, references, x0, x1, 3)?;
        draw_legend(&mut chart)?;
        root.present().map_err(|e| anyhow!("plot: {e}"))?;
        Ok(())
    })
}

/// Several configs' curves, each the mean over its runs (seeds) with a 95%
/// band (see [`aggregate`]; `window` 1 for curves that need no smoothing).
pub fn compare_aggregates(path: &Path, title: &str, configs: &[(String, Vec<Series>)], window: usize, references: &[Reference], y_desc: &str) -> Result<()> {
    ensure_font();
    let aggs: Vec<Vec<(f64, f64, f64, f64)>> = configs.iter().map(|(_, runs)| aggregate(runs, window, 200)).collect();
    produce_png(path, |tmp| {
        let root = BitMapBackend::new(tmp, (1000, 600)).into_drawing_area();
        root.fill(&WHITE).map_err(|e| anyhow!("plot: {e}"))?;
        let lows: Vec<Vec<(f64, f64)>> = aggs.iter().map(|a| a.iter().map(|p| (p.0, p.2)).collect()).collect();
        let highs: Vec<Vec<(f64, f64)>> = aggs.iter().map(|a| a.iter().map(|p| (p.0, p.3)).collect()).collect();
        let mut slices: Vec<&[(f64, f64)]> = lows.iter().map(|s| s.as_slice()).collect();
        slices.extend(highs.iter().map(|s| s.as_slice()));
        let refs: Vec<f64> = references.iter().map(|r| r.value).collect();
        let (x0, x1, y0, y1) = bounds(&slices, &refs);
        let mut chart = linear_chart(&root, title, (x0, x1, y0, y1), y_desc)?;
        for (k, ((label, runs), agg)) in configs.iter().zip(&aggs).enumerate() {
            let color = PALETTE[k % PALETTE.len()];
            let mut band: Vec<(f64, f64)> = agg.iter().map(|p| (p.0, p.3)).collect();
            band.extend(agg.iter().rev().map(|p| (p.0, p.2)));
            chart.draw_series(std::iter::once(Polygon::new(band, color.mix(0.15).filled()))).map_err(|e| anyhow!("plot: {e}"))?;
            chart
                .draw_series(LineSeries::new(agg.iter().map(|p| (p.0, p.1)), color.stroke_width(2)))
                .map_err(|e| anyhow!("plot: {e}"))?
                .label(format!("{label} ({} seeds)", runs.len()))
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], color.stroke_width(2)));
        }
        draw_references(&mut chart, references, x0, x1, configs.len())?;
        draw_legend(&mut chart)?;
        root.present().map_err(|e| anyhow!("plot: {e}"))?;
        Ok(())
    })
}

/// Curves over epochs (e.g. train and test loss), with a dot per epoch.
pub fn epoch_curves(path: &Path, title: &str, series: &[Series], y_desc: &str) -> Result<()> {
    curves(path, title, series, "epoch", y_desc)
}

/// Lines with points of each series against `x_desc` (iterations, epochs), with a legend.
pub fn curves(path: &Path, title: &str, series: &[Series], x_desc: &str, y_desc: &str) -> Result<()> {
    ensure_font();
    produce_png(path, |tmp| {
        let root = BitMapBackend::new(tmp, (900, 520)).into_drawing_area();
        root.fill(&WHITE).map_err(|e| anyhow!("plot: {e}"))?;
        let slices: Vec<&[(f64, f64)]> = series.iter().map(|s| s.points.as_slice()).collect();
        let (_, x1, y0, y1) = bounds(&slices, &[]);
        let mut chart = linear_chart_x(&root, title, (0.0, x1 * 1.01 + 0.5, y0, y1), x_desc, y_desc)?;
        for (k, s) in series.iter().enumerate() {
            let color = PALETTE[k % PALETTE.len()];
            chart
                .draw_series(LineSeries::new(s.points.clone(), color.stroke_width(2)).point_size(4))
                .map_err(|e| anyhow!("plot: {e}"))?
                .label(s.label.clone())
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], color.stroke_width(2)));
        }
        draw_legend(&mut chart)?;
        root.present().map_err(|e| anyhow!("plot: {e}"))?;
        Ok(())
    })
}

/// A scatter of 2-D points coloured by class (0-9), with a legend of class names.
pub fn class_scatter(path: &Path, title: &str, points: &[(f64, f64, u8)], class_names: &[&str]) -> Result<()> {
    ensure_font();
    produce_png(path, |tmp| {
        let root = BitMapBackend::new(tmp, (900, 800)).into_drawing_area();
        root.fill(&WHITE).map_err(|e| anyhow!("plot: {e}"))?;
        let xy: Vec<(f64, f64)> = points.iter().map(|p| (p.0, p.1)).collect();
        let (x0, x1, y0, y1) = bounds(&[&xy], &[]);
        let x0 = xy.iter().map(|p| p.0).fold(f64::MAX, f64::min).min(x0);
        let mut chart = linear_chart_x(&root, title, (x0, x1, y0, y1), "z1", "z2")?;
        for (c, name) in class_names.iter().enumerate().take(10) {
            let color = TAB10[c];
            chart
                .draw_series(points.iter().filter(|p| p.2 as usize == c).map(|p| Circle::new((p.0, p.1), 2, color.mix(0.6).filled())))
                .map_err(|e| anyhow!("plot: {e}"))?
                .label(name.to_string())
                .legend(move |(x, y)| Circle::new((x + 10, y), 4, color.filled()));
        }
        draw_legend(&mut chart)?;
        root.present().map_err(|e| anyhow!("plot: {e}"))?;
        Ok(())
    })
}

/// Panels of 2-D samples (one per snapshot, e.g. over training), with the true
/// mode centres as red crosses under the samples, on a shared square range `[-lim, lim]^2`.
pub fn sample_panels(path: &Path, title: &str, panels: &[(String, Vec<f32>)], modes: &[[f64; 2]], lim: f64) -> Result<()> {
    ensure_font();
    let cols = panels.len().clamp(1, 4);
    let rows = panels.len().div_ceil(cols).max(1);
    produce_png(path, |tmp| {
        let root = BitMapBackend::new(tmp, (300 * cols as u32, 300 * rows as u32 + 40)).into_drawing_area();
        root.fill(&WHITE).map_err(|e| anyhow!("plot: {e}"))?;
        let root = root.titled(title, ("sans-serif", 22)).map_err(|e| anyhow!("plot: {e}"))?;
        for (area, (label, pts)) in root.split_evenly((rows, cols)).iter().zip(panels) {
            let mut chart = ChartBuilder::on(area)
                .caption(label, ("sans-serif", 16))
                .margin(6)
                .x_label_area_size(20)
                .y_label_area_size(30)
                .build_cartesian_2d(-lim..lim, -lim..lim)
                .map_err(|e| anyhow!("plot: {e}"))?;
            chart.configure_mesh().light_line_style(RGBColor(240, 240, 240)).label_style(("sans-serif", 11)).draw().map_err(|e| anyhow!("plot: {e}"))?;
            // Mode markers first, so that they never hide a tight cluster of samples.
            chart.draw_series(modes.iter().map(|m| Cross::new((m[0], m[1]), 5, RED.mix(0.6).stroke_width(1)))).map_err(|e| anyhow!("plot: {e}"))?;
            chart
                .draw_series(pts.chunks_exact(2).map(|p| Circle::new((f64::from(p[0]), f64::from(p[1])), 1, PALETTE[0].mix(0.35).filled())))
                .map_err(|e| anyhow!("plot: {e}"))?;
        }
        root.present().map_err(|e| anyhow!("plot: {e}"))?;
        Ok(())
    })
}

/// `250000` -> `250k`, `1500000` -> `1.5M`.
fn format_steps(x: f64) -> String {
    if x.abs() >= 1e6 {
        format!("{}M", (x / 1e5).round() / 10.0)
    } else if x.abs() >= 1e3 {
        format!("{}k", (x / 1e2).round() / 10.0)
    } else {
        format!("{x}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aggregate_gives_mean_and_a_t_interval() {
        let run = |y: f64| Series { label: String::new(), points: vec![(0.0, y), (100.0, y)] };
        let agg = aggregate(&[run(1.0), run(2.0), run(3.0)], 1, 4);
        let (x, m, lo, hi) = agg[2];
        assert_eq!((x, m), (50.0, 2.0));
        // sd 1, n 3: half width t(0.975, 2) / sqrt(3).
        assert!((hi - m - 4.303 / 3f64.sqrt()).abs() < 1e-9 && (m - lo - 4.303 / 3f64.sqrt()).abs() < 1e-9);
        assert_eq!(rolling_mean(&[(0.0, 1.0), (1.0, 3.0), (2.0, 5.0)], 2), vec![(0.0, 1.0), (1.0, 2.0), (2.0, 4.0)]);
    }
}
