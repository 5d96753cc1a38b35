//! The state of a study (`DIR/study.json`, written atomically after every
//! change, so an interrupted study resumes where it was) and its outputs:
//! `trials.csv`, `best_config.toml`, `history.png` and `tune_report.md`
//! (the best trials and a parameter-importance table).

use super::spec::{Param, TuneSpec};
use crate::plot::{self, Series};
use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;

/// Where a trial is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TrialState {
    /// Its runs are running (or were, when the study was interrupted).
    Running,
    /// Every seed finished: `value` is its objective.
    Complete,
    /// Stopped by the pruner: `value` is its last intermediate value.
    Pruned,
    /// A run failed: `error` says how.
    Failed,
}

/// One trial.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Trial {
    /// Its number, from 0.
    pub number: usize,
    /// Its parameters.
    pub params: BTreeMap<String, toml::Value>,
    /// Where it is.
    pub state: TrialState,
    /// Objective (complete) or last intermediate value (pruned).
    pub value: Option<f64>,
    /// The aggregate over seeds after each intermediate evaluation.
    pub intermediate: Vec<f64>,
    /// Environment steps of its runs, summed over seeds (what it cost).
    pub steps: u64,
    /// The failed run's error line.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl Trial {
    /// Whether it has ended (complete, pruned or failed).
    pub fn ended(&self) -> bool {
        self.state != TrialState::Running
    }
}

/// The study file.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Study {
    /// Every trial started so far, in order.
    pub trials: Vec<Trial>,
}

/// The name of the state file.
pub const STATE_FILE: &str = "study.json";

impl Study {
    /// The study in `dir`, or a new one.
    pub fn load_or_new(dir: &Path) -> Result<Study> {
        match std::fs::read(dir.join(STATE_FILE)) {
            Ok(bytes) => {
                serde_json::from_slice(&bytes).with_context(|| format!("{} is damaged; move it away to start the study again", dir.join(STATE_FILE).display()))
            }
            Err(_) => Ok(Study::default()),
        }
    }

    /// Writes the state atomically.
    pub fn save(&self, dir: &Path) -> Result<()> {
        crate::run_dir::write_atomic(&dir.join(STATE_FILE), serde_json::to_string_pretty(self)?.as_bytes())
    }

    /// The best complete trial.
    pub fn best<'a>(&'a self, spec: &TuneSpec) -> Option<&'a Trial> {
        self.trials
            .iter()
            .filter(|t| t.state == TrialState::Complete)
            .filter_map(|t| t.value.map(|v| (t, v)))
            .min_by(|a, b| spec.objective.direction.loss(a.1).total_cmp(&spec.objective.direction.loss(b.1)))
            .map(|(t, _)| t)
    }

    /// Environment steps spent by every trial.
    pub fn steps(&self) -> u64 {
        self.trials.iter().map(|t| t.steps).sum()
    }
}

/// A parameter's value as a number for the importance table (log for log-uniform, index for choices).
fn numeric(param: &Param, v: &toml::Value) -> Option<f64> {
    match param {
        Param::LogUniform(_) => v.as_float().map(libm::log),
        Param::Choice(values) => values.iter().position(|x| x == v).map(|i| i as f64),
        _ => v.as_float().or_else(|| v.as_integer().map(|i| i as f64)),
    }
}

/// Ranks with ties averaged.
fn ranks(values: &[f64]) -> Vec<f64> {
    let mut order: Vec<usize> = (0..values.len()).collect();
    order.sort_by(|&a, &b| values[a].total_cmp(&values[b]));
    let mut r = vec![0.0; values.len()];
    let mut i = 0;
    while i < order.len() {
        let mut j = i;
        while j + 1 < order.len() && values[order[j + 1]] == values[order[i]] {
            j += 1;
        }
        for &k in &order[i..=j] {
            r[k] = (i + j) as f64 / 2.0;
        }
        i = j + 1;
    }
    r
}

/// Spearman's rank correlation of `x` and `y` (0 when either is constant).
pub fn spearman(x: &[f64], y: &[f64]) -> f64 {
    let (rx, ry) = (ranks(x), ranks(y));
    let n = rx.len() as f64;
    let (mx, my) = (rx.iter().sum::<f64>() / n, ry.iter().sum::<f64>() / n);
    let cov: f64 = rx.iter().zip(&ry).map(|(a, b)| (a - mx) * (b - my)).sum();
    let (vx, vy): (f64, f64) = (rx.iter().map(|a| (a - mx).powi(2)).sum(), ry.iter().map(|b| (b - my).powi(2)).sum());
    if vx == 0.0 || vy == 0.0 {
        0.0
    } else {
        cov / (vx * vy).sqrt()
    }
}

