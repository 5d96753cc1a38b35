//! A sweep through a real Slurm: 4 runs as a job array, `--wait`, then
//! `report`. Needs a running Slurm (`scripts/slurm/up.sh` brings one up on
//! this machine; `.ci/run` does, then runs this test with `--ignored`).

use std::process::Command;

#[test]
#[ignore = "needs a running Slurm: scripts/slurm/up.sh, then cargo test --release -p nnlab-experiments --test slurm -- --ignored"]
fn a_four_run_sweep_through_slurm_finishes_and_reports() {
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("s.toml");
    std::fs::write(
        &file,
        r#"binary = "train"
args = ["--algo", "ppo", "--env", "CartPole-v1", "--total-timesteps", "4096", "--no-gif"]
seeds = [1, 2]
checkpoint_every = 2048
[grid]
learning_rate = [0.00025, 0.001]
"#,
    )
    .unwrap();
    let out = tmp.path().join("out");
    let o = Command::new("timeout")
        .args(["600", env!("CARGO_BIN_EXE_sweep"), file.to_str().unwrap(), "--out", out.to_str().unwrap(), "--slurm", "--wait"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{err}");
    assert!(err.contains("submitted job array") && err.contains("4 tasks"), "{err}");
    let script = std::fs::read_to_string(out.join("sweep.sbatch")).unwrap();
    assert!(script.contains("#SBATCH --array=0-3") && script.contains("#SBATCH --requeue"), "{script}");
    let s: serde_json::Value = serde_json::from_slice(&std::fs::read(out.join("sweep_summary.json")).unwrap()).unwrap();
    assert_eq!(s["finished"], 4, "{s}");
    for run in s["runs"].as_array().unwrap() {
        let dir = out.join(run["dir"].as_str().unwrap());
        for f in ["summary.json", "metrics.csv", "model.safetensors", "checkpoint/state.safetensors"] {
            assert!(dir.join(f).exists(), "{}: {f}", dir.display());
        }
    }
    let r = Command::new(env!("CARGO_BIN_EXE_report")).args([out.to_str().unwrap(), "--quiet"]).output().unwrap();
    assert!(r.status.success(), "{}", String::from_utf8_lossy(&r.stderr));
    let md = std::fs::read_to_string(out.join("report.md")).unwrap();
    assert!(md.contains("learning_rate=0.00025 | 2 |") && md.contains("learning_rate=0.001 | 2 |"), "{md}");
}
