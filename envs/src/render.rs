//! RGB pictures of the classic-control environments, drawn with tiny-skia
//! after Gymnasium's pygame renderers (same sizes, colours and geometry).

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
struct Canvas {
    pixmap: Pixmap,
}

impl Canvas {
    fn new(width: u32, height: u32) -> Self {
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

    fn polygon(&mut self, points: &[(f32, f32)], rgb: (u8, u8, u8)) {
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

    fn polyline(&mut self, points: &[(f32, f32)], width: f32, rgb: (u8, u8, u8)) {
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

    fn circle(&mut self, x: f32, y: f32, r: f32, rgb: (u8, u8, u8)) {
        if let Some(path) = PathBuilder::from_circle(x, self.y(y), r) {
            self.pixmap.fill_path(&path, &Self::paint(rgb), FillRule::Winding, Transform::identity(), None);
        }
    }

    fn into_frame(self) -> Frame {
        let (width, height) = (self.pixmap.width(), self.pixmap.height());
        let rgb = self.pixmap.data().chunks_exact(4).flat_map(|p| [p[0], p[1], p[2]]).collect();
        Frame { width, height, rgb }
    }
}

/// Rotates `(x, y)` by `angle` radians (counter-clockwise) and moves it by `(dx, dy)`.
fn rotate(p: (f32, f32), angle: f32, dx: f32, dy: f32) -> (f32, f32) {
    let (s, c) = libm::sincosf(angle);
    (p.0 * c - p.1 * s + dx, p.0 * s + p.1 * c + dy)
}

/// CartPole: 600x400, cart, pole and track as in Gymnasium.
pub fn cartpole(state: &[f64; 4]) -> Frame {
    let (w, h) = (600u32, 400u32);
    let scale = w as f32 / (2.0 * crate::classic::cartpole::X_THRESHOLD as f32);
    let (pole_w, pole_len) = (10.0f32, scale * (2.0 * crate::classic::cartpole::LENGTH as f32));
    let (cart_w, cart_h) = (50.0f32, 30.0f32);
    let mut c = Canvas::new(w, h);
    let cart_x = state[0] as f32 * scale + w as f32 / 2.0;
    let cart_y = 100.0f32;
    let axle = cart_h / 4.0;
    c.polyline(&[(0.0, cart_y), (w as f32, cart_y)], 1.0, (0, 0, 0));
    let (l, r, t, b) = (-cart_w / 2.0, cart_w / 2.0, cart_h / 2.0, -cart_h / 2.0);
    c.polygon(&[(l + cart_x, b + cart_y), (l + cart_x, t + cart_y), (r + cart_x, t + cart_y), (r + cart_x, b + cart_y)], (0, 0, 0));
    let (l, r, t, b) = (-pole_w / 2.0, pole_w / 2.0, pole_len - pole_w / 2.0, -pole_w / 2.0);
    let pole: Vec<_> = [(l, b), (l, t), (r, t), (r, b)].iter().map(|&p| rotate(p, -state[2] as f32, cart_x, cart_y + axle)).collect();
    c.polygon(&pole, (202, 152, 101));
    c.circle(cart_x, cart_y + axle, pole_w / 2.0, (129, 132, 203));
    c.into_frame()
}

/// MountainCar (both variants): 600x400, the hill, the car and the flag.
pub fn mountain_car(position: f64) -> Frame {
    let (w, h) = (600u32, 400u32);
    let (min_x, max_x) = (-1.2f32, 0.6f32);
    let scale = w as f32 / (max_x - min_x);
    let height = |x: f32| libm::sinf(3.0 * x) * 0.45 + 0.55;
    let mut c = Canvas::new(w, h);
    let hill: Vec<_> = (0..=100)
        .map(|i| {
            let x = min_x + (max_x - min_x) * i as f32 / 100.0;
            ((x - min_x) * scale, height(x) * scale)
        })
        .collect();
    c.polyline(&hill, 2.0, (0, 0, 0));
    let pos = position as f32;
    let clearance = 10.0;
    let (car_w, car_h) = (40.0f32, 20.0f32);
    let angle = libm::cosf(3.0 * pos);
    let (cx, cy) = ((pos - min_x) * scale, clearance + height(pos) * scale);
    let (l, r, t, b) = (-car_w / 2.0, car_w / 2.0, car_h, 0.0);
    let body: Vec<_> = [(l, b), (l, t), (r, t), (r, b)].iter().map(|&p| rotate(p, angle, cx, cy)).collect();
    c.polygon(&body, (0, 0, 0));
    for wx in [car_w / 4.0, -car_w / 4.0] {
        let (x, y) = rotate((wx, 0.0), angle, cx, cy);
        c.circle(x, y, car_h / 2.5, (128, 128, 128));
    }
    let flag_x = (0.5 - min_x) * scale;
    let flag_y = height(0.5) * scale;
    c.polyline(&[(flag_x, flag_y), (flag_x, flag_y + 50.0)], 2.0, (0, 0, 0));
    c.polygon(&[(flag_x, flag_y + 50.0), (flag_x, flag_y + 40.0), (flag_x + 25.0, flag_y + 45.0)], (204, 204, 0));
    c.into_frame()
}

/// Acrobot: 500x500, two links hanging from a pivot, and the goal line.
pub fn acrobot(state: &[f64; 4]) -> Frame {
    let size = 500u32;
    let bound = 2.2f32;
    let scale = size as f32 / (2.0 * bound);
    let o = size as f32 / 2.0;
    let (s0, s1) = (state[0] as f32, state[1] as f32);
    let p1 = (libm::sinf(s0), -libm::cosf(s0));
    let p2 = (p1.0 + libm::sinf(s0 + s1), p1.1 - libm::cosf(s0 + s1));
    let px = |p: (f32, f32)| (o + p.0 * scale, o + p.1 * scale);
    let mut c = Canvas::new(size, size);
    c.polyline(&[(0.0, o + scale), (size as f32, o + scale)], 1.0, (0, 0, 0));
    for (a, b) in [((0.0, 0.0), p1), (p1, p2)] {
        c.polyline(&[px(a), px(b)], 0.2 * scale, (0, 204, 204));
        let (x, y) = px(a);
        c.circle(x, y, 0.1 * scale, (204, 204, 0));
    }
    c.into_frame()
}

/// Pendulum: 500x500, a rod from the centre (theta 0 points up).
pub fn pendulum(theta: f64) -> Frame {
    let size = 500u32;
    let scale = size as f32 / 4.4;
    let o = size as f32 / 2.0;
    let th = theta as f32;
    let end = (o + libm::sinf(th) * -scale, o + libm::cosf(th) * scale);
    let mut c = Canvas::new(size, size);
    c.polyline(&[(o, o), end], 0.2 * scale, (204, 77, 77));
    c.circle(end.0, end.1, 0.1 * scale, (204, 77, 77));
    c.circle(o, o, 0.05 * scale, (0, 0, 0));
    c.into_frame()
}
