//! Gymnasium's classic-control suite in pure Rust.
//!
//! The five environments (`CartPole-v1`, `MountainCar-v0`,
//! `MountainCarContinuous-v0`, `Acrobot-v1`, `Pendulum-v1`) follow
//! Gymnasium 1.x: the same constants, integrators, float widths, rewards,
//! reset distributions and time limits, checked transition by transition
//! against trajectories recorded from Gymnasium itself (`tests/parity.rs`,
//! and the `gym_parity` command for any file of that format).
//!
//! The API keeps Gymnasium's semantics: [`Env::reset`] takes an optional
//! seed, [`Env::step`] returns the reward and separate `terminated` and
//! `truncated` flags, truncation comes from the [`TimeLimit`] wrapper that
//! [`make`] applies, and [`SyncVectorEnv`] resets finished sub-envs
//! automatically while handing back their final observation.
//!
//! Randomness: each environment owns a [`rand_chacha::ChaCha8Rng`]. A reset
//! with `Some(seed)` reseeds it with `ChaCha8Rng::seed_from_u64(seed)`; a
//! reset with `None` continues the stream (the first one, if never seeded,
//! draws a seed from the operating system, as Gymnasium does). Gymnasium's
//! own stream (numpy PCG64) is not reproduced, so the same seed gives other
//! start states than in Gymnasium, with the same distribution.

pub mod classic;
pub mod env;
pub mod error;
#[cfg(feature = "gym-rs")]
pub mod gym_rs;
#[cfg(feature = "minatar")]
pub mod minatar;
pub mod parity;
#[cfg(feature = "minatar")]
pub mod parity_minatar;
pub mod random_policy;
pub mod registration;
pub mod registry;
pub mod render;
pub mod snapshot;
pub mod spaces;
pub mod vector;
pub mod wrappers;

pub use env::{Env, EnvError, EpisodeStats, StepResult, Transition};
pub use registry::{make, make_raw, EnvSpec, Registration, ENV_IDS, REGISTRY};
pub use render::Frame;
pub use spaces::{Action, BoxSpace, Space};
pub use vector::{Actions, SyncVectorEnv};
pub use wrappers::{FrameStack, RecordEpisodeStatistics, TimeLimit};
