//! The intent classifier's training as the experiments' `fit` drives it:
//! each epoch sets the learning rate of the schedule, trains, then scores the
//! in-scope validation queries; validation accuracy selects the best epoch.

use crate::intent::{top, IntentClassifier};
use anyhow::Result;
use nnlab_torch::state::TrainState;
use nnlab_torch::trainer::{Report, StepLog, Trainer};
use nnlab_torch::Snapshot;

/// An [`IntentClassifier`] with its tokenised training and validation queries.
pub struct IntentFit<'a> {
    /// The classifier.
    pub model: IntentClassifier,
    train: &'a [Vec<String>],
    labels: &'a [usize],
    validation: &'a [Vec<String>],
    validation_labels: &'a [usize],
    loss: f64,
    learning_rate: f64,
}

impl<'a> IntentFit<'a> {
    /// Trains `model` on `train` toward `labels`, scoring on `validation`.
    pub fn new(model: IntentClassifier, train: &'a [Vec<String>], labels: &'a [usize], validation: &'a [Vec<String>], validation_labels: &'a [usize]) -> Self {
        Self { model, train, labels, validation, validation_labels, loss: f64::NAN, learning_rate: f64::NAN }
    }

    /// The fraction of `queries` whose most probable class is their label.
    pub fn accuracy(model: &IntentClassifier, queries: &[Vec<String>], labels: &[usize]) -> Result<f64> {
        let p = model.predict(queries)?;
        let right = p.probabilities.iter().zip(labels).filter(|(row, &l)| top(row).0 == l).count();
        Ok(right as f64 / labels.len().max(1) as f64)
    }
}

impl Trainer for IntentFit<'_> {
    fn index_name(&self) -> &'static str {
        "epoch"
    }
    fn rounds(&self) -> Vec<u64> {
        (1..=self.model.config().epochs as u64).collect()
    }
    fn curves(&self) -> &'static [&'static str] {
        &["loss_curve", "accuracy_curve"]
    }
    fn train(&mut self, from: u64, to: u64, _log_step: &mut StepLog<'_>) -> Result<()> {
        for epoch in from + 1..=to {
            self.learning_rate = self.model.config().learning_rate_at(epoch as usize);
            self.model.set_learning_rate(self.learning_rate);
            self.loss = self.model.train_epoch(self.train, self.labels)?;
        }
        Ok(())
    }
    fn report(&mut self, epoch: u64, train_seconds: f64) -> Result<Report> {
        let accuracy = Self::accuracy(&self.model, self.validation, self.validation_labels)?;
        let (loss, lr) = (self.loss, self.learning_rate);
        let mut report = Report::values(&[("train_loss", loss), ("validation_accuracy", accuracy), ("learning_rate", lr)]);
        report.wall_clock = vec![("epoch_seconds", train_seconds)];
        report.curves = vec![("loss_curve", loss), ("accuracy_curve", accuracy)];
        report.score = Some(accuracy);
        report.line = Some(format!("epoch {epoch}: train loss {loss:.4}, validation accuracy {accuracy:.4} ({train_seconds:.1} s)"));
        Ok(report)
    }
    fn state(&self) -> Result<TrainState> {
        self.model.train_state()
    }
    fn restore(&mut self, state: &TrainState) -> Result<()> {
        self.model.restore_train_state(state)
    }
    fn snapshot(&self) -> Snapshot {
        self.model.snapshot()
    }
}
