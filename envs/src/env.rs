//! The environment trait and its step result.

use crate::render::Frame;
use crate::spaces::{Action, BoxSpace, Space};

pub use crate::error::EnvError;

/// Return and length of one finished episode (Gymnasium's `info["episode"]`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct EpisodeStats {
    /// Sum of the rewards of the episode.
    pub ret: f64,
    /// Number of steps of the episode.
    pub len: usize,
}

/// What one step returns besides the observation.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct StepResult {
    /// The reward of this transition.
    pub reward: f64,
    /// The episode reached a terminal state of the MDP (no bootstrapping past it).
    pub terminated: bool,
    /// The episode was cut short from outside the MDP (time limit); bootstrap past it.
    pub truncated: bool,
    /// Set by [`crate::RecordEpisodeStatistics`] on the step that ends an episode.
    pub episode: Option<EpisodeStats>,
}

impl StepResult {
    /// `terminated || truncated`: the episode is over and must be reset.
    pub fn done(&self) -> bool {
        self.terminated || self.truncated
    }
}

/// A step's full result with an owned observation (the convenient form of [`Env::step_into`]).
#[derive(Debug, Clone, PartialEq)]
pub struct Transition {
    /// The observation after the step.
    pub observation: Vec<f32>,
    /// The reward of this transition.
    pub reward: f64,
    /// Terminal state reached.
    pub terminated: bool,
    /// Cut short by a time limit.
    pub truncated: bool,
}

/// A Gymnasium-style environment with one-dimensional `f32` observations.
///
/// The `*_into` methods write the observation into a caller's buffer, so
/// that vector envs and training loops step without allocating.
pub trait Env: Send {
    /// The registry id, e.g. `CartPole-v1`.
    fn id(&self) -> &'static str;
    /// The observation space.
    fn observation_space(&self) -> &BoxSpace;
    /// The observation's shape: `[dim]` for a vector, `[C, H, W]` for a
    /// picture (channels first, as convolutional networks take it).
    fn observation_shape(&self) -> Vec<usize> {
        vec![self.observation_space().dim()]
    }
    /// The action space.
    fn action_space(&self) -> &Space;
    /// Starts a new episode, reseeding the environment's RNG when `seed` is given,
    /// and writes the first observation into `obs`.
    fn reset_into(&mut self, seed: Option<u64>, obs: &mut [f32]);
    /// Applies `action`, writes the next observation into `obs` and returns the reward and flags.
    fn step_into(&mut self, action: Action<'_>, obs: &mut [f32]) -> Result<StepResult, EnvError>;
    /// The simulator's internal state (Gymnasium's `env.unwrapped.state`) as `f64`.
    fn state(&self) -> Vec<f64>;
    /// Overwrites the internal state (for replaying recorded trajectories).
    fn set_state(&mut self, state: &[f64]) -> Result<(), EnvError>;
    /// Everything needed to continue exactly from here (simulator state,
    /// random stream, wrapper counters), for checkpoints; floats are kept as
    /// their bits, so a restored environment continues bit for bit.
    fn snapshot(&self) -> serde_json::Value;
    /// Restores a [`Env::snapshot`] of an environment of the same kind.
    fn restore(&mut self, snapshot: &serde_json::Value) -> Result<(), EnvError>;
    /// An RGB picture of the current state, `None` where the environment cannot draw.
    fn render(&self) -> Option<Frame> {
        None
    }

    /// Starts a new episode and returns its first observation.
    fn reset(&mut self, seed: Option<u64>) -> Vec<f32> {
        let mut obs = vec![0.0; self.observation_space().dim()];
        self.reset_into(seed, &mut obs);
        obs
    }

    /// Applies `action` and returns the whole transition.
    fn step(&mut self, action: Action<'_>) -> Result<Transition, EnvError> {
        let mut observation = vec![0.0; self.observation_space().dim()];
        let r = self.step_into(action, &mut observation)?;
        Ok(Transition { observation, reward: r.reward, terminated: r.terminated, truncated: r.truncated })
    }
}

impl<E: Env + ?Sized> Env for Box<E> {
    fn id(&self) -> &'static str {
        (**self).id()
    }
    fn observation_space(&self) -> &BoxSpace {
        (**self).observation_space()
    }
    fn observation_shape(&self) -> Vec<usize> {
        (**self).observation_shape()
    }
    fn action_space(&self) -> &Space {
        (**self).action_space()
    }
    fn reset_into(&mut self, seed: Option<u64>, obs: &mut [f32]) {
        (**self).reset_into(seed, obs)
    }
    fn step_into(&mut self, action: Action<'_>, obs: &mut [f32]) -> Result<StepResult, EnvError> {
        (**self).step_into(action, obs)
    }
    fn state(&self) -> Vec<f64> {
        (**self).state()
    }
    fn set_state(&mut self, state: &[f64]) -> Result<(), EnvError> {
        (**self).set_state(state)
    }
    fn snapshot(&self) -> serde_json::Value {
        (**self).snapshot()
    }
    fn restore(&mut self, snapshot: &serde_json::Value) -> Result<(), EnvError> {
        (**self).restore(snapshot)
    }
    fn render(&self) -> Option<Frame> {
        (**self).render()
    }
}

/// The seeding rule shared by all environments: `Some(seed)` reseeds,
/// `None` keeps the stream, and a never-seeded env takes a seed from the OS.
pub(crate) fn reseed(rng: &mut Option<rand_chacha::ChaCha8Rng>, seed: Option<u64>) -> &mut rand_chacha::ChaCha8Rng {
    use rand::SeedableRng;
    match seed {
        Some(s) => *rng = Some(rand_chacha::ChaCha8Rng::seed_from_u64(s)),
        None if rng.is_none() => *rng = Some(rand_chacha::ChaCha8Rng::from_os_rng()),
        None => {}
    }
    rng.as_mut().expect("seeded above")
}

/// numpy's `Generator.uniform(low, high)`: `low + (high - low) * U[0, 1)`.
pub(crate) fn uniform<R: rand::Rng>(rng: &mut R, low: f64, high: f64) -> f64 {
    low + (high - low) * rng.random::<f64>()
}

/// Copies `src` into `dst`, checking the length.
pub(crate) fn copy_state<const N: usize>(dst: &mut [f64; N], src: &[f64]) -> Result<(), EnvError> {
    if src.len() != N {
        return Err(EnvError::BadState { got: src.len(), expected: N });
    }
    dst.copy_from_slice(src);
    Ok(())
}
