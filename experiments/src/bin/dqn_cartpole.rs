//! DQN on CartPole-v1, end to end: trains with nnlab's recommended preset
//! (or `--config`), evaluates the greedy policy, and writes a run folder with
//! the resolved config, `metrics.csv`, `summary.json`, `learning_curve.png`,
//! the weights (`model.safetensors`) and `episode.gif`.

use anyhow::Result;
use clap::Parser;
use nnlab_agents::dqn::{Dqn, DqnConfig};
use nnlab_agents::{EpisodeRecord, Observer, UpdateRecord};
use nnlab_experiments::cli::CommonArgs;
use nnlab_experiments::config::{self, Source};
use nnlab_experiments::metrics::MetricsWriter;
use nnlab_experiments::plot::{self, Reference, Series};
use nnlab_experiments::progress::Progress;
use nnlab_experiments::run_dir::RunDir;
use nnlab_experiments::{device, main_wrapper, multi_seed, summary, video};
use serde::Serialize;
use std::collections::VecDeque;
use std::time::Instant;

const PRESET_NAME: &str = "experiments/configs/dqn/CartPole-v1.toml";
const PRESET: &str = include_str!("../../configs/dqn/CartPole-v1.toml");

/// Train DQN on CartPole-v1 and write a reproducible run folder.
#[derive(Debug, Parser)]
#[command(version, about)]
struct Args {
    #[command(flatten)]
    common: CommonArgs,
    /// Environment steps (overrides the config's `total_timesteps`).
    #[arg(long)]
    total_timesteps: Option<usize>,
    /// Skip the GIF of the trained agent.
    #[arg(long)]
    no_gif: bool,
    /// Run several seeds (e.g. `1,2,3,4,5` or `1-5`) in parallel processes, each in
    /// `<out>/seed-<k>`, and write `seeds.png` and `seeds_summary.json` in `<out>`.
    #[arg(long, value_name = "LIST")]
    seeds: Option<String>,
}

/// One row of `metrics.csv`: a finished training episode.
#[derive(Debug, Serialize)]
struct MetricsRow {
    global_step: usize,
    episode_return: f64,
    episode_length: usize,
    loss: Option<f64>,
    mean_q: Option<f64>,
    epsilon: f64,
}

/// Writes metrics rows and drives the progress bar.
struct RunObserver {
    metrics: MetricsWriter,
    progress: Progress,
    recent: VecDeque<f64>,
    curve: Vec<(f64, f64)>,
    losses: Vec<(f64, f64)>,
    error: Option<anyhow::Error>,
}

impl Observer for RunObserver {
    fn on_episode(&mut self, ep: &EpisodeRecord, update: Option<&UpdateRecord>, epsilon: f64) {
        let row = MetricsRow {
            global_step: ep.global_step,
            episode_return: ep.episode_return,
            episode_length: ep.episode_length,
            loss: update.map(|u| u.loss),
            mean_q: update.map(|u| u.mean_q),
            epsilon,
        };
        if let Err(e) = self.metrics.write(&row) {
            self.error.get_or_insert(e);
        }
        self.curve.push((ep.global_step as f64, ep.episode_return));
        if let Some(u) = update {
            self.losses.push((ep.global_step as f64, u.loss));
        }
        self.recent.push_back(ep.episode_return);
        if self.recent.len() > 100 {
            self.recent.pop_front();
        }
        let mean = self.recent.iter().sum::<f64>() / self.recent.len() as f64;
        self.progress.set_return(mean, self.recent.len());
    }
    fn on_progress(&mut self, global_step: usize) {
        self.progress.set_step(global_step as u64);
    }
}

