//! Replays trajectories recorded from Gymnasium and measures how far nnlab's
//! environments deviate (format: `shared/reference/README.md`, copied in
//! `envs/tests/fixtures/`).
//!
//! Each step starts from the *recorded* previous state (the environments are
//! chaotic, so free-running replays drift by rounding alone), applies the
//! recorded action and compares the new state, observation, reward and
//! `terminated` flag. The episode runs inside the registered time limit, so
//! `truncated` is checked at every step of the whole episode.

use crate::env::Env;
use crate::registry::make;
use crate::spaces::Action;
use serde::Deserialize;
use std::collections::BTreeMap;

/// The default tolerance on state, observation and reward.
pub const TOLERANCE: f64 = 1e-9;

/// A whole reference file.
#[derive(Debug, Deserialize)]
pub struct ReferenceFile {
    /// What recorded it (Gymnasium and numpy versions).
    pub generator: String,
    /// Episodes by environment id.
    pub environments: BTreeMap<String, Vec<ReferenceEpisode>>,
}

/// A recorded action: a discrete index or a Box vector.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub enum RecordedAction {
    /// Discrete.
    Discrete(usize),
    /// Continuous.
    Continuous(Vec<f32>),
}

/// One recorded episode.
#[derive(Debug, Deserialize)]
pub struct ReferenceEpisode {
    /// The seed Gymnasium was reset with.
    pub seed_in_gymnasium: u64,
    /// Which policy chose the actions.
    pub policy: String,
    /// `env.unwrapped.state` after reset.
    pub initial_state: Vec<f64>,
    /// The actions, in order.
    pub actions: Vec<RecordedAction>,
    /// The state after each step.
    pub states: Vec<Vec<f64>>,
    /// The observation after each step.
    pub observations: Vec<Vec<f64>>,
    /// The reward of each step.
    pub rewards: Vec<f64>,
    /// `terminated` of each step.
    pub terminated: Vec<bool>,
    /// `truncated` of each step.
    pub truncated: Vec<bool>,
}

/// What a replay of one environment's episodes found.
#[derive(Debug, Clone, Default)]
pub struct ParityReport {
    /// Transitions compared.
    pub transitions: usize,
    /// Episodes replayed.
    pub episodes: usize,
    /// Largest absolute deviation of a state component.
    pub max_state_dev: f64,
    /// Largest absolute deviation of an observation component.
    pub max_obs_dev: f64,
    /// Largest absolute deviation of a reward.
    pub max_reward_dev: f64,
    /// One line per mismatch (tolerance exceeded, flag differs, or an error).
    pub mismatches: Vec<String>,
}

impl ParityReport {
    /// The largest of the three deviations.
    pub fn max_dev(&self) -> f64 {
        self.max_state_dev.max(self.max_obs_dev).max(self.max_reward_dev)
    }
}

fn max_abs_dev(a: &[f64], b: impl IntoIterator<Item = f64>) -> f64 {
    let b: Vec<f64> = b.into_iter().collect();
    if a.len() != b.len() {
        return f64::INFINITY;
    }
    a.iter().zip(&b).map(|(x, y)| (x - y).abs()).fold(0.0, f64::max)
}

impl ReferenceEpisode {
    /// Checks that every per-step list has one entry per action.
    pub fn check_lengths(&self) -> Result<(), String> {
        let n = self.actions.len();
        let lists = [
            ("states", self.states.len()),
            ("observations", self.observations.len()),
            ("rewards", self.rewards.len()),
            ("terminated", self.terminated.len()),
            ("truncated", self.truncated.len()),
        ];
        match lists.iter().find(|(_, len)| *len != n) {
            Some((name, len)) => Err(format!("{n} actions but {len} {name}")),
            None if n == 0 => Err("no steps".into()),
            None => Ok(()),
        }
    }
}

