//! Pre-emption: a run with checkpoints that receives SIGTERM, SIGINT or
//! SIGUSR1 (Slurm's warning) writes a checkpoint at its next safe point, even
//! long before its first periodic one, exits with status 75, and `--resume`
//! finishes it with the same bytes as an uninterrupted run (portable
//! numerics). A run without checkpoints stops at once with status 130.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn rows(csv: &Path) -> usize {
    std::fs::read_to_string(csv).map(|t| t.lines().count()).unwrap_or(0)
}

/// Starts `bin args --out out`, sends `signal` once `metrics.csv` has
/// `at_rows` rows, and returns the exit code and stderr.
fn signal_at(bin: &str, args: &[&str], out: &Path, at_rows: usize, signal: i32) -> (Option<i32>, String) {
    let mut child = Command::new(bin).args(args).arg("--out").arg(out).arg("--quiet").stdout(Stdio::null()).stderr(Stdio::piped()).spawn().unwrap();
    let start = Instant::now();
    while rows(&out.join("metrics.csv")) < at_rows {
        assert!(child.try_wait().unwrap().is_none(), "the run ended before the signal");
        assert!(start.elapsed() < Duration::from_secs(120), "the run took too long");
        std::thread::sleep(Duration::from_millis(2));
    }
    // SAFETY: kill(2) on our own child.
    unsafe { libc::kill(child.id() as libc::pid_t, signal) };
    let o = child.wait_with_output().unwrap();
    (o.status.code(), String::from_utf8_lossy(&o.stderr).into_owned())
}

fn preempted_run_resumes_to_the_same_bytes(bin: &str, args: &[&str], signal: i32) {
    let tmp = tempfile::tempdir().unwrap();
    let (straight, stopped) = (tmp.path().join("straight"), tmp.path().join("stopped"));
    let o = Command::new(bin).args(args).args(["--quiet", "--out", straight.to_str().unwrap()]).output().unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let total = rows(&straight.join("metrics.csv"));
    // Checkpoints on, but the first periodic one far beyond the end of the run.
    let first: Vec<&str> = [args, &["--checkpoint-every", "1000000"]].concat();
    let (code, err) = signal_at(bin, &first, &stopped, total / 2, signal);
    assert_eq!(code, Some(75), "pre-empted status: {err}");
    assert!(err.contains("checkpoint") && err.contains("--resume"), "{err}");
    assert!(stopped.join("checkpoint/state.safetensors").exists(), "the signal's checkpoint");
    assert!(!stopped.join("summary.json").exists(), "an unfinished run");
    let o = Command::new(bin).args(["--resume", stopped.to_str().unwrap(), "--quiet"]).output().unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    for f in ["metrics.csv", "model.safetensors"] {
        assert!(std::fs::read(straight.join(f)).unwrap() == std::fs::read(stopped.join(f)).unwrap(), "{f} differs after the pre-emption");
    }
}

#[test]
fn dqn_sigterm_checkpoints_and_resumes_byte_identical() {
    let args = ["--total-timesteps", "12000", "--set", "learning_starts=2000", "--seed", "7", "--numerics", "portable", "--no-gif"];
    preempted_run_resumes_to_the_same_bytes(env!("CARGO_BIN_EXE_dqn_cartpole"), &args, libc::SIGTERM);
}

#[test]
fn ppo_slurms_usr1_warning_checkpoints_and_resumes_byte_identical() {
    let args = ["--algo", "ppo", "--env", "CartPole-v1", "--total-timesteps", "30000", "--seed", "4", "--numerics", "portable", "--no-gif"];
    preempted_run_resumes_to_the_same_bytes(env!("CARGO_BIN_EXE_train"), &args, libc::SIGUSR1);
}

#[test]
fn sac_sigint_checkpoints_and_resumes_byte_identical() {
    let args = [
        "--algo",
        "sac",
        "--env",
        "Pendulum-v1",
        "--total-timesteps",
        "1200",
        "--set",
        "learning_starts=400",
        "--seed",
        "2",
        "--numerics",
        "portable",
        "--no-gif",
    ];
    preempted_run_resumes_to_the_same_bytes(env!("CARGO_BIN_EXE_train"), &args, libc::SIGINT);
}

#[test]
fn a_run_without_checkpoints_stops_at_once() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("run");
    let args = ["--total-timesteps", "200000", "--seed", "1", "--no-gif"];
    let (code, err) = signal_at(env!("CARGO_BIN_EXE_dqn_cartpole"), &args, &out, 20, libc::SIGTERM);
    assert_eq!(code, Some(130), "{err}");
    assert!(err.contains("stopped by a signal (SIGTERM)") && err.contains("--resume"), "{err}");
    assert!(!out.join("checkpoint").exists() && !out.join("summary.json").exists());
}
