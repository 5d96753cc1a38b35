//! A synchronous vector environment with same-step autoreset.
//!
//! When a sub-environment's episode ends, `step` resets it at once: the
//! observation buffer holds the new episode's first observation, and the
//! finished episode's last observation is kept in [`SyncVectorEnv::final_observations`]
//! (flagged in [`SyncVectorEnv::has_final`]) so that a learner can bootstrap
//! a truncated transition from the right state. This is Stable-Baselines3's
//! convention and Gymnasium's `AutoresetMode.SAME_STEP`.

use crate::env::{Env, EnvError, EpisodeStats};
use crate::registry::make_with_stats;
use crate::spaces::{Action, BoxSpace, Space};

/// The actions of all sub-environments of one step.
#[derive(Debug, Clone, Copy)]
pub enum Actions<'a> {
    /// One index per environment.
    Discrete(&'a [usize]),
    /// `num_envs * action_dim` values, environment after environment.
    Continuous(&'a [f32]),
}

/// `num_envs` environments stepped in lockstep, with contiguous `f32` buffers.
pub struct SyncVectorEnv {
    envs: Vec<Box<dyn Env>>,
    obs_dim: usize,
    observations: Vec<f32>,
    final_observations: Vec<f32>,
    has_final: Vec<bool>,
    rewards: Vec<f32>,
    terminated: Vec<bool>,
    truncated: Vec<bool>,
    episodes: Vec<Option<EpisodeStats>>,
}

impl SyncVectorEnv {
    /// `num_envs` copies of `id`, each with its time limit and episode statistics.
    pub fn make(id: &str, num_envs: usize) -> Result<Self, EnvError> {
        let envs = (0..num_envs).map(|_| make_with_stats(id)).collect::<Result<Vec<_>, _>>()?;
        Ok(Self::new(envs))
    }

    /// Wraps the given environments (all of one kind).
    pub fn new(envs: Vec<Box<dyn Env>>) -> Self {
        assert!(!envs.is_empty(), "a vector env needs at least one environment");
        let n = envs.len();
        let obs_dim = envs[0].observation_space().dim();
        Self {
            envs,
            obs_dim,
            observations: vec![0.0; n * obs_dim],
            final_observations: vec![0.0; n * obs_dim],
            has_final: vec![false; n],
            rewards: vec![0.0; n],
            terminated: vec![false; n],
            truncated: vec![false; n],
            episodes: vec![None; n],
        }
    }

    /// Number of sub-environments.
    pub fn num_envs(&self) -> usize {
        self.envs.len()
    }
    /// Length of one observation.
    pub fn obs_dim(&self) -> usize {
        self.obs_dim
    }
    /// The sub-environments' observation space.
    pub fn observation_space(&self) -> &BoxSpace {
        self.envs[0].observation_space()
    }
    /// The sub-environments' action space.
    pub fn action_space(&self) -> &Space {
        self.envs[0].action_space()
    }

    /// Resets every sub-environment; with `Some(seed)`, environment `i` gets `seed + i`.
    pub fn reset(&mut self, seed: Option<u64>) -> &[f32] {
        let d = self.obs_dim;
        for (i, env) in self.envs.iter_mut().enumerate() {
            env.reset_into(seed.map(|s| s.wrapping_add(i as u64)), &mut self.observations[i * d..(i + 1) * d]);
        }
        self.has_final.fill(false);
        &self.observations
    }

    /// Steps every sub-environment and resets those whose episode ended.
    pub fn step(&mut self, actions: Actions<'_>) -> Result<(), EnvError> {
        self.step_where(actions, None)
    }

    /// Steps only the sub-environments with `active[i]` (for collecting whole
    /// episodes: an environment whose episode ended waits); the others keep
    /// their observation and report reward 0, no end and no episode. Actions
    /// are given for all environments; those of inactive ones are not used.
    pub fn step_active(&mut self, actions: Actions<'_>, active: &[bool]) -> Result<(), EnvError> {
        if active.len() != self.envs.len() {
            return Err(EnvError::InvalidAction { action: format!("{} activity flags", active.len()), space: format!("{} environments", self.envs.len()) });
        }
        self.step_where(actions, Some(active))
    }

    fn step_where(&mut self, actions: Actions<'_>, active: Option<&[bool]>) -> Result<(), EnvError> {
        let d = self.obs_dim;
        let n = self.envs.len();
        let act_dim = match self.action_space() {
            Space::Box(b) => b.dim(),
            Space::Discrete(_) => 1,
        };
        let count_ok = match actions {
            Actions::Discrete(a) => a.len() == n,
            Actions::Continuous(a) => a.len() == n * act_dim,
        };
        if !count_ok {
            return Err(EnvError::InvalidAction { action: format!("{actions:?}"), space: format!("{} environments of {}", n, self.action_space().describe()) });
        }
        let action_of = |i: usize| match actions {
            Actions::Discrete(a) => Action::Discrete(a[i]),
            Actions::Continuous(a) => Action::Continuous(&a[i * act_dim..(i + 1) * act_dim]),
        };
        let is_active = |i: usize| active.is_none_or(|a| a[i]);
        // Check every action before any environment moves, so an error leaves all of them as they were.
        for i in (0..n).filter(|&i| is_active(i)) {
            self.envs[i].action_space().check(action_of(i))?;
        }
        for (i, env) in self.envs.iter_mut().enumerate() {
            if !is_active(i) {
                self.rewards[i] = 0.0;
                self.terminated[i] = false;
                self.truncated[i] = false;
                self.episodes[i] = None;
                self.has_final[i] = false;
                continue;
            }
            let action = action_of(i);
            let obs = &mut self.observations[i * d..(i + 1) * d];
            let r = env.step_into(action, obs)?;
            self.rewards[i] = r.reward as f32;
            self.terminated[i] = r.terminated;
            self.truncated[i] = r.truncated;
            self.episodes[i] = r.episode;
            self.has_final[i] = r.done();
            if r.done() {
                self.final_observations[i * d..(i + 1) * d].copy_from_slice(obs);
                env.reset_into(None, obs);
            }
        }
        Ok(())
    }

    /// Current observations, `num_envs * obs_dim` (after autoreset: new episodes' first ones).
    pub fn observations(&self) -> &[f32] {
        &self.observations
    }
    /// Last observations of the episodes that ended in the last step (valid where `has_final`).
    pub fn final_observations(&self) -> &[f32] {
        &self.final_observations
    }
    /// Which environments ended an episode in the last step.
    pub fn has_final(&self) -> &[bool] {
        &self.has_final
    }
    /// Rewards of the last step.
    pub fn rewards(&self) -> &[f32] {
        &self.rewards
    }
    /// `terminated` flags of the last step.
    pub fn terminated(&self) -> &[bool] {
        &self.terminated
    }
    /// `truncated` flags of the last step.
    pub fn truncated(&self) -> &[bool] {
        &self.truncated
    }
    /// Statistics of the episodes that ended in the last step.
    pub fn episodes(&self) -> &[Option<EpisodeStats>] {
        &self.episodes
    }
    /// The observation that an agent should bootstrap from for environment `i`:
    /// the final one where an episode just ended, the current one otherwise.
    pub fn next_observation(&self, i: usize) -> &[f32] {
        let d = self.obs_dim;
        if self.has_final[i] {
            &self.final_observations[i * d..(i + 1) * d]
        } else {
            &self.observations[i * d..(i + 1) * d]
        }
    }
    /// Every sub-environment's [`Env::snapshot`] and the current observations:
    /// what a checkpoint needs to continue stepping exactly (between steps).
    pub fn snapshot(&self) -> serde_json::Value {
        let envs: Vec<serde_json::Value> = self.envs.iter().map(|e| e.snapshot()).collect();
        let observations: Vec<u32> = self.observations.iter().map(|v| v.to_bits()).collect();
        serde_json::json!({ "envs": envs, "observations": observations })
    }

    /// Restores a [`SyncVectorEnv::snapshot`] of a vector env of the same kind and size.
    pub fn restore(&mut self, snapshot: &serde_json::Value) -> Result<(), EnvError> {
        let bad = |what: String| EnvError::BadSnapshot(format!("vector env: {what}"));
        let envs = snapshot["envs"].as_array().ok_or_else(|| bad("no environments".into()))?;
        if envs.len() != self.envs.len() {
            return Err(bad(format!("{} environments, expected {}", envs.len(), self.envs.len())));
        }
        let observations: Vec<u32> = serde_json::from_value(snapshot["observations"].clone()).map_err(|e| bad(e.to_string()))?;
        if observations.len() != self.observations.len() {
            return Err(bad(format!("{} observation values, expected {}", observations.len(), self.observations.len())));
        }
        for (env, s) in self.envs.iter_mut().zip(envs) {
            env.restore(s)?;
        }
        for (dst, b) in self.observations.iter_mut().zip(observations) {
            *dst = f32::from_bits(b);
        }
        self.has_final.fill(false);
        Ok(())
    }

    /// Access to sub-environment `i` (for rendering).
    pub fn env(&self, i: usize) -> &dyn Env {
        self.envs[i].as_ref()
    }
}
