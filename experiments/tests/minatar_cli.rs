//! MinAtar from the command line. Without the `minatar` feature (the
//! README's test command), its ids and `bench --minatar` say in one line how
//! to build with it, and leave no run folder behind; with it (CI's minatar
//! step), the convolutional agents train on the games, reproducibly.

mod common;

use common::one_line_error;
use std::process::{Command, Output};

fn train(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_train")).args(args).env_remove("NNLAB_NUMERICS").output().unwrap()
}

#[test]
fn a_network_that_cannot_read_the_observation_is_refused_in_one_line() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("run");
    let o = out.to_str().unwrap();
    one_line_error(&train(&["--algo", "dqn", "--env", "CartPole-v1", "--set", "network=minatar", "--out", o]), &["needs pictures", "network = \"mlp\""]);
    one_line_error(&train(&["--algo", "c51", "--env", "CartPole-v1", "--set", "network=nature", "--out", o]), &["needs pictures"]);
    assert!(!out.exists());
}

#[cfg(not(feature = "minatar"))]
#[test]
fn without_the_feature_minatar_says_how_to_build_it() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("run");
    one_line_error(&train(&["--algo", "dqn", "--env", "MinAtar/Breakout-v1", "--out", out.to_str().unwrap()]), &["--features minatar", "GPL-3.0"]);
    assert!(!out.exists(), "no run folder for an env this binary lacks");
    let bench = Command::new(env!("CARGO_BIN_EXE_bench")).arg("--minatar").output().unwrap();
    one_line_error(&bench, &["--features minatar"]);
}

#[cfg(feature = "minatar")]
#[test]
fn the_minatar_dqn_preset_trains_and_repeats_bit_for_bit() {
    let tmp = tempfile::tempdir().unwrap();
    let run = |name: &str| {
        let dir = tmp.path().join(name);
        let args = ["--algo", "dqn", "--env", "MinAtar/Breakout-v1", "--set", "total_timesteps=1500", "--set", "learning_starts=500", "--quiet", "--no-gif"];
        let o = train(&[&args[..], &["--out", dir.to_str().unwrap()]].concat());
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        (std::fs::read_to_string(dir.join("metrics.csv")).unwrap(), std::fs::read_to_string(dir.join("config.toml")).unwrap())
    };
    let (a, config) = run("a");
    let (b, _) = run("b");
    assert_eq!(a, b, "one seed, one metrics.csv");
    assert!(a.lines().count() > 10, "episodes were logged");
    for key in ["network = \"minatar\"", "optimizer = \"rmsprop\"", "rmsprop_centered = true", "hidden_sizes = [128]"] {
        assert!(config.contains(key), "the preset's {key} is in the run's config.toml");
    }
}

#[cfg(feature = "minatar")]
#[test]
fn an_mlp_on_minatar_pictures_is_refused_in_one_line() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("run");
    one_line_error(
        &train(&["--algo", "dqn", "--env", "MinAtar/Seaquest-v1", "--set", "network=mlp", "--out", out.to_str().unwrap()]),
        &["network = \"minatar\""],
    );
    one_line_error(&train(&["--algo", "sac", "--env", "MinAtar/Seaquest-v1", "--out", out.to_str().unwrap()]), &["continuous"]);
    assert!(!out.exists());
}

#[cfg(feature = "minatar")]
#[test]
fn pqn_and_ppo_train_on_minatar_through_convolutions_reproducibly() {
    let tmp = tempfile::tempdir().unwrap();
    for (algo, steps) in [("pqn", "8192"), ("ppo", "16384")] {
        let run = |name: &str| {
            let dir = tmp.path().join(format!("{algo}-{name}"));
            let args = ["--algo", algo, "--env", "MinAtar/SpaceInvaders-v1", "--set", &format!("total_timesteps={steps}"), "--quiet", "--no-gif"];
            let o = train(&[&args[..], &["--out", dir.to_str().unwrap()]].concat());
            assert!(o.status.success(), "{algo}: {}", String::from_utf8_lossy(&o.stderr));
            (std::fs::read_to_string(dir.join("metrics.csv")).unwrap(), std::fs::read_to_string(dir.join("config.toml")).unwrap())
        };
        let (a, config) = run("a");
        let (b, _) = run("b");
        assert_eq!(a, b, "{algo}: one seed, one metrics.csv");
        assert!(config.contains("network = \"minatar\""), "{algo}: the MinAtar preset's convolutional network");
    }
    // REINFORCE collects whole episodes on the host, with dense networks only.
    let out = tmp.path().join("reinforce");
    one_line_error(&train(&["--algo", "reinforce", "--env", "MinAtar/Breakout-v1", "--out", out.to_str().unwrap()]), &["network = \"mlp\" cannot read"]);
}
