//! The sentiment BiLSTM's training as the experiments' `fit` drives it: each
//! epoch sets the learning rate of the schedule, trains on the targets, then
//! scores the validation sentences (with the moving average of the weights,
//! when there is one); validation F1 selects the best model.

use super::{BinaryScores, SentimentClassifier};
use anyhow::Result;
use nnlab_torch::state::TrainState;
use nnlab_torch::trainer::{Report, StepLog, Trainer};
use nnlab_torch::Snapshot;

/// A [`SentimentClassifier`] with its tokenised training and validation sentences.
pub struct SentimentFit<'a> {
    /// The classifier.
    pub model: SentimentClassifier,
    train: &'a [Vec<String>],
    targets: Vec<f32>,
    validation: &'a [Vec<String>],
    validation_labels: &'a [bool],
    loss: f64,
    learning_rate: f64,
}

impl<'a> SentimentFit<'a> {
    /// Trains `model` on `train` toward `targets` (one per sentence), scoring on `validation`.
    pub fn new(model: SentimentClassifier, train: &'a [Vec<String>], targets: Vec<f32>, validation: &'a [Vec<String>], validation_labels: &'a [bool]) -> Self {
        Self { model, train, targets, validation, validation_labels, loss: f64::NAN, learning_rate: f64::NAN }
    }

    /// Validation accuracy and F1 (of the moving average of the weights, with `weight_average`).
    pub fn validate(model: &SentimentClassifier, validation: &[Vec<String>], labels: &[bool]) -> Result<BinaryScores> {
        let (p, _) = model.with_evaluated_weights(|m| m.predict(validation))?;
        Ok(BinaryScores::new(labels, &p.iter().map(|&x| x > 0.5).collect::<Vec<_>>()))
    }
}

impl Trainer for SentimentFit<'_> {
    fn index_name(&self) -> &'static str {
        "epoch"
    }
    fn rounds(&self) -> Vec<u64> {
        (1..=self.model.config().epochs as u64).collect()
    }
    fn curves(&self) -> &'static [&'static str] {
        &["loss_curve", "f1_curve"]
    }
    fn train(&mut self, from: u64, to: u64, _log_step: &mut StepLog<'_>) -> Result<()> {
        for epoch in from + 1..=to {
            self.learning_rate = self.model.config().learning_rate_at(epoch as usize);
            self.model.set_learning_rate(self.learning_rate);
            self.loss = self.model.train_epoch(self.train, &self.targets)?;
        }
        Ok(())
    }
    fn report(&mut self, epoch: u64, train_seconds: f64) -> Result<Report> {
        let s = Self::validate(&self.model, self.validation, self.validation_labels)?;
        let (loss, lr) = (self.loss, self.learning_rate);
        let mut report = Report::values(&[("train_loss", loss), ("validation_accuracy", s.accuracy), ("validation_f1", s.f1), ("learning_rate", lr)]);
        report.wall_clock = vec![("epoch_seconds", train_seconds)];
        report.curves = vec![("loss_curve", loss), ("f1_curve", s.f1)];
        report.score = Some(s.f1);
        report.line = Some(format!("epoch {epoch}: train loss {loss:.4}, validation accuracy {:.4}, F1 {:.4} ({train_seconds:.1} s)", s.accuracy, s.f1));
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
