//! TensorBoard event files: a [`MetricsSink`] that writes every metric row
//! into `<run>/tb/` as scalar summaries, under the tag names CleanRL users
//! know (`charts/episodic_return`, `losses/td_loss`, `eval/test_loss`, ...;
//! see [`tag`]), plus `charts/SPS` for RL runs and the resolved config as a
//! `hyperparameters` text summary.
//!
//! The record framing (length, masked CRC-32C) is `tensorboard-rs`'s
//! `RecordWriter` and the messages are `tensorboard-proto`'s `Event` and
//! `Summary`; nnlab only drives them, synchronously: a row is on disk (flushed
//! to the OS, as `metrics.csv` is) when [`MetricsSink::write`] returns, and an
//! I/O error is an error, not a panic in a writer thread.

use crate::run_dir::RunDir;
use crate::sink::{MetricsSink, Row, SinkKind, Stream};
use anyhow::{Context, Result};
use protobuf::{Message, RepeatedField};
use std::fs::File;
use std::io::BufWriter;
use std::path::{Path, PathBuf};
use std::time::{Instant, SystemTime, UNIX_EPOCH};
use tensorboard_proto::event::{Event, SessionLog, SessionLog_SessionStatus};
use tensorboard_proto::summary::{Summary, SummaryMetadata, SummaryMetadata_PluginData, Summary_Value};
use tensorboard_proto::tensor::TensorProto;
use tensorboard_proto::types::DataType;
use tensorboard_rs::record_writer::RecordWriter;

/// The TensorBoard tag of metric column `name` in rows indexed by `index_name`:
/// CleanRL's names for RL runs (`global_step`); for the generative runs
/// `losses/*` for training statistics per step, `epoch/*` for their means per
/// epoch, and `eval/*` for evaluations.
pub fn tag(index_name: &str, name: &str) -> String {
    if index_name == "global_step" {
        let known = match name {
            "episode_return" => "charts/episodic_return",
            "episode_length" => "charts/episodic_length",
            "learning_rate" => "charts/learning_rate",
            "epsilon" => "charts/epsilon",
            "loss" => "losses/td_loss",
            "mean_q" => "losses/q_values",
            "clip_fraction" => "losses/clipfrac",
            _ => "",
        };
        if !known.is_empty() {
            return known.to_string();
        }
        return format!("losses/{name}");
    }
    let is_training_statistic = matches!(name, "d_real" | "d_fake") || (name.ends_with("loss") && !name.starts_with("test_"));
    match (is_training_statistic, index_name) {
        // Per-epoch means of the training statistics, beside their per-step values in losses/*.
        (true, "epoch") => format!("epoch/{name}"),
        (true, _) => format!("losses/{name}"),
        (false, _) => format!("eval/{name}"),
    }
}

/// Its line in [`crate::metrics::SINKS`]. Its checkpoint position is the
/// event file's name and length.
pub const KIND: SinkKind = SinkKind { name: "tensorboard", create: create_for_run, resume: resume_for_run };

/// The run's event files: `<run>/tb/`.
fn folder(dir: &RunDir) -> PathBuf {
    dir.file("tb")
}

/// A new event file for `stream`; the main stream first clears what an
/// earlier, interrupted attempt left in `tb/`, and records the run's
/// `config.toml` (when it is there) as text.
fn create_for_run(dir: &RunDir, stream: Stream<'_>) -> Result<Box<dyn MetricsSink>> {
    let tb = folder(dir);
    let mut config = None;
    if stream.main {
        if tb.exists() {
            std::fs::remove_dir_all(&tb).with_context(|| format!("cannot clear {}", tb.display()))?;
        }
        config = std::fs::read_to_string(dir.file("config.toml")).ok();
    }
    Ok(Box::new(TensorBoardSink::create(&tb, config.as_deref())?))
}

/// Continues the event file recorded at the checkpoint; without one (or
/// when it is gone), a new file marks the restart after `step`, and
/// TensorBoard drops the later events of the earlier files.
fn resume_for_run(dir: &RunDir, _stream: Stream<'_>, position: Option<&serde_json::Value>, step: u64) -> Result<Box<dyn MetricsSink>> {
    let tb = folder(dir);
    let recorded: Option<(String, u64)> = position.and_then(|p| serde_json::from_value(p.clone()).ok()).flatten();
    match recorded {
        Some((name, bytes)) if tb.join(&name).is_file() => Ok(Box::new(TensorBoardSink::append(&tb.join(name), bytes)?)),
        _ => {
            let mut sink = TensorBoardSink::create(&tb, None)?;
            sink.restart_at(step + 1)?;
            Ok(Box::new(sink))
        }
    }
}

