//! DQN on CartPole-v1, end to end: trains with nnlab's recommended preset
//! (`experiments/configs/dqn/CartPole-v1.toml`, or `--config`), evaluates the
//! greedy policy, and writes a run folder with the resolved config,
//! `metrics.csv`, `summary.json`, `learning_curve.png`, the weights
//! (`model.safetensors`) and `episode.gif`.

use clap::Parser;
use nnlab_agents::dqn::DqnConfig;
use nnlab_experiments::cli::{parse_args, CommonArgs};
use nnlab_experiments::algos::preset;
use nnlab_experiments::runner::run;

/// Train DQN on CartPole-v1 and write a reproducible run folder.
#[derive(Debug, Parser)]
#[command(version, about)]
struct Args {
    #[command(flatten)]
    common: CommonArgs,
}

fn main() -> std::process::ExitCode {
    nnlab_experiments::main_wrapper("dqn_cartpole", || {
        let args: Args = parse_args()?;
        let preset = preset("dqn", "CartPole-v1").expect("shipped preset");
        run::<DqnConfig>("dqn_cartpole", &args.common, Some(preset))
    })
}
