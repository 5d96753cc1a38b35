//! Space Invaders, after MinAtar's `environments/space_invaders.py`: a
//! cannon on the bottom row shoots at a block of aliens that marches side
//! to side and down and shoots back (+1 an alien; a new wave, faster with
//! difficulty ramping, when all are gone). The episode ends when the cannon
//! is hit or the aliens reach the bottom. Channels: cannon, alien,
//! alien_left, alien_right, friendly_bullet, enemy_bullet.

use crate::game::{Cells, Game, GRID};
use crate::random::RandomState;
use crate::{ACTION_FIRE, ACTION_LEFT, ACTION_RIGHT};
use serde::{Deserialize, Serialize};

const SHOT_COOL_DOWN: i32 = 5;
const ENEMY_MOVE_INTERVAL: i32 = 12;
const ENEMY_SHOT_INTERVAL: i32 = 10;

/// A 10x10 map of 0/1 cells, `[row][column]`, as MinAtar's float arrays.
type Map = [[bool; GRID]; GRID];

/// numpy's `np.roll(map, shift, axis=0)`: rows move down by `shift`, wrapping.
fn roll_rows(map: &Map, shift: i32) -> Map {
    let mut out = [[false; GRID]; GRID];
    for (r, row) in out.iter_mut().enumerate() {
        *row = map[(r as i32 - shift).rem_euclid(GRID as i32) as usize];
    }
    out
}

/// numpy's `np.roll(map, shift, axis=1)`: columns move right by `shift`, wrapping.
fn roll_columns(map: &Map, shift: i32) -> Map {
    let mut out = [[false; GRID]; GRID];
    for (r, row) in out.iter_mut().enumerate() {
        for (c, cell) in row.iter_mut().enumerate() {
            *cell = map[r][(c as i32 - shift).rem_euclid(GRID as i32) as usize];
        }
    }
    out
}

fn count(map: &Map) -> i32 {
    map.iter().flatten().filter(|&&v| v).count() as i32
}

fn wave() -> Map {
    let mut map = [[false; GRID]; GRID];
    for row in &mut map[0..4] {
        row[2..8].fill(true);
    }
    map
}

/// Space Invaders' state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SpaceInvaders {
    ramping: bool,
    pos: i32,
    friendly_bullets: Map,
    enemy_bullets: Map,
    aliens: Map,
    alien_dir: i32,
    enemy_move_interval: i32,
    alien_move_timer: i32,
    alien_shot_timer: i32,
    ramp_index: u32,
    shot_timer: i32,
    terminal: bool,
}

impl SpaceInvaders {
    /// A game in its start state.
    pub fn new(ramping: bool) -> Self {
        Self {
            ramping,
            pos: 5,
            friendly_bullets: [[false; GRID]; GRID],
            enemy_bullets: [[false; GRID]; GRID],
            aliens: wave(),
            alien_dir: -1,
            enemy_move_interval: ENEMY_MOVE_INTERVAL,
            alien_move_timer: ENEMY_MOVE_INTERVAL,
            alien_shot_timer: ENEMY_SHOT_INTERVAL,
            ramp_index: 0,
            shot_timer: 0,
            terminal: false,
        }
    }

    /// The lowest alien of the column nearest the cannon (ties to the left), as `(row, column)`.
    fn nearest_alien(&self) -> Option<(usize, usize)> {
        let mut order: Vec<usize> = (0..GRID).collect();
        order.sort_by_key(|&c| (c as i32 - self.pos).abs());
        order.into_iter().find_map(|c| (0..GRID).rev().find(|&r| self.aliens[r][c]).map(|r| (r, c)))
    }

    fn column_has_alien(&self, c: usize) -> bool {
        self.aliens.iter().any(|row| row[c])
    }

    fn cannon_hit(&self) -> bool {
        self.aliens[9][self.pos as usize]
    }
}

impl Game for SpaceInvaders {
    const CHANNELS: &'static [&'static str] = &["cannon", "alien", "alien_left", "alien_right", "friendly_bullet", "enemy_bullet"];
    const MINIMAL_ACTIONS: &'static [usize] = &[0, 1, 3, 5];

    fn reset(&mut self, _rng: &mut RandomState) {
        *self = Self::new(self.ramping);
    }

    fn act(&mut self, action: usize, _rng: &mut RandomState) -> (i32, bool) {
        let mut r = 0;
        if self.terminal {
            return (r, true);
        }
        let pos = |s: &Self| s.pos as usize;
        if action == ACTION_FIRE && self.shot_timer == 0 {
            self.friendly_bullets[9][pos(self)] = true;
            self.shot_timer = SHOT_COOL_DOWN;
        } else if action == ACTION_LEFT {
            self.pos = (self.pos - 1).max(0);
        } else if action == ACTION_RIGHT {
            self.pos = (self.pos + 1).min(9);
        }
        self.friendly_bullets = roll_rows(&self.friendly_bullets, -1);
        self.friendly_bullets[9] = [false; GRID];
        self.enemy_bullets = roll_rows(&self.enemy_bullets, 1);
        self.enemy_bullets[0] = [false; GRID];
        if self.enemy_bullets[9][pos(self)] {
            self.terminal = true;
        }
        if self.cannon_hit() {
            self.terminal = true;
        }
        if self.alien_move_timer == 0 {
            self.alien_move_timer = count(&self.aliens).min(self.enemy_move_interval);
            if (self.column_has_alien(0) && self.alien_dir < 0) || (self.column_has_alien(9) && self.alien_dir > 0) {
                self.alien_dir = -self.alien_dir;
                if self.aliens[9].iter().any(|&a| a) {
                    self.terminal = true;
                }
                self.aliens = roll_rows(&self.aliens, 1);
            } else {
                self.aliens = roll_columns(&self.aliens, self.alien_dir);
            }
            if self.cannon_hit() {
                self.terminal = true;
            }
        }
        if self.alien_shot_timer == 0 {
            self.alien_shot_timer = ENEMY_SHOT_INTERVAL;
            // MinAtar refills the aliens at the end of every step, so one is always there.
            if let Some((row, column)) = self.nearest_alien() {
                self.enemy_bullets[row][column] = true;
            }
        }
        for (aliens, bullets) in self.aliens.iter_mut().zip(self.friendly_bullets.iter_mut()) {
            for (alien, bullet) in aliens.iter_mut().zip(bullets.iter_mut()) {
                if *alien && *bullet {
                    r += 1;
                    *alien = false;
                    *bullet = false;
                }
            }
        }
        self.shot_timer -= (self.shot_timer > 0) as i32;
        self.alien_move_timer -= 1;
        self.alien_shot_timer -= 1;
        if count(&self.aliens) == 0 {
            if self.enemy_move_interval > 6 && self.ramping {
                self.enemy_move_interval -= 1;
                self.ramp_index += 1;
            }
            self.aliens = wave();
        }
        (r, self.terminal)
    }

    fn draw<C: Cells>(&self, cells: &mut C) {
        cells.set(9, self.pos, 0);
        let direction_channel = if self.alien_dir < 0 { 2 } else { 3 };
        for y in 0..GRID {
            cells.set_row(y, 1, &self.aliens[y]);
            cells.set_row(y, direction_channel, &self.aliens[y]);
            cells.set_row(y, 4, &self.friendly_bullets[y]);
            cells.set_row(y, 5, &self.enemy_bullets[y]);
        }
    }

    fn difficulty_ramp(&self) -> Option<u32> {
        Some(self.ramp_index)
    }
}
