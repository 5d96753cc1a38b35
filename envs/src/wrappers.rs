//! Wrappers with Gymnasium's semantics: a time limit, episode statistics and frame stacking.

use crate::env::{Env, EnvError, EpisodeStats, StepResult};
use crate::render::Frame;
use crate::snapshot::read as from_snapshot;
use crate::spaces::{Action, BoxSpace, Space};

/// Truncates an episode after `max_episode_steps` steps (Gymnasium's `TimeLimit`).
///
/// The flag `truncated` is set on the step that reaches the limit, also
/// when that step terminates too.
#[derive(Debug, Clone)]
pub struct TimeLimit<E> {
    inner: E,
    max_episode_steps: usize,
    elapsed: usize,
}

impl<E: Env> TimeLimit<E> {
    /// Wraps `inner` with a limit of `max_episode_steps` steps per episode.
    pub fn new(inner: E, max_episode_steps: usize) -> Self {
        Self { inner, max_episode_steps, elapsed: 0 }
    }

    /// Steps taken in the current episode.
    pub fn elapsed_steps(&self) -> usize {
        self.elapsed
    }

    /// The limit.
    pub fn max_episode_steps(&self) -> usize {
        self.max_episode_steps
    }
}

impl<E: Env> Env for TimeLimit<E> {
    fn id(&self) -> &'static str {
        self.inner.id()
    }
    fn observation_space(&self) -> &BoxSpace {
        self.inner.observation_space()
    }
    fn observation_shape(&self) -> Vec<usize> {
        self.inner.observation_shape()
    }
    fn action_space(&self) -> &Space {
        self.inner.action_space()
    }
    fn reset_into(&mut self, seed: Option<u64>, obs: &mut [f32]) {
        self.elapsed = 0;
        self.inner.reset_into(seed, obs)
    }
    fn step_into(&mut self, action: Action<'_>, obs: &mut [f32]) -> Result<StepResult, EnvError> {
        let mut r = self.inner.step_into(action, obs)?;
        self.elapsed += 1;
        if self.elapsed >= self.max_episode_steps {
            r.truncated = true;
        }
        Ok(r)
    }
    fn state(&self) -> Vec<f64> {
        self.inner.state()
    }
    fn set_state(&mut self, state: &[f64]) -> Result<(), EnvError> {
        self.inner.set_state(state)
    }
    fn snapshot(&self) -> serde_json::Value {
        serde_json::json!({ "elapsed": self.elapsed, "inner": self.inner.snapshot() })
    }
    fn restore(&mut self, snapshot: &serde_json::Value) -> Result<(), EnvError> {
        let (elapsed, inner): (usize, serde_json::Value) = from_snapshot("TimeLimit", &serde_json::json!([snapshot["elapsed"], snapshot["inner"]]))?;
        self.inner.restore(&inner)?;
        self.elapsed = elapsed;
        Ok(())
    }
    fn render(&self) -> Option<Frame> {
        self.inner.render()
    }
}

/// Adds the finished episode's return and length to the step that ends it
/// (Gymnasium's `RecordEpisodeStatistics`, without wall-clock time).
#[derive(Debug, Clone)]
pub struct RecordEpisodeStatistics<E> {
    inner: E,
    ret: f64,
    len: usize,
}

impl<E: Env> RecordEpisodeStatistics<E> {
    /// Wraps `inner`.
    pub fn new(inner: E) -> Self {
        Self { inner, ret: 0.0, len: 0 }
    }
}

impl<E: Env> Env for RecordEpisodeStatistics<E> {
    fn id(&self) -> &'static str {
        self.inner.id()
    }
    fn observation_space(&self) -> &BoxSpace {
        self.inner.observation_space()
    }
    fn observation_shape(&self) -> Vec<usize> {
        self.inner.observation_shape()
    }
    fn action_space(&self) -> &Space {
        self.inner.action_space()
    }
    fn reset_into(&mut self, seed: Option<u64>, obs: &mut [f32]) {
        self.ret = 0.0;
        self.len = 0;
        self.inner.reset_into(seed, obs)
    }
    fn step_into(&mut self, action: Action<'_>, obs: &mut [f32]) -> Result<StepResult, EnvError> {
        let mut r = self.inner.step_into(action, obs)?;
        self.ret += r.reward;
        self.len += 1;
        if r.done() {
            r.episode = Some(EpisodeStats { ret: self.ret, len: self.len });
        }
        Ok(r)
    }
    fn state(&self) -> Vec<f64> {
        self.inner.state()
    }
    fn set_state(&mut self, state: &[f64]) -> Result<(), EnvError> {
        self.inner.set_state(state)
    }
    fn snapshot(&self) -> serde_json::Value {
        serde_json::json!({ "ret": self.ret.to_bits(), "len": self.len, "inner": self.inner.snapshot() })
    }
    fn restore(&mut self, snapshot: &serde_json::Value) -> Result<(), EnvError> {
        let (ret, len, inner): (u64, usize, serde_json::Value) =
            from_snapshot("RecordEpisodeStatistics", &serde_json::json!([snapshot["ret"], snapshot["len"], snapshot["inner"]]))?;
        self.inner.restore(&inner)?;
        self.ret = f64::from_bits(ret);
        self.len = len;
        Ok(())
    }
    fn render(&self) -> Option<Frame> {
        self.inner.render()
    }
}

