//! `--seeds 1,2,3`: one experiment over several seeds, each in its own child
//! process (up to the core count at a time), then an aggregate of the runs:
//! `seeds.png` (every seed's smoothed learning curve) and `seeds_summary.json`.

use crate::plot::{self, Reference, Series};
use crate::run_dir::write_atomic;
use crate::signals;
use anyhow::{bail, Context, Result};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

/// The most seeds one `--seeds` list may hold.
pub const MAX_SEEDS: u64 = 1000;

/// The largest seed: `config.toml` records seeds as TOML integers (signed 64-bit).
pub const MAX_SEED: u64 = i64::MAX as u64;

/// Parses `1,2,3` or `1-5` (at most [`MAX_SEEDS`] seeds, no seed twice, each at most [`MAX_SEED`]).
pub fn parse_seeds(text: &str) -> Result<Vec<u64>> {
    let parse = |s: &str| {
        s.trim()
            .parse::<u64>()
            .ok()
            .filter(|&k| k <= MAX_SEED)
            .ok_or_else(|| anyhow::anyhow!("--seeds: '{}' is not a seed (a whole number from 0 to 2^63 - 1)", s.trim()))
    };
    let seeds: Vec<u64> = if let Some((a, b)) = text.split_once('-') {
        let (a, b) = (parse(a)?, parse(b)?);
        if a > b {
            bail!("--seeds {text}: empty range");
        }
        if b - a >= MAX_SEEDS {
            bail!("--seeds {text}: {} seeds; at most {MAX_SEEDS} in one sweep", (b - a).saturating_add(1));
        }
        (a..=b).collect()
    } else {
        text.split(',').map(parse).collect::<Result<Vec<_>>>()?
    };
    if seeds.is_empty() {
        bail!("--seeds: no seeds given");
    }
    if seeds.len() as u64 > MAX_SEEDS {
        bail!("--seeds: {} seeds; at most {MAX_SEEDS} in one sweep", seeds.len());
    }
    let mut sorted = seeds.clone();
    sorted.sort_unstable();
    if let Some(w) = sorted.windows(2).find(|w| w[0] == w[1]) {
        bail!("--seeds {text}: seed {} appears twice", w[0]);
    }
    Ok(seeds)
}

/// Command-line arguments of this process without `--seeds`, `--seed`, `--out`
/// (and their values) and `--quiet` (each child gets its own `--quiet`).
pub fn child_args() -> Vec<String> {
    strip_sweep_args(std::env::args().skip(1))
}

/// [`child_args`] of an explicit argument list.
pub fn strip_sweep_args(args: impl IntoIterator<Item = String>) -> Vec<String> {
    let mut out = Vec::new();
    let mut args = args.into_iter();
    while let Some(a) = args.next() {
        if ["--seeds", "--seed", "--out"].contains(&a.as_str()) {
            args.next();
        } else if ["--seeds=", "--seed=", "--out="].iter().any(|p| a.starts_with(p)) || a == "--quiet" {
        } else {
            out.push(a);
        }
    }
    out
}

/// One seed's row in `seeds_summary.json`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SeedResult {
    /// Seed.
    pub seed: u64,
    /// Its run folder.
    pub run_dir: String,
    /// Mean return of the last 100 training episodes.
    pub train_return_last100: f64,
    /// Greedy evaluation mean return.
    pub eval_return_mean: f64,
    /// With `--eval-every`: the best model's evaluation mean return (`summary.json`'s `best_model`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub best_model_eval_return_mean: Option<f64>,
    /// Training wall time.
    pub wall_time_s: f64,
}