impl ReferenceFile {
    /// Checks that the file has at least one environment, each with at least
    /// one episode, and that each episode's lists have one entry per step.
    pub fn check(&self) -> Result<(), String> {
        if self.environments.is_empty() {
            return Err("it records no environments".into());
        }
        for (id, episodes) in &self.environments {
            if episodes.is_empty() {
                return Err(format!("{id} has no episodes"));
            }
            for (k, ep) in episodes.iter().enumerate() {
                ep.check_lengths().map_err(|e| format!("{id} episode {k}: {e}"))?;
            }
        }
        Ok(())
    }
}

/// Replays every episode of `env_id` and compares each transition with
/// `tolerance` (a finite number >= 0). An episode whose lists differ in
/// length is reported as a mismatch, not replayed.
pub fn check_env(env_id: &str, episodes: &[ReferenceEpisode], tolerance: f64) -> ParityReport {
    check_env_as(env_id, env_id, episodes, tolerance)
}

/// [`check_env`] on the environment registered as `make_id` (another
/// implementation of `env_id`, such as `gym-rs/CartPole-v1`).
pub fn check_env_as(make_id: &str, env_id: &str, episodes: &[ReferenceEpisode], tolerance: f64) -> ParityReport {
    let mut report = ParityReport::default();
    if !(tolerance.is_finite() && tolerance >= 0.0) {
        report.mismatches.push(format!("tolerance must be a finite number >= 0, got {tolerance}"));
        return report;
    }
    let mut env = match make(make_id) {
        Ok(env) => env,
        Err(e) => {
            report.mismatches.push(format!("{env_id}: {e}"));
            return report;
        }
    };
    let mut obs = vec![0.0f32; env.observation_space().dim()];
    for (k, ep) in episodes.iter().enumerate() {
        report.episodes += 1;
        let label = format!("{env_id} episode {k} (seed {}, {})", ep.seed_in_gymnasium, ep.policy);
        if let Err(e) = ep.check_lengths() {
            report.mismatches.push(format!("{label}: {e}"));
            continue;
        }
        env.reset_into(Some(0), &mut obs);
        let mut prev: &[f64] = &ep.initial_state;
        for t in 0..ep.actions.len() {
            let fail = |what: String| format!("{label} step {t}: {what}");
            if let Err(e) = env.set_state(prev) {
                report.mismatches.push(fail(e.to_string()));
                break;
            }
            let action = match &ep.actions[t] {
                RecordedAction::Discrete(a) => Action::Discrete(*a),
                RecordedAction::Continuous(v) => Action::Continuous(v),
            };
            let r = match env.step_into(action, &mut obs) {
                Ok(r) => r,
                Err(e) => {
                    report.mismatches.push(fail(e.to_string()));
                    break;
                }
            };
            report.transitions += 1;
            let ds = max_abs_dev(&ep.states[t], env.state());
            let dobs = max_abs_dev(&ep.observations[t], obs.iter().map(|&v| f64::from(v)));
            let dr = (ep.rewards[t] - r.reward).abs();
            report.max_state_dev = report.max_state_dev.max(ds);
            report.max_obs_dev = report.max_obs_dev.max(dobs);
            report.max_reward_dev = report.max_reward_dev.max(dr);
            if ds > tolerance || dobs > tolerance || dr > tolerance {
                report.mismatches.push(fail(format!("state dev {ds:.3e}, observation dev {dobs:.3e}, reward dev {dr:.3e}")));
            }
            if r.terminated != ep.terminated[t] {
                report.mismatches.push(fail(format!("terminated {} but Gymnasium says {}", r.terminated, ep.terminated[t])));
            }
            if r.truncated != ep.truncated[t] {
                report.mismatches.push(fail(format!("truncated {} but Gymnasium says {}", r.truncated, ep.truncated[t])));
            }
            prev = &ep.states[t];
        }
    }
    report
}

/// Parses a reference file's text.
pub fn parse(text: &str) -> Result<ReferenceFile, serde_json::Error> {
    serde_json::from_str(text)
}
