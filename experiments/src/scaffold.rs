//! The scaffold of the supervised and generative binaries (VAE, GANs, DCGAN,
//! image classifiers, language models, taggers, sentiment): one way to go
//! from the command line to a run folder, and with [`crate::fit::fit`] one
//! loop, so that each binary holds only its setup and final evaluation.
//!
//! [`Experiment::start`] handles `--seeds` (a sweep of child processes), loads
//! the config (preset or `--config`, then `--set`, then `--seed`), lets the
//! binary apply its own flags, validates, prepares the data (so that bad data
//! is refused before a run folder exists), sets up torch and creates the run
//! folder with `config.toml` and [`Metrics`]. [`Run::finish`] writes
//! `summary.json` last, with the seed and the provenance record added.
//!
//! With `--checkpoint-every N`, `fit` calls [`Run::checkpoint_if_due`] after
//! each round with the trainer's state; `--resume RUN_DIR` gives that state
//! back ([`Run::resumed`]) and the loop goes on after [`Run::start_after`],
//! with the metric files cut back to the checkpoint (see [`crate::checkpoint`]).

use crate::checkpoint;
use crate::cli::SharedArgs;
use crate::config::{Preset, RunRecord};
use crate::metrics::{Metrics, Stream};
use crate::run_dir::RunDir;
use crate::summary::Provenance;
use anyhow::{anyhow, bail, Result};
use nnlab_torch::state::TrainState;
use serde::Serialize;
use std::time::Instant;
use tch::Device;

/// What the scaffold needs of a config: every config of nnlab implements it
/// in its own crate (RL algorithms' configs too, beside `AlgorithmConfig`).
pub use nnlab_torch::trainer::RunConfig;

/// One binary of the scaffold.
pub struct Experiment<'a> {
    /// Its name (run folders go to `results/<name>/`).
    pub name: &'a str,
    /// The flags every experiment takes.
    pub shared: &'a SharedArgs,
    /// `--seeds`.
    pub seeds: Option<&'a str>,
    /// The `summary.json` keys that a sweep tabulates (`seeds_summary.json`).
    pub summary_keys: &'static [&'static str],
    /// The RL algorithm it trains (recorded as `[run] algo`; `--resume` then
    /// takes any run of that algorithm); `None` for the other families, whose
    /// runs are resumed by the binary that made them.
    pub algo: Option<&'static str>,
}

/// A started run: its config, folder, device, metrics and record.
pub struct Run<C> {
    /// The validated config.
    pub config: C,
    /// The run folder (with `config.toml` written).
    pub dir: RunDir,
    /// Where to compute.
    pub device: Device,
    /// `metrics.csv` and any other sinks.
    pub metrics: Metrics,
    /// The `[run]` record of `config.toml` (numerics, threads, options).
    pub record: RunRecord,
    /// `--quiet`.
    pub quiet: bool,
    checkpoints: Option<checkpoint::Schedule>,
    resumed: Option<TrainState>,
    start_after: u64,
    steps: Option<StepMetrics>,
    /// The `config.toml` the run started with, recorded in its checkpoints.
    config_text: String,
    /// Wall-clock seconds of the earlier attempts of a resumed run.
    elapsed_before: f64,
    started: Instant,
}

/// The per-step stream of a run (`steps.csv` and its event file), beside the
/// per-epoch `metrics.csv`.
struct StepMetrics {
    metrics: Metrics,
    last_index: Option<u64>,
}

/// The per-step stream, `steps.csv`.
const STEPS: Stream<'static> = Stream { name: "steps", main: false };

