//! The `dqn_cartpole` command end to end: run folder contents, byte-identical
//! metrics for one seed, and clear one-line errors for bad input.

use std::path::Path;
use std::process::{Command, Output};

fn dqn_cartpole(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_dqn_cartpole")).args(args).output().expect("binary runs")
}

const SHORT: [&str; 8] = ["--total-timesteps", "3000", "--set", "learning_starts=500", "--set", "train_frequency=2", "--quiet", "--seed"];

#[test]
fn a_short_run_writes_a_complete_run_folder_and_reproduces_to_the_byte() {
    let tmp = tempfile::tempdir().unwrap();
    let (a, b) = (tmp.path().join("a"), tmp.path().join("b"));
    let out_a = dqn_cartpole(&[&SHORT[..], &["3", "--out", a.to_str().unwrap()]].concat());
    assert!(out_a.status.success(), "{}", String::from_utf8_lossy(&out_a.stderr));
    let stdout = String::from_utf8_lossy(&out_a.stdout);
    assert_eq!(stdout.trim().lines().last().unwrap(), format!("results: {}", a.display()));
    let out_b = dqn_cartpole(&[&SHORT[..], &["3", "--no-gif", "--out", b.to_str().unwrap()]].concat());
    assert!(out_b.status.success(), "{}", String::from_utf8_lossy(&out_b.stderr));

    for f in ["config.toml", "metrics.csv", "summary.json", "learning_curve.png", "model.safetensors", "episode.gif"] {
        let len = std::fs::metadata(a.join(f)).map(|m| m.len()).unwrap_or(0);
        assert!(len > 100, "{f} missing or empty");
    }
    assert!(!b.join("episode.gif").exists());
    let metrics_a = std::fs::read(a.join("metrics.csv")).unwrap();
    assert_eq!(metrics_a, std::fs::read(b.join("metrics.csv")).unwrap(), "same seed, same metrics.csv bytes");
    let text = String::from_utf8(metrics_a).unwrap();
    assert!(text.starts_with("global_step,episode_return,episode_length,loss,mean_q,epsilon\n"));
    assert!(text.lines().count() > 20);

    let summary: serde_json::Value = serde_json::from_slice(&std::fs::read(a.join("summary.json")).unwrap()).unwrap();
    for key in ["train_return_last100", "eval_return_mean", "total_steps", "wall_time_s", "steps_per_second"] {
        assert!(summary[key].is_number(), "summary.json lacks {key}");
    }
    assert_eq!(summary["total_steps"], 3000);
    assert_eq!(summary["seed"], 3);
    assert_eq!(summary["device"], "cpu");
    assert_eq!(summary["eval_returns"].as_array().unwrap().len(), 10);
    let config: toml::Table = std::fs::read_to_string(a.join("config.toml")).unwrap().parse().unwrap();
    assert_eq!(config["seed"].as_integer(), Some(3));
    assert_eq!(config["learning_starts"].as_integer(), Some(500));
    assert_eq!(config["double_dqn"].as_bool(), Some(true), "the shipped preset is the default");

    // A second seed gives other numbers.
    let c = tmp.path().join("c");
    assert!(dqn_cartpole(&[&SHORT[..], &["4", "--no-gif", "--out", c.to_str().unwrap()]].concat()).status.success());
    assert_ne!(std::fs::read(a.join("metrics.csv")).unwrap(), std::fs::read(c.join("metrics.csv")).unwrap());
    // A finished run is never overwritten.
    let again = dqn_cartpole(&[&SHORT[..], &["3", "--out", a.to_str().unwrap()]].concat());
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("not empty"));
}

fn assert_clean_error(args: &[&str], needle: &str, out: &Path) {
    let o = dqn_cartpole(args);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success(), "{args:?} should fail");
    assert!(!err.contains("panicked") && !err.contains("backtrace"), "{args:?}: {err}");
    assert!(err.to_lowercase().contains(&needle.to_lowercase()), "{args:?}: '{err}' lacks '{needle}'");
    let lines: Vec<&str> = err.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(lines.len(), 1, "{args:?}: one line expected, got {err}");
    assert!(!out.exists(), "{args:?}: no run folder for a refused run");
}

