//! Deep RL agents for nnlab on tch, and the parts they share.
//!
//! Each agent reads top to bottom in its own module (as in CleanRL) and
//! combines shared parts (as in Stable-Baselines3): [`replay_buffer`],
//! [`schedule`], [`network`]. Agents never open files: they report what
//! happens to an [`observer::Observer`] that the caller provides.

pub mod dqn;
pub mod flat;
pub mod network;
pub mod observer;
pub mod replay_buffer;
pub mod schedule;
pub mod validate;

pub use observer::{EpisodeRecord, NullObserver, Observer, UpdateRecord};
