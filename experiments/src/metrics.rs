//! Where a run's numbers go: [`Metrics`] takes rows (an index such as the
//! global step or the epoch, then named values) and hands each to every
//! [`MetricsSink`]: `metrics.csv` ([`CsvSink`]) and TensorBoard event files
//! ([`crate::tensorboard::TensorBoardSink`]), each one implementation of the trait. Every binary writes through
//! it; none calls a file writer itself.
//!
//! [`Metrics`] also guards the run: a value that becomes NaN or infinite is
//! written (as the evidence), then ends the run with an error naming the
//! column and the step, unless the user asked to keep going (`--allow-nan`).

use anyhow::{bail, Context, Result};
use nnlab_agents::{EpisodeRecord, Stats};
use std::fs::File;
use std::path::Path;

/// One row of metrics: `index_name = index`, then the named values (`None`:
/// no value yet, an empty cell).
#[derive(Debug, Clone, Copy)]
pub struct Row<'a> {
    /// What the index counts (`global_step`, `epoch`, `step`).
    pub index_name: &'a str,
    /// Its value.
    pub index: u64,
    /// The values, the same names in the same order in every row of a run.
    pub values: &'a [(&'a str, Option<f64>)],
}

/// A destination of metric rows.
pub trait MetricsSink {
    /// Records one row; it must be on disk (or wherever the sink keeps it)
    /// when this returns, so that a crash loses nothing written.
    fn write(&mut self, row: &Row<'_>) -> Result<()>;

    /// Records a row of wall-clock values (seconds per epoch, say): those
    /// differ between two runs of one seed, so sinks that must compare with
    /// `cmp` (`metrics.csv`) leave them out.
    fn write_wall_clock(&mut self, row: &Row<'_>) -> Result<()> {
        self.write(row)
    }
}

/// `metrics.csv`: a header from the first row, one line per row, flushed as
/// it is written, floats in their shortest round-trip form (ryu; whole numbers as integers), no
/// wall-clock values, so that two runs of one seed compare with `cmp`.
pub struct CsvSink {
    writer: csv::Writer<File>,
    header_written: bool,
}

/// Shortest round-trip form; whole numbers without a fraction (`23`, not `23.0`).
fn float(v: f64) -> String {
    if v.is_finite() && v.fract() == 0.0 && v.abs() < 9.007_199_254_740_992e15 {
        format!("{}", v as i64)
    } else {
        ryu::Buffer::new().format(v).to_string()
    }
}

impl CsvSink {
    /// Creates (truncates) the file.
    pub fn create(path: &Path) -> Result<Self> {
        let writer = csv::Writer::from_path(path).with_context(|| format!("cannot create {}", path.display()))?;
        Ok(Self { writer, header_written: false })
    }

    /// Continues the file after its first `keep` bytes (a resumed run: the
    /// rows written after the checkpoint are cut).
    pub fn append(path: &Path, keep: u64) -> Result<Self> {
        let file = crate::run_dir::cut_back_for_append(path, keep)?;
        Ok(Self { writer: csv::WriterBuilder::new().from_writer(file), header_written: keep > 0 })
    }
}

impl MetricsSink for CsvSink {
    fn write_wall_clock(&mut self, _row: &Row<'_>) -> Result<()> {
        Ok(())
    }

    fn write(&mut self, row: &Row<'_>) -> Result<()> {
        if !self.header_written {
            let header: Vec<&str> = std::iter::once(row.index_name).chain(row.values.iter().map(|v| v.0)).collect();
            self.writer.write_record(&header).context("writing metrics.csv")?;
            self.header_written = true;
        }
        let cells: Vec<String> = std::iter::once(row.index.to_string()).chain(row.values.iter().map(|v| v.1.map(float).unwrap_or_default())).collect();
        self.writer.write_record(&cells).context("writing metrics.csv")?;
        self.writer.flush().context("flushing metrics.csv")?;
        Ok(())
    }
}

/// How far a run's metric files had got at a checkpoint.
#[derive(Debug, Clone, PartialEq)]
pub struct MetricsPosition {
    /// The checkpoint's step (or epoch).
    pub step: u64,
    /// The length of `metrics.csv`.
    pub csv_bytes: u64,
    /// The event file in `tb/` and its length.
    pub tb: Option<(String, u64)>,
}

/// The metrics of one run: its sinks and the NaN guard.
pub struct Metrics {
    sinks: Vec<Box<dyn MetricsSink>>,
    allow_non_finite: bool,
    csv: std::path::PathBuf,
    /// The TensorBoard event file being written, if any.
    tb: Option<std::path::PathBuf>,
}

impl Metrics {
    /// Metrics written to `metrics.csv` at `path`; with `allow_non_finite`,
    /// NaN or infinite values are written and the run goes on.
    pub fn csv(path: &Path, allow_non_finite: bool) -> Result<Self> {
        Ok(Self { sinks: vec![Box::new(CsvSink::create(path)?)], allow_non_finite, csv: path.to_path_buf(), tb: None })
    }

