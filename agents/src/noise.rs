//! Exploration noise for deterministic policies (DDPG, TD3), drawn on the host
//! from the agent's seeded RNG: independent Gaussian noise (CleanRL, SB3's
//! `NormalActionNoise`) or a temporally correlated Ornstein-Uhlenbeck process
//! (SB3's `OrnsteinUhlenbeckActionNoise`, which the SB3 zoo uses on
//! MountainCarContinuous). Standard deviations are in units of the action
//! scale `(high - low) / 2`, as CleanRL's `exploration_noise` and SB3's noise
//! on its `[-1, 1]`-rescaled actions.

use anyhow::Result;
use rand::Rng;
use rand_distr::StandardNormal;
use serde::{Deserialize, Serialize};

/// Which exploration noise.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum NoiseKind {
    /// Independent `N(0, std^2)` every step.
    Normal,
    /// `x <- x + theta * (0 - x) * dt + std * sqrt(dt) * N(0, 1)`, reset to 0 at every episode's end.
    OrnsteinUhlenbeck,
}

/// An exploration-noise process over `dim` action dimensions.
#[derive(Debug, Clone, PartialEq)]
pub struct ActionNoise {
    kind: NoiseKind,
    std: f64,
    theta: f64,
    dt: f64,
    state: Vec<f64>,
}

impl ActionNoise {
    /// A process of `kind` with standard deviation `std` (OU: `theta`, `dt` as SB3's defaults 0.15 and 0.01).
    pub fn new(kind: NoiseKind, dim: usize, std: f64, theta: f64, dt: f64) -> Self {
        Self { kind, std, theta, dt, state: vec![0.0; dim] }
    }

    /// The next noise value per dimension (in action-scale units).
    pub fn sample<R: Rng>(&mut self, rng: &mut R) -> &[f64] {
        for x in &mut self.state {
            let z: f64 = rng.sample(StandardNormal);
            *x = match self.kind {
                NoiseKind::Normal => self.std * z,
                NoiseKind::OrnsteinUhlenbeck => *x - self.theta * *x * self.dt + self.std * self.dt.sqrt() * z,
            };
        }
        &self.state
    }

    /// Starts a new episode (the OU process returns to 0).
    pub fn reset(&mut self) {
        self.state.iter_mut().for_each(|x| *x = 0.0);
    }

    /// The process's state, for checkpoints (as bits: exact).
    pub fn state_bits(&self) -> Vec<u64> {
        self.state.iter().map(|x| x.to_bits()).collect()
    }

    /// Restores what [`ActionNoise::state_bits`] returned.
    pub fn restore_bits(&mut self, bits: &[u64]) -> Result<()> {
        if bits.len() != self.state.len() {
            anyhow::bail!("the checkpoint's noise has {} dimensions, expected {}", bits.len(), self.state.len());
        }
        self.state = bits.iter().map(|b| f64::from_bits(*b)).collect();
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    #[test]
    fn normal_noise_has_its_std_and_ou_noise_is_correlated_and_resets() {
        let mut rng = ChaCha8Rng::seed_from_u64(0);
        let mut n = ActionNoise::new(NoiseKind::Normal, 1, 0.1, 0.15, 0.01);
        let xs: Vec<f64> = (0..20_000).map(|_| n.sample(&mut rng)[0]).collect();
        let var = xs.iter().map(|x| x * x).sum::<f64>() / xs.len() as f64;
        assert!((var.sqrt() - 0.1).abs() < 0.005, "{}", var.sqrt());
        let mut ou = ActionNoise::new(NoiseKind::OrnsteinUhlenbeck, 2, 0.5, 0.15, 0.01);
        let ys: Vec<f64> = (0..2000).map(|_| ou.sample(&mut rng)[0]).collect();
        let lag1 = ys.windows(2).map(|w| w[0] * w[1]).sum::<f64>() / ys.iter().map(|y| y * y).sum::<f64>();
        assert!(lag1 > 0.9, "consecutive OU values are close: {lag1}");
        ou.reset();
        assert_eq!(ou.state_bits(), vec![0, 0]);
    }
}
