//! Stratified bootstrap confidence intervals, as `rliable.library`'s
//! `get_interval_estimates` and `create_performance_profile` compute them:
//! each resample draws, for every task independently, as many runs as the
//! task has, with replacement, from that task's runs (`StratifiedBootstrap`;
//! two algorithms are resampled independently, `StratifiedIndependentBootstrap`),
//! and the interval is the percentile interval of the statistic over the
//! resamples (`arch`'s `conf_int(method="percentile")`, numpy's linear
//! percentiles).

use crate::estimators::{self, Scores, Statistic};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

/// How intervals are drawn: the number of resamples, the coverage and the seed.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Bootstrap {
    /// Resamples (`rliable`: 50,000 for interval estimates, 2,000 for performance profiles).
    pub reps: usize,
    /// Coverage of the interval (0.95: the 2.5th and 97.5th percentiles).
    pub confidence: f64,
    /// Seed of the resampling (ChaCha8): the same seed gives the same intervals.
    pub seed: u64,
}

impl Default for Bootstrap {
    fn default() -> Self {
        Bootstrap { reps: 50_000, confidence: 0.95, seed: 0 }
    }
}

/// A point estimate with its bootstrap interval.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Estimate {
    /// The statistic on the scores themselves.
    pub point: f64,
    /// Lower end of the interval.
    pub lower: f64,
    /// Upper end of the interval.
    pub upper: f64,
    /// Monte-Carlo uncertainty of `lower`: the resampled values at the ranks
    /// five standard errors (of the difference of two independent
    /// bootstraps) either side of its percentile. Another bootstrap of the
    /// same scores with as many resamples puts its lower end in here but
    /// with a negligible probability.
    pub lower_band: [f64; 2],
    /// The same for `upper`.
    pub upper_band: [f64; 2],
}

impl Bootstrap {
    /// Checks the settings: at least 2 resamples, a coverage in (0, 1).
    pub fn validate(&self) -> Result<(), String> {
        if self.reps < 2 {
            return Err(format!("the bootstrap needs at least 2 resamples, not {}", self.reps));
        }
        if !(self.confidence > 0.0 && self.confidence < 1.0) {
            return Err(format!("the confidence must lie strictly between 0 and 1, not {}", self.confidence));
        }
        Ok(())
    }

    /// Intervals for the values `f` computes from `samples` (one [`Scores`]
    /// per algorithm it compares), each resampled independently within its tasks.
    pub fn intervals(&self, samples: &[&Scores], f: impl Fn(&[Scores]) -> Vec<f64>) -> Vec<Estimate> {
        let originals: Vec<Scores> = samples.iter().map(|s| (*s).clone()).collect();
        let points = f(&originals);
        let mut rng = ChaCha8Rng::seed_from_u64(self.seed);
        let mut resample = originals.clone();
        let mut columns: Vec<Vec<f64>> = vec![Vec::with_capacity(self.reps); points.len()];
        for _ in 0..self.reps {
            for (original, target) in originals.iter().zip(resample.iter_mut()) {
                for (runs, drawn) in original.tasks.iter().zip(target.tasks.iter_mut()) {
                    for slot in drawn.iter_mut() {
                        *slot = runs[rng.random_range(0..runs.len())];
                    }
                }
            }
            for (column, value) in columns.iter_mut().zip(f(&resample)) {
                column.push(value);
            }
        }
        let alpha = (1.0 - self.confidence) / 2.0;
        points
            .into_iter()
            .zip(columns)
            .map(|(point, mut column)| {
                column.sort_by(f64::total_cmp);
                Estimate {
                    point,
                    lower: percentile(&column, alpha),
                    upper: percentile(&column, 1.0 - alpha),
                    lower_band: mc_band(&column, alpha),
                    upper_band: mc_band(&column, 1.0 - alpha),
                }
            })
            .collect()
    }

    /// The aggregate `statistics` of `scores`, with intervals from one set of resamples.
    pub fn aggregates(&self, scores: &Scores, statistics: &[Statistic]) -> Vec<Estimate> {
        self.intervals(&[scores], |s| statistics.iter().map(|st| st.of(&s[0])).collect())
    }

    /// The probability of improvement of `x` over `y`, with its interval.
    pub fn improvement(&self, x: &Scores, y: &Scores) -> Estimate {
        self.intervals(&[x, y], |s| vec![estimators::probability_of_improvement(&s[0], &s[1])])[0]
    }