/// Aggregate over seeds.
#[derive(Debug, Clone, Serialize)]
pub struct SeedsSummary {
    /// Per-seed results.
    pub seeds: Vec<SeedResult>,
    /// Mean over seeds of `train_return_last100`.
    pub train_return_last100_mean: f64,
    /// Standard deviation over seeds of `train_return_last100`.
    pub train_return_last100_std: f64,
    /// Mean over seeds of `eval_return_mean`.
    pub eval_return_mean: f64,
    /// With `--eval-every`: the mean over seeds of `best_model_eval_return_mean`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub best_model_eval_return_mean: Option<f64>,
    /// Mean training wall time.
    pub wall_time_s_mean: f64,
}

#[derive(Deserialize)]
struct EpisodeRow {
    global_step: f64,
    episode_return: f64,
}

/// Reads `(global_step, episode_return)` from a run's `metrics.csv`.
pub fn read_curve(run: &Path) -> Result<Vec<(f64, f64)>> {
    let path = run.join("metrics.csv");
    let mut reader = csv::Reader::from_path(&path).with_context(|| format!("cannot read {}", path.display()))?;
    reader.deserialize::<EpisodeRow>().map(|r| r.map(|r| (r.global_step, r.episode_return)).with_context(|| format!("bad row in {}", path.display()))).collect()
}

