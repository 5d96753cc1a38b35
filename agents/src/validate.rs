//! Checks of hyperparameter values, each failing with one line that names the key.

use anyhow::{bail, Result};

/// A finite number greater than zero.
pub fn positive(key: &str, v: f64) -> Result<()> {
    if !v.is_finite() || v <= 0.0 {
        bail!("{key} must be a finite number > 0, got {v}");
    }
    Ok(())
}

/// A finite number in `[lo, hi]`.
pub fn in_range(key: &str, v: f64, lo: f64, hi: f64) -> Result<()> {
    if !v.is_finite() || v < lo || v > hi {
        bail!("{key} must be in [{lo}, {hi}], got {v}");
    }
    Ok(())
}

/// A count greater than zero.
pub fn nonzero(key: &str, v: usize) -> Result<()> {
    if v == 0 {
        bail!("{key} must be at least 1, got 0");
    }
    Ok(())
}

/// The environment of `env_id` (an error naming the key when unknown).
pub fn env_id(id: &str) -> Result<Box<dyn nnlab_envs::Env>> {
    nnlab_envs::make(id).map_err(|e| anyhow::anyhow!("env_id: {e}"))
}

/// Hidden layer widths, all at least 1.
pub fn hidden_sizes(sizes: &[usize]) -> Result<()> {
    if sizes.contains(&0) {
        bail!("hidden_sizes must all be at least 1, got {sizes:?}");
    }
    Ok(())
}

/// At least one rollout of `num_envs * num_steps` steps fits in `total_timesteps`.
pub fn rollout_fits(num_envs: usize, num_steps: usize, total_timesteps: usize) -> Result<()> {
    if num_envs * num_steps > total_timesteps {
        bail!("total_timesteps ({total_timesteps}) is less than one rollout (num_envs * num_steps = {})", num_envs * num_steps);
    }
    Ok(())
}
