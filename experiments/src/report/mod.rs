//! `report [LABEL=]DIR...`: compares the runs under one or more folders (a
//! sweep, a `--seeds` folder, reference runs), with the statistics of
//! Agarwal et al. (NeurIPS 2021) as their `rliable` library computes them.
//!
//! Runs in folders named `seed-<k>` are grouped by their parent (one config,
//! several seeds), any other run is a group of its own; a `LABEL=` puts every
//! run under its folder into the group `LABEL` (so `dqn=results/reference/dqn_*`
//! gathers DQN's runs on every environment). Runs are split by experiment
//! kind (their headline metric: RL returns, accuracies, losses are never
//! ranked together), and within a kind by task (the environment).
//!
//! `report.md`: per task, each group's interquartile mean and mean over its
//! runs with 95% stratified bootstrap intervals (rliable's 50,000 resamples
//! by default), with the published reference and, for RL, the evaluation
//! columns; over tasks, IQM, median, mean and optimality gap of normalised
//! scores (`experiments/normalization.toml`) beside the raw IQM, the
//! probability of improvement between the best groups, and the sweep's
//! failed or unfinished runs. `report.json` holds every number with the
//! score matrices; `report.png` draws the learning curves,
//! `intervals-<metric>.png`, `profiles-<metric>.png` and
//! `improvement-<metric>.png` the statistics in rliable's manner.

mod analysis;
mod markdown;
mod plots;

pub use analysis::{KindAnalysis, ScoreScale};

use crate::plot::{self, Reference, Series};
use anyhow::{bail, Context, Result};
use nnlab_stats::Bootstrap;
use serde_json::Value;
use std::path::{Path, PathBuf};

/// The headline metrics nnlab's summaries carry, in the order they are
/// looked for: `(summary key, metrics.csv column of its curve, higher is better)`.
const HEADLINES: [(&str, &str, bool); 6] = [
    ("train_return_last100", "episode_return", true),
    ("test_accuracy", "validation_accuracy", true),
    ("test_bits_per_char", "validation_loss", false),
    ("test_loss", "test_loss", false),
    ("frechet_distance", "frechet_distance", false),
    ("modes_covered", "modes_covered", true),
];

/// The headline metric of a run's `summary.json`: `(key, value, higher is better)`.
pub fn headline_of(summary: &Value) -> Option<(&'static str, f64, bool)> {
    HEADLINES.iter().find_map(|&(key, _, higher)| summary.get(key).and_then(Value::as_f64).map(|v| (key, v, higher)))
}

/// One folder to report on, with the label its runs are grouped under.
#[derive(Debug, Clone, PartialEq)]
pub struct Input {
    /// The group of every run under `dir`; `None`: by config (`seed-<k>` parents).
    pub label: Option<String>,
    /// A sweep folder, a `--seeds` folder, or any folder of runs.
    pub dir: PathBuf,
}

impl Input {
    /// Parses `DIR` or `LABEL=DIR` (an existing path is always a `DIR`, even
    /// with an `=` in it, as sweep configs have); `DIR` may be a glob pattern,
    /// expanded here (`'dqn=results/reference/dqn_*'`).
    pub fn parse(arg: &str) -> Result<Vec<Input>> {
        let (label, pattern) = match arg.split_once('=') {
            Some((label, dir)) if !Path::new(arg).exists() && !label.is_empty() && !label.contains('/') => (Some(label.to_string()), dir),
            _ => (None, arg),
        };
        if !pattern.contains(['*', '?', '[']) {
            return Ok(vec![Input { label, dir: PathBuf::from(pattern) }]);
        }
        let paths = glob::glob(pattern).with_context(|| format!("`{pattern}` is not a valid pattern"))?;
        let mut dirs: Vec<PathBuf> = paths.filter_map(|p| p.ok()).filter(|p| p.is_dir()).collect();
        dirs.sort();
        if dirs.is_empty() {
            bail!("`{pattern}` matches no folder");
        }
        Ok(dirs.into_iter().map(|dir| Input { label: label.clone(), dir }).collect())
    }
}

/// How `report` compares the runs.
#[derive(Debug, Clone)]
pub struct Options {
    /// Each run's score.
    pub rank_by: RankBy,
    /// The intervals' bootstrap (resamples, coverage, seed).
    pub bootstrap: Bootstrap,
    /// Resamples of the performance profiles' bands (rliable: 2,000).
    pub profile_reps: usize,
}

impl Default for Options {
    fn default() -> Self {
        Options { rank_by: RankBy::Headline, bootstrap: Bootstrap::default(), profile_reps: 2000 }
    }
}

