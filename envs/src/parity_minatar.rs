//! Replays episodes recorded with MinAtar itself (the format of
//! `envs-minatar/tests/fixtures/README.md`) through nnlab's [`Env`]
//! adapter: every state, reward and terminal must be equal (MinAtar's
//! states are booleans and its rewards integers: no tolerance).

use crate::env::Env;
use crate::minatar::{ActionSet, MinAtarEnv};
use crate::spaces::Action;
use nnlab_envs_minatar::reference::{ReferenceEpisode, ReferenceFile};
use std::collections::BTreeMap;

/// What the replay of one game's episodes found.
#[derive(Debug, Clone, Default)]
pub struct MinAtarReport {
    /// Episodes replayed.
    pub episodes: usize,
    /// Steps compared.
    pub steps: usize,
    /// Sum of the recorded rewards.
    pub recorded_return: f64,
    /// One line per mismatch (or per episode that could not be replayed).
    pub mismatches: Vec<String>,
}

/// Parses a MinAtar recording.
pub fn parse(text: &str) -> Result<ReferenceFile, serde_json::Error> {
    serde_json::from_str(text)
}

/// Replays every episode, by game (MinAtar's names, sorted).
pub fn check_file(file: &ReferenceFile) -> BTreeMap<String, MinAtarReport> {
    let mut reports: BTreeMap<String, MinAtarReport> = BTreeMap::new();
    for episode in &file.episodes {
        let report = reports.entry(episode.game.clone()).or_default();
        report.episodes += 1;
        report.steps += episode.steps.len();
        report.recorded_return += episode.steps.iter().map(|s| s.r).sum::<f64>();
        match replay(episode) {
            Ok(mismatches) => report.mismatches.extend(mismatches),
            Err(e) => report.mismatches.push(format!("{} seed {}: {e}", episode.game, episode.seed)),
        }
    }
    reports
}

/// One episode through [`MinAtarEnv`] with all six actions: `reset(Some(seed))`, then the recorded actions.
fn replay(episode: &ReferenceEpisode) -> Result<Vec<String>, String> {
    let kind = episode.kind()?;
    if !(0.0..=1.0).contains(&episode.sticky_action_prob) {
        return Err(format!("sticky_action_prob {} is not a probability", episode.sticky_action_prob));
    }
    let mut env = MinAtarEnv::with_settings("MinAtar (recording)", kind, ActionSet::Full, episode.sticky_action_prob, episode.difficulty_ramping);
    let as_bools = |state: Vec<f64>| state.into_iter().map(|v| v != 0.0).collect::<Vec<bool>>();
    let mut obs = vec![0.0f32; env.observation_space().dim()];
    env.reset_into(Some(u64::from(episode.seed)), &mut obs);
    let mut states = vec![as_bools(env.state())];
    let mut steps = Vec::with_capacity(episode.steps.len());
    for step in &episode.steps {
        let r = env.step_into(Action::Discrete(step.a), &mut obs).map_err(|e| e.to_string())?;
        steps.push((r.reward, r.terminated));
        states.push(as_bools(env.state()));
    }
    episode.compare(&states, &steps)
}
