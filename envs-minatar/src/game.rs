//! What the five games share: the [`Game`] trait and [`Cells`], the writer
//! of a 10x10xC boolean picture in either memory layout.

use crate::random::RandomState;

/// The 10x10 grid of every MinAtar game.
pub const GRID: usize = 10;

/// One MinAtar game, as its `Env` class in MinAtar's `environments/`.
pub trait Game {
    /// The channel names, in MinAtar's order (the `C` of the `10x10xC` state).
    const CHANNELS: &'static [&'static str];
    /// MinAtar's `minimal_action_set()`: the actions (of 0..6) that matter here.
    const MINIMAL_ACTIONS: &'static [usize];
    /// Back to the start state (MinAtar's `reset`), drawing from `rng`.
    fn reset(&mut self, rng: &mut RandomState);
    /// One frame under `action` (0..6, after sticky actions): reward and terminal.
    fn act(&mut self, action: usize, rng: &mut RandomState) -> (i32, bool);
    /// Writes the state's true cells (MinAtar's `state()`).
    fn draw(&self, cells: &mut Cells<'_>);
    /// MinAtar's `difficulty_ramp()`: the ramp level, `None` where the game does not ramp.
    fn difficulty_ramp(&self) -> Option<u32>;
}

/// Where [`Game::draw`] writes: `out` is zeroed first by the caller.
pub enum Cells<'a> {
    /// MinAtar's own layout, `[y][x][c]` (row-major `10x10xC`).
    Hwc {
        /// The cells.
        out: &'a mut [bool],
        /// Channel count.
        channels: usize,
    },
    /// Channels first, `[c][y][x]`, as 0.0/1.0 floats for convolutional networks.
    Chw {
        /// The cells.
        out: &'a mut [f32],
    },
}

impl Cells<'_> {
    /// Sets cell `(y, x)` of channel `c`. numpy's indexing is copied: `-1`
    /// is the last column (Seaquest's sub drawn at the left edge facing right
    /// would wrap there in MinAtar); other coordinates are always on the grid.
    pub fn set(&mut self, y: i32, x: i32, c: usize) {
        let wrap = |v: i32| if v < 0 { (v + GRID as i32) as usize } else { v as usize };
        let (y, x) = (wrap(y), wrap(x));
        debug_assert!(y < GRID && x < GRID, "cell ({y}, {x}) off the grid");
        match self {
            Cells::Hwc { out, channels } => out[(y * GRID + x) * *channels + c] = true,
            Cells::Chw { out } => out[(c * GRID + y) * GRID + x] = 1.0,
        }
    }
}
