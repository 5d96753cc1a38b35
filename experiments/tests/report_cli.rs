//! `report` on hand-made run folders: rliable's statistics over labelled
//! folders and glob patterns, normalised over tasks, beside the raw IQM;
//! experiment kinds never ranked together; `--scores` on the committed
//! score matrix; one-line errors.

use std::path::Path;
use std::process::{Command, Output};

fn report(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_report")).args(args).output().unwrap()
}

/// A finished RL run: summary.json with `eval` as its evaluation, a short metrics.csv.
fn rl_run(dir: &Path, algo: &str, env: &str, eval: f64) {
    std::fs::create_dir_all(dir).unwrap();
    let summary = serde_json::json!({"algo": algo, "env_id": env, "train_return_last100": eval - 1.0, "eval_return_mean": eval});
    std::fs::write(dir.join("summary.json"), summary.to_string()).unwrap();
    std::fs::write(dir.join("metrics.csv"), format!("step,episode_return\n10,{}\n20,{eval}\n", eval - 2.0)).unwrap();
}

#[test]
fn labelled_folders_are_compared_with_rliables_statistics() {
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path();
    // "good" solves CartPole (475 = 1 normalised) on 4 seeds; "bad" does not.
    for (k, (good, bad)) in [(475.0, 100.0), (500.0, 120.0), (475.0, 21.777), (490.0, 200.0)].iter().enumerate() {
        rl_run(&t.join(format!("good_CartPole-v1/seed-{}", k + 1)), "dqn", "CartPole-v1", *good);
        rl_run(&t.join(format!("bad_CartPole-v1/seed-{}", k + 1)), "dqn", "CartPole-v1", *bad);
        rl_run(&t.join(format!("good_Acrobot-v1/seed-{}", k + 1)), "dqn", "Acrobot-v1", -100.0);
        rl_run(&t.join(format!("bad_Acrobot-v1/seed-{}", k + 1)), "dqn", "Acrobot-v1", -499.083);
    }
    // A VAE-like run: another kind, never ranked with returns.
    std::fs::create_dir_all(t.join("vae")).unwrap();
    std::fs::write(t.join("vae/summary.json"), r#"{"test_loss": 104.5}"#).unwrap();
    std::fs::write(t.join("vae/metrics.csv"), "epoch,test_loss\n1,110\n2,104.5\n").unwrap();

    let out = t.join("report");
    let p = |s: &str| format!("{}/{s}", t.display());
    let o = report(&[
        &format!("good={}", p("good_*")),
        &format!("bad={}", p("bad_*")),
        &p("vae"),
        "--rank-by",
        "eval",
        "--reps",
        "2000",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let md = std::fs::read_to_string(out.join("report.md")).unwrap();
    // Normalised: good scores exactly 1 on Acrobot and >= 1 on CartPole: IQM of
    // the middle 4 of 8 = (1 + 1 + 1 + (475 - 21.777)/(475 - 21.777)) / 4 = 1,
    // optimality gap 0; bad's Acrobot runs are all 0 (random).
    // Columns: median, IQM, mean, optimality gap, raw IQM (of -100 x 4, 475, 475, 490, 500: the middle four).
    let good = md.lines().find(|l| l.starts_with("| 1 | good | 2 x 4 |")).unwrap_or_else(|| panic!("{md}"));
    let cells: Vec<&str> = good.split(" | ").collect();
    assert!(cells[4].starts_with("1.000 [") && cells[6] == "0.000 [0.000, 0.000]" && cells[7] == "187.50 |", "{good}");
    assert!(md.lines().any(|l| l.starts_with("| 2 | bad | 2 x 4 |")), "{md}");
    assert!(md.contains("| good | bad | 1.000 [1.000, 1.000] |"), "every good run beats every bad run: {md}");
    // The VAE's loss has its own section, lower is better.
    assert!(md.contains("## `eval_return_mean` (higher is better)") && md.contains("## `test_loss` (lower is better)"), "{md}");
    let json: serde_json::Value = serde_json::from_slice(&std::fs::read(out.join("report.json")).unwrap()).unwrap();
    assert_eq!(json["kinds"].as_array().unwrap().len(), 2);
    assert_eq!(json["kinds"][0]["scale"], "normalised");
    assert_eq!(json["kinds"][0]["tasks"], serde_json::json!(["Acrobot-v1", "CartPole-v1"]));
    for plot in ["intervals", "profiles", "improvement"] {
        assert!(out.join(format!("{plot}-eval_return_mean.png")).exists(), "{plot}");
    }

    // Several folders need --out; a pattern that matches nothing is an error.
    for (args, needle) in [(vec![p("good_CartPole-v1"), p("bad_CartPole-v1")], "--out"), (vec![format!("x={}", p("nothing_*"))], "matches no folder")] {
        let o = report(&args.iter().map(String::as_str).collect::<Vec<_>>());
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(!o.status.success() && err.contains(needle) && err.lines().count() == 1, "{err}");
    }
}

#[test]
fn a_score_matrix_gets_rliables_point_estimates() {
    let tmp = tempfile::tempdir().unwrap();
    let matrix = concat!(env!("CARGO_MANIFEST_DIR"), "/../stats/tests/data/score_matrix.json");
    let golden: serde_json::Value =
        serde_json::from_slice(&std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/../stats/tests/data/rliable_points.json")).unwrap()).unwrap();
    let out = tmp.path().join("m");
    let o = report(&["--scores", matrix, "--reps", "500", "--quiet", "--out", out.to_str().unwrap()]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let json: serde_json::Value = serde_json::from_slice(&std::fs::read(out.join("report.json")).unwrap()).unwrap();
    let kind = &json["kinds"][0];
    for g in kind["groups"].as_array().unwrap() {
        let name = g["group"].as_str().unwrap();
        for (k, stat) in kind["statistics"].as_array().unwrap().iter().enumerate() {
            let ours = g["estimates"][k]["point"].as_f64().unwrap();
            let theirs = golden["aggregates"][name][stat.as_str().unwrap()].as_f64().unwrap();
            assert!((ours - theirs).abs() < 1e-9, "{name} {stat}: {ours} vs rliable {theirs}");
        }
    }
    // A bad matrix is a one-line error.
    std::fs::write(tmp.path().join("bad.json"), r#"{"tasks": ["a"], "algorithms": {"x": [[1.0], [2.0]]}}"#).unwrap();
    let o = report(&["--scores", tmp.path().join("bad.json").to_str().unwrap(), "--out", out.to_str().unwrap()]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success() && err.contains("has 2 tasks, not the 1 named") && err.lines().count() == 1, "{err}");
}
