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
use crate::cli::{SeedsArg, SharedArgs};
use crate::metrics::{Metrics, Stream};
use crate::run_dir::RunDir;
use crate::summary::Provenance;
use anyhow::{anyhow, bail, Result};
use nnlab_torch::state::TrainState;
use serde::{de::DeserializeOwned, Serialize};
use tch::Device;

/// What the scaffold needs of a model family's config.
pub trait ExperimentConfig: Default + Serialize + DeserializeOwned + schemars::JsonSchema {
    /// The seed.
    fn seed(&self) -> u64;
    /// Sets the seed (from `--seed`).
    fn set_seed(&mut self, seed: u64);
    /// Typed checks, one-line errors naming the key.
    fn validate(&self) -> Result<()>;
}

/// Implements [`ExperimentConfig`] for configs with a `seed` field and a `validate` method.
#[macro_export]
macro_rules! experiment_config {
    ($($config:ty),* $(,)?) => {
        $(impl $crate::scaffold::ExperimentConfig for $config {
            fn seed(&self) -> u64 {
                self.seed
            }
            fn set_seed(&mut self, seed: u64) {
                self.seed = seed;
            }
            fn validate(&self) -> anyhow::Result<()> {
                <$config>::validate(self)
            }
        })*
    };
}

experiment_config!(
    nnlab_generative::vae_trainer::VaeConfig,
    nnlab_generative::gan::GanConfig,
    nnlab_generative::dcgan::DcganConfig,
    nnlab_vision::CnnConfig,
    nnlab_text::CharLmConfig,
    nnlab_text::tagger::TaggerConfig,
    nnlab_text::sentiment::SentimentConfig
);

/// One binary of the scaffold.
pub struct Experiment<'a> {
    /// Its name (run folders go to `results/<name>/`).
    pub name: &'static str,
    /// The flags every experiment takes.
    pub shared: &'a SharedArgs,
    /// `--seeds`.
    pub seeds: &'a SeedsArg,
    /// The `summary.json` keys that a sweep tabulates (`seeds_summary.json`).
    pub summary_keys: &'static [&'static str],
}