/// One finished run.
#[derive(Debug, Clone)]
pub(crate) struct RunData {
    dir: PathBuf,
    headline: (&'static str, f64, bool),
    /// The environment (RL), or the headline metric's name.
    task: String,
    curve: Vec<(f64, f64)>,
    reference: Option<Reference>,
    /// RL: the final model's evaluation, and the best model's (`--eval-every`).
    evals: [Option<f64>; 2],
}

/// The columns of [`RunData::evals`] in `report.md`.
const EVAL_COLUMNS: [&str; 2] = ["eval", "best model eval"];
/// Their summary keys, as the score `--rank-by` names.
const EVAL_KEYS: [&str; 2] = ["eval_return_mean", "best_model.eval_return_mean"];

/// The score of each run that the statistics use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum RankBy {
    /// The headline metric (RL: the mean return of the last 100 training episodes).
    #[default]
    Headline,
    /// RL: the final model's mean deterministic evaluation return (the zoo's measure).
    Eval,
    /// RL: the best model's evaluation return (runs with `--eval-every`).
    BestModelEval,
}

impl RankBy {
    /// The index into [`RunData::evals`] this ranks by, if not the headline.
    fn eval_index(self) -> Option<usize> {
        match self {
            RankBy::Headline => None,
            RankBy::Eval => Some(0),
            RankBy::BestModelEval => Some(1),
        }
    }
}

/// The run folders under `dir` (those with `summary.json`), at most three levels down.
fn find_runs(dir: &Path, depth: usize, out: &mut Vec<PathBuf>) -> Result<()> {
    if dir.join("summary.json").is_file() && dir.join("metrics.csv").is_file() {
        out.push(dir.to_path_buf());
        return Ok(());
    }
    if depth == 0 {
        return Ok(());
    }
    let mut entries: Vec<PathBuf> =
        std::fs::read_dir(dir).with_context(|| format!("cannot read {}", dir.display()))?.filter_map(|e| e.ok().map(|e| e.path())).collect();
    entries.sort();
    for e in entries.into_iter().filter(|e| e.is_dir()) {
        find_runs(&e, depth - 1, out)?;
    }
    Ok(())
}

/// A metrics.csv column as `(index, value)` points (empty cells skipped).
fn column(run: &Path, name: &str) -> Result<Vec<(f64, f64)>> {
    let path = run.join("metrics.csv");
    let mut reader = csv::Reader::from_path(&path).with_context(|| format!("cannot read {}", path.display()))?;
    let headers = reader.headers()?.clone();
    let Some(col) = headers.iter().position(|h| h == name) else {
        return Ok(Vec::new());
    };
    let mut points = Vec::new();
    for record in reader.records() {
        let record = record.with_context(|| format!("bad row in {}", path.display()))?;
        if let (Ok(x), Ok(y)) = (record[0].parse::<f64>(), record[col].parse::<f64>()) {
            points.push((x, y));
        }
    }
    Ok(points)
}

fn read_run(dir: &Path) -> Result<Option<RunData>> {
    let summary: Value = serde_json::from_slice(&std::fs::read(dir.join("summary.json"))?).with_context(|| format!("{}/summary.json", dir.display()))?;
    let Some(headline) = headline_of(&summary) else {
        return Ok(None);
    };
    let curve_column = HEADLINES.iter().find(|h| h.0 == headline.0).map(|h| h.1).unwrap_or("episode_return");
    let curve = column(dir, curve_column)?;
    let env = summary.get("env_id").and_then(Value::as_str);
    let reference = match (summary.get("algo").and_then(Value::as_str), env) {
        (Some(algo), Some(env)) => crate::algos::published_score(algo, env),
        _ => None,
    };
    let evals = [summary["eval_return_mean"].as_f64(), summary["best_model"]["eval_return_mean"].as_f64()];
    let task = env.unwrap_or(headline.0).to_string();
    Ok(Some(RunData { dir: dir.to_path_buf(), headline, task, curve, reference, evals }))
}

/// The group of a run: its parent for a `seed-<k>` folder, else itself (relative to `root`).
fn group_of(root: &Path, run: &Path) -> String {
    let is_seed = run.file_name().and_then(|n| n.to_str()).is_some_and(|n| n.strip_prefix("seed-").is_some_and(|k| k.parse::<u64>().is_ok()));
    let group = if is_seed { run.parent().unwrap_or(run) } else { run };
    match group.strip_prefix(root) {
        Ok(rel) if rel.as_os_str().is_empty() => root.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| ".".into()),
        Ok(rel) => rel.display().to_string(),
        Err(_) => group.display().to_string(),
    }
}

/// A sweep's failed or unfinished runs, from its `sweep_summary.json`.
pub(crate) struct SweepStatus {
    dir: PathBuf,
    summary: Value,
}

