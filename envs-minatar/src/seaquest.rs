//! Seaquest, after MinAtar's `environments/seaquest.py`: a submarine shoots
//! fish and enemy subs (+1 each), collects divers, and must surface before
//! its oxygen runs out; surfacing with six divers gives a bonus from the
//! oxygen left, surfacing with none ends the episode. Difficulty ramps at
//! each surfacing. Channels: sub_front, sub_back, friendly_bullet, trail,
//! enemy_bullet, enemy_fish, enemy_sub, oxygen_guage, diver_guage, diver.
//!
//! MinAtar keeps its objects in Python lists of small lists, walks some of
//! them in reverse while removing from them, and removes with
//! `list.remove(value)` (the first *equal* element, which need not be the
//! one being visited). This port keeps the same representation (arrays of
//! integers compared by value) and the same iteration, so that even those
//! corner cases replay as in MinAtar (`ReverseWalk` is that loop).
//! MinAtar's diver count also goes to -1 after a six-diver surfacing (it
//! sets it to 0, then decrements); kept as it is.

use crate::game::{Cells, Game, MOVE};
use crate::random::RandomState;
use crate::ACTION_FIRE;
use serde::{Deserialize, Serialize};

const MAX_OXYGEN: i32 = 200;
const INIT_SPAWN_SPEED: i32 = 20;
const DIVER_SPAWN_SPEED: i32 = 30;
const INIT_MOVE_INTERVAL: i32 = 5;
const SHOT_COOL_DOWN: i32 = 5;
const ENEMY_SHOT_INTERVAL: i32 = 10;
const DIVER_MOVE_INTERVAL: i32 = 5;

/// A bullet: `[x, y, moving right]`.
type Bullet = [i32; 3];
/// A fish or a diver: `[x, y, moving right, move timer]`.
type Swimmer = [i32; 4];
/// An enemy sub: `[x, y, moving right, move timer, shot timer]`.
type EnemySub = [i32; 5];

/// Python's `list.remove(value)`: drops the first element equal to `value`
/// and returns its index (MinAtar only removes values it holds).
fn remove_first<T: PartialEq + Copy>(list: &mut Vec<T>, value: T) -> usize {
    let i = list.iter().position(|v| *v == value).expect("list.remove(x): x not in list");
    list.remove(i);
    i
}

/// MinAtar's `a[0:2] == b[0:2]`: the same cell.
#[inline]
fn same_cell(a: &[i32], b: &[i32]) -> bool {
    a[0] == b[0] && a[1] == b[1]
}

fn step(right: i32) -> i32 {
    if right != 0 {
        1
    } else {
        -1
    }
}

/// Python's `for item in reversed(list)` while the body removes from the
/// list: an index that starts at the end, goes down by one a turn, and stops
/// as soon as it leaves the list's current bounds.
struct ReverseWalk {
    next: isize,
}

impl ReverseWalk {
    fn new(len: usize) -> Self {
        Self { next: len as isize - 1 }
    }

    fn next(&mut self, len: usize) -> Option<usize> {
        let i = self.next;
        if i < 0 || i as usize >= len {
            return None;
        }
        self.next -= 1;
        Some(i as usize)
    }
}

/// Seaquest's state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Seaquest {
    ramping: bool,
    oxygen: i32,
    diver_count: i32,
    sub_x: i32,
    sub_y: i32,
    /// Facing right.
    sub_or: bool,
    f_bullets: Vec<Bullet>,
    e_bullets: Vec<Bullet>,
    e_fish: Vec<Swimmer>,
    e_subs: Vec<EnemySub>,
    divers: Vec<Swimmer>,
    e_spawn_speed: i32,
    e_spawn_timer: i32,
    d_spawn_timer: i32,
    move_speed: i32,
    ramp_index: u32,
    shot_timer: i32,
    surface: bool,
    terminal: bool,
}

