//! What the five games share: the [`Game`] trait and [`Cells`], the writer
//! of a 10x10xC boolean picture in either memory layout.

use crate::random::RandomState;

/// The 10x10 grid of every MinAtar game.
pub const GRID: usize = 10;

/// The grid step `(dx, dy)` of each of MinAtar's six actions (left, right,
/// up, down; none for no-op and fire). The games apply it as a table step
/// and a clamp to their bounds, where MinAtar writes `max(lo, x - 1)` /
/// `min(hi, x + 1)` per action: the same positions (the player is always
/// inside the bounds), without a jump on a random action.
pub const MOVE: [(i32, i32); crate::NUM_ACTIONS] = {
    let mut step = [(0, 0); crate::NUM_ACTIONS];
    step[crate::ACTION_LEFT] = (-1, 0);
    step[crate::ACTION_RIGHT] = (1, 0);
    step[crate::ACTION_UP] = (0, -1);
    step[crate::ACTION_DOWN] = (0, 1);
    step
};

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
    fn draw<C: Cells>(&self, cells: &mut C);
    /// MinAtar's `difficulty_ramp()`: the ramp level, `None` where the game does not ramp.
    fn difficulty_ramp(&self) -> Option<u32>;
}

/// Where [`Game::draw`] writes a state's true cells (the caller zeroes it first).
pub trait Cells {
    /// Sets cell `(y, x)` of channel `c`. numpy's indexing is copied: `-1`
    /// is the last column (Seaquest's sub drawn at the left edge facing right
    /// would wrap there in MinAtar); other coordinates are always on the grid.
    fn set(&mut self, y: i32, x: i32, c: usize);

    /// Sets the cells of row `y`, channel `c`, where `row` is true (the others keep their value).
    fn set_row(&mut self, y: usize, c: usize, row: &[bool; GRID]) {
        for (x, &on) in row.iter().enumerate() {
            if on {
                self.set(y as i32, x as i32, c);
            }
        }
    }
}

/// numpy's index `v` on an axis of 10 (`-1` is the last).
#[inline]
fn wrap(v: i32) -> usize {
    let v = if v < 0 { v + GRID as i32 } else { v } as usize;
    debug_assert!(v < GRID, "cell off the grid");
    v
}

/// MinAtar's own layout, `[y][x][c]` (row-major `10x10xC`).
pub struct Hwc<'a> {
    /// The cells.
    pub out: &'a mut [bool],
    /// Channel count.
    pub channels: usize,
}

impl Cells for Hwc<'_> {
    #[inline]
    fn set(&mut self, y: i32, x: i32, c: usize) {
        self.out[(wrap(y) * GRID + wrap(x)) * self.channels + c] = true;
    }
}

/// Channels first, `[c][y][x]`, as 0.0/1.0 floats for convolutional networks.
pub struct Chw<'a> {
    /// The cells.
    pub out: &'a mut [f32],
}

impl Cells for Chw<'_> {
    #[inline]
    fn set(&mut self, y: i32, x: i32, c: usize) {
        self.out[(c * GRID + wrap(y)) * GRID + wrap(x)] = 1.0;
    }

    /// Branch-free: ten contiguous floats, one or what was there.
    #[inline]
    fn set_row(&mut self, y: usize, c: usize, row: &[bool; GRID]) {
        let out: &mut [f32; GRID] = (&mut self.out[(c * GRID + y) * GRID..][..GRID]).try_into().expect("ten cells");
        for (cell, &on) in out.iter_mut().zip(row) {
            *cell = cell.max(f32::from(u8::from(on)));
        }
    }
}
