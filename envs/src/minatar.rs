//! MinAtar's five games behind nnlab's [`Env`] trait (cargo feature
//! `minatar`): `MinAtar/<Game>-v1` with MinAtar's minimal action set (as
//! MinAtar's own Gymnasium ids) and `MinAtar/<Game>-v0` with all six
//! actions. The games are the GPL-3.0 crate `nnlab-envs-minatar`, an exact
//! port of MinAtar 1.0.15: **a binary built with this feature is GPL-3.0**.
//!
//! Observations are MinAtar's `10x10xC` boolean state channels-first
//! (`[C, 10, 10]`, 0.0/1.0; [`Env::observation_shape`]) for convolutional
//! networks; [`Env::state`] is MinAtar's own `[10, 10, C]` order, for parity
//! checks. Sticky actions (0.1) and difficulty ramping are on, as in MinAtar.
//!
//! Seeding: `reset(Some(seed))` is MinAtar's `seed(seed)` then `reset()`
//! (numpy's `RandomState` takes seeds up to 2^32-1: larger seeds keep their
//! low 32 bits); `reset(None)` continues the stream, as MinAtar's Gymnasium
//! wrapper does. Time limit: MinAtar has none (Freeway ends itself after
//! 2,500 frames); the registry truncates at [`MAX_EPISODE_STEPS`] frames.

use crate::env::{Env, EnvError, StepResult};
use crate::registration::{EnvSpec, Registration};
use crate::render::Frame;
use crate::snapshot;
use crate::spaces::{Action, BoxSpace, Space};
pub use nnlab_envs_minatar as games;
use nnlab_envs_minatar::{Environment, GameKind, GRID, STICKY_ACTION_PROB};
use serde::{Deserialize, Serialize};

/// The registry's time limit for the MinAtar games, in frames (agent steps).
pub const MAX_EPISODE_STEPS: usize = 10_000;

macro_rules! minatar_registrations {
    ($($kind:ident: $v1:literal, $v0:literal;)*) => {
        /// The MinAtar ids in nnlab's registry: `-v1` (minimal action set), then `-v0` (all six actions).
        pub const REGISTRY: &[Registration] = &[
            $(Registration {
                spec: EnvSpec { id: $v1, max_episode_steps: MAX_EPISODE_STEPS, reward_threshold: None },
                make: || Box::new(MinAtarEnv::new($v1, GameKind::$kind, ActionSet::Minimal)),
            },)*
            $(Registration {
                spec: EnvSpec { id: $v0, max_episode_steps: MAX_EPISODE_STEPS, reward_threshold: None },
                make: || Box::new(MinAtarEnv::new($v0, GameKind::$kind, ActionSet::Full)),
            },)*
        ];

        /// The registered id of `kind` with the given action set (`-v1` minimal, `-v0` all six).
        pub fn registered_id(kind: GameKind, actions: ActionSet) -> &'static str {
            match (kind, actions) {
                $((GameKind::$kind, ActionSet::Minimal) => $v1,
                (GameKind::$kind, ActionSet::Full) => $v0,)*
            }
        }
    };
}

minatar_registrations! {
    Asterix: "MinAtar/Asterix-v1", "MinAtar/Asterix-v0";
    Breakout: "MinAtar/Breakout-v1", "MinAtar/Breakout-v0";
    Freeway: "MinAtar/Freeway-v1", "MinAtar/Freeway-v0";
    Seaquest: "MinAtar/Seaquest-v1", "MinAtar/Seaquest-v0";
    SpaceInvaders: "MinAtar/SpaceInvaders-v1", "MinAtar/SpaceInvaders-v0";
}

/// Which of MinAtar's actions the agent chooses from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ActionSet {
    /// MinAtar's `minimal_action_set()` (the `-v1` ids).
    Minimal,
    /// All six actions `n l u r d f` (the `-v0` ids).
    Full,
}

/// What changes as the game runs (the checkpointed part).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Progress {
    env: Environment,
    /// A reset has happened (stepping before it is an error, as for every nnlab env).
    ready: bool,
    /// Reset with a seed at least once (a first `reset(None)` draws one from the OS).
    seeded: bool,
}

/// One MinAtar game as an nnlab [`Env`].
#[derive(Debug, Clone)]
pub struct MinAtarEnv {
    id: &'static str,
    actions: &'static [usize],
    progress: Progress,
    observation_space: BoxSpace,
    action_space: Space,
}

impl MinAtarEnv {
    /// The game `kind` under registry id `id`, with MinAtar's defaults (sticky actions 0.1, ramping).
    pub fn new(id: &'static str, kind: GameKind, actions: ActionSet) -> Self {
        Self::with_settings(id, kind, actions, STICKY_ACTION_PROB, true)
    }

    /// As [`MinAtarEnv::new`] with MinAtar's two settings spelt out (parity checks of other recordings).
    pub fn with_settings(id: &'static str, kind: GameKind, actions: ActionSet, sticky_action_prob: f64, difficulty_ramping: bool) -> Self {
        const ALL: &[usize] = &[0, 1, 2, 3, 4, 5];
        let actions = match actions {
            ActionSet::Minimal => kind.minimal_action_set(),
            ActionSet::Full => ALL,
        };
        let dim = kind.channels().len() * GRID * GRID;
        Self {
            id,
            actions,
            progress: Progress { env: Environment::new(kind, sticky_action_prob, difficulty_ramping, 0), ready: false, seeded: false },
            observation_space: BoxSpace::new(vec![0.0; dim], vec![1.0; dim]),
            action_space: Space::Discrete(actions.len()),
        }
    }

