//! `CartPole-v1`: balance a pole on a cart (Barto, Sutton and Anderson 1983).

use crate::env::{bits, copy_state, from_bits, from_snapshot, reseed, to_snapshot, uniform, Env, EnvError, StepResult};
use crate::render::{self, Frame};
use crate::spaces::{Action, BoxSpace, Space};
use rand_chacha::ChaCha8Rng;

/// Gravity (m/s^2).
pub const GRAVITY: f64 = 9.8;
/// Cart mass (kg).
pub const MASS_CART: f64 = 1.0;
/// Pole mass (kg).
pub const MASS_POLE: f64 = 0.1;
/// Total mass.
pub const TOTAL_MASS: f64 = MASS_POLE + MASS_CART;
/// Half the pole's length (m).
pub const LENGTH: f64 = 0.5;
/// `MASS_POLE * LENGTH`.
pub const POLEMASS_LENGTH: f64 = MASS_POLE * LENGTH;
/// Magnitude of the push (N).
pub const FORCE_MAG: f64 = 10.0;
/// Seconds between state updates.
pub const TAU: f64 = 0.02;
/// Pole angle beyond which the episode terminates (12 degrees, in radians).
pub const THETA_THRESHOLD: f64 = 12.0 * 2.0 * std::f64::consts::PI / 360.0;
/// Cart position beyond which the episode terminates.
pub const X_THRESHOLD: f64 = 2.4;

/// CartPole with Gymnasium's Euler integrator; reward 1 for every step, the last included.
#[derive(Debug, Clone)]
pub struct CartPole {
    state: [f64; 4],
    rng: Option<ChaCha8Rng>,
    steps_beyond_terminated: Option<usize>,
    ready: bool,
    observation_space: BoxSpace,
    action_space: Space,
}

impl Default for CartPole {
    fn default() -> Self {
        Self::new()
    }
}

impl CartPole {
    /// A new environment; call `reset` before stepping.
    pub fn new() -> Self {
        let high = [X_THRESHOLD * 2.0, f64::MAX, THETA_THRESHOLD * 2.0, f64::MAX].map(|v| v as f32);
        Self {
            state: [0.0; 4],
            rng: None,
            steps_beyond_terminated: None,
            ready: false,
            observation_space: BoxSpace::new(high.iter().map(|h| -h).collect(), high.to_vec()),
            action_space: Space::Discrete(2),
        }
    }

    fn write_obs(&self, obs: &mut [f32]) {
        for (o, s) in obs.iter_mut().zip(&self.state) {
            *o = *s as f32;
        }
    }
}

impl Env for CartPole {
    fn id(&self) -> &'static str {
        "CartPole-v1"
    }
    fn observation_space(&self) -> &BoxSpace {
        &self.observation_space
    }
    fn action_space(&self) -> &Space {
        &self.action_space
    }

    fn reset_into(&mut self, seed: Option<u64>, obs: &mut [f32]) {
        let rng = reseed(&mut self.rng, seed);
        for s in self.state.iter_mut() {
            *s = uniform(rng, -0.05, 0.05);
        }
        self.steps_beyond_terminated = None;
        self.ready = true;
        self.write_obs(obs);
    }

    fn step_into(&mut self, action: Action<'_>, obs: &mut [f32]) -> Result<StepResult, EnvError> {
        self.action_space.check(action)?;
        if !self.ready {
            return Err(EnvError::ResetNeeded);
        }
        let Action::Discrete(a) = action else { unreachable!("checked above") };
        let [mut x, mut x_dot, mut theta, mut theta_dot] = self.state;
        let force = if a == 1 { FORCE_MAG } else { -FORCE_MAG };
        let costheta = libm::cos(theta);
        let sintheta = libm::sin(theta);
        let temp = (force + POLEMASS_LENGTH * theta_dot * theta_dot * sintheta) / TOTAL_MASS;
        let thetaacc = (GRAVITY * sintheta - costheta * temp) / (LENGTH * (4.0 / 3.0 - MASS_POLE * costheta * costheta / TOTAL_MASS));
        let xacc = temp - POLEMASS_LENGTH * thetaacc * costheta / TOTAL_MASS;
        x += TAU * x_dot;
        x_dot += TAU * xacc;
        theta += TAU * theta_dot;
        theta_dot += TAU * thetaacc;
        self.state = [x, x_dot, theta, theta_dot];

        // Gymnasium's comparisons, kept as written: unlike `!range.contains(&x)`,
        // they leave a NaN state unterminated, as Gymnasium does.
        #[allow(clippy::manual_range_contains)]
        let terminated = x < -X_THRESHOLD || x > X_THRESHOLD || theta < -THETA_THRESHOLD || theta > THETA_THRESHOLD;
        let reward = if !terminated {
            1.0
        } else if self.steps_beyond_terminated.is_none() {
            self.steps_beyond_terminated = Some(0);
            1.0
        } else {
            // Stepping past termination: Gymnasium warns and pays nothing.
            *self.steps_beyond_terminated.as_mut().expect("set") += 1;
            0.0
        };
        self.write_obs(obs);
        Ok(StepResult { reward, terminated, truncated: false, episode: None })
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
        to_snapshot(&(bits(&self.state), &self.rng, self.steps_beyond_terminated, self.ready))
    }
    fn restore(&mut self, snapshot: &serde_json::Value) -> Result<(), EnvError> {
        let (state, rng, steps_beyond_terminated, ready): ([u64; 4], Option<rand_chacha::ChaCha8Rng>, Option<usize>, bool) =
            from_snapshot(self.id(), snapshot)?;
        self.state = from_bits(state);
        self.rng = rng;
        self.steps_beyond_terminated = steps_beyond_terminated;
        self.ready = ready;
        Ok(())
    }

    fn render(&self) -> Option<Frame> {
        Some(render::cartpole(&self.state))
    }
}
