//! Hostile but realistic input, as a new user would give it: each case ends
//! with a clear message and a non-zero exit, never a panic, and leaves no
//! half-written run behind. One test per problem of issue 9 ("Bad input and
//! faults"), numbered as there.

mod common;

use common::one_line_error;

use common::write_data;
use std::path::Path;
use std::process::{Command, Output, Stdio};

fn run(bin: &str, args: &[&str]) -> Output {
    Command::new(bin).args(args).env_remove("NNLAB_NUMERICS").output().expect("binary runs")
}

const DQN: &str = env!("CARGO_BIN_EXE_dqn_cartpole");
const TRAIN: &str = env!("CARGO_BIN_EXE_train");
const ENJOY: &str = env!("CARGO_BIN_EXE_enjoy");
const VAE: &str = env!("CARGO_BIN_EXE_vae_fashion_mnist");
const DCGAN: &str = env!("CARGO_BIN_EXE_dcgan_fashion_mnist");
const GAN: &str = env!("CARGO_BIN_EXE_gan_mixture");
const PPO_PENDULUM: &str = env!("CARGO_BIN_EXE_ppo_pendulum");

/// A finished short DQN run in `dir`.
fn short_dqn_run(dir: &Path) {
    let o = run(DQN, &["--total-timesteps", "1500", "--set", "learning_starts=500", "--no-gif", "--quiet", "--out", dir.to_str().unwrap()]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
}

#[test]
fn p01_learning_rates_beyond_f32_are_refused_before_any_run_folder() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("run");
    let o = out.to_str().unwrap();
    one_line_error(&run(DQN, &["--set", "learning_rate=1e39", "--out", o]), &["learning_rate"]);
    for algo in ["ppo", "a2c", "reinforce"] {
        one_line_error(&run(TRAIN, &["--algo", algo, "--env", "CartPole-v1", "--set", "learning_rate=1e300", "--out", o]), &["learning_rate"]);
    }
    one_line_error(&run(GAN, &["--set", "learning_rate=1e300", "--out", o]), &["learning_rate"]);
    assert!(!out.exists());
}

#[test]
fn p02_an_impossible_network_is_refused_in_one_line() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("run");
    one_line_error(&run(DQN, &["--set", "hidden_sizes=[100000000000]", "--out", out.to_str().unwrap()]), &["hidden_sizes"]);
    one_line_error(&run(GAN, &["--set", "g_hidden=100000000000", "--out", out.to_str().unwrap()]), &["g_hidden"]);
    assert!(!out.exists());
}

#[test]
fn p03_huge_seed_lists_and_episode_counts_are_refused() {
    one_line_error(&run(DQN, &["--seeds", "1-18446744073709551615"]), &["2^63 - 1"]);
    one_line_error(&run(DQN, &["--seeds", "1-9223372036854775807"]), &["at most 1000"]);
    let tmp = tempfile::tempdir().unwrap();
    short_dqn_run(&tmp.path().join("r"));
    one_line_error(&run(ENJOY, &["--run", tmp.path().join("r").to_str().unwrap(), "--episodes", "18446744073709551615"]), &["--episodes"]);
}

#[test]
fn p04_a_closed_stdout_does_not_panic() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("r");
    for (bin, args) in [
        (DQN, vec!["--total-timesteps", "1500", "--set", "learning_starts=500", "--no-gif", "--quiet", "--out", dir.to_str().unwrap()]),
        (ENJOY, vec!["--run", dir.to_str().unwrap()]),
    ] {
        let mut child = Command::new(bin).args(&args).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
        drop(child.stdout.take()); // the reader goes away, as with `| head -0`
        let o = child.wait_with_output().unwrap();
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(o.status.success() && !err.contains("panicked") && !err.contains("Broken pipe"), "{bin}: {err}");
    }
    assert!(dir.join("summary.json").exists());
}

#[test]
fn p06_idx_files_without_images_are_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    write_data(&data, 0, 0);
    let out = tmp.path().join("run");
    for bin in [VAE, DCGAN] {
        one_line_error(&run(bin, &["--data-dir", data.to_str().unwrap(), "--out", out.to_str().unwrap()]), &["holds no images"]);
    }
    assert!(!out.exists());
}

