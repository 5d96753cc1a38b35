//! gym-rs's environments behind nnlab's [`Env`] trait (cargo feature
//! `gym-rs`), so that every nnlab agent can train on them:
//! `train --algo ppo --env gym-rs/CartPole-v1`.
//!
//! gym-rs 0.3 is not Gymnasium: its CartPole computes `polemass_length` as
//! `masspole + length` (0.6) where Gymnasium has `masspole * length` (0.05),
//! so the pole's dynamics differ from the first step (`gym_parity --backend
//! gym-rs` measures it against the Gymnasium recordings), and it never
//! truncates (`truncated` is always false). nnlab's registry wraps it in the
//! same 500-step [`crate::TimeLimit`] as `CartPole-v1`. nnlab's own
//! environments stay the default.
//!
//! Seeding: `reset(Some(seed))` resets gym-rs with `seed`; each later
//! `reset(None)` with the next number of a ChaCha stream seeded with it (gym-rs
//! itself would draw a fresh seed from the OS), so a seeded run repeats.

use crate::env::{Env, EnvError, StepResult};
use crate::registration::{EnvSpec, Registration};
use crate::snapshot;
use crate::spaces::{Action, BoxSpace, Space};
use gym_rs::core::Env as _;
use gym_rs::envs::classical_control::cartpole::{CartPoleEnv, CartPoleObservation};
use gym_rs::utils::custom::types::O64;
use gym_rs::utils::renderer::RenderMode;
use rand::{RngCore, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// gym-rs's environments in nnlab's registry, after nnlab's own
/// ([`crate::registry::registrations`]): the same 500-step limit and
/// threshold as `CartPole-v1`.
pub const REGISTRY: &[Registration] = &[Registration {
    spec: EnvSpec { id: "gym-rs/CartPole-v1", max_episode_steps: 500, reward_threshold: Some(475.0) },
    make: || Box::new(GymRsCartPole::new()),
}];

/// The ids of gym-rs's environments in nnlab's registry.
pub const GYM_RS_IDS: [&str; 1] = [REGISTRY[0].spec.id];

/// gym-rs's `CartPoleEnv` as an nnlab [`Env`].
#[derive(Debug, Clone)]
pub struct GymRsCartPole {
    inner: CartPoleEnv,
    seeds: Option<ChaCha8Rng>,
    ready: bool,
    observation_space: BoxSpace,
    action_space: Space,
}

// SAFETY: gym-rs's `CartPoleEnv` is not `Send` only because of the SDL window
// it may hold (`Screen::gui`: an `Rc`-based canvas and event pump). It opens
// that window only to render, in a render mode other than `None`; this
// adapter builds it with `RenderMode::None` and never renders through it
// (gym-rs's renderer skips drawing in that mode), so the `Option` stays
// `None` and the environment holds only plain data that may move between threads.
unsafe impl Send for GymRsCartPole {}

impl Default for GymRsCartPole {
    fn default() -> Self {
        Self::new()
    }
}

impl GymRsCartPole {
    /// A new environment (no rendering window); call `reset` before stepping.
    pub fn new() -> Self {
        let high = [4.8f32, f32::MAX, 0.418_879_02, f32::MAX];
        Self {
            inner: CartPoleEnv::new(RenderMode::None),
            seeds: None,
            ready: false,
            observation_space: BoxSpace::new(high.iter().map(|h| -h).collect(), high.to_vec()),
            action_space: Space::Discrete(2),
        }
    }

    fn state4(&self) -> [f64; 4] {
        let v: Vec<f64> = self.inner.state.into();
        [v[0], v[1], v[2], v[3]]
    }

    fn set_state4(&mut self, s: [f64; 4]) {
        self.inner.state = CartPoleObservation::new(O64::from(s[0]), O64::from(s[1]), O64::from(s[2]), O64::from(s[3]));
    }

    fn write_obs(&self, obs: &mut [f32]) {
        for (o, s) in obs.iter_mut().zip(self.state4()) {
            *o = s as f32;
        }
    }
}

impl Env for GymRsCartPole {
    fn id(&self) -> &'static str {
        REGISTRY[0].spec.id
    }
    fn observation_space(&self) -> &BoxSpace {
        &self.observation_space
    }
    fn action_space(&self) -> &Space {
        &self.action_space
    }
    fn reset_into(&mut self, seed: Option<u64>, obs: &mut [f32]) {
        let seed = match seed {
            Some(s) => {
                self.seeds = Some(ChaCha8Rng::seed_from_u64(s));
                s
            }
            None => self.seeds.get_or_insert_with(ChaCha8Rng::from_os_rng).next_u64(),
        };
        self.inner.reset(Some(seed), false, None);
        self.ready = true;
        self.write_obs(obs);
    }
    fn step_into(&mut self, action: Action<'_>, obs: &mut [f32]) -> Result<StepResult, EnvError> {
        // Checked here: gym-rs panics on an action outside its space.
        self.action_space.check(action)?;
        if !self.ready {
            return Err(EnvError::ResetNeeded);
        }
        let Action::Discrete(a) = action else { unreachable!("checked against Discrete(2)") };
        let r = self.inner.step(a);
        self.write_obs(obs);
        Ok(StepResult { reward: r.reward.into_inner(), terminated: r.done, truncated: r.truncated, episode: None })
    }
    fn state(&self) -> Vec<f64> {
        self.state4().to_vec()
    }
    fn set_state(&mut self, state: &[f64]) -> Result<(), EnvError> {
        let s: [f64; 4] = state.try_into().map_err(|_| EnvError::BadState { got: state.len(), expected: 4 })?;
        self.set_state4(s);
        self.ready = true;
        Ok(())
    }
    fn snapshot(&self) -> serde_json::Value {
        snapshot::save(&(self.state4().map(f64::to_bits), self.inner.steps_beyond_terminated, &self.seeds, self.ready))
    }
    fn restore(&mut self, snapshot: &serde_json::Value) -> Result<(), EnvError> {
        let (state, steps_beyond_terminated, seeds, ready): ([u64; 4], Option<usize>, Option<ChaCha8Rng>, bool) = snapshot::read(self.id(), snapshot)?;
        self.set_state4(state.map(f64::from_bits));
        self.inner.steps_beyond_terminated = steps_beyond_terminated;
        self.seeds = seeds;
        self.ready = ready;
        Ok(())
    }
}
