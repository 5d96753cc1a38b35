//! `metrics.csv` (and `steps.csv`): a header from the first row, one line
//! per row, flushed as it is written, floats in their shortest round-trip
//! form (ryu; whole numbers as integers), no wall-clock values, so that two
//! runs of one seed compare with `cmp`. Its checkpoint position is the
//! file's length.

use crate::run_dir::RunDir;
use crate::sink::{MetricsSink, Row, SinkKind, Stream};
use anyhow::{bail, Context, Result};
use std::fs::File;
use std::path::{Path, PathBuf};

/// Its line in [`crate::metrics::SINKS`].
pub const KIND: SinkKind = SinkKind { name: "csv", create, resume };

/// A CSV file of metric rows.
pub struct CsvSink {
    writer: csv::Writer<File>,
    path: PathBuf,
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

fn file(dir: &RunDir, stream: Stream<'_>) -> PathBuf {
    dir.file(&format!("{}.csv", stream.name))
}

fn create(dir: &RunDir, stream: Stream<'_>) -> Result<Box<dyn MetricsSink>> {
    Ok(Box::new(CsvSink::create(&file(dir, stream))?))
}

fn resume(dir: &RunDir, stream: Stream<'_>, position: Option<&serde_json::Value>, _step: u64) -> Result<Box<dyn MetricsSink>> {
    let path = file(dir, stream);
    let keep: u64 = match position {
        Some(p) => serde_json::from_value(p.clone()).with_context(|| format!("the checkpoint's position of {} is damaged", path.display()))?,
        None => bail!("the checkpoint has no position of {}; the run cannot be continued", path.display()),
    };
    let len = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
    if len < keep {
        bail!("{} has {len} bytes, fewer than the {keep} it had at the checkpoint; the run cannot be continued", path.display());
    }
    Ok(Box::new(CsvSink::append(&path, keep)?))
}

impl CsvSink {
    /// Creates (truncates) the file.
    pub fn create(path: &Path) -> Result<Self> {
        let writer = csv::Writer::from_path(path).with_context(|| format!("cannot create {}", path.display()))?;
        Ok(Self { writer, path: path.to_path_buf(), header_written: false })
    }

    /// Continues the file after its first `keep` bytes (a resumed run: the
    /// rows written after the checkpoint are cut).
    pub fn append(path: &Path, keep: u64) -> Result<Self> {
        let file = crate::run_dir::cut_back_for_append(path, keep)?;
        Ok(Self { writer: csv::WriterBuilder::new().from_writer(file), path: path.to_path_buf(), header_written: keep > 0 })
    }
}

impl MetricsSink for CsvSink {
    fn write_wall_clock(&mut self, _row: &Row<'_>) -> Result<()> {
        Ok(())
    }

    fn write(&mut self, row: &Row<'_>) -> Result<()> {
        let name = || self.path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        if !self.header_written {
            let header: Vec<&str> = std::iter::once(row.index_name).chain(row.values.iter().map(|v| v.0)).collect();
            self.writer.write_record(&header).with_context(|| format!("writing {}", name()))?;
            self.header_written = true;
        }
        let cells: Vec<String> = std::iter::once(row.index.to_string()).chain(row.values.iter().map(|v| v.1.map(float).unwrap_or_default())).collect();
        self.writer.write_record(&cells).with_context(|| format!("writing {}", name()))?;
        self.writer.flush().with_context(|| format!("flushing {}", name()))?;
        Ok(())
    }

    fn position(&self) -> Result<serde_json::Value> {
        let len = std::fs::metadata(&self.path).map(|m| m.len()).with_context(|| format!("cannot read {}", self.path.display()))?;
        Ok(serde_json::json!(len))
    }
}
