//! What every agent offers to the experiment runner: train, act, save.

use crate::observer::Observer;
use anyhow::Result;
use nnlab_envs::{Action, Env, Space};

/// An action owned by its caller.
#[derive(Debug, Clone, PartialEq)]
pub enum OwnedAction {
    /// A discrete index.
    Discrete(usize),
    /// A continuous vector.
    Continuous(Vec<f32>),
}

impl OwnedAction {
    /// A zero action of `space` (a buffer to act into).
    pub fn zero(space: &Space) -> Self {
        match space {
            Space::Discrete(_) => OwnedAction::Discrete(0),
            Space::Box(b) => OwnedAction::Continuous(vec![0.0; b.dim()]),
        }
    }

    /// Borrowed as an environment action, as it is.
    pub fn as_action(&self) -> Action<'_> {
        match self {
            OwnedAction::Discrete(a) => Action::Discrete(*a),
            OwnedAction::Continuous(a) => Action::Continuous(a),
        }
    }

    /// Borrows it as an env action, clipping a continuous one into `space`'s bounds
    /// (as SB3's `predict` and Gymnasium's `ClipAction` do).
    pub fn clipped<'a>(&'a mut self, space: &Space) -> Action<'a> {
        match self {
            OwnedAction::Discrete(a) => Action::Discrete(*a),
            OwnedAction::Continuous(v) => {
                if let Space::Box(b) = space {
                    for ((x, lo), hi) in v.iter_mut().zip(&b.low).zip(&b.high) {
                        *x = x.clamp(*lo, *hi);
                    }
                }
                Action::Continuous(v)
            }
        }
    }
}

/// What a training run ends with.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct TrainStats {
    /// Returns of all training episodes, in order.
    pub episode_returns: Vec<f64>,
    /// Gradient updates made.
    pub updates: usize,
}

/// A trainable agent on one environment.
pub trait Agent {
    /// Short algorithm name (`dqn`, `ppo`, ...).
    fn algo(&self) -> &'static str;
    /// Gymnasium id of its environment.
    fn env_id(&self) -> &str;
    /// Trains for the configured number of steps, reporting to `observer`.
    fn train(&mut self, observer: &mut dyn Observer) -> Result<TrainStats>;
    /// The deterministic action for one observation (greedy, or the policy's mode).
    fn act(&mut self, obs: &[f32]) -> Result<OwnedAction>;
    /// Saves the trained weights (and any normalisation statistics) as safetensors.
    fn save(&self, path: &std::path::Path) -> Result<()>;
    /// Loads what [`Agent::save`] wrote (for a model built with the same config).
    fn load(&mut self, path: &std::path::Path) -> Result<()>;
    /// Everything needed to continue training exactly from here: weights,
    /// optimiser, random streams, environments, buffers, normalisers and the
    /// loop's progress. (Torch's own generator is used only to initialise the
    /// networks, so it is not part of it.)
    fn train_state(&self) -> Result<nnlab_torch::state::TrainState>;
    /// Restores what [`Agent::train_state`] saved, into an agent built with
    /// the same config; [`Agent::train`] then continues from there.
    fn restore_train_state(&mut self, state: &nnlab_torch::state::TrainState) -> Result<()>;
}

/// Reads a safetensors file into named tensors, with an error that names the file.
pub fn read_weights(path: &std::path::Path) -> Result<Vec<(String, tch::Tensor)>> {
    use anyhow::Context;
    let bytes = std::fs::read(path).with_context(|| format!("cannot read weights {}", path.display()))?;
    // Checked here first, so that a bad file gets a message in words rather than tch's error names.
    if let Err(e) = safetensors::SafeTensors::deserialize(&bytes) {
        anyhow::bail!("{} is not a valid safetensors file: {}", path.display(), describe_safetensors_error(&e));
    }
    nnlab_torch::weights::check_bytes(&bytes).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
    tch::Tensor::read_safetensors(path).map_err(|e| anyhow::anyhow!("reading weights {}: {e}", path.display()))
}

/// A safetensors parsing error in words.
fn describe_safetensors_error(e: &safetensors::SafeTensorError) -> String {
    use safetensors::SafeTensorError as E;
    match e {
        E::HeaderTooSmall | E::InvalidHeaderLength => "the file is too short for its header".into(),
        E::HeaderTooLarge => "its header length is impossibly large (not a safetensors file, or damaged)".into(),
        E::InvalidHeader | E::InvalidHeaderStart | E::InvalidHeaderDeserialization | E::JsonError(_) => {
            "its header is not the JSON table of a safetensors file".into()
        }
        E::TensorInvalidInfo | E::InvalidOffset(_) | E::InvalidTensorView(..) | E::MetadataIncompleteBuffer | E::ValidationOverflow => {
            "its header does not match the tensor data (truncated or damaged)".into()
        }
        E::TensorNotFound(name) => format!("it has no tensor {name}"),
        E::IoError(io) => io.kind().to_string(),
    }
}

/// One finished evaluation episode.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct EvalEpisode {
    /// Undiscounted return.
    pub episode_return: f64,
    /// Length in steps.
    pub length: usize,
}

/// Runs `episodes` deterministic episodes on a fresh environment; episode `i`
/// resets with seed `seed + i`. Returns each episode's return.
pub fn evaluate(agent: &mut dyn Agent, episodes: usize, seed: u64) -> Result<Vec<f64>> {
    Ok(evaluate_episodes(agent, episodes, seed)?.iter().map(|e| e.episode_return).collect())
}

/// As [`evaluate`], with each episode's length beside its return.
pub fn evaluate_episodes(agent: &mut dyn Agent, episodes: usize, seed: u64) -> Result<Vec<EvalEpisode>> {
    let mut env = nnlab_envs::make(agent.env_id())?;
    let space = env.action_space().clone();
    let mut out = Vec::with_capacity(episodes);
    for i in 0..episodes {
        let mut obs = env.reset(Some(seed + i as u64));
        let (mut total, mut length) = (0.0, 0);
        loop {
            let mut a = agent.act(&obs)?;
            let r = env.step_into(a.clipped(&space), &mut obs)?;
            total += r.reward;
            length += 1;
            if r.done() {
                break;
            }
        }
        out.push(EvalEpisode { episode_return: total, length });
    }
    Ok(out)
}

/// Plays one deterministic episode (reset with `seed`) and returns its rendered frames,
/// every `stride`-th step.
pub fn record_episode(agent: &mut dyn Agent, seed: u64, stride: usize) -> Result<Vec<nnlab_envs::Frame>> {
    let mut env = nnlab_envs::make(agent.env_id())?;
    let space = env.action_space().clone();
    let mut obs = env.reset(Some(seed));
    let mut frames = Vec::new();
    for t in 0.. {
        if t % stride.max(1) == 0 {
            frames.extend(env.render());
        }
        let mut a = agent.act(&obs)?;
        if env.step_into(a.clipped(&space), &mut obs)?.done() {
            break;
        }
    }
    Ok(frames)
}
