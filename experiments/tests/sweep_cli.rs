//! `sweep` and `report` end to end on this machine: a local sweep of 2
//! configs x 3 seeds, one config failing, records the failures and reports
//! the rest; running it again skips finished runs and resumes an unfinished
//! one; bad sweep files are one-line errors.

use serde_json::Value;
use std::path::Path;
use std::process::{Command, Output};

fn sweep(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_sweep")).args(args).output().unwrap()
}

fn summary(dir: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(dir.join("sweep_summary.json")).unwrap()).unwrap()
}

#[test]
fn a_local_sweep_records_failures_reports_the_rest_and_resumes() {
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("s.toml");
    std::fs::write(
        &file,
        r#"binary = "train"
args = ["--algo", "ppo", "--env", "CartPole-v1", "--total-timesteps", "8192", "--no-gif"]
seeds = [1, 2, 3]
checkpoint_every = 2048
[grid]
learning_rate = [0.00025, 1e30]
"#,
    )
    .unwrap();
    let out = tmp.path().join("out");
    let o = sweep(&[file.to_str().unwrap(), "--out", out.to_str().unwrap(), "--workers", "2"]);
    let err = String::from_utf8_lossy(&o.stderr);
    // Failed runs make the sweep fail, after its summary is written.
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(err.lines().last().unwrap().contains("3 of 6 runs failed and 0 did not finish"), "{err}");
    let s = summary(&out);
    assert_eq!((s["finished"].as_u64(), s["failed"].as_u64(), s["pending"].as_u64()), (Some(3), Some(3), Some(0)), "{s}");
    for run in s["runs"].as_array().unwrap() {
        if run["config"] != "learning_rate=0.00025" {
            assert!(run["status"]["failed"].as_str().unwrap().contains("became NaN"), "{run}");
        } else {
            assert_eq!(run["status"], "finished");
            assert_eq!(run["headline"][0], "train_return_last100");
            assert!(out.join(run["dir"].as_str().unwrap()).join("model.safetensors").exists());
        }
    }

    let r = Command::new(env!("CARGO_BIN_EXE_report")).args([out.to_str().unwrap(), "--quiet"]).output().unwrap();
    assert!(r.status.success(), "{}", String::from_utf8_lossy(&r.stderr));
    let md = std::fs::read_to_string(out.join("report.md")).unwrap();
    assert!(md.contains("| 1 | learning_rate=0.00025 | 3 |") && md.contains("CleanRL ppo.py"), "{md}");
    assert!(md.contains("learning_rate=1000000000000000000000000000000.0/seed-2 | failed:"), "{md}");
    assert!(md.contains("| eval (mean) |") && !md.contains("best model eval"), "RL runs without --eval-every: {md}");
    assert!(out.join("report.png").exists());
    // rliable's statistics: normalised over the one task, intervals, plots.
    assert!(md.contains("| rank | group | tasks x runs | median [95% CI] | IQM [95% CI] | mean [95% CI] | optimality gap [95% CI] | raw IQM |"), "{md}");
    let json: serde_json::Value = serde_json::from_slice(&std::fs::read(out.join("report.json")).unwrap()).unwrap();
    assert_eq!(json["kinds"][0]["groups"].as_array().unwrap().len(), 1, "{json}");
    for plot in ["intervals", "profiles"] {
        assert!(out.join(format!("{plot}-train_return_last100.png")).exists(), "{plot}");
    }
    let r = Command::new(env!("CARGO_BIN_EXE_report")).args([out.to_str().unwrap(), "--quiet", "--rank-by", "eval"]).output().unwrap();
    assert!(r.status.success(), "{}", String::from_utf8_lossy(&r.stderr));
    let md = std::fs::read_to_string(out.join("report.md")).unwrap();
    assert!(md.contains("## `eval_return_mean` (higher is better)") && md.contains("| 1 | learning_rate=0.00025 | 3 |"), "{md}");
    let r = Command::new(env!("CARGO_BIN_EXE_report")).args([out.to_str().unwrap(), "--rank-by", "best-model-eval"]).output().unwrap();
    let err = String::from_utf8_lossy(&r.stderr);
    assert!(!r.status.success() && err.contains("--eval-every") && err.lines().count() == 1, "{err}");

    // An unfinished run (no summary.json) is resumed; finished ones are skipped.
    let seed2 = out.join("learning_rate=0.00025/seed-2");
    let before = std::fs::read(seed2.join("metrics.csv")).unwrap();
    std::fs::remove_file(seed2.join("summary.json")).unwrap();
    let o = sweep(&[file.to_str().unwrap(), "--out", out.to_str().unwrap(), "--workers", "2"]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.code() == Some(1) && err.contains("2 finished already"), "the failing config fails again: {err}");
    assert!(seed2.join("summary.json").exists());
    assert_eq!(before, std::fs::read(seed2.join("metrics.csv")).unwrap(), "resumed from its checkpoint, the same rows");

    // Another sweep into the same folder is refused.
    std::fs::write(&file, "binary = \"train\"\nargs = [\"--algo\", \"a2c\", \"--env\", \"CartPole-v1\"]\nseeds = [1]\n").unwrap();
    let o = sweep(&[file.to_str().unwrap(), "--out", out.to_str().unwrap()]);
    assert!(!o.status.success() && String::from_utf8_lossy(&o.stderr).contains("holds another sweep"));
}

#[test]
fn bad_sweep_files_are_one_line_errors() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    for (text, needle) in [
        ("binary = \"nope\"\nseeds = [1]\n", "no binary nope"),
        ("binary = \"train\"\nseeds = [1]\nargs = [\"--out\", \"x\"]\n", "--out"),
        ("binary = \"train\"\nseed = [1]\n", "seed"),
        ("binary = \"train\"\nseeds = [1]\n[random]\ntrials = 2\nlr = { normal = [0, 1] }\n", "normal"),
        ("binary = \"train\"\nseeds = [1]\ncheckpoint_every = 0\n", "checkpoint_every = 0"),
        // Checked against the binary before any run: an unknown key, a wrong type, a refused value.
        ("binary = \"train\"\nargs = [\"--algo\", \"ppo\", \"--env\", \"CartPole-v1\"]\nseeds = [1]\n[grid]\nnope = [1]\n", "nope"),
        ("binary = \"train\"\nargs = [\"--algo\", \"ppo\", \"--env\", \"CartPole-v1\"]\nseeds = [1]\n[grid]\nnum_envs = [4, \"four\"]\n", "num_envs"),
        (
            "binary = \"train\"\nargs = [\"--algo\", \"ppo\", \"--env\", \"CartPole-v1\"]\nseeds = [1]\n[grid]\nlearning_rate = [0.001, -1.0]\n",
            "learning_rate=-1.0",
        ),
        ("binary = \"train\"\nseeds = [1]\n[grid]\nlearning_rate = [0.001, 0.01, 0.001]\n", "lists 0.001 twice"),
        ("binary = \"train\"\nseeds = [1]\n[grid]\nloss = [\"a/b\", \"a_b\"]\n", "share the folder name"),
    ] {
        let file = tmp.path().join("bad.toml");
        std::fs::write(&file, text).unwrap();
        let o = sweep(&[file.to_str().unwrap(), "--out", out.to_str().unwrap()]);
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(!o.status.success() && err.trim().lines().count() == 1 && err.contains(needle), "{text}: {err}");
    }
    let r = Command::new(env!("CARGO_BIN_EXE_report")).arg(tmp.path().join("nowhere")).output().unwrap();
    assert!(!r.status.success() && String::from_utf8_lossy(&r.stderr).contains("no such folder"));
}
