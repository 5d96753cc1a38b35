//! Plays a trained agent from its run folder (the SB3 zoo's `enjoy`): rebuilds
//! the agent from the folder's `config.toml`, loads `model.safetensors`, runs
//! deterministic episodes and prints their returns; `--gif` records one;
//! `--best` plays `best_model.safetensors` of a run made with `--eval-every`
//! (the zoo's `--load-best`).
//!
//!     cargo run --release --bin enjoy -- --run results/reference/dqn_MountainCar-v0/seed-1
//!     cargo run --release --bin enjoy -- --run <DIR> --episodes 100 --seed 7 --gif play.gif
//!
//! By default it replays the run's own evaluation (the same episodes, reset
//! with seeds `seed + 1000000 + i`) and says whether the returns match
//! `summary.json`'s `eval_returns`, which they do on the CPU.

use anyhow::{bail, Context, Result};
use clap::Parser;
use nnlab_agents::{evaluate, record_episode};
use nnlab_experiments::algos::LoadedAgent;
use nnlab_experiments::config;
use nnlab_experiments::device::{self, DeviceChoice};
use nnlab_experiments::summary::{mean_std, EVAL_SEED_OFFSET};
use nnlab_experiments::{main_wrapper, video};
use nnlab_torch::numerics::{self, Numerics};
use std::path::{Path, PathBuf};

/// Play a trained agent from its run folder.
#[derive(Debug, Parser)]
#[command(version)]
struct Args {
    /// A finished run folder (with `config.toml`, `summary.json` and `model.safetensors`).
    #[arg(long)]
    run: PathBuf,
    /// Episodes to play (default: the run's `eval_episodes`).
    #[arg(long)]
    episodes: Option<usize>,
    /// Episode `i` resets with seed `seed + i` (default: the run's evaluation seeds).
    #[arg(long)]
    seed: Option<u64>,
    /// Also write a GIF of the first episode here (a new file, or an existing GIF with --force; never a file of the run folder).
    #[arg(long)]
    gif: Option<PathBuf>,
    /// Play the best model of the evaluations during training (`best_model.safetensors`, from `--eval-every`).
    #[arg(long)]
    best: bool,
    /// Let --gif replace an existing file.
    #[arg(long)]
    force: bool,
    /// Also write the episodes' returns here as JSON (`first_seed`, `returns`, `mean`, `std`).
    #[arg(long, value_name = "FILE")]
    json: Option<PathBuf>,
    /// Where to compute.
    #[arg(long, value_enum, default_value_t = DeviceChoice::Cpu)]
    device: DeviceChoice,
    /// `fast` or `portable` (default: the run's own, from the `[run]` table of its `config.toml`).
    #[arg(long, env = "NNLAB_NUMERICS", value_name = "fast|portable", value_parser = |s: &str| s.parse::<Numerics>())]
    numerics: Option<Numerics>,
}

/// The parts of `summary.json` that `enjoy` reads.
#[derive(serde::Deserialize)]
struct RunSummary {
    algo: String,
    eval_returns: Vec<f64>,
    best_model: Option<BestModelReturns>,
}

/// The part of `summary.json`'s `best_model` that `enjoy` reads.
#[derive(serde::Deserialize)]
struct BestModelReturns {
    eval_returns: Vec<f64>,
}

/// The most episodes one `enjoy` plays.
const MAX_EPISODES: usize = 1_000_000;

/// Refuses a `--gif` path that would overwrite a file of the run folder, an
/// existing file without `--force`, or anything that is not a regular file.
fn check_gif_target(gif: &Path, run: &Path, force: bool) -> Result<()> {
    let Ok(meta) = std::fs::symlink_metadata(gif) else { return Ok(()) };
    if !meta.is_file() {
        bail!("--gif {}: exists and is not a regular file; refusing to write over it", gif.display());
    }
    let parent = |p: &Path| p.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new(".")).canonicalize().ok();
    if parent(gif).is_some() && parent(gif) == run.canonicalize().ok() {
        bail!("--gif {}: is a file of the run folder; refusing to write over it (choose another path)", gif.display());
    }
    if !force {
        bail!("--gif {}: exists; pass --force to replace it", gif.display());
    }
    Ok(())
}

