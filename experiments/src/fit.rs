//! `fit`: the one loop of the supervised and generative binaries. A family's
//! [`Trainer`] trains and reports; `fit` owns the rest: the rounds after a
//! resumed run's checkpoint, the per-step stream, metric rows and wall-clock
//! values, curves and epoch times ([`History`]), best-model selection,
//! pictures, log lines, checkpoints (the trainer's state, the history and the
//! wall clock so far) and the training time across interruptions.

use crate::history::History;
use crate::scaffold::{Run, RunConfig};
use anyhow::Result;
use nnlab_torch::state::TrainState;
use nnlab_torch::trainer::Trainer;
use std::time::Instant;

/// What a fitted run carries into its final evaluation.
#[derive(Debug)]
pub struct Fitted {
    /// The curves, epoch times and best model.
    pub history: History,
    /// Wall-clock seconds of the whole loop, earlier attempts of a resumed run included.
    pub training_time_s: f64,
}

/// Trains `trainer` through its rounds in `run` (from after the checkpoint
/// when the run resumed), then returns the history for the final evaluation.
pub fn fit<C: RunConfig, T: Trainer>(run: &mut Run<C>, trainer: &mut T) -> Result<Fitted> {
    if trainer.logs_steps() {
        run.open_step_metrics()?;
    }
    let mut history = History::resume(trainer.curves(), run.resumed(), || trainer.snapshot(), run.device)?;
    if let Some(s) = run.resumed() {
        trainer.restore(&s.part("trainer"))?;
    }
    run.start_clock();
    let index_name = trainer.index_name();
    let start_after = run.start_after();
    let mut from = start_after;
    for round in trainer.rounds().into_iter().filter(|&r| r > start_after) {
        let start = Instant::now();
        trainer.train(from, round, &mut |step, values| run.log_step(step, values))?;
        let secs = start.elapsed().as_secs_f64();
        from = round;
        history.epoch_times.push(secs);
        let report = trainer.report(round, secs)?;
        if !report.row.is_empty() {
            run.metrics.row(index_name, round as usize, &report.row)?;
        }
        if !report.wall_clock.is_empty() {
            run.metrics.wall_clock(index_name, round as usize, &report.wall_clock)?;
        }
        for (curve, value) in &report.curves {
            history.push(curve, round as f64, *value);
        }
        if let Some(score) = report.score {
            history.keep_if_best(score, round as usize, || trainer.snapshot());
        }
        for grid in &report.pictures {
            crate::images::write_grid(&run.dir.file(&grid.name), &grid.images, grid.side, grid.cols, grid.scale)?;
        }
        if let Some(line) = &report.line {
            run.log(line);
        }
        run.checkpoint_if_due(round, || {
            let mut s = TrainState::new();
            s.put_part("trainer", trainer.state()?);
            history.put(&mut s)?;
            Ok(s)
        })?;
    }
    Ok(Fitted { history, training_time_s: run.elapsed() })
}
