//! REINFORCE with a value baseline on CartPole-v1, end to end: trains with the shipped preset
//! (`experiments/configs/reinforce/CartPole-v1.toml`, or `--config`), evaluates the
//! deterministic policy, and writes a run folder like `dqn_cartpole`'s.

use clap::Parser;
use nnlab_agents::reinforce::ReinforceConfig;
use nnlab_experiments::cli::{parse_args, CommonArgs};
use nnlab_experiments::algos::preset;
use nnlab_experiments::runner::run;

/// Train REINFORCE with a value baseline on CartPole-v1 and write a reproducible run folder.
#[derive(Debug, Parser)]
#[command(version, about)]
struct Args {
    #[command(flatten)]
    common: CommonArgs,
}

fn main() -> std::process::ExitCode {
    nnlab_experiments::main_wrapper("reinforce_cartpole", || {
        let args: Args = parse_args()?;
        let preset = preset("reinforce", "CartPole-v1").expect("shipped preset");
        run::<ReinforceConfig>("reinforce_cartpole", &args.common, Some(preset))
    })
}
