//! Asterix, after MinAtar's `environments/asterix.py`: the player moves
//! freely while enemies and gold cross the rows; gold gives +1, an enemy
//! ends the episode. Spawning and movement speed up as the game goes
//! (difficulty ramping). Channels: player, enemy, trail, gold.

use crate::game::{Cells, Game, MOVE};
use crate::random::RandomState;
use serde::{Deserialize, Serialize};

const RAMP_INTERVAL: i32 = 100;
const INIT_SPAWN_SPEED: i32 = 10;
const INIT_MOVE_INTERVAL: i32 = 5;

/// An enemy or a piece of gold crossing row `y` (MinAtar's slot holds `None`
/// where `alive` is false: a flag, not an `Option`, so that the per-frame
/// loops over the eight slots run without unpredictable branches).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
struct Entity {
    alive: bool,
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
    entities: [Entity; 8],
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
            entities: [Entity::default(); 8],
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
        let mut free = [0usize; 8];
        let mut count = 0;
        for (i, e) in self.entities.iter().enumerate() {
            free[count] = i;
            count += usize::from(!e.alive);
        }
        if count == 0 {
            return;
        }
        let slot = free[rng.randint(0, count as i64) as usize];
        self.entities[slot] = Entity { alive: true, x: if right { 0 } else { 9 }, y: slot as i32 + 1, right, gold };
    }

    /// MinAtar's collision rule: gold is collected (+1), an enemy ends the game.
    fn collide(&mut self, i: usize, r: &mut i32) {
        let e = self.entities[i];
        if e.alive & (e.x == self.player_x) & (e.y == self.player_y) {
            if e.gold {
                self.entities[i].alive = false;
                *r += 1;
            } else {
                self.terminal = true;
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
        // MinAtar's `max(0, x - 1)`, `min(9, x + 1)`, `max(1, y - 1)`, `min(8, y + 1)`.
        let (dx, dy) = MOVE[action];
        self.player_x = (self.player_x + dx).clamp(0, 9);
        self.player_y = (self.player_y + dy).clamp(1, 8);
        for i in 0..self.entities.len() {
            self.collide(i, &mut r);
        }
        if self.move_timer == 0 {
            self.move_timer = self.move_speed;
            for i in 0..self.entities.len() {
                let e = &mut self.entities[i];
                // Only live entities move; off the grid one is gone (and cannot meet the player).
                e.x += i32::from(e.alive) * if e.right { 1 } else { -1 };
                e.alive &= (0..=9).contains(&e.x);
                self.collide(i, &mut r);
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

    fn draw<C: Cells>(&self, cells: &mut C) {
        cells.set(self.player_y, self.player_x, 0);
        for e in self.entities.iter().filter(|e| e.alive) {
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