/// A started run: its config, folder, device and metrics.
pub struct Run<C> {
    /// The validated config.
    pub config: C,
    /// The run folder (with `config.toml` written).
    pub dir: RunDir,
    /// Where to compute.
    pub device: Device,
    /// `metrics.csv` and any other sinks.
    pub metrics: Metrics,
    /// `--quiet`.
    pub quiet: bool,
    threads: i32,
    checkpoints: Option<checkpoint::Schedule>,
    resumed: Option<TrainState>,
    start_after: u64,
    steps: Option<StepMetrics>,
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
    pub fn new(name: &'static str, args: &'a crate::cli::ExperimentArgs, summary_keys: &'static [&'static str]) -> Self {
        Self { name, shared: &args.shared, seeds: &args.seeds, summary_keys }
    }

    /// Starts the run (see the module docs); `None` when `--seeds` ran a sweep
    /// instead. `adjust` applies the binary's own flags to the config;
    /// `prepare` loads and checks the data against the validated config.
    pub fn start<C: ExperimentConfig, D>(
        &self,
        preset: (&str, &str),
        adjust: impl FnOnce(&mut C) -> Result<()>,
        prepare: impl FnOnce(&C) -> Result<D>,
    ) -> Result<Option<(Run<C>, D)>> {
        if let Some(dir) = &self.shared.resume {
            return self.resume(dir, prepare);
        }
        if let Some(list) = self.seeds.seeds.as_ref().filter(|_| !self.shared.print_config) {
            crate::multi_seed::sweep(self.name, list, self.shared.out.clone(), self.summary_keys)?;
            return Ok(None);
        }
        let mut config: C = self.shared.load_config(preset, |c: &mut C, seed| c.set_seed(seed))?;
        adjust(&mut config)?;
        config.validate()?;
        if self.shared.print_config {
            let source = self.shared.config.as_ref().map(|p| p.display().to_string()).unwrap_or_else(|| preset.0.to_string());
            crate::print_config::print(&config, self.name, &source)?;
            return Ok(None);
        }
        let data = prepare(&config)?;
        let (dir, device, record) = self.shared.start_run(self.name, None, &config, config.seed(), |_| {})?;
        let metrics = Metrics::for_run(&dir, self.shared.allow_nan)?;
        let checkpoints = record.checkpoint_every.map(|every| checkpoint::Schedule::new(every, 0));
        let run = Run {
            config,
            dir,
            device,
            metrics,
            quiet: self.shared.quiet,
            threads: self.shared.threads,
            checkpoints,
            resumed: None,
            start_after: 0,
            steps: None,
        };
        Ok(Some((run, data)))
    }

    /// `--resume RUN_DIR`: the run in `dir` with its recorded config and
    /// options, and its last checkpoint (if any).
    fn resume<C: ExperimentConfig, D>(&self, dir: &std::path::Path, prepare: impl FnOnce(&C) -> Result<D>) -> Result<Option<(Run<C>, D)>> {
        let same_binary = |record: &crate::config::RunRecord| {
            if record.experiment.as_deref() != Some(self.name) {
                bail!(
                    "{} was made by {}, not {}; resume it with that binary",
                    dir.display(),
                    record.experiment.as_deref().unwrap_or("another binary"),
                    self.name
                );
            }
            Ok(())
        };
        let Some((run_dir, record)) = checkpoint::open_for_resume(dir, self.name, self.shared.quiet, same_binary)? else {
            return Ok(None);
        };
        let config: C = crate::config::load(crate::config::Source::File(&run_dir.file("config.toml")), &[])?;
        config.validate()?;
        let data = prepare(&config)?;
        let device = self.shared.init_torch_for(&record)?;
        let state = checkpoint::read(dir)?;
        let (metrics, start_after) = checkpoint::open_metrics(&run_dir, record.allow_nan, state.as_ref())?;
        if !self.shared.quiet {
            eprintln!("{}: resuming {} after {start_after}", self.name, dir.display());
        }
        let checkpoints = record.checkpoint_every.map(|every| checkpoint::Schedule::new(every, start_after));
        let run = Run {
            config,
            dir: run_dir,
            device,
            metrics,
            quiet: self.shared.quiet,
            threads: record.threads,
            checkpoints,
            resumed: state,
            start_after,
            steps: None,
        };
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

impl<C: ExperimentConfig> Run<C> {
    /// Writes `summary.json` (marking the run finished) and prints the
    /// `results:` line.
    pub fn finish<S: Serialize>(&self, summary: &S) -> Result<()> {
        let full = FullSummary { summary, seed: self.config.seed(), provenance: Provenance::new(self.device, self.threads) };
        self.dir.write_atomic("summary.json", serde_json::to_string_pretty(&full)?.as_bytes())?;
        crate::out!("results: {}", self.dir.path().display());
        Ok(())
    }

    /// The binary's state saved at the checkpoint this run resumed from.
    pub fn resumed(&self) -> Option<&TrainState> {
        self.resumed.as_ref()
    }

    /// The epoch (or step) of that checkpoint: the loop goes on after it (0 for a new run).
    pub fn start_after(&self) -> u64 {
        self.start_after
    }

    /// After epoch (or step) `index`: writes a checkpoint with the binary's
    /// `state` (its trainer's and its own: curves, times) when one is due.
    pub fn checkpoint_if_due(&mut self, index: u64, state: impl FnOnce() -> Result<TrainState>) -> Result<()> {
        let Some(schedule) = &mut self.checkpoints else {
            return Ok(());
        };
        if !schedule.due(index) {
            return Ok(());
        }
        let mut s = state()?;
        self.metrics.save_position(&mut s, Stream::MAIN, index)?;
        if let Some(steps) = &self.steps {
            steps.metrics.save_position(&mut s, STEPS, steps.last_index.unwrap_or(0))?;
        }
        checkpoint::write(&self.dir, &s)?;
        schedule.taken(index);
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
