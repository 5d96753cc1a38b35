//! rliable's statistics over the runs of one experiment kind (one headline
//! metric): per task, the interquartile mean and mean of each group's runs;
//! over tasks, the aggregates on normalised scores (IQM, median, mean,
//! optimality gap), the probability of improvement between groups and the
//! performance profiles, each with stratified bootstrap intervals.

use super::RunData;
use crate::normalization;
use crate::plot::Reference;
use nnlab_stats::{Bootstrap, Estimate, Scores, Statistic};
use serde::Serialize;
use std::collections::BTreeMap;

/// How many of the best groups are compared pairwise by the probability of improvement.
const IMPROVEMENT_GROUPS: usize = 6;
/// Thresholds of a performance profile.
const PROFILE_POINTS: usize = 101;

/// One group's runs on one task.
#[derive(Debug, Clone, Serialize)]
pub struct TaskRow {
    /// The group (config or label).
    pub group: String,
    /// Its runs' scores.
    pub scores: Vec<f64>,
    /// IQM over the runs, with its interval.
    pub iqm: Estimate,
    /// Mean over the runs, with its interval.
    pub mean: Estimate,
    /// Published reference, if nnlab knows one.
    #[serde(skip)]
    pub reference: Option<Reference>,
    /// RL: the mean final evaluation and the mean best model's evaluation over the runs (every run having it).
    pub evals: [Option<f64>; 2],
}

/// One task's table, ranked best first.
#[derive(Debug, Clone, Serialize)]
pub struct TaskTable {
    /// The task (environment id; the metric for experiments without one).
    pub task: String,
    /// Its rows.
    pub rows: Vec<TaskRow>,
}

/// The scale the aggregates are computed on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ScoreScale {
    /// `(score - random) / (reference - random)` per task (`experiments/normalization.toml`).
    Normalised,
    /// The scores as they are (a single task without a normalisation entry).
    Raw,
}

/// One group's aggregate over all tasks.
#[derive(Debug, Clone, Serialize)]
pub struct GroupAggregate {
    /// The group.
    pub group: String,
    /// Its scores on the aggregate's scale, per task (the matrix rliable is given).
    pub scores: Scores,
    /// IQM of the raw scores over all runs.
    pub raw_iqm: f64,
    /// The statistics with their intervals, in [`KindAnalysis::statistics`]' order.
    pub estimates: Vec<Estimate>,
}

/// The probability that a run of `x` does better than a run of `y`.
#[derive(Debug, Clone, Serialize)]
pub struct Improvement {
    /// The better ranked group.
    pub x: String,
    /// The other.
    pub y: String,
    /// P(X > Y) (P(X < Y) where lower is better), with its interval.
    pub estimate: Estimate,
}

/// Performance profiles: the fraction of runs above each threshold.
#[derive(Debug, Clone, Serialize)]
pub struct Profiles {
    /// The thresholds (on the aggregate's scale).
    pub taus: Vec<f64>,
    /// Per group (ranked order), the profile with its band.
    pub groups: Vec<(String, Vec<Estimate>)>,
}

/// Everything `report` says about one experiment kind.
#[derive(Debug, Clone, Serialize)]
pub struct KindAnalysis {
    /// The score every statistic is computed from (a summary key).
    pub metric: String,
    /// Whether a higher score is better.
    pub higher_is_better: bool,
    /// The tasks, sorted.
    pub tasks: Vec<String>,
    /// Per-task tables.
    pub per_task: Vec<TaskTable>,
    /// The scale of the aggregates; `None` when there are none (see `notes`).
    pub scale: Option<ScoreScale>,
    /// The aggregate statistics, in their columns' order.
    pub statistics: Vec<Statistic>,
    /// Groups that cover every task, ranked best first by IQM.
    pub groups: Vec<GroupAggregate>,
    /// Probabilities of improvement between the best groups.
    pub improvement: Vec<Improvement>,
    /// Performance profiles (higher-is-better metrics only).
    pub profiles: Option<Profiles>,
    /// What was left out, and why.
    pub notes: Vec<String>,
}

