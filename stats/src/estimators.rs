//! Point estimates over a score matrix, exactly as `rliable.metrics` and
//! `rliable.library` define them.

use serde::{Deserialize, Serialize};

/// The final scores of one algorithm: for each task, the scores of its runs
/// (`tasks[m][n]` is run `n` on task `m`; the transpose of `rliable`'s
/// `num_runs x num_tasks` matrix). Tasks may have different numbers of runs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Scores {
    /// Per task, its runs' scores.
    pub tasks: Vec<Vec<f64>>,
}

impl Scores {
    /// Scores from per-task runs; `Err` when there is no task, a task has no
    /// run, or a score is not finite.
    pub fn new(tasks: Vec<Vec<f64>>) -> Result<Self, String> {
        if tasks.is_empty() {
            return Err("no task".into());
        }
        if let Some(m) = tasks.iter().position(Vec::is_empty) {
            return Err(format!("task {m} has no run"));
        }
        if let Some(x) = tasks.iter().flatten().find(|x| !x.is_finite()) {
            return Err(format!("a score is not finite ({x})"));
        }
        Ok(Scores { tasks })
    }

    /// Every run's score, task after task.
    pub fn all(&self) -> impl Iterator<Item = f64> + '_ {
        self.tasks.iter().flatten().copied()
    }

    /// The number of scores (runs over all tasks).
    pub fn len(&self) -> usize {
        self.tasks.iter().map(Vec::len).sum()
    }

    /// Whether there is no score (never true for [`Scores::new`]'s result).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Whether every task has the same number of runs (a matrix, as `rliable` needs).
    pub fn is_rectangular(&self) -> bool {
        self.tasks.windows(2).all(|w| w[0].len() == w[1].len())
    }

    /// Each task's mean score.
    pub fn task_means(&self) -> Vec<f64> {
        self.tasks.iter().map(|t| mean_of(t)).collect()
    }

    /// The scores mapped by `f`.
    pub fn map(&self, f: impl Fn(f64) -> f64) -> Scores {
        Scores { tasks: self.tasks.iter().map(|t| t.iter().map(|&x| f(x)).collect()).collect() }
    }
}

fn mean_of(values: &[f64]) -> f64 {
    values.iter().sum::<f64>() / values.len() as f64
}

/// The median of `values` (the mean of the two middle ones for an even count), as `np.median`.
pub fn median_of(values: &[f64]) -> f64 {
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

/// The mean of the task means (`rliable.metrics.aggregate_mean`).
pub fn mean(scores: &Scores) -> f64 {
    mean_of(&scores.task_means())
}

/// The median of the task means (`aggregate_median`).
pub fn median(scores: &Scores) -> f64 {
    median_of(&scores.task_means())
}

/// The interquartile mean: the 25% trimmed mean over all runs of all tasks
/// (`aggregate_iqm`, i.e. `scipy.stats.trim_mean(scores, 0.25, axis=None)`:
/// `floor(n / 4)` scores cut from each end).
pub fn iqm(scores: &Scores) -> f64 {
    trimmed_mean(&scores.all().collect::<Vec<_>>(), 0.25)
}

/// The mean of `values` with `floor(proportion * n)` cut from each end, as `scipy.stats.trim_mean`.
pub fn trimmed_mean(values: &[f64], proportion: f64) -> f64 {
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    let cut = (proportion * v.len() as f64) as usize;
    mean_of(&v[cut..v.len() - cut])
}

/// The optimality gap at threshold `gamma`: `gamma` minus the mean over all
/// runs of the scores clipped at `gamma` (`aggregate_optimality_gap`).
pub fn optimality_gap(scores: &Scores, gamma: f64) -> f64 {
    let all: Vec<f64> = scores.all().map(|x| x.min(gamma)).collect();
    gamma - mean_of(&all)
}

/// The probability that a run of `x` scores above a run of `y` on the same
/// task, averaged over tasks (`metrics.probability_of_improvement`: per task
/// the Mann-Whitney U statistic of `x` over `n * m`, ties counting one half).
///
/// # Panics
/// When `x` and `y` have different numbers of tasks.
pub fn probability_of_improvement(x: &Scores, y: &Scores) -> f64 {
    assert_eq!(x.tasks.len(), y.tasks.len(), "probability of improvement needs the same tasks");
    let per_task: Vec<f64> = x
        .tasks
        .iter()
        .zip(&y.tasks)
        .map(|(xs, ys)| {
            if xs == ys {
                return 0.5;
            }
            let u: f64 = xs
                .iter()
                .map(|&a| {
                    ys.iter()
                        .map(|&b| match a.total_cmp(&b) {
                            std::cmp::Ordering::Greater => 1.0,
                            std::cmp::Ordering::Equal => 0.5,
                            std::cmp::Ordering::Less => 0.0,
                        })
                        .sum::<f64>()
                })
                .sum();
            u / (xs.len() * ys.len()) as f64
        })
        .collect();
    mean_of(&per_task)
}

/// The fraction of all runs scoring above `tau` (`rliable`'s score
/// distribution, the performance profile it plots by default).
pub fn score_distribution(scores: &Scores, tau: f64) -> f64 {
    scores.all().filter(|&x| x > tau).count() as f64 / scores.len() as f64
}

/// An aggregate statistic of one algorithm's scores.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Statistic {
    /// [`median`] of the task means.
    Median,
    /// [`iqm`], the interquartile mean over all runs.
    Iqm,
    /// [`mean`] of the task means.
    Mean,
    /// [`optimality_gap`] at threshold 1 (normalised scores).
    OptimalityGap,
}

