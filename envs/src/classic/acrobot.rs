//! `Acrobot-v1`: swing a two-link chain above a bar (Sutton 1996, "book" dynamics, RK4).

use crate::env::{copy_state, reseed, uniform, Env, EnvError, StepResult};
use crate::registration::{EnvSpec, Registration};
use crate::render::{Canvas, Frame};
use crate::snapshot;
use crate::spaces::{Action, BoxSpace, Space};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};
use std::f64::consts::PI;

/// Seconds per step.
pub const DT: f64 = 0.2;
/// Length of link 1.
pub const LINK_LENGTH_1: f64 = 1.0;
/// Mass of link 1.
pub const LINK_MASS_1: f64 = 1.0;
/// Mass of link 2.
pub const LINK_MASS_2: f64 = 1.0;
/// Centre of mass of link 1.
pub const LINK_COM_POS_1: f64 = 0.5;
/// Centre of mass of link 2.
pub const LINK_COM_POS_2: f64 = 0.5;
/// Moment of inertia of both links.
pub const LINK_MOI: f64 = 1.0;
/// Speed limit of joint 1.
pub const MAX_VEL_1: f64 = 4.0 * PI;
/// Speed limit of joint 2.
pub const MAX_VEL_2: f64 = 9.0 * PI;
/// Torque of each action.
pub const AVAIL_TORQUE: [f64; 3] = [-1.0, 0.0, 1.0];

/// Acrobot: reward -1 a step, 0 on the step that reaches the goal height.
#[derive(Debug, Clone)]
pub struct Acrobot {
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
    ready: bool,
}

/// Its line in the registry ([`crate::registry::REGISTRY`]).
pub const REGISTRATION: Registration =
    Registration { spec: EnvSpec { id: "Acrobot-v1", max_episode_steps: 500, reward_threshold: Some(-100.0) }, make: || Box::new(Acrobot::new()) };

impl Default for Acrobot {
    fn default() -> Self {
        Self::new()
    }
}

/// Gymnasium's `wrap`: shifts `x` by whole periods into `[m, big_m]`.
fn wrap(mut x: f64, m: f64, big_m: f64) -> f64 {
    let diff = big_m - m;
    while x > big_m {
        x -= diff;
    }
    while x < m {
        x += diff;
    }
    x
}

/// The equations of motion; `s` is (theta1, theta2, dtheta1, dtheta2, torque).
fn dsdt(s: &[f64; 5]) -> [f64; 5] {
    let (m1, m2, l1) = (LINK_MASS_1, LINK_MASS_2, LINK_LENGTH_1);
    let (lc1, lc2, i1, i2, g) = (LINK_COM_POS_1, LINK_COM_POS_2, LINK_MOI, LINK_MOI, 9.8);
    let [theta1, theta2, dtheta1, dtheta2, a] = *s;
    let d1 = m1 * lc1.powi(2) + m2 * (l1.powi(2) + lc2.powi(2) + 2.0 * l1 * lc2 * libm::cos(theta2)) + i1 + i2;
    let d2 = m2 * (lc2.powi(2) + l1 * lc2 * libm::cos(theta2)) + i2;
    let phi2 = m2 * lc2 * g * libm::cos(theta1 + theta2 - PI / 2.0);
    let phi1 = -m2 * l1 * lc2 * dtheta2.powi(2) * libm::sin(theta2) - 2.0 * m2 * l1 * lc2 * dtheta2 * dtheta1 * libm::sin(theta2)
        + (m1 * lc1 + m2 * l1) * g * libm::cos(theta1 - PI / 2.0)
        + phi2;
    let ddtheta2 = (a + d2 / d1 * phi1 - m2 * l1 * lc2 * dtheta1.powi(2) * libm::sin(theta2) - phi2) / (m2 * lc2.powi(2) + i2 - d2.powi(2) / d1);
    let ddtheta1 = -(d2 * ddtheta2 + phi1) / d1;
    [dtheta1, dtheta2, ddtheta1, ddtheta2, 0.0]
}

