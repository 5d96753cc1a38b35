//! `bench --peers`: nnlab against the fastest CPU peers (SBX, RLtools, rlox)
//! on the same workloads, one run after the other, each pinned to one CPU
//! with one thread. A workload is an nnlab config; the peers train with the
//! same resolved hyperparameters through `scripts/peers/run.sh` (which
//! installs them into the tools cache on first use and lists, per run, what
//! a peer's API could not take). nnlab runs the `train` binary with the same
//! pinning. The table: training seconds (a peer's compile or JIT time apart),
//! the ratio nnlab / peer (below 1: nnlab is faster), and the final
//! deterministic evaluation of each, on the same episodes: the peers reset
//! episode `i` with seed `10_000 + seed + i` (`scripts/peers/peer_common.py`),
//! and nnlab's final model plays those episodes again through `enjoy` (its own
//! evaluation, on its own episodes, is kept beside).

use anyhow::{bail, Context, Result};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::process::Command;

/// One benchmark workload: an nnlab config and the peers that run it.
#[derive(Debug, Clone, Copy)]
pub struct Workload {
    /// Short name (`bench --peers --workload NAME` picks by it).
    pub name: &'static str,
    /// nnlab's algorithm (`train --algo`).
    pub algo: &'static str,
    /// The config file, relative to the repository root.
    pub config: &'static str,
    /// The peers that have this algorithm.
    pub peers: &'static [&'static str],
}

/// The workloads of issue [3/5].
pub const WORKLOADS: &[Workload] = &[
    Workload { name: "sac-pendulum-20k", algo: "sac", config: "experiments/configs/sac/Pendulum-v1-cleanrl.toml", peers: &["sbx", "rltools", "rlox"] },
    Workload { name: "td3-pendulum-20k", algo: "td3", config: "experiments/configs/td3/Pendulum-v1.toml", peers: &["sbx", "rltools", "rlox"] },
    Workload { name: "tqc-pendulum-20k", algo: "tqc", config: "experiments/configs/tqc/Pendulum-v1.toml", peers: &["sbx"] },
    Workload { name: "crossq-pendulum-20k", algo: "crossq", config: "experiments/configs/crossq/Pendulum-v1.toml", peers: &["sbx"] },
    Workload { name: "sac-rltools-default", algo: "sac", config: "experiments/configs/sac/Pendulum-v1-rltools.toml", peers: &["rltools", "sbx", "rlox"] },
    Workload { name: "ppo-cartpole-500k", algo: "ppo", config: "experiments/configs/ppo/CartPole-v1.toml", peers: &["sbx", "rlox"] },
    Workload { name: "dqn-cartpole-500k", algo: "dqn", config: "experiments/configs/dqn/CartPole-v1.toml", peers: &["sbx", "rlox"] },
];

/// One run's outcome, nnlab's or a peer's (the peers' runners write this JSON).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PeerResult {
    /// `nnlab`, `sbx`, `rltools` or `rlox`.
    pub peer: String,
    /// The algorithm.
    pub algo: String,
    /// The seed.
    pub seed: u64,
    /// Seconds of training (compile or JIT time excluded).
    pub train_s: f64,
    /// Seconds of compilation or JIT (0 for nnlab and rlox).
    #[serde(default)]
    pub compile_s: f64,
    /// Mean return of the final deterministic evaluation.
    pub eval_mean: f64,
    /// nnlab only: the mean return of the run's own final evaluation (its own
    /// episodes; `eval_mean` is on the peers' episodes).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub own_eval_mean: Option<f64>,
    /// What the peer's API could not take from the config.
    #[serde(default)]
    pub differs: Vec<String>,
}

