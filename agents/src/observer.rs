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

/// Summary of the gradient updates made since the previous report.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct UpdateRecord {
    /// Environment steps taken so far.
    pub global_step: usize,
    /// Mean training loss over those updates.
    pub loss: f64,
    /// Mean predicted Q-value of the taken actions over those updates.
    pub mean_q: f64,
    /// Exploration rate at this step.
    pub epsilon: f64,
    /// Number of updates summarised.
    pub updates: usize,
}

/// Receives an agent's progress. Every method has an empty default.
pub trait Observer {
    /// An episode ended. `last_update` summarises the updates since the previous episode
    /// (`None` while learning has not started), `epsilon` is the exploration rate then.
    fn on_episode(&mut self, _episode: &EpisodeRecord, _last_update: Option<&UpdateRecord>, _epsilon: f64) {}
    /// Called every `progress_interval` environment steps, for progress bars.
    fn on_progress(&mut self, _global_step: usize) {}
}

/// An observer that ignores everything.
#[derive(Debug, Default, Clone, Copy)]
pub struct NullObserver;

impl Observer for NullObserver {}
