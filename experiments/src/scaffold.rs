//! The scaffold of the supervised and generative binaries (VAE, GANs, DCGAN,
//! and the model families to come): one way to go from the command line to a
//! run folder, so that each binary's `run` holds only its model's loop.
//!
//! [`Experiment::start`] handles `--seeds` (a sweep of child processes), loads
//! the config (preset or `--config`, then `--set`, then `--seed`), lets the
//! binary apply its own flags, validates, prepares the data (so that bad data
//! is refused before a run folder exists), sets up torch and creates the run
//! folder with `config.toml` and [`Metrics`]. [`Run::finish`] writes
//! `summary.json` last, with the seed and the provenance record added.

use crate::cli::{SeedsArg, SharedArgs};
use crate::metrics::Metrics;
use crate::run_dir::RunDir;
use crate::summary::Provenance;
use anyhow::Result;
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

experiment_config!(nnlab_generative::vae_trainer::VaeConfig, nnlab_generative::gan::GanConfig, nnlab_generative::dcgan::DcganConfig);

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
}

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
        let (dir, device, _) = self.shared.start_run(self.name, None, false, &config, config.seed())?;
        let metrics = Metrics::for_run(&dir, self.shared.allow_nan)?;
        Ok(Some((Run { config, dir, device, metrics, quiet: self.shared.quiet, threads: self.shared.threads }, data)))
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

    /// A log line on stderr, unless `--quiet`.
    pub fn log(&self, line: impl std::fmt::Display) {
        if !self.quiet {
            eprintln!("{line}");
        }
    }
}