/// Writes `trials.csv`, `history.png` and `tune_report.md`; `best_config`
/// is the best trial's resolved config (`--print-config`), if known.
pub fn write_outputs(dir: &Path, spec: &TuneSpec, study: &Study, best_config: Option<&str>) -> Result<()> {
    let keys: Vec<&String> = spec.space.keys().collect();
    let mut csv = String::from("number,state,value,steps");
    for k in &keys {
        let _ = write!(csv, ",{k}");
    }
    csv.push('\n');
    for t in &study.trials {
        let state = serde_json::to_value(t.state)?.as_str().unwrap_or("?").to_string();
        let _ = write!(csv, "{},{state},{},{}", t.number, t.value.map(|v| v.to_string()).unwrap_or_default(), t.steps);
        for k in &keys {
            let v = t.params.get(*k).map(|v| v.to_string().replace(',', ";")).unwrap_or_default();
            let _ = write!(csv, ",{v}");
        }
        csv.push('\n');
    }
    crate::run_dir::write_atomic(&dir.join("trials.csv"), csv.as_bytes())?;

    // The history: every ended trial's value and the best so far.
    let direction = spec.objective.direction;
    let mut values = Vec::new();
    let mut best_line = Vec::new();
    let mut best: Option<f64> = None;
    for t in study.trials.iter().filter(|t| t.state == TrialState::Complete || t.state == TrialState::Pruned) {
        if let Some(v) = t.value {
            values.push((t.number as f64, v));
            if t.state == TrialState::Complete && best.is_none_or(|b| direction.loss(v) < direction.loss(b)) {
                best = Some(v);
            }
            if let Some(b) = best {
                best_line.push((t.number as f64, b));
            }
        }
    }
    if !values.is_empty() {
        plot::curves(
            &dir.join("history.png"),
            &format!("optimisation history ({} trials, {} sampler)", study.trials.len(), serde_json::to_value(spec.sampler.kind)?.as_str().unwrap_or("?")),
            &[Series { label: "trial (pruned: last intermediate value)".into(), points: values }, Series { label: "best so far".into(), points: best_line }],
            "trial",
            &spec.objective.metric,
        )?;
    }

    // The report.
    let mut md = String::new();
    let count = |s: TrialState| study.trials.iter().filter(|t| t.state == s).count();
    let _ = writeln!(md, "# Study: {}\n", dir.display());
    let _ = writeln!(
        md,
        "Objective: {} over seeds {:?} of `{}` ({:?}); {} trials: {} complete, {} pruned, {} failed, {} running; {} environment steps spent.\n",
        serde_json::to_value(spec.objective.aggregate)?.as_str().unwrap_or("?"),
        spec.seeds,
        spec.objective.metric,
        direction,
        study.trials.len(),
        count(TrialState::Complete),
        count(TrialState::Pruned),
        count(TrialState::Failed),
        count(TrialState::Running),
        study.steps()
    );
    if let Some(b) = study.best(spec) {
        let _ = writeln!(md, "Best: trial {} with {:.4} (its config in `best_config.toml`, a ready `--config`):\n", b.number, b.value.unwrap_or(f64::NAN));
        for (k, v) in &b.params {
            let _ = writeln!(md, "- `{k} = {v}`");
        }
        let _ = writeln!(md);
    }
    let mut ranked: Vec<&Trial> = study.trials.iter().filter(|t| t.state == TrialState::Complete && t.value.is_some()).collect();
    ranked.sort_by(|a, b| direction.loss(a.value.unwrap_or(0.0)).total_cmp(&direction.loss(b.value.unwrap_or(0.0))));
    let _ = writeln!(md, "| rank | trial | value | steps |{}", keys.iter().map(|k| format!(" {k} |")).collect::<String>());
    let _ = writeln!(md, "| --- | --- | --- | --- |{}", " --- |".repeat(keys.len()));
    for (r, t) in ranked.iter().take(10).enumerate() {
        let cells: String = keys.iter().map(|k| format!(" {} |", t.params.get(*k).map(|v| v.to_string()).unwrap_or_default())).collect();
        let _ = writeln!(md, "| {} | {} | {:.4} | {} |{cells}", r + 1, t.number, t.value.unwrap_or(f64::NAN), t.steps);
    }
    // Importance: |Spearman rho| between each parameter and the objective over complete trials.
    if ranked.len() >= 3 {
        let y: Vec<f64> = ranked.iter().map(|t| t.value.unwrap_or(0.0)).collect();
        let rho: Vec<(String, f64)> = spec
            .space
            .iter()
            .map(|(k, p)| {
                let x: Vec<f64> = ranked.iter().map(|t| t.params.get(k).and_then(|v| numeric(p, v)).unwrap_or(f64::NAN)).collect();
                (k.clone(), spearman(&x, &y))
            })
            .collect();
        let total: f64 = rho.iter().map(|r| r.1.abs()).sum();
        let _ = writeln!(
            md,
            "\n## Parameter importance\n\n|Spearman rank correlation| of each parameter (log for log-uniform ones, the index for choices) with the objective over the {} complete trials, and its share of their sum (a rank-correlation screen, not fANOVA).\n",
            ranked.len()
        );
        let _ = writeln!(md, "| parameter | Spearman rho | importance |\n| --- | --- | --- |");
        let mut sorted = rho.clone();
        sorted.sort_by(|a, b| b.1.abs().total_cmp(&a.1.abs()));
        for (k, r) in sorted {
            let share = if total > 0.0 { r.abs() / total } else { 0.0 };
            let _ = writeln!(md, "| {k} | {r:+.3} | {share:.2} |");
        }
    }
    crate::run_dir::write_atomic(&dir.join("tune_report.md"), md.as_bytes())?;
    if let Some(text) = best_config {
        crate::run_dir::write_atomic(&dir.join("best_config.toml"), text.as_bytes())?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spearman_ranks_with_ties() {
        assert_eq!(spearman(&[1.0, 2.0, 3.0], &[10.0, 20.0, 30.0]), 1.0);
        assert_eq!(spearman(&[1.0, 2.0, 3.0], &[3.0, 2.0, 1.0]), -1.0);
        assert_eq!(spearman(&[1.0, 1.0, 1.0], &[3.0, 2.0, 1.0]), 0.0);
        assert_eq!(ranks(&[5.0, 1.0, 5.0]), [1.5, 0.0, 1.5]);
    }
}
