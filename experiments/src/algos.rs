//! The algorithms the runner knows, their config types and shipped presets.

use crate::config;
use anyhow::Result;
use nnlab_agents::a2c::{A2c, A2cConfig};
use nnlab_agents::dqn::{Dqn, DqnConfig};
use nnlab_agents::ppo::{Ppo, PpoConfig};
use nnlab_agents::reinforce::{Reinforce, ReinforceConfig};
use nnlab_agents::Agent;
use serde::{de::DeserializeOwned, Serialize};
use tch::Device;

/// A config type that the experiment runner can load, check and turn into an agent.
pub trait AlgoConfig: Default + Clone + Serialize + DeserializeOwned {
    /// Algorithm name, as in `experiments/configs/<algo>/`.
    const ALGO: &'static str;
    /// The seed.
    fn seed(&self) -> u64;
    /// Sets the seed.
    fn set_seed(&mut self, seed: u64);
    /// Sets the training length.
    fn set_total_timesteps(&mut self, steps: usize);
    /// Training length.
    fn total_timesteps(&self) -> usize;
    /// Gymnasium id.
    fn env_id(&self) -> &str;
    /// Evaluation episodes at the end.
    fn eval_episodes(&self) -> usize;
    /// Typed checks (one-line errors naming the key), machine limits included.
    fn check(&self) -> Result<()>;
    /// The agent.
    fn build(&self, device: Device) -> Result<Box<dyn Agent>>;
}

/// The getters every config has under the same field names.
macro_rules! common_fields {
    () => {
        fn seed(&self) -> u64 {
            self.seed
        }
        fn set_seed(&mut self, seed: u64) {
            self.seed = seed;
        }
        fn set_total_timesteps(&mut self, steps: usize) {
            self.total_timesteps = steps;
        }
        fn total_timesteps(&self) -> usize {
            self.total_timesteps
        }
        fn env_id(&self) -> &str {
            &self.env_id
        }
        fn eval_episodes(&self) -> usize {
            self.eval_episodes
        }
    };
}

fn obs_dim(env_id: &str) -> Result<usize> {
    Ok(nnlab_envs::make(env_id)?.observation_space().dim())
}

impl AlgoConfig for DqnConfig {
    const ALGO: &'static str = "dqn";
    common_fields!();
    fn check(&self) -> Result<()> {
        self.validate()?;
        config::check_fits_in_memory("buffer_size", self.replay_bytes(obs_dim(&self.env_id)?))
    }
    fn build(&self, device: Device) -> Result<Box<dyn Agent>> {
        Ok(Box::new(Dqn::new(self.clone(), device)?))
    }
}

impl AlgoConfig for PpoConfig {
    const ALGO: &'static str = "ppo";
    common_fields!();
    fn check(&self) -> Result<()> {
        self.validate()?;
        config::check_fits_in_memory("num_envs * num_steps", (self.batch_size() * (obs_dim(&self.env_id)? + 8) * 4 * 3) as u128)
    }
    fn build(&self, device: Device) -> Result<Box<dyn Agent>> {
        Ok(Box::new(Ppo::new(self.clone(), device)?))
    }
}

impl AlgoConfig for A2cConfig {
    const ALGO: &'static str = "a2c";
    common_fields!();
    fn check(&self) -> Result<()> {
        self.validate()
    }
    fn build(&self, device: Device) -> Result<Box<dyn Agent>> {
        Ok(Box::new(A2c::new(self.clone(), device)?))
    }
}

impl AlgoConfig for ReinforceConfig {
    const ALGO: &'static str = "reinforce";
    common_fields!();
    fn check(&self) -> Result<()> {
        self.validate()
    }
    fn build(&self, device: Device) -> Result<Box<dyn Agent>> {
        Ok(Box::new(Reinforce::new(self.clone(), device)?))
    }
}

/// Declares the presets shipped as `experiments/configs/<algo>/<env>.toml`, compiled in.
macro_rules! presets {
    ($(($algo:literal, $env:literal)),* $(,)?) => {
        /// `(algo, env, TOML text)` of every shipped preset.
        pub const PRESETS: &[(&str, &str, &str)] = &[
            $(($algo, $env, include_str!(concat!("../configs/", $algo, "/", $env, ".toml")))),*
        ];
    };
}

presets![
    ("dqn", "CartPole-v1"),
    ("ppo", "CartPole-v1"),
    ("ppo", "Pendulum-v1"),
    ("a2c", "CartPole-v1"),
    ("reinforce", "CartPole-v1"),
    ("ppo", "Acrobot-v1"),
    ("dqn", "MountainCar-v0"),
    ("dqn", "Acrobot-v1")
];

/// The shipped preset of `algo` on `env`, if there is one.
pub fn preset(algo: &str, env: &str) -> Option<crate::runner::Preset> {
    PRESETS
        .iter()
        .find(|(a, e, _)| *a == algo && *e == env)
        .map(|(a, e, text)| crate::runner::Preset { name: format!("experiments/configs/{a}/{e}.toml"), text: text.to_string() })
}

/// A published score to draw beside a sweep's curves (`shared/notes/anchors.md`).
pub fn published_score(algo: &str, env: &str) -> Option<crate::plot::Reference> {
    let (value, label) = match (algo, env) {
        ("dqn", "CartPole-v1") => (488.69, "CleanRL dqn.py 488.69"),
        ("dqn", "Acrobot-v1") => (-76.6, "SB3 zoo -76.6"),
        ("dqn", "MountainCar-v0") => (-100.8, "SB3 zoo -100.8"),
        ("ppo", "CartPole-v1") => (490.04, "CleanRL ppo.py 490.04"),
        ("ppo", "Acrobot-v1") => (-86.36, "CleanRL ppo.py -86.36"),
        ("ppo", "Pendulum-v1") => (-172.0, "SB3 zoo (gSDE) about -172"),
        ("a2c", "CartPole-v1") => (500.0, "SB3 zoo 500"),
        _ => return None,
    };
    Some(crate::plot::Reference { value, label: label.into() })
}
