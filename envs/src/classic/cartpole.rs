//! `CartPole-v1`: balance a pole on a cart (Barto, Sutton and Anderson 1983).

use crate::env::{copy_state, reseed, uniform, Env, EnvError, StepResult};
use crate::registration::{EnvSpec, Registration};
use crate::render::{rotate, Canvas, Frame};
use crate::snapshot;
use crate::spaces::{Action, BoxSpace, Space};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

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
    progress: Progress,
    observation_space: BoxSpace,
    action_space: Space,
}

/// What changes as the environment runs: its [`Env::snapshot`].
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct Progress {
    #[serde(with = "crate::snapshot::bits")]
    state: [f64; 4],
    rng: Option<ChaCha8Rng>,
    steps_beyond_terminated: Option<usize>,
    ready: bool,
}

/// Its line in the registry ([`crate::registry::REGISTRY`]).
pub const REGISTRATION: Registration =
    Registration { spec: EnvSpec { id: "CartPole-v1", max_episode_steps: 500, reward_threshold: Some(475.0) }, make: || Box::new(CartPole::new()) };

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
            progress: Progress::default(),
            observation_space: BoxSpace::new(high.iter().map(|h| -h).collect(), high.to_vec()),
            action_space: Space::Discrete(2),
        }
    }

    fn write_obs(&self, obs: &mut [f32]) {
        for (o, s) in obs.iter_mut().zip(&self.progress.state) {
            *o = *s as f32;
        }
    }
}

impl Env for CartPole {
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
        for s in self.progress.state.iter_mut() {
            *s = uniform(rng, -0.05, 0.05);
        }
        self.progress.steps_beyond_terminated = None;
        self.progress.ready = true;
        self.write_obs(obs);
    }

    fn step_into(&mut self, action: Action<'_>, obs: &mut [f32]) -> Result<StepResult, EnvError> {
        self.action_space.check(action)?;
        if !self.progress.ready {
            return Err(EnvError::ResetNeeded);
        }
        let Action::Discrete(a) = action else { unreachable!("checked above") };
        let [mut x, mut x_dot, mut theta, mut theta_dot] = self.progress.state;
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
        self.progress.state = [x, x_dot, theta, theta_dot];

        // Gymnasium's comparisons, kept as written: unlike `!range.contains(&x)`,
        // they leave a NaN state unterminated, as Gymnasium does.
        #[allow(clippy::manual_range_contains)]
        let terminated = x < -X_THRESHOLD || x > X_THRESHOLD || theta < -THETA_THRESHOLD || theta > THETA_THRESHOLD;
        let reward = if !terminated {
            1.0
        } else if self.progress.steps_beyond_terminated.is_none() {
            self.progress.steps_beyond_terminated = Some(0);
            1.0
        } else {
            // Stepping past termination: Gymnasium warns and pays nothing.
            *self.progress.steps_beyond_terminated.as_mut().expect("set") += 1;
            0.0
        };
        self.write_obs(obs);
        Ok(StepResult { reward, terminated, truncated: false, episode: None })
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
        Some(draw(&self.progress.state))
    }
}

/// CartPole: 600x400, cart, pole and track as in Gymnasium.
fn draw(state: &[f64; 4]) -> Frame {
    let (w, h) = (600u32, 400u32);
    let scale = w as f32 / (2.0 * X_THRESHOLD as f32);
    let (pole_w, pole_len) = (10.0f32, scale * (2.0 * LENGTH as f32));
    let (cart_w, cart_h) = (50.0f32, 30.0f32);
    let mut c = Canvas::new(w, h);
    let cart_x = state[0] as f32 * scale + w as f32 / 2.0;
    let cart_y = 100.0f32;
    let axle = cart_h / 4.0;
    c.polyline(&[(0.0, cart_y), (w as f32, cart_y)], 1.0, (0, 0, 0));
    let (l, r, t, b) = (-cart_w / 2.0, cart_w / 2.0, cart_h / 2.0, -cart_h / 2.0);
    c.polygon(&[(l + cart_x, b + cart_y), (l + cart_x, t + cart_y), (r + cart_x, t + cart_y), (r + cart_x, b + cart_y)], (0, 0, 0));
    let (l, r, t, b) = (-pole_w / 2.0, pole_w / 2.0, pole_len - pole_w / 2.0, -pole_w / 2.0);
    let pole: Vec<_> = [(l, b), (l, t), (r, t), (r, b)].iter().map(|&p| rotate(p, -state[2] as f32, cart_x, cart_y + axle)).collect();
    c.polygon(&pole, (202, 152, 101));
    c.circle(cart_x, cart_y + axle, pole_w / 2.0, (129, 132, 203));
    c.into_frame()
}
