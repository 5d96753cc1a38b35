//! The pictures of a classifier's test results: the confusion matrix
//! (counts and row-normalised, class names on the axes), the most frequent
//! confusions as bars (for many classes), and a grid of its most confident
//! mistakes with their true and predicted names.

use crate::run_dir::produce_png;
use anyhow::{anyhow, Result};
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use std::path::Path;

/// Matplotlib's `Blues` at `t` in [0, 1], from white to dark blue.
pub(crate) fn blues(t: f64) -> RGBColor {
    let stops = [(247.0, 251.0, 255.0), (198.0, 219.0, 239.0), (107.0, 174.0, 214.0), (33.0, 113.0, 181.0), (8.0, 48.0, 107.0)];
    let x = t.clamp(0.0, 1.0) * (stops.len() - 1) as f64;
    let i = (x.floor() as usize).min(stops.len() - 2);
    let f = x - i as f64;
    let mix = |a: f64, b: f64| (a + (b - a) * f).round() as u8;
    RGBColor(mix(stops[i].0, stops[i + 1].0), mix(stops[i].1, stops[i + 1].1), mix(stops[i].2, stops[i + 1].2))
}

pub(crate) fn plot_err<E: std::fmt::Debug>(e: E) -> anyhow::Error {
    anyhow!("drawing: {e:?}")
}

/// Writes `confusion` (`[true][predicted]` counts) as two heat maps side by
/// side: the counts, and each row divided by its total.
pub fn confusion_matrix(path: &Path, title: &str, confusion: &[Vec<usize>], classes: &[String]) -> Result<()> {
    crate::plot::ensure_font();
    let k = classes.len().max(1);
    let cell = (560 / k).clamp(24, 64) as i32;
    let label_w = 20 + 7 * classes.iter().map(|c| c.chars().count()).max().unwrap_or(1) as i32;
    let grid = cell * k as i32;
    let panel_w = label_w + grid + 30;
    let (w, h) = (2 * panel_w as u32, (60 + grid + label_w + 30) as u32);
    produce_png(path, |tmp| {
        let root = BitMapBackend::new(tmp, (w, h)).into_drawing_area();
        root.fill(&WHITE).map_err(plot_err)?;
        root.draw(&Text::new(title.to_string(), (10, 8), ("sans-serif", 18).into_font())).map_err(plot_err)?;
        for (panel, normalised) in [false, true].into_iter().enumerate() {
            let x0 = panel as i32 * panel_w + label_w;
            let y0 = 60;
            let sub = if normalised { "row-normalised (recall on the diagonal)" } else { "counts" };
            root.draw(&Text::new(sub.to_string(), (x0, 36), ("sans-serif", 14).into_font())).map_err(plot_err)?;
            let max = confusion.iter().flatten().copied().max().unwrap_or(1).max(1) as f64;
            for (t, row) in confusion.iter().enumerate() {
                let total = row.iter().sum::<usize>().max(1) as f64;
                for (p, &count) in row.iter().enumerate() {
                    let v = if normalised { count as f64 / total } else { count as f64 / max };
                    let (cx, cy) = (x0 + p as i32 * cell, y0 + t as i32 * cell);
                    root.draw(&Rectangle::new([(cx, cy), (cx + cell, cy + cell)], blues(v).filled())).map_err(plot_err)?;
                    let text = if normalised { format!("{:.2}", count as f64 / total) } else { count.to_string() };
                    let colour = if v > 0.5 { WHITE } else { BLACK };
                    let style = ("sans-serif", (cell / 3).clamp(8, 14)).into_font().color(&colour).pos(Pos::new(HPos::Center, VPos::Center));
                    root.draw(&Text::new(text, (cx + cell / 2, cy + cell / 2), style)).map_err(plot_err)?;
                }
            }
            let name_style = ("sans-serif", 12).into_font().color(&BLACK);
            for (i, name) in classes.iter().enumerate() {
                let y = y0 + i as i32 * cell + cell / 2;
                root.draw(&Text::new(name.clone(), (x0 - 6, y), name_style.pos(Pos::new(HPos::Right, VPos::Center)))).map_err(plot_err)?;
                let x = x0 + i as i32 * cell + cell / 2;
                let rotated = ("sans-serif", 12).into_font().transform(FontTransform::Rotate90).color(&BLACK).pos(Pos::new(HPos::Left, VPos::Center));
                root.draw(&Text::new(name.clone(), (x, y0 + grid + 6), rotated)).map_err(plot_err)?;
            }
            let axis = ("sans-serif", 13).into_font().color(&BLACK);
            root.draw(&Text::new("predicted", (x0 + grid / 2 - 30, h as i32 - 22), axis.clone())).map_err(plot_err)?;
            root.draw(&Text::new("true", (x0 - label_w + 4, y0 - 16), axis)).map_err(plot_err)?;
        }
        root.present().map_err(plot_err)?;
        Ok(())
    })
}