impl Seaquest {
    /// A game in its start state.
    pub fn new(ramping: bool) -> Self {
        Self {
            ramping,
            oxygen: MAX_OXYGEN,
            diver_count: 0,
            sub_x: 5,
            sub_y: 0,
            sub_or: false,
            f_bullets: Vec::new(),
            e_bullets: Vec::new(),
            e_fish: Vec::new(),
            e_subs: Vec::new(),
            divers: Vec::new(),
            e_spawn_speed: INIT_SPAWN_SPEED,
            e_spawn_timer: INIT_SPAWN_SPEED,
            d_spawn_timer: DIVER_SPAWN_SPEED,
            move_speed: INIT_MOVE_INTERVAL,
            ramp_index: 0,
            shot_timer: 0,
            surface: true,
            terminal: false,
        }
    }

    fn at_sub(&self, x: i32, y: i32) -> bool {
        (x, y) == (self.sub_x, self.sub_y)
    }

    fn spawn_enemy(&mut self, rng: &mut RandomState) {
        let right = (rng.rand() < 1.0 / 2.0) as i32;
        let is_sub = rng.rand() < 1.0 / 3.0;
        let x = if right != 0 { 0 } else { 9 };
        let y = rng.randint(1, 9) as i32;
        // No spawn in a row where something moves the other way.
        let blocked = self.e_subs.iter().map(|z| (z[1], z[2])).chain(self.e_fish.iter().map(|z| (z[1], z[2]))).any(|(zy, zr)| zy == y && zr != right);
        if blocked {
            return;
        }
        if is_sub {
            self.e_subs.push([x, y, right, self.move_speed, ENEMY_SHOT_INTERVAL]);
        } else {
            self.e_fish.push([x, y, right, self.move_speed]);
        }
    }

    fn spawn_diver(&mut self, rng: &mut RandomState) {
        let right = (rng.rand() < 1.0 / 2.0) as i32;
        let x = if right != 0 { 0 } else { 9 };
        let y = rng.randint(1, 9) as i32;
        self.divers.push([x, y, right, DIVER_MOVE_INTERVAL]);
    }

    /// Reaching the surface with divers: the bonus for six, full oxygen, one diver fewer, and a ramp.
    fn surface(&mut self) -> i32 {
        self.surface = true;
        let r = if self.diver_count == 6 {
            self.diver_count = 0;
            self.oxygen * 10 / MAX_OXYGEN
        } else {
            0
        };
        self.oxygen = MAX_OXYGEN;
        self.diver_count -= 1;
        if self.ramping && (self.e_spawn_speed > 1 || self.move_speed > 2) {
            if self.move_speed > 2 && self.ramp_index % 2 == 1 {
                self.move_speed -= 1;
            }
            if self.e_spawn_speed > 1 {
                self.e_spawn_speed -= 1;
            }
            self.ramp_index += 1;
        }
        r
    }

    fn update_friendly_bullets(&mut self, r: &mut i32) {
        let mut walk = ReverseWalk::new(self.f_bullets.len());
        while let Some(i) = walk.next(self.f_bullets.len()) {
            self.f_bullets[i][0] += step(self.f_bullets[i][2]);
            let bullet = self.f_bullets[i];
            if !(0..=9).contains(&bullet[0]) {
                remove_first(&mut self.f_bullets, bullet);
            } else if let Some(k) = self.e_fish.iter().position(|f| same_cell(f, &bullet)) {
                let fish = self.e_fish[k];
                remove_first(&mut self.e_fish, fish);
                remove_first(&mut self.f_bullets, bullet);
                *r += 1;
            } else if let Some(k) = self.e_subs.iter().position(|s| same_cell(s, &bullet)) {
                let sub = self.e_subs[k];
                remove_first(&mut self.e_subs, sub);
                remove_first(&mut self.f_bullets, bullet);
                *r += 1;
            }
        }
    }

    fn update_divers(&mut self) {
        let mut walk = ReverseWalk::new(self.divers.len());
        while let Some(i) = walk.next(self.divers.len()) {
            let mut diver = self.divers[i];
            if self.at_sub(diver[0], diver[1]) && self.diver_count < 6 {
                remove_first(&mut self.divers, diver);
                self.diver_count += 1;
            } else if diver[3] == 0 {
                diver[3] = DIVER_MOVE_INTERVAL;
                diver[0] += step(diver[2]);
                self.divers[i] = diver;
                if !(0..=9).contains(&diver[0]) {
                    remove_first(&mut self.divers, diver);
                } else if self.at_sub(diver[0], diver[1]) && self.diver_count < 6 {
                    remove_first(&mut self.divers, diver);
                    self.diver_count += 1;
                }
            } else {
                self.divers[i][3] -= 1;
            }
        }
    }

