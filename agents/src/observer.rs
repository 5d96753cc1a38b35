//! How agents report progress without knowing about files or terminals.

use crate::agent::Agent;
use nnlab_torch::state::TrainState;

/// A finished training episode.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct EpisodeRecord {
    /// Environment steps taken so far (all envs together) when the episode ended.
    pub global_step: usize,
    /// Undiscounted return.
    pub episode_return: f64,
    /// Length in steps.
    pub episode_length: usize,
}

/// Named training statistics at the time of a report: the same names in the
/// same order on every call of one agent (`None` where there is no value yet,
/// e.g. a loss before learning starts).
pub type Stats<'a> = &'a [(&'static str, Option<f64>)];

/// Receives an agent's progress. Every method has an empty default.
///
/// An agent calls [`Observer::on_update`] once before training (every name,
/// no values yet), then after each update (PPO, A2C, REINFORCE) or, for DQN,
/// at each episode's end with the averages since the previous one; it calls
/// [`Observer::on_episode`] when an episode ends. A logger that writes one
/// row per episode pairs the episode with the latest statistics.
pub trait Observer {
    /// An episode ended.
    fn on_episode(&mut self, _episode: &EpisodeRecord) {}
    /// The agent's training statistics at `global_step`.
    fn on_update(&mut self, _global_step: usize, _stats: Stats<'_>) {}
    /// Called every so many environment steps, for progress bars.
    fn on_progress(&mut self, _global_step: usize) {}
    /// Asked after each progress report: `true` ends training there (the
    /// caller found a reason to stop, such as a metric that became NaN).
    fn stop_requested(&self) -> bool {
        false
    }
    /// Asked at the points where training can stop and continue exactly
    /// (between updates): whether to take a checkpoint at `global_step`.
    fn checkpoint_due(&self, _global_step: usize) -> bool {
        false
    }
    /// The agent's complete state at `global_step`, when a checkpoint was due;
    /// every report up to `global_step` has been made, none after it.
    fn on_checkpoint(&mut self, _global_step: usize, _state: TrainState) {}
    /// Asked at the same points, before [`Observer::checkpoint_due`]: whether to
    /// evaluate the current policy at `global_step` (SB3's `EvalCallback`).
    fn evaluation_due(&self, _global_step: usize) -> bool {
        false
    }
    /// The current policy at `global_step`, when an evaluation was due: the
    /// observer plays its episodes with [`Agent::act`] (deterministic, so
    /// training goes on exactly as without the evaluation) and may save it.
    fn on_evaluation(&mut self, _global_step: usize, _agent: &mut dyn Agent) {}
}

/// At a point where training can continue exactly: lends `agent` to `observer`
/// for an evaluation if one is due.
pub fn evaluate_if_due(observer: &mut dyn Observer, global_step: usize, agent: &mut dyn Agent) {
    if observer.evaluation_due(global_step) {
        observer.on_evaluation(global_step, agent);
    }
}

/// At a point where training can continue exactly: hands the agent's state
/// (made by `state` only when needed) to `observer` if it wants a checkpoint.
pub fn checkpoint_if_due(observer: &mut dyn Observer, global_step: usize, state: impl FnOnce() -> anyhow::Result<TrainState>) -> anyhow::Result<()> {
    if observer.checkpoint_due(global_step) {
        observer.on_checkpoint(global_step, state()?);
    }
    Ok(())
}

/// How often the step-wise loops (DQN, the off-policy actor-critics) report progress, in environment steps.
pub const STEP_PROGRESS_INTERVAL: usize = 1000;

/// In a step-wise loop after `global_step`: every [`STEP_PROGRESS_INTERVAL`] steps,
/// reports progress and returns whether the observer asks to stop there.
pub fn progress_says_stop(observer: &mut dyn Observer, global_step: usize) -> bool {
    if !global_step.is_multiple_of(STEP_PROGRESS_INTERVAL) {
        return false;
    }
    observer.on_progress(global_step);
    observer.stop_requested()
}

/// Where an agent's training loop is: the next iteration (or step) to run,
/// the gradient updates made, and the statistics it last reported (which a
/// resumed run reports again before going on, so that its rows pair episodes
/// with the same statistics as an uninterrupted run's).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TrainProgress {
    /// The next iteration (on-policy agents, from 1) or environment step (DQN, from 0).
    pub next: usize,
    /// Gradient updates made.
    pub updates: usize,
    /// The values of the last reported statistics (empty before the first report).
    pub last: Vec<Option<f64>>,
}

impl TrainProgress {
    /// Stores the progress under `progress.*`.
    pub fn put(&self, s: &mut TrainState) -> anyhow::Result<()> {
        s.put("progress.next", &self.next)?;
        s.put("progress.updates", &self.updates)?;
        // As bits: a statistic may be NaN, which JSON cannot hold.
        s.put("progress.last", &self.last.iter().map(|v| v.map(f64::to_bits)).collect::<Vec<_>>())
    }

    /// Reads what [`TrainProgress::put`] stored.
    pub fn get(s: &TrainState) -> anyhow::Result<Self> {
        let last: Vec<Option<u64>> = s.get("progress.last")?;
        Ok(Self { next: s.get("progress.next")?, updates: s.get("progress.updates")?, last: last.into_iter().map(|v| v.map(f64::from_bits)).collect() })
    }

    /// Records `stats` as the last reported.
    pub fn remember(&mut self, stats: Stats<'_>) {
        self.last = stats.iter().map(|s| s.1).collect();
    }

    /// Puts the remembered values back into `stats` (same names, same order), when there are any.
    pub fn recall(&self, stats: &mut [(&'static str, Option<f64>)]) {
        if self.last.len() == stats.len() {
            for (s, v) in stats.iter_mut().zip(&self.last) {
                s.1 = *v;
            }
        }
    }
}

/// An observer that ignores everything.
#[derive(Debug, Default, Clone, Copy)]
pub struct NullObserver;

impl Observer for NullObserver {}
