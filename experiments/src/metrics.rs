//! `metrics.csv`: one row per finished training episode, flushed as it is
//! written, with no wall-clock values, so that two runs of one seed compare
//! with `cmp`. Floats are written in their shortest round-trip form (ryu).

use anyhow::{Context, Result};
use nnlab_agents::{EpisodeRecord, Stats};
use std::fs::File;
use std::path::Path;

/// The episode log of one run.
pub struct MetricsWriter {
    writer: csv::Writer<File>,
    header_written: bool,
}

fn float(v: f64) -> String {
    ryu::Buffer::new().format(v).to_string()
}

impl MetricsWriter {
    /// Creates (truncates) the file.
    pub fn create(path: &Path) -> Result<Self> {
        let writer = csv::Writer::from_path(path).with_context(|| format!("cannot create {}", path.display()))?;
        Ok(Self { writer, header_written: false })
    }

    /// Appends one episode with the agent's statistics and flushes it; the first row
    /// also writes the header `global_step,episode_return,episode_length,<stat names>`.
    pub fn write(&mut self, ep: &EpisodeRecord, stats: Stats<'_>) -> Result<()> {
        if !self.header_written {
            let mut header = vec!["global_step", "episode_return", "episode_length"];
            header.extend(stats.iter().map(|s| s.0));
            self.writer.write_record(&header).context("writing metrics.csv")?;
            self.header_written = true;
        }
        let mut row = vec![ep.global_step.to_string(), float(ep.episode_return), ep.episode_length.to_string()];
        row.extend(stats.iter().map(|s| s.1.map(float).unwrap_or_default()));
        self.writer.write_record(&row).context("writing metrics.csv")?;
        self.writer.flush().context("flushing metrics.csv")?;
        Ok(())
    }

    /// Appends one row `<index>,<values...>` (e.g. an epoch or a step) and flushes it;
    /// the first row also writes the header `<index_name>,<value names...>`.
    pub fn write_indexed(&mut self, index_name: &str, index: usize, values: &[(&str, f64)]) -> Result<()> {
        if !self.header_written {
            let mut header = vec![index_name];
            header.extend(values.iter().map(|v| v.0));
            self.writer.write_record(&header).context("writing metrics.csv")?;
            self.header_written = true;
        }
        let mut row = vec![index.to_string()];
        row.extend(values.iter().map(|v| float(v.1)));
        self.writer.write_record(&row).context("writing metrics.csv")?;
        self.writer.flush().context("flushing metrics.csv")?;
        Ok(())
    }
}