#[test]
fn bad_input_gets_one_clear_line_and_no_run_folder() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("run");
    let o = out.to_str().unwrap();
    let bad_toml = tmp.path().join("bad.toml");
    std::fs::write(&bad_toml, "learning_rate = = 1\n").unwrap();
    let wrong_type = tmp.path().join("wrong.toml");
    std::fs::write(&wrong_type, "batch_size = \"big\"\n").unwrap();
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (vec!["--set", "no_such_key=1"], "no_such_key"),
        (vec!["--set", "learning_rate=fast"], "learning_rate"),
        (vec!["--set", "learning_rate=nan"], "learning_rate"),
        (vec!["--set", "learning_rate=-0.001"], "learning_rate"),
        (vec!["--set", "gamma=1.5"], "gamma"),
        (vec!["--set", "batch_size=0"], "batch_size"),
        (vec!["--set", "buffer_size=0"], "buffer_size"),
        (vec!["--set", "batch_size=512", "--set", "buffer_size=256"], "batch_size"),
        (vec!["--set", "buffer_size=100000000000000"], "memory"),
        (vec!["--set", "hidden_sizes=[64, -1]"], "hidden_sizes"),
        (vec!["--set", "learning_rate"], "KEY=VALUE"),
        (vec!["--set", "learning_rate=[1,"], "not a valid TOML value"),
        (vec!["--set", "env_id=Pendulum-v1"], "contradicts"),
        (vec!["--set", "env_id=Nope-v0"], "contradicts"),
        (vec!["--config", "/no/such/file.toml"], "cannot read config file"),
        (vec!["--config", bad_toml.to_str().unwrap()], "not valid TOML"),
        (vec!["--config", wrong_type.to_str().unwrap()], "batch_size"),
        (vec!["--total-timesteps", "0"], "total_timesteps"),
        (vec!["--threads", "0"], "threads"),
    ];
    for (args, needle) in cases {
        assert_clean_error(&[&args[..], &["--quiet", "--out", o]].concat(), needle, &out);
    }
    // A usage error prints clap's whole message (a few lines) and exits 2.
    let usage = dqn_cartpole(&["--seed", "minus-one", "--out", o]);
    assert_eq!(usage.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&usage.stderr).contains("invalid value 'minus-one'"));
    assert!(!out.exists());
    if !tch::Cuda::is_available() {
        assert_clean_error(&["--device", "cuda", "--out", o], "CUDA is not available", &out);
    }
}

/// `--numerics portable` gives the same `metrics.csv` bytes whatever CPU
/// dispatch settings the environment holds (as on another CPU model), and
/// records the mode in `config.toml` and `summary.json`.
#[test]
fn portable_numerics_ignore_the_dispatch_settings_of_the_environment() {
    let tmp = tempfile::tempdir().unwrap();
    let foreign: [&[(&str, &str)]; 3] = [
        &[],
        &[("ATEN_CPU_CAPABILITY", "default"), ("MKL_ENABLE_INSTRUCTIONS", "SSE4_2")],
        &[("ATEN_CPU_CAPABILITY", "avx2"), ("MKL_CBWR", "AVX2"), ("ONEDNN_MAX_CPU_ISA", "AVX2")],
    ];
    let mut files = Vec::new();
    for (i, env) in foreign.iter().enumerate() {
        let out = tmp.path().join(format!("run{i}"));
        let o = Command::new(env!("CARGO_BIN_EXE_dqn_cartpole"))
            .args([
                "--numerics",
                "portable",
                "--seed",
                "7",
                "--total-timesteps",
                "4000",
                "--set",
                "learning_starts=500",
                "--no-gif",
                "--quiet",
                "--out",
                out.to_str().unwrap(),
            ])
            .envs(env.iter().copied())
            .env_remove("NNLAB_NUMERICS")
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        files.push(std::fs::read(out.join("metrics.csv")).unwrap());
    }
    assert!(files.iter().all(|f| f == &files[0]), "portable metrics.csv differ between dispatch settings");
    let run = tmp.path().join("run0");
    let summary: serde_json::Value = serde_json::from_slice(&std::fs::read(run.join("summary.json")).unwrap()).unwrap();
    assert_eq!(summary["numerics"], "portable");
    assert_eq!(summary["cpu_capability"], "DEFAULT");
    let config: toml::Table = std::fs::read_to_string(run.join("config.toml")).unwrap().parse().unwrap();
    assert_eq!(config["run"]["numerics"].as_str(), Some("portable"));
    // The run's config.toml is a valid --config, and brings its numerics along.
    let again = tmp.path().join("again");
    let o = dqn_cartpole(&["--config", run.join("config.toml").to_str().unwrap(), "--no-gif", "--quiet", "--out", again.to_str().unwrap()]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(std::fs::read(again.join("metrics.csv")).unwrap(), files[0], "a run's config.toml repeats the run");
    // Portable mode is one thread on the CPU.
    let e = dqn_cartpole(&["--numerics", "portable", "--threads", "2", "--quiet"]);
    assert!(!e.status.success() && String::from_utf8_lossy(&e.stderr).contains("one torch thread"));
    let e = dqn_cartpole(&["--numerics", "sloppy"]);
    assert!(!e.status.success() && String::from_utf8_lossy(&e.stderr).contains("fast or portable"));
}
