//! A2C on CartPole-v1 (SB3 zoo settings), end to end: trains with the shipped preset
//! (`experiments/configs/a2c/CartPole-v1.toml`, or `--config`), evaluates the
//! deterministic policy, and writes a run folder like `dqn_cartpole`'s.

use clap::Parser;
use nnlab_agents::a2c::A2cConfig;
use nnlab_experiments::cli::{parse_args, CommonArgs};
use nnlab_experiments::algos::preset;
use nnlab_experiments::runner::run;

/// Train A2C on CartPole-v1 (SB3 zoo settings) and write a reproducible run folder.
#[derive(Debug, Parser)]
#[command(version, about)]
struct Args {
    #[command(flatten)]
    common: CommonArgs,
}

fn main() -> std::process::ExitCode {
    nnlab_experiments::main_wrapper("a2c_cartpole", || {
        let args: Args = parse_args()?;
        let preset = preset("a2c", "CartPole-v1").expect("shipped preset");
        run::<A2cConfig>("a2c_cartpole", &args.common, Some(preset))
    })
}
