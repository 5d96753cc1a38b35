//! Where a run's numbers go: [`Metrics`] takes rows (an index such as the
//! global step or the epoch, then named values) and hands each to every
//! sink of [`SINKS`]: `metrics.csv` ([`crate::csv_sink`]) and TensorBoard
//! event files ([`crate::tensorboard`]), each one implementation of
//! [`MetricsSink`]. Every binary writes through it; none calls a file writer
//! itself. A checkpoint stores each sink's own position
//! ([`Metrics::save_position`]) and a resumed run continues every sink from
//! it ([`Metrics::resume`]).
//!
//! [`Metrics`] also guards the run: a value that becomes NaN or infinite is
//! written (as the evidence), then ends the run with an error naming the
//! column and the step, unless the user asked to keep going (`--allow-nan`).

use crate::run_dir::RunDir;
pub use crate::sink::{MetricsSink, Row, SinkKind, Stream};
use anyhow::{bail, Result};
use nnlab_agents::{EpisodeRecord, Stats};
use nnlab_torch::state::TrainState;
use std::path::Path;

/// The kinds of sink every run folder writes, one line each.
pub const SINKS: &[SinkKind] = &[crate::csv_sink::KIND, crate::tensorboard::KIND];

/// The metrics of one run: its sinks and the NaN guard.
pub struct Metrics {
    sinks: Vec<(&'static str, Box<dyn MetricsSink>)>,
    allow_non_finite: bool,
}

impl Metrics {
    /// Metrics written to the CSV file at `path` alone (no other sink, no
    /// checkpoints); with `allow_non_finite`, NaN or infinite values are
    /// written and the run goes on.
    pub fn csv(path: &Path, allow_non_finite: bool) -> Result<Self> {
        Ok(Self { sinks: vec![(crate::csv_sink::KIND.name, Box::new(crate::csv_sink::CsvSink::create(path)?))], allow_non_finite })
    }

    /// The metrics of a run folder: `metrics.csv` and the other sinks of
    /// [`SINKS`] (TensorBoard, with the run's `config.toml` as text).
    /// Anything an earlier, interrupted attempt wrote there is replaced.
    pub fn for_run(dir: &RunDir, allow_non_finite: bool) -> Result<Self> {
        Self::create(dir, Stream::MAIN, allow_non_finite)
    }

    /// A stream of rows of a run folder (the main one, or a further one, say
    /// per optimisation step beside the per-epoch `metrics.csv`), new: one sink
    /// of each kind of [`SINKS`].
    pub fn create(dir: &RunDir, stream: Stream<'_>, allow_non_finite: bool) -> Result<Self> {
        let sinks = SINKS.iter().map(|kind| Ok((kind.name, (kind.create)(dir, stream)?))).collect::<Result<_>>()?;
        Ok(Self { sinks, allow_non_finite })
    }

    /// The stream continued from the checkpoint `state` (its position under
    /// `stream.name`, stored by [`Metrics::save_position`]): what the sinks
    /// wrote after it is cut, and they go on. Returns the checkpoint's step.
    pub fn resume(dir: &RunDir, stream: Stream<'_>, allow_non_finite: bool, state: &TrainState) -> Result<(Self, u64)> {
        let step: u64 = state.get(&format!("{}.step", stream.name))?;
        let sinks = SINKS
            .iter()
            .map(|kind| {
                let position: Option<serde_json::Value> = state.get(&format!("{}.{}", stream.name, kind.name)).ok();
                Ok((kind.name, (kind.resume)(dir, stream, position.as_ref(), step)?))
            })
            .collect::<Result<_>>()?;
        Ok((Self { sinks, allow_non_finite }, step))
    }

    /// Stores in `state` where each sink is now (every row is flushed as it
    /// is written), as a checkpoint at `step` of `stream` records it.
    pub fn save_position(&self, state: &mut TrainState, stream: Stream<'_>, step: u64) -> Result<()> {
        state.put(&format!("{}.step", stream.name), &step)?;
        for (name, sink) in &self.sinks {
            state.put(&format!("{}.{name}", stream.name), &sink.position()?)?;
        }
        Ok(())
    }

