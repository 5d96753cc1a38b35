//! Making environments by their Gymnasium id.

use crate::classic::{Acrobot, CartPole, MountainCar, MountainCarContinuous, Pendulum};
use crate::env::{Env, EnvError};
use crate::wrappers::{RecordEpisodeStatistics, TimeLimit};

/// Registry facts about one environment id.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct EnvSpec {
    /// Gymnasium id.
    pub id: &'static str,
    /// Time limit applied by [`make`].
    pub max_episode_steps: usize,
    /// Gymnasium's `reward_threshold` ("solved" score), if any.
    pub reward_threshold: Option<f64>,
}

/// The ids that [`make`] knows.
pub const ENV_IDS: [&str; 5] = ["CartPole-v1", "MountainCar-v0", "MountainCarContinuous-v0", "Acrobot-v1", "Pendulum-v1"];

/// The registry entry of `id`.
pub fn spec(id: &str) -> Result<EnvSpec, EnvError> {
    let (max_episode_steps, reward_threshold) = match id {
        "CartPole-v1" => (500, Some(475.0)),
        "MountainCar-v0" => (200, Some(-110.0)),
        "MountainCarContinuous-v0" => (999, Some(90.0)),
        "Acrobot-v1" => (500, Some(-100.0)),
        "Pendulum-v1" => (200, None),
        #[cfg(feature = "gym-rs")]
        "gym-rs/CartPole-v1" => (500, Some(475.0)),
        _ => return Err(EnvError::UnknownEnv(id.to_string())),
    };
    let id = all_ids().find(|k| *k == id).expect("listed above");
    Ok(EnvSpec { id, max_episode_steps, reward_threshold })
}

/// The bare environment, without time limit or statistics.
pub fn make_raw(id: &str) -> Result<Box<dyn Env>, EnvError> {
    Ok(match id {
        "CartPole-v1" => Box::new(CartPole::new()),
        "MountainCar-v0" => Box::new(MountainCar::new()),
        "MountainCarContinuous-v0" => Box::new(MountainCarContinuous::new()),
        "Acrobot-v1" => Box::new(Acrobot::new()),
        "Pendulum-v1" => Box::new(Pendulum::new()),
        #[cfg(feature = "gym-rs")]
        "gym-rs/CartPole-v1" => Box::new(crate::gym_rs::GymRsCartPole::new()),
        _ => return Err(EnvError::UnknownEnv(id.to_string())),
    })
}

/// Every id [`make`] knows: nnlab's own, and gym-rs's with the `gym-rs` feature.
pub fn all_ids() -> impl Iterator<Item = &'static str> {
    #[cfg(feature = "gym-rs")]
    let extra = crate::gym_rs::GYM_RS_IDS.iter().copied();
    #[cfg(not(feature = "gym-rs"))]
    let extra = std::iter::empty();
    ENV_IDS.iter().copied().chain(extra)
}

/// Like `gymnasium.make(id)`: the environment inside its registered [`TimeLimit`].
pub fn make(id: &str) -> Result<Box<dyn Env>, EnvError> {
    let spec = spec(id)?;
    Ok(Box::new(TimeLimit::new(make_raw(id)?, spec.max_episode_steps)))
}

/// [`make`] plus [`RecordEpisodeStatistics`], the form training loops use.
pub fn make_with_stats(id: &str) -> Result<Box<dyn Env>, EnvError> {
    Ok(Box::new(RecordEpisodeStatistics::new(make(id)?)))
}