/// One classical Runge-Kutta step of length `dt` (Gymnasium's `rk4` over `[0, dt]`).
fn rk4(y0: &[f64; 5], dt: f64) -> [f64; 5] {
    let dt2 = dt / 2.0;
    let axpy = |y: &[f64; 5], h: f64, k: &[f64; 5]| -> [f64; 5] { std::array::from_fn(|i| y[i] + h * k[i]) };
    let k1 = dsdt(y0);
    let k2 = dsdt(&axpy(y0, dt2, &k1));
    let k3 = dsdt(&axpy(y0, dt2, &k2));
    let k4 = dsdt(&axpy(y0, dt, &k3));
    std::array::from_fn(|i| y0[i] + dt / 6.0 * (k1[i] + 2.0 * k2[i] + 2.0 * k3[i] + k4[i]))
}

impl Acrobot {
    /// A new environment; call `reset` before stepping.
    pub fn new() -> Self {
        let high = vec![1.0, 1.0, 1.0, 1.0, MAX_VEL_1 as f32, MAX_VEL_2 as f32];
        Self { progress: Progress::default(), observation_space: BoxSpace::new(high.iter().map(|h| -h).collect(), high), action_space: Space::Discrete(3) }
    }

    fn write_obs(&self, obs: &mut [f32]) {
        let s = &self.progress.state;
        let o = [libm::cos(s[0]), libm::sin(s[0]), libm::cos(s[1]), libm::sin(s[1]), s[2], s[3]];
        for (dst, v) in obs.iter_mut().zip(o) {
            *dst = v as f32;
        }
    }
}

impl Env for Acrobot {
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
            *s = uniform(rng, -0.1, 0.1);
        }
        self.progress.ready = true;
        self.write_obs(obs);
    }

    fn step_into(&mut self, action: Action<'_>, obs: &mut [f32]) -> Result<StepResult, EnvError> {
        self.action_space.check(action)?;
        if !self.progress.ready {
            return Err(EnvError::ResetNeeded);
        }
        let Action::Discrete(a) = action else { unreachable!("checked above") };
        let s = self.progress.state;
        let ns = rk4(&[s[0], s[1], s[2], s[3], AVAIL_TORQUE[a]], DT);
        self.progress.state = [wrap(ns[0], -PI, PI), wrap(ns[1], -PI, PI), ns[2].clamp(-MAX_VEL_1, MAX_VEL_1), ns[3].clamp(-MAX_VEL_2, MAX_VEL_2)];
        let t = &self.progress.state;
        let terminated = -libm::cos(t[0]) - libm::cos(t[1] + t[0]) > 1.0;
        self.write_obs(obs);
        Ok(StepResult { reward: if terminated { 0.0 } else { -1.0 }, terminated, truncated: false, episode: None })
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

/// Acrobot: 500x500, two links hanging from a pivot, and the goal line.
fn draw(state: &[f64; 4]) -> Frame {
    let size = 500u32;
    let bound = 2.2f32;
    let scale = size as f32 / (2.0 * bound);
    let o = size as f32 / 2.0;
    let (s0, s1) = (state[0] as f32, state[1] as f32);
    let p1 = (libm::sinf(s0), -libm::cosf(s0));
    let p2 = (p1.0 + libm::sinf(s0 + s1), p1.1 - libm::cosf(s0 + s1));
    let px = |p: (f32, f32)| (o + p.0 * scale, o + p.1 * scale);
    let mut c = Canvas::new(size, size);
    c.polyline(&[(0.0, o + scale), (size as f32, o + scale)], 1.0, (0, 0, 0));
    for (a, b) in [((0.0, 0.0), p1), (p1, p2)] {
        c.polyline(&[px(a), px(b)], 0.2 * scale, (0, 204, 204));
        let (x, y) = px(a);
        c.circle(x, y, 0.1 * scale, (204, 204, 0));
    }
    c.into_frame()
}