/// Orders `a` before `b` when it is better.
fn better(higher: bool, a: f64, b: f64) -> std::cmp::Ordering {
    if higher {
        b.total_cmp(&a)
    } else {
        a.total_cmp(&b)
    }
}

/// The mean of `values` when every one is there.
pub(super) fn mean_of_all(values: impl Iterator<Item = Option<f64>>) -> Option<f64> {
    let v: Vec<f64> = values.collect::<Option<_>>()?;
    (!v.is_empty()).then(|| v.iter().sum::<f64>() / v.len() as f64)
}

/// Analyses the runs of one kind, each `(group, run)`, with `score` each run's score.
pub fn analyse(
    metric: &str,
    higher: bool,
    runs: &[(String, &RunData)],
    score: impl Fn(&RunData) -> f64,
    bootstrap: &Bootstrap,
    profile_reps: usize,
) -> KindAnalysis {
    // group -> task -> runs
    let mut by_group: BTreeMap<&str, BTreeMap<&str, Vec<&RunData>>> = BTreeMap::new();
    for (group, run) in runs {
        by_group.entry(group.as_str()).or_default().entry(run.task.as_str()).or_default().push(run);
    }
    let mut tasks: Vec<String> = runs.iter().map(|(_, r)| r.task.clone()).collect();
    tasks.sort();
    tasks.dedup();
    let mut notes = Vec::new();

    // Per task: IQM and mean over each group's runs.
    let per_task: Vec<TaskTable> = tasks
        .iter()
        .map(|task| {
            let mut rows: Vec<TaskRow> = by_group
                .iter()
                .filter_map(|(group, t)| t.get(task.as_str()).map(|r| (group, r)))
                .map(|(group, task_runs)| {
                    let scores: Vec<f64> = task_runs.iter().map(|r| score(r)).collect();
                    let s = Scores { tasks: vec![scores.clone()] };
                    let e = bootstrap.aggregates(&s, &[Statistic::Iqm, Statistic::Mean]);
                    TaskRow {
                        group: group.to_string(),
                        scores,
                        iqm: e[0],
                        mean: e[1],
                        reference: task_runs[0].reference.clone(),
                        evals: [0, 1].map(|k| mean_of_all(task_runs.iter().map(|r| r.evals[k]))),
                    }
                })
                .collect();
            rows.sort_by(|a, b| better(higher, a.iqm.point, b.iqm.point).then(better(higher, a.mean.point, b.mean.point)));
            TaskTable { task: task.clone(), rows }
        })
        .collect();

    // The aggregates' scale.
    let is_rl = metric.contains("return");
    let normalisable = is_rl && tasks.iter().all(|t| normalization::of(t).is_some());
    let scale = if normalisable {
        Some(ScoreScale::Normalised)
    } else if tasks.len() == 1 {
        Some(ScoreScale::Raw)
    } else {
        let missing: Vec<&str> = tasks.iter().filter(|t| normalization::of(t).is_none()).map(String::as_str).collect();
        notes.push(if is_rl {
            format!("No aggregate over tasks: {} not in experiments/normalization.toml, and raw returns of different tasks do not compare.", missing.join(", "))
        } else {
            "No aggregate over tasks: their scores are on different scales.".to_string()
        });
        None
    };
    let mut matrices = Vec::new();
    if let Some(scale) = scale {
        for (group, t) in &by_group {
            if t.len() < tasks.len() {
                notes.push(format!("`{group}` has runs on {} of the {} tasks; it is left out of the aggregates.", t.len(), tasks.len()));
                continue;
            }
            let raw = Scores { tasks: tasks.iter().map(|task| t[task.as_str()].iter().map(|r| score(r)).collect()).collect() };
            let scaled = match scale {
                ScoreScale::Raw => raw.clone(),
                ScoreScale::Normalised => Scores {
                    tasks: tasks
                        .iter()
                        .zip(&raw.tasks)
                        .map(|(task, s)| s.iter().map(|&x| normalization::of(task).map_or(x, |n| n.normalise(x))).collect())
                        .collect(),
                },
            };
            matrices.push((group.to_string(), raw, scaled));
        }
    }
    let mut analysis = KindAnalysis {
        metric: metric.to_string(),
        higher_is_better: higher,
        tasks,
        per_task,
        scale,
        statistics: Vec::new(),
        groups: Vec::new(),
        improvement: Vec::new(),
        profiles: None,
        notes,
    };
    analysis.aggregate(matrices, bootstrap, profile_reps);
    analysis
}

