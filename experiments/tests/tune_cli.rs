//! `tune` end to end on PPO CartPole-v1 (short runs): a study with TPE and
//! the median pruner writes its trials, report, best config and history; a
//! study stopped by SIGTERM and run again ends with the same trials as an
//! uninterrupted one; bad study files are refused before anything runs.

use std::path::Path;
use std::process::{Command, Output, Stdio};

fn tune(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_tune")).args(args).output().unwrap()
}

const STUDY: &str = r#"binary = "train"
args = ["--algo", "ppo", "--env", "CartPole-v1", "--total-timesteps", "3072", "--eval-every", "1024", "--no-gif", "--numerics", "portable", "--threads", "1", "--set", "eval_episodes=2"]
seeds = [1, 2]
trials = 6

[sampler]
kind = "tpe"
startup_trials = 3
seed = 5

[pruner]
kind = "median"
startup_trials = 2

[space]
learning_rate = { log_uniform = [1e-4, 1e-2] }
num_steps = { int = [16, 128] }
"#;

fn trials(dir: &Path) -> Vec<serde_json::Value> {
    let study: serde_json::Value = serde_json::from_slice(&std::fs::read(dir.join("study.json")).unwrap()).unwrap();
    study["trials"].as_array().unwrap().iter().map(|t| serde_json::json!([t["params"], t["state"], t["value"], t["intermediate"]])).collect()
}

#[test]
fn a_study_runs_prunes_resumes_and_writes_its_outputs() {
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("study.toml");
    std::fs::write(&file, STUDY).unwrap();
    let straight = tmp.path().join("straight");
    let o = tune(&[file.to_str().unwrap(), "--out", straight.to_str().unwrap(), "--workers", "2"]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{err}");
    assert!(err.contains("tune: best trial"), "{err}");
    for f in ["study.json", "trials.csv", "tune_report.md", "best_config.toml", "history.png", "tune.toml"] {
        assert!(straight.join(f).exists(), "{f}");
    }
    let csv = std::fs::read_to_string(straight.join("trials.csv")).unwrap();
    assert_eq!(csv.lines().count(), 7, "{csv}");
    assert!(csv.starts_with("number,state,value,steps,learning_rate,num_steps"), "{csv}");
    let report = std::fs::read_to_string(straight.join("tune_report.md")).unwrap();
    assert!(report.contains("## Parameter importance") || !csv.contains("complete"), "{report}");
    // best_config.toml is a ready --config: the binary reads it and it holds the best trial's parameters.
    let best = std::fs::read_to_string(straight.join("best_config.toml")).unwrap();
    let c = Command::new(env!("CARGO_BIN_EXE_train"))
        .args(["--algo", "ppo", "--env", "CartPole-v1", "--config", straight.join("best_config.toml").to_str().unwrap(), "--print-config"])
        .output()
        .unwrap();
    assert!(c.status.success(), "{}", String::from_utf8_lossy(&c.stderr));
    let study: serde_json::Value = serde_json::from_slice(&std::fs::read(straight.join("study.json")).unwrap()).unwrap();
    let complete: Vec<&serde_json::Value> = study["trials"].as_array().unwrap().iter().filter(|t| t["state"] == "complete").collect();
    assert!(!complete.is_empty());
    let best_steps = complete
        .iter()
        .max_by(|a, b| a["value"].as_f64().unwrap().total_cmp(&b["value"].as_f64().unwrap()))
        .map(|t| t["params"]["num_steps"].as_i64().unwrap())
        .unwrap();
    assert!(best.contains(&format!("num_steps = {best_steps}")), "{best}");
    // Every trial spent steps; a pruned one fewer than a complete one.
    for t in study["trials"].as_array().unwrap() {
        assert!(t["steps"].as_u64().unwrap() > 0, "{t}");
    }

    // The same study stopped by SIGTERM during its third trial, then run again.
    let stopped = tmp.path().join("stopped");
    let mut child = Command::new(env!("CARGO_BIN_EXE_tune"))
        .args([file.to_str().unwrap(), "--out", stopped.to_str().unwrap(), "--workers", "2"])
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let start = std::time::Instant::now();
    while !stopped.join("trial-0002").exists() {
        assert!(child.try_wait().unwrap().is_none(), "the study ended before the signal");
        assert!(start.elapsed().as_secs() < 120);
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    // SAFETY: kill(2) on our own child.
    unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGTERM) };
    let o = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(75), "{err}");
    assert!(err.contains("run the same command again"), "{err}");
    let o = tune(&[file.to_str().unwrap(), "--out", stopped.to_str().unwrap(), "--workers", "2"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(trials(&straight), trials(&stopped), "the same trials, values and pruning decisions");

    // Another study into the same folder is refused.
    std::fs::write(&file, STUDY.replace("trials = 6", "trials = 7")).unwrap();
    let o = tune(&[file.to_str().unwrap(), "--out", stopped.to_str().unwrap()]);
    assert!(!o.status.success() && String::from_utf8_lossy(&o.stderr).contains("holds another study"));
}

#[test]
fn bad_study_files_are_refused_before_anything_runs() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    let file = tmp.path().join("bad.toml");
    for (text, needle) in [
        (STUDY.replace("num_steps = { int = [16, 128] }", "nope = { int = [16, 128] }"), "nope"),
        (STUDY.replace("num_steps = { int = [16, 128] }", "num_steps = { int = [-5, 128] }"), "num_steps"),
        (STUDY.replace("trials = 6", "trials = 0"), "trials = 0"),
        (STUDY.replace("\"--eval-every\", \"1024\", ", ""), "--eval-every"),
        (STUDY.replace("kind = \"median\"", "kind = \"hyperband\""), "hyperband"),
    ] {
        std::fs::write(&file, &text).unwrap();
        let o = tune(&[file.to_str().unwrap(), "--out", out.to_str().unwrap()]);
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(!o.status.success() && err.trim().lines().count() == 1 && err.contains(needle), "{needle}: {err}");
        assert!(!out.join("trial-0000").exists(), "nothing ran");
    }
}
