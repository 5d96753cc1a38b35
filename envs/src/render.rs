//! RGB pictures for the environments' [`Env::render`](crate::Env::render):
//! a small canvas over tiny-skia with y pointing up, as Gymnasium's pygame
//! renderers draw. Each environment draws itself in its own file, after
//! Gymnasium's renderer (same sizes, colours and geometry).

use tiny_skia::{Color, FillRule, Paint, PathBuilder, Pixmap, Stroke, Transform};

/// An RGB image, row-major, 3 bytes per pixel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame {
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// `width * height * 3` bytes: red, green, blue.
    pub rgb: Vec<u8>,
}

/// A canvas with y pointing up from `origin_y` pixels above the bottom, like Gymnasium's flipped surfaces.
pub(crate) struct Canvas {
    pixmap: Pixmap,
}

impl Canvas {
    pub(crate) fn new(width: u32, height: u32) -> Self {
        let mut pixmap = Pixmap::new(width, height).expect("non-zero canvas size");
        pixmap.fill(Color::WHITE);
        Self { pixmap }
    }

    fn paint(rgb: (u8, u8, u8)) -> Paint<'static> {
        let mut paint = Paint::default();
        paint.set_color_rgba8(rgb.0, rgb.1, rgb.2, 255);
        paint.anti_alias = true;
        paint
    }

    /// Flips a y-up coordinate into pixel rows.
    fn y(&self, y: f32) -> f32 {
        self.pixmap.height() as f32 - y
    }

    pub(crate) fn polygon(&mut self, points: &[(f32, f32)], rgb: (u8, u8, u8)) {
        let mut pb = PathBuilder::new();
        for (i, &(x, y)) in points.iter().enumerate() {
            let y = self.y(y);
            if i == 0 {
                pb.move_to(x, y)
            } else {
                pb.line_to(x, y)
            }
        }
        pb.close();
        if let Some(path) = pb.finish() {
            self.pixmap.fill_path(&path, &Self::paint(rgb), FillRule::Winding, Transform::identity(), None);
        }
    }

    pub(crate) fn polyline(&mut self, points: &[(f32, f32)], width: f32, rgb: (u8, u8, u8)) {
        let mut pb = PathBuilder::new();
        for (i, &(x, y)) in points.iter().enumerate() {
            let y = self.y(y);
            if i == 0 {
                pb.move_to(x, y)
            } else {
                pb.line_to(x, y)
            }
        }
        if let Some(path) = pb.finish() {
            let stroke = Stroke { width, ..Stroke::default() };
            self.pixmap.stroke_path(&path, &Self::paint(rgb), &stroke, Transform::identity(), None);
        }
    }

    pub(crate) fn circle(&mut self, x: f32, y: f32, r: f32, rgb: (u8, u8, u8)) {
        if let Some(path) = PathBuilder::from_circle(x, self.y(y), r) {
            self.pixmap.fill_path(&path, &Self::paint(rgb), FillRule::Winding, Transform::identity(), None);
        }
    }

    pub(crate) fn into_frame(self) -> Frame {
        let (width, height) = (self.pixmap.width(), self.pixmap.height());
        let rgb = self.pixmap.data().chunks_exact(4).flat_map(|p| [p[0], p[1], p[2]]).collect();
        Frame { width, height, rgb }
    }
}

/// Rotates `(x, y)` by `angle` radians (counter-clockwise) and moves it by `(dx, dy)`.
pub(crate) fn rotate(p: (f32, f32), angle: f32, dx: f32, dy: f32) -> (f32, f32) {
    let (s, c) = libm::sincosf(angle);
    (p.0 * c - p.1 * s + dx, p.0 * s + p.1 * c + dy)
}
