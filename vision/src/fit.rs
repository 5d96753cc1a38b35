//! The image classifier's training as the experiments' `fit` drives it: each
//! epoch trains (logging the loss every `log_every` steps), then scores the
//! validation split, whose accuracy selects the best model.

use crate::trainer::{CnnTrainer, EpochStats};
use anyhow::Result;
use nnlab_data::ImageSet;
use nnlab_torch::state::TrainState;
use nnlab_torch::trainer::{Report, StepLog, Trainer};
use nnlab_torch::Snapshot;

/// A [`CnnTrainer`] with its training and validation images.
pub struct CnnFit {
    /// The trainer (network, optimiser, schedule, RNG).
    pub trainer: CnnTrainer,
    /// The training images.
    pub train: ImageSet,
    /// The held-out images that select the model (may be empty: no selection).
    pub validation: ImageSet,
    log_every: u64,
    stats: EpochStats,
}

impl CnnFit {
    /// Trains `trainer` on `train`, selecting on `validation`.
    pub fn new(trainer: CnnTrainer, train: ImageSet, validation: ImageSet, log_every: u64) -> Self {
        Self { trainer, train, validation, log_every, stats: EpochStats::default() }
    }
}

impl Trainer for CnnFit {
    fn index_name(&self) -> &'static str {
        "epoch"
    }
    fn rounds(&self) -> Vec<u64> {
        (1..=self.trainer.config().epochs as u64).collect()
    }
    fn curves(&self) -> &'static [&'static str] {
        &["loss_curve", "val_loss_curve", "acc_curve", "val_acc_curve"]
    }
    fn logs_steps(&self) -> bool {
        true
    }
    fn train(&mut self, from: u64, to: u64, log_step: &mut StepLog<'_>) -> Result<()> {
        for _ in from..to {
            self.stats = self.trainer.train_epoch(&self.train, self.log_every, &mut |step, loss| log_step(step, &[("loss", loss)]))?;
        }
        Ok(())
    }
    fn report(&mut self, epoch: u64, train_seconds: f64) -> Result<Report> {
        let stats = self.stats;
        let mut report = Report::values(&[("train_loss", stats.loss), ("train_accuracy", stats.accuracy)]);
        report.curves = vec![("loss_curve", stats.loss), ("acc_curve", stats.accuracy)];
        let mut line = format!("epoch {epoch}: train loss {:.4}, accuracy {:.4}", stats.loss, stats.accuracy);
        if self.validation.len > 0 {
            let (val_loss, val_acc) = self.trainer.evaluate(&self.validation)?;
            report.row.extend([("validation_loss", Some(val_loss)), ("validation_accuracy", Some(val_acc))]);
            report.curves.extend([("val_loss_curve", val_loss), ("val_acc_curve", val_acc)]);
            line += &format!("; validation loss {val_loss:.4}, accuracy {val_acc:.4}");
            report.score = Some(val_acc);
        }
        report.row.push(("learning_rate", Some(stats.learning_rate)));
        report.wall_clock = vec![("epoch_seconds", train_seconds)];
        report.line = Some(format!("{line} ({train_seconds:.1} s)"));
        Ok(report)
    }
    fn state(&self) -> Result<TrainState> {
        self.trainer.train_state()
    }
    fn restore(&mut self, state: &TrainState) -> Result<()> {
        self.trainer.restore_train_state(state)
    }
    fn snapshot(&self) -> Snapshot {
        self.trainer.snapshot()
    }
}