/// The last `k` observations side by side (Gymnasium's
/// `FrameStackObservation` with its default padding): after a reset every
/// slot holds the first observation; each step drops the oldest. Pictures
/// `[C, H, W]` stack along the channels (`[k * C, H, W]`, oldest first), as a
/// convolutional network takes them; vectors `[d]` become `[k * d]`.
#[derive(Debug, Clone)]
pub struct FrameStack<E> {
    inner: E,
    k: usize,
    /// The `k` frames, oldest first, each `frame` values long.
    frames: Vec<f32>,
    frame: Vec<f32>,
    observation_space: BoxSpace,
}

impl<E: Env> FrameStack<E> {
    /// Stacks the last `k >= 1` observations of `inner`.
    pub fn new(inner: E, k: usize) -> Self {
        assert!(k >= 1, "a frame stack holds at least one frame");
        let space = inner.observation_space();
        let repeat = |v: &[f32]| v.iter().copied().cycle().take(v.len() * k).collect::<Vec<_>>();
        let observation_space = BoxSpace::new(repeat(&space.low), repeat(&space.high));
        let dim = space.dim();
        Self { inner, k, frames: vec![0.0; dim * k], frame: vec![0.0; dim], observation_space }
    }

    fn write(&self, obs: &mut [f32]) {
        obs.copy_from_slice(&self.frames);
    }
}

impl<E: Env> Env for FrameStack<E> {
    fn id(&self) -> &'static str {
        self.inner.id()
    }
    fn observation_space(&self) -> &BoxSpace {
        &self.observation_space
    }
    fn observation_shape(&self) -> Vec<usize> {
        let mut shape = self.inner.observation_shape();
        shape[0] *= self.k;
        shape
    }
    fn action_space(&self) -> &Space {
        self.inner.action_space()
    }
    fn reset_into(&mut self, seed: Option<u64>, obs: &mut [f32]) {
        let mut frame = std::mem::take(&mut self.frame);
        self.inner.reset_into(seed, &mut frame);
        for slot in self.frames.chunks_mut(frame.len()) {
            slot.copy_from_slice(&frame);
        }
        self.frame = frame;
        self.write(obs);
    }
    fn step_into(&mut self, action: Action<'_>, obs: &mut [f32]) -> Result<StepResult, EnvError> {
        let mut frame = std::mem::take(&mut self.frame);
        let r = self.inner.step_into(action, &mut frame);
        if r.is_ok() {
            let d = frame.len();
            self.frames.copy_within(d.., 0);
            let last = self.frames.len() - d;
            self.frames[last..].copy_from_slice(&frame);
        }
        self.frame = frame;
        let r = r?;
        self.write(obs);
        Ok(r)
    }
    fn state(&self) -> Vec<f64> {
        self.inner.state()
    }
    fn set_state(&mut self, state: &[f64]) -> Result<(), EnvError> {
        self.inner.set_state(state)
    }
    fn snapshot(&self) -> serde_json::Value {
        serde_json::json!({ "frames": self.frames.iter().map(|v| v.to_bits()).collect::<Vec<_>>(), "inner": self.inner.snapshot() })
    }
    fn restore(&mut self, snapshot: &serde_json::Value) -> Result<(), EnvError> {
        let (frames, inner): (Vec<u32>, serde_json::Value) = from_snapshot("FrameStack", &serde_json::json!([snapshot["frames"], snapshot["inner"]]))?;
        if frames.len() != self.frames.len() {
            return Err(EnvError::BadSnapshot(format!("FrameStack: {} stacked values, expected {}", frames.len(), self.frames.len())));
        }
        self.inner.restore(&inner)?;
        self.frames = frames.into_iter().map(f32::from_bits).collect();
        Ok(())
    }
    fn render(&self) -> Option<Frame> {
        self.inner.render()
    }
}
