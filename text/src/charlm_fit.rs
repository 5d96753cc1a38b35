//! The character language model's training as the experiments' `fit`
//! drives it: every iteration is a round (a checkpoint may follow any),
//! the training loss is logged every `log_every` steps, and every
//! `eval_interval` steps (and at the last) a row holds the mean training loss
//! since the previous row, the loss on fixed validation windows, the
//! learning rate and, for TensorBoard, the training characters per second.

use crate::charlm::CharLmTrainer;
use anyhow::Result;
use nnlab_torch::state::TrainState;
use nnlab_torch::trainer::{Report, StepLog, Trainer};
use std::time::Instant;

/// A [`CharLmTrainer`] with its encoded training and validation texts.
pub struct CharLmFit {
    /// The trainer (model, optimiser, schedule, RNG).
    pub trainer: CharLmTrainer,
    /// Seconds spent in training steps, earlier attempts of a resumed run included.
    pub train_secs: f64,
    train: Vec<i64>,
    validation: Vec<i64>,
    eval_windows: Vec<usize>,
    log_every: u64,
    since_eval: (f64, u64),
    since_log: (f64, u64),
    /// The step this process started after (0, or a resumed run's checkpoint).
    started_after: Option<u64>,
}

impl CharLmFit {
    /// Trains `trainer` on `train`, estimating the validation loss on fixed windows of `validation`.
    pub fn new(trainer: CharLmTrainer, train: Vec<i64>, validation: Vec<i64>, log_every: u64) -> Self {
        let eval_windows = trainer.eval_windows(validation.len());
        Self { trainer, train_secs: 0.0, train, validation, eval_windows, log_every, since_eval: (0.0, 0), since_log: (0.0, 0), started_after: None }
    }
}

impl Trainer for CharLmFit {
    fn index_name(&self) -> &'static str {
        "iteration"
    }
    fn rounds(&self) -> Vec<u64> {
        (1..=self.trainer.config().iterations).collect()
    }
    fn curves(&self) -> &'static [&'static str] {
        &["train_curve", "val_curve"]
    }
    fn logs_steps(&self) -> bool {
        true
    }
    fn train(&mut self, from: u64, to: u64, log_step: &mut StepLog<'_>) -> Result<()> {
        self.started_after.get_or_insert(from);
        for it in from + 1..=to {
            let t0 = Instant::now();
            let loss = self.trainer.train_step(&self.train)?;
            self.train_secs += t0.elapsed().as_secs_f64();
            self.since_eval = (self.since_eval.0 + loss, self.since_eval.1 + 1);
            self.since_log = (self.since_log.0 + loss, self.since_log.1 + 1);
            if self.log_every > 0 && it.is_multiple_of(self.log_every) {
                log_step(it, &[("loss", self.since_log.0 / self.since_log.1 as f64)])?;
                self.since_log = (0.0, 0);
            }
        }
        Ok(())
    }
    fn report(&mut self, it: u64, _train_seconds: f64) -> Result<Report> {
        let cfg = self.trainer.config();
        if !(it.is_multiple_of(cfg.eval_interval) || it == cfg.iterations) {
            return Ok(Report::default());
        }
        let chars_per_step = (cfg.batch_size * cfg.context) as f64;
        let train_loss = self.since_eval.0 / self.since_eval.1 as f64;
        let val_loss = self.trainer.loss_on(&self.validation, &self.eval_windows)?;
        self.since_eval = (0.0, 0);
        let lr = self.trainer.learning_rate();
        let speed = it.saturating_sub(self.started_after.unwrap_or(0)).max(1) as f64 * chars_per_step / self.train_secs.max(1e-9);
        let mut report = Report::values(&[("train_loss", train_loss), ("validation_loss", val_loss), ("learning_rate", lr)]);
        report.wall_clock = vec![("train_chars_per_second", speed)];
        report.curves = vec![("train_curve", train_loss), ("val_curve", val_loss)];
        report.line = Some(format!("step {it}: train loss {train_loss:.4}, validation loss {val_loss:.4} (estimate), lr {lr:.2e}, {speed:.0} chars/s"));
        Ok(report)
    }
    fn state(&self) -> Result<TrainState> {
        let mut s = TrainState::new();
        s.put_part("lm", self.trainer.train_state()?);
        s.put("since_eval", &self.since_eval)?;
        s.put("since_log", &self.since_log)?;
        s.put("train_secs", &self.train_secs)?;
        Ok(s)
    }
    fn restore(&mut self, s: &TrainState) -> Result<()> {
        self.trainer.restore_train_state(&s.part("lm"))?;
        self.since_eval = s.get("since_eval")?;
        self.since_log = s.get("since_log")?;
        self.train_secs = s.get("train_secs")?;
        Ok(())
    }
}
