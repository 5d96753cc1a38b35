//! `metrics.csv`: one row per event, flushed as it is written, with no
//! wall-clock values, so that two runs of one seed compare with `cmp`.

use anyhow::{Context, Result};
use serde::Serialize;
use std::fs::File;
use std::path::Path;

/// A CSV file of `R` rows with a header from `R`'s field names.
pub struct MetricsWriter {
    writer: csv::Writer<File>,
}

impl MetricsWriter {
    /// Creates (truncates) the file.
    pub fn create(path: &Path) -> Result<Self> {
        let writer = csv::Writer::from_path(path).with_context(|| format!("cannot create {}", path.display()))?;
        Ok(Self { writer })
    }

    /// Appends one row and flushes it to the file.
    pub fn write<R: Serialize>(&mut self, row: &R) -> Result<()> {
        self.writer.serialize(row).context("writing metrics.csv")?;
        self.writer.flush().context("flushing metrics.csv")?;
        Ok(())
    }
}