impl<'a> Experiment<'a> {
    /// The binary `name` with its flags; sweeps tabulate `summary_keys`.
    pub fn new(name: &'a str, args: &'a crate::cli::ExperimentArgs, summary_keys: &'static [&'static str]) -> Self {
        Self { name, shared: &args.shared, seeds: args.seeds.seeds.as_deref(), summary_keys, algo: None }
    }

    /// Starts the run (see the module docs); `None` when `--seeds` ran a sweep
    /// (or `--print-config` printed) instead. `adjust` applies the binary's
    /// own flags to the config; `prepare` loads and checks the data against
    /// the validated config.
    pub fn start<C: RunConfig, D>(
        &self,
        preset: Preset,
        adjust: impl FnOnce(&mut C) -> Result<()>,
        prepare: impl FnOnce(&C) -> Result<D>,
    ) -> Result<Option<(Run<C>, D)>> {
        let sweep = |_: &C, list: &str| crate::multi_seed::sweep(self.name, list, self.shared.out.clone(), self.summary_keys);
        self.start_with(preset, adjust, prepare, sweep, |_| {})
    }

    /// [`Experiment::start`] with the binary's own way of running `--seeds`
    /// (given the checked config and the list) and its own options in the
    /// run's `[run]` record (applied to a new run's record and to a resumed
    /// run's recorded one).
    pub fn start_with<C: RunConfig, D>(
        &self,
        preset: Preset,
        adjust: impl FnOnce(&mut C) -> Result<()>,
        prepare: impl FnOnce(&C) -> Result<D>,
        seeds: impl FnOnce(&C, &str) -> Result<()>,
        options: impl FnOnce(&mut RunRecord),
    ) -> Result<Option<(Run<C>, D)>> {
        if let Some(dir) = &self.shared.resume {
            return self.resume(dir, prepare, options);
        }
        let mut config: C = self.shared.load_config(&preset, |c: &mut C, seed| c.set_seed(seed))?;
        adjust(&mut config)?;
        config.check()?;
        if self.shared.print_config {
            let source = self.shared.config.as_ref().map(|p| p.display().to_string()).unwrap_or_else(|| preset.name.clone());
            crate::print_config::print(&config, self.name, &source)?;
            return Ok(None);
        }
        if let Some(list) = self.seeds {
            seeds(&config, list)?;
            return Ok(None);
        }
        let data = prepare(&config)?;
        let (dir, device, record) = self.shared.start_run(self.name, self.algo, &config, config.seed(), options)?;
        let metrics = Metrics::for_run(&dir, self.shared.allow_nan)?;
        let config_text = checkpoint::config_text(&dir)?;
        let checkpoints = record.checkpoint_every.map(|every| checkpoint::Schedule::new(every, 0));
        let quiet = self.shared.quiet;
        let run = Run {
            config,
            dir,
            device,
            metrics,
            record,
            quiet,
            checkpoints,
            resumed: None,
            start_after: 0,
            steps: None,
            config_text,
            elapsed_before: 0.0,
            started: Instant::now(),
        };
        run.on_signal_checkpoint();
        Ok(Some((run, data)))
    }

    /// Whether the run recorded as `record` in `dir` is one this binary continues.
    fn check_same_run(&self, dir: &std::path::Path, record: &RunRecord) -> Result<()> {
        match (self.algo, record.algo.as_deref()) {
            (Some(algo), Some(recorded)) if algo == recorded => Ok(()),
            (Some(algo), Some(recorded)) => bail!("{} is a {recorded} run, not {algo}; resume it with `train --resume {}`", dir.display(), dir.display()),
            (Some(_), None) => {
                bail!("{} is not an RL run; resume it with the binary that made it ({})", dir.display(), record.experiment.as_deref().unwrap_or("unknown"))
            }
            (None, _) if record.experiment.as_deref() == Some(self.name) => Ok(()),
            (None, _) => bail!(
                "{} was made by {}, not {}; resume it with that binary",
                dir.display(),
                record.experiment.as_deref().unwrap_or("another binary"),
                self.name
            ),
        }
    }

    /// `--resume RUN_DIR`: the run in `dir` with its recorded config and
    /// options, and its last checkpoint (if any).
    fn resume<C: RunConfig, D>(
        &self,
        dir: &std::path::Path,
        prepare: impl FnOnce(&C) -> Result<D>,
        options: impl FnOnce(&mut RunRecord),
    ) -> Result<Option<(Run<C>, D)>> {
        let Some((run_dir, mut record)) = checkpoint::open_for_resume(dir, self.name, self.shared.quiet, |r| self.check_same_run(dir, r))? else {
            return Ok(None);
        };
        options(&mut record);
        let state = checkpoint::read(dir)?;
        let config_text = checkpoint::config_text(&run_dir)?;
        if let Some(s) = &state {
            checkpoint::check_config(&run_dir, &config_text, s)?;
        }
        let config: C = crate::config::load(crate::config::Source::File(&run_dir.file("config.toml")), &[])?;
        config.check()?;
        let data = prepare(&config)?;
        let device = self.shared.init_torch_for(&record)?;
        let (metrics, start_after) = checkpoint::open_metrics(&run_dir, record.allow_nan, state.as_ref())?;
        let elapsed_before = match &state {
            Some(s) => s.get("elapsed")?,
            None => 0.0,
        };
        if !self.shared.quiet {
            let at = if state.is_some() { format!("after {start_after}") } else { "from the start (no checkpoint yet)".to_string() };
            eprintln!("{}: resuming {} {at} on {}", self.name, dir.display(), crate::device::name(device));
        }
        let checkpoints = record.checkpoint_every.map(|every| checkpoint::Schedule::new(every, start_after));
        let quiet = self.shared.quiet;
        let run = Run {
            config,
            dir: run_dir,
            device,
            metrics,
            record,
            quiet,
            checkpoints,
            resumed: state,
            start_after,
            steps: None,
            config_text,
            elapsed_before,
            started: Instant::now(),
        };
        run.on_signal_checkpoint();
        Ok(Some((run, data)))
    }
}

/// `summary.json`: the binary's own record, then the seed and the provenance.
#[derive(Serialize)]
struct FullSummary<'a, S: Serialize> {
    #[serde(flatten)]
    summary: &'a S,
    seed: u64,
    #[serde(flatten)]
    provenance: Provenance,
}

