//! What makes an agent an algorithm that the binaries know: its config type
//! implements [`AlgorithmConfig`] (in the algorithm's own file), and the
//! experiments' registry (`nnlab_experiments::algos::ALGORITHMS`) lists it
//! in one line. `train --algo NAME`, `enjoy`, sweeps, reports and the presets
//! in `experiments/configs/<NAME>/` all go through it.

use crate::Agent;
use anyhow::Result;
use serde::{de::DeserializeOwned, Serialize};
use tch::Device;

/// A published score of an algorithm on an environment: `(environment id,
/// score, label)`, drawn beside sweeps and reports (`shared/notes/anchors.md`).
pub type PublishedScore = (&'static str, f64, &'static str);

/// A config type that the experiment runner can load, check and turn into an agent.
pub trait AlgorithmConfig: Default + Clone + Serialize + DeserializeOwned + schemars::JsonSchema {
    /// Algorithm name: `--algo`, `summary.json`'s `algo`, `experiments/configs/<ALGO>/`.
    const ALGO: &'static str;
    /// One line for `--help`.
    const ABOUT: &'static str;
    /// Published scores to draw beside sweeps.
    const PUBLISHED: &'static [PublishedScore];
    /// The seed.
    fn seed(&self) -> u64;
    /// Sets the seed.
    fn set_seed(&mut self, seed: u64);
    /// Sets the training length.
    fn set_total_timesteps(&mut self, steps: usize);
    /// Training length.
    fn total_timesteps(&self) -> usize;
    /// Gymnasium id.
    fn env_id(&self) -> &str;
    /// Evaluation episodes at the end.
    fn eval_episodes(&self) -> usize;
    /// Typed checks (one-line errors naming the key), machine limits included.
    fn check(&self) -> Result<()>;
    /// The agent.
    fn build(&self, device: Device) -> Result<Box<dyn Agent>>;
}

/// The [`AlgorithmConfig`] getters every config has under the same field
/// names (`seed`, `total_timesteps`, `env_id`, `eval_episodes`).
macro_rules! common_config_fields {
    () => {
        fn seed(&self) -> u64 {
            self.seed
        }
        fn set_seed(&mut self, seed: u64) {
            self.seed = seed;
        }
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
