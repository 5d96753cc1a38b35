//! The off-policy actor-critics (and the distributional DQNs' bad input) from the command line: `sac_pendulum`,
//! `td3_pendulum` and `train --algo ddpg` write complete run folders with
//! CleanRL's TensorBoard tags, two runs with one seed are byte-identical,
//! `enjoy` plays a saved agent, and bad input (an algorithm that cannot act in
//! the environment's action space, out-of-range hyperparameters) is a one-line
//! error before any run folder exists.

mod common;

use common::{assert_scalars_match_csv, one_line_error, read_with_tensorboard};
use std::path::Path;
use std::process::{Command, Output};

const SAC: &str = env!("CARGO_BIN_EXE_sac_pendulum");
const TD3: &str = env!("CARGO_BIN_EXE_td3_pendulum");
const TRAIN: &str = env!("CARGO_BIN_EXE_train");
const ENJOY: &str = env!("CARGO_BIN_EXE_enjoy");

fn run(bin: &str, args: &[&str]) -> Output {
    Command::new(bin).args(args).env_remove("NNLAB_NUMERICS").output().expect("binary runs")
}

fn ok(o: Output) -> Output {
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    o
}

/// A short run's flags: small networks, learning after 400 steps.
const SHORT: [&str; 10] =
    ["--total-timesteps", "1200", "--set", "learning_starts=400", "--set", "hidden_sizes=[32,32]", "--set", "eval_episodes=2", "--quiet", "--no-gif"];

fn short_run(bin: &str, extra: &[&str], out: &Path) {
    ok(run(bin, &[&SHORT[..], extra, &["--out", out.to_str().unwrap()]].concat()));
}

#[test]
fn sac_and_td3_write_reproducible_runs_with_cleanrl_tags() {
    let tmp = tempfile::tempdir().unwrap();
    let (a, b) = (tmp.path().join("a"), tmp.path().join("b"));
    short_run(SAC, &["--seed", "3"], &a);
    short_run(SAC, &["--seed", "3"], &b);
    for f in ["metrics.csv", "model.safetensors"] {
        assert_eq!(std::fs::read(a.join(f)).unwrap(), std::fs::read(b.join(f)).unwrap(), "{f}: one seed, one result");
    }
    let header = std::fs::read_to_string(a.join("metrics.csv")).unwrap().lines().next().unwrap().to_string();
    assert_eq!(header, "global_step,episode_return,episode_length,qf1_loss,qf2_loss,qf1_values,qf2_values,actor_loss,alpha,alpha_loss");
    let tags = assert_scalars_match_csv(&a, &read_with_tensorboard(&a));
    for t in ["losses/qf1_loss", "losses/qf2_loss", "losses/qf1_values", "losses/actor_loss", "losses/alpha", "losses/alpha_loss", "charts/episodic_return"] {
        assert!(tags.iter().any(|x| x == t), "{t} in {tags:?}");
    }
    let summary: serde_json::Value = serde_json::from_slice(&std::fs::read(a.join("summary.json")).unwrap()).unwrap();
    assert_eq!(summary["algo"], "sac");
    assert_eq!(summary["eval_returns"].as_array().unwrap().len(), 2);

    let td3 = tmp.path().join("td3");
    short_run(TD3, &["--set", "noise_type=\"ornstein-uhlenbeck\""], &td3);
    let o = ok(run(ENJOY, &["--run", td3.to_str().unwrap(), "--episodes", "1"]));
    assert!(String::from_utf8_lossy(&o.stdout).contains("return"), "{}", String::from_utf8_lossy(&o.stdout));
    let ddpg = tmp.path().join("ddpg");
    short_run(TRAIN, &["--algo", "ddpg", "--env", "Pendulum-v1"], &ddpg);
    let header = std::fs::read_to_string(ddpg.join("metrics.csv")).unwrap().lines().next().unwrap().to_string();
    assert!(header.ends_with("qf1_loss,qf1_values,actor_loss"), "{header}");
}

