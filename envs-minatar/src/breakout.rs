//! Breakout, after MinAtar's `environments/breakout.py`: a paddle on the
//! bottom row bounces a ball into three rows of bricks (+1 a brick; a new
//! wall when the last brick goes); the episode ends when the ball reaches
//! the bottom row away from the paddle. Channels: paddle, ball, trail, brick.

use crate::game::{Cells, Game};
use crate::random::RandomState;
use crate::{ACTION_LEFT, ACTION_RIGHT};
use serde::{Deserialize, Serialize};

/// Breakout's state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Breakout {
    ball_x: i32,
    ball_y: i32,
    /// 0 up-left, 1 up-right, 2 down-right, 3 down-left.
    ball_dir: usize,
    pos: i32,
    bricks: [[bool; 10]; 10],
    strike: bool,
    last_x: i32,
    last_y: i32,
    terminal: bool,
}

impl Breakout {
    /// A game in its start state, drawing the ball's side from `rng`.
    pub fn new(rng: &mut RandomState) -> Self {
        let mut game = Self { ball_x: 0, ball_y: 3, ball_dir: 2, pos: 4, bricks: [[false; 10]; 10], strike: false, last_x: 0, last_y: 3, terminal: false };
        game.reset(rng);
        game
    }

    fn fill_wall(&mut self) {
        for row in &mut self.bricks[1..4] {
            *row = [true; 10];
        }
    }
}

impl Game for Breakout {
    const CHANNELS: &'static [&'static str] = &["paddle", "ball", "trail", "brick"];
    const MINIMAL_ACTIONS: &'static [usize] = &[0, 1, 3];

    fn reset(&mut self, rng: &mut RandomState) {
        self.ball_y = 3;
        (self.ball_x, self.ball_dir) = [(0, 2), (9, 3)][rng.randint(0, 2) as usize];
        self.pos = 4;
        self.bricks = [[false; 10]; 10];
        self.fill_wall();
        self.strike = false;
        self.last_x = self.ball_x;
        self.last_y = self.ball_y;
        self.terminal = false;
    }

    fn act(&mut self, action: usize, _rng: &mut RandomState) -> (i32, bool) {
        let mut r = 0;
        if self.terminal {
            return (r, true);
        }
        match action {
            ACTION_LEFT => self.pos = (self.pos - 1).max(0),
            ACTION_RIGHT => self.pos = (self.pos + 1).min(9),
            _ => {}
        }
        self.last_x = self.ball_x;
        self.last_y = self.ball_y;
        let (dx, dy) = [(-1, -1), (1, -1), (1, 1), (-1, 1)][self.ball_dir];
        let (mut new_x, mut new_y) = (self.ball_x + dx, self.ball_y + dy);
        let mut strike_toggle = false;
        if !(0..=9).contains(&new_x) {
            new_x = new_x.clamp(0, 9);
            self.ball_dir = [1, 0, 3, 2][self.ball_dir];
        }
        if new_y < 0 {
            new_y = 0;
            self.ball_dir = [3, 2, 1, 0][self.ball_dir];
        } else if self.bricks[new_y as usize][new_x as usize] {
            strike_toggle = true;
            if !self.strike {
                r += 1;
                self.strike = true;
                self.bricks[new_y as usize][new_x as usize] = false;
                new_y = self.last_y;
                self.ball_dir = [3, 2, 1, 0][self.ball_dir];
            }
        } else if new_y == 9 {
            if self.bricks.iter().flatten().all(|b| !b) {
                self.fill_wall();
            }
            if self.ball_x == self.pos {
                self.ball_dir = [3, 2, 1, 0][self.ball_dir];
                new_y = self.last_y;
            } else if new_x == self.pos {
                self.ball_dir = [2, 3, 0, 1][self.ball_dir];
                new_y = self.last_y;
            } else {
                self.terminal = true;
            }
        }
        if !strike_toggle {
            self.strike = false;
        }
        self.ball_x = new_x;
        self.ball_y = new_y;
        (r, self.terminal)
    }

    fn draw<C: Cells>(&self, cells: &mut C) {
        cells.set(self.ball_y, self.ball_x, 1);
        cells.set(9, self.pos, 0);
        cells.set(self.last_y, self.last_x, 2);
        // Bricks only ever stand in rows 1-3 (a new wall fills those; the ball only removes).
        debug_assert!(self.bricks.iter().enumerate().all(|(y, row)| (1..4).contains(&y) || row.iter().all(|b| !b)));
        for y in 1..4 {
            cells.set_row(y, 3, &self.bricks[y]);
        }
    }

    fn difficulty_ramp(&self) -> Option<u32> {
        None
    }
}