    /// Whether NaN or infinite values are let through (`--allow-nan`).
    pub fn allows_non_finite(&self) -> bool {
        self.allow_non_finite
    }

    /// Adds another sink (`name`: its checkpoint key).
    pub fn add_sink(&mut self, name: &'static str, sink: Box<dyn MetricsSink>) {
        self.sinks.push((name, sink));
    }

    /// Writes `row` to every sink, then fails if a value is NaN or infinite
    /// (unless allowed).
    pub fn write(&mut self, row: &Row<'_>) -> Result<()> {
        for (_, sink) in &mut self.sinks {
            sink.write(row)?;
        }
        if !self.allow_non_finite {
            if let Some((name, v)) = row.values.iter().find_map(|(n, v)| v.filter(|x| !x.is_finite()).map(|x| (n, x))) {
                bail!(
                    "{name} became {v} at {} {} (the run diverged: a learning rate too high?); metrics.csv keeps the rows so far, --allow-nan keeps going",
                    row.index_name,
                    row.index
                );
            }
        }
        Ok(())
    }

    /// A row of wall-clock values: to the sinks that take them (TensorBoard),
    /// not to `metrics.csv`, which stays byte-identical between runs of one seed.
    pub fn wall_clock(&mut self, index_name: &str, index: usize, values: &[(&str, f64)]) -> Result<()> {
        self.side_values(index_name, index, values)
    }

    /// A row for the sinks that take rows of any shape (TensorBoard), kept out
    /// of `metrics.csv`, whose columns its first row fixed (an RL run's
    /// evaluations during training, say, beside its per-episode rows).
    pub fn side_values(&mut self, index_name: &str, index: usize, values: &[(&str, f64)]) -> Result<()> {
        let values: Vec<(&str, Option<f64>)> = values.iter().map(|(n, v)| (*n, Some(*v))).collect();
        for (_, sink) in &mut self.sinks {
            sink.write_wall_clock(&Row { index_name, index: index as u64, values: &values })?;
        }
        Ok(())
    }

    /// A finished RL episode: `global_step`, then `episode_return`,
    /// `episode_length` and the agent's statistics.
    pub fn episode(&mut self, ep: &EpisodeRecord, stats: Stats<'_>) -> Result<()> {
        let mut values: Vec<(&str, Option<f64>)> = vec![("episode_return", Some(ep.episode_return)), ("episode_length", Some(ep.episode_length as f64))];
        values.extend(stats.iter().map(|(n, v)| (*n, *v)));
        self.write(&Row { index_name: "global_step", index: ep.global_step as u64, values: &values })
    }

    /// A row whose values may be undefined (`None`: an empty cell).
    pub fn row(&mut self, index_name: &str, index: usize, values: &[(&str, Option<f64>)]) -> Result<()> {
        self.write(&Row { index_name, index: index as u64, values })
    }

    /// A row of values that all exist (an epoch of a generative model, say).
    pub fn values(&mut self, index_name: &str, index: usize, values: &[(&str, f64)]) -> Result<()> {
        let values: Vec<(&str, Option<f64>)> = values.iter().map(|(n, v)| (*n, Some(*v))).collect();
        self.write(&Row { index_name, index: index as u64, values: &values })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_rows_and_the_nan_guard() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("metrics.csv");
        let mut m = Metrics::csv(&path, false).unwrap();
        m.values("epoch", 1, &[("loss", 0.5), ("acc", 1.0)]).unwrap();
        let e = m.values("epoch", 2, &[("loss", f64::NAN), ("acc", 1.0)]).unwrap_err().to_string();
        assert!(e.contains("loss became NaN at epoch 2") && e.contains("--allow-nan"), "{e}");
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "epoch,loss,acc\n1,0.5,1\n2,NaN,1\n", "the evidence is kept");
        let mut keep = Metrics::csv(&dir.path().join("b.csv"), true).unwrap();
        keep.values("epoch", 1, &[("loss", f64::INFINITY)]).unwrap();
    }
}