impl KindAnalysis {
    /// An analysis of score matrices alone (`report --scores`): per group its
    /// scores on `scale`, per task; no per-task tables.
    pub fn of_matrices(metric: &str, tasks: Vec<String>, scale: ScoreScale, groups: Vec<(String, Scores)>, bootstrap: &Bootstrap, profile_reps: usize) -> Self {
        let mut analysis = KindAnalysis {
            metric: metric.to_string(),
            higher_is_better: true,
            tasks,
            per_task: Vec::new(),
            scale: Some(scale),
            statistics: Vec::new(),
            groups: Vec::new(),
            improvement: Vec::new(),
            profiles: None,
            notes: Vec::new(),
        };
        analysis.aggregate(groups.into_iter().map(|(g, s)| (g, s.clone(), s)).collect(), bootstrap, profile_reps);
        analysis
    }

    /// Fills the aggregates, improvements and profiles from each group's
    /// `(name, raw scores, scores on the scale)`.
    fn aggregate(&mut self, matrices: Vec<(String, Scores, Scores)>, bootstrap: &Bootstrap, profile_reps: usize) {
        let higher = self.higher_is_better;
        self.statistics = match self.scale {
            Some(ScoreScale::Normalised) => Statistic::ALL.to_vec(),
            Some(ScoreScale::Raw) => vec![Statistic::Iqm, Statistic::Mean],
            None => Vec::new(),
        };
        let mut groups: Vec<GroupAggregate> = matrices
            .into_iter()
            .map(|(group, raw, scaled)| {
                let estimates = bootstrap.aggregates(&scaled, &self.statistics);
                GroupAggregate { group, raw_iqm: nnlab_stats::estimators::iqm(&raw), scores: scaled, estimates }
            })
            .collect();
        let iqm_at = self.statistics.iter().position(|&s| s == Statistic::Iqm).unwrap_or(0);
        groups.sort_by(|a, b| better(higher, a.estimates[iqm_at].point, b.estimates[iqm_at].point));

        // Probability of improvement among the best groups (better ranked as X).
        let top = groups.len().min(IMPROVEMENT_GROUPS);
        if groups.len() > IMPROVEMENT_GROUPS {
            self.notes.push(format!("Probabilities of improvement compare the best {IMPROVEMENT_GROUPS} of {} groups.", groups.len()));
        }
        let sign = if higher { 1.0 } else { -1.0 };
        for i in 0..top {
            for j in i + 1..top {
                let (x, y) = (groups[i].scores.map(|v| sign * v), groups[j].scores.map(|v| sign * v));
                self.improvement.push(Improvement { x: groups[i].group.clone(), y: groups[j].group.clone(), estimate: bootstrap.improvement(&x, &y) });
            }
        }

        // Performance profiles over the range of all groups' scores.
        self.profiles = (higher && !groups.is_empty()).then(|| {
            let (lo, hi) = groups.iter().flat_map(|g| g.scores.all()).fold((f64::MAX, f64::MIN), |(a, b), v| (a.min(v), b.max(v)));
            let (lo, hi) = if self.scale == Some(ScoreScale::Normalised) { (lo.min(0.0), hi.max(1.0)) } else { (lo, hi.max(lo + 1e-9)) };
            let taus: Vec<f64> = (0..PROFILE_POINTS).map(|k| lo + (hi - lo) * k as f64 / (PROFILE_POINTS - 1) as f64).collect();
            let b = Bootstrap { reps: profile_reps, ..*bootstrap };
            let per_group = groups.iter().map(|g| (g.group.clone(), b.profile(&g.scores, &taus))).collect();
            Profiles { taus, groups: per_group }
        });
        self.groups = groups;
    }
}