/// Writes `report.md`, `report.json` and the plots into `out` for the runs
/// under `inputs`; returns the Markdown.
pub fn write(inputs: &[Input], out: &Path, options: &Options) -> Result<String> {
    options.bootstrap.validate().map_err(anyhow::Error::msg)?;
    if options.profile_reps < 2 {
        bail!("--profile-reps must be at least 2, not {}", options.profile_reps);
    }
    let mut runs: Vec<(String, RunData)> = Vec::new();
    let mut sweeps = Vec::new();
    let mut seen = std::collections::BTreeSet::new();
    for input in inputs {
        // A folder given twice (two patterns matching it) counts once.
        if !seen.insert((input.label.clone(), input.dir.clone())) {
            continue;
        }
        if !input.dir.is_dir() {
            bail!("{}: no such folder", input.dir.display());
        }
        let mut found = Vec::new();
        find_runs(&input.dir, 3, &mut found)?;
        for run in &found {
            if let Some(data) = read_run(run)? {
                let group = input.label.clone().unwrap_or_else(|| group_of(&input.dir, run));
                runs.push((group, data));
            }
        }
        if let Some(summary) = std::fs::read(input.dir.join("sweep_summary.json")).ok().and_then(|b| serde_json::from_slice(&b).ok()) {
            sweeps.push(SweepStatus { dir: input.dir.clone(), summary });
        }
    }
    let mut names: Vec<String> = inputs.iter().map(|i| i.dir.display().to_string()).collect();
    names.dedup();
    if runs.is_empty() && sweeps.is_empty() {
        bail!("{}: no finished runs (folders with summary.json and metrics.csv) under it", names.join(", "));
    }
    if let Some(k) = options.rank_by.eval_index() {
        if !runs.iter().any(|(_, r)| r.evals[k].is_some()) {
            let needs = if k == 0 { "RL runs" } else { "RL runs trained with --eval-every" };
            bail!("{}: no run has a `{}` to rank by (it needs {needs})", names.join(", "), EVAL_COLUMNS[k]);
        }
    }

    // One analysis per experiment kind, in HEADLINES order.
    let mut kinds = Vec::new();
    let mut left_out = Vec::new();
    for &(key, _, higher) in &HEADLINES {
        let mut of_kind: Vec<(String, &RunData)> = runs.iter().filter(|(_, r)| r.headline.0 == key).map(|(g, r)| (g.clone(), r)).collect();
        if of_kind.is_empty() {
            continue;
        }
        let (metric, higher) = match options.rank_by.eval_index() {
            Some(k) if key == "train_return_last100" => {
                // Groups with a run lacking the evaluation are left out whole.
                let lacking: std::collections::BTreeSet<String> = of_kind.iter().filter(|(_, r)| r.evals[k].is_none()).map(|(g, _)| g.clone()).collect();
                for g in &lacking {
                    left_out.push(format!("`{g}`: some run has no `{}`", EVAL_COLUMNS[k]));
                }
                of_kind.retain(|(g, _)| !lacking.contains(g));
                (EVAL_KEYS[k], true)
            }
            _ => (key, higher),
        };
        if of_kind.is_empty() {
            continue;
        }
        let eval = options.rank_by.eval_index().filter(|_| key == "train_return_last100");
        let score = |r: &RunData| eval.and_then(|k| r.evals[k]).unwrap_or(r.headline.1);
        let mut analysis = analysis::analyse(metric, higher, &of_kind, score, &options.bootstrap, options.profile_reps);
        analysis.notes.append(&mut left_out);
        kinds.push((analysis, of_kind));
    }

    let analyses: Vec<KindAnalysis> = kinds.iter().map(|(k, _)| k.clone()).collect();
    let md = emit(out, &names, options, &analyses, &sweeps)?;
    if let Some((analysis, of_kind)) = kinds.first() {
        learning_curves(out, analysis, of_kind)?;
    }
    Ok(md)
}

