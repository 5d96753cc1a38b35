//! `report DIR`: compares the runs under a folder (a sweep, a `--seeds`
//! folder, or any folder of runs). Runs in folders named `seed-<k>` are
//! grouped by their parent (one config, several seeds); any other run is a
//! group of its own. `report.md` ranks the groups by their headline metric
//! (mean and 95% Student-t interval over seeds), with the published
//! reference where nnlab knows one and the sweep's failed or unfinished runs
//! (RL runs: beside it, the mean deterministic evaluation, and the best
//! model's of `--eval-every` runs);
//! `report.png` draws each group's learning curve (mean and 95% band).

use crate::plot::{self, mean_ci, Reference, Series};
use anyhow::{bail, Context, Result};
use serde_json::Value;
use std::collections::BTreeMap;
use std::fmt::Write as _;
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

/// One finished run.
#[derive(Debug, Clone)]
struct RunData {
    dir: PathBuf,
    headline: (&'static str, f64, bool),
    curve: Vec<(f64, f64)>,
    reference: Option<Reference>,
    /// RL: the final model's evaluation, and the best model's (`--eval-every`).
    evals: [Option<f64>; 2],
}

/// The columns of [`RunData::evals`] in `report.md`.
const EVAL_COLUMNS: [&str; 2] = ["eval", "best model eval"];

/// What `report.md` ranks the configs by.
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

/// Sorts `rows` best first: by the headline (`higher` is better) or by the
/// evaluation column `eval` (higher is better; configs without it last, in headline order).
fn rank(rows: &mut [Row], higher: bool, eval: Option<usize>) {
    rows.sort_by(|a, b| if higher { b.mean.total_cmp(&a.mean) } else { a.mean.total_cmp(&b.mean) });
    if let Some(k) = eval {
        rows.sort_by(|a, b| match (a.evals[k], b.evals[k]) {
            (Some(x), Some(y)) => y.total_cmp(&x),
            (Some(_), None) => std::cmp::Ordering::Less,
            (None, Some(_)) => std::cmp::Ordering::Greater,
            (None, None) => std::cmp::Ordering::Equal,
        });
    }
}

/// The mean of `values` when every one is there.
fn mean_of_all(values: impl Iterator<Item = Option<f64>>) -> Option<f64> {
    let v: Vec<f64> = values.collect::<Option<_>>()?;
    (!v.is_empty()).then(|| v.iter().sum::<f64>() / v.len() as f64)
}

/// One config's line of the report.
struct Row {
    name: String,
    mean: f64,
    ci: f64,
    seeds: usize,
    min: f64,
    max: f64,
    reference: Option<Reference>,
    evals: [Option<f64>; 2],
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
    let reference = match (summary.get("algo").and_then(Value::as_str), summary.get("env_id").and_then(Value::as_str)) {
        (Some(algo), Some(env)) => crate::algos::published_score(algo, env),
        _ => None,
    };
    let evals = [summary["eval_return_mean"].as_f64(), summary["best_model"]["eval_return_mean"].as_f64()];
    Ok(Some(RunData { dir: dir.to_path_buf(), headline, curve, reference, evals }))
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

/// Writes `report.md` and `report.png` into `dir`, configs ranked by
/// `rank_by`; returns the Markdown.
pub fn write(dir: &Path, rank_by: RankBy) -> Result<String> {
    if !dir.is_dir() {
        bail!("{}: no such folder", dir.display());
    }
    let mut found = Vec::new();
    find_runs(dir, 3, &mut found)?;
    let mut groups: BTreeMap<String, Vec<RunData>> = BTreeMap::new();
    for run in &found {
        if let Some(data) = read_run(run)? {
            groups.entry(group_of(dir, run)).or_default().push(data);
        }
    }
    let sweep: Option<Value> = std::fs::read(dir.join("sweep_summary.json")).ok().and_then(|b| serde_json::from_slice(&b).ok());
    if groups.is_empty() && sweep.is_none() {
        bail!("{}: no finished runs (folders with summary.json and metrics.csv) under it", dir.display());
    }
    let key = groups.values().flatten().next().map(|r| r.headline);
    let mut rows: Vec<Row> = groups
        .iter()
        .map(|(name, runs)| {
            let values: Vec<f64> = runs.iter().map(|r| r.headline.1).collect();
            let (mean, ci) = mean_ci(&values);
            let (min, max) = values.iter().fold((f64::MAX, f64::MIN), |(a, b), &v| (a.min(v), b.max(v)));
            let evals = [0, 1].map(|k| mean_of_all(runs.iter().map(|r| r.evals[k])));
            Row { name: name.clone(), mean, ci, seeds: values.len(), min, max, reference: runs[0].reference.clone(), evals }
        })
        .collect();
    if let Some(k) = rank_by.eval_index() {
        if !rows.iter().any(|r| r.evals[k].is_some()) {
            let needs = if k == 0 { "RL runs" } else { "RL runs trained with --eval-every" };
            bail!("{}: no config has a `{} (mean)` to rank by (it needs {needs}, every seed finished)", dir.display(), EVAL_COLUMNS[k]);
        }
    }
    rank(&mut rows, key.is_none_or(|k| k.2), rank_by.eval_index());

    let mut md = String::new();
    let _ = writeln!(md, "# Report: {}\n", dir.display());
    if let Some((name, _, higher)) = key {
        let _ = writeln!(
            md,
            "Headline metric: `{name}` ({} is better), mean and 95% interval (Student's t) over seeds; ranked by {}.\n",
            if higher { "higher" } else { "lower" },
            match rank_by.eval_index() {
                None => "it".to_string(),
                Some(k) => format!("`{} (mean)`, higher is better", EVAL_COLUMNS[k]),
            }
        );
        // The evaluation columns that some config has.
        let shown: Vec<usize> = (0..EVAL_COLUMNS.len()).filter(|&k| rows.iter().any(|r| r.evals[k].is_some())).collect();
        let heads: String = shown.iter().map(|&k| format!(" {} (mean) |", EVAL_COLUMNS[k])).collect();
        let _ = writeln!(md, "| rank | config | seeds | {name} | min .. max | published |{heads}");
        let _ = writeln!(md, "| --- | --- | --- | --- | --- | --- |{}", " --- |".repeat(shown.len()));
        for (rank, r) in rows.iter().enumerate() {
            let published = r.reference.as_ref().map(|p| format!("{} ({})", p.value, p.label)).unwrap_or_else(|| "-".into());
            let cells: String = shown.iter().map(|&k| r.evals[k].map(|v| format!(" {v:.2} |")).unwrap_or_else(|| " - |".into())).collect();
            let _ =
                writeln!(md, "| {} | {} | {} | {:.2} ± {:.2} | {:.2} .. {:.2} | {published} |{cells}", rank + 1, r.name, r.seeds, r.mean, r.ci, r.min, r.max);
        }
    }
    if let Some(s) = &sweep {
        let runs = s["runs"].as_array().cloned().unwrap_or_default();
        let not_finished: Vec<&Value> = runs.iter().filter(|r| r["status"] != "finished").collect();
        let _ = writeln!(md, "\nSweep: {} runs, {} finished, {} failed, {} pending.", runs.len(), s["finished"], s["failed"], s["pending"]);
        if !not_finished.is_empty() {
            let _ = writeln!(md, "\n| run | status |\n| --- | --- |");
            for r in not_finished {
                let status = match &r["status"] {
                    Value::Object(o) => o.get("failed").and_then(Value::as_str).map(|e| format!("failed: {}", e.replace('|', "\\|"))).unwrap_or_default(),
                    other => other.as_str().unwrap_or("?").to_string(),
                };
                let _ = writeln!(md, "| {} | {status} |", r["dir"].as_str().unwrap_or("?"));
            }
        }
    }
    crate::run_dir::write_atomic(&dir.join("report.md"), md.as_bytes())?;

    if let Some((name, _, _)) = key {
        let is_rl = name == "train_return_last100";
        let configs: Vec<(String, Vec<Series>)> = rows
            .iter()
            .map(|row| {
                let runs = groups[&row.name].iter().map(|r| Series { label: r.dir.display().to_string(), points: r.curve.clone() }).collect();
                (row.name.clone(), runs)
            })
            .collect();
        let references: Vec<Reference> = rows.iter().filter_map(|r| r.reference.clone()).take(1).collect();
        let (window, y_desc) = if is_rl { (100, "mean return of last 100 episodes".to_string()) } else { (1, name.replace('_', " ")) };
        plot::compare_aggregates(
            &dir.join("report.png"),
            &format!("{} configs, mean and 95% band over seeds", configs.len()),
            &configs,
            window,
            &references,
            &y_desc,
        )?;
    }
    Ok(md)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_interval_uses_students_t() {
        let (m, ci) = mean_ci(&[1.0, 2.0, 3.0]);
        assert_eq!(m, 2.0);
        assert!((ci - 4.303 * 1.0 / 3f64.sqrt()).abs() < 1e-9, "{ci}");
        assert_eq!(mean_ci(&[5.0]), (5.0, 0.0));
    }

    #[test]
    fn ranking_by_an_evaluation_puts_configs_without_it_last() {
        let row = |name: &str, mean: f64, eval: Option<f64>| Row {
            name: name.into(),
            mean,
            ci: 0.0,
            seeds: 1,
            min: mean,
            max: mean,
            reference: None,
            evals: [eval, None],
        };
        let names = |rows: &[Row]| rows.iter().map(|r| r.name.clone()).collect::<Vec<_>>();
        let mut rows = vec![row("a", 3.0, Some(1.0)), row("b", 1.0, None), row("c", 2.0, Some(5.0)), row("d", 4.0, None)];
        rank(&mut rows, true, None);
        assert_eq!(names(&rows), ["d", "a", "c", "b"]);
        rank(&mut rows, false, None);
        assert_eq!(names(&rows), ["b", "c", "a", "d"]);
        rank(&mut rows, true, Some(0));
        assert_eq!(names(&rows), ["c", "a", "d", "b"]);
    }

    #[test]
    fn an_evaluation_column_needs_every_seed() {
        assert_eq!(mean_of_all([Some(1.0), Some(2.0)].into_iter()), Some(1.5));
        assert_eq!(mean_of_all([Some(1.0), None].into_iter()), None);
        assert_eq!(mean_of_all(std::iter::empty()), None);
    }

    #[test]
    fn seed_folders_group_under_their_config() {
        let root = Path::new("/s");
        assert_eq!(group_of(root, Path::new("/s/lr=0.1/seed-3")), "lr=0.1");
        assert_eq!(group_of(root, Path::new("/s/seed-3")), "s");
        assert_eq!(group_of(root, Path::new("/s/my-run")), "my-run");
    }
}