#[test]
fn p07_a_batch_larger_than_the_data_leaves_no_run_folder() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    write_data(&data, 64, 32);
    let out = tmp.path().join("run");
    let d = data.to_str().unwrap();
    for bin in [DCGAN, VAE] {
        one_line_error(&run(bin, &["--data-dir", d, "--set", "batch_size=100000", "--out", out.to_str().unwrap(), "--quiet"]), &["batch_size"]);
        assert!(!out.exists(), "{bin}");
    }
    // The corrected run may use the same folder.
    let o = run(
        VAE,
        &["--data-dir", d, "--epochs", "1", "--set", "batch_size=32", "--set", "hidden=16", "--set", "iw_samples=2", "--out", out.to_str().unwrap(), "--quiet"],
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
}

#[test]
fn p08_seeds_with_quiet_runs() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("sweep");
    let o = run(DQN, &["--seeds", "1,2", "--quiet", "--total-timesteps", "1000", "--set", "learning_starts=500", "--no-gif", "--out", out.to_str().unwrap()]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(out.join("seeds_summary.json").exists());
}

#[test]
fn p09_usage_errors_print_clap_s_whole_message() {
    let o = run(TRAIN, &["--env", "CartPole-v1"]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2));
    assert!(err.contains("required arguments were not provided") && err.contains("--algo <ALGO>"), "{err}");
    let o = run(ENJOY, &[]);
    assert!(String::from_utf8_lossy(&o.stderr).contains("--run <RUN>"));
    let o = run(TRAIN, &["--algo", "trpo", "--env", "CartPole-v1"]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("possible values") && err.contains("reinforce"), "{err}");
}

#[test]
fn p10_duplicate_seeds_are_refused() {
    one_line_error(&run(DQN, &["--seeds", "1,1"]), &["appears twice"]);
    one_line_error(&run(DQN, &["--seeds", "3,1,3"]), &["appears twice"]);
}

#[test]
fn p11_enjoy_never_overwrites_a_run_s_files_and_asks_before_others() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("r");
    short_dqn_run(&dir);
    let model = std::fs::read(dir.join("model.safetensors")).unwrap();
    let r = dir.to_str().unwrap();
    let inside = dir.join("model.safetensors");
    one_line_error(&run(ENJOY, &["--run", r, "--gif", inside.to_str().unwrap(), "--force"]), &["file of the run folder"]);
    assert_eq!(std::fs::read(dir.join("model.safetensors")).unwrap(), model);
    one_line_error(&run(ENJOY, &["--run", r, "--gif", "/dev/null", "--force"]), &["not a regular file"]);
    let other = tmp.path().join("play.gif");
    std::fs::write(&other, b"mine").unwrap();
    one_line_error(&run(ENJOY, &["--run", r, "--gif", other.to_str().unwrap()]), &["--force"]);
    assert_eq!(std::fs::read(&other).unwrap(), b"mine");
    assert!(run(ENJOY, &["--run", r, "--gif", other.to_str().unwrap(), "--force"]).status.success());
    assert!(std::fs::read(&other).unwrap().starts_with(b"GIF"));
}

#[test]
fn p12_the_environment_has_one_source() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("run");
    let o = out.to_str().unwrap();
    one_line_error(&run(PPO_PENDULUM, &["--set", "env_id=\"CartPole-v1\"", "--out", o]), &["contradicts"]);
    one_line_error(&run(TRAIN, &["--algo", "ppo", "--env", "Acrobot-v1", "--set", "env_id=CartPole-v1", "--out", o]), &["contradicts"]);
    let cfg = tmp.path().join("cartpole.toml");
    std::fs::write(&cfg, "env_id = \"CartPole-v1\"\n").unwrap();
    one_line_error(&run(PPO_PENDULUM, &["--config", cfg.to_str().unwrap(), "--out", o]), &["is for CartPole-v1"]);
    let no_env = tmp.path().join("no-env.toml");
    std::fs::write(&no_env, "learning_rate = 1e-3\n").unwrap();
    one_line_error(&run(TRAIN, &["--algo", "dqn", "--config", no_env.to_str().unwrap(), "--out", o]), &["has no env_id (pass --env)"]);
    // --env with another environment's file is refused, not quietly retargeted.
    one_line_error(
        &run(TRAIN, &["--algo", "ppo", "--env", "Acrobot-v1", "--config", cfg.to_str().unwrap(), "--out", o]),
        &["is a config for CartPole-v1", "drop --env"],
    );
    assert!(!out.exists());
}

