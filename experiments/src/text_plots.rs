//! Pictures of sequence models: a transformer's attention weights, one heat
//! map per layer and head, with the passage's characters on both axes.

use crate::classification_plots::{blues, plot_err};
use crate::run_dir::produce_png;
use anyhow::Result;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use std::path::Path;

/// How a character reads on an axis (newline and space made visible).
fn shown(c: char) -> String {
    match c {
        '\n' => "\u{21b5}".into(),
        ' ' => "\u{b7}".into(),
        c => c.to_string(),
    }
}

/// Writes `weights[layer][head]` (each `[time][time]`, rows: the attending
/// position, columns: the attended one) over `passage` as a grid of heat maps,
/// layers down and heads across.
pub fn attention_maps(path: &Path, title: &str, passage: &[char], weights: &[Vec<Vec<Vec<f32>>>]) -> Result<()> {
    crate::plot::ensure_font();
    let time = passage.len().max(1) as i32;
    let heads = weights.first().map_or(1, |l| l.len()).max(1) as i32;
    let cell = (480 / time).clamp(3, 12);
    let grid = cell * time;
    let margin = 18;
    let panel_w = grid + margin + 24;
    let panel_h = grid + margin + 40;
    let (w, h) = ((heads * panel_w + 30) as u32, (weights.len() as i32 * panel_h + 70) as u32);
    produce_png(path, |tmp| {
        let root = BitMapBackend::new(tmp, (w, h)).into_drawing_area();
        root.fill(&WHITE).map_err(plot_err)?;
        root.draw(&Text::new(title.to_string(), (10, 8), ("sans-serif", 16).into_font())).map_err(plot_err)?;
        let sub = "rows: the predicting position; columns: the characters it attends to (darker: more weight; colour by the square root)";
        root.draw(&Text::new(sub.to_string(), (10, 30), ("sans-serif", 12).into_font())).map_err(plot_err)?;
        for (l, layer) in weights.iter().enumerate() {
            for (hd, map) in layer.iter().enumerate() {
                let x0 = 20 + hd as i32 * panel_w + margin;
                let y0 = 60 + l as i32 * panel_h + 20;
                let label = format!("layer {} head {}", l + 1, hd + 1);
                root.draw(&Text::new(label, (x0, y0 - 18), ("sans-serif", 12).into_font())).map_err(plot_err)?;
                for (i, row) in map.iter().enumerate() {
                    for (j, &v) in row.iter().enumerate() {
                        let (cx, cy) = (x0 + j as i32 * cell, y0 + i as i32 * cell);
                        root.draw(&Rectangle::new([(cx, cy), (cx + cell, cy + cell)], blues((v as f64).max(0.0).sqrt()).filled())).map_err(plot_err)?;
                    }
                }
                root.draw(&Rectangle::new([(x0, y0), (x0 + grid, y0 + grid)], BLACK.stroke_width(1))).map_err(plot_err)?;
                if cell >= 8 {
                    let font = ("sans-serif", cell.min(11)).into_font().color(&BLACK);
                    for (k, &c) in passage.iter().enumerate() {
                        let mid = k as i32 * cell + cell / 2;
                        root.draw(&Text::new(shown(c), (x0 - 3, y0 + mid), font.pos(Pos::new(HPos::Right, VPos::Center)))).map_err(plot_err)?;
                        root.draw(&Text::new(shown(c), (x0 + mid, y0 + grid + 3), font.pos(Pos::new(HPos::Center, VPos::Top)))).map_err(plot_err)?;
                    }
                }
            }
        }
        root.present().map_err(plot_err)?;
        Ok(())
    })
}
