//! Never lose a run: runs killed with SIGKILL (from this process, at several
//! points, also with a checkpoint write cut short) and continued with
//! `--resume` end with the same `metrics.csv` and `model.safetensors`, byte
//! for byte, as uninterrupted runs of the same seed (portable numerics), and
//! TensorBoard reads the resumed event files as the same scalars.

mod common;

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn rows(csv: &Path) -> usize {
    std::fs::read_to_string(csv).map(|t| t.lines().count()).unwrap_or(0)
}

/// Starts `bin args`, waits until its `metrics.csv` has `kill_at_rows` rows
/// (or it exits), then kills it with SIGKILL. Returns whether it was killed.
fn run_until(bin: &str, args: &[&str], out: &Path, kill_at_rows: usize) -> bool {
    let mut child = Command::new(bin).args(args).arg("--quiet").stdout(Stdio::null()).stderr(Stdio::piped()).spawn().unwrap();
    let start = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if rows(&out.join("metrics.csv")) >= kill_at_rows {
            child.kill().unwrap();
            child.wait().unwrap();
            return true;
        }
        assert!(start.elapsed() < Duration::from_secs(120), "the run took too long");
        std::thread::sleep(Duration::from_millis(2));
    }
    let o = child.wait_with_output().unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    false
}

fn finish(bin: &str, dir: &Path) -> String {
    let o = Command::new(bin).args(["--resume", dir.to_str().unwrap(), "--quiet"]).output().unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn assert_same_run(a: &Path, b: &Path) {
    assert_same_files(a, b, &["metrics.csv", "model.safetensors"]);
}

fn assert_same_files(a: &Path, b: &Path, files: &[&str]) {
    for f in files {
        assert!(std::fs::read(a.join(f)).unwrap() == std::fs::read(b.join(f)).unwrap(), "{f} differs after resuming");
    }
    // One event file per stream (metrics.csv, steps.csv), cut back at each resume as the CSV files are:
    // TensorBoard reads the same scalars.
    let streams = 1 + b.join("steps.csv").exists() as usize;
    assert_eq!(std::fs::read_dir(b.join("tb")).unwrap().count(), streams, "one event file per stream");
    common::assert_scalars_match_csv(b, &common::read_with_tensorboard(b));
}

/// An uninterrupted run in `tmp/straight`, and one killed at a third, a half
/// and four fifths of its rows and resumed each time, in `tmp/killed`.
fn killed_three_times_matches(bin: &str, args: &[&str], every: &str) {
    let tmp = tempfile::tempdir().unwrap();
    let (straight, killed) = (tmp.path().join("straight"), tmp.path().join("killed"));
    let o = Command::new(bin).args(args).args(["--quiet", "--out", straight.to_str().unwrap()]).output().unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let total = rows(&straight.join("metrics.csv"));
    let first: Vec<&str> = [args, &["--checkpoint-every", every, "--out", killed.to_str().unwrap()]].concat();
    let resume = ["--resume", killed.to_str().unwrap()];
    let mut kills = 0;
    for (k, fraction) in [0.33, 0.5, 0.8].iter().enumerate() {
        let at = (total as f64 * fraction) as usize;
        if k == 2 {
            // As a kill during a checkpoint write leaves it: a partial file beside the last good state.
            std::fs::write(killed.join("checkpoint/.partial-interrupted.safetensors"), b"half a checkpoint").unwrap();
        }
        kills += run_until(bin, if k == 0 { &first } else { &resume }, &killed, at) as usize;
        assert!(killed.join("checkpoint/state.safetensors").exists(), "a checkpoint before kill {k}");
    }
    assert!(kills >= 2, "the runs ended before they could be killed ({kills} kills)");
    assert!(finish(bin, &killed).contains("results:"));
    assert!(!killed.join("checkpoint/.partial-interrupted.safetensors").exists());
    assert_same_run(&straight, &killed);
    if straight.join("evaluations.csv").exists() {
        assert_same_files(&straight, &killed, &["evaluations.csv", "best_model.safetensors"]);
    }
    // Resuming a finished run changes nothing.
    let before = std::fs::read(killed.join("summary.json")).unwrap();
    finish(bin, &killed);
    assert_eq!(before, std::fs::read(killed.join("summary.json")).unwrap());
}

#[test]
fn ppo_killed_three_times_ends_byte_identical() {
    let args = ["--algo", "ppo", "--env", "CartPole-v1", "--total-timesteps", "40000", "--seed", "3", "--numerics", "portable", "--no-gif"];
    killed_three_times_matches(env!("CARGO_BIN_EXE_train"), &args, "1024");
}

#[test]
fn dqn_killed_three_times_ends_byte_identical() {
    let args = ["--total-timesteps", "15000", "--set", "learning_starts=2000", "--seed", "5", "--numerics", "portable", "--no-gif"];
    killed_three_times_matches(env!("CARGO_BIN_EXE_dqn_cartpole"), &args, "1000");
}

#[test]
fn dqn_with_evaluations_during_training_killed_three_times_ends_byte_identical() {
    let args = [
        "--total-timesteps",
        "12000",
        "--set",
        "learning_starts=2000",
        "--seed",
        "6",
        "--numerics",
        "portable",
        "--no-gif",
        "--eval-every",
        "1500",
        "--eval-every-episodes",
        "2",
    ];
    killed_three_times_matches(env!("CARGO_BIN_EXE_dqn_cartpole"), &args, "1000");
}

#[test]
fn a_run_killed_before_its_first_checkpoint_starts_again() {
    let tmp = tempfile::tempdir().unwrap();
    let bin = env!("CARGO_BIN_EXE_train");
    let (a, b) = (tmp.path().join("a"), tmp.path().join("b"));
    let args = ["--algo", "a2c", "--env", "CartPole-v1", "--total-timesteps", "20000", "--seed", "2", "--numerics", "portable", "--no-gif"];
    let o = Command::new(bin).args(args).args(["--quiet", "--out", a.to_str().unwrap()]).output().unwrap();
    assert!(o.status.success());
    let first: Vec<&str> = [&args[..], &["--checkpoint-every", "1000000", "--out", b.to_str().unwrap()]].concat();
    assert!(run_until(bin, &first, &b, rows(&a.join("metrics.csv")) / 2), "killed half way");
    assert!(!b.join("checkpoint").exists());
    finish(bin, &b);
    assert_same_run(&a, &b);
}

#[test]
fn resume_refuses_what_it_cannot_continue() {
    let tmp = tempfile::tempdir().unwrap();
    let one_line = |o: std::process::Output, needle: &str| {
        let err = String::from_utf8_lossy(&o.stderr).into_owned();
        assert!(!o.status.success() && err.trim().lines().count() == 1 && err.contains(needle), "{err}");
    };
    let dqn = env!("CARGO_BIN_EXE_dqn_cartpole");
    one_line(Command::new(dqn).args(["--resume", tmp.path().to_str().unwrap()]).output().unwrap(), "not a run folder");
    let ppo = tmp.path().join("ppo");
    let o = Command::new(env!("CARGO_BIN_EXE_train"))
        .args(["--algo", "ppo", "--env", "CartPole-v1", "--total-timesteps", "2048", "--quiet", "--no-gif", "--out", ppo.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(o.status.success());
    one_line(Command::new(dqn).args(["--resume", ppo.to_str().unwrap()]).output().unwrap(), "is a ppo run");
    let usage = Command::new(dqn).args(["--resume", ppo.to_str().unwrap(), "--seed", "3"]).output().unwrap();
    assert_eq!(usage.status.code(), Some(2), "--resume reads the seed from the folder");
}

/// An epoch-based run of `bin args` straight through in `tmp/straight`, and
/// with a checkpoint every epoch killed after epochs 2 and 5 and resumed each
/// time in `tmp/killed`: both end with the same `metrics.csv`, model and
/// `files`, byte for byte.
fn epoch_run_killed_twice_matches(bin: &str, args: &[&str], tmp: &Path, files: &[&str]) {
    let (straight, killed) = (tmp.join("straight"), tmp.join("killed"));
    let o = Command::new(bin).args(args).args(["--quiet", "--out", straight.to_str().unwrap()]).output().unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let first: Vec<&str> = [args, &["--checkpoint-every", "1", "--out", killed.to_str().unwrap()]].concat();
    let resume = ["--resume", killed.to_str().unwrap()];
    let mut kills = run_until(bin, &first, &killed, 3) as usize;
    assert!(killed.join("checkpoint/state.safetensors").exists());
    kills += run_until(bin, &resume, &killed, 6) as usize;
    assert!(kills >= 1, "the runs ended before they could be killed");
    finish(bin, &killed);
    assert_same_run(&straight, &killed);
    assert_same_files(&straight, &killed, files);
}

#[test]
fn the_vae_killed_twice_ends_byte_identical() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    common::write_data(&data, 2048, 256);
    let bin = env!("CARGO_BIN_EXE_vae_fashion_mnist");
    let args = [
        "--epochs",
        "8",
        "--data-dir",
        data.to_str().unwrap(),
        "--set",
        "latent_dim=2",
        "--set",
        "hidden=64",
        "--set",
        "iw_samples=4",
        "--numerics",
        "portable",
    ];
    // The data folder comes back from the run's record: no --data-dir needed.
    epoch_run_killed_twice_matches(bin, &args, tmp.path(), &["steps.csv"]);
}

#[test]
fn the_resnet_classifier_killed_twice_ends_byte_identical() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    common::write_data(&data, 1024, 128);
    let bin = env!("CARGO_BIN_EXE_cnn_classifier");
    // Every random part of the recipe on: crops, flips, dropout, one-cycle, label smoothing, validation split.
    let d = data.to_str().unwrap();
    let args = [
        "--epochs",
        "8",
        "--data-dir",
        d,
        "--dataset",
        "mnist-idx",
        "--model",
        "resnet",
        "--set",
        "widths=[4,8]",
        "--set",
        "dropout=0.3",
        "--set",
        "validation_size=128",
        "--set",
        "batch_size=64",
        "--numerics",
        "portable",
    ];
    epoch_run_killed_twice_matches(bin, &args, tmp.path(), &["steps.csv", "predictions.csv", "report.json"]);
}

#[test]
fn a_character_transformer_killed_twice_ends_byte_identical() {
    let tmp = tempfile::tempdir().unwrap();
    let text = tmp.path().join("text");
    std::fs::create_dir_all(&text).unwrap();
    for (name, n) in [("train.txt", 40), ("validation.txt", 4), ("test.txt", 4)] {
        std::fs::write(text.join(name), "to be, or not to be: that is the question.\n".repeat(n)).unwrap();
    }
    let bin = env!("CARGO_BIN_EXE_charlm");
    // Dropout on, so torch's generator must come back too.
    let mut args = vec!["--model", "transformer", "--iterations", "60", "--text-dir", text.to_str().unwrap(), "--numerics", "portable"];
    for kv in [
        "context=16",
        "batch_size=4",
        "eval_interval=6",
        "eval_batches=2",
        "d_model=16",
        "heads=2",
        "layers=1",
        "dropout=0.2",
        "sample_length=20",
        "warmup_iterations=5",
    ] {
        args.extend(["--set", kv]);
    }
    // The text folder comes back from the run's record.
    epoch_run_killed_twice_matches(bin, &args, tmp.path(), &["steps.csv", "samples.txt"]);
}

#[test]
fn a_bilstm_crf_tagger_killed_twice_ends_byte_identical() {
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("train.conll");
    let mut text = String::new();
    for i in 0..120 {
        let (who, place) = (["Ann", "Bo", "Cy"][i % 3], ["Oslo", "New York", "Lima"][(i / 3) % 3]);
        text += &format!("{who} B-PER\nvisited O\n");
        for (k, w) in place.split(' ').enumerate() {
            text += &format!("{w} {}-LOC\n", if k == 0 { "B" } else { "I" });
        }
        text += "\n";
    }
    std::fs::write(&file, text).unwrap();
    let bin = env!("CARGO_BIN_EXE_tagger");
    let mut args = vec!["--task", "conll", file.to_str().unwrap(), "--epochs", "8", "--numerics", "portable"];
    for kv in ["hidden=8", "word_embedding=8", "char_filters=4", "char_embedding=4", "batch_size=8"] {
        args.extend(["--set", kv]);
    }
    epoch_run_killed_twice_matches(bin, &args, tmp.path(), &["predictions.conll", "entity_report.txt"]);
}

#[test]
fn a_sentiment_bilstm_killed_twice_ends_byte_identical() {
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("rated.tsv");
    let mut text = String::new();
    for i in 0..200 {
        let thing = ["film", "phone", "meal", "book"][i % 4];
        text += &if i % 2 == 0 { format!("2.5\tI loved this {thing}, truly great\n") } else { format!("-2.0\tThe {thing} was boring and bad\n") };
    }
    std::fs::write(&file, text).unwrap();
    let bin = env!("CARGO_BIN_EXE_sentiment");
    let mut args = vec!["--data-file", file.to_str().unwrap(), "--epochs", "8", "--numerics", "portable"];
    // With a moving average of the weights, which the checkpoints carry too.
    for kv in ["hidden=8", "attention=8", "word_embedding=8", "char_filters=4", "baseline_epochs=2", "weight_average=0.9"] {
        args.extend(["--set", kv]);
    }
    epoch_run_killed_twice_matches(bin, &args, tmp.path(), &["predictions.csv", "scores.md", "attention.html", "model.safetensors"]);
}

#[test]
fn the_gan_on_a_mixture_resumes_byte_identical() {
    let tmp = tempfile::tempdir().unwrap();
    let bin = env!("CARGO_BIN_EXE_gan_mixture");
    let (straight, killed) = (tmp.path().join("straight"), tmp.path().join("killed"));
    let args = [
        "--dataset",
        "ring",
        "--steps",
        "800",
        "--eval-every",
        "100",
        "--set",
        "g_hidden=32",
        "--set",
        "d_hidden=32",
        "--set",
        "eval_samples=500",
        "--numerics",
        "portable",
    ];
    let o = Command::new(bin).args(args).args(["--quiet", "--out", straight.to_str().unwrap()]).output().unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let first: Vec<&str> = [&args[..], &["--checkpoint-every", "200", "--out", killed.to_str().unwrap()]].concat();
    run_until(bin, &first, &killed, 6);
    // --eval-every comes back from the run's record.
    finish(bin, &killed);
    assert_same_files(&straight, &killed, &["metrics.csv", "samples.png"]);
}

#[test]
fn a_run_folder_is_used_by_one_process_at_a_time() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("run");
    let bin = env!("CARGO_BIN_EXE_train");
    let args =
        ["--algo", "ppo", "--env", "CartPole-v1", "--total-timesteps", "4000000", "--no-gif", "--checkpoint-every", "4096", "--out", dir.to_str().unwrap()];
    let mut first = Command::new(bin).args(args).arg("--quiet").stdout(Stdio::null()).stderr(Stdio::null()).spawn().unwrap();
    while !dir.join("checkpoint/state.safetensors").exists() {
        assert!(first.try_wait().unwrap().is_none(), "the first run ended early");
        std::thread::sleep(Duration::from_millis(5));
    }
    let second = Command::new(bin).args(["--resume", dir.to_str().unwrap()]).output().unwrap();
    let err = String::from_utf8_lossy(&second.stderr);
    assert!(!second.status.success() && err.trim().lines().count() == 1 && err.contains("in use by another nnlab process"), "{err}");
    first.kill().unwrap();
    first.wait().unwrap();
    // Killed, its lock is gone with it: the folder can be resumed (and stopped again here).
    let mut again = Command::new(bin).args(["--resume", dir.to_str().unwrap(), "--quiet"]).stderr(Stdio::piped()).spawn().unwrap();
    std::thread::sleep(Duration::from_millis(300));
    let still_running = again.try_wait().unwrap().is_none();
    again.kill().unwrap();
    let out = again.wait_with_output().unwrap();
    assert!(still_running, "the resume runs: {}", String::from_utf8_lossy(&out.stderr));
}
