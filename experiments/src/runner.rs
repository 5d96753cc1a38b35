//! Runs one RL experiment end to end for any [`AlgoConfig`], on the
//! scaffold that every binary shares ([`Experiment::start_with`], [`Run`]):
//! the config (preset or `--config`, then `--set`, then flags), checks,
//! `--print-config`, `--seeds` (child processes and their aggregate),
//! `--resume`, the run folder; then the agent trains with its own loop,
//! calling back into the run's observer (rows, progress bar, evaluations
//! during training, checkpoints through [`Run::write_checkpoint`]), and the
//! run ends with the evaluation, the weights, the learning curve, a GIF and
//! `summary.json` (last).

use crate::checkpoint;
use crate::cli::CommonArgs;
pub use crate::config::Preset;
use crate::config::RunRecord;
use crate::periodic_eval::{PeriodicEvaluation, BEST_MODEL};
use crate::plot::{self, Reference, Series};
use crate::progress::Progress;
use crate::run_dir::RunDir;
use crate::scaffold::{Experiment, Run};
use crate::{device, multi_seed, summary, video};
use anyhow::{bail, Result};
use nnlab_agents::algorithm::AlgorithmConfig as AlgoConfig;
use nnlab_agents::{evaluate, record_episode, Agent, EpisodeRecord, Observer, Stats};
use nnlab_torch::state::TrainState;
use std::collections::VecDeque;

