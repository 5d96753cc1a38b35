//! PPO with a Gaussian policy on Pendulum-v1, end to end: trains with the shipped preset
//! (`experiments/configs/ppo/Pendulum-v1.toml`, or `--config`), evaluates the
//! deterministic policy, and writes a run folder like `dqn_cartpole`'s.

use clap::Parser;
use nnlab_agents::ppo::PpoConfig;
use nnlab_experiments::cli::{parse_args, CommonArgs};
use nnlab_experiments::algos::preset;
use nnlab_experiments::runner::run;

/// Train PPO with a Gaussian policy on Pendulum-v1 and write a reproducible run folder.
#[derive(Debug, Parser)]
#[command(version, about)]
struct Args {
    #[command(flatten)]
    common: CommonArgs,
}

fn main() -> std::process::ExitCode {
    nnlab_experiments::main_wrapper("ppo_pendulum", || {
        let args: Args = parse_args()?;
        let preset = preset("ppo", "Pendulum-v1").expect("shipped preset");
        run::<PpoConfig>("ppo_pendulum", &args.common, Some(preset))
    })
}
