//! The format of episodes recorded with MinAtar itself (`tests/fixtures/README.md`:
//! `record_minatar.py` beside it wrote `minatar.json`), and the check that
//! replays one of them.

use crate::environment::{Environment, GameKind};
use serde::Deserialize;

/// A whole recording.
#[derive(Debug, Clone, Deserialize)]
pub struct ReferenceFile {
    /// The MinAtar version that recorded it.
    pub minatar_version: String,
    /// The numpy version that recorded it.
    pub numpy_version: String,
    /// The step cap of the recorder.
    pub max_steps: usize,
    /// The episodes.
    pub episodes: Vec<ReferenceEpisode>,
}

/// One recorded episode: a fresh `Environment`, `seed(seed)`, `reset()`, then the steps.
#[derive(Debug, Clone, Deserialize)]
pub struct ReferenceEpisode {
    /// MinAtar's game name (`breakout`, ...).
    pub game: String,
    /// The seed of `Environment.seed`.
    pub seed: u32,
    /// The policy that chose the actions (`random`, `tracker`).
    pub policy: String,
    /// `sticky_action_prob` of the environment.
    pub sticky_action_prob: f64,
    /// `difficulty_ramping` of the environment.
    pub difficulty_ramping: bool,
    /// `[10, 10, C]`.
    pub state_shape: [usize; 3],
    /// `minimal_action_set()` as MinAtar gave it.
    pub minimal_action_set: Vec<usize>,
    /// The state after reset, packed (see [`unpack_state`]).
    pub initial_state: String,
    /// The steps.
    pub steps: Vec<ReferenceStep>,
}

/// One recorded step.
#[derive(Debug, Clone, Deserialize)]
pub struct ReferenceStep {
    /// The action chosen (full set, before sticky actions).
    pub a: usize,
    /// The reward `act` returned.
    pub r: f64,
    /// The terminal flag `act` returned.
    pub t: bool,
    /// The state after the step, packed.
    pub s: String,
}

/// Unpacks numpy's `packbits` hex of a `10x10xC` state (row-major, first
/// element in the highest bit) into `len` booleans.
pub fn unpack_state(hex: &str, len: usize) -> Result<Vec<bool>, String> {
    if hex.len() != len.div_ceil(8) * 2 {
        return Err(format!("a packed state of {len} cells has {} hex digits, got {}", len.div_ceil(8) * 2, hex.len()));
    }
    let mut out = Vec::with_capacity(len);
    for i in 0..len.div_ceil(8) {
        let byte = u8::from_str_radix(hex.get(2 * i..2 * i + 2).unwrap_or("?"), 16).map_err(|_| format!("'{hex}' is not hex"))?;
        out.extend((0..8).map(|bit| byte & (0x80 >> bit) != 0));
    }
    out.truncate(len);
    Ok(out)
}

impl ReferenceEpisode {
    /// The game, or why the episode cannot be replayed.
    pub fn kind(&self) -> Result<GameKind, String> {
        let kind = GameKind::from_name(&self.game).ok_or_else(|| format!("unknown MinAtar game '{}'", self.game))?;
        let expected = [10, 10, kind.channels().len()];
        if self.state_shape != expected {
            return Err(format!("{}: state_shape {:?}, MinAtar's is {expected:?}", self.game, self.state_shape));
        }
        if self.minimal_action_set != kind.minimal_action_set() {
            return Err(format!("{}: minimal_action_set {:?}, MinAtar's is {:?}", self.game, self.minimal_action_set, kind.minimal_action_set()));
        }
        if self.steps.iter().any(|s| s.a >= crate::NUM_ACTIONS) {
            return Err(format!("{} seed {}: an action outside 0..6", self.game, self.seed));
        }
        Ok(kind)
    }

    /// Replays the episode on [`Environment`] and returns its mismatches
    /// (empty when every state, reward and terminal is equal).
    pub fn replay(&self) -> Result<Vec<String>, String> {
        let kind = self.kind()?;
        let mut env = Environment::new(kind, self.sticky_action_prob, self.difficulty_ramping, self.seed);
        env.reset();
        let mut recorded = Vec::with_capacity(self.steps.len() + 1);
        recorded.push(env.state());
        let mut rewards = Vec::with_capacity(self.steps.len());
        for step in &self.steps {
            let (r, t) = env.act(step.a);
            rewards.push((r as f64, t));
            recorded.push(env.state());
        }
        self.compare(&recorded, &rewards)
    }

    /// Compares a replay (`states[0]` after reset, then one state and one
    /// `(reward, terminal)` per step) with the record.
    pub fn compare(&self, states: &[Vec<bool>], steps: &[(f64, bool)]) -> Result<Vec<String>, String> {
        let len = self.state_shape.iter().product();
        let mut mismatches = Vec::new();
        let label = format!("{} seed {} ({})", self.game, self.seed, self.policy);
        if unpack_state(&self.initial_state, len)? != states[0] {
            mismatches.push(format!("{label}: state after reset differs"));
        }
        for (i, step) in self.steps.iter().enumerate() {
            let (r, t) = steps[i];
            if r != step.r || t != step.t {
                mismatches.push(format!("{label} step {}: reward/terminal {r}/{t}, recorded {}/{}", i + 1, step.r, step.t));
            }
            if unpack_state(&step.s, len)? != states[i + 1] {
                mismatches.push(format!("{label} step {}: state differs", i + 1));
            }
        }
        Ok(mismatches)
    }
}
