//! The 2-D Gaussian-mixture benchmarks of VEEGAN and PacGAN, and their metric.
//!
//! - ring: 8 Gaussians evenly spaced on the unit circle, std 0.01;
//! - grid: 25 Gaussians at `{-4, -2, 0, 2, 4}^2`, std 0.05.
//!
//! A generated sample is *high quality* when it lies within 3 standard
//! deviations of its nearest mode; a mode is *covered* when at least one
//! high-quality sample has it as nearest mode; the *reverse KL* is
//! `KL(p_gen || uniform)` between the distribution of high-quality samples
//! over modes and the uniform distribution over all modes (PacGAN, Table 1;
//! 2,500 samples per evaluation).

use rand::Rng;
use rand_distr::StandardNormal;
use serde::{Deserialize, Serialize};

/// Which mixture.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Mixture {
    /// 8 modes on the unit circle, std 0.01.
    Ring,
    /// 25 modes on a 5x5 grid with spacing 2, std 0.05.
    Grid,
}

impl Mixture {
    /// The mode centres.
    pub fn modes(self) -> Vec<[f64; 2]> {
        match self {
            Mixture::Ring => (0..8)
                .map(|k| {
                    let a = 2.0 * std::f64::consts::PI * k as f64 / 8.0;
                    [libm::cos(a), libm::sin(a)]
                })
                .collect(),
            Mixture::Grid => (-2..=2).flat_map(|i| (-2..=2).map(move |j| [2.0 * i as f64, 2.0 * j as f64])).collect(),
        }
    }

    /// The mixture's length scale (ring radius 1, grid spacing 2): GANs see
    /// samples divided by it, so that both benchmarks reach the networks at one scale.
    pub fn scale(self) -> f64 {
        match self {
            Mixture::Ring => 1.0,
            Mixture::Grid => 2.0,
        }
    }

    /// Standard deviation of every component.
    pub fn std(self) -> f64 {
        match self {
            Mixture::Ring => 0.01,
            Mixture::Grid => 0.05,
        }
    }

    /// `n` samples, `[x0, y0, x1, y1, ...]`: a uniformly chosen mode plus Gaussian noise.
    pub fn sample<R: Rng>(self, n: usize, rng: &mut R) -> Vec<f32> {
        let modes = self.modes();
        let s = self.std();
        (0..n)
            .flat_map(|_| {
                let m = modes[rng.random_range(0..modes.len())];
                let dx: f64 = rng.sample(StandardNormal);
                let dy: f64 = rng.sample(StandardNormal);
                [(m[0] + s * dx) as f32, (m[1] + s * dy) as f32]
            })
            .collect()
    }
}

/// The benchmark's numbers for one set of generated samples.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct MixtureMetrics {
    /// Modes with at least one high-quality sample.
    pub modes_covered: usize,
    /// Modes of the mixture.
    pub modes_total: usize,
    /// Fraction of samples within 3 std of their nearest mode.
    pub high_quality_fraction: f64,
    /// `KL(p_gen || uniform)` over modes, from the high-quality samples (`None` without any).
    pub reverse_kl: Option<f64>,
}

/// Scores `samples` (`[x0, y0, x1, y1, ...]`) against `mixture`.
pub fn evaluate(mixture: Mixture, samples: &[f32]) -> MixtureMetrics {
    let modes = mixture.modes();
    let limit = 3.0 * mixture.std();
    let mut counts = vec![0usize; modes.len()];
    let n = samples.len() / 2;
    for p in samples.chunks_exact(2) {
        let (x, y) = (f64::from(p[0]), f64::from(p[1]));
        let (best, d2) =
            modes.iter().enumerate().map(|(k, m)| (k, (x - m[0]).powi(2) + (y - m[1]).powi(2))).fold((0, f64::INFINITY), |a, b| if b.1 < a.1 { b } else { a });
        if d2.sqrt() <= limit {
            counts[best] += 1;
        }
    }
    let hq: usize = counts.iter().sum();
    let m = modes.len() as f64;
    let reverse_kl = (hq > 0).then(|| {
        counts
            .iter()
            .filter(|&&c| c > 0)
            .map(|&c| {
                let p = c as f64 / hq as f64;
                p * libm::log(p * m)
            })
            .sum()
    });
    MixtureMetrics {
        modes_covered: counts.iter().filter(|&&c| c > 0).count(),
        modes_total: modes.len(),
        high_quality_fraction: if n == 0 { 0.0 } else { hq as f64 / n as f64 },
        reverse_kl,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn true_samples_cover_everything_with_high_quality() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(0);
        for mix in [Mixture::Ring, Mixture::Grid] {
            let m = evaluate(mix, &mix.sample(2500, &mut rng));
            assert_eq!(m.modes_covered, m.modes_total);
            assert!(m.high_quality_fraction > 0.98, "{m:?}");
            assert!(m.reverse_kl.unwrap() < 0.02, "{m:?}");
        }
    }

    #[test]
    fn a_hand_made_sample_set_scores_as_expected() {
        // Ring: 6 samples on mode 0, 2 on mode 2 (inside 3 std = 0.03), 2 far from every mode.
        let mut s = Vec::new();
        for _ in 0..6 {
            s.extend([1.0f32 + 0.02, 0.0]);
        }
        for _ in 0..2 {
            s.extend([0.0f32, 1.0 - 0.02]);
        }
        s.extend([0.5f32, 0.5, 0.0, 0.0]);
        let m = evaluate(Mixture::Ring, &s);
        assert_eq!((m.modes_covered, m.modes_total), (2, 8));
        assert!((m.high_quality_fraction - 0.8).abs() < 1e-12);
        let want = 0.75 * libm::log(0.75f64 * 8.0) + 0.25 * libm::log(0.25f64 * 8.0);
        assert!((m.reverse_kl.unwrap() - want).abs() < 1e-12);
        // Samples just outside 3 std are not high quality; none at all gives no KL.
        let m = evaluate(Mixture::Grid, &[2.0 + 0.151, 2.0, 100.0, 100.0]);
        assert_eq!((m.modes_covered, m.high_quality_fraction, m.reverse_kl), (0, 0.0, None));
    }
}
