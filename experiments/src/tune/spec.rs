//! The study file of `tune`: what to run, the search space, the objective,
//! the sampler and the pruner; checked before anything runs.

use crate::sweep::SweepSpec;
use anyhow::{anyhow, bail, Context, Result};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::Path;

/// The most trials one study may have.
pub const MAX_TRIALS: usize = 10_000;

/// A study file (`tune SPEC.toml`).
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct TuneSpec {
    /// The nnlab binary each run is (`train`, `dqn_cartpole`, ...).
    pub binary: String,
    /// Its arguments, the same for every run (RL: `--eval-every N` gives the pruner its intermediate values).
    #[serde(default)]
    pub args: Vec<String>,
    /// The seeds every trial runs (the objective aggregates over them).
    pub seeds: Vec<u64>,
    /// Trials of the study.
    pub trials: usize,
    /// `--checkpoint-every` for every run (pre-empted or interrupted runs resume from it).
    #[serde(default)]
    pub checkpoint_every: Option<u64>,
    /// What a trial scores.
    #[serde(default)]
    pub objective: Objective,
    /// How trials are drawn.
    #[serde(default)]
    pub sampler: SamplerSpec,
    /// When a trial is stopped early.
    #[serde(default)]
    pub pruner: PrunerSpec,
    /// Config key to its distribution.
    pub space: BTreeMap<String, Param>,
}

/// A trial's score: `aggregate` over its seeds of each run's `metric`.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Objective {
    /// A key of the runs' `summary.json` (`eval_return_mean`, `test_accuracy`,
    /// ...), or `evaluations_mean` (the mean of a run's intermediate
    /// evaluations, the area under its evaluation curve) or `evaluations_last`.
    #[serde(default = "default_metric")]
    pub metric: String,
    /// Over the seeds: `mean` or `iqm` (interquartile mean).
    #[serde(default)]
    pub aggregate: Aggregate,
    /// `maximize` or `minimize`.
    #[serde(default)]
    pub direction: Direction,
}

fn default_metric() -> String {
    "eval_return_mean".into()
}

impl Default for Objective {
    fn default() -> Self {
        Objective { metric: default_metric(), aggregate: Aggregate::Mean, direction: Direction::Maximize }
    }
}

/// How the seeds' values make one number.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Aggregate {
    /// The mean.
    #[default]
    Mean,
    /// The interquartile mean (25% cut from each end).
    Iqm,
}

impl Aggregate {
    /// Aggregates `values` (not empty).
    pub fn of(self, values: &[f64]) -> f64 {
        match self {
            Aggregate::Mean => values.iter().sum::<f64>() / values.len() as f64,
            Aggregate::Iqm => nnlab_stats::estimators::trimmed_mean(values, 0.25),
        }
    }
}

/// Whether higher or lower objectives are better.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    /// Higher is better.
    #[default]
    Maximize,
    /// Lower is better.
    Minimize,
}

impl Direction {
    /// `value` as a loss (lower is better).
    pub fn loss(self, value: f64) -> f64 {
        match self {
            Direction::Maximize => -value,
            Direction::Minimize => value,
        }
    }
}

/// One parameter's distribution.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum Param {
    /// Uniform on `[low, high]`.
    Uniform([f64; 2]),
    /// Log-uniform on `[low, high]` (both positive).
    LogUniform([f64; 2]),
    /// A whole number in `[low, high]`.
    Int([i64; 2]),
    /// One of the listed values.
    Choice(Vec<toml::Value>),
}

/// `[sampler]`.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct SamplerSpec {
    /// `tpe` (Tree-structured Parzen Estimator, after `startup_trials` random ones) or `random`.
    #[serde(default)]
    pub kind: SamplerKind,
    /// Random trials before TPE takes over (Optuna's `n_startup_trials`).
    #[serde(default = "default_startup")]
    pub startup_trials: usize,
    /// Seed of the draws.
    #[serde(default)]
    pub seed: u64,
}

fn default_startup() -> usize {
    10
}

impl Default for SamplerSpec {
    fn default() -> Self {
        SamplerSpec { kind: SamplerKind::Tpe, startup_trials: default_startup(), seed: 0 }
    }
}

/// The sampler.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SamplerKind {
    /// Tree-structured Parzen Estimator (the `tpe` crate, one estimator per parameter, as Optuna's default).
    #[default]
    Tpe,
    /// Uniform draws.
    Random,
}

/// `[pruner]`.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct PrunerSpec {
    /// `median`, `asha` (successive halving) or `none`.
    #[serde(default)]
    pub kind: PrunerKind,
    /// Median: finished trials before any pruning.
    #[serde(default = "default_pruner_startup")]
    pub startup_trials: usize,
    /// Median: evaluations a trial always gets.
    #[serde(default)]
    pub warmup_evaluations: usize,
    /// ASHA: the first rung, in evaluations.
    #[serde(default = "one")]
    pub min_resource: usize,
    /// ASHA: rungs at `min_resource * reduction_factor^k` evaluations; the best `1 / reduction_factor` go on.
    #[serde(default = "three")]
    pub reduction_factor: usize,
}

fn default_pruner_startup() -> usize {
    5
}
fn one() -> usize {
    1
}
fn three() -> usize {
    3
}

impl Default for PrunerSpec {
    fn default() -> Self {
        PrunerSpec { kind: PrunerKind::Median, startup_trials: default_pruner_startup(), warmup_evaluations: 0, min_resource: 1, reduction_factor: 3 }
    }
}