    /// The MinAtar game underneath.
    pub fn environment(&self) -> &Environment {
        &self.progress.env
    }
}

impl Env for MinAtarEnv {
    fn id(&self) -> &'static str {
        self.id
    }
    fn observation_space(&self) -> &BoxSpace {
        &self.observation_space
    }
    fn observation_shape(&self) -> Vec<usize> {
        vec![self.progress.env.channels(), GRID, GRID]
    }
    fn action_space(&self) -> &Space {
        &self.action_space
    }

    fn reset_into(&mut self, seed: Option<u64>, obs: &mut [f32]) {
        let p = &mut self.progress;
        match seed {
            Some(seed) => p.env.seed(seed as u32),
            None if !p.seeded => p.env.seed(rand::random::<u32>()),
            None => {}
        }
        p.seeded = true;
        p.env.reset();
        p.ready = true;
        p.env.observe_chw(obs);
    }

    fn step_into(&mut self, action: Action<'_>, obs: &mut [f32]) -> Result<StepResult, EnvError> {
        self.action_space.check(action)?;
        if !self.progress.ready {
            return Err(EnvError::ResetNeeded);
        }
        let Action::Discrete(a) = action else { unreachable!("checked above") };
        let (reward, terminated) = self.progress.env.act(self.actions[a]);
        self.progress.env.observe_chw(obs);
        Ok(StepResult { reward: reward as f64, terminated, truncated: false, episode: None })
    }

    /// MinAtar's `state()`: `[10, 10, C]` row-major, 0.0/1.0.
    fn state(&self) -> Vec<f64> {
        self.progress.env.state().into_iter().map(|b| b as u8 as f64).collect()
    }
    /// The cells alone do not determine a MinAtar game (timers, directions,
    /// the random stream): use [`Env::restore`] to go back to a saved point.
    fn set_state(&mut self, _state: &[f64]) -> Result<(), EnvError> {
        Err(EnvError::BadSnapshot(format!("{}: a MinAtar game cannot be set from its cells; restore a snapshot instead", self.id)))
    }

    fn snapshot(&self) -> serde_json::Value {
        snapshot::save(&self.progress)
    }
    fn restore(&mut self, snapshot: &serde_json::Value) -> Result<(), EnvError> {
        let progress: Progress = snapshot::read(self.id, snapshot)?;
        if !progress.env.is_valid() {
            return Err(EnvError::BadSnapshot(format!("{}: the snapshot's random stream is not a Mersenne Twister state", self.id)));
        }
        if progress.env.kind() != self.progress.env.kind() {
            return Err(EnvError::BadSnapshot(format!("{}: the snapshot is of MinAtar's {}", self.id, progress.env.kind().name())));
        }
        self.progress = progress;
        Ok(())
    }

    fn render(&self) -> Option<Frame> {
        Some(draw(&self.progress.env))
    }
}

/// Pixels per grid cell of [`Env::render`].
const CELL: usize = 16;

/// MinAtar's picture (its `display_state` and Gymnasium `rgb_array`): each
/// cell in the colour of its highest set channel, black where none is, from
/// seaborn's `color_palette("cubehelix", C)`; 16 pixels a cell.
fn draw(env: &Environment) -> Frame {
    let channels = env.channels();
    let palette = cubehelix_palette(channels);
    let state = env.state();
    let side = GRID * CELL;
    let mut rgb = vec![0u8; side * side * 3];
    for y in 0..GRID {
        for x in 0..GRID {
            let top = (0..channels).rev().find(|&c| state[(y * GRID + x) * channels + c]);
            let colour = top.map_or([0, 0, 0], |c| palette[c]);
            for py in y * CELL..(y + 1) * CELL {
                for px in x * CELL..(x + 1) * CELL {
                    rgb[(py * side + px) * 3..][..3].copy_from_slice(&colour);
                }
            }
        }
    }
    Frame { width: side as u32, height: side as u32, rgb }
}

/// `n` colours of matplotlib's cubehelix map (Green 2011; gamma 1, start
/// 0.5, rotations -1.5, hue 1) at seaborn's points `linspace(0, 1, n + 2)[1:-1]`.
fn cubehelix_palette(n: usize) -> Vec<[u8; 3]> {
    const COEFFICIENTS: [(f64, f64); 3] = [(-0.14861, 1.78277), (-0.29227, -0.90649), (1.97294, 0.0)];
    (1..=n)
        .map(|i| {
            let x = i as f64 / (n + 1) as f64;
            let amplitude = x * (1.0 - x) / 2.0;
            let phi = 2.0 * std::f64::consts::PI * (0.5 / 3.0 - 1.5 * x);
            COEFFICIENTS.map(|(p0, p1)| {
                let v = x + amplitude * (p0 * libm::cos(phi) + p1 * libm::sin(phi));
                (v.clamp(0.0, 1.0) * 255.0 + 0.5) as u8
            })
        })
        .collect()
}