impl<C: RunConfig> Run<C> {
    /// Writes `summary.json` (marking the run finished) and prints the
    /// `results:` line.
    pub fn finish<S: Serialize>(&self, summary: &S) -> Result<()> {
        let full = FullSummary { summary, seed: self.config.seed(), provenance: Provenance::new(self.device, self.record.threads) };
        self.dir.write_atomic("summary.json", serde_json::to_string_pretty(&full)?.as_bytes())?;
        crate::out!("results: {}", self.dir.path().display());
        Ok(())
    }

    /// The binary's state saved at the checkpoint this run resumed from.
    pub fn resumed(&self) -> Option<&TrainState> {
        self.resumed.as_ref()
    }

    /// Hands over that state, for a binary that restores from it once and
    /// needs it no more (an RL agent's replay buffer can be large: no copy);
    /// [`Run::resumed`] is `None` afterwards, so call it after
    /// [`Run::open_step_metrics`], which reads it.
    pub fn take_resumed(&mut self) -> Option<TrainState> {
        self.resumed.take()
    }

    /// The epoch (or step) of that checkpoint: the loop goes on after it (0 for a new run).
    pub fn start_after(&self) -> u64 {
        self.start_after
    }

    /// Starts the wall clock of the training loop (the time before it, such
    /// as loading data and building the model, is not counted).
    pub fn start_clock(&mut self) {
        self.started = Instant::now();
    }

    /// Wall-clock seconds of the training loop so far, the earlier attempts
    /// of a resumed run included.
    pub fn elapsed(&self) -> f64 {
        self.elapsed_before + self.started.elapsed().as_secs_f64()
    }

    /// A run with checkpoints answers SIGINT, SIGTERM, SIGHUP and SIGUSR1 with one ([`crate::signals`]).
    fn on_signal_checkpoint(&self) {
        if self.checkpoints.is_some() {
            crate::signals::checkpoint_on_stop();
        }
    }

    /// Whether a checkpoint is due after epoch (or step) `index`: one of
    /// `--checkpoint-every`'s, or the one a signal asked for (runs with checkpoints).
    pub fn checkpoint_due(&self, index: u64) -> bool {
        self.checkpoints.is_some_and(|c| c.due(index) || crate::signals::stop_requested())
    }

    /// Writes the checkpoint after `index`: the binary's `state` (its
    /// trainer's and its own), with the sinks' positions and the wall clock.
    pub fn write_checkpoint(&mut self, index: u64, mut state: TrainState) -> Result<()> {
        self.metrics.save_position(&mut state, Stream::MAIN, index)?;
        if let Some(steps) = &self.steps {
            steps.metrics.save_position(&mut state, STEPS, steps.last_index.unwrap_or(0))?;
        }
        state.put("elapsed", &self.elapsed())?;
        checkpoint::put_config(&mut state, &self.config_text)?;
        checkpoint::write(&self.dir, &state)?;
        if let Some(schedule) = &mut self.checkpoints {
            schedule.taken(index);
        }
        if crate::signals::stop_requested() {
            let dir = self.dir.path().display();
            return Err(crate::signals::Preempted(format!(
                "stopped by a signal after a checkpoint at {index}; continue with --resume {dir} (the same bits as an uninterrupted run)"
            ))
            .into());
        }
        Ok(())
    }

    /// After epoch (or step) `index`: writes a checkpoint with the binary's
    /// `state` when one is due ([`Run::write_checkpoint`]).
    pub fn checkpoint_if_due(&mut self, index: u64, state: impl FnOnce() -> Result<TrainState>) -> Result<()> {
        if self.checkpoint_due(index) {
            self.write_checkpoint(index, state()?)?;
        }
        Ok(())
    }

    /// Opens the run's per-step stream, `steps.csv` (index `step`) with its
    /// own event file (TensorBoard tags `losses/*`), for training statistics
    /// logged every so many optimisation steps; a resumed run continues it
    /// from its checkpoint.
    pub fn open_step_metrics(&mut self) -> Result<()> {
        let allow_nan = self.metrics.allows_non_finite();
        let metrics = match &self.resumed {
            Some(s) => Metrics::resume(&self.dir, STEPS, allow_nan, s)?.0,
            None => Metrics::create(&self.dir, STEPS, allow_nan)?,
        };
        self.steps = Some(StepMetrics { metrics, last_index: None });
        Ok(())
    }

    /// One row of the per-step stream (see [`Run::open_step_metrics`]).
    pub fn log_step(&mut self, step: u64, values: &[(&str, f64)]) -> Result<()> {
        let steps = self.steps.as_mut().ok_or_else(|| anyhow!("log_step before open_step_metrics"))?;
        steps.last_index = Some(step);
        steps.metrics.values("step", step as usize, values)
    }

    /// A log line on stderr, unless `--quiet`.
    pub fn log(&self, line: impl std::fmt::Display) {
        if !self.quiet {
            eprintln!("{line}");
        }
    }
}