    /// The performance profile of `scores` (the score distribution at each `tau`) with its bands.
    pub fn profile(&self, scores: &Scores, taus: &[f64]) -> Vec<Estimate> {
        self.intervals(&[scores], |s| taus.iter().map(|&t| estimators::score_distribution(&s[0], t)).collect())
    }
}

/// The `q`-quantile of sorted `values`, interpolated linearly (numpy's default).
pub fn percentile(sorted: &[f64], q: f64) -> f64 {
    let h = q * (sorted.len() - 1) as f64;
    let lo = h.floor() as usize;
    let hi = (lo + 1).min(sorted.len() - 1);
    sorted[lo] + (h - lo as f64) * (sorted[hi] - sorted[lo])
}

/// The values of sorted `values` at the ranks five standard errors either
/// side of quantile `q` (the binomial spread of a quantile's rank, doubled
/// in variance for the difference of two bootstraps).
fn mc_band(sorted: &[f64], q: f64) -> [f64; 2] {
    let n = sorted.len() as f64;
    let rank = q * (n - 1.0);
    let spread = 5.0 * (2.0 * n * q * (1.0 - q)).sqrt() + 1.0;
    let lo = (rank - spread).floor().max(0.0) as usize;
    let hi = ((rank + spread).ceil() as usize).min(sorted.len() - 1);
    [sorted[lo], sorted[hi]]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_interpolate_like_numpy() {
        let v = [1.0, 2.0, 3.0, 4.0];
        // np.percentile([1, 2, 3, 4], [2.5, 50, 97.5]) = [1.075, 2.5, 3.925]
        assert!((percentile(&v, 0.025) - 1.075).abs() < 1e-12);
        assert_eq!(percentile(&v, 0.5), 2.5);
        assert!((percentile(&v, 0.975) - 3.925).abs() < 1e-12);
        assert_eq!(percentile(&v, 1.0), 4.0);
    }

    #[test]
    fn intervals_hold_the_point_and_repeat_with_the_seed() {
        let s = Scores::new(vec![vec![1.0, 2.0, 3.0, 4.0, 10.0], vec![0.0, 0.5, 0.7, 0.9, 1.0]]).unwrap();
        let b = Bootstrap { reps: 2000, ..Bootstrap::default() };
        let e = b.aggregates(&s, &Statistic::ALL);
        for (stat, est) in Statistic::ALL.iter().zip(&e) {
            assert_eq!(est.point, stat.of(&s));
            assert!(est.lower <= est.point && est.point <= est.upper, "{stat:?}: {est:?}");
            assert!(est.lower_band[0] <= est.lower && est.lower <= est.lower_band[1]);
            assert!(est.lower < est.upper, "{stat:?}: a degenerate interval {est:?}");
        }
        assert_eq!(e, b.aggregates(&s, &Statistic::ALL));
        assert_ne!(e, Bootstrap { seed: 1, ..b }.aggregates(&s, &Statistic::ALL));
    }

    #[test]
    fn resampling_stays_within_each_task() {
        // Task 0 always scores 0, task 1 always 1: every resample's mean is 0.5
        // (a bootstrap over all runs together would spread it).
        let s = Scores::new(vec![vec![0.0; 4], vec![1.0; 4]]).unwrap();
        let e = Bootstrap { reps: 500, ..Bootstrap::default() }.aggregates(&s, &[Statistic::Mean]);
        assert_eq!((e[0].lower, e[0].upper), (0.5, 0.5));
    }

    #[test]
    fn a_clear_improvement_has_an_interval_above_one_half() {
        let x = Scores::new(vec![vec![5.0, 6.0, 7.0, 8.0, 9.0]]).unwrap();
        let y = Scores::new(vec![vec![1.0, 2.0, 3.0, 4.0, 5.5]]).unwrap();
        let e = Bootstrap { reps: 1000, ..Bootstrap::default() }.improvement(&x, &y);
        assert!((e.point - 24.0 / 25.0).abs() < 1e-12);
        assert!(e.lower > 0.5, "{e:?}");
    }

    #[test]
    fn bad_settings_are_refused() {
        assert!(Bootstrap { reps: 1, ..Bootstrap::default() }.validate().is_err());
        assert!(Bootstrap { confidence: 1.0, ..Bootstrap::default() }.validate().is_err());
        assert!(Bootstrap::default().validate().is_ok());
    }
}
