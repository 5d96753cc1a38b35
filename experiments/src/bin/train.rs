//! Trains any agent on any compatible environment:
//!
//!     cargo run --release --bin train -- --algo ppo --env Acrobot-v1 --seeds 1-5
//!
//! Uses the shipped preset `experiments/configs/<algo>/<env>.toml` when there
//! is one (as the SB3 zoo ships hyperparameters per algorithm and env), the
//! algorithm's defaults otherwise, or `--config FILE` (whose `env_id` `--env`
//! overrides). Run folders land in `results/<algo>_<env>/`.

use clap::{Parser, ValueEnum};
use nnlab_agents::a2c::A2cConfig;
use nnlab_agents::dqn::DqnConfig;
use nnlab_agents::ppo::PpoConfig;
use nnlab_agents::reinforce::ReinforceConfig;
use nnlab_experiments::algos::preset;
use nnlab_experiments::cli::{parse_args, CommonArgs};
use nnlab_experiments::runner::{run, Preset};

/// The algorithms `train` knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Algo {
    /// Deep Q-Network (discrete actions).
    Dqn,
    /// Proximal Policy Optimization (discrete or Box actions).
    Ppo,
    /// Advantage Actor-Critic (discrete or Box actions).
    A2c,
    /// REINFORCE with an optional value baseline (discrete or Box actions).
    Reinforce,
}

/// Train an agent on a Gymnasium classic-control environment.
#[derive(Debug, Parser)]
#[command(version, about)]
struct Args {
    /// The algorithm.
    #[arg(long, value_enum)]
    algo: Algo,
    /// Gymnasium id: CartPole-v1, MountainCar-v0, MountainCarContinuous-v0, Acrobot-v1, Pendulum-v1.
    #[arg(long)]
    env: String,
    #[command(flatten)]
    common: CommonArgs,
}

fn main() -> std::process::ExitCode {
    nnlab_experiments::main_wrapper("train", || {
        let mut args: Args = parse_args()?;
        nnlab_envs::registry::spec(&args.env)?;
        let algo = args.algo.to_possible_value().expect("named").get_name().to_string();
        let shipped = preset(&algo, &args.env);
        if shipped.is_none() || args.common.shared.config.is_some() {
            // Defaults or a user file: the environment comes from --env (which beats the file's env_id).
            args.common.shared.set.push(format!("env_id=\"{}\"", args.env));
        }
        let preset = shipped.or(Some(Preset { name: format!("{algo} defaults (no shipped preset for {})", args.env), text: String::new() }));
        let name = format!("{algo}_{}", args.env);
        let env = args.env.as_str();
        match args.algo {
            Algo::Dqn => run::<DqnConfig>(&name, &args.common, preset, env),
            Algo::Ppo => run::<PpoConfig>(&name, &args.common, preset, env),
            Algo::A2c => run::<A2cConfig>(&name, &args.common, preset, env),
            Algo::Reinforce => run::<ReinforceConfig>(&name, &args.common, preset, env),
        }
    })
}