/// `<run>/tb/events.out.tfevents.<time>.<host>.<pid>.nnlab`: one event file
/// per process that writes into the run (a resumed run adds one).
pub struct TensorBoardSink {
    writer: RecordWriter<BufWriter<File>>,
    path: PathBuf,
    started: Instant,
    first_step: Option<u64>,
}

fn wall_time() -> f64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs_f64()).unwrap_or(0.0)
}

impl TensorBoardSink {
    /// Creates `dir` and a new event file in it, starting with the file
    /// version record and, when given, the run's config as `hyperparameters`
    /// text (a Markdown table of its keys, as CleanRL writes it).
    pub fn create(dir: &Path, config_toml: Option<&str>) -> Result<Self> {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
        let host = gethostname::gethostname().to_string_lossy().replace(|c: char| !c.is_ascii_alphanumeric() && c != '-', "_");
        // TensorBoard reads a folder's files in name order: a resumed run's file must sort after the earlier ones.
        let earlier = std::fs::read_dir(dir)
            .with_context(|| format!("cannot read {}", dir.display()))?
            .filter_map(|e| e.ok()?.file_name().to_str()?.strip_prefix("events.out.tfevents.")?.split('.').next()?.parse::<u64>().ok())
            .max();
        let now = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
        let secs = earlier.map_or(now, |t| now.max(t + 1));
        let path = dir.join(format!("events.out.tfevents.{secs:010}.{host}.{}.nnlab", std::process::id()));
        let file = File::options().create_new(true).write(true).open(&path).with_context(|| format!("cannot create {}", path.display()))?;
        let mut sink = Self { writer: RecordWriter::new(BufWriter::new(file)), path, started: Instant::now(), first_step: None };
        let mut version = Event::new();
        version.set_wall_time(wall_time());
        version.set_file_version("brain.Event:2".into());
        sink.record(&version)?;
        if let Some(config) = config_toml {
            let mut event = Event::new();
            event.set_wall_time(wall_time());
            event.set_summary(text_summary("hyperparameters", &config_table(config)));
            sink.record(&event)?;
        }
        sink.flush()?;
        Ok(sink)
    }

    /// Continues the event file at `path` after its first `keep` bytes (a
    /// resumed run: the events written after the checkpoint are cut, as the
    /// rows of `metrics.csv` are, so no step appears twice in the file).
    pub fn append(path: &Path, keep: u64) -> Result<Self> {
        let file = crate::run_dir::cut_back_for_append(path, keep)?;
        Ok(Self { writer: RecordWriter::new(BufWriter::new(file)), path: path.to_path_buf(), started: Instant::now(), first_step: None })
    }

    /// The event file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Marks a restart at `step` (a resumed run): TensorBoard then drops the
    /// events of earlier files at `step` and after, which the crashed process
    /// wrote past the checkpoint, so no step appears twice.
    pub fn restart_at(&mut self, step: u64) -> Result<()> {
        let mut log = SessionLog::new();
        log.set_status(SessionLog_SessionStatus::START);
        let mut event = Event::new();
        event.set_wall_time(wall_time());
        event.set_step(step as i64);
        event.set_session_log(log);
        self.record(&event)?;
        self.flush()
    }

    fn record(&mut self, event: &Event) -> Result<()> {
        let bytes = event.write_to_bytes().context("encoding a TensorBoard event")?;
        self.writer.write(&bytes).with_context(|| format!("cannot write {}", self.path.display()))
    }

    fn flush(&mut self) -> Result<()> {
        self.writer.flush().with_context(|| format!("cannot write {}", self.path.display()))
    }
}

impl MetricsSink for TensorBoardSink {
    fn position(&self) -> Result<serde_json::Value> {
        let len = std::fs::metadata(&self.path).map(|m| m.len()).with_context(|| format!("cannot read {}", self.path.display()))?;
        let name = self.path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        Ok(serde_json::json!(Some((name, len))))
    }

