//! Checkpoints of a run folder: `<run>/checkpoint/state.safetensors`, one
//! file holding the trainer's complete state (a [`TrainState`]: weights,
//! optimiser, random streams, environments, buffers, normalisers, counters)
//! and the run's own (how far `metrics.csv` had got, the curves the plots
//! draw, the wall time so far). It is replaced atomically (a temporary file
//! in the same folder, synced, then renamed), so a run killed at any moment,
//! also while writing it, leaves either the previous checkpoint or the new one.
//!
//! `--resume RUN_DIR` reads it back: the rows of `metrics.csv` and the events
//! of the TensorBoard file written after the checkpoint are cut, and training continues
//! from the saved state, so that the finished run's `metrics.csv` and weights
//! are byte-identical to an uninterrupted run's.

use crate::config::RunRecord;
use crate::metrics::{Metrics, Stream};
use crate::run_dir::RunDir;
use anyhow::{Context, Result};
use nnlab_torch::state::TrainState;
use std::path::Path;

/// The checkpoint folder inside a run folder.
pub const DIR: &str = "checkpoint";
/// The state file inside it.
pub const FILE: &str = "state.safetensors";

/// When to take checkpoints: every `every` steps (or epochs).
#[derive(Debug, Clone, Copy)]
pub struct Schedule {
    every: u64,
    next: u64,
}

impl Schedule {
    /// Every `every` steps, the first after `after` (0 for a new run, the
    /// checkpoint's step for a resumed one).
    pub fn new(every: u64, after: u64) -> Self {
        Self { every, next: (after / every + 1) * every }
    }

    /// Whether a checkpoint is due at `step`.
    pub fn due(&self, step: u64) -> bool {
        step >= self.next
    }

    /// Records a checkpoint taken at `step`.
    pub fn taken(&mut self, step: u64) {
        self.next = (step / self.every + 1) * self.every;
    }
}

/// Writes `state` as the run's checkpoint, atomically.
pub fn write(run: &RunDir, state: &TrainState) -> Result<()> {
    let dir = run.file(DIR);
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    crate::run_dir::write_atomic(&dir.join(FILE), &state.to_bytes()?)
}

/// The run's last checkpoint, if it has one (the temporary files of an
/// interrupted write are gone already: [`open_for_resume`] removes them).
pub fn read(run_dir: &Path) -> Result<Option<TrainState>> {
    let path = run_dir.join(DIR).join(FILE);
    if !path.exists() {
        return Ok(None);
    }
    let bytes = std::fs::read(&path).with_context(|| format!("cannot read {}", path.display()))?;
    TrainState::from_bytes(&bytes).map(Some).with_context(|| format!("{} is damaged", path.display()))
}

/// Opens the run in `dir` to continue it (`--resume`): its folder (locked)
/// and the `[run]` record of its `config.toml`, which `check` accepts or
/// refuses (the binary that resumes must be the one that made it). `None`
/// when the run is finished already (`summary.json`): that is said, with the
/// `results:` line, and there is nothing to do.
pub fn open_for_resume(dir: &Path, name: &str, quiet: bool, check: impl FnOnce(&RunRecord) -> Result<()>) -> Result<Option<(RunDir, RunRecord)>> {
    let run = RunDir::open(dir)?;
    let record = crate::config::run_record(&run.file("config.toml"))?
        .ok_or_else(|| anyhow::anyhow!("{}: config.toml has no [run] table (not written by nnlab); cannot resume", dir.display()))?;
    check(&record)?;
    remove_partial_files(run.path());
    if run.file("summary.json").exists() {
        if !quiet {
            eprintln!("{name}: {} is finished already (summary.json); nothing to resume", dir.display());
        }
        crate::out!("results: {}", dir.display());
        return Ok(None);
    }
    Ok(Some((run, record)))
}

/// Removes the temporary files (`.partial-*`) that atomic writes left behind
/// when the run was killed mid-write (kill -9, power loss), in `dir` and its
/// subfolders; they never hold anything a run reads.
fn remove_partial_files(dir: &Path) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for entry in entries.flatten() {
        let path = entry.path();
        let Ok(kind) = entry.file_type() else { continue };
        if kind.is_dir() {
            remove_partial_files(&path);
        } else if kind.is_file() && entry.file_name().to_string_lossy().starts_with(".partial-") {
            let _ = std::fs::remove_file(&path);
        }
    }
}

/// The key of the run's `config.toml` text in its checkpoints.
const CONFIG_KEY: &str = "config.toml";

/// The text of the run's `config.toml`, read once when the run starts or
/// resumes: what its checkpoints record ([`put_config`]), so that an edit
/// made while the run goes on is caught on resume too.
pub fn config_text(run: &RunDir) -> Result<String> {
    let path = run.file("config.toml");
    std::fs::read_to_string(&path).with_context(|| format!("cannot read {}", path.display()))
}

/// Records the run's `config.toml` text ([`config_text`]) in `state`, so that a resume can tell an edited one.
pub fn put_config(state: &mut TrainState, text: &str) -> Result<()> {
    state.put(CONFIG_KEY, text)
}

/// Refuses to resume from `state` when the run's `config.toml` (its text
/// `now`, from [`config_text`]) is not the one the checkpoint was written
/// under: the checkpoint holds the state of that config's run, and resuming
/// it under another would make a run that neither config describes.
/// Checkpoints written before the config was recorded pass.
pub fn check_config(run: &RunDir, now: &str, state: &TrainState) -> Result<()> {
    if !state.contains(CONFIG_KEY) {
        return Ok(());
    }
    let then: String = state.get(CONFIG_KEY)?;
    if now == then {
        return Ok(());
    }
    let (mut a, mut b) = (now.lines(), then.lines());
    let mut line = 1;
    let diff = loop {
        match (a.next(), b.next()) {
            (Some(x), Some(y)) if x == y => line += 1,
            (x, y) => break format!("line {line} reads `{}`, the checkpoint's `{}`", x.unwrap_or("").trim(), y.unwrap_or("").trim()),
        }
    };
    anyhow::bail!(
        "{} was edited after the run's checkpoint was written ({diff}); a resumed run continues the run as it started: undo the edit, or start a new run with --config",
        run.file("config.toml").display()
    )
}

/// The metrics of a run (`metrics.csv` and its event file): continued from
/// `state`'s position when it resumes from a checkpoint, new otherwise.
/// Returns them with the checkpoint's step (0 for a new start).
pub fn open_metrics(run: &RunDir, allow_nan: bool, state: Option<&TrainState>) -> Result<(Metrics, u64)> {
    match state {
        Some(s) => Metrics::resume(run, Stream::MAIN, allow_nan, s),
        None => Ok((Metrics::for_run(run, allow_nan)?, 0)),
    }
}

/// Pairs `(x, y)` as one flat f64 list (for curves in a [`TrainState`]).
pub fn put_points(state: &mut TrainState, name: &str, points: &[(f64, f64)]) {
    let flat: Vec<f64> = points.iter().flat_map(|&(x, y)| [x, y]).collect();
    state.put_f64s(name, &flat);
}

/// The points stored by [`put_points`].
pub fn points(state: &TrainState, name: &str) -> Result<Vec<(f64, f64)>> {
    Ok(state.f64s(name)?.chunks_exact(2).map(|c| (c[0], c[1])).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_schedule_fires_at_each_multiple_once() {
        let mut s = Schedule::new(100, 0);
        assert!(!s.due(99) && s.due(100));
        s.taken(130);
        assert!(!s.due(199) && s.due(200));
        let resumed = Schedule::new(100, 130);
        assert!(!resumed.due(199) && resumed.due(205));
    }
}
