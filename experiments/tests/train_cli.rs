//! `train` and the policy-gradient experiment binaries end to end: clear
//! errors for incompatible choices, byte-identical metrics per seed, and
//! multi-seed sweeps with aggregate plots.

use std::path::Path;
mod common;

use common::one_line_error;
use std::process::{Command, Output};

fn cmd(bin: &str, args: &[&str]) -> Output {
    Command::new(bin).args(args).output().expect("binary runs")
}

#[test]
fn train_refuses_incompatible_or_unknown_choices() {
    let train = env!("CARGO_BIN_EXE_train");
    one_line_error(&cmd(train, &["--algo", "dqn", "--env", "Pendulum-v1", "--quiet"]), &["DQN needs discrete actions"]);
    one_line_error(&cmd(train, &["--algo", "ppo", "--env", "Nope-v0"]), &["unknown environment"]);
    let usage = cmd(train, &["--algo", "trpo", "--env", "CartPole-v1"]);
    assert_eq!(usage.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&usage.stderr).contains("invalid value 'trpo'"));
    one_line_error(&cmd(train, &["--algo", "ppo", "--env", "CartPole-v1", "--set", "num_minibatches=0"]), &["num_minibatches"]);
    one_line_error(&cmd(train, &["--algo", "ppo", "--env", "CartPole-v1", "--total-timesteps", "100"]), &["less than one rollout"]);
    one_line_error(&cmd(train, &["--algo", "a2c", "--env", "CartPole-v1", "--set", "optimizer=sgd"]), &["optimizer"]);
    one_line_error(&cmd(train, &["--algo", "reinforce", "--env", "CartPole-v1", "--set", "batch_episodes=0"]), &["batch_episodes"]);
}

fn metrics(dir: &Path) -> Vec<u8> {
    std::fs::read(dir.join("metrics.csv")).expect("metrics.csv")
}

#[test]
fn continuous_ppo_and_a2c_runs_reproduce_to_the_byte() {
    let tmp = tempfile::tempdir().unwrap();
    // The preset's gSDE policy, with observation normalisation added.
    let pend = [
        "--total-timesteps",
        "2048",
        "--set",
        "num_steps=512",
        "--set",
        "num_envs=2",
        "--set",
        "num_minibatches=8",
        "--set",
        "normalize_observation=true",
        "--seed",
        "2",
        "--quiet",
    ];
    let (a, b) = (tmp.path().join("pa"), tmp.path().join("pb"));
    let oa = cmd(env!("CARGO_BIN_EXE_ppo_pendulum"), &[&pend[..], &["--out", a.to_str().unwrap()]].concat());
    assert!(oa.status.success(), "{}", String::from_utf8_lossy(&oa.stderr));
    assert!(cmd(env!("CARGO_BIN_EXE_ppo_pendulum"), &[&pend[..], &["--no-gif", "--out", b.to_str().unwrap()]].concat()).status.success());
    assert_eq!(metrics(&a), metrics(&b));
    let header = String::from_utf8(metrics(&a)).unwrap();
    assert!(header
        .starts_with("global_step,episode_return,episode_length,learning_rate,policy_loss,value_loss,entropy,approx_kl,clip_fraction,explained_variance\n"));
    for f in ["summary.json", "learning_curve.png", "model.safetensors", "episode.gif", "config.toml"] {
        assert!(a.join(f).exists(), "{f}");
    }
    let weights = tch::Tensor::read_safetensors(a.join("model.safetensors")).unwrap();
    let names: Vec<&str> = weights.iter().map(|(n, _)| n.as_str()).collect();
    assert!(names.contains(&"actor.log_std") && names.contains(&"obs_rms.mean"), "{names:?}");
    let log_std = weights.iter().find(|(n, _)| n == "actor.log_std").unwrap();
    assert_eq!(log_std.1.size(), vec![64], "gSDE: a [64 features, 1 action] log-std matrix");

    let short = ["--total-timesteps", "4000", "--seed", "4", "--quiet", "--no-gif"];
    let (c, d) = (tmp.path().join("ac"), tmp.path().join("ad"));
    assert!(cmd(env!("CARGO_BIN_EXE_a2c_cartpole"), &[&short[..], &["--out", c.to_str().unwrap()]].concat()).status.success());
    assert!(cmd(env!("CARGO_BIN_EXE_a2c_cartpole"), &[&short[..], &["--out", d.to_str().unwrap()]].concat()).status.success());
    assert_eq!(metrics(&c), metrics(&d));
}

#[test]
fn seeds_sweep_aggregates_and_resumes() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("sweep");
    let args = ["--algo", "reinforce", "--env", "CartPole-v1", "--total-timesteps", "3000", "--seeds", "1,2", "--no-gif", "--out", root.to_str().unwrap()];
    let o = cmd(env!("CARGO_BIN_EXE_train"), &args);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    for f in ["seeds.png", "aggregate.png", "seeds_summary.json", "seed-1/summary.json", "seed-2/metrics.csv"] {
        assert!(root.join(f).exists(), "{f}");
    }
    let summary: serde_json::Value = serde_json::from_slice(&std::fs::read(root.join("seeds_summary.json")).unwrap()).unwrap();
    assert_eq!(summary["seeds"].as_array().unwrap().len(), 2);
    let before = metrics(&root.join("seed-1"));
    // Running the same sweep again reuses the finished runs.
    let again = cmd(env!("CARGO_BIN_EXE_train"), &args);
    assert!(again.status.success());
    assert_eq!(before, metrics(&root.join("seed-1")));
    // Seed 1 of the sweep is the same run as a single run with seed 1.
    let single = tmp.path().join("single");
    let one =
        ["--algo", "reinforce", "--env", "CartPole-v1", "--total-timesteps", "3000", "--seed", "1", "--no-gif", "--quiet", "--out", single.to_str().unwrap()];
    assert!(cmd(env!("CARGO_BIN_EXE_train"), &one).status.success());
    assert_eq!(before, metrics(&single));
}

#[test]
fn enjoy_replays_a_run_with_the_same_returns() {
    let tmp = tempfile::tempdir().unwrap();
    let run = tmp.path().join("pend");
    let args =
        ["--total-timesteps", "2048", "--set", "num_steps=512", "--set", "num_envs=2", "--set", "num_minibatches=8", "--seed", "3", "--quiet", "--no-gif"];
    let o = cmd(env!("CARGO_BIN_EXE_ppo_pendulum"), &[&args[..], &["--out", run.to_str().unwrap()]].concat());
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let enjoy = env!("CARGO_BIN_EXE_enjoy");
    // Observation statistics are reloaded too, so the run's evaluation repeats exactly.
    let o = cmd(enjoy, &["--run", run.to_str().unwrap()]);
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(o.status.success() && out.contains("the same returns as the run's evaluation"), "{out}{}", String::from_utf8_lossy(&o.stderr));
    let gif = tmp.path().join("play.gif");
    let o = cmd(enjoy, &["--run", run.to_str().unwrap(), "--episodes", "1", "--seed", "9", "--gif", gif.to_str().unwrap()]);
    assert!(o.status.success() && gif.exists(), "{}", String::from_utf8_lossy(&o.stderr));
    one_line_error(&cmd(enjoy, &["--run", tmp.path().join("nowhere").to_str().unwrap()]), &["no summary.json"]);
    std::fs::write(run.join("model.safetensors"), b"not a weights file").unwrap();
    one_line_error(&cmd(enjoy, &["--run", run.to_str().unwrap()]), &["model.safetensors"]);
}