#[test]
fn p17_nan_or_integer_weights_are_named_not_loaded() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("r");
    short_dqn_run(&dir);
    let model = dir.join("model.safetensors");
    let tensors = tch::Tensor::read_safetensors(&model).unwrap();
    let (first, _) = &tensors[0];
    let spoil = |value: tch::Tensor| {
        let named: Vec<(String, tch::Tensor)> =
            tensors.iter().map(|(n, t)| (n.clone(), if n == first { value.shallow_clone() } else { t.shallow_clone() })).collect();
        tch::Tensor::write_safetensors(&named, &model).unwrap();
    };
    let shape = tensors[0].1.size();
    spoil(tch::Tensor::full(shape.as_slice(), f64::NAN, (tch::Kind::Float, tch::Device::Cpu)));
    one_line_error(&run(ENJOY, &["--run", dir.to_str().unwrap()]), &[first.as_str(), "NaN or infinite"]);
    spoil(tch::Tensor::zeros(shape.as_slice(), (tch::Kind::Int64, tch::Device::Cpu)));
    one_line_error(&run(ENJOY, &["--run", dir.to_str().unwrap()]), &[first.as_str(), "I64"]);
}

#[test]
fn p18_distributions_and_sequence_models_too_big_for_memory_are_refused_up_front() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("run");
    let o = out.to_str().unwrap();
    one_line_error(&run(TRAIN, &["--algo", "c51", "--env", "CartPole-v1", "--set", "n_atoms=100000000", "--out", o]), &["n_atoms", "GiB"]);
    one_line_error(&run(TRAIN, &["--algo", "qrdqn", "--env", "CartPole-v1", "--set", "n_quantiles=100000", "--out", o]), &["n_quantiles", "GiB"]);
    one_line_error(&run(env!("CARGO_BIN_EXE_charlm"), &["--model", "lstm", "--set", "hidden=1000000", "--out", o]), &["hidden", "GiB"]);
    one_line_error(
        &run(env!("CARGO_BIN_EXE_charlm"), &["--model", "transformer", "--set", "d_model=1000000", "--set", "heads=1", "--out", o]),
        &["d_model", "GiB"],
    );
    one_line_error(&run(env!("CARGO_BIN_EXE_tagger"), &["--task", "ner", "--set", "hidden=100000000", "--out", o]), &["hidden", "GiB"]);
    one_line_error(&run(env!("CARGO_BIN_EXE_sentiment"), &["--set", "hidden=10000000", "--out", o]), &["hidden", "GiB"]);
    assert!(!out.exists(), "no run folder");
}

#[test]
fn p19_a_checkpoint_damaged_behind_its_header_is_named_on_resume() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("r");
    let o = run(
        DQN,
        &["--total-timesteps", "1500", "--set", "learning_starts=500", "--checkpoint-every", "1000", "--no-gif", "--quiet", "--out", dir.to_str().unwrap()],
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    // As if the run had stopped after its checkpoint; then one bit of its data flips.
    std::fs::remove_file(dir.join("summary.json")).unwrap();
    let ckpt = dir.join("checkpoint/state.safetensors");
    let mut bytes = std::fs::read(&ckpt).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 0x10;
    std::fs::write(&ckpt, &bytes).unwrap();
    one_line_error(&run(DQN, &["--resume", dir.to_str().unwrap()]), &["damaged"]);
}

