//! TensorBoard reads what nnlab writes: runs of DQN, PPO and the GAN on a
//! 2-D mixture are read back with TensorBoard's own `EventAccumulator` (Python
//! TensorBoard, installed into the project's cache by `scripts/setup.sh`),
//! and every scalar must equal its `metrics.csv` cell (as f32), at its step,
//! under CleanRL's tag names; `charts/SPS` and the `hyperparameters` text are there.

mod common;

use common::{assert_scalars_match_csv, read_with_tensorboard};
use std::path::Path;
use std::process::Command;

fn run(bin: &str, out: &Path, args: &[&str]) {
    let o = Command::new(bin).args(args).args(["--quiet", "--out", out.to_str().unwrap()]).output().unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
}

#[test]
fn tensorboard_reads_every_scalar_of_rl_and_generative_runs() {
    let tmp = tempfile::tempdir().unwrap();
    let dqn = tmp.path().join("dqn");
    run(env!("CARGO_BIN_EXE_dqn_cartpole"), &dqn, &["--total-timesteps", "3000", "--set", "learning_starts=500", "--seed", "2"]);
    let tb = read_with_tensorboard(&dqn);
    let tags = assert_scalars_match_csv(&dqn, &tb);
    for t in ["charts/episodic_return", "charts/episodic_length", "charts/epsilon", "losses/td_loss", "losses/q_values"] {
        assert!(tags.iter().any(|x| x == t), "{t} in {tags:?}");
    }
    assert!(tb["scalars"]["charts/SPS"].as_array().is_some_and(|s| !s.is_empty() && s.iter().all(|e| e[1].as_f64().unwrap() > 0.0)), "charts/SPS");

    let ppo = tmp.path().join("ppo");
    run(env!("CARGO_BIN_EXE_train"), &ppo, &["--algo", "ppo", "--env", "CartPole-v1", "--total-timesteps", "4096", "--seed", "2"]);
    let tags = assert_scalars_match_csv(&ppo, &read_with_tensorboard(&ppo));
    let want = [
        "charts/learning_rate",
        "losses/value_loss",
        "losses/policy_loss",
        "losses/entropy",
        "losses/approx_kl",
        "losses/clipfrac",
        "losses/explained_variance",
    ];
    for t in want {
        assert!(tags.iter().any(|x| x == t), "{t} in {tags:?}");
    }

    let gan = tmp.path().join("gan");
    let gan_args = ["--dataset", "ring", "--steps", "200", "--eval-every", "100", "--set", "g_hidden=32", "--set", "d_hidden=32", "--set", "eval_samples=500"];
    run(env!("CARGO_BIN_EXE_gan_mixture"), &gan, &gan_args);
    let tags = assert_scalars_match_csv(&gan, &read_with_tensorboard(&gan));
    for t in ["losses/d_loss", "losses/g_loss", "eval/modes_covered", "eval/high_quality_fraction"] {
        assert!(tags.iter().any(|x| x == t), "{t} in {tags:?}");
    }

    // The VAE: per-step losses (steps.csv) and per-epoch evaluations (metrics.csv).
    let data = tmp.path().join("data");
    common::write_data(&data, 512, 128);
    let vae = tmp.path().join("vae");
    let vae_args =
        ["--epochs", "2", "--data-dir", data.to_str().unwrap(), "--set", "latent_dim=2", "--set", "hidden=32", "--set", "iw_samples=4", "--log-every", "1"];
    run(env!("CARGO_BIN_EXE_vae_fashion_mnist"), &vae, &vae_args);
    let tags = assert_scalars_match_csv(&vae, &read_with_tensorboard(&vae));
    for t in ["losses/loss", "epoch/train_loss", "eval/test_loss", "eval/test_kl"] {
        assert!(tags.iter().any(|x| x == t), "{t} in {tags:?}");
    }
    assert_eq!(std::fs::read_to_string(vae.join("steps.csv")).unwrap().lines().count(), 1 + 2 * 4, "a row per step: 4 batches of 128, 2 epochs");
}
