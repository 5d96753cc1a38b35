//! Compares the runs under a folder (a sweep, a `--seeds` folder, or any
//! folder of runs): writes `report.md` (each config's headline metric as mean
//! and 95% interval over seeds, ranked, with the published reference where
//! nnlab knows one) and `report.png` (learning curves, mean and 95% band).
//!
//!     cargo run --release --bin report -- results/sweeps/ppo_acrobot
//!     cargo run --release --bin report -- results/sweeps/ppo_acrobot --rank-by eval

use clap::Parser;
use nnlab_experiments::report::RankBy;
use std::path::PathBuf;

/// Compare a folder of runs: report.md and report.png.
#[derive(Debug, Parser)]
#[command(version)]
struct Args {
    /// A sweep folder, a --seeds folder, or any folder of runs.
    dir: PathBuf,
    /// What to rank the configs by: the headline metric, or for RL runs the
    /// final model's deterministic evaluation, or the best model's (`--eval-every`).
    #[arg(long, value_enum, default_value_t = RankBy::Headline)]
    rank_by: RankBy,
    /// Do not print the table.
    #[arg(long)]
    quiet: bool,
}

fn main() -> std::process::ExitCode {
    nnlab_experiments::main_wrapper("report", || {
        let args: Args = nnlab_experiments::cli::parse_args()?;
        let md = nnlab_experiments::report::write(&args.dir, args.rank_by)?;
        if !args.quiet {
            eprint!("{md}");
        }
        nnlab_experiments::out!("results: {}", args.dir.join("report.md").display());
        Ok(())
    })
}
