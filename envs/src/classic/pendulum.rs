//! `Pendulum-v1`: swing a pendulum up and keep it upright with a limited torque.

use crate::env::{bits, copy_state, from_bits, from_snapshot, reseed, to_snapshot, uniform, Env, EnvError, StepResult};
use crate::render::{self, Frame};
use crate::spaces::{Action, BoxSpace, Space};
use rand_chacha::ChaCha8Rng;
use std::f64::consts::PI;

/// Largest angular speed.
pub const MAX_SPEED: f64 = 8.0;
/// Largest torque.
pub const MAX_TORQUE: f32 = 2.0;
/// Seconds per step.
pub const DT: f64 = 0.05;
/// Gravity.
pub const G: f64 = 10.0;
/// Mass.
pub const M: f64 = 1.0;
/// Length.
pub const L: f64 = 1.0;

/// numpy's `((x + pi) % (2 pi)) - pi`, with a floored modulo.
pub fn angle_normalize(x: f64) -> f64 {
    let b = 2.0 * PI;
    let mut r = (x + PI) % b;
    if r != 0.0 && (r < 0.0) != (b < 0.0) {
        r += b;
    }
    r - PI
}

/// Pendulum: reward `-(angle^2 + 0.1 thdot^2 + 0.001 u^2)`, never terminates.
#[derive(Debug, Clone)]
pub struct Pendulum {
    state: [f64; 2],
    rng: Option<ChaCha8Rng>,
    ready: bool,
    last_u: Option<f32>,
    observation_space: BoxSpace,
    action_space: Space,
}

impl Default for Pendulum {
    fn default() -> Self {
        Self::new()
    }
}

impl Pendulum {
    /// A new environment; call `reset` before stepping.
    pub fn new() -> Self {
        let high = vec![1.0, 1.0, MAX_SPEED as f32];
        Self {
            state: [0.0; 2],
            rng: None,
            ready: false,
            last_u: None,
            observation_space: BoxSpace::new(high.iter().map(|h| -h).collect(), high),
            action_space: Space::Box(BoxSpace::new(vec![-MAX_TORQUE], vec![MAX_TORQUE])),
        }
    }

    fn write_obs(&self, obs: &mut [f32]) {
        let [th, thdot] = self.state;
        obs[0] = libm::cos(th) as f32;
        obs[1] = libm::sin(th) as f32;
        obs[2] = thdot as f32;
    }
}

impl Env for Pendulum {
    fn id(&self) -> &'static str {
        "Pendulum-v1"
    }
    fn observation_space(&self) -> &BoxSpace {
        &self.observation_space
    }
    fn action_space(&self) -> &Space {
        &self.action_space
    }

    fn reset_into(&mut self, seed: Option<u64>, obs: &mut [f32]) {
        let rng = reseed(&mut self.rng, seed);
        let th = uniform(rng, -PI, PI);
        let thdot = uniform(rng, -1.0, 1.0);
        self.state = [th, thdot];
        self.last_u = None;
        self.ready = true;
        self.write_obs(obs);
    }

    fn step_into(&mut self, action: Action<'_>, obs: &mut [f32]) -> Result<StepResult, EnvError> {
        self.action_space.check(action)?;
        if !self.ready {
            return Err(EnvError::ResetNeeded);
        }
        let Action::Continuous(a) = action else { unreachable!("checked above") };
        let u = a[0].clamp(-MAX_TORQUE, MAX_TORQUE);
        self.last_u = Some(u);
        let [th, thdot] = self.state;
        // numpy evaluates the torque terms in float32 (a float32 action times python floats).
        let norm = angle_normalize(th);
        let costs = norm * norm + 0.1 * thdot * thdot + f64::from(0.001f32 * (u * u));
        let mut newthdot = thdot + (3.0 * G / (2.0 * L) * libm::sin(th) + f64::from(3.0f32 * u)) * DT;
        newthdot = newthdot.clamp(-MAX_SPEED, MAX_SPEED);
        let newth = th + newthdot * DT;
        self.state = [newth, newthdot];
        self.write_obs(obs);
        Ok(StepResult { reward: -costs, terminated: false, truncated: false, episode: None })
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
        to_snapshot(&(bits(&self.state), &self.rng, self.ready, self.last_u.map(f32::to_bits)))
    }
    fn restore(&mut self, snapshot: &serde_json::Value) -> Result<(), EnvError> {
        let (state, rng, ready, last_u): ([u64; 2], Option<rand_chacha::ChaCha8Rng>, bool, Option<u32>) = from_snapshot(self.id(), snapshot)?;
        self.state = from_bits(state);
        self.rng = rng;
        self.ready = ready;
        self.last_u = last_u.map(f32::from_bits);
        Ok(())
    }

    fn render(&self) -> Option<Frame> {
        Some(render::pendulum(self.state[0]))
    }
}
