//! The statistics drawn in rliable's manner: interval estimates per group
//! (one panel per statistic), performance profiles with their bands, and
//! probability-of-improvement intervals.

use super::analysis::{KindAnalysis, ScoreScale};
use crate::plot::{ensure_font, PALETTE};
use crate::run_dir::produce_png;
use anyhow::{anyhow, Result};
use nnlab_stats::{Bootstrap, Estimate};
use plotters::prelude::*;
use std::path::Path;

fn err<E: std::fmt::Display>(e: E) -> anyhow::Error {
    anyhow!("plot: {e}")
}

/// Draws `intervals-<metric>.png`, `profiles-<metric>.png` and
/// `improvement-<metric>.png` into `out`, those that `analysis` has data for.
pub(super) fn draw(out: &Path, analysis: &KindAnalysis, bootstrap: &Bootstrap) -> Result<()> {
    if analysis.groups.is_empty() {
        return Ok(());
    }
    let scale = if analysis.scale == Some(ScoreScale::Normalised) { "normalised score" } else { analysis.metric.as_str() };
    let ci = format!("{:.0}% bootstrap CI", bootstrap.confidence * 100.0);
    let labels: Vec<String> = analysis.groups.iter().map(|g| g.group.clone()).collect();
    let panels: Vec<(String, Vec<Estimate>)> =
        analysis.statistics.iter().enumerate().map(|(k, s)| (s.label().to_string(), analysis.groups.iter().map(|g| g.estimates[k]).collect())).collect();
    intervals(&out.join(format!("intervals-{}.png", analysis.metric)), &format!("{} ({scale}), {ci}", analysis.metric), &labels, &panels, None)?;
    if !analysis.improvement.is_empty() {
        let relation = if analysis.higher_is_better { ">" } else { "<" };
        let labels: Vec<String> = analysis.improvement.iter().map(|i| format!("P({} {relation} {})", i.x, i.y)).collect();
        let estimates = analysis.improvement.iter().map(|i| i.estimate).collect();
        intervals(
            &out.join(format!("improvement-{}.png", analysis.metric)),
            &format!("probability of improvement, {}, {ci}", analysis.metric),
            &labels,
            &[("probability of improvement".to_string(), estimates)],
            Some(0.5),
        )?;
    }
    if let Some(p) = &analysis.profiles {
        profiles(
            &out.join(format!("profiles-{}.png", analysis.metric)),
            &format!("performance profiles, {}, {ci}", analysis.metric),
            scale,
            &p.taus,
            &p.groups,
        )?;
    }
    Ok(())
}

/// One panel per statistic: each row a horizontal interval with its point
/// estimate; `mark` draws a dashed vertical line (0.5 for improvement).
fn intervals(path: &Path, title: &str, labels: &[String], panels: &[(String, Vec<Estimate>)], mark: Option<f64>) -> Result<()> {
    ensure_font();
    let rows = labels.len();
    let label_width = labels.iter().map(|l| l.chars().count()).max().unwrap_or(4).clamp(4, 60) as u32 * 8 + 20;
    let panel_width = 260u32;
    let width = label_width + panel_width * panels.len() as u32;
    let height = 90 + 34 * rows as u32;
    produce_png(path, |tmp| {
        let root = BitMapBackend::new(tmp, (width, height)).into_drawing_area();
        root.fill(&WHITE).map_err(err)?;
        let root = root.titled(title, ("sans-serif", 18)).map_err(err)?;
        let (left, right) = root.split_horizontally(label_width);
        // The group names, aligned with the rows of every panel.
        let label_area = left.margin(34, 40, 4, 4);
        let row_height = label_area.dim_in_pixel().1 as f64 / rows as f64;
        for (k, label) in labels.iter().enumerate() {
            let y = (row_height * (k as f64 + 0.5)) as i32 - 7;
            label_area.draw(&Text::new(label.clone(), (0, y), ("sans-serif", 14))).map_err(err)?;
        }
        for (area, (name, estimates)) in right.split_evenly((1, panels.len())).iter().zip(panels) {
            let (mut lo, mut hi) = estimates.iter().fold((f64::MAX, f64::MIN), |(a, b), e| (a.min(e.lower), b.max(e.upper)));
            if let Some(m) = mark {
                (lo, hi) = (lo.min(m), hi.max(m));
            }
            let pad = ((hi - lo) * 0.08).max(1e-3);
            let mut chart = ChartBuilder::on(area)
                .caption(name, ("sans-serif", 15))
                .margin(6)
                .x_label_area_size(28)
                .build_cartesian_2d(lo - pad..hi + pad, rows as f64..0.0)
                .map_err(err)?;
            chart.configure_mesh().disable_y_mesh().y_labels(0).x_labels(4).label_style(("sans-serif", 11)).draw().map_err(err)?;
            if let Some(m) = mark {
                chart.draw_series(DashedLineSeries::new(vec![(m, 0.0), (m, rows as f64)], 4, 4, BLACK.mix(0.5).stroke_width(1))).map_err(err)?;
            }
            for (k, e) in estimates.iter().enumerate() {
                let color = PALETTE[k % PALETTE.len()];
                let y = k as f64 + 0.5;
                chart.draw_series(std::iter::once(Rectangle::new([(e.lower, y - 0.3), (e.upper, y + 0.3)], color.mix(0.6).filled()))).map_err(err)?;
                chart.draw_series(std::iter::once(PathElement::new(vec![(e.point, y - 0.35), (e.point, y + 0.35)], BLACK.stroke_width(2)))).map_err(err)?;
            }
        }
        root.present().map_err(err)?;
        Ok(())
    })
}

/// The fraction of runs above each threshold, per group, with its band.
fn profiles(path: &Path, title: &str, x_desc: &str, taus: &[f64], groups: &[(String, Vec<Estimate>)]) -> Result<()> {
    ensure_font();
    produce_png(path, |tmp| {
        let root = BitMapBackend::new(tmp, (900, 560)).into_drawing_area();
        root.fill(&WHITE).map_err(err)?;
        let (x0, x1) = (taus[0], taus[taus.len() - 1]);
        let mut chart = ChartBuilder::on(&root)
            .caption(title, ("sans-serif", 18))
            .margin(12)
            .x_label_area_size(40)
            .y_label_area_size(60)
            .build_cartesian_2d(x0..x1, 0.0..1.02)
            .map_err(err)?;
        chart
            .configure_mesh()
            .x_desc(format!("{x_desc} (tau)"))
            .y_desc("fraction of runs with score > tau")
            .label_style(("sans-serif", 12))
            .light_line_style(RGBColor(240, 240, 240))
            .draw()
            .map_err(err)?;
        for (k, (label, profile)) in groups.iter().enumerate() {
            let color = PALETTE[k % PALETTE.len()];
            let mut band: Vec<(f64, f64)> = taus.iter().zip(profile).map(|(&t, e)| (t, e.upper)).collect();
            band.extend(taus.iter().zip(profile).rev().map(|(&t, e)| (t, e.lower)));
            chart.draw_series(std::iter::once(Polygon::new(band, color.mix(0.15).filled()))).map_err(err)?;
            chart
                .draw_series(LineSeries::new(taus.iter().zip(profile).map(|(&t, e)| (t, e.point)), color.stroke_width(2)))
                .map_err(err)?
                .label(label.clone())
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], color.stroke_width(2)));
        }
        chart.configure_series_labels().background_style(WHITE.mix(0.85)).border_style(BLACK.mix(0.3)).label_font(("sans-serif", 13)).draw().map_err(err)?;
        root.present().map_err(err)?;
        Ok(())
    })
}
