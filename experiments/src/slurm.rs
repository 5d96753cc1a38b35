//! A sweep as a Slurm job array: `DIR/sweep.sbatch` with one array task per
//! run, each task running the same command into the same folder as the local
//! pool would (`DIR/sweep.tasks`, one shell line per task). A task whose run
//! is finished exits at once; one whose folder was started (a task that was
//! pre-empted or killed and requeued) continues with `--resume` from the
//! run's last checkpoint. Each run is a job step (`srun`), so that
//! `scancel --signal=TERM` and Slurm's `--signal=USR1@60` warning reach it:
//! it writes a checkpoint and exits with status 75, and the task requeues
//! itself (`scontrol requeue`), to resume there.

use crate::sweep::{binary_path, last_line, log_path, SweepSpec};
use anyhow::{anyhow, bail, Context, Result};
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

/// The Slurm flags of `sweep` and `tune` (`--slurm`, `--partition`, `--time`, `--cpus-per-task`).
#[derive(Debug, Clone, clap::Args)]
pub struct SlurmArgs {
    /// Submit Slurm job arrays instead of running here.
    #[arg(long)]
    pub slurm: bool,
    /// Slurm partition.
    #[arg(long, requires = "slurm")]
    pub partition: Option<String>,
    /// Slurm time limit per task (e.g. 02:00:00).
    #[arg(long, requires = "slurm")]
    pub time: Option<String>,
    /// CPUs per Slurm task.
    #[arg(long, requires = "slurm", default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=1024))]
    pub cpus_per_task: u32,
}

impl SlurmArgs {
    /// The `sbatch` options, with `--slurm`; `None` without it.
    pub fn options(&self) -> Option<SlurmOptions> {
        self.slurm.then(|| SlurmOptions { partition: self.partition.clone(), time: self.time.clone(), cpus_per_task: self.cpus_per_task })
    }
}

/// `sbatch` options of a sweep.
#[derive(Debug, Clone, Default)]
pub struct SlurmOptions {
    /// `--partition`.
    pub partition: Option<String>,
    /// `--time` (Slurm's format, e.g. `02:00:00`).
    pub time: Option<String>,
    /// `--cpus-per-task`.
    pub cpus_per_task: u32,
}

/// A word quoted for the shell.
fn quote(word: &str) -> String {
    if !word.is_empty() && word.chars().all(|c| c.is_ascii_alphanumeric() || "-_./=,:+@%".contains(c)) {
        word.to_string()
    } else {
        format!("'{}'", word.replace('\'', r"'\''"))
    }
}

/// Writes `DIR/sweep.tasks` and `DIR/sweep.sbatch`; returns the number of tasks.
pub fn write_job(spec: &SweepSpec, sweep_dir: &Path, opts: &SlurmOptions) -> Result<usize> {
    let bin = binary_path(&spec.binary)?;
    let dir = sweep_dir.canonicalize().with_context(|| format!("cannot resolve {}", sweep_dir.display()))?;
    std::fs::create_dir_all(dir.join("logs"))?;
    let runs = spec.runs();
    let mut tasks = String::new();
    for run in &runs {
        let folder = dir.join(&run.dir);
        let fresh: Vec<String> = spec.start_args(run, &folder).iter().map(|a| quote(a)).collect();
        let (b, f, log) = (quote(&bin.display().to_string()), quote(&folder.display().to_string()), quote(&log_path(&dir, run).display().to_string()));
        let _ = writeln!(
            tasks,
            "if [ -f {f}/summary.json ]; then exit 0; elif [ -f {f}/config.toml ]; then srun {b} --resume {f} --quiet >> {log} 2>&1; else srun {b} {} >> {log} 2>&1; fi",
            fresh.join(" ")
        );
    }
    crate::run_dir::write_atomic(&dir.join("sweep.tasks"), tasks.as_bytes())?;
    let mut script = String::from("#!/bin/bash\n");
    let _ = writeln!(script, "#SBATCH --job-name=nnlab-sweep");
    let _ = writeln!(script, "#SBATCH --array=0-{}", runs.len() - 1);
    let _ = writeln!(script, "#SBATCH --output={}/logs/slurm-%A_%a.out", dir.display());
    let _ = writeln!(script, "#SBATCH --open-mode=append");
    let _ = writeln!(script, "#SBATCH --requeue");
    // Slurm's warning a minute before the time limit: the run checkpoints and stops (status 75).
    let _ = writeln!(script, "#SBATCH --signal=USR1@60");
    let _ = writeln!(script, "#SBATCH --cpus-per-task={}", opts.cpus_per_task.max(1));
    if let Some(p) = &opts.partition {
        let _ = writeln!(script, "#SBATCH --partition={p}");
    }
    if let Some(t) = &opts.time {
        let _ = writeln!(script, "#SBATCH --time={t}");
    }
    let _ = writeln!(script, "# One task per run of the sweep; the task's line of sweep.tasks is its command.");
    let _ = writeln!(script, "set -u");
    let _ = writeln!(script, "line=$(sed -n \"$((SLURM_ARRAY_TASK_ID + 1))p\" {})", quote(&dir.join("sweep.tasks").display().to_string()));
    let _ = writeln!(script, "eval \"$line\"");
    let _ = writeln!(script, "status=$?");
    let _ = writeln!(script, "# {}: stopped by a signal after a checkpoint; back into the queue, to resume from it.", crate::signals::PREEMPTED_STATUS);
    let _ = writeln!(
        script,
        "if [ \"$status\" -eq {} ]; then scontrol requeue \"${{SLURM_ARRAY_JOB_ID}}_${{SLURM_ARRAY_TASK_ID}}\"; fi",
        crate::signals::PREEMPTED_STATUS
    );
    let _ = writeln!(script, "exit \"$status\"");
    crate::run_dir::write_atomic(&dir.join("sweep.sbatch"), script.as_bytes())?;
    Ok(runs.len())
}