    fn write(&mut self, row: &Row<'_>) -> Result<()> {
        let mut values: Vec<Summary_Value> = Vec::new();
        for (name, value) in row.values {
            if let Some(v) = value {
                let mut sv = Summary_Value::new();
                sv.set_tag(tag(row.index_name, name));
                sv.set_simple_value(*v as f32);
                values.push(sv);
            }
        }
        if row.index_name == "global_step" {
            // Steps per second since this process started writing (wall clock: TensorBoard only, never metrics.csv).
            let first = *self.first_step.get_or_insert(row.index);
            let seconds = self.started.elapsed().as_secs_f64();
            if row.index > first && seconds > 0.0 {
                let mut sv = Summary_Value::new();
                sv.set_tag("charts/SPS".into());
                sv.set_simple_value(((row.index - first) as f64 / seconds) as f32);
                values.push(sv);
            }
        }
        let mut summary = Summary::new();
        summary.set_value(RepeatedField::from_vec(values));
        let mut event = Event::new();
        event.set_wall_time(wall_time());
        event.set_step(row.index as i64);
        event.set_summary(summary);
        self.record(&event)?;
        self.flush()
    }
}

/// A text summary (TensorBoard's text plugin: a string tensor).
fn text_summary(tag: &str, text: &str) -> Summary {
    let mut tensor = TensorProto::new();
    tensor.set_dtype(DataType::DT_STRING);
    tensor.set_string_val(RepeatedField::from_vec(vec![text.as_bytes().to_vec()]));
    let mut plugin = SummaryMetadata_PluginData::new();
    plugin.set_plugin_name("text".into());
    let mut metadata = SummaryMetadata::new();
    metadata.set_plugin_data(plugin);
    let mut value = Summary_Value::new();
    value.set_tag(tag.into());
    value.set_metadata(metadata);
    value.set_tensor(tensor);
    let mut summary = Summary::new();
    summary.set_value(RepeatedField::from_vec(vec![value]));
    summary
}

/// CleanRL's hyperparameter table: `|param|value|`, one row per key (tables
/// flattened as `table.key`), from the run's `config.toml`.
fn config_table(config_toml: &str) -> String {
    fn rows(prefix: &str, table: &toml::Table, out: &mut String) {
        for (key, value) in table {
            let key = if prefix.is_empty() { key.clone() } else { format!("{prefix}.{key}") };
            match value {
                toml::Value::Table(t) => rows(&key, t, out),
                v => out.push_str(&format!("|{key}|{}|\n", v.to_string().replace('|', "\\|"))),
            }
        }
    }
    let mut out = String::from("|param|value|\n|-|-|\n");
    match config_toml.parse::<toml::Table>() {
        Ok(table) => rows("", &table, &mut out),
        Err(_) => out = format!("```toml\n{config_toml}\n```"),
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_follow_cleanrl_for_rl_and_split_losses_from_evaluations() {
        assert_eq!(tag("global_step", "episode_return"), "charts/episodic_return");
        assert_eq!(tag("global_step", "loss"), "losses/td_loss");
        assert_eq!(tag("global_step", "mean_q"), "losses/q_values");
        assert_eq!(tag("global_step", "approx_kl"), "losses/approx_kl");
        assert_eq!(tag("global_step", "clip_fraction"), "losses/clipfrac");
        assert_eq!(tag("epoch", "train_loss"), "epoch/train_loss");
        assert_eq!(tag("step", "loss"), "losses/loss");
        assert_eq!(tag("epoch", "test_loss"), "eval/test_loss");
        assert_eq!(tag("epoch", "frechet_distance"), "eval/frechet_distance");
        assert_eq!(tag("step", "d_loss"), "losses/d_loss");
        assert_eq!(tag("step", "modes_covered"), "eval/modes_covered");
    }

    #[test]
    fn the_config_becomes_a_markdown_table() {
        let t = config_table("seed = 1\nhidden = [64, 64]\n[run]\nnumerics = \"portable\"\n");
        assert_eq!(t, "|param|value|\n|-|-|\n|hidden|[64, 64]|\n|run.numerics|\"portable\"|\n|seed|1|\n");
    }
}
