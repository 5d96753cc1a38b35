//! Deep RL agents for nnlab on tch, and the parts they share.
//!
//! Each agent reads top to bottom in its own module (as in CleanRL) and
//! combines shared parts (as in Stable-Baselines3): [`replay_buffer`],
//! [`schedule`], [`network`]. Agents never open files: they report what
//! happens to an [`observer::Observer`] that the caller provides.

pub mod a2c;
pub mod actor;
pub mod agent;
pub mod algorithm;
pub mod batch_renorm;
pub mod collector;
pub mod critic;
pub mod crossq;
pub mod crossq_host;
pub mod distributional;
pub mod distributions;
pub mod dqn;
pub mod flat;
pub mod host_net;
pub mod network;
pub mod noise;
pub mod normalize;
pub mod observer;
pub mod offpolicy;
pub mod onpolicy;
pub mod policy;
pub mod ppo;
pub mod pqn;
pub mod reinforce;
pub mod replay_buffer;
pub mod rollout;
pub mod sac;
pub mod sac_host;
pub mod schedule;
pub mod soft_actor;
pub mod td3;
pub mod td3_host;
pub mod torso;
pub mod tqc;
pub mod tqc_host;
pub mod validate;
pub mod value_head;

pub use agent::{evaluate, evaluate_episodes, read_weights, record_episode, Agent, EvalEpisode, OwnedAction, TrainStats};
pub use observer::{checkpoint_if_due, evaluate_if_due, EpisodeRecord, NullObserver, Observer, Stats, TrainProgress};

pub use nnlab_torch::with_torch_seed;
