//! Compares the runs under one or more folders (a sweep, a `--seeds` folder,
//! reference runs) with rliable's statistics: `report.md` (per task each
//! config's IQM and mean with stratified bootstrap intervals; over tasks the
//! IQM, median, mean and optimality gap of normalised scores, and the
//! probability of improvement), `report.json`, `report.png` (learning
//! curves) and the interval, profile and improvement plots.
//!
//! ```text
//! cargo run --release --bin report -- results/sweeps/ppo_acrobot
//! cargo run --release --bin report -- results/sweeps/ppo_acrobot --rank-by eval
//! cargo run --release --bin report -- 'dqn=results/reference/dqn_[AM]*' 'c51=results/reference/c51_*-v?' --out results/reports/dqn-family
//! ```

use clap::Parser;
use nnlab_experiments::report::{Input, Options, RankBy};
use nnlab_stats::Bootstrap;
use std::path::PathBuf;

/// Compare folders of runs with rliable's statistics: report.md, report.json and plots.
#[derive(Debug, Parser)]
#[command(version)]
struct Args {
    /// `DIR` or `LABEL=DIR`: a sweep folder, a --seeds folder, or any folder
    /// of runs; `LABEL=` groups every run under DIR as LABEL (the same label
    /// on several folders joins them: one algorithm over several tasks).
    /// DIR may be a quoted glob pattern.
    #[arg(required_unless_present = "scores", value_name = "[LABEL=]DIR")]
    inputs: Vec<String>,
    /// Instead of run folders, a score matrix in JSON: `{"tasks": [..],
    /// "algorithms": {"NAME": [[runs of task 1], ..]}}` (normalised scores;
    /// `"scale": "raw"` for raw ones); needs --out.
    #[arg(long, conflicts_with = "inputs", requires = "out")]
    scores: Option<PathBuf>,
    /// Where report.md, report.json and the plots go (default: the one DIR;
    /// needed with several).
    #[arg(long)]
    out: Option<PathBuf>,
    /// Each run's score: the headline metric, or for RL runs the final
    /// model's deterministic evaluation, or the best model's (`--eval-every`).
    #[arg(long, value_enum, default_value_t = RankBy::Headline, alias = "score")]
    rank_by: RankBy,
    /// Bootstrap resamples of every interval (rliable's default for final tables).
    #[arg(long, default_value_t = 50_000)]
    reps: usize,
    /// Bootstrap resamples of the performance profiles' bands (rliable's default).
    #[arg(long, default_value_t = 2000)]
    profile_reps: usize,
    /// Coverage of the intervals.
    #[arg(long, default_value_t = 0.95)]
    confidence: f64,
    /// Seed of the bootstrap's resampling.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Do not print the tables.
    #[arg(long)]
    quiet: bool,
}

fn main() -> std::process::ExitCode {
    nnlab_experiments::main_wrapper("report", || {
        let args: Args = nnlab_experiments::cli::parse_args()?;
        let options = Options {
            rank_by: args.rank_by,
            bootstrap: Bootstrap { reps: args.reps, confidence: args.confidence, seed: args.seed },
            profile_reps: args.profile_reps,
        };
        if let (Some(file), Some(out)) = (&args.scores, &args.out) {
            let md = nnlab_experiments::report::write_scores(file, out, &options)?;
            if !args.quiet {
                eprint!("{md}");
            }
            nnlab_experiments::out!("results: {}", out.join("report.md").display());
            return Ok(());
        }
        let mut inputs = Vec::new();
        for arg in &args.inputs {
            inputs.extend(Input::parse(arg)?);
        }
        let out = match (&args.out, inputs.as_slice()) {
            (Some(out), _) => out.clone(),
            (None, [one]) => one.dir.clone(),
            (None, _) => anyhow::bail!("{} folders to report on: say where the report goes with --out DIR", inputs.len()),
        };
        let md = nnlab_experiments::report::write(&inputs, &out, &options)?;
        if !args.quiet {
            eprint!("{md}");
        }
        nnlab_experiments::out!("results: {}", out.join("report.md").display());
        Ok(())
    })
}
