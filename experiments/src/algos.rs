//! The algorithms the binaries know: [`ALGORITHMS`], one line per
//! algorithm (its config type, which implements [`AlgoConfig`] in the
//! algorithm's own file in `agents/`), and the shipped presets
//! (`experiments/configs/<algo>/<env>.toml`, read by the build script).

use crate::cli::CommonArgs;
use crate::config::{self, Preset};
use anyhow::Result;
use nnlab_agents::Agent;
use tch::Device;

/// The config trait of every algorithm (implemented in each algorithm's own file).
pub use nnlab_agents::algorithm::AlgorithmConfig as AlgoConfig;
use nnlab_agents::algorithm::PublishedScore;

include!(concat!(env!("OUT_DIR"), "/presets.rs"));

/// The shipped preset of `algo` on `env`, if there is one (a `/` of the id,
/// as in `MinAtar/Breakout-v1`, is a `-` in the file name).
pub fn preset(algo: &str, env: &str) -> Option<Preset> {
    let file_stem = env.replace('/', "-");
    PRESETS
        .iter()
        .find(|(a, e, _)| *a == algo && *e == file_stem)
        .map(|(a, e, text)| Preset { name: format!("experiments/configs/{a}/{e}.toml"), text: text.to_string() })
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
    pub run: fn(&str, &CommonArgs, Option<Preset>, &str) -> Result<()>,
    /// Rebuilds a trained agent from its run folder.
    pub load: fn(&std::path::Path, Device) -> Result<LoadedAgent>,
    /// Published scores to draw beside sweeps: `(environment, score, label)` (`shared/notes/anchors.md`).
    pub published: &'static [PublishedScore],
}

/// The entry of config type `C`.
const fn entry<C: AlgoConfig>() -> Algorithm {
    Algorithm { name: C::ALGO, about: C::ABOUT, run: crate::runner::run::<C>, load: load_run::<C>, published: C::PUBLISHED }
}

/// Every algorithm the binaries know. Adding one is its file in `agents/`
/// (the agent, and its config implementing [`AlgoConfig`]) and one line here.
pub const ALGORITHMS: &[Algorithm] = &[
    entry::<nnlab_agents::dqn::DqnConfig>(),
    entry::<nnlab_agents::distributional::C51Config>(),
    entry::<nnlab_agents::distributional::QrDqnConfig>(),
    entry::<nnlab_agents::ppo::PpoConfig>(),
    entry::<nnlab_agents::pqn::PqnConfig>(),
    entry::<nnlab_agents::a2c::A2cConfig>(),
    entry::<nnlab_agents::reinforce::ReinforceConfig>(),
    entry::<nnlab_agents::td3::DdpgConfig>(),
    entry::<nnlab_agents::td3::Td3Config>(),
    entry::<nnlab_agents::sac::SacConfig>(),
    entry::<nnlab_agents::tqc::TqcConfig>(),
    entry::<nnlab_agents::crossq::CrossQConfig>(),
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
    crate::plot::published_reference(find(algo).ok()?.published, env)
}
