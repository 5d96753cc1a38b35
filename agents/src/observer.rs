//! How agents report progress without knowing about files or terminals.

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
}

/// An observer that ignores everything.
#[derive(Debug, Default, Clone, Copy)]
pub struct NullObserver;

impl Observer for NullObserver {}