    fn update_enemy_subs(&mut self, r: &mut i32) {
        let mut walk = ReverseWalk::new(self.e_subs.len());
        while let Some(i) = walk.next(self.e_subs.len()) {
            let mut sub = self.e_subs[i];
            // Where the visited object sits in the list now (None once removed).
            let mut at = Some(i);
            if self.at_sub(sub[0], sub[1]) {
                self.terminal = true;
            }
            if sub[3] == 0 {
                sub[3] = self.move_speed;
                sub[0] += step(sub[2]);
                self.e_subs[i] = sub;
                if !(0..=9).contains(&sub[0]) {
                    at = Self::detach(&mut self.e_subs, sub, i);
                } else if self.at_sub(sub[0], sub[1]) {
                    self.terminal = true;
                } else if let Some(k) = self.f_bullets.iter().position(|b| same_cell(b, &sub)) {
                    at = Self::detach(&mut self.e_subs, sub, i);
                    let bullet = self.f_bullets[k];
                    remove_first(&mut self.f_bullets, bullet);
                    *r += 1;
                }
            } else {
                sub[3] -= 1;
            }
            // A sub fires on its timer even on the frame it was removed.
            if sub[4] == 0 {
                sub[4] = ENEMY_SHOT_INTERVAL;
                self.e_bullets.push([sub[0], sub[1], sub[2]]);
            } else {
                sub[4] -= 1;
            }
            if let Some(j) = at {
                self.e_subs[j] = sub;
            }
        }
    }

    /// `list.remove(value)` where `value` is the visited object at `at`:
    /// where that object sits afterwards (one lower if an equal element
    /// before it went instead; `None` if it went itself).
    fn detach<T: PartialEq + Copy>(list: &mut Vec<T>, value: T, at: usize) -> Option<usize> {
        let removed = remove_first(list, value);
        (removed != at).then(|| at - 1)
    }

    fn update_enemy_bullets(&mut self) {
        let mut walk = ReverseWalk::new(self.e_bullets.len());
        while let Some(i) = walk.next(self.e_bullets.len()) {
            if self.at_sub(self.e_bullets[i][0], self.e_bullets[i][1]) {
                self.terminal = true;
            }
            self.e_bullets[i][0] += step(self.e_bullets[i][2]);
            let bullet = self.e_bullets[i];
            if !(0..=9).contains(&bullet[0]) {
                remove_first(&mut self.e_bullets, bullet);
            } else if self.at_sub(bullet[0], bullet[1]) {
                self.terminal = true;
            }
        }
    }

    fn update_enemy_fish(&mut self, r: &mut i32) {
        let mut walk = ReverseWalk::new(self.e_fish.len());
        while let Some(i) = walk.next(self.e_fish.len()) {
            let mut fish = self.e_fish[i];
            if self.at_sub(fish[0], fish[1]) {
                self.terminal = true;
            }
            if fish[3] == 0 {
                fish[3] = self.move_speed;
                fish[0] += step(fish[2]);
                self.e_fish[i] = fish;
                if !(0..=9).contains(&fish[0]) {
                    remove_first(&mut self.e_fish, fish);
                } else if self.at_sub(fish[0], fish[1]) {
                    self.terminal = true;
                } else if let Some(k) = self.f_bullets.iter().position(|b| same_cell(b, &fish)) {
                    remove_first(&mut self.e_fish, fish);
                    let bullet = self.f_bullets[k];
                    remove_first(&mut self.f_bullets, bullet);
                    *r += 1;
                }
            } else {
                self.e_fish[i][3] -= 1;
            }
        }
    }
}