#[test]
fn tqc_and_crossq_train_reproducibly_and_play_back() {
    let tmp = tempfile::tempdir().unwrap();
    let tqc = [&SHORT[..], &["--set", "n_quantiles=5"]].concat();
    let crossq = [
        "--total-timesteps",
        "900",
        "--set",
        "learning_starts=400",
        "--set",
        "actor_hidden_sizes=[32]",
        "--set",
        "critic_hidden_sizes=[64]",
        "--set",
        "eval_episodes=2",
        "--quiet",
        "--no-gif",
    ];
    for (algo, flags, stats) in
        [("tqc", &tqc[..], "qf_loss,qf_values,actor_loss,alpha,alpha_loss"), ("crossq", &crossq[..], "qf_loss,qf_values,actor_loss,alpha,alpha_loss")]
    {
        let (a, b) = (tmp.path().join(format!("{algo}-a")), tmp.path().join(format!("{algo}-b")));
        for out in [&a, &b] {
            ok(run(TRAIN, &[&["--algo", algo, "--env", "Pendulum-v1", "--seed", "2", "--out", out.to_str().unwrap()], flags].concat()));
        }
        for f in ["metrics.csv", "model.safetensors"] {
            assert_eq!(std::fs::read(a.join(f)).unwrap(), std::fs::read(b.join(f)).unwrap(), "{algo} {f}: one seed, one result");
        }
        let header = std::fs::read_to_string(a.join("metrics.csv")).unwrap().lines().next().unwrap().to_string();
        assert!(header.ends_with(stats), "{algo}: {header}");
        // enjoy rebuilds the agent (CrossQ: with its normalisations' running statistics) and
        // replays the final evaluation exactly.
        let o = ok(run(ENJOY, &["--run", a.to_str().unwrap()]));
        let stdout = String::from_utf8_lossy(&o.stdout);
        assert!(stdout.contains("the same returns as the run's evaluation"), "{algo}: {stdout}");
    }
    let o = tmp.path().join("refused");
    one_line_error(
        &run(TRAIN, &["--algo", "tqc", "--env", "Pendulum-v1", "--set", "top_quantiles_to_drop_per_net=25", "--out", o.to_str().unwrap()]),
        &["top_quantiles_to_drop_per_net"],
    );
    one_line_error(
        &run(TRAIN, &["--algo", "crossq", "--env", "Pendulum-v1", "--set", "batch_size=1", "--out", o.to_str().unwrap()]),
        &["batch_size must be at least 2"],
    );
    assert!(!o.exists(), "no run folder for refused input");
}

/// A failure with one line on stderr that contains `needle`, no panic.

#[test]
fn impossible_off_policy_settings_are_one_line_errors() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("run");
    let o = out.to_str().unwrap();
    for algo in ["sac", "td3", "ddpg", "tqc", "crossq"] {
        one_line_error(
            &run(TRAIN, &["--algo", algo, "--env", "CartPole-v1", "--out", o]),
            &["needs continuous (Box) actions, but CartPole-v1 has 2 discrete actions"],
        );
    }
    for (algo, name) in [("dqn", "DQN"), ("c51", "C51"), ("qrdqn", "QR-DQN")] {
        one_line_error(&run(TRAIN, &["--algo", algo, "--env", "Pendulum-v1", "--out", o]), &[&format!("{name} needs discrete actions")]);
    }
    one_line_error(
        &run(TRAIN, &["--algo", "c51", "--env", "CartPole-v1", "--set", "v_min=10", "--set", "v_max=-10", "--out", o]),
        &["v_min (10) must be less than v_max (-10)"],
    );
    one_line_error(&run(TRAIN, &["--algo", "qrdqn", "--env", "CartPole-v1", "--set", "n_quantiles=0", "--out", o]), &["n_quantiles"]);
    for algo in ["dqn", "c51", "qrdqn"] {
        let args = ["--algo", algo, "--env", "CartPole-v1", "--total-timesteps", "100", "--set", "learning_starts=1000", "--out", o];
        one_line_error(&run(TRAIN, &args), &["learning_starts (1000) must be less than total_timesteps (100)"]);
    }
    one_line_error(&run(TRAIN, &["--algo", "ppo", "--env", "CartPole-v1", "--set", "use_sde=true", "--out", o]), &["use_sde needs continuous (Box) actions"]);
    let cases: [(&str, &[&str], &str); 7] = [
        (SAC, &["--set", "tau=0"], "tau must be in (0, 1], got 0"),
        (TD3, &["--set", "tau=1.5"], "tau must be in (0, 1], got 1.5"),
        (TD3, &["--set", "exploration_noise=-0.1"], "exploration_noise must be a number >= 0"),
        (TD3, &["--set", "policy_noise=-1"], "policy_noise must be a number >= 0"),
        (SAC, &["--set", "batch_size=512", "--set", "buffer_size=256"], "batch_size (512) must not exceed buffer_size (256)"),
        (SAC, &["--set", "learning_starts=30000"], "learning_starts (30000) must be less than total_timesteps (20000)"),
        (SAC, &["--set", "log_std_min=3"], "log_std_min (3) must be less than log_std_max (2)"),
    ];
    for (bin, args, needle) in cases {
        one_line_error(&run(bin, &[args, &["--out", o][..]].concat()), &[needle]);
    }
    assert!(!out.exists(), "no run folder for a refused config");
}
