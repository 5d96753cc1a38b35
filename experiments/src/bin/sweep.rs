//! Runs a hyperparameter sweep (see `nnlab_experiments::sweep` for the file):
//!
//!     cargo run --release --bin sweep -- sweeps/ppo_acrobot.toml --out results/sweeps/ppo_acrobot --workers 2
//!     cargo run --release --bin sweep -- sweeps/ppo_acrobot.toml --out /shared/sweeps/ppo --slurm --partition gpu --time 02:00:00 --wait
//!
//! Locally, a pool of `--workers` processes runs every unfinished run; a run
//! that fails is recorded with its error line and the others go on. With
//! `--slurm`, `DIR/sweep.sbatch` (a job array, one task per run) is written
//! and submitted. Running the same command again skips finished runs and
//! resumes interrupted ones from their checkpoints. `DIR/sweep_summary.json`
//! lists every run, its status and its headline metric.

use anyhow::{bail, Context};
use clap::Parser;
use nnlab_experiments::slurm::{self, SlurmArgs};
use nnlab_experiments::sweep;
use std::path::PathBuf;

/// Run a hyperparameter sweep on this machine or on a Slurm cluster.
#[derive(Debug, Parser)]
#[command(version)]
struct Args {
    /// The sweep file (TOML: binary, args, seeds, `[grid]`, `[random]`).
    sweep: PathBuf,
    /// The sweep folder: runs go to `DIR/<config>/seed-<k>/`.
    #[arg(long, value_name = "DIR")]
    out: PathBuf,
    /// Local worker processes (default: the number of cores).
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..=1024))]
    workers: Option<u32>,
    #[command(flatten)]
    slurm: SlurmArgs,
    /// Wait for the job array to end, then write sweep_summary.json.
    #[arg(long, requires = "slurm")]
    wait: bool,
    /// Only the final line.
    #[arg(long)]
    quiet: bool,
}

fn main() -> std::process::ExitCode {
    nnlab_experiments::main_wrapper("sweep", || {
        let args: Args = nnlab_experiments::cli::parse_args()?;
        let spec = sweep::load(&args.sweep)?;
        sweep::binary_path(&spec.binary)?;
        spec.preflight()?;
        // The sweep file is kept with its runs; another sweep's folder is refused.
        std::fs::create_dir_all(&args.out).with_context(|| format!("cannot create {}", args.out.display()))?;
        let text = std::fs::read_to_string(&args.sweep)?;
        let kept = args.out.join("sweep.toml");
        match std::fs::read_to_string(&kept) {
            Ok(old) if old != text => {
                bail!("{} holds another sweep (its sweep.toml differs from {}); choose another --out", args.out.display(), args.sweep.display())
            }
            Ok(_) => {}
            Err(_) => nnlab_experiments::run_dir::write_atomic(&kept, text.as_bytes())?,
        }
        let summary = if let Some(opts) = args.slurm.options() {
            let n = slurm::write_job(&spec, &args.out, &opts)?;
            let id = slurm::submit(&args.out)?;
            if !args.quiet {
                eprintln!("sweep: submitted job array {id} ({n} tasks) from {}", args.out.join("sweep.sbatch").display());
            }
            if !args.wait {
                nnlab_experiments::out!("results: {}", args.out.display());
                return Ok(());
            }
            slurm::wait(&id, std::time::Duration::from_secs(7 * 24 * 3600))?;
            sweep::summarize(&spec, &args.out, &slurm::failures(&spec, &args.out))?
        } else {
            let workers = args.workers.map(|w| w as usize).unwrap_or_else(nnlab_experiments::cli::cores);
            sweep::run_local(&spec, &args.out, workers, args.quiet)?
        };
        if !args.quiet {
            eprintln!(
                "sweep: {} finished, {} failed, {} pending; {}",
                summary.finished,
                summary.failed,
                summary.pending,
                args.out.join("sweep_summary.json").display()
            );
        }
        nnlab_experiments::out!("results: {}", args.out.display());
        if summary.failed > 0 || summary.pending > 0 {
            bail!(
                "{} of {} runs failed and {} did not finish (sweep_summary.json and `report {}` list them); fix and run the same command again",
                summary.failed,
                summary.finished + summary.failed + summary.pending,
                summary.pending,
                args.out.display()
            );
        }
        Ok(())
    })
}