/// Writes the `n` most frequent off-diagonal cells of `confusion` as
/// horizontal bars, "true -> predicted" with the count and the share of the
/// true class's queries: readable where a 77- or 151-class matrix is not.
pub fn top_confusions(path: &Path, title: &str, confusion: &[Vec<usize>], classes: &[String], n: usize) -> Result<()> {
    crate::plot::ensure_font();
    let mut cells: Vec<(usize, usize, usize)> = confusion
        .iter()
        .enumerate()
        .flat_map(|(t, row)| row.iter().enumerate().filter(move |&(p, &c)| p != t && c > 0).map(move |(p, &c)| (c, t, p)))
        .collect();
    // Most frequent first; ties by class order, so the picture is the same on every run.
    cells.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)).then(a.2.cmp(&b.2)));
    cells.truncate(n);
    let labels: Vec<String> = cells.iter().map(|&(_, t, p)| format!("{} -> {}", classes[t], classes[p])).collect();
    let label_w = 20 + 6 * labels.iter().map(|l| l.chars().count()).max().unwrap_or(10) as i32;
    let (bar_w, row_h) = (420, 24);
    let (w, h) = ((label_w + bar_w + 150) as u32, (70 + row_h * cells.len().max(1) as i32 + 20) as u32);
    let max = cells.first().map_or(1, |c| c.0).max(1) as f64;
    produce_png(path, |tmp| {
        let root = BitMapBackend::new(tmp, (w, h)).into_drawing_area();
        root.fill(&WHITE).map_err(plot_err)?;
        root.draw(&Text::new(title.to_string(), (10, 8), ("sans-serif", 16).into_font())).map_err(plot_err)?;
        let sub =
            if cells.is_empty() { "no confusions".to_string() } else { "true -> predicted: test queries (share of the true intent's queries)".to_string() };
        root.draw(&Text::new(sub, (10, 34), ("sans-serif", 13).into_font())).map_err(plot_err)?;
        for (i, (&(count, t, _), label)) in cells.iter().zip(&labels).enumerate() {
            let y = 64 + i as i32 * row_h;
            let style = ("sans-serif", 12).into_font().color(&BLACK).pos(Pos::new(HPos::Right, VPos::Center));
            root.draw(&Text::new(label.clone(), (label_w - 8, y + row_h / 2), style)).map_err(plot_err)?;
            let len = ((count as f64 / max) * bar_w as f64).round().max(1.0) as i32;
            root.draw(&Rectangle::new([(label_w, y + 3), (label_w + len, y + row_h - 3)], blues(0.75).filled())).map_err(plot_err)?;
            let total = confusion[t].iter().sum::<usize>().max(1);
            let note = format!("{count} ({:.0}%)", 100.0 * count as f64 / total as f64);
            let style = ("sans-serif", 12).into_font().color(&BLACK).pos(Pos::new(HPos::Left, VPos::Center));
            root.draw(&Text::new(note, (label_w + len + 6, y + row_h / 2), style)).map_err(plot_err)?;
        }
        root.present().map_err(plot_err)?;
        Ok(())
    })
}

/// One mistake to show: the image (`channels * side * side` values in [0, 1],
/// channel-major), its true and predicted class names and the predicted probability.
#[derive(Debug, Clone)]
pub struct Mistake {
    /// Pixels in [0, 1], channel-major.
    pub pixels: Vec<f32>,
    /// The true class's name.
    pub truth: String,
    /// The predicted class's name.
    pub predicted: String,
    /// The probability given to the prediction.
    pub confidence: f64,
    /// Index in the test set.
    pub index: usize,
}

/// Writes `mistakes` as a grid of `cols` columns, each image scaled up and
/// captioned with its test index, true and predicted names and confidence.
pub fn misclassified_grid(path: &Path, title: &str, mistakes: &[Mistake], channels: usize, side: usize, cols: usize) -> Result<()> {
    crate::plot::ensure_font();
    let cols = cols.max(1);
    let rows = mistakes.len().div_ceil(cols).max(1);
    let scale = (96 / side).max(1);
    let img = (side * scale) as i32;
    let cell_w = img.max(150) + 12;
    let cell_h = img + 52;
    let (w, h) = ((cols as i32 * cell_w + 10) as u32, (rows as i32 * cell_h + 40) as u32);
    produce_png(path, |tmp| {
        let root = BitMapBackend::new(tmp, (w, h)).into_drawing_area();
        root.fill(&WHITE).map_err(plot_err)?;
        root.draw(&Text::new(title.to_string(), (10, 8), ("sans-serif", 16).into_font())).map_err(plot_err)?;
        for (k, m) in mistakes.iter().enumerate() {
            let (x0, y0) = (10 + (k % cols) as i32 * cell_w, 36 + (k / cols) as i32 * cell_h);
            let plane = side * side;
            for y in 0..side * scale {
                for x in 0..side * scale {
                    let at = (y / scale) * side + x / scale;
                    let v = |c: usize| (m.pixels[(c.min(channels - 1)) * plane + at].clamp(0.0, 1.0) * 255.0).round() as u8;
                    root.draw_pixel((x0 + x as i32, y0 + y as i32), &RGBColor(v(0), v(1), v(2))).map_err(plot_err)?;
                }
            }
            let small = ("sans-serif", 12).into_font();
            root.draw(&Text::new(format!("#{} true: {}", m.index, m.truth), (x0, y0 + img + 4), small.clone().color(&BLACK))).map_err(plot_err)?;
            root.draw(&Text::new(format!("pred: {} ({:.2})", m.predicted, m.confidence), (x0, y0 + img + 20), small.color(&RED))).map_err(plot_err)?;
        }
        root.present().map_err(plot_err)?;
        Ok(())
    })
}
