//! Hyperparameter optimisation over seeds: TPE (or random) sampling, median
//! or ASHA pruning on intermediate evaluations, trials on local processes
//! or a Slurm cluster, and a resumable study (see `nnlab_experiments::tune`).
//!
//!     cargo run --release --bin tune -- experiments/studies/ppo_cartpole.toml --out results/tune/ppo_cartpole

use anyhow::{bail, Context};
use clap::Parser;
use nnlab_experiments::slurm::SlurmArgs;
use nnlab_experiments::tune::{self, study::TrialState, Launcher};
use std::path::PathBuf;

/// Tune an experiment's hyperparameters over seeds (TPE, pruning, resumable).
#[derive(Debug, Parser)]
#[command(version)]
struct Args {
    /// The study file (TOML): binary, args, seeds, trials, `[objective]`, `[sampler]`, `[pruner]`, `[space]`.
    study: PathBuf,
    /// The study's folder (study.json, trials, trials.csv, tune_report.md, best_config.toml, history.png).
    #[arg(long)]
    out: PathBuf,
    /// Runs at once on this machine (default: the core count); a trial's seeds run in parallel.
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..=1024))]
    workers: Option<u32>,
    #[command(flatten)]
    slurm: SlurmArgs,
    /// Only the final line.
    #[arg(long)]
    quiet: bool,
}

fn main() -> std::process::ExitCode {
    nnlab_experiments::main_wrapper("tune", || {
        let args: Args = nnlab_experiments::cli::parse_args()?;
        let spec = tune::spec::load(&args.study)?;
        tune::preflight(&spec)?;
        // The study file is kept with its trials; another study's folder is refused.
        std::fs::create_dir_all(&args.out).with_context(|| format!("cannot create {}", args.out.display()))?;
        let text = std::fs::read_to_string(&args.study)?;
        let kept = args.out.join("tune.toml");
        match std::fs::read_to_string(&kept) {
            Ok(old) if old != text => {
                bail!("{} holds another study (its tune.toml differs from {}); choose another --out", args.out.display(), args.study.display())
            }
            Ok(_) => {}
            Err(_) => nnlab_experiments::run_dir::write_atomic(&kept, text.as_bytes())?,
        }
        let launcher = match args.slurm.options() {
            Some(opts) => Launcher::Slurm(opts),
            None => Launcher::Local(args.workers.map(|w| w as usize).unwrap_or_else(nnlab_experiments::cli::cores)),
        };
        let study = tune::run(&spec, &args.out, &launcher, args.quiet)?;
        let failed = study.trials.iter().filter(|t| t.state == TrialState::Failed).count();
        match study.best(&spec) {
            Some(b) => eprintln!(
                "tune: best trial {} with {:.4} over seeds {:?}; {} environment steps in all; {}",
                b.number,
                b.value.unwrap_or(f64::NAN),
                spec.seeds,
                study.steps(),
                args.out.join("best_config.toml").display()
            ),
            None => eprintln!("tune: no trial completed"),
        }
        nnlab_experiments::out!("results: {}", args.out.display());
        if failed > 0 {
            bail!("{failed} of {} trials failed (trials.csv and study.json say how); the study is written", study.trials.len());
        }
        Ok(())
    })
}