/// Waits until one of `running` ends and removes it; a failed run is an error.
/// A signal to this process ([`signals::stop_requested`]) stops every child
/// (SIGTERM), waits for them and ends the sweep with an error that says so.
fn wait_any(running: &mut Vec<(u64, Child)>, finished: &mut Vec<u64>) -> Result<()> {
    loop {
        if signals::stop_requested() {
            for (_, c) in running.iter() {
                signals::terminate(c.id());
            }
            let stopped: Vec<u64> = running.iter().map(|r| r.0).collect();
            for (_, c) in running.iter_mut() {
                let _ = c.wait();
            }
            running.clear();
            return Err(signals::Preempted(format!(
                "stopped by a signal: seeds {stopped:?} were stopped (with a checkpoint where they write them; their folders read as unfinished), {} finished earlier; run the same command again to go on",
                if finished.is_empty() { "none".to_string() } else { format!("{finished:?}") }
            ))
            .into());
        }
        for i in 0..running.len() {
            if let Some(status) = running[i].1.try_wait()? {
                let (seed, _) = running.remove(i);
                if !status.success() {
                    for (_, c) in running.iter_mut() {
                        let _ = c.wait();
                    }
                    bail!("the run with seed {seed} failed ({status})");
                }
                finished.push(seed);
                return Ok(());
            }
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}

/// Runs this binary once per seed under `root/seed-<k>` (with `--quiet`), up
/// to the core count at a time, and returns the seeds' run folders.
///
/// Seeds whose folder already holds a `summary.json` are not run again, so the
/// same command resumes an interrupted sweep or just redraws its plots.
/// SIGINT/SIGTERM to this process are forwarded to the running children.
pub fn spawn_seeds(experiment: &str, seeds: &[u64], root: &Path) -> Result<Vec<PathBuf>> {
    let exe = std::env::current_exe().context("locating this binary")?;
    let jobs = crate::cli::cores().min(seeds.len());
    std::fs::create_dir_all(root).with_context(|| format!("cannot create {}", root.display()))?;
    let base = child_args();
    let dirs: Vec<PathBuf> = seeds.iter().map(|s| root.join(format!("seed-{s}"))).collect();
    eprintln!("{experiment}: {} seeds, {jobs} at a time, under {}", seeds.len(), root.display());
    signals::supervise();
    let mut running: Vec<(u64, Child)> = Vec::new();
    let mut finished: Vec<u64> = Vec::new();
    for (seed, dir) in seeds.iter().zip(&dirs) {
        if dir.join("summary.json").exists() {
            finished.push(*seed);
            continue;
        }
        while running.len() == jobs {
            wait_any(&mut running, &mut finished)?;
        }
        if signals::stop_requested() {
            wait_any(&mut running, &mut finished)?;
        }
        let child = Command::new(&exe)
            .args(&base)
            .args(["--seed", &seed.to_string(), "--out"])
            .arg(dir)
            .arg("--quiet")
            .stdout(Stdio::null())
            .spawn()
            .with_context(|| format!("starting the run with seed {seed}"))?;
        running.push((*seed, child));
    }
    while !running.is_empty() {
        wait_any(&mut running, &mut finished)?;
    }
    Ok(dirs)
}

/// Mean, median, minimum and maximum of one summary key over seeds.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct KeyStats {
    /// Mean.
    pub mean: f64,
    /// Median (mean of the middle two for an even count).
    pub median: f64,
    /// Smallest value.
    pub min: f64,
    /// Largest value.
    pub max: f64,
}

impl KeyStats {
    /// The statistics of `values` (NaN for none).
    pub fn of(values: &[f64]) -> Self {
        let mut v = values.to_vec();
        v.sort_by(f64::total_cmp);
        let n = v.len();
        if n == 0 {
            return Self { mean: f64::NAN, median: f64::NAN, min: f64::NAN, max: f64::NAN };
        }
        let median = if n % 2 == 1 { v[n / 2] } else { (v[n / 2 - 1] + v[n / 2]) / 2.0 };
        Self { mean: v.iter().sum::<f64>() / n as f64, median, min: v[0], max: v[n - 1] }
    }
}

/// `--seeds` for experiments without learning curves: runs the seeds (see
/// [`spawn_seeds`]) under `out` (default `results/<experiment>/seeds-<list>`),
/// then writes `seeds_summary.json` with each seed's values of `keys` (read
/// from its `summary.json`) and their [`KeyStats`], and prints them as a table.
pub fn sweep(experiment: &str, list: &str, out: Option<PathBuf>, keys: &[&str]) -> Result<()> {
    let seeds = parse_seeds(list)?;
    let root = out.unwrap_or_else(|| crate::run_dir::RunDir::default_path(experiment, &format!("seeds-{list}")));
    let dirs = spawn_seeds(experiment, &seeds, &root)?;
    let mut rows = Vec::new();
    let mut columns: Vec<Vec<f64>> = vec![Vec::new(); keys.len()];
    // Each column as wide as its key (at least 12), with two spaces between columns.
    let widths: Vec<usize> = keys.iter().map(|k| k.len().max(12) + 2).collect();
    let cells = |vals: &[f64]| vals.iter().zip(&widths).map(|(v, w)| format!("{v:>w$.4}")).collect::<String>();
    crate::out!("{:>6}{}", "seed", keys.iter().zip(&widths).map(|(k, w)| format!("{k:>w$}")).collect::<String>());
    for (seed, dir) in seeds.iter().zip(&dirs) {
        let text = std::fs::read_to_string(dir.join("summary.json")).with_context(|| format!("no summary in {}", dir.display()))?;
        let summary: serde_json::Value = serde_json::from_str(&text)?;
        let mut row = serde_json::Map::new();
        row.insert("seed".into(), (*seed).into());
        row.insert("run_dir".into(), format!("seed-{seed}").into());
        let values: Vec<f64> = keys.iter().map(|k| summary[*k].as_f64().unwrap_or(f64::NAN)).collect();
        for ((k, v), col) in keys.iter().zip(&values).zip(&mut columns) {
            row.insert((*k).into(), summary[*k].clone());
            col.push(*v);
        }
        crate::out!("{seed:>6}{}", cells(&values));
        rows.push(serde_json::Value::Object(row));
    }
    let stats: serde_json::Map<String, serde_json::Value> =
        keys.iter().zip(&columns).map(|(k, c)| Ok(((*k).to_string(), serde_json::to_value(KeyStats::of(c))?))).collect::<Result<_>>()?;
    for name in ["median", "mean"] {
        let vals: Vec<f64> = keys.iter().map(|k| stats[*k][name].as_f64().unwrap_or(f64::NAN)).collect();
        crate::out!("{name:>6}{}", cells(&vals));
    }
    let json = serde_json::json!({ "experiment": experiment, "seeds": rows, "stats": stats });
    write_atomic(&root.join("seeds_summary.json"), serde_json::to_string_pretty(&json)?.as_bytes())?;
    crate::out!("results: {}", root.display());
    Ok(())
}

/// Runs this binary once per seed under `root/seed-<k>` (with `--quiet`) and
/// aggregates the learning curves (RL experiments).
pub fn run_seeds(experiment: &str, seeds: &[u64], root: &Path, references: &[Reference]) -> Result<SeedsSummary> {
    let dirs = spawn_seeds(experiment, seeds, root)?;
    let mut results = Vec::new();
    let mut curves = Vec::new();
    for (seed, dir) in seeds.iter().zip(&dirs) {
        let text = std::fs::read_to_string(dir.join("summary.json")).with_context(|| format!("no summary in {}", dir.display()))?;
        let s: serde_json::Value = serde_json::from_str(&text)?;
        let get = |k: &str| s[k].as_f64().unwrap_or(f64::NAN);
        results.push(SeedResult {
            seed: *seed,
            run_dir: format!("seed-{seed}"),
            train_return_last100: get("train_return_last100"),
            eval_return_mean: get("eval_return_mean"),
            best_model_eval_return_mean: s["best_model"]["eval_return_mean"].as_f64(),
            wall_time_s: get("wall_time_s"),
        });
        curves.push(Series { label: format!("seed {seed}"), points: read_curve(dir)? });
    }
    let n = results.len() as f64;
    let mean = |f: &dyn Fn(&SeedResult) -> f64| results.iter().map(f).sum::<f64>() / n;
    let m = mean(&|r| r.train_return_last100);
    let summary = SeedsSummary {
        train_return_last100_mean: m,
        train_return_last100_std: (results.iter().map(|r| (r.train_return_last100 - m).powi(2)).sum::<f64>() / n).sqrt(),
        eval_return_mean: mean(&|r| r.eval_return_mean),
        best_model_eval_return_mean: results.iter().map(|r| r.best_model_eval_return_mean).collect::<Option<Vec<f64>>>().map(|v| v.iter().sum::<f64>() / n),
        wall_time_s_mean: mean(&|r| r.wall_time_s),
        seeds: results.clone(),
    };
    let names = seeds.iter().map(|s| s.to_string()).collect::<Vec<_>>().join(", ");
    plot::compare_curves(&root.join("seeds.png"), &format!("{experiment}: seeds {names}"), &curves, 100, references)?;
    let final_evals: Vec<f64> = results.iter().map(|r| r.eval_return_mean).collect();
    plot::aggregate_curve(&root.join("aggregate.png"), &format!("{experiment}: mean of seeds {names}"), &curves, 100, references, &final_evals)?;
    write_atomic(&root.join("seeds_summary.json"), serde_json::to_string_pretty(&summary)?.as_bytes())?;
    Ok(summary)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seeds_parse_as_lists_and_ranges() {
        assert_eq!(parse_seeds("1,2,5").unwrap(), vec![1, 2, 5]);
        assert_eq!(parse_seeds("1-5").unwrap(), vec![1, 2, 3, 4, 5]);
        assert!(parse_seeds("3-1").is_err());
        assert!(parse_seeds("a,b").unwrap_err().to_string().contains("'a'"));
        assert!(parse_seeds("9223372036854775808").unwrap_err().to_string().contains("2^63"));
        assert_eq!(parse_seeds("9223372036854775807").unwrap(), [MAX_SEED]);
    }

    #[test]
    fn key_stats_take_the_middle_for_the_median() {
        let s = KeyStats::of(&[3.0, 1.0, 2.0]);
        assert_eq!((s.mean, s.median, s.min, s.max), (2.0, 2.0, 1.0, 3.0));
        assert_eq!(KeyStats::of(&[4.0, 1.0, 2.0, 3.0]).median, 2.5);
        assert!(KeyStats::of(&[]).median.is_nan());
    }
}
