//! The seam between a run's metric rows and where they go: the
//! [`MetricsSink`] trait, and [`SinkKind`], how a run folder makes a sink of
//! one kind or continues it from a checkpoint. [`crate::metrics::SINKS`] lists
//! the kinds (`metrics.csv` and TensorBoard); adding a sink is its file (a
//! type implementing [`MetricsSink`] and its `SinkKind`) plus one line there.
//! A sink saves and restores its own position: the checkpoint keeps each
//! kind's [`MetricsSink::position`] under the kind's name and knows nothing
//! of files.

use crate::run_dir::RunDir;
use anyhow::Result;

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

    /// How far the sink has got (every row written so far is kept), as the
    /// checkpoint stores it; its [`SinkKind::resume`] reads it back.
    fn position(&self) -> Result<serde_json::Value>;
}

/// A stream of rows of one run: `metrics.csv` and its companions (the
/// main stream, `name = "metrics"`), or a further one such as `steps.csv`.
#[derive(Debug, Clone, Copy)]
pub struct Stream<'a> {
    /// The stream's name: the stem of its CSV file, and of its checkpoint keys.
    pub name: &'a str,
    /// The run's main stream: a fresh one replaces what an earlier,
    /// interrupted attempt left, and records the run's config where the sink
    /// can (TensorBoard's `hyperparameters` text).
    pub main: bool,
}

impl Stream<'_> {
    /// The main stream, `metrics.csv`.
    pub const MAIN: Stream<'static> = Stream { name: "metrics", main: true };
}

/// A sink's position as a checkpoint stores it (`None`: the checkpoint has none of this kind).
pub type Position<'a> = Option<&'a serde_json::Value>;

/// A new sink, boxed.
pub type BoxedSink = Result<Box<dyn MetricsSink>>;

/// One kind of sink, as the registry ([`crate::metrics::SINKS`]) lists it.
#[derive(Clone, Copy)]
pub struct SinkKind {
    /// Its name: the key of its position in a checkpoint (`csv`, `tensorboard`).
    pub name: &'static str,
    /// Starts the sink of `stream` in a run folder.
    pub create: fn(&RunDir, Stream<'_>) -> BoxedSink,
    /// Continues the sink of `stream` from the `position` it had at a
    /// checkpoint taken at `step` (`None`: the checkpoint has no position of
    /// this kind), dropping what it wrote after that.
    pub resume: fn(&RunDir, Stream<'_>, Position<'_>, u64) -> BoxedSink,
}

impl std::fmt::Debug for SinkKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SinkKind").field("name", &self.name).finish_non_exhaustive()
    }
}
