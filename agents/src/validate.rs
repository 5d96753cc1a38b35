//! Checks of hyperparameter values, each failing with one line that names the
//! key: the shared numeric ones of `nnlab_torch::check`, and the agents' own.

use anyhow::{bail, Result};
pub use nnlab_torch::check::{in_range, non_negative, nonzero, period_within, positive};

/// The environment of `env_id` (an error naming the key when unknown).
pub fn env_id(id: &str) -> Result<Box<dyn nnlab_envs::Env>> {
    nnlab_envs::make(id).map_err(|e| anyhow::anyhow!("env_id: {e}"))
}

/// Hidden layer widths, all at least 1, of a network small enough to build
/// (between the widest observation and action of the classic-control envs).
pub fn hidden_sizes(sizes: &[usize]) -> Result<()> {
    if sizes.contains(&0) {
        bail!("hidden_sizes must all be at least 1, got {sizes:?}");
    }
    nnlab_torch::check::network_fits("hidden_sizes", nnlab_torch::check::mlp_parameters(8, sizes, 3))
}

/// `learning_starts` must come before the end of the run, or nothing is learnt.
pub fn learning_starts_before_end(learning_starts: usize, total_timesteps: usize) -> Result<()> {
    if learning_starts >= total_timesteps {
        bail!("learning_starts ({learning_starts}) must be less than total_timesteps ({total_timesteps}): the run would never learn");
    }
    Ok(())
}

/// At least one rollout of `num_envs * num_steps` steps fits in `total_timesteps`.
pub fn rollout_fits(num_envs: usize, num_steps: usize, total_timesteps: usize) -> Result<()> {
    match num_envs.checked_mul(num_steps) {
        Some(n) if n <= total_timesteps => Ok(()),
        _ => bail!("total_timesteps ({total_timesteps}) is less than one rollout (num_envs * num_steps = {num_envs} * {num_steps})"),
    }
}