fn run() -> Result<()> {
    let args: Args = nnlab_experiments::cli::parse_args()?;
    let config_path = args.run.join("config.toml");
    let record = if config_path.exists() { config::run_record(&config_path)? } else { None };
    let run_numerics = record.as_ref().map(|r| r.numerics);
    let mode = args.numerics.or(run_numerics).unwrap_or_default();
    numerics::init(mode).map_err(anyhow::Error::msg)?;
    if mode == Numerics::Portable && args.device == DeviceChoice::Cuda {
        bail!("--numerics portable runs on the CPU; drop --device cuda or use --numerics fast");
    }
    tch::set_num_threads(1);
    let summary_path = args.run.join("summary.json");
    if !summary_path.exists() {
        bail!("{}: no summary.json (not a run folder, or an unfinished run)", args.run.display());
    }
    let text = std::fs::read_to_string(&summary_path).with_context(|| format!("reading {}", summary_path.display()))?;
    let summary: RunSummary = serde_json::from_str(&text).map_err(|e| anyhow::anyhow!("{}: not an RL run summary ({e})", summary_path.display()))?;
    let device = if mode == Numerics::Portable { tch::Device::Cpu } else { device::resolve(args.device)? };
    let algorithm = nnlab_experiments::algos::find(&summary.algo).map_err(|e| anyhow::anyhow!("{}: {e}", summary_path.display()))?;
    let LoadedAgent { mut agent, seed, eval_episodes } = (algorithm.load)(&args.run, device)?;
    let recorded_returns = if args.best {
        let best = args.run.join(nnlab_experiments::periodic_eval::BEST_MODEL);
        if !best.is_file() {
            bail!("{}: no {} (a run made without --eval-every)", args.run.display(), nnlab_experiments::periodic_eval::BEST_MODEL);
        }
        agent.load(&best)?;
        summary.best_model.map(|b| b.eval_returns).unwrap_or_default()
    } else {
        summary.eval_returns
    };
    // The run's own evaluation seeds (recorded; older runs used seed + 1000000).
    let run_eval_seed = record.and_then(|r| r.eval_seed).unwrap_or(seed.saturating_add(EVAL_SEED_OFFSET));
    let first_seed = args.seed.unwrap_or(run_eval_seed);
    let episodes = args.episodes.unwrap_or(eval_episodes);
    if episodes == 0 || episodes > MAX_EPISODES {
        bail!("--episodes must be between 1 and {MAX_EPISODES}, got {episodes}");
    }
    if first_seed.checked_add(episodes as u64).is_none() {
        bail!("--seed {first_seed}: the episodes' seeds (seed + i) would pass the largest seed");
    }
    if let Some(gif) = &args.gif {
        check_gif_target(gif, &args.run, args.force)?;
    }
    let returns = evaluate(agent.as_mut(), episodes, first_seed)?;
    let (mean, std) = mean_std(&returns);
    let (lo, hi) = returns.iter().fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), &r| (lo.min(r), hi.max(r)));
    nnlab_experiments::out!(
        "{} on {}: {episodes} episodes from seed {first_seed}: return {mean:.2} +- {std:.2} (min {lo:.1}, max {hi:.1})",
        summary.algo,
        agent.env_id()
    );
    if args.seed.is_none() && args.episodes.is_none() {
        if returns == recorded_returns {
            nnlab_experiments::out!("the same returns as the run's evaluation (summary.json)");
        } else {
            nnlab_experiments::out!(
                "differs from the run's evaluation in summary.json (mean {:.2}): another device or build, or statistics saved as f32 by an older nnlab",
                mean_std(&recorded_returns).0
            );
        }
    }
    if let Some(path) = &args.json {
        let json = serde_json::json!({
            "algo": summary.algo, "env_id": agent.env_id(), "first_seed": first_seed,
            "episodes": episodes, "returns": returns, "mean": mean, "std": std,
        });
        nnlab_experiments::run_dir::write_atomic(path, serde_json::to_string_pretty(&json)?.as_bytes())?;
    }
    if let Some(path) = &args.gif {
        let frames: Vec<_> = record_episode(agent.as_mut(), first_seed, 2)?.iter().map(video::downscale2).collect();
        video::write_gif(path, &frames, 4)?;
        nnlab_experiments::out!("gif: {}", path.display());
    }
    Ok(())
}

fn main() -> std::process::ExitCode {
    main_wrapper("enjoy", run)
}