impl Statistic {
    /// The four, in the order of `rliable`'s plots.
    pub const ALL: [Statistic; 4] = [Statistic::Median, Statistic::Iqm, Statistic::Mean, Statistic::OptimalityGap];

    /// Its value on `scores`.
    pub fn of(self, scores: &Scores) -> f64 {
        match self {
            Statistic::Median => median(scores),
            Statistic::Iqm => iqm(scores),
            Statistic::Mean => mean(scores),
            Statistic::OptimalityGap => optimality_gap(scores, 1.0),
        }
    }

    /// Its name in tables and plots.
    pub fn label(self) -> &'static str {
        match self {
            Statistic::Median => "median",
            Statistic::Iqm => "IQM",
            Statistic::Mean => "mean",
            Statistic::OptimalityGap => "optimality gap",
        }
    }

    /// Whether a higher value is better (all but the optimality gap, for scores where higher is better).
    pub fn higher_is_better(self) -> bool {
        self != Statistic::OptimalityGap
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scores(tasks: &[&[f64]]) -> Scores {
        Scores::new(tasks.iter().map(|t| t.to_vec()).collect()).unwrap()
    }

    #[test]
    fn the_iqm_cuts_a_quarter_from_each_end_of_all_runs() {
        // 8 scores: 2 cut from each end, the mean of 3, 4, 5, 6.
        assert_eq!(iqm(&scores(&[&[8.0, 1.0, 3.0, 6.0], &[2.0, 7.0, 4.0, 5.0]])), 4.5);
        // 5 scores: floor(1.25) = 1 cut from each end.
        assert_eq!(iqm(&scores(&[&[10.0, 0.0, 1.0, 2.0, 3.0]])), 2.0);
        // 3 scores: nothing cut.
        assert_eq!(iqm(&scores(&[&[1.0, 2.0, 9.0]])), 4.0);
    }

    #[test]
    fn median_and_mean_are_over_task_means() {
        let s = scores(&[&[1.0, 3.0], &[10.0, 10.0], &[0.0, 1.0]]);
        assert_eq!(s.task_means(), [2.0, 10.0, 0.5]);
        assert_eq!(median(&s), 2.0);
        assert_eq!(mean(&s), 12.5 / 3.0);
        assert_eq!(median(&scores(&[&[1.0], &[2.0], &[4.0], &[8.0]])), 3.0);
    }

    #[test]
    fn the_optimality_gap_clips_at_the_threshold() {
        let s = scores(&[&[0.5, 2.0], &[1.0, 0.0]]);
        // clipped: 0.5, 1, 1, 0: mean 0.625.
        assert_eq!(optimality_gap(&s, 1.0), 0.375);
    }

    #[test]
    fn improvement_counts_pairs_and_half_ties() {
        let x = scores(&[&[1.0, 2.0, 3.0]]);
        let y = scores(&[&[2.0, 2.0]]);
        // pairs: (1,2) 0 0, (2,2) .5 .5, (3,2) 1 1: 3 / 6.
        assert_eq!(probability_of_improvement(&x, &y), 0.5);
        let y = scores(&[&[0.0, 1.5]]);
        assert_eq!(probability_of_improvement(&x, &y), 5.0 / 6.0);
        // Averaged over tasks.
        let x2 = scores(&[&[1.0], &[5.0]]);
        let y2 = scores(&[&[2.0], &[4.0]]);
        assert_eq!(probability_of_improvement(&x2, &y2), 0.5);
        assert_eq!(probability_of_improvement(&x, &x), 0.5);
    }

    #[test]
    fn the_score_distribution_is_the_fraction_strictly_above() {
        let s = scores(&[&[0.0, 1.0], &[1.0, 2.0]]);
        assert_eq!(score_distribution(&s, 1.0), 0.25);
        assert_eq!(score_distribution(&s, -1.0), 1.0);
    }

    #[test]
    fn bad_scores_are_refused() {
        assert!(Scores::new(vec![]).is_err());
        assert!(Scores::new(vec![vec![1.0], vec![]]).is_err());
        assert!(Scores::new(vec![vec![f64::NAN]]).is_err());
    }
}
