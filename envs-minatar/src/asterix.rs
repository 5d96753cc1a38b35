//! Asterix, after MinAtar's `environments/asterix.py`: the player moves
//! freely while enemies and gold cross the rows; gold gives +1, an enemy
//! ends the episode. Spawning and movement speed up as the game goes
//! (difficulty ramping). Channels: player, enemy, trail, gold.

use crate::game::{Cells, Game};
use crate::random::RandomState;
use crate::{ACTION_DOWN, ACTION_LEFT, ACTION_RIGHT, ACTION_UP};
use serde::{Deserialize, Serialize};

const RAMP_INTERVAL: i32 = 100;
const INIT_SPAWN_SPEED: i32 = 10;
const INIT_MOVE_INTERVAL: i32 = 5;

/// An enemy or a piece of gold crossing row `y`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
struct Entity {
    x: i32,
    y: i32,
    /// Moving right (spawned on the left).
    right: bool,
    gold: bool,
}

/// Asterix's state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Asterix {
    ramping: bool,
    player_x: i32,
    player_y: i32,
    entities: [Option<Entity>; 8],
    spawn_speed: i32,
    spawn_timer: i32,
    move_speed: i32,
    move_timer: i32,
    ramp_timer: i32,
    ramp_index: u32,
    terminal: bool,
}

impl Asterix {
    /// A game in its start state.
    pub fn new(ramping: bool) -> Self {
        Self {
            ramping,
            player_x: 5,
            player_y: 5,
            entities: [None; 8],
            spawn_speed: INIT_SPAWN_SPEED,
            spawn_timer: INIT_SPAWN_SPEED,
            move_speed: INIT_MOVE_INTERVAL,
            move_timer: INIT_MOVE_INTERVAL,
            ramp_timer: RAMP_INTERVAL,
            ramp_index: 0,
            terminal: false,
        }
    }

    fn spawn_entity(&mut self, rng: &mut RandomState) {
        let right = rng.rand() < 1.0 / 2.0;
        let gold = rng.rand() < 1.0 / 3.0;
        let free: Vec<usize> = (0..self.entities.len()).filter(|&i| self.entities[i].is_none()).collect();
        if free.is_empty() {
            return;
        }
        let slot = free[rng.randint(0, free.len() as i64) as usize];
        self.entities[slot] = Some(Entity { x: if right { 0 } else { 9 }, y: slot as i32 + 1, right, gold });
    }

    /// MinAtar's collision rule: gold is collected (+1), an enemy ends the game.
    fn collide(&mut self, i: usize, r: &mut i32) {
        if let Some(e) = self.entities[i] {
            if (e.x, e.y) == (self.player_x, self.player_y) {
                if e.gold {
                    self.entities[i] = None;
                    *r += 1;
                } else {
                    self.terminal = true;
                }
            }
        }
    }
}

impl Game for Asterix {
    const CHANNELS: &'static [&'static str] = &["player", "enemy", "trail", "gold"];
    const MINIMAL_ACTIONS: &'static [usize] = &[0, 1, 2, 3, 4];

    fn reset(&mut self, _rng: &mut RandomState) {
        *self = Self::new(self.ramping);
    }

    fn act(&mut self, action: usize, rng: &mut RandomState) -> (i32, bool) {
        let mut r = 0;
        if self.terminal {
            return (r, true);
        }
        if self.spawn_timer == 0 {
            self.spawn_entity(rng);
            self.spawn_timer = self.spawn_speed;
        }
        match action {
            ACTION_LEFT => self.player_x = (self.player_x - 1).max(0),
            ACTION_RIGHT => self.player_x = (self.player_x + 1).min(9),
            ACTION_UP => self.player_y = (self.player_y - 1).max(1),
            ACTION_DOWN => self.player_y = (self.player_y + 1).min(8),
            _ => {}
        }
        for i in 0..self.entities.len() {
            self.collide(i, &mut r);
        }
        if self.move_timer == 0 {
            self.move_timer = self.move_speed;
            for i in 0..self.entities.len() {
                if let Some(mut e) = self.entities[i] {
                    e.x += if e.right { 1 } else { -1 };
                    // Off the grid it is gone (and cannot meet the player).
                    self.entities[i] = (0..=9).contains(&e.x).then_some(e);
                    self.collide(i, &mut r);
                }
            }
        }
        self.spawn_timer -= 1;
        self.move_timer -= 1;
        if self.ramping && (self.spawn_speed > 1 || self.move_speed > 1) {
            if self.ramp_timer >= 0 {
                self.ramp_timer -= 1;
            } else {
                if self.move_speed > 1 && self.ramp_index % 2 == 1 {
                    self.move_speed -= 1;
                }
                if self.spawn_speed > 1 {
                    self.spawn_speed -= 1;
                }
                self.ramp_index += 1;
                self.ramp_timer = RAMP_INTERVAL;
            }
        }
        (r, self.terminal)
    }

    fn draw(&self, cells: &mut Cells<'_>) {
        cells.set(self.player_y, self.player_x, 0);
        for e in self.entities.iter().flatten() {
            cells.set(e.y, e.x, if e.gold { 3 } else { 1 });
            let back_x = if e.right { e.x - 1 } else { e.x + 1 };
            if (0..=9).contains(&back_x) {
                cells.set(e.y, back_x, 2);
            }
        }
    }

    fn difficulty_ramp(&self) -> Option<u32> {
        Some(self.ramp_index)
    }
}
