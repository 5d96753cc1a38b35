//! Freeway, after MinAtar's `environments/freeway.py`: a chicken crosses
//! eight lanes of traffic (+1 a crossing, and the cars' speeds are drawn
//! anew); a car sends it back to the bottom. The player moves at most once
//! every 3 frames; the episode ends after 2,500 frames. Channels: chicken,
//! car, and five trail channels, one per car speed.

use crate::game::{Cells, Game};
use crate::random::RandomState;
use crate::{ACTION_DOWN, ACTION_UP};
use serde::{Deserialize, Serialize};

const PLAYER_SPEED: i32 = 3;
const TIME_LIMIT: i32 = 2500;

/// One car: `[x, y, timer, speed]` as in MinAtar (speed's sign is the direction).
type Car = [i32; 4];

/// Freeway's state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Freeway {
    cars: [Car; 8],
    pos: i32,
    move_timer: i32,
    terminate_timer: i32,
    terminal: bool,
}

impl Freeway {
    /// A game before its first reset (no cars drawn yet).
    pub fn new() -> Self {
        Self { cars: [[0; 4]; 8], pos: 9, move_timer: PLAYER_SPEED, terminate_timer: TIME_LIMIT, terminal: false }
    }

    /// New speeds and directions (`randint(1, 6, 8)`, then `sign(rand(8) - 0.5)`);
    /// `initialize` also puts every car back at `x = 0`.
    fn randomize_cars(&mut self, rng: &mut RandomState, initialize: bool) {
        let speeds: Vec<i32> = (0..8).map(|_| rng.randint(1, 6) as i32).collect();
        let directions: Vec<i32> = (0..8)
            .map(|_| {
                let u = rng.rand() - 0.5;
                (u > 0.0) as i32 - (u < 0.0) as i32
            })
            .collect();
        for (i, car) in self.cars.iter_mut().enumerate() {
            let speed = speeds[i] * directions[i];
            if initialize {
                *car = [0, i as i32 + 1, speed.abs(), speed];
            } else {
                car[2] = speed.abs();
                car[3] = speed;
            }
        }
    }
}

impl Default for Freeway {
    fn default() -> Self {
        Self::new()
    }
}

impl Game for Freeway {
    const CHANNELS: &'static [&'static str] = &["chicken", "car", "speed1", "speed2", "speed3", "speed4", "speed5"];
    const MINIMAL_ACTIONS: &'static [usize] = &[0, 2, 4];

    fn reset(&mut self, rng: &mut RandomState) {
        self.randomize_cars(rng, true);
        self.pos = 9;
        self.move_timer = PLAYER_SPEED;
        self.terminate_timer = TIME_LIMIT;
        self.terminal = false;
    }

    fn act(&mut self, action: usize, rng: &mut RandomState) -> (i32, bool) {
        let mut r = 0;
        if self.terminal {
            return (r, true);
        }
        if action == ACTION_UP && self.move_timer == 0 {
            self.move_timer = PLAYER_SPEED;
            self.pos = (self.pos - 1).max(0);
        } else if action == ACTION_DOWN && self.move_timer == 0 {
            self.move_timer = PLAYER_SPEED;
            self.pos = (self.pos + 1).min(9);
        }
        if self.pos == 0 {
            r += 1;
            self.randomize_cars(rng, false);
            self.pos = 9;
        }
        for i in 0..self.cars.len() {
            let car = &mut self.cars[i];
            if car[0] == 4 && car[1] == self.pos {
                self.pos = 9;
            }
            if car[2] == 0 {
                car[2] = car[3].abs();
                car[0] += if car[3] > 0 { 1 } else { -1 };
                if car[0] < 0 {
                    car[0] = 9;
                } else if car[0] > 9 {
                    car[0] = 0;
                }
                if car[0] == 4 && car[1] == self.pos {
                    self.pos = 9;
                }
            } else {
                car[2] -= 1;
            }
        }
        self.move_timer -= (self.move_timer > 0) as i32;
        self.terminate_timer -= 1;
        if self.terminate_timer < 0 {
            self.terminal = true;
        }
        (r, self.terminal)
    }

    fn draw<C: Cells>(&self, cells: &mut C) {
        cells.set(self.pos, 4, 0);
        for car in &self.cars {
            cells.set(car[1], car[0], 1);
            let mut back_x = if car[3] > 0 { car[0] - 1 } else { car[0] + 1 };
            if back_x < 0 {
                back_x = 9;
            } else if back_x > 9 {
                back_x = 0;
            }
            // A speed of 0 (rand() exactly 0.5, odds 2^-53 a draw) has no
            // trail channel; MinAtar would reuse the previous car's.
            if (1..=5).contains(&car[3].abs()) {
                cells.set(car[1], back_x, 1 + car[3].unsigned_abs() as usize);
            }
        }
    }

    fn difficulty_ramp(&self) -> Option<u32> {
        None
    }
}