/// Runs nnlab's `train` on `w` with `seed`, pinned to `cpu`, in `dir`.
pub fn run_nnlab(root: &Path, w: &Workload, seed: u64, sets: &[String], cpu: usize, dir: &Path) -> Result<PeerResult> {
    let train = root.join("target/release/train");
    let mut cmd = Command::new("taskset");
    cmd.arg("-c").arg(cpu.to_string()).arg(&train);
    cmd.args(["--algo", w.algo, "--config"]).arg(root.join(w.config));
    cmd.args(["--seed", &seed.to_string(), "--threads", "1", "--no-gif", "--quiet", "--out"]).arg(dir);
    for s in sets {
        cmd.args(["--set", s]);
    }
    let out = cmd.output().with_context(|| format!("cannot start {} under taskset", train.display()))?;
    if !out.status.success() {
        bail!("nnlab {} failed: {}", w.name, String::from_utf8_lossy(&out.stderr).trim());
    }
    #[derive(Deserialize)]
    struct Summary {
        wall_time_s: f64,
        eval_return_mean: f64,
        eval_returns: Vec<f64>,
    }
    let path = dir.join("summary.json");
    let s: Summary = serde_json::from_slice(&std::fs::read(&path).with_context(|| format!("cannot read {}", path.display()))?)
        .with_context(|| format!("{}: not an RL summary", path.display()))?;
    let eval_mean = on_peer_episodes(root, dir, seed, s.eval_returns.len(), cpu)?;
    Ok(PeerResult {
        peer: "nnlab".into(),
        algo: w.algo.into(),
        seed,
        train_s: s.wall_time_s,
        compile_s: 0.0,
        eval_mean,
        own_eval_mean: Some(s.eval_return_mean),
        differs: vec![],
    })
}

/// The first evaluation seed of the peers' runs of `seed` (`peer_common.py`).
pub const PEER_EVAL_SEED: u64 = 10_000;

/// The mean return of the final model of the run in `dir` over `episodes` episodes
/// reset with seeds `PEER_EVAL_SEED + seed + i`, the peers' own (`enjoy --json`).
fn on_peer_episodes(root: &Path, dir: &Path, seed: u64, episodes: usize, cpu: usize) -> Result<f64> {
    let enjoy = root.join("target/release/enjoy");
    let json = dir.join("peer_episodes.json");
    let first = (PEER_EVAL_SEED + seed).to_string();
    let out = Command::new("taskset")
        .arg("-c")
        .arg(cpu.to_string())
        .arg(&enjoy)
        .arg("--run")
        .arg(dir)
        .args(["--episodes", &episodes.to_string(), "--seed", &first, "--json"])
        .arg(&json)
        .output()
        .with_context(|| format!("cannot start {} under taskset", enjoy.display()))?;
    if !out.status.success() {
        bail!("enjoy on {} failed: {}", dir.display(), String::from_utf8_lossy(&out.stderr).trim());
    }
    #[derive(Deserialize)]
    struct Played {
        mean: f64,
    }
    let played: Played = serde_json::from_slice(&std::fs::read(&json).with_context(|| format!("cannot read {}", json.display()))?)
        .with_context(|| format!("{}: not enjoy's JSON", json.display()))?;
    Ok(played.mean)
}

/// Runs `peer` on `w` with `seed` through `scripts/peers/run.sh`, pinned to `cpu`; its JSON goes to `json`.
pub fn run_peer(root: &Path, peer: &str, w: &Workload, seed: u64, sets: &[String], cpu: usize, json: &Path) -> Result<PeerResult> {
    let script = root.join("scripts/peers/run.sh");
    let mut cmd = Command::new(&script);
    cmd.args([peer, w.algo]).arg(root.join(w.config)).arg(seed.to_string()).arg(json);
    for s in sets {
        cmd.args(["--set", s]);
    }
    cmd.env("NNLAB_PEER_CPU", cpu.to_string());
    let out = cmd.output().with_context(|| format!("cannot start {}", script.display()))?;
    if !out.status.success() {
        let err = String::from_utf8_lossy(&out.stderr);
        let last = err.lines().rev().find(|l| !l.trim().is_empty()).unwrap_or("no message");
        bail!("{peer} {} failed: {last}", w.name);
    }
    serde_json::from_slice(&std::fs::read(json).with_context(|| format!("cannot read {}", json.display()))?)
        .with_context(|| format!("{}: not a peer result", json.display()))
}

/// Options of `bench --peers`.
#[derive(Debug, Clone)]
pub struct PeerBench {
    /// The repository root (scripts and configs).
    pub root: PathBuf,
    /// Workload names to run (all when empty).
    pub only: Vec<String>,
    /// Peers to run (all of a workload's when empty).
    pub peers: Vec<String>,
    /// Seeds, each run by nnlab and every peer.
    pub seeds: Vec<u64>,
    /// `--set` overrides for every run (e.g. a shorter `total_timesteps` for a smoke test).
    pub sets: Vec<String>,
    /// The CPU every run is pinned to.
    pub cpu: usize,
    /// Where the runs and `peers.json` go.
    pub out: PathBuf,
}

