//! Making environments by their Gymnasium id: one table, [`REGISTRY`], with
//! one line per environment. Each environment's file defines its own
//! [`Registration`] (id, time limit, reward threshold, constructor); drawing
//! is its [`Env::render`]. `train`, `enjoy`, `bench`, the tests and the docs
//! read the table, so adding an environment is its file, its `mod` line and
//! its line here.

use crate::env::{Env, EnvError};
pub use crate::registration::{EnvSpec, Registration};
use crate::wrappers::{RecordEpisodeStatistics, TimeLimit};

/// nnlab's own environments, in the order `train --help` and the tables list them.
#[rustfmt::skip]
pub const REGISTRY: &[Registration] = &[
    crate::classic::cartpole::REGISTRATION,
    crate::classic::mountain_car::REGISTRATION,
    crate::classic::mountain_car_continuous::REGISTRATION,
    crate::classic::acrobot::REGISTRATION,
    crate::classic::pendulum::REGISTRATION,
];

/// The ids of [`REGISTRY`] (nnlab's own environments), in its order.
pub const ENV_IDS: [&str; REGISTRY.len()] = {
    let mut ids = [""; REGISTRY.len()];
    let mut i = 0;
    while i < REGISTRY.len() {
        ids[i] = REGISTRY[i].spec.id;
        i += 1;
    }
    ids
};

/// Every registration [`make`] knows: [`REGISTRY`], gym-rs's with the
/// `gym-rs` feature, and MinAtar's with the `minatar` feature.
pub fn registrations() -> impl Iterator<Item = &'static Registration> {
    #[cfg(feature = "gym-rs")]
    let extra = crate::gym_rs::REGISTRY.iter();
    #[cfg(not(feature = "gym-rs"))]
    let extra = [].iter();
    #[cfg(feature = "minatar")]
    let minatar = crate::minatar::REGISTRY.iter();
    #[cfg(not(feature = "minatar"))]
    let minatar = [].iter();
    REGISTRY.iter().chain(extra).chain(minatar)
}

/// Every id [`make`] knows: nnlab's own, and gym-rs's with the `gym-rs` feature.
pub fn all_ids() -> impl Iterator<Item = &'static str> {
    registrations().map(|r| r.spec.id)
}

/// The known ids as one comma-separated list, for messages.
pub fn known_ids() -> String {
    all_ids().collect::<Vec<_>>().join(", ")
}

fn registration(id: &str) -> Result<&'static Registration, EnvError> {
    if id.starts_with("MinAtar/") && !cfg!(feature = "minatar") {
        return Err(EnvError::FeatureNeeded(format!(
            "'{id}' is one of MinAtar's games, which this binary was built without: build with `--features minatar` \
             (e.g. cargo run --release --features minatar --bin train -- ...; such a binary is GPL-3.0, see envs-minatar/README.md)"
        )));
    }
    registrations().find(|r| r.spec.id == id).ok_or_else(|| EnvError::UnknownEnv(format!("'{id}' (known: {})", known_ids())))
}

/// The registry entry of `id`.
pub fn spec(id: &str) -> Result<EnvSpec, EnvError> {
    Ok(registration(id)?.spec)
}

/// The bare environment, without time limit or statistics.
pub fn make_raw(id: &str) -> Result<Box<dyn Env>, EnvError> {
    Ok((registration(id)?.make)())
}

/// Like `gymnasium.make(id)`: the environment inside its registered [`TimeLimit`].
pub fn make(id: &str) -> Result<Box<dyn Env>, EnvError> {
    let registration = registration(id)?;
    Ok(Box::new(TimeLimit::new((registration.make)(), registration.spec.max_episode_steps)))
}

/// [`make`] plus [`RecordEpisodeStatistics`], the form training loops use.
pub fn make_with_stats(id: &str) -> Result<Box<dyn Env>, EnvError> {
    Ok(Box::new(RecordEpisodeStatistics::new(make(id)?)))
}