#[test]
fn p20_a_diverged_actor_says_so_and_entropy_targets_beyond_f32_are_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("run");
    let o = out.to_str().unwrap();
    one_line_error(&run(TRAIN, &["--algo", "sac", "--env", "Pendulum-v1", "--set", "target_entropy=1e39", "--out", o]), &["target_entropy", "32-bit"]);
    assert!(!out.exists());
    let args = [
        "--algo",
        "td3",
        "--env",
        "Pendulum-v1",
        "--total-timesteps",
        "3000",
        "--set",
        "learning_starts=200",
        "--set",
        "learning_rate=1e30",
        "--no-gif",
        "--quiet",
        "--out",
        o,
    ];
    let r = run(TRAIN, &args);
    let err = String::from_utf8_lossy(&r.stderr);
    assert!(!r.status.success() && err.trim().lines().count() == 1 && err.contains("became NaN") && !err.contains("outside the action space"), "{err}");
}

#[test]
fn p16_seeds_beyond_toml_and_multi_line_sets_are_refused_up_front() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("run");
    let o = out.to_str().unwrap();
    let r = run(DQN, &["--seed", "9223372036854775808", "--out", o]);
    assert!(!r.status.success() && String::from_utf8_lossy(&r.stderr).contains("--seed"), "{}", String::from_utf8_lossy(&r.stderr));
    one_line_error(&run(DQN, &["--seeds", "1,9223372036854775808", "--out", o]), &["2^63"]);
    one_line_error(&run(DQN, &["--set", "learning_rate=0.001\nbatch_size=3", "--out", o]), &["one line"]);
    assert!(!out.exists(), "no run folder");
}

#[test]
fn p13_signals_stop_runs_and_sweeps_cleanly() {
    let tmp = tempfile::tempdir().unwrap();
    // A single run stopped by SIGINT says so and keeps its folder unfinished.
    let dir = tmp.path().join("single");
    let child = Command::new(DQN)
        .args(["--total-timesteps", "2000000", "--no-gif", "--out", dir.to_str().unwrap()])
        .stderr(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let wait_for = |p: &Path| {
        for _ in 0..200 {
            if p.exists() {
                return;
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        panic!("{} never appeared", p.display());
    };
    wait_for(&dir.join("config.toml"));
    std::thread::sleep(std::time::Duration::from_millis(500));
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    let o = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(130), "{err}");
    assert!(err.contains("stopped by a signal") && err.contains("metrics.csv"), "{err}");
    assert!(dir.join("config.toml").exists() && !dir.join("summary.json").exists());

    // A sweep parent forwards SIGTERM to its children and waits for them.
    let root = tmp.path().join("sweep");
    let parent = Command::new(DQN)
        .args(["--seeds", "1,2", "--total-timesteps", "2000000", "--no-gif", "--out", root.to_str().unwrap()])
        .stderr(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    wait_for(&root.join("seed-1").join("config.toml"));
    wait_for(&root.join("seed-2").join("config.toml"));
    let children: Vec<i32> = std::fs::read_to_string(format!("/proc/{}/task/{}/children", parent.id(), parent.id()))
        .unwrap_or_default()
        .split_whitespace()
        .filter_map(|p| p.parse().ok())
        .collect();
    assert_eq!(children.len(), 2, "two seed processes");
    unsafe { libc::kill(parent.id() as i32, libc::SIGTERM) };
    let o = parent.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success() && err.contains("stopped by a signal"), "{err}");
    for pid in children {
        assert!(!Path::new(&format!("/proc/{pid}")).exists(), "child {pid} still running");
    }
}

#[test]
fn p14_a_loss_that_becomes_nan_stops_the_run() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    write_data(&data, 256, 64);
    let out = tmp.path().join("run");
    let args = ["--data-dir", data.to_str().unwrap(), "--epochs", "2", "--set", "learning_rate=1e30", "--set", "hidden=16", "--set", "iw_samples=2", "--quiet"];
    let o = run(VAE, &[&args[..], &["--out", out.to_str().unwrap()]].concat());
    one_line_error(&o, &["became NaN"]);
    assert!(out.join("metrics.csv").exists() && !out.join("summary.json").exists() && !out.join("model.safetensors").exists());
    let keep = tmp.path().join("keep");
    let o = run(VAE, &[&args[..], &["--allow-nan", "--out", keep.to_str().unwrap()]].concat());
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let o = run(
        DQN,
        &[
            "--set",
            "learning_rate=1e30",
            "--total-timesteps",
            "3000",
            "--set",
            "learning_starts=500",
            "--no-gif",
            "--quiet",
            "--out",
            tmp.path().join("dqn").to_str().unwrap(),
        ],
    );
    one_line_error(&o, &["became"]);
}

#[test]
fn p15_messages_say_what_was_wrong_in_words() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("r");
    short_dqn_run(&dir);
    let r = dir.to_str().unwrap();
    std::fs::write(dir.join("model.safetensors"), [0xffu8; 64]).unwrap();
    let o = run(ENJOY, &["--run", r]);
    one_line_error(&o, &["not a valid safetensors file"]);
    assert!(!String::from_utf8_lossy(&o.stderr).contains("HeaderTooLarge"));
    std::fs::remove_file(dir.join("model.safetensors")).unwrap();
    let o = run(ENJOY, &["--run", r]);
    one_line_error(&o, &["No such file or directory"]);
    assert!(!String::from_utf8_lossy(&o.stderr).contains("Os {"));
    let o = run(ENJOY, &["--run", &format!("{r}-nope")]);
    one_line_error(&o, &["no summary.json"]);

    let gif = tmp.path().join("no-such-dir").join("play.gif");
    short_dqn_run(&tmp.path().join("r2"));
    let o = run(ENJOY, &["--run", tmp.path().join("r2").to_str().unwrap(), "--gif", gif.to_str().unwrap()]);
    one_line_error(&o, &[&format!("cannot write {}", gif.display())]);
    assert!(!String::from_utf8_lossy(&o.stderr).contains(".partial-"), "names the target, not the temporary file");

    let o = run(TRAIN, &["--algo", "ppo", "--env", "CartPole-v1", "--set", "ent_coef=inf"]);
    one_line_error(&o, &["ent_coef"]);
    assert!(String::from_utf8_lossy(&o.stderr).len() < 200, "no 309-digit bound");
    one_line_error(&run(DQN, &["--set", "batch_size=99999999999999999999999"]), &["64 bits"]);
    let o = run(DQN, &["--set", "batch_size=-1"]);
    one_line_error(&o, &["whole number"]);
    one_line_error(&run(DQN, &["--config", "/dev/zero"]), &["larger than"]);
    one_line_error(&run(DQN, &["--threads", "1000"]), &["--threads 1000"]);
}

