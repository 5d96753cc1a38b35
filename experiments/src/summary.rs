//! `summary.json`: the [`Provenance`] record flattened into every binary's
//! summary (device, threads, numerics, versions, commit), the RL run's
//! [`RlSummary`], and the evaluation seed convention.

use serde::Serialize;
use tch::Device;

/// Evaluation episodes of runs made before nnlab recorded `[run] eval_seed`:
/// a run with seed `s` reset its episodes with seeds `s + EVAL_SEED_OFFSET + i`
/// (so consecutive seeds shared all but one of their evaluation episodes).
pub const EVAL_SEED_OFFSET: u64 = 1_000_000;

/// The first evaluation seed of an RL run with seed `seed` (episode `i` resets
/// with `eval_seed_for(seed) + i`): SplitMix64 of the seed with the top bit
/// cleared, so that every run seed has its own evaluation episodes (disjoint
/// from the other seeds' in practice) and `+ i` cannot overflow.
pub fn eval_seed_for(seed: u64) -> u64 {
    let mut z = seed.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    (z ^ (z >> 31)) >> 1
}

/// Versions of what produced a run.
#[derive(Debug, Clone, Serialize)]
pub struct Versions {
    /// nnlab's crate version.
    pub nnlab: &'static str,
    /// The tch crate.
    pub tch: &'static str,
    /// LibTorch.
    pub libtorch: &'static str,
}

/// Where a run's numbers come from: device, threads, numerics, versions, commit.
/// Flattened into every `summary.json`.
#[derive(Debug, Clone, Serialize)]
pub struct Provenance {
    /// Device used (`cpu`, `cuda:0`).
    pub device: String,
    /// Torch CPU threads.
    pub threads: i32,
    /// `fast` or `portable` (see `nnlab_torch::numerics`).
    pub numerics: String,
    /// The CPU kernels ATen dispatched to (`DEFAULT` in portable mode; `AVX2`, `AVX512`, ... in fast mode).
    pub cpu_capability: String,
    /// Versions.
    pub versions: Versions,
    /// `git rev-parse HEAD` of the working tree, or `unknown`.
    pub git_commit: String,
}

impl Provenance {
    /// The record for a run on `device` with `threads` torch threads.
    pub fn new(device: Device, threads: i32) -> Self {
        Self {
            device: crate::device::name(device),
            threads,
            numerics: nnlab_torch::numerics::current().unwrap_or_default().to_string(),
            cpu_capability: nnlab_torch::numerics::cpu_capability(),
            versions: Versions { nnlab: env!("CARGO_PKG_VERSION"), tch: "0.24.0", libtorch: "2.11.0" },
            git_commit: git_commit(),
        }
    }
}

/// The summary of one RL run. Scripts read these names.
#[derive(Debug, Clone, Serialize)]
pub struct RlSummary {
    /// Algorithm name.
    pub algo: String,
    /// Gymnasium id.
    pub env_id: String,
    /// Seed.
    pub seed: u64,
    /// Mean return of the last 100 training episodes.
    pub train_return_last100: f64,
    /// Mean return of the greedy evaluation episodes.
    pub eval_return_mean: f64,
    /// Standard deviation of those returns.
    pub eval_return_std: f64,
    /// Each evaluation episode's return.
    pub eval_returns: Vec<f64>,
    /// Evaluation episode `i` reset with seed `eval_seed + i`.
    pub eval_seed: u64,
    /// Training episodes finished.
    pub episodes: usize,
    /// Environment steps.
    pub total_steps: usize,
    /// Gradient updates.
    pub updates: usize,
    /// Training wall time in seconds (evaluation and plots excluded).
    pub wall_time_s: f64,
    /// `total_steps / wall_time_s`.
    pub steps_per_second: f64,
    /// With `--eval-every`: the best model of the evaluations during training.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub best_model: Option<BestModel>,
    /// Device, threads, versions, commit.
    #[serde(flatten)]
    pub provenance: Provenance,
}

/// The model kept by the evaluations during training (`best_model.safetensors`),
/// evaluated on the run's final evaluation episodes.
#[derive(Debug, Clone, Serialize)]
pub struct BestModel {
    /// The step of the evaluation that chose it.
    pub global_step: usize,
    /// Its mean return on the evaluation that chose it.
    pub selection_return_mean: f64,
    /// Its mean return on the final evaluation episodes (the same as `eval_returns`').
    pub eval_return_mean: f64,
    /// Standard deviation of those returns.
    pub eval_return_std: f64,
    /// Each of those returns.
    pub eval_returns: Vec<f64>,
}

impl BestModel {
    /// The record of the model chosen at `global_step` with `selection_return_mean`, which scored `returns`.
    pub fn new(global_step: usize, selection_return_mean: f64, returns: &[f64]) -> Self {
        let (m, std) = mean_std(returns);
        Self { global_step, selection_return_mean, eval_return_mean: m, eval_return_std: std, eval_returns: returns.to_vec() }
    }
}

fn mean(v: &[f64]) -> f64 {
    if v.is_empty() {
        f64::NAN
    } else {
        v.iter().sum::<f64>() / v.len() as f64
    }
}

/// Mean and (population) standard deviation of `v`; NaN mean when empty.
pub fn mean_std(v: &[f64]) -> (f64, f64) {
    let m = mean(v);
    let var = v.iter().map(|r| (r - m).powi(2)).sum::<f64>() / v.len().max(1) as f64;
    (m, var.sqrt())
}

impl RlSummary {
    /// Builds the summary of a finished run.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        env_id: &str,
        algo: &str,
        seed: u64,
        device: Device,
        threads: i32,
        train_returns: &[f64],
        eval_returns: &[f64],
        eval_seed: u64,
        total_steps: usize,
        updates: usize,
        wall_time_s: f64,
    ) -> Self {
        let last = &train_returns[train_returns.len().saturating_sub(100)..];
        let (m, std) = mean_std(eval_returns);
        Self {
            algo: algo.into(),
            env_id: env_id.into(),
            seed,
            train_return_last100: mean(last),
            eval_return_mean: m,
            eval_return_std: std,
            eval_returns: eval_returns.to_vec(),
            eval_seed,
            episodes: train_returns.len(),
            total_steps,
            updates,
            wall_time_s,
            steps_per_second: total_steps as f64 / wall_time_s.max(1e-9),
            best_model: None,
            provenance: Provenance::new(device, threads),
        }
    }
}

/// The current git commit, or `unknown` outside a repository.
pub fn git_commit() -> String {
    std::process::Command::new("git")
        .args(["rev-parse", "HEAD"])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_else(|| "unknown".into())
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_seed_has_its_own_evaluation_episodes() {
        let mut starts: Vec<u64> = (0..10_000u64).map(super::eval_seed_for).collect();
        assert!(starts.iter().all(|s| s.checked_add(u64::MAX >> 2).is_some()), "room for the episodes");
        starts.sort_unstable();
        // 10,000 seeds of up to a million episodes each never share one.
        assert!(starts.windows(2).all(|w| w[1] - w[0] > 1_000_000));
        assert_eq!(super::eval_seed_for(1), super::eval_seed_for(1));
    }
}
