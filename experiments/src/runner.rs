//! Runs one experiment end to end for any [`AlgoConfig`]: resolve the config
//! (preset or `--config`, then `--set`, then flags), check it, then train with
//! a progress bar and `metrics.csv`, evaluate, and write the weights, the
//! learning curve, a GIF and `summary.json` (last). `--seeds` fans out into
//! child processes and aggregates them; `--checkpoint-every` writes
//! checkpoints and `--resume` continues a run from its last one.

use crate::checkpoint;
use crate::cli::CommonArgs;
pub use crate::config::Preset;
use crate::config::RunRecord;
use crate::metrics::Metrics;
use crate::periodic_eval::{PeriodicEvaluation, BEST_MODEL};
use crate::plot::{self, Reference, Series};
use crate::progress::Progress;
use crate::run_dir::RunDir;
use crate::{device, multi_seed, summary, video};
use anyhow::{bail, Result};
use nnlab_agents::algorithm::AlgorithmConfig as AlgoConfig;
use nnlab_agents::{evaluate, record_episode, Agent, EpisodeRecord, Observer, Stats};
use nnlab_torch::state::TrainState;
use std::collections::VecDeque;
use std::time::Instant;

/// Writes metrics rows and drives the progress bar.
struct RunObserver {
    metrics: Metrics,
    progress: Progress,
    recent: VecDeque<f64>,
    curve: Vec<(f64, f64)>,
    losses: Vec<(f64, f64)>,
    loss_name: Option<&'static str>,
    error: Option<anyhow::Error>,
    /// The agent's latest statistics (from `on_update`), written with each episode.
    stats: Vec<(&'static str, Option<f64>)>,
    run: RunDir,
    checkpoints: Option<checkpoint::Schedule>,
    /// `--eval-every`: the evaluations during training.
    evaluations: Option<PeriodicEvaluation>,
    /// Wall-clock seconds of the earlier attempts of a resumed run.
    elapsed_before: f64,
    started: Instant,
}

impl RunObserver {
    /// The run's part of a checkpoint: the curves, the metrics position and the time so far.
    fn save_into(&self, s: &mut TrainState, step: usize) -> Result<()> {
        self.metrics.save_position(s, crate::metrics::Stream::MAIN, step as u64)?;
        checkpoint::put_points(s, "run.curve", &self.curve);
        checkpoint::put_points(s, "run.losses", &self.losses);
        s.put("run.loss_name", &self.loss_name)?;
        s.put_f64s("run.elapsed_s", &[self.elapsed_before + self.started.elapsed().as_secs_f64()]);
        if let Some(e) = &self.evaluations {
            e.save_into(s);
        }
        Ok(())
    }

