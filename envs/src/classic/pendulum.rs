//! `Pendulum-v1`: swing a pendulum up and keep it upright with a limited torque.

use crate::env::{copy_state, reseed, uniform, Env, EnvError, StepResult};
use crate::registration::{EnvSpec, Registration};
use crate::render::{Canvas, Frame};
use crate::snapshot;
use crate::spaces::{Action, BoxSpace, Space};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};
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
    #[serde(with = "crate::snapshot::f32_bits")]
    last_u: Option<f32>,
}

/// Its line in the registry ([`crate::registry::REGISTRY`]).
pub const REGISTRATION: Registration =
    Registration { spec: EnvSpec { id: "Pendulum-v1", max_episode_steps: 200, reward_threshold: None }, make: || Box::new(Pendulum::new()) };

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
            progress: Progress::default(),
            observation_space: BoxSpace::new(high.iter().map(|h| -h).collect(), high),
            action_space: Space::Box(BoxSpace::new(vec![-MAX_TORQUE], vec![MAX_TORQUE])),
        }
    }

    fn write_obs(&self, obs: &mut [f32]) {
        let [th, thdot] = self.progress.state;
        obs[0] = libm::cos(th) as f32;
        obs[1] = libm::sin(th) as f32;
        obs[2] = thdot as f32;
    }
}

impl Env for Pendulum {
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
        let th = uniform(rng, -PI, PI);
        let thdot = uniform(rng, -1.0, 1.0);
        self.progress.state = [th, thdot];
        self.progress.last_u = None;
        self.progress.ready = true;
        self.write_obs(obs);
    }

    fn step_into(&mut self, action: Action<'_>, obs: &mut [f32]) -> Result<StepResult, EnvError> {
        self.action_space.check(action)?;
        if !self.progress.ready {
            return Err(EnvError::ResetNeeded);
        }
        let Action::Continuous(a) = action else { unreachable!("checked above") };
        let u = a[0].clamp(-MAX_TORQUE, MAX_TORQUE);
        self.progress.last_u = Some(u);
        let [th, thdot] = self.progress.state;
        // numpy evaluates the torque terms in float32 (a float32 action times python floats).
        let norm = angle_normalize(th);
        let costs = norm * norm + 0.1 * thdot * thdot + f64::from(0.001f32 * (u * u));
        let mut newthdot = thdot + (3.0 * G / (2.0 * L) * libm::sin(th) + f64::from(3.0f32 * u)) * DT;
        newthdot = newthdot.clamp(-MAX_SPEED, MAX_SPEED);
        let newth = th + newthdot * DT;
        self.progress.state = [newth, newthdot];
        self.write_obs(obs);
        Ok(StepResult { reward: -costs, terminated: false, truncated: false, episode: None })
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

/// Pendulum: 500x500, a rod from the centre (theta 0 points up).
fn draw(theta: f64) -> Frame {
    let size = 500u32;
    let scale = size as f32 / 4.4;
    let o = size as f32 / 2.0;
    let th = theta as f32;
    let end = (o + libm::sinf(th) * -scale, o + libm::cosf(th) * scale);
    let mut c = Canvas::new(size, size);
    c.polyline(&[(o, o), end], 0.2 * scale, (204, 77, 77));
    c.circle(end.0, end.1, 0.1 * scale, (204, 77, 77));
    c.circle(o, o, 0.05 * scale, (0, 0, 0));
    c.into_frame()
}