/// Writes metrics rows, drives the progress bar, and checkpoints and
/// evaluates when the agent's loop asks: the RL side of the scaffold's [`Run`].
struct RunObserver<C> {
    run: Run<C>,
    progress: Progress,
    recent: VecDeque<f64>,
    curve: Vec<(f64, f64)>,
    losses: Vec<(f64, f64)>,
    loss_name: Option<&'static str>,
    error: Option<anyhow::Error>,
    /// The agent's latest statistics (from `on_update`), written with each episode.
    stats: Vec<(&'static str, Option<f64>)>,
    /// `--eval-every`: the evaluations during training.
    evaluations: Option<PeriodicEvaluation>,
}

impl<C: AlgoConfig> RunObserver<C> {
    /// The run's part of a checkpoint: the curves and the evaluations so far.
    fn save_into(&self, s: &mut TrainState) -> Result<()> {
        checkpoint::put_points(s, "run.curve", &self.curve);
        checkpoint::put_points(s, "run.losses", &self.losses);
        s.put("run.loss_name", &self.loss_name)?;
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
        if let Some(e) = &mut self.evaluations {
            e.restore(s)?;
        }
        Ok(())
    }
}

impl<C: AlgoConfig> Observer for RunObserver<C> {
    fn on_update(&mut self, _global_step: usize, stats: Stats<'_>) {
        self.stats.clear();
        self.stats.extend_from_slice(stats);
    }
    fn on_episode(&mut self, ep: &EpisodeRecord) {
        let stats = &self.stats;
        if self.error.is_none() {
            if let Err(e) = self.run.metrics.episode(ep, stats) {
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
        self.error.is_none() && self.run.checkpoint_due(global_step as u64)
    }
    fn evaluation_due(&self, global_step: usize) -> bool {
        self.error.is_none() && self.evaluations.as_ref().is_some_and(|e| e.due(global_step))
    }
    fn on_evaluation(&mut self, global_step: usize, agent: &mut dyn Agent) {
        if let Some(e) = &mut self.evaluations {
            if let Err(err) = e.evaluate(global_step, agent, &self.run.dir, &mut self.run.metrics) {
                self.error = Some(err);
            }
        }
    }
    fn on_checkpoint(&mut self, global_step: usize, agent: TrainState) {
        let mut state = TrainState::new();
        state.put_part("agent", agent);
        if let Err(e) = self.save_into(&mut state).and_then(|()| self.run.write_checkpoint(global_step as u64, state)) {
            self.error = Some(e);
        }
    }
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
/// (the binary's own, or `train --env`), through the scaffold
/// ([`Experiment::start_with`]): config, checks, `--print-config`, `--seeds`,
/// `--resume`, the run folder. The environment is chosen by the binary or
/// `--env` alone: a `--set env_id=...` naming another one is refused, and so
/// is a `--config` for another environment (`train` sets `env_id` from
/// `--env` over a `--config` file's).
pub fn run<C: AlgoConfig>(name: &str, args: &CommonArgs, preset: Option<Preset>, env_id: &str) -> Result<()> {
    let contradicts = |s: &&String| s.split_once('=').is_some_and(|(k, v)| k.trim() == "env_id" && v.trim().trim_matches(|c| c == '"' || c == '\'') != env_id);
    if let Some(s) = args.shared.set.iter().find(contradicts) {
        anyhow::bail!("--set {s} contradicts the environment of {name} ({env_id}); choose the environment with `train --algo {} --env ID`", C::ALGO);
    }
    let preset = preset.unwrap_or_else(|| Preset::defaults(format!("{} defaults", C::ALGO)));
    let source = args.shared.config.as_ref().map(|p| p.display().to_string()).unwrap_or_else(|| preset.name.clone());
    let experiment = Experiment { name, shared: &args.shared, seeds: args.seeds.as_deref(), summary_keys: &[], algo: Some(C::ALGO) };
    let adjust = |cfg: &mut C| {
        if let Some(t) = args.total_timesteps {
            cfg.set_total_timesteps(t);
        }
        if cfg.env_id() != env_id {
            bail!("{source} is for {}, but {name} trains {env_id}; use `train --algo {} --env {}` for that environment", cfg.env_id(), C::ALGO, cfg.env_id());
        }
        Ok(())
    };
    let seeds = |cfg: &C, list: &str| {
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
        Ok(())
    };
    let options = |r: &mut RunRecord| {
        r.no_gif |= args.no_gif;
        if let Some(every) = args.eval_every {
            r.eval_every = Some(every);
            r.eval_every_episodes = Some(args.eval_every_episodes);
        }
    };
    let Some((run, ())) = experiment.start_with(preset, adjust, |_| Ok(()), seeds, options)? else {
        return Ok(());
    };
    if !args.shared.quiet && run.resumed().is_none() {
        let numerics = nnlab_torch::numerics::current().unwrap_or_default();
        eprintln!(
            "{name}: config {source}, seed {}, {} steps on {} ({numerics} numerics), writing {}",
            run.config.seed(),
            run.config.total_timesteps(),
            device::name(run.device),
            run.dir.path().display()
        );
    }
    train_and_report(run)
}

/// Trains (from the start, or from the checkpoint the run resumed from),
/// then evaluates and writes the weights, the plots, the GIF and `summary.json`.
fn train_and_report<C: AlgoConfig>(mut run: Run<C>) -> Result<()> {
    let cfg = run.config.clone();
    let (device, record) = (run.device, run.record.clone());
    let quiet = run.quiet;
    let name = record.experiment.clone().unwrap_or_else(|| C::ALGO.to_string());
    let mut agent = cfg.build(device)?;
    let start_step = run.start_after();
    let eval_seed = record.eval_seed.unwrap_or_else(|| summary::eval_seed_for(cfg.seed()));
    let resumed = run.take_resumed();
    let mut observer = RunObserver {
        run,
        progress: Progress::new(cfg.total_timesteps() as u64, quiet),
        recent: VecDeque::new(),
        curve: Vec::new(),
        losses: Vec::new(),
        loss_name: None,
        error: None,
        stats: Vec::new(),
        evaluations: record.eval_every.map(|every| PeriodicEvaluation::new(every, record.eval_every_episodes.unwrap_or(10) as usize, eval_seed, start_step)),
    };
    if let Some(s) = &resumed {
        agent.restore_train_state(&s.part("agent"))?;
        observer.restore(s)?;
        observer.progress.set_step(start_step);
    }
    observer.run.start_clock();
    let stats = agent.train(&mut observer)?;
    let wall_time_s = observer.run.elapsed();
    // The final model is a candidate for the best one too.
    let total = cfg.total_timesteps();
    if observer.evaluations.as_ref().is_some_and(|e| e.last_step().is_none_or(|s| s + 1 < total)) && observer.error.is_none() {
        observer.on_evaluation(total, agent.as_mut());
    }
    observer.progress.finish();
    if let Some(e) = observer.error.take() {
        return Err(e);
    }
    let run = &observer.run;

    let eval_returns = evaluate(agent.as_mut(), cfg.eval_episodes(), eval_seed)?;
    run.dir.produce("model.safetensors", |tmp| agent.save(tmp))?;
    let lower = observer.loss_name.map(|n| Series { label: n.replace('_', " "), points: observer.losses.clone() });
    plot::learning_curve(
        &run.dir.file("learning_curve.png"),
        &format!("{} on {} (seed {})", C::ALGO.to_uppercase(), cfg.env_id(), cfg.seed()),
        &observer.curve,
        100,
        &solved_line(cfg.env_id()),
        lower.as_ref(),
    )?;
    if !record.no_gif {
        let frames: Vec<_> = record_episode(agent.as_mut(), eval_seed, 2)?.iter().map(video::downscale2).collect();
        video::write_gif(&run.dir.file("episode.gif"), &frames, 4)?;
    }
    // The best model of the evaluations during training, on the final evaluation's episodes.
    let best_model = match observer.evaluations.as_ref().and_then(PeriodicEvaluation::best) {
        Some((step, selection_mean)) => {
            agent.load(&run.dir.file(BEST_MODEL))?;
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
    run.dir.write_atomic("summary.json", serde_json::to_string_pretty(&s)?.as_bytes())?;
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
    crate::out!("results: {}", run.dir.path().display());
    Ok(())
}