    /// The metrics of a run folder: `metrics.csv` and TensorBoard event files
    /// in `tb/` (with the run's `config.toml` as text, when it is there).
    /// Anything an earlier, interrupted attempt wrote there is replaced.
    pub fn for_run(dir: &crate::run_dir::RunDir, allow_non_finite: bool) -> Result<Self> {
        let tb = dir.file("tb");
        if tb.exists() {
            std::fs::remove_dir_all(&tb).with_context(|| format!("cannot clear {}", tb.display()))?;
        }
        Self::create_stream(dir, "metrics.csv", allow_non_finite, true)
    }

    /// A further stream of rows of a run (say, per optimisation step beside
    /// the per-epoch `metrics.csv`): its own CSV file `csv_name` and its own
    /// event file in `tb/`.
    pub fn create_stream(dir: &crate::run_dir::RunDir, csv_name: &str, allow_non_finite: bool, with_config: bool) -> Result<Self> {
        let mut metrics = Self::csv(&dir.file(csv_name), allow_non_finite)?;
        let config = if with_config { std::fs::read_to_string(dir.file("config.toml")).ok() } else { None };
        let sink = crate::tensorboard::TensorBoardSink::create(&dir.file("tb"), config.as_deref())?;
        metrics.tb = Some(sink.path().to_path_buf());
        metrics.add_sink(Box::new(sink));
        Ok(metrics)
    }

    /// The metrics of a run folder continued from a checkpoint taken at
    /// `position`: the rows and events written after it are cut from
    /// `metrics.csv` and the event file, which then go on. (Without a
    /// recorded event file, a new one marks the restart after the step, and
    /// TensorBoard drops the later events of the earlier files.)
    pub fn resume_for_run(dir: &crate::run_dir::RunDir, allow_non_finite: bool, position: &MetricsPosition) -> Result<Self> {
        Self::resume_stream(dir, "metrics.csv", allow_non_finite, position)
    }

    /// [`Metrics::resume_for_run`] for the stream written to `csv_name`.
    pub fn resume_stream(dir: &crate::run_dir::RunDir, csv_name: &str, allow_non_finite: bool, position: &MetricsPosition) -> Result<Self> {
        let csv = dir.file(csv_name);
        let tb_dir = dir.file("tb");
        let tb = match &position.tb {
            Some((name, bytes)) if tb_dir.join(name).is_file() => crate::tensorboard::TensorBoardSink::append(&tb_dir.join(name), *bytes)?,
            _ => {
                let mut sink = crate::tensorboard::TensorBoardSink::create(&tb_dir, None)?;
                sink.restart_at(position.step + 1)?;
                sink
            }
        };
        let tb_path = tb.path().to_path_buf();
        Ok(Self { sinks: vec![Box::new(CsvSink::append(&csv, position.csv_bytes)?), Box::new(tb)], allow_non_finite, csv, tb: Some(tb_path) })
    }

    /// Where the files are now (every row is flushed as it is written): the
    /// position a checkpoint at `step` records.
    pub fn position(&self, step: u64) -> Result<MetricsPosition> {
        let len = |p: &Path| std::fs::metadata(p).map(|m| m.len()).with_context(|| format!("cannot read {}", p.display()));
        let tb = match &self.tb {
            Some(p) => Some((p.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default(), len(p)?)),
            None => None,
        };
        Ok(MetricsPosition { step, csv_bytes: len(&self.csv)?, tb })
    }

    /// Whether NaN or infinite values are let through (`--allow-nan`).
    pub fn allows_non_finite(&self) -> bool {
        self.allow_non_finite
    }

    /// Adds another sink.
    pub fn add_sink(&mut self, sink: Box<dyn MetricsSink>) {
        self.sinks.push(sink);
    }

    /// Writes `row` to every sink, then fails if a value is NaN or infinite
    /// (unless allowed).
    pub fn write(&mut self, row: &Row<'_>) -> Result<()> {
        for sink in &mut self.sinks {
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
        for sink in &mut self.sinks {
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
