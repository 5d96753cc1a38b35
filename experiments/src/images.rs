//! Grids of greyscale images as PNG files (reconstructions, samples, manifolds).

use crate::run_dir::produce_png;
use anyhow::{anyhow, Result};
use std::path::Path;

/// The grey of the gaps between images.
const GAP_GREY: u8 = 128;

/// Writes `images` (each `side * side` values in [0, 1]) as a grid of `cols` columns,
/// with a 2-pixel grey gap, scaled up `scale` times. 1.0 is drawn white and 0.0
/// black, as torchvision's `save_image` draws them.
pub fn write_grid(path: &Path, images: &[Vec<f32>], side: usize, cols: usize, scale: usize) -> Result<()> {
    let cols = cols.max(1);
    let rows = images.len().div_ceil(cols).max(1);
    let cell = side * scale + 2;
    let (w, h) = (cols * cell + 2, rows * cell + 2);
    let mut buf = vec![GAP_GREY; w * h];
    for (k, img) in images.iter().enumerate() {
        let (r0, c0) = ((k / cols) * cell + 2, (k % cols) * cell + 2);
        for y in 0..side * scale {
            for x in 0..side * scale {
                let v = img[(y / scale) * side + x / scale].clamp(0.0, 1.0);
                buf[(r0 + y) * w + c0 + x] = (v * 255.0).round() as u8;
            }
        }
    }
    produce_png(path, |tmp| {
        image::GrayImage::from_raw(w as u32, h as u32, buf)
            .ok_or_else(|| anyhow!("grid buffer size"))?
            .save_with_format(tmp, image::ImageFormat::Png)
            .map_err(|e| anyhow!("writing {}: {e}", path.display()))
    })
}