impl Game for Seaquest {
    const CHANNELS: &'static [&'static str] =
        &["sub_front", "sub_back", "friendly_bullet", "trail", "enemy_bullet", "enemy_fish", "enemy_sub", "oxygen_guage", "diver_guage", "diver"];
    const MINIMAL_ACTIONS: &'static [usize] = &[0, 1, 2, 3, 4, 5];

    fn reset(&mut self, _rng: &mut RandomState) {
        // As `Self::new`, keeping the lists' memory.
        fn emptied<T>(list: &mut Vec<T>) -> Vec<T> {
            let mut list = std::mem::take(list);
            list.clear();
            list
        }
        *self = Self {
            f_bullets: emptied(&mut self.f_bullets),
            e_bullets: emptied(&mut self.e_bullets),
            e_fish: emptied(&mut self.e_fish),
            e_subs: emptied(&mut self.e_subs),
            divers: emptied(&mut self.divers),
            ..Self::new(self.ramping)
        };
    }

    fn act(&mut self, action: usize, rng: &mut RandomState) -> (i32, bool) {
        let mut r = 0;
        if self.terminal {
            return (r, true);
        }
        if self.e_spawn_timer == 0 {
            self.spawn_enemy(rng);
            self.e_spawn_timer = self.e_spawn_speed;
        }
        if self.d_spawn_timer == 0 {
            self.spawn_diver(rng);
            self.d_spawn_timer = DIVER_SPAWN_SPEED;
        }
        if action == ACTION_FIRE && self.shot_timer == 0 {
            self.f_bullets.push([self.sub_x, self.sub_y, self.sub_or as i32]);
            self.shot_timer = SHOT_COOL_DOWN;
        } else {
            // MinAtar's `max(0, x - 1)`, `min(9, x + 1)`, `max(0, y - 1)`,
            // `min(8, y + 1)`, and the facing set by left and right.
            let (dx, dy) = MOVE[action];
            self.sub_x = (self.sub_x + dx).clamp(0, 9);
            self.sub_y = (self.sub_y + dy).clamp(0, 8);
            self.sub_or = if dx != 0 { dx > 0 } else { self.sub_or };
        }
        self.update_friendly_bullets(&mut r);
        self.update_divers();
        self.update_enemy_subs(&mut r);
        self.update_enemy_bullets();
        self.update_enemy_fish(&mut r);
        self.e_spawn_timer -= (self.e_spawn_timer > 0) as i32;
        self.d_spawn_timer -= (self.d_spawn_timer > 0) as i32;
        self.shot_timer -= (self.shot_timer > 0) as i32;
        if self.oxygen <= 0 {
            self.terminal = true;
        }
        if self.sub_y > 0 {
            self.oxygen -= 1;
            self.surface = false;
        } else if !self.surface {
            if self.diver_count == 0 {
                self.terminal = true;
            } else {
                r += self.surface();
            }
        }
        (r, self.terminal)
    }

    fn draw<C: Cells>(&self, cells: &mut C) {
        cells.set(self.sub_y, self.sub_x, 0);
        let back_x = if self.sub_or { self.sub_x - 1 } else { self.sub_x + 1 };
        cells.set(self.sub_y, back_x, 1);
        for x in 0..self.oxygen.max(0) * 10 / MAX_OXYGEN {
            cells.set(9, x, 7);
        }
        // numpy's `9 - diver_count:9`: empty once the count is negative.
        for x in (9 - self.diver_count).max(0)..9 {
            cells.set(9, x, 8);
        }
        for b in &self.f_bullets {
            cells.set(b[1], b[0], 2);
        }
        for b in &self.e_bullets {
            cells.set(b[1], b[0], 4);
        }
        let mut with_trail = |o: &[i32], channel: usize| {
            cells.set(o[1], o[0], channel);
            let back_x = if o[2] != 0 { o[0] - 1 } else { o[0] + 1 };
            if (0..=9).contains(&back_x) {
                cells.set(o[1], back_x, 3);
            }
        };
        for fish in &self.e_fish {
            with_trail(fish, 5);
        }
        for sub in &self.e_subs {
            with_trail(sub, 6);
        }
        for diver in &self.divers {
            with_trail(diver, 9);
        }
    }

    fn difficulty_ramp(&self) -> Option<u32> {
        Some(self.ramp_index)
    }
}
