//! `MountainCarContinuous-v0`: MountainCar with a continuous push in `[-1, 1]`.
//!
//! Gymnasium stores this environment's state as a `float32` array after the
//! first step (the reset state is `float64`), and numpy computes the update
//! in the width of the state it finds, with the action terms in `float32`.
//! This port does the same, operation by operation, so that states agree
//! with Gymnasium's bit for bit.

use crate::env::{copy_state, reseed, uniform, Env, EnvError, StepResult};
use crate::registration::{EnvSpec, Registration};
use crate::render::Frame;
use crate::snapshot;
use crate::spaces::{Action, BoxSpace, Space};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

/// Leftmost position.
pub const MIN_POSITION: f32 = -1.2;
/// Rightmost position.
pub const MAX_POSITION: f32 = 0.6;
/// Speed limit in either direction.
pub const MAX_SPEED: f32 = 0.07;
/// Position of the flag.
pub const GOAL_POSITION: f32 = 0.45;
/// Engine power: velocity change per unit of action.
pub const POWER: f32 = 0.0015;

/// MountainCarContinuous: reward +100 at the goal, minus `0.1 * action^2` each step.
#[derive(Debug, Clone)]
pub struct MountainCarContinuous {
    progress: Progress,
    observation_space: BoxSpace,
    action_space: Space,
}

/// What changes as the environment runs: its [`Env::snapshot`].
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct Progress {
    #[serde(with = "crate::snapshot::bits")]
    state: [f64; 2],
    /// Whether `state` holds float32 values (after a step) or float64 ones (after reset).
    state_is_f32: bool,
    rng: Option<ChaCha8Rng>,
    ready: bool,
}

/// Its line in the registry ([`crate::registry::REGISTRY`]).
pub const REGISTRATION: Registration = Registration {
    spec: EnvSpec { id: "MountainCarContinuous-v0", max_episode_steps: 999, reward_threshold: Some(90.0) },
    make: || Box::new(MountainCarContinuous::new()),
};

impl Default for MountainCarContinuous {
    fn default() -> Self {
        Self::new()
    }
}

/// The float width a step is computed in: `f32` after a step, `f64` right after reset.
trait Width: Copy + PartialOrd + std::ops::Add<Output = Self> {
    fn from_f64(v: f64) -> Self;
    fn to_f64(self) -> f64;
}
impl Width for f32 {
    fn from_f64(v: f64) -> Self {
        v as f32
    }
    fn to_f64(self) -> f64 {
        f64::from(self)
    }
}
impl Width for f64 {
    fn from_f64(v: f64) -> Self {
        v
    }
    fn to_f64(self) -> f64 {
        self
    }
}

impl MountainCarContinuous {
    /// Gymnasium's update with the state in width `W`. Python-float constants
    /// are rounded to `W` where numpy compares or adds them to the state; the
    /// action terms are float32 in both widths (numpy keeps a float32 action
    /// times a python float in float32).
    fn update<W: Width>(mut position: W, mut velocity: W, force: f32) -> (W, W, bool) {
        // `3 * position` in the state's width (exact in f64, so rounding it gives numpy's f32 product).
        let three_p = W::from_f64(3.0 * position.to_f64()).to_f64();
        let cos_term = (0.0025 * libm::cos(three_p)) as f32;
        velocity = velocity + W::from_f64(f64::from(force * POWER - cos_term));
        let (vmax, vmin) = (W::from_f64(0.07), W::from_f64(-0.07));
        if velocity > vmax {
            velocity = vmax;
        }
        if velocity < vmin {
            velocity = vmin;
        }
        position = position + velocity;
        let (pmin, pmax) = (W::from_f64(-1.2), W::from_f64(0.6));
        if position > pmax {
            position = pmax;
        }
        if position < pmin {
            position = pmin;
        }
        let zero = W::from_f64(0.0);
        if position == pmin && velocity < zero {
            velocity = zero;
        }
        let terminated = position >= W::from_f64(0.45) && velocity >= zero;
        (position, velocity, terminated)
    }

    /// A new environment; call `reset` before stepping.
    pub fn new() -> Self {
        Self {
            progress: Progress::default(),
            observation_space: BoxSpace::new(vec![MIN_POSITION, -MAX_SPEED], vec![MAX_POSITION, MAX_SPEED]),
            action_space: Space::Box(BoxSpace::new(vec![-1.0], vec![1.0])),
        }
    }
}

impl Env for MountainCarContinuous {
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
        self.progress.state_is_f32 = false;
        self.progress.ready = true;
        obs[0] = self.progress.state[0] as f32;
        obs[1] = self.progress.state[1] as f32;
    }

    fn step_into(&mut self, action: Action<'_>, obs: &mut [f32]) -> Result<StepResult, EnvError> {
        self.action_space.check(action)?;
        if !self.progress.ready {
            return Err(EnvError::ResetNeeded);
        }
        let Action::Continuous(a) = action else { unreachable!("checked above") };
        let force = a[0]; // inside [-1, 1]: checked above
        let (position, velocity, terminated) = if self.progress.state_is_f32 {
            let (p, v, t) = Self::update(self.progress.state[0] as f32, self.progress.state[1] as f32, force);
            (f64::from(p), f64::from(v), t)
        } else {
            Self::update(self.progress.state[0], self.progress.state[1], force)
        };
        let mut reward = 0.0;
        if terminated {
            reward = 100.0;
        }
        reward -= f64::from(force).powi(2) * 0.1;
        self.progress.state = [f64::from(position as f32), f64::from(velocity as f32)];
        self.progress.state_is_f32 = true;
        obs[0] = position as f32;
        obs[1] = velocity as f32;
        Ok(StepResult { reward, terminated, truncated: false, episode: None })
    }

    fn state(&self) -> Vec<f64> {
        self.progress.state.to_vec()
    }
    /// Sets the state; values that are all exact `f32` numbers are taken as
    /// Gymnasium's float32 state after a step, others as a float64 reset state.
    fn set_state(&mut self, state: &[f64]) -> Result<(), EnvError> {
        copy_state(&mut self.progress.state, state)?;
        self.progress.state_is_f32 = state.iter().all(|&v| f64::from(v as f32) == v);
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
        Some(super::mountain_car::draw(self.progress.state[0]))
    }
}