/// Runs the workloads and prints the table; returns every result (also in `out/peers.json`).
pub fn bench(opts: &PeerBench) -> Result<Vec<(String, PeerResult)>> {
    let chosen: Vec<&Workload> = WORKLOADS.iter().filter(|w| opts.only.is_empty() || opts.only.iter().any(|o| o == w.name)).collect();
    if chosen.is_empty() {
        let names: Vec<&str> = WORKLOADS.iter().map(|w| w.name).collect();
        bail!("no workload named {:?}; the workloads: {}", opts.only, names.join(", "));
    }
    std::fs::create_dir_all(&opts.out).with_context(|| format!("cannot create {}", opts.out.display()))?;
    // The binaries the nnlab runs use (as scripts/peers/run.sh builds `train` for the peers).
    let built = Command::new("cargo")
        .current_dir(&opts.root)
        .args(["build", "--release", "--quiet", "--bin", "train", "--bin", "enjoy"])
        .status()
        .context("cannot run cargo to build train and enjoy")?;
    if !built.success() {
        bail!("cargo build --release --bin train --bin enjoy failed");
    }
    let mut all = Vec::new();
    for w in chosen {
        for &seed in &opts.seeds {
            let dir = opts.out.join(w.name).join(format!("nnlab-seed-{seed}"));
            if dir.exists() {
                std::fs::remove_dir_all(&dir).with_context(|| format!("cannot clear {}", dir.display()))?;
            }
            all.push((w.name.to_string(), run_nnlab(&opts.root, w, seed, &opts.sets, opts.cpu, &dir)?));
            for peer in w.peers.iter().filter(|p| opts.peers.is_empty() || opts.peers.iter().any(|q| q == *p)) {
                let json = opts.out.join(w.name).join(format!("{peer}-seed-{seed}.json"));
                match run_peer(&opts.root, peer, w, seed, &opts.sets, opts.cpu, &json) {
                    Ok(r) => all.push((w.name.to_string(), r)),
                    Err(e) => crate::out!("bench: {e:#}"),
                }
            }
        }
    }
    crate::run_dir::write_atomic(
        &opts.out.join("peers.json"),
        serde_json::to_string_pretty(&all.iter().map(|(w, r)| serde_json::json!({"workload": w, "result": r})).collect::<Vec<_>>())?.as_bytes(),
    )?;
    print_table(&all);
    Ok(all)
}

/// Means over seeds per workload and peer, with nnlab's time over each peer's.
fn print_table(all: &[(String, PeerResult)]) {
    crate::out!("{:<22} {:<8} {:>6} {:>12} {:>11} {:>10} {:>12}", "workload", "run", "seeds", "train s", "compile s", "nnlab/peer", "final eval");
    let mut keys: Vec<(&str, &str)> = Vec::new();
    for (w, r) in all {
        if !keys.contains(&(w.as_str(), r.peer.as_str())) {
            keys.push((w.as_str(), r.peer.as_str()));
        }
    }
    for (w, peer) in keys {
        let runs: Vec<&PeerResult> = all.iter().filter(|(x, r)| x == w && r.peer == peer).map(|(_, r)| r).collect();
        let mean = |f: &dyn Fn(&PeerResult) -> f64| runs.iter().map(|r| f(r)).sum::<f64>() / runs.len() as f64;
        let nnlab: Vec<f64> = all.iter().filter(|(x, r)| x == w && r.peer == "nnlab").map(|(_, r)| r.train_s).collect();
        let nnlab_mean = nnlab.iter().sum::<f64>() / nnlab.len().max(1) as f64;
        let train = mean(&|r| r.train_s);
        let ratio = if peer == "nnlab" { "-".to_string() } else { format!("{:.2}x", nnlab_mean / train) };
        crate::out!("{:<22} {:<8} {:>6} {:>12.1} {:>11.1} {:>10} {:>12.1}", w, peer, runs.len(), train, mean(&|r| r.compile_s), ratio, mean(&|r| r.eval_mean));
        for d in runs.first().map(|r| r.differs.clone()).unwrap_or_default() {
            crate::out!("{:<22}   ({peer} differs: {d})", "");
        }
    }
}
