//! The algorithms the runner knows, their config types and shipped presets.

use crate::cli::CommonArgs;
use crate::config;
use anyhow::Result;
use nnlab_agents::a2c::{A2c, A2cConfig};
use nnlab_agents::distributional::{C51Config, QrDqnConfig};
use nnlab_agents::dqn::{Dqn, DqnConfig};
use nnlab_agents::ppo::{Ppo, PpoConfig};
use nnlab_agents::reinforce::{Reinforce, ReinforceConfig};
use nnlab_agents::sac::{Sac, SacConfig};
use nnlab_agents::td3::{DdpgConfig, Td3, Td3Config};
use nnlab_agents::Agent;
use serde::{de::DeserializeOwned, Serialize};
use tch::Device;

/// A config type that the experiment runner can load, check and turn into an agent.
pub trait AlgoConfig: Default + Clone + Serialize + DeserializeOwned + schemars::JsonSchema {
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

impl AlgoConfig for C51Config {
    const ALGO: &'static str = "c51";
    common_fields!();
    fn check(&self) -> Result<()> {
        self.validate()?;
        config::check_fits_in_memory("buffer_size", self.as_dqn().replay_bytes(obs_dim(&self.env_id)?))
    }
    fn build(&self, device: Device) -> Result<Box<dyn Agent>> {
        Ok(Box::new(Dqn::c51(self, device)?))
    }
}

impl AlgoConfig for QrDqnConfig {
    const ALGO: &'static str = "qrdqn";
    common_fields!();
    fn check(&self) -> Result<()> {
        self.validate()?;
        config::check_fits_in_memory("buffer_size", self.as_dqn().replay_bytes(obs_dim(&self.env_id)?))
    }
    fn build(&self, device: Device) -> Result<Box<dyn Agent>> {
        Ok(Box::new(Dqn::qrdqn(self, device)?))
    }
}

impl AlgoConfig for Td3Config {
    const ALGO: &'static str = "td3";
    common_fields!();
    fn check(&self) -> Result<()> {
        self.validate()?;
        config::check_fits_in_memory("buffer_size", self.loop_settings().replay_bytes()?)
    }
    fn build(&self, device: Device) -> Result<Box<dyn Agent>> {
        Ok(Box::new(Td3::agent(self.clone(), device)?))
    }
}

impl AlgoConfig for DdpgConfig {
    const ALGO: &'static str = "ddpg";
    common_fields!();
    fn check(&self) -> Result<()> {
        self.validate()?;
        config::check_fits_in_memory("buffer_size", self.as_td3().loop_settings().replay_bytes()?)
    }
    fn build(&self, device: Device) -> Result<Box<dyn Agent>> {
        Ok(Box::new(Td3::ddpg(self.clone(), device)?))
    }
}

impl AlgoConfig for SacConfig {
    const ALGO: &'static str = "sac";
    common_fields!();
    fn check(&self) -> Result<()> {
        self.validate()?;
        config::check_fits_in_memory("buffer_size", self.loop_settings().replay_bytes()?)
    }
    fn build(&self, device: Device) -> Result<Box<dyn Agent>> {
        Ok(Box::new(Sac::agent(self.clone(), device)?))
    }
}

include!(concat!(env!("OUT_DIR"), "/presets.rs"));

/// The shipped preset of `algo` on `env`, if there is one.
pub fn preset(algo: &str, env: &str) -> Option<crate::runner::Preset> {
    PRESETS
        .iter()
        .find(|(a, e, _)| *a == algo && *e == env)
        .map(|(a, e, text)| crate::runner::Preset { name: format!("experiments/configs/{a}/{e}.toml"), text: text.to_string() })
}

/// An agent rebuilt from a run folder, with the run's seed and evaluation length.
pub struct LoadedAgent {
    /// The agent with the run's weights.
    pub agent: Box<dyn Agent>,
    /// The run's seed.
    pub seed: u64,
    /// The run's evaluation episodes.
    pub eval_episodes: usize,
}

/// Rebuilds the agent of run folder `dir` from its `config.toml` and `model.safetensors`.
fn load_run<C: AlgoConfig>(dir: &std::path::Path, device: Device) -> Result<LoadedAgent> {
    let cfg: C = config::load(config::Source::File(&dir.join("config.toml")), &[])?;
    cfg.check()?;
    let mut agent = cfg.build(device)?;
    agent.load(&dir.join("model.safetensors"))?;
    Ok(LoadedAgent { agent, seed: cfg.seed(), eval_episodes: cfg.eval_episodes() })
}

/// One algorithm of the registry: everything `train`, `enjoy` and the sweep
/// plots need to know of it.
pub struct Algorithm {
    /// Its name (`--algo`, `summary.json`'s `algo`, `experiments/configs/<name>/`).
    pub name: &'static str,
    /// One line for `--help`.
    pub about: &'static str,
    /// Trains it: `(experiment name, flags, preset, environment)`.
    pub run: fn(&str, &CommonArgs, Option<crate::runner::Preset>, &str) -> Result<()>,
    /// Rebuilds a trained agent from its run folder.
    pub load: fn(&std::path::Path, Device) -> Result<LoadedAgent>,
    /// Published scores to draw beside sweeps: `(environment, score, label)` (`shared/notes/anchors.md`).
    pub published: &'static [(&'static str, f64, &'static str)],
}

/// The entry of config type `C`.
const fn entry<C: AlgoConfig>(about: &'static str, published: &'static [(&'static str, f64, &'static str)]) -> Algorithm {
    Algorithm { name: C::ALGO, about, run: crate::runner::run::<C>, load: load_run::<C>, published }
}

/// Every algorithm the binaries know. Adding one is its module in `agents`,
/// its [`AlgoConfig`] impl above and one entry here.
pub const ALGORITHMS: &[Algorithm] = &[
    entry::<DqnConfig>(
        "Deep Q-Network: double, dueling, Huber or MSE (discrete actions)",
        &[("CartPole-v1", 488.69, "CleanRL dqn.py 488.69"), ("Acrobot-v1", -76.6, "SB3 zoo -76.6"), ("MountainCar-v0", -100.8, "SB3 zoo -100.8")],
    ),
    entry::<C51Config>(
        "C51 distributional DQN: a categorical return distribution per action (discrete actions)",
        &[("CartPole-v1", 481.2, "CleanRL c51.py 481.2"), ("Acrobot-v1", -87.7, "CleanRL c51.py -87.7"), ("MountainCar-v0", -166.4, "CleanRL c51.py -166.4")],
    ),
    entry::<QrDqnConfig>(
        "QR-DQN: quantile-regression distributional DQN (discrete actions)",
        &[("CartPole-v1", 500.0, "SB3 zoo 500"), ("Acrobot-v1", -69.1, "SB3 zoo -69.1"), ("MountainCar-v0", -106.0, "SB3 zoo -106.0")],
    ),
    entry::<PpoConfig>(
        "Proximal Policy Optimization (discrete or Box actions)",
        &[
            ("CartPole-v1", 490.04, "CleanRL ppo.py 490.04"),
            ("Acrobot-v1", -86.36, "CleanRL ppo.py -86.36"),
            ("Pendulum-v1", -172.0, "SB3 zoo (gSDE) about -172"),
        ],
    ),
    entry::<A2cConfig>("Advantage Actor-Critic (discrete or Box actions)", &[("CartPole-v1", 500.0, "SB3 zoo 500")]),
    entry::<ReinforceConfig>("REINFORCE with an optional value baseline (discrete or Box actions)", &[]),
    entry::<DdpgConfig>(
        "Deep Deterministic Policy Gradient (Box actions)",
        &[("Pendulum-v1", -152.1, "SB3 zoo -152.1"), ("MountainCarContinuous-v0", 93.5, "SB3 zoo 93.5")],
    ),
    entry::<Td3Config>("Twin Delayed DDPG (Box actions)", &[("Pendulum-v1", -151.9, "SB3 zoo -151.9"), ("MountainCarContinuous-v0", 93.5, "SB3 zoo 93.5")]),
    entry::<SacConfig>(
        "Soft Actor-Critic with automatic entropy tuning (Box actions)",
        &[("Pendulum-v1", -157.0, "SB3 zoo -157.0"), ("MountainCarContinuous-v0", 94.7, "SB3 zoo (gSDE) 94.7")],
    ),
];

/// The algorithm named `name`.
pub fn find(name: &str) -> Result<&'static Algorithm> {
    ALGORITHMS.iter().find(|a| a.name == name).ok_or_else(|| {
        let names: Vec<&str> = ALGORITHMS.iter().map(|a| a.name).collect();
        anyhow::anyhow!("unknown algorithm '{name}' (known: {})", names.join(", "))
    })
}

/// `--algo`'s parser: the registry's names, each with its line of help.
pub fn algo_value_parser() -> clap::builder::PossibleValuesParser {
    clap::builder::PossibleValuesParser::new(ALGORITHMS.iter().map(|a| clap::builder::PossibleValue::new(a.name).help(a.about)))
}

/// A published score to draw beside a sweep's curves.
pub fn published_score(algo: &str, env: &str) -> Option<crate::plot::Reference> {
    let a = find(algo).ok()?;
    a.published.iter().find(|p| p.0 == env).map(|&(_, value, label)| crate::plot::Reference { value, label: label.into() })
}
