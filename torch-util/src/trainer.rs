//! The one shape of every supervised and generative training loop: a
//! [`Trainer`] trains between two report points ("rounds": epochs, or a
//! step-based trainer's evaluation steps) and reports what it measured; the
//! experiments' `fit` owns everything around it (the loop, metric rows,
//! curves, epoch times, best-model selection, checkpoints and resume, the
//! wall clock). Trainers live beside their models in the library crates and
//! never open a file.

use crate::state::TrainState;
use crate::Snapshot;
use anyhow::Result;
use serde::{de::DeserializeOwned, Serialize};

/// What every run's config is, whatever it trains (an RL algorithm, a model
/// family): loadable from TOML with `--set` overrides, printable with its doc
/// lines (`--print-config`), seeded, and checked before anything runs. Each
/// config implements it in its own crate (for the usual `seed` field and
/// `validate` method, with [`run_config!`](crate::run_config)).
pub trait RunConfig: Default + Clone + Serialize + DeserializeOwned + schemars::JsonSchema {
    /// The seed.
    fn seed(&self) -> u64;
    /// Sets the seed (from `--seed`).
    fn set_seed(&mut self, seed: u64);
    /// Typed checks (one-line errors naming the key), machine limits included.
    fn check(&self) -> Result<()>;
}

/// Implements [`RunConfig`] for configs with a `seed` field and a
/// `validate(&self) -> anyhow::Result<()>` method.
#[macro_export]
macro_rules! run_config {
    ($($config:ty),* $(,)?) => {
        $(impl $crate::trainer::RunConfig for $config {
            fn seed(&self) -> u64 {
                self.seed
            }
            fn set_seed(&mut self, seed: u64) {
                self.seed = seed;
            }
            fn check(&self) -> anyhow::Result<()> {
                <$config>::validate(self)
            }
        })*
    };
}

/// Writes one row of the per-step stream (`steps.csv`): the step and its values.
pub type StepLog<'a> = dyn FnMut(u64, &[(&str, f64)]) -> Result<()> + 'a;

/// A picture the run should keep: greyscale images (each `side * side`
/// values in [0, 1]) drawn as a grid, written as `<name>` in the run folder.
#[derive(Debug, Clone)]
pub struct ImageGrid {
    /// The file name, such as `samples_epoch_03.png`.
    pub name: String,
    /// The images, row by row.
    pub images: Vec<Vec<f32>>,
    /// Their side in pixels.
    pub side: usize,
    /// Images per row of the grid.
    pub cols: usize,
    /// How many times each pixel is scaled up.
    pub scale: usize,
}

/// What a trainer reports after a round.
#[derive(Debug, Default)]
pub struct Report {
    /// The metric row (`metrics.csv` and the other sinks), indexed by the
    /// round; empty: no row this round. `None`: an empty cell.
    pub row: Vec<(&'static str, Option<f64>)>,
    /// Wall-clock values for the sinks that take them (TensorBoard, not
    /// `metrics.csv`), such as seconds per epoch.
    pub wall_clock: Vec<(&'static str, f64)>,
    /// Points `(round, value)` to add to the named curves of [`Trainer::curves`].
    pub curves: Vec<(&'static str, f64)>,
    /// The validation score that selects the best model (higher is better);
    /// `None`: this round does not compete.
    pub score: Option<f64>,
    /// A line for the log, if any.
    pub line: Option<String>,
    /// Pictures to write into the run folder now.
    pub pictures: Vec<ImageGrid>,
}

impl Report {
    /// A report whose row holds only defined values.
    pub fn values(values: &[(&'static str, f64)]) -> Self {
        Self { row: values.iter().map(|&(n, v)| (n, Some(v))).collect(), ..Self::default() }
    }
}

/// One model family's training, as `fit` drives it.
pub trait Trainer {
    /// The name of the rows' index (`epoch`, `step`, `iteration`), also what
    /// checkpoints count.
    fn index_name(&self) -> &'static str;
    /// The rounds, in order: the indices after which the trainer reports and
    /// a checkpoint may be taken (epochs `1..=E`; a step-based trainer's
    /// evaluation steps).
    fn rounds(&self) -> Vec<u64>;
    /// The names of the curves it draws (kept across checkpoints).
    fn curves(&self) -> &'static [&'static str] {
        &[]
    }
    /// Whether it writes the per-step stream (`steps.csv`).
    fn logs_steps(&self) -> bool {
        false
    }
    /// Trains from after index `from` up to and including `to` (timed by
    /// `fit`); `log_step` writes per-step rows when [`Trainer::logs_steps`].
    fn train(&mut self, from: u64, to: u64, log_step: &mut StepLog<'_>) -> Result<()>;
    /// Evaluates after round `index` and reports (`train_seconds`: the time
    /// [`Trainer::train`] took for this round).
    fn report(&mut self, index: u64, train_seconds: f64) -> Result<Report>;
    /// Everything needed to continue exactly from here, for a checkpoint.
    fn state(&self) -> Result<TrainState>;
    /// Restores what [`Trainer::state`] saved, into a trainer built the same way.
    fn restore(&mut self, state: &TrainState) -> Result<()>;
    /// A copy of the model's variables, for the best model so far (when
    /// rounds report a [`Report::score`]).
    fn snapshot(&self) -> Snapshot {
        Vec::new()
    }
}
