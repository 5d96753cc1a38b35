//! `--eval-every N` (SB3's `EvalCallback`): evaluations during training leave
//! the training itself unchanged to the byte, are written to
//! `evaluations.csv` and TensorBoard, keep the best model, and that model is
//! evaluated again on the run's final evaluation episodes.

mod common;

use std::path::Path;
use std::process::Command;

fn train(args: &[&str], extra: &[&str], out: &Path) {
    let o = Command::new(env!("CARGO_BIN_EXE_train")).args(args).args(extra).args(["--out", out.to_str().unwrap()]).output().unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
}

fn summary(run: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(run.join("summary.json")).unwrap()).unwrap()
}

#[test]
fn evaluations_during_training_keep_the_best_model_and_change_no_training_byte() {
    let tmp = tempfile::tempdir().unwrap();
    let (plain, evaluated) = (tmp.path().join("plain"), tmp.path().join("evaluated"));
    let args = [
        "--algo",
        "qrdqn",
        "--env",
        "CartPole-v1",
        "--total-timesteps",
        "6000",
        "--set",
        "learning_starts=1000",
        "--seed",
        "2",
        "--numerics",
        "portable",
        "--no-gif",
        "--quiet",
    ];
    train(&args, &[], &plain);
    train(&args, &["--eval-every", "2000", "--eval-every-episodes", "3"], &evaluated);
    for f in ["metrics.csv", "model.safetensors"] {
        assert!(std::fs::read(plain.join(f)).unwrap() == std::fs::read(evaluated.join(f)).unwrap(), "{f} changed with --eval-every");
    }
    assert!(!plain.join("evaluations.csv").exists() && !plain.join("best_model.safetensors").exists());

    // Steps 2000 and 4000, then the final model (6000).
    let csv = std::fs::read_to_string(evaluated.join("evaluations.csv")).unwrap();
    let rows: Vec<Vec<f64>> = csv.lines().skip(1).map(|l| l.split(',').map(|v| v.parse().unwrap()).collect()).collect();
    assert!(csv.starts_with("global_step,mean_reward,std_reward,mean_ep_length\n"), "{csv}");
    assert_eq!(rows.iter().map(|r| r[0] as usize).collect::<Vec<_>>(), [2000, 4000, 6000]);
    // The first of the highest means is the best (SB3 keeps a new model only when it is strictly better).
    let best = rows.iter().fold(&rows[0], |b, r| if r[1] > b[1] { r } else { b });
    let (s, p) = (summary(&evaluated), summary(&plain));
    let b = &s["best_model"];
    assert_eq!(b["global_step"].as_f64().unwrap(), best[0], "{s}");
    assert_eq!(b["selection_return_mean"].as_f64().unwrap(), best[1]);
    assert_eq!(b["eval_returns"].as_array().unwrap().len(), s["eval_returns"].as_array().unwrap().len());
    assert_eq!(s["eval_returns"], p["eval_returns"], "the final model's evaluation is unchanged");
    assert!(p.get("best_model").is_none());
    if best[0] == 6000.0 {
        assert_eq!(b["eval_returns"], s["eval_returns"], "the best model is the final one");
    }
    assert!(evaluated.join("best_model.safetensors").is_file());

    // `enjoy --best` plays the best model and finds the returns of summary.json's best_model.
    let enjoy = |run: &Path| Command::new(env!("CARGO_BIN_EXE_enjoy")).args(["--run", run.to_str().unwrap(), "--best"]).output().unwrap();
    let o = enjoy(&evaluated);
    assert!(
        String::from_utf8_lossy(&o.stdout).contains("the same returns as the run's evaluation"),
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    common::one_line_error(&enjoy(&plain), &["no best_model.safetensors", "--eval-every"]);

    // TensorBoard has eval/mean_reward and eval/mean_ep_length as in the file.
    let tags = common::assert_scalars_match_csv(&evaluated, &common::read_with_tensorboard(&evaluated));
    assert!(tags.iter().any(|t| t == "eval/mean_reward"), "{tags:?}");
}

#[test]
fn eval_every_needs_a_positive_count_and_is_not_for_resume() {
    let bin = env!("CARGO_BIN_EXE_train");
    let usage = |args: &[&str]| Command::new(bin).args(args).output().unwrap().status.code();
    assert_eq!(usage(&["--algo", "dqn", "--env", "CartPole-v1", "--eval-every", "0"]), Some(2));
    assert_eq!(usage(&["--algo", "dqn", "--env", "CartPole-v1", "--eval-every-episodes", "3"]), Some(2), "needs --eval-every");
    assert_eq!(usage(&["--resume", "somewhere", "--eval-every", "100"]), Some(2), "a resumed run keeps its own");
}