fn run() -> Result<()> {
    let args: Args = nnlab_experiments::cli::parse_args()?;
    let c = &args.common;
    // Everything is checked before the run folder exists.
    let source = match &c.config {
        Some(p) => Source::File(p),
        None => Source::Preset(PRESET_NAME, PRESET),
    };
    let mut cfg: DqnConfig = config::load(source, &c.set)?;
    if let Some(s) = c.seed {
        cfg.seed = s;
    }
    if let Some(t) = args.total_timesteps {
        cfg.total_timesteps = t;
    }
    cfg.validate()?;
    if let Some(list) = &args.seeds {
        let seeds = multi_seed::parse_seeds(list)?;
        let root = c.out.clone().unwrap_or_else(|| RunDir::default_path("dqn_cartpole", &format!("seeds-{list}")));
        let s = multi_seed::run_seeds("dqn_cartpole", &seeds, &root, Some(Reference { value: 475.0, label: "solved (475)".into() }))?;
        for r in &s.seeds {
            eprintln!("seed {}: train return (last 100) {:.2}, greedy eval {:.2}, {:.1} s", r.seed, r.train_return_last100, r.eval_return_mean, r.wall_time_s);
        }
        println!("results: {}", root.display());
        return Ok(());
    }
    let obs_dim = nnlab_envs::make(&cfg.env_id)?.observation_space().dim();
    config::check_fits_in_memory("buffer_size", cfg.replay_bytes(obs_dim))?;
    if c.threads < 1 {
        anyhow::bail!("--threads must be at least 1, got {}", c.threads);
    }
    let device = device::resolve(c.device)?;
    tch::set_num_threads(c.threads);

    let run = RunDir::create(c.out.clone(), "dqn_cartpole", cfg.seed)?;
    run.write_atomic("config.toml", config::to_toml(&cfg)?.as_bytes())?;
    if !c.quiet {
        eprintln!("dqn_cartpole: seed {}, {} steps on {}, writing {}", cfg.seed, cfg.total_timesteps, device::name(device), run.path().display());
    }

    let mut observer = RunObserver {
        metrics: MetricsWriter::create(&run.file("metrics.csv"))?,
        progress: Progress::new(cfg.total_timesteps as u64, c.quiet),
        recent: VecDeque::new(),
        curve: Vec::new(),
        losses: Vec::new(),
        error: None,
    };
    let start = Instant::now();
    let mut agent = Dqn::new(cfg.clone(), device)?;
    let stats = agent.train(&mut observer)?;
    let wall_time_s = start.elapsed().as_secs_f64();
    observer.progress.finish();
    if let Some(e) = observer.error.take() {
        return Err(e);
    }

    let eval_seed = cfg.seed + summary::EVAL_SEED_OFFSET;
    let eval_returns = agent.evaluate(cfg.eval_episodes, eval_seed)?;
    agent.save(&run.file("model.safetensors"))?;
    plot::learning_curve(
        &run.file("learning_curve.png"),
        &format!("DQN on {} (seed {})", cfg.env_id, cfg.seed),
        &observer.curve,
        100,
        &[Reference { value: 475.0, label: "solved (475)".into() }],
        Some(&Series { label: "TD loss".into(), points: observer.losses.clone() }),
    )?;
    if !args.no_gif {
        let frames = summary::record_greedy_episode(&cfg.env_id, eval_seed, |obs| agent.act_greedy(obs))?;
        video::write_gif(&run.file("episode.gif"), &frames, 4)?;
    }
    let s = summary::RlSummary::new(&cfg.env_id, "dqn", cfg.seed, device, c.threads, &stats.episode_returns, &eval_returns, cfg.total_timesteps, stats.updates, wall_time_s);
    run.write_atomic("summary.json", serde_json::to_string_pretty(&s)?.as_bytes())?;
    if !c.quiet {
        eprintln!(
            "dqn_cartpole: train return (last 100) {:.2}, greedy eval {:.2} over {} episodes, {:.1} s, {:.0} steps/s",
            s.train_return_last100, s.eval_return_mean, eval_returns.len(), wall_time_s, s.steps_per_second
        );
    }
    println!("results: {}", run.path().display());
    Ok(())
}

fn main() -> std::process::ExitCode {
    main_wrapper("dqn_cartpole", run)
}
