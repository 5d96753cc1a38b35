//! A sweep through a real Slurm: 4 runs as a job array, `--wait`, then
//! `report`. Needs a running Slurm (`scripts/slurm/up.sh` brings one up on
//! this machine; `.ci/run` does, then runs this test with `--ignored`).

use std::process::Command;

/// The tests share one Slurm queue, and the pre-emption test finds its job
/// there by name (`nnlab-sweep`, as the other sweeps' jobs are named): they
/// run one at a time, or it may signal another test's job.
static SLURM_QUEUE: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn one_at_a_time() -> std::sync::MutexGuard<'static, ()> {
    SLURM_QUEUE.lock().unwrap_or_else(|e| e.into_inner())
}

#[test]
#[ignore = "needs a running Slurm: scripts/slurm/up.sh, then cargo test --release -p nnlab-experiments --test slurm -- --ignored"]
fn a_four_run_sweep_through_slurm_finishes_and_reports() {
    let _queue = one_at_a_time();
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("s.toml");
    std::fs::write(
        &file,
        r#"binary = "train"
args = ["--algo", "ppo", "--env", "CartPole-v1", "--total-timesteps", "4096", "--no-gif"]
seeds = [1, 2]
checkpoint_every = 2048
[grid]
learning_rate = [0.00025, 0.001]
"#,
    )
    .unwrap();
    let out = tmp.path().join("out");
    let o = Command::new("timeout")
        .args(["600", env!("CARGO_BIN_EXE_sweep"), file.to_str().unwrap(), "--out", out.to_str().unwrap(), "--slurm", "--wait"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{err}");
    assert!(err.contains("submitted job array") && err.contains("4 tasks"), "{err}");
    let script = std::fs::read_to_string(out.join("sweep.sbatch")).unwrap();
    assert!(script.contains("#SBATCH --array=0-3") && script.contains("#SBATCH --requeue"), "{script}");
    let s: serde_json::Value = serde_json::from_slice(&std::fs::read(out.join("sweep_summary.json")).unwrap()).unwrap();
    assert_eq!(s["finished"], 4, "{s}");
    for run in s["runs"].as_array().unwrap() {
        let dir = out.join(run["dir"].as_str().unwrap());
        for f in ["summary.json", "metrics.csv", "model.safetensors", "checkpoint/state.safetensors"] {
            assert!(dir.join(f).exists(), "{}: {f}", dir.display());
        }
    }
    let r = Command::new(env!("CARGO_BIN_EXE_report")).args([out.to_str().unwrap(), "--quiet"]).output().unwrap();
    assert!(r.status.success(), "{}", String::from_utf8_lossy(&r.stderr));
    let md = std::fs::read_to_string(out.join("report.md")).unwrap();
    assert!(md.contains("learning_rate=0.00025 | 2 |") && md.contains("learning_rate=0.001 | 2 |"), "{md}");
}

/// The one run folder of a sweep in `out` (`seed-1`, under its config's folder if it has one).
fn run_dir(out: &std::path::Path) -> std::path::PathBuf {
    let direct = out.join("seed-1");
    if direct.is_dir() {
        return direct;
    }
    std::fs::read_dir(out).ok().into_iter().flatten().filter_map(|e| e.ok()).map(|e| e.path().join("seed-1")).find(|p| p.is_dir()).unwrap_or(direct)
}

/// The array job id of the sweep in the queue (`squeue`), once it is there.
fn queued_array_job() -> Option<String> {
    let o = Command::new("squeue").args(["-h", "--name=nnlab-sweep", "-o", "%F"]).output().ok()?;
    String::from_utf8_lossy(&o.stdout).lines().next().map(|l| l.trim().to_string()).filter(|l| !l.is_empty())
}

#[test]
#[ignore = "needs a running Slurm: scripts/slurm/up.sh, then cargo test --release -p nnlab-experiments --test slurm -- --ignored"]
fn a_task_sent_sigterm_checkpoints_is_requeued_and_ends_with_the_same_bits() {
    let _queue = one_at_a_time();
    let tmp = tempfile::tempdir().unwrap();
    let args = ["--algo", "ppo", "--env", "CartPole-v1", "--total-timesteps", "60000", "--numerics", "portable", "--no-gif"];
    let straight = tmp.path().join("straight");
    let o = Command::new(env!("CARGO_BIN_EXE_train")).args(args).args(["--seed", "1", "--quiet", "--out", straight.to_str().unwrap()]).output().unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let file = tmp.path().join("s.toml");
    let quoted: Vec<String> = args.iter().map(|a| format!("{a:?}")).collect();
    // Checkpoints on, the first periodic one beyond the end: only the signal's is written.
    std::fs::write(&file, format!("binary = \"train\"\nargs = [{}]\nseeds = [1]\ncheckpoint_every = 1000000\n", quoted.join(", "))).unwrap();
    let out = tmp.path().join("out");
    let sweep = Command::new("timeout")
        .args(["600", env!("CARGO_BIN_EXE_sweep"), file.to_str().unwrap(), "--out", out.to_str().unwrap(), "--slurm", "--wait"])
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Once the run has written a few rows: SIGTERM to its job step, as a pre-emption sends.
    let start = std::time::Instant::now();
    while std::fs::read_to_string(run_dir(&out).join("metrics.csv")).map(|t| t.lines().count()).unwrap_or(0) < 30 {
        assert!(start.elapsed().as_secs() < 300, "the task did not start");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let job = queued_array_job().expect("the sweep's job in squeue");
    let s = Command::new("scancel").args(["--signal=TERM", &job]).status().unwrap();
    assert!(s.success(), "scancel");
    let o = sweep.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{err}");
    let log: String = std::fs::read_dir(out.join("logs")).unwrap().map(|e| std::fs::read_to_string(e.unwrap().path()).unwrap_or_default()).collect();
    assert!(log.contains("stopped by a signal after a checkpoint"), "the run was pre-empted: {log}");
    for f in ["metrics.csv", "model.safetensors"] {
        assert!(std::fs::read(straight.join(f)).unwrap() == std::fs::read(run_dir(&out).join(f)).unwrap(), "{f} differs after requeue");
    }
}

#[test]
#[ignore = "needs a running Slurm: scripts/slurm/up.sh, then cargo test --release -p nnlab-experiments --test slurm -- --ignored"]
fn a_study_runs_its_trials_as_slurm_job_arrays() {
    let _queue = one_at_a_time();
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("study.toml");
    std::fs::write(
        &file,
        r#"binary = "train"
args = ["--algo", "ppo", "--env", "CartPole-v1", "--total-timesteps", "3072", "--eval-every", "1024", "--no-gif", "--numerics", "portable", "--threads", "1", "--set", "eval_episodes=2"]
seeds = [1, 2]
trials = 3
[sampler]
startup_trials = 2
[pruner]
kind = "median"
startup_trials = 1
[space]
learning_rate = { log_uniform = [1e-4, 1e-2] }
"#,
    )
    .unwrap();
    let out = tmp.path().join("out");
    let o =
        Command::new("timeout").args(["600", env!("CARGO_BIN_EXE_tune"), file.to_str().unwrap(), "--out", out.to_str().unwrap(), "--slurm"]).output().unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{err}");
    assert!(err.contains("submitted job array"), "{err}");
    let study: serde_json::Value = serde_json::from_slice(&std::fs::read(out.join("study.json")).unwrap()).unwrap();
    let trials = study["trials"].as_array().unwrap();
    assert_eq!(trials.len(), 3, "{study}");
    assert!(trials.iter().all(|t| t["state"] == "complete" || t["state"] == "pruned"), "{study}");
    assert!(out.join("trial-0000/sweep.sbatch").exists() && out.join("best_config.toml").exists());
}
