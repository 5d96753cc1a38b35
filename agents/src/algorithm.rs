//! What makes an agent an algorithm that the binaries know: its config type
//! implements [`AlgorithmConfig`] (in the algorithm's own file), and the
//! experiments' registry (`nnlab_experiments::algos::ALGORITHMS`) lists it
//! in one line. `train --algo NAME`, `enjoy`, sweeps, reports and the presets
//! in `experiments/configs/<NAME>/` all go through it.

use crate::Agent;
use anyhow::Result;
pub use nnlab_torch::trainer::RunConfig;
use tch::Device;

/// A published score of an algorithm on an environment: `(environment id,
/// score, label)`, drawn beside sweeps and reports (`shared/notes/anchors.md`).
pub type PublishedScore = (&'static str, f64, &'static str);

/// A config type that the experiment runner can load, check and turn into an
/// agent: a [`RunConfig`] (seed, checks) with the facts of an algorithm.
pub trait AlgorithmConfig: RunConfig {
    /// Algorithm name: `--algo`, `summary.json`'s `algo`, `experiments/configs/<ALGO>/`.
    const ALGO: &'static str;
    /// One line for `--help`.
    const ABOUT: &'static str;
    /// Published scores to draw beside sweeps.
    const PUBLISHED: &'static [PublishedScore];
    /// Sets the training length.
    fn set_total_timesteps(&mut self, steps: usize);
    /// Training length.
    fn total_timesteps(&self) -> usize;
    /// Gymnasium id.
    fn env_id(&self) -> &str;
    /// Evaluation episodes at the end.
    fn eval_episodes(&self) -> usize;
    /// The agent.
    fn build(&self, device: Device) -> Result<Box<dyn Agent>>;
}

/// The [`RunConfig`] seed accessors of a config with a `seed` field.
macro_rules! seed_field {
    () => {
        fn seed(&self) -> u64 {
            self.seed
        }
        fn set_seed(&mut self, seed: u64) {
            self.seed = seed;
        }
    };
}
pub(crate) use seed_field;

/// The [`AlgorithmConfig`] getters every config has under the same field
/// names (`total_timesteps`, `env_id`, `eval_episodes`).
macro_rules! common_config_fields {
    () => {
        fn set_total_timesteps(&mut self, steps: usize) {
            self.total_timesteps = steps;
        }
        fn total_timesteps(&self) -> usize {
            self.total_timesteps
        }
        fn env_id(&self) -> &str {
            &self.env_id
        }
        fn eval_episodes(&self) -> usize {
            self.eval_episodes
        }
    };
}
pub(crate) use common_config_fields;

/// The observation size of environment `env_id` (for the memory checks).
pub fn obs_dim(env_id: &str) -> Result<usize> {
    Ok(nnlab_envs::make(env_id)?.observation_space().dim())
}
