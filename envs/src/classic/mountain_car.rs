//! `MountainCar-v0`: drive an under-powered car up a hill (Moore 1990).

use crate::env::{copy_state, reseed, uniform, Env, EnvError, StepResult};
use crate::registration::{EnvSpec, Registration};
use crate::render::{rotate, Canvas, Frame};
use crate::snapshot;
use crate::spaces::{Action, BoxSpace, Space};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

/// Leftmost position.
pub const MIN_POSITION: f64 = -1.2;
/// Rightmost position.
pub const MAX_POSITION: f64 = 0.6;
/// Speed limit in either direction.
pub const MAX_SPEED: f64 = 0.07;
/// Position of the flag.
pub const GOAL_POSITION: f64 = 0.5;
/// Push of one action.
pub const FORCE: f64 = 0.001;
/// Gravity term.
pub const GRAVITY: f64 = 0.0025;

/// MountainCar with three discrete actions (push left, none, right); reward -1 a step.
#[derive(Debug, Clone)]
pub struct MountainCar {
    progress: Progress,
    observation_space: BoxSpace,
    action_space: Space,
}

/// What changes as the environment runs: its [`Env::snapshot`].
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct Progress {
    #[serde(with = "crate::snapshot::bits")]
    state: [f64; 2],
    rng: Option<ChaCha8Rng>,
    ready: bool,
}

/// Its line in the registry ([`crate::registry::REGISTRY`]).
pub const REGISTRATION: Registration =
    Registration { spec: EnvSpec { id: "MountainCar-v0", max_episode_steps: 200, reward_threshold: Some(-110.0) }, make: || Box::new(MountainCar::new()) };

impl Default for MountainCar {
    fn default() -> Self {
        Self::new()
    }
}

impl MountainCar {
    /// A new environment; call `reset` before stepping.
    pub fn new() -> Self {
        Self {
            progress: Progress::default(),
            observation_space: BoxSpace::new(vec![MIN_POSITION as f32, -MAX_SPEED as f32], vec![MAX_POSITION as f32, MAX_SPEED as f32]),
            action_space: Space::Discrete(3),
        }
    }
}

impl Env for MountainCar {
    fn id(&self) -> &'static str {
        REGISTRATION.spec.id
    }
    fn observation_space(&self) -> &BoxSpace {
        &self.observation_space
    }
    fn action_space(&self) -> &Space {
        &self.action_space
    }

    fn reset_into(&mut self, seed: Option<u64>, obs: &mut [f32]) {
        let rng = reseed(&mut self.progress.rng, seed);
        self.progress.state = [uniform(rng, -0.6, -0.4), 0.0];
        self.progress.ready = true;
        obs[0] = self.progress.state[0] as f32;
        obs[1] = self.progress.state[1] as f32;
    }

    fn step_into(&mut self, action: Action<'_>, obs: &mut [f32]) -> Result<StepResult, EnvError> {
        self.action_space.check(action)?;
        if !self.progress.ready {
            return Err(EnvError::ResetNeeded);
        }
        let Action::Discrete(a) = action else { unreachable!("checked above") };
        let [mut position, mut velocity] = self.progress.state;
        velocity += (a as f64 - 1.0) * FORCE + libm::cos(3.0 * position) * (-GRAVITY);
        velocity = velocity.clamp(-MAX_SPEED, MAX_SPEED);
        position += velocity;
        position = position.clamp(MIN_POSITION, MAX_POSITION);
        if position == MIN_POSITION && velocity < 0.0 {
            velocity = 0.0;
        }
        let terminated = position >= GOAL_POSITION && velocity >= 0.0;
        self.progress.state = [position, velocity];
        obs[0] = position as f32;
        obs[1] = velocity as f32;
        Ok(StepResult { reward: -1.0, terminated, truncated: false, episode: None })
    }

    fn state(&self) -> Vec<f64> {
        self.progress.state.to_vec()
    }
    fn set_state(&mut self, state: &[f64]) -> Result<(), EnvError> {
        copy_state(&mut self.progress.state, state)?;
        self.progress.ready = true;
        Ok(())
    }

    fn snapshot(&self) -> serde_json::Value {
        snapshot::save(&self.progress)
    }
    fn restore(&mut self, snapshot: &serde_json::Value) -> Result<(), EnvError> {
        snapshot::load(&mut self.progress, REGISTRATION.spec.id, snapshot)
    }

    fn render(&self) -> Option<Frame> {
        Some(draw(self.progress.state[0]))
    }
}

/// MountainCar (both variants): 600x400, the hill, the car and the flag.
pub(crate) fn draw(position: f64) -> Frame {
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