    /// Restores what [`RunObserver::save_into`] saved.
    fn restore(&mut self, s: &TrainState) -> Result<()> {
        self.curve = checkpoint::points(s, "run.curve")?;
        self.losses = checkpoint::points(s, "run.losses")?;
        let name: Option<String> = s.get("run.loss_name")?;
        self.loss_name = match name.as_deref() {
            None => None,
            Some("loss") => Some("loss"),
            Some("value_loss") => Some("value_loss"),
            Some(other) => bail!("the checkpoint names an unknown loss `{other}`"),
        };
        self.recent = self.curve.iter().rev().take(100).rev().map(|p| p.1).collect();
        self.elapsed_before = s.f64s("run.elapsed_s")?.first().copied().unwrap_or(0.0);
        if let Some(e) = &mut self.evaluations {
            e.restore(s)?;
        }
        Ok(())
    }
}

impl Observer for RunObserver {
    fn on_update(&mut self, _global_step: usize, stats: Stats<'_>) {
        self.stats.clear();
        self.stats.extend_from_slice(stats);
    }
    fn on_episode(&mut self, ep: &EpisodeRecord) {
        let stats = &self.stats;
        if self.error.is_none() {
            if let Err(e) = self.metrics.episode(ep, stats) {
                self.error = Some(e);
            }
        }
        self.curve.push((ep.global_step as f64, ep.episode_return));
        let loss = stats.iter().find(|s| s.0 == "loss" || s.0 == "value_loss");
        if let Some((name, value)) = loss {
            self.loss_name = Some(name);
            if let Some(v) = value {
                self.losses.push((ep.global_step as f64, *v));
            }
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
    fn stop_requested(&self) -> bool {
        self.error.is_some()
    }
    fn checkpoint_due(&self, global_step: usize) -> bool {
        self.error.is_none() && self.checkpoints.is_some_and(|c| c.due(global_step as u64))
    }
    fn evaluation_due(&self, global_step: usize) -> bool {
        self.error.is_none() && self.evaluations.as_ref().is_some_and(|e| e.due(global_step))
    }
    fn on_evaluation(&mut self, global_step: usize, agent: &mut dyn Agent) {
        if let Some(e) = &mut self.evaluations {
            if let Err(err) = e.evaluate(global_step, agent, &self.run, &mut self.metrics) {
                self.error = Some(err);
            }
        }
    }
    fn on_checkpoint(&mut self, global_step: usize, agent: TrainState) {
        let mut state = TrainState::new();
        state.put_part("agent", agent);
        let written = self.save_into(&mut state, global_step).and_then(|()| checkpoint::write(&self.run, &state));
        match written {
            Ok(()) => {
                if let Some(c) = &mut self.checkpoints {
                    c.taken(global_step as u64);
                }
            }
            Err(e) => self.error = Some(e),
        }
    }
}

/// Loads the config from `--config` or `preset`, then `--set`, `--seed` and `--total-timesteps`.
pub fn resolve_config<C: AlgoConfig>(args: &CommonArgs, preset: Option<Preset>) -> Result<C> {
    let (name, text) = preset.map(|p| (p.name, p.text)).unwrap_or_else(|| ("defaults".into(), String::new()));
    let mut cfg: C = args.shared.load_config((&name, &text), |c: &mut C, s| c.set_seed(s))?;
    if let Some(t) = args.total_timesteps {
        cfg.set_total_timesteps(t);
    }
    cfg.check()?;
    Ok(cfg)
}

/// The env's "solved" line for plots, where Gymnasium has one.
fn solved_line(env_id: &str) -> Vec<Reference> {
    nnlab_envs::registry::spec(env_id)
        .ok()
        .and_then(|s| s.reward_threshold)
        .map(|v| Reference { value: v, label: format!("solved ({v})") })
        .into_iter()
        .collect()
}

/// Runs experiment `name` with config type `C` on the environment `env_id`
/// (the binary's own, or `train --env`). The environment is chosen by the
/// binary or `--env` alone: a `--set env_id=...` naming another one is
/// refused, and so is a `--config` for another environment (`train` sets
/// `env_id` from `--env` over a `--config` file's).
pub fn run<C: AlgoConfig>(name: &str, args: &CommonArgs, preset: Option<Preset>, env_id: &str) -> Result<()> {
    if let Some(dir) = &args.shared.resume {
        return resume::<C>(name, args, dir);
    }
    let contradicts = |s: &&String| s.split_once('=').is_some_and(|(k, v)| k.trim() == "env_id" && v.trim().trim_matches(|c| c == '"' || c == '\'') != env_id);
    if let Some(s) = args.shared.set.iter().find(contradicts) {
        anyhow::bail!("--set {s} contradicts the environment of {name} ({env_id}); choose the environment with `train --algo {} --env ID`", C::ALGO);
    }
    let source = match (&args.shared.config, &preset) {
        (Some(p), _) => p.display().to_string(),
        (None, Some(p)) => p.name.clone(),
        (None, None) => format!("{} defaults", C::ALGO),
    };
    let cfg: C = resolve_config(args, preset)?;
    if args.shared.print_config {
        return crate::print_config::print(&cfg, &format!("{name}: {} on {env_id}", C::ALGO), &source);
    }
    if cfg.env_id() != env_id {
        anyhow::bail!(
            "{source} is for {}, but {name} trains {env_id}; use `train --algo {} --env {}` for that environment",
            cfg.env_id(),
            C::ALGO,
            cfg.env_id()
        );
    }
    if let Some(list) = &args.seeds {
        let seeds = multi_seed::parse_seeds(list)?;
        let root = args.shared.out.clone().unwrap_or_else(|| RunDir::default_path(name, &format!("seeds-{list}")));
        let title = format!("{} on {}", C::ALGO.to_uppercase(), cfg.env_id());
        let mut refs = solved_line(cfg.env_id());
        refs.extend(plot::published_reference(C::PUBLISHED, cfg.env_id()));
        let s = multi_seed::run_seeds(&title, &seeds, &root, &refs)?;
        for r in &s.seeds {
            let best = r.best_model_eval_return_mean.map(|b| format!(", best model {b:.2}")).unwrap_or_default();
            eprintln!("seed {}: train return (last 100) {:.2}, eval {:.2}{best}, {:.1} s", r.seed, r.train_return_last100, r.eval_return_mean, r.wall_time_s);
        }
        crate::out!("results: {}", root.display());
        return Ok(());
    }
    let (run, device, record) = args.shared.start_run(name, Some(C::ALGO), &cfg, cfg.seed(), |r| {
        r.no_gif = args.no_gif;
        r.eval_every = args.eval_every;
        r.eval_every_episodes = args.eval_every.map(|_| args.eval_every_episodes);
    })?;
    if !args.shared.quiet {
        let numerics = nnlab_torch::numerics::current().unwrap_or_default();
        eprintln!(
            "{name}: config {source}, seed {}, {} steps on {} ({numerics} numerics), writing {}",
            cfg.seed(),
            cfg.total_timesteps(),
            device::name(device),
            run.path().display()
        );
    }
    train_and_report(&cfg, run, device, &record, args.shared.quiet, None)
}

/// `--resume RUN_DIR`: continues the run in `dir` from its last checkpoint
/// (from step 0 when it has none), with the config and options it recorded.
fn resume<C: AlgoConfig>(name: &str, args: &CommonArgs, dir: &std::path::Path) -> Result<()> {
    let same_algo = |record: &RunRecord| match record.algo.as_deref() {
        Some(algo) if algo == C::ALGO => Ok(()),
        Some(algo) => bail!("{} is a {algo} run, not {}; resume it with `train --resume {}`", dir.display(), C::ALGO, dir.display()),
        None => bail!("{} is not an RL run; resume it with the binary that made it ({})", dir.display(), record.experiment.as_deref().unwrap_or("unknown")),
    };
    let Some((run, record)) = checkpoint::open_for_resume(dir, name, args.shared.quiet, same_algo)? else {
        return Ok(());
    };
    let cfg: C = crate::config::load(crate::config::Source::File(&run.file("config.toml")), &[])?;
    cfg.check()?;
    let device = args.shared.init_torch_for(&record)?;
    let state = checkpoint::read(dir)?;
    if !args.shared.quiet {
        let at = match &state {
            Some(s) => format!("from its checkpoint at step {}", s.get::<u64>("metrics.step")?),
            None => "from step 0 (no checkpoint yet)".to_string(),
        };
        eprintln!("{name}: resuming {} {at} on {}", dir.display(), device::name(device));
    }
    let record = RunRecord { no_gif: record.no_gif || args.no_gif, ..record };
    train_and_report(&cfg, run, device, &record, args.shared.quiet, state)
}

/// Trains (from the start, or from `state`), then evaluates and writes the
/// weights, the plots, the GIF and `summary.json`.
fn train_and_report<C: AlgoConfig>(cfg: &C, run: RunDir, device: tch::Device, record: &RunRecord, quiet: bool, state: Option<TrainState>) -> Result<()> {
    let name = record.experiment.clone().unwrap_or_else(|| C::ALGO.to_string());
    let mut agent = cfg.build(device)?;
    let (metrics, start_step) = checkpoint::open_metrics(&run, record.allow_nan, state.as_ref())?;
    let eval_seed = record.eval_seed.unwrap_or_else(|| summary::eval_seed_for(cfg.seed()));
    let mut observer = RunObserver {
        metrics,
        progress: Progress::new(cfg.total_timesteps() as u64, quiet),
        recent: VecDeque::new(),
        curve: Vec::new(),
        losses: Vec::new(),
        loss_name: None,
        error: None,
        stats: Vec::new(),
        run: run.clone(),
        checkpoints: record.checkpoint_every.map(|every| checkpoint::Schedule::new(every, start_step)),
        evaluations: record.eval_every.map(|every| PeriodicEvaluation::new(every, record.eval_every_episodes.unwrap_or(10) as usize, eval_seed, start_step)),
        elapsed_before: 0.0,
        started: Instant::now(),
    };
    if let Some(s) = &state {
        agent.restore_train_state(&s.part("agent"))?;
        observer.restore(s)?;
        observer.progress.set_step(start_step);
    }
    let stats = agent.train(&mut observer)?;
    let wall_time_s = observer.elapsed_before + observer.started.elapsed().as_secs_f64();
    // The final model is a candidate for the best one too.
    let total = cfg.total_timesteps();
    if observer.evaluations.as_ref().is_some_and(|e| e.last_step().is_none_or(|s| s + 1 < total)) && observer.error.is_none() {
        observer.on_evaluation(total, agent.as_mut());
    }
    observer.progress.finish();
    if let Some(e) = observer.error.take() {
        return Err(e);
    }

    let eval_returns = evaluate(agent.as_mut(), cfg.eval_episodes(), eval_seed)?;
    agent.save(&run.file("model.safetensors"))?;
    let lower = observer.loss_name.map(|n| Series { label: n.replace('_', " "), points: observer.losses.clone() });
    plot::learning_curve(
        &run.file("learning_curve.png"),
        &format!("{} on {} (seed {})", C::ALGO.to_uppercase(), cfg.env_id(), cfg.seed()),
        &observer.curve,
        100,
        &solved_line(cfg.env_id()),
        lower.as_ref(),
    )?;
    if !record.no_gif {
        let frames: Vec<_> = record_episode(agent.as_mut(), eval_seed, 2)?.iter().map(video::downscale2).collect();
        video::write_gif(&run.file("episode.gif"), &frames, 4)?;
    }
    // The best model of the evaluations during training, on the final evaluation's episodes.
    let best_model = match observer.evaluations.as_ref().and_then(PeriodicEvaluation::best) {
        Some((step, selection_mean)) => {
            agent.load(&run.file(BEST_MODEL))?;
            let returns = evaluate(agent.as_mut(), cfg.eval_episodes(), eval_seed)?;
            Some(summary::BestModel::new(step, selection_mean, &returns))
        }
        None => None,
    };
    let mut s = summary::RlSummary::new(
        cfg.env_id(),
        C::ALGO,
        cfg.seed(),
        device,
        record.threads,
        &stats.episode_returns,
        &eval_returns,
        eval_seed,
        cfg.total_timesteps(),
        stats.updates,
        wall_time_s,
    );
    s.best_model = best_model;
    run.write_atomic("summary.json", serde_json::to_string_pretty(&s)?.as_bytes())?;
    if !quiet {
        eprintln!(
            "{name}: train return (last 100) {:.2}, eval {:.2} over {} episodes, {:.1} s, {:.0} steps/s",
            s.train_return_last100,
            s.eval_return_mean,
            eval_returns.len(),
            wall_time_s,
            s.steps_per_second
        );
        if let Some(b) = &s.best_model {
            eprintln!(
                "{name}: best model (step {}, {:.2} on the evaluations during training): eval {:.2}",
                b.global_step, b.selection_return_mean, b.eval_return_mean
            );
        }
    }
    crate::out!("results: {}", run.path().display());
    Ok(())
}
