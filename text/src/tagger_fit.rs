//! The tagger's training as the experiments' `fit` drives it: each epoch
//! trains, then scores the validation sentences (token accuracy, and for
//! BIO tags the strict entity F1, which then selects the best model).

use crate::entities::EntityReport;
use crate::tagger::{token_accuracy, Tagger};
use anyhow::Result;
use nnlab_data::TaggedSentence;
use nnlab_torch::state::TrainState;
use nnlab_torch::trainer::{Report, StepLog, Trainer};
use nnlab_torch::Snapshot;

/// A [`Tagger`] with its training and validation sentences.
pub struct TaggerFit<'a> {
    /// The tagger.
    pub tagger: Tagger,
    train: &'a [TaggedSentence],
    validation: &'a [TaggedSentence],
    bio: bool,
    loss: f64,
}

impl<'a> TaggerFit<'a> {
    /// Trains `tagger` on `train`, selecting on `validation` (may be empty:
    /// no selection); `bio`: the tags are BIO, so entity F1 is scored.
    pub fn new(tagger: Tagger, train: &'a [TaggedSentence], validation: &'a [TaggedSentence], bio: bool) -> Self {
        Self { tagger, train, validation, bio, loss: f64::NAN }
    }
}

impl Trainer for TaggerFit<'_> {
    fn index_name(&self) -> &'static str {
        "epoch"
    }
    fn rounds(&self) -> Vec<u64> {
        (1..=self.tagger.config().epochs as u64).collect()
    }
    fn curves(&self) -> &'static [&'static str] {
        &["loss_curve", "val_curve"]
    }
    fn train(&mut self, from: u64, to: u64, _log_step: &mut StepLog<'_>) -> Result<()> {
        for _ in from..to {
            self.loss = self.tagger.train_epoch(self.train)?;
        }
        Ok(())
    }
    fn report(&mut self, epoch: u64, train_seconds: f64) -> Result<Report> {
        let loss = self.loss;
        let mut report = Report::values(&[("train_loss", loss)]);
        let mut line = format!("epoch {epoch}: train loss {loss:.4}");
        if !self.validation.is_empty() {
            let predicted = self.tagger.predict(self.validation)?;
            let acc = token_accuracy(self.validation, &predicted);
            report.row.push(("validation_token_accuracy", Some(acc)));
            line += &format!(", validation token accuracy {acc:.4}");
            let f1 = self.bio.then(|| {
                let gold: Vec<Vec<String>> = self.validation.iter().map(|s| s.tags.clone()).collect();
                EntityReport::new(&gold, &predicted).micro.f1
            });
            if let Some(f1) = f1 {
                report.row.push(("validation_entity_f1", Some(f1)));
                line += &format!(", entity F1 {f1:.4}");
            }
            let score = f1.unwrap_or(acc);
            report.curves.push(("val_curve", score));
            report.score = Some(score);
        }
        report.curves.push(("loss_curve", loss));
        report.wall_clock = vec![("epoch_seconds", train_seconds)];
        report.line = Some(format!("{line} ({train_seconds:.1} s)"));
        Ok(report)
    }
    fn state(&self) -> Result<TrainState> {
        self.tagger.train_state()
    }
    fn restore(&mut self, state: &TrainState) -> Result<()> {
        self.tagger.restore_train_state(state)
    }
    fn snapshot(&self) -> Snapshot {
        self.tagger.snapshot()
    }
}