#[test]
fn p21_resume_refuses_an_edited_config_and_clears_leftover_temporary_files() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("r");
    let d = dir.to_str().unwrap();
    let o = run(DQN, &["--total-timesteps", "1500", "--set", "learning_starts=500", "--checkpoint-every", "1000", "--no-gif", "--quiet", "--out", d]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    // As if the run had been killed (kill -9) after its checkpoint, in the middle of writing files.
    std::fs::remove_file(dir.join("summary.json")).unwrap();
    std::fs::write(dir.join(".partial-x1.csv"), "half a row").unwrap();
    std::fs::write(dir.join("checkpoint").join(".partial-x2.safetensors"), "half").unwrap();
    let config = dir.join("config.toml");
    let text = std::fs::read_to_string(&config).unwrap();
    let line = text.lines().find(|l| l.starts_with("learning_rate =")).expect("a learning_rate line").to_string();
    std::fs::write(&config, text.replace(&line, "learning_rate = 0.5")).unwrap();
    one_line_error(&run(DQN, &["--resume", d]), &["edited", "learning_rate = 0.5", &line, "undo the edit"]);
    std::fs::write(&config, &text).unwrap();
    let o = run(DQN, &["--resume", d, "--quiet"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(dir.join("summary.json").is_file());
    assert!(!dir.join(".partial-x1.csv").exists() && !dir.join("checkpoint").join(".partial-x2.safetensors").exists(), "leftovers removed");
}

#[test]
fn p22_an_actor_period_longer_than_the_run_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("run");
    let o = out.to_str().unwrap();
    for algo in ["sac", "td3"] {
        let r = run(TRAIN, &["--algo", algo, "--env", "Pendulum-v1", "--total-timesteps", "20000", "--set", "policy_frequency=1000000000", "--out", o]);
        one_line_error(&r, &["policy_frequency", "at most total_timesteps (20000)"]);
    }
    assert!(!out.exists());
}