/// The pruner.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PrunerKind {
    /// Optuna's MedianPruner: stop a trial whose intermediate value is worse than the median of finished trials' at the same evaluation.
    #[default]
    Median,
    /// Asynchronous successive halving (Optuna's SuccessiveHalvingPruner).
    Asha,
    /// No pruning.
    None,
}

/// Reads and checks a study file.
pub fn load(path: &Path) -> Result<TuneSpec> {
    let text = crate::config::read_config_text(path).with_context(|| format!("cannot read study file {}", path.display()))?;
    let spec: TuneSpec = toml::from_str(&text).map_err(|e| anyhow!("study file {}: {}", path.display(), crate::config::in_words(e.message())))?;
    spec.check()?;
    Ok(spec)
}

impl TuneSpec {
    /// The runs of one trial as a sweep of one config (the sweep's checks and commands).
    pub fn as_sweep(&self, params: &BTreeMap<String, toml::Value>) -> SweepSpec {
        let grid = params.iter().map(|(k, v)| (k.clone(), vec![v.clone()])).collect();
        SweepSpec {
            binary: self.binary.clone(),
            args: self.args.clone(),
            seeds: self.seeds.clone(),
            checkpoint_every: self.checkpoint_every,
            grid,
            random: None,
        }
    }

    /// Whether the runs write intermediate evaluations (RL: `--eval-every`).
    pub fn has_evaluations(&self) -> bool {
        self.args.iter().any(|a| a == "--eval-every" || a.starts_with("--eval-every="))
    }

    /// Checks what the file cannot say by its types.
    pub fn check(&self) -> Result<()> {
        self.as_sweep(&BTreeMap::new()).check().map_err(|e| anyhow!("{}", e.to_string().replace("sweep file", "study file")))?;
        if self.trials == 0 || self.trials > MAX_TRIALS {
            bail!("study file: trials = {}; give 1 to {MAX_TRIALS}", self.trials);
        }
        if self.space.is_empty() {
            bail!("study file: [space] is empty; give at least one parameter to tune");
        }
        for (key, p) in &self.space {
            match p {
                Param::Uniform([lo, hi]) if !(lo.is_finite() && hi.is_finite() && lo < hi) => {
                    bail!("study file: [space] {key}: uniform needs finite low < high")
                }
                Param::LogUniform([lo, hi]) if !(*lo > 0.0 && hi.is_finite() && lo < hi) => {
                    bail!("study file: [space] {key}: log_uniform needs 0 < low < high")
                }
                Param::Int([lo, hi]) if lo >= hi => bail!("study file: [space] {key}: int needs low < high"),
                Param::Choice(v) if v.len() < 2 => bail!("study file: [space] {key}: choice needs at least two values"),
                _ => {}
            }
        }
        let needs_evaluations = self.pruner.kind != PrunerKind::None || self.objective.metric.starts_with("evaluations_");
        if needs_evaluations && !self.has_evaluations() {
            bail!("study file: the pruner and an evaluations_* objective need intermediate evaluations: add \"--eval-every\", \"N\" to args (or set [pruner] kind = \"none\")");
        }
        if self.pruner.kind == PrunerKind::Asha && (self.pruner.reduction_factor < 2 || self.pruner.min_resource == 0) {
            bail!("study file: [pruner] asha needs reduction_factor >= 2 and min_resource >= 1");
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(text: &str) -> Result<TuneSpec> {
        let s: TuneSpec = toml::from_str(text).map_err(|e| anyhow!("{}", e.message()))?;
        s.check()?;
        Ok(s)
    }

    #[test]
    fn a_study_file_is_checked_before_anything_runs() {
        let base = "binary = \"train\"\nargs = [\"--algo\", \"ppo\", \"--env\", \"CartPole-v1\", \"--eval-every\", \"5000\"]\nseeds = [1, 2, 3]\ntrials = 20\n";
        let ok = spec(&format!("{base}[space]\nlearning_rate = {{ log_uniform = [1e-5, 1e-2] }}\n")).unwrap();
        assert_eq!((ok.sampler.kind, ok.pruner.kind, ok.objective.metric.as_str()), (SamplerKind::Tpe, PrunerKind::Median, "eval_return_mean"));
        for (extra, needle) in [
            ("[space]\n", "empty"),
            ("[space]\nlr = { log_uniform = [0.0, 1.0] }\n", "0 < low"),
            ("[space]\nn = { int = [5, 5] }\n", "low < high"),
            ("[space]\nx = { choice = [1] }\n", "two values"),
            ("[space]\nx = { normal = [0, 1] }\n", "normal"),
            ("checkpoint_every = 0\n[space]\nx = { int = [1, 2] }\n", "checkpoint_every = 0"),
        ] {
            let e = spec(&format!("{base}{extra}")).unwrap_err().to_string();
            assert!(e.contains(needle), "{extra}: {e}");
        }
        let no_evals = "binary = \"train\"\nargs = [\"--algo\", \"ppo\"]\nseeds = [1]\ntrials = 2\n[space]\nx = { int = [1, 2] }\n";
        assert!(spec(no_evals).unwrap_err().to_string().contains("--eval-every"));
        assert!(spec(&format!("{no_evals}[pruner]\nkind = \"none\"\n")).is_ok());
    }

    #[test]
    fn seeds_aggregate_by_mean_or_iqm() {
        assert_eq!(Aggregate::Mean.of(&[1.0, 2.0, 6.0]), 3.0);
        assert_eq!(Aggregate::Iqm.of(&[0.0, 1.0, 2.0, 100.0]), 1.5);
        assert_eq!(Direction::Maximize.loss(2.0), -2.0);
    }
}
