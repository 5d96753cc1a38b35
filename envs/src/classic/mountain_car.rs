//! `MountainCar-v0`: drive an under-powered car up a hill (Moore 1990).

use crate::env::{bits, copy_state, from_bits, from_snapshot, reseed, to_snapshot, uniform, Env, EnvError, StepResult};
use crate::render::{self, Frame};
use crate::spaces::{Action, BoxSpace, Space};
use rand_chacha::ChaCha8Rng;

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
    state: [f64; 2],
    rng: Option<ChaCha8Rng>,
    ready: bool,
    observation_space: BoxSpace,
    action_space: Space,
}

impl Default for MountainCar {
    fn default() -> Self {
        Self::new()
    }
}

impl MountainCar {
    /// A new environment; call `reset` before stepping.
    pub fn new() -> Self {
        Self {
            state: [0.0; 2],
            rng: None,
            ready: false,
            observation_space: BoxSpace::new(vec![MIN_POSITION as f32, -MAX_SPEED as f32], vec![MAX_POSITION as f32, MAX_SPEED as f32]),
            action_space: Space::Discrete(3),
        }
    }
}

impl Env for MountainCar {
    fn id(&self) -> &'static str {
        "MountainCar-v0"
    }
    fn observation_space(&self) -> &BoxSpace {
        &self.observation_space
    }
    fn action_space(&self) -> &Space {
        &self.action_space
    }

    fn reset_into(&mut self, seed: Option<u64>, obs: &mut [f32]) {
        let rng = reseed(&mut self.rng, seed);
        self.state = [uniform(rng, -0.6, -0.4), 0.0];
        self.ready = true;
        obs[0] = self.state[0] as f32;
        obs[1] = self.state[1] as f32;
    }

    fn step_into(&mut self, action: Action<'_>, obs: &mut [f32]) -> Result<StepResult, EnvError> {
        self.action_space.check(action)?;
        if !self.ready {
            return Err(EnvError::ResetNeeded);
        }
        let Action::Discrete(a) = action else { unreachable!("checked above") };
        let [mut position, mut velocity] = self.state;
        velocity += (a as f64 - 1.0) * FORCE + libm::cos(3.0 * position) * (-GRAVITY);
        velocity = velocity.clamp(-MAX_SPEED, MAX_SPEED);
        position += velocity;
        position = position.clamp(MIN_POSITION, MAX_POSITION);
        if position == MIN_POSITION && velocity < 0.0 {
            velocity = 0.0;
        }
        let terminated = position >= GOAL_POSITION && velocity >= 0.0;
        self.state = [position, velocity];
        obs[0] = position as f32;
        obs[1] = velocity as f32;
        Ok(StepResult { reward: -1.0, terminated, truncated: false, episode: None })
    }

    fn state(&self) -> Vec<f64> {
        self.state.to_vec()
    }
    fn set_state(&mut self, state: &[f64]) -> Result<(), EnvError> {
        copy_state(&mut self.state, state)?;
        self.ready = true;
        Ok(())
    }

    fn snapshot(&self) -> serde_json::Value {
        to_snapshot(&(bits(&self.state), &self.rng, self.ready))
    }
    fn restore(&mut self, snapshot: &serde_json::Value) -> Result<(), EnvError> {
        let (state, rng, ready): ([u64; 2], Option<rand_chacha::ChaCha8Rng>, bool) = from_snapshot(self.id(), snapshot)?;
        self.state = from_bits(state);
        self.rng = rng;
        self.ready = ready;
        Ok(())
    }

    fn render(&self) -> Option<Frame> {
        Some(render::mountain_car(self.state[0]))
    }
}