/// Submits `DIR/sweep.sbatch`; returns the job id.
pub fn submit(sweep_dir: &Path) -> Result<String> {
    let script = sweep_dir.join("sweep.sbatch");
    let o = Command::new("sbatch")
        .arg("--parsable")
        .arg(&script)
        .output()
        .map_err(|e| anyhow!("cannot run sbatch ({e}); is Slurm installed here? (scripts/slurm-up.sh brings up a one-machine Slurm for trying it)"))?;
    if !o.status.success() {
        bail!("sbatch refused {}: {}", script.display(), String::from_utf8_lossy(&o.stderr).trim());
    }
    let out = String::from_utf8_lossy(&o.stdout);
    let id = out.trim().split(';').next().unwrap_or("").to_string();
    if id.is_empty() {
        bail!("sbatch printed no job id");
    }
    Ok(id)
}

/// Waits until no task of job `id` is queued or running (polling `squeue`),
/// at most `limit`.
pub fn wait(id: &str, limit: Duration) -> Result<()> {
    let start = Instant::now();
    loop {
        let o = Command::new("squeue").args(["-h", "-j", id, "-o", "%i"]).output().map_err(|e| anyhow!("cannot run squeue: {e}"))?;
        // A job that ended long ago is unknown to squeue (an error): done too.
        if !o.status.success() || String::from_utf8_lossy(&o.stdout).trim().is_empty() {
            return Ok(());
        }
        if start.elapsed() > limit {
            bail!("job {id} still runs after {} s", limit.as_secs());
        }
        if crate::signals::stop_requested() {
            bail!("stopped waiting by a signal; job {id} goes on (see squeue); run `sweep` again to summarise");
        }
        std::thread::sleep(Duration::from_secs(1));
    }
}

/// The failed runs of a finished array: those without `summary.json` whose log says why.
pub fn failures(spec: &SweepSpec, sweep_dir: &Path) -> BTreeMap<String, String> {
    spec.runs()
        .into_iter()
        .filter(|r| !sweep_dir.join(&r.dir).join("summary.json").is_file() && log_path(sweep_dir, r).is_file())
        .map(|r| {
            let line = last_line(&log_path(sweep_dir, &r));
            (r.dir, line)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::quote;

    #[test]
    fn words_are_quoted_for_the_shell() {
        assert_eq!(quote("learning_rate=0.001"), "learning_rate=0.001");
        assert_eq!(quote("hidden_sizes=[64, 64]"), "'hidden_sizes=[64, 64]'");
        assert_eq!(quote("it's"), r"'it'\''s'");
    }
}