/// `report --scores FILE`: the aggregate statistics of a score matrix
/// (`{"tasks": [...], "algorithms": {"NAME": [[runs of task 1], ...]}}`,
/// optionally `"scale": "raw"`; by default the scores count as normalised),
/// written like [`write()`]'s into `out`; returns the Markdown.
pub fn write_scores(file: &Path, out: &Path, options: &Options) -> Result<String> {
    #[derive(serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Matrix {
        #[serde(default)]
        about: String,
        tasks: Vec<String>,
        algorithms: std::collections::BTreeMap<String, Vec<Vec<f64>>>,
        #[serde(default)]
        scale: Option<ScoreScale>,
    }
    options.bootstrap.validate().map_err(anyhow::Error::msg)?;
    let text = std::fs::read(file).with_context(|| format!("cannot read {}", file.display()))?;
    let m: Matrix = serde_json::from_slice(&text).with_context(|| format!("{}: not a score matrix", file.display()))?;
    let _ = m.about;
    if m.algorithms.is_empty() {
        bail!("{}: no algorithm", file.display());
    }
    let mut groups = Vec::new();
    for (name, tasks) in m.algorithms {
        if tasks.len() != m.tasks.len() {
            bail!("{}: `{name}` has {} tasks, not the {} named", file.display(), tasks.len(), m.tasks.len());
        }
        let scores = nnlab_stats::Scores::new(tasks).map_err(|e| anyhow::anyhow!("{}: `{name}`: {e}", file.display()))?;
        groups.push((name, scores));
    }
    let scale = m.scale.unwrap_or(ScoreScale::Normalised);
    let analysis = KindAnalysis::of_matrices("score", m.tasks, scale, groups, &options.bootstrap, options.profile_reps);
    emit(out, &[file.display().to_string()], options, &[analysis], &[])
}

/// Writes `report.md`, `report.json` and the statistics' plots of `kinds`; returns the Markdown.
fn emit(out: &Path, names: &[String], options: &Options, kinds: &[KindAnalysis], sweeps: &[SweepStatus]) -> Result<String> {
    std::fs::create_dir_all(out).with_context(|| format!("cannot create {}", out.display()))?;
    let md = markdown::render(names, options, kinds, sweeps);
    crate::run_dir::write_atomic(&out.join("report.md"), md.as_bytes())?;
    let json = serde_json::json!({
        "inputs": names,
        "bootstrap": options.bootstrap,
        "profile_reps": options.profile_reps,
        "kinds": kinds,
    });
    crate::run_dir::write_atomic(&out.join("report.json"), serde_json::to_string_pretty(&json)?.as_bytes())?;
    for analysis in kinds {
        plots::draw(out, analysis, &options.bootstrap)?;
    }
    Ok(md)
}

/// `report.png`: each group's (and task's) learning curve, mean and 95% band over its runs.
fn learning_curves(out: &Path, analysis: &KindAnalysis, runs: &[(String, &RunData)]) -> Result<()> {
    let several_tasks = analysis.tasks.len() > 1;
    let mut configs: Vec<(String, Vec<Series>)> = Vec::new();
    for table in &analysis.per_task {
        for row in &table.rows {
            let label = if several_tasks { format!("{} / {}", row.group, table.task) } else { row.group.clone() };
            let series = runs
                .iter()
                .filter(|(g, r)| *g == row.group && r.task == table.task)
                .map(|(_, r)| Series { label: r.dir.display().to_string(), points: r.curve.clone() })
                .collect();
            configs.push((label, series));
        }
    }
    let references: Vec<Reference> =
        if several_tasks { Vec::new() } else { analysis.per_task.iter().flat_map(|t| &t.rows).filter_map(|r| r.reference.clone()).take(1).collect() };
    let name = runs[0].1.headline.0;
    let is_rl = name == "train_return_last100";
    let (window, y_desc) = if is_rl { (100, "mean return of last 100 episodes".to_string()) } else { (1, name.replace('_', " ")) };
    plot::compare_aggregates(
        &out.join("report.png"),
        &format!("{} curves, mean and 95% band over seeds", configs.len()),
        &configs,
        window,
        &references,
        &y_desc,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seed_folders_group_under_their_config() {
        let root = Path::new("/s");
        assert_eq!(group_of(root, Path::new("/s/lr=0.1/seed-3")), "lr=0.1");
        assert_eq!(group_of(root, Path::new("/s/seed-3")), "s");
        assert_eq!(group_of(root, Path::new("/s/my-run")), "my-run");
    }

    #[test]
    fn inputs_take_a_label_and_a_glob() {
        let tmp = tempfile::tempdir().unwrap();
        for d in ["dqn_a", "dqn_b", "c51_a", "lr=0.1"] {
            std::fs::create_dir(tmp.path().join(d)).unwrap();
        }
        let t = tmp.path().display();
        let dqn = Input::parse(&format!("dqn={t}/dqn_*")).unwrap();
        assert_eq!(dqn.iter().map(|i| i.dir.file_name().unwrap().to_str().unwrap()).collect::<Vec<_>>(), ["dqn_a", "dqn_b"]);
        assert!(dqn.iter().all(|i| i.label.as_deref() == Some("dqn")));
        // A folder with `=` in its name is a folder, not a label.
        let lr = Input::parse(&format!("{t}/lr=0.1")).unwrap();
        assert_eq!(lr, [Input { label: None, dir: tmp.path().join("lr=0.1") }]);
        assert!(Input::parse(&format!("x={t}/nothing_*")).unwrap_err().to_string().contains("matches no folder"));
    }
}
