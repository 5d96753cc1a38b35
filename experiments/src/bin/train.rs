//! Trains any agent on any compatible environment:
//!
//!     cargo run --release --bin train -- --algo ppo --env Acrobot-v1 --seeds 1-5
//!
//! Uses the shipped preset `experiments/configs/<algo>/<env>.toml` when there
//! is one (as the SB3 zoo ships hyperparameters per algorithm and env), the
//! algorithm's defaults otherwise, or `--config FILE` (whose `env_id` `--env`
//! overrides). Run folders land in `results/<algo>_<env>/`.

use clap::Parser;
use nnlab_experiments::algos::{algo_value_parser, find, preset};
use nnlab_experiments::cli::{parse_args, CommonArgs};
use nnlab_experiments::runner::Preset;

/// Train an agent on a Gymnasium classic-control environment.
#[derive(Debug, Parser)]
#[command(version)]
struct Args {
    /// The algorithm.
    #[arg(long, value_parser = algo_value_parser())]
    algo: String,
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
        let algorithm = find(&args.algo)?;
        let algo = algorithm.name;
        let shipped = preset(algo, &args.env);
        if shipped.is_none() || args.common.shared.config.is_some() {
            // Defaults or a user file: the environment comes from --env (which beats the file's env_id).
            args.common.shared.set.push(format!("env_id=\"{}\"", args.env));
        }
        let preset = shipped.or(Some(Preset { name: format!("{algo} defaults (no shipped preset for {})", args.env), text: String::new() }));
        let name = format!("{algo}_{}", args.env);
        (algorithm.run)(&name, &args.common, preset, &args.env)
    })
}
