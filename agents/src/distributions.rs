//! Action distributions of stochastic policies, on tensors: a categorical over
//! logits (discrete actions) and a diagonal Gaussian with a state-independent
//! log standard deviation (Box actions).

use rand::Rng;
use rand_distr::StandardNormal;
use tch::{Device, Kind, Tensor};

/// `ln(2 pi)`.
pub(crate) const LN_2PI: f64 = 1.837_877_066_409_345_5;

/// A batch of action distributions.
#[derive(Debug)]
pub enum ActionDist {
    /// Categorical with these log-probabilities `[B, n]`.
    Categorical {
        /// `log_softmax(logits)`.
        log_probs: Tensor,
    },
    /// Diagonal Gaussian: mean `[B, d]`, log standard deviation `[d]` (shared by the batch) or `[B, d]` (gSDE).
    DiagGaussian {
        /// Means.
        mean: Tensor,
        /// Log standard deviations.
        log_std: Tensor,
    },
}

impl ActionDist {
    /// A categorical from unnormalised logits `[B, n]`.
    pub fn categorical(logits: &Tensor) -> Self {
        ActionDist::Categorical { log_probs: logits.log_softmax(-1, Kind::Float) }
    }

    /// Samples one action per row: `[B]` (`i64`) for a categorical, `[B, d]` for a Gaussian.
    /// The randomness comes from `rng` (not torch's global generator), so that an
    /// agent's samples depend on its own seed alone and are the same on every device.
    pub fn sample_with<R: Rng>(&self, rng: &mut R) -> Tensor {
        match self {
            ActionDist::Categorical { log_probs } => {
                let n = log_probs.size()[1] as usize;
                let probs = Vec::<f32>::try_from(log_probs.exp().to_device(Device::Cpu).flatten(0, -1)).expect("float probabilities");
                let idx: Vec<i64> = probs
                    .chunks(n)
                    .map(|row| {
                        let u = rng.random::<f32>() * row.iter().sum::<f32>();
                        let mut acc = 0.0;
                        row.iter()
                            .position(|p| {
                                acc += p;
                                u < acc
                            })
                            .unwrap_or(n - 1) as i64
                    })
                    .collect();
                Tensor::from_slice(&idx).to_device(log_probs.device())
            }
            ActionDist::DiagGaussian { mean, log_std } => {
                let noise: Vec<f32> = (0..mean.numel()).map(|_| rng.sample::<f32, _>(StandardNormal)).collect();
                mean + log_std.exp() * Tensor::from_slice(&noise).view(mean.size().as_slice()).to_device(mean.device())
            }
        }
    }

    /// The most likely action (argmax, or the mean).
    pub fn mode(&self) -> Tensor {
        match self {
            ActionDist::Categorical { log_probs } => log_probs.argmax(-1, false),
            ActionDist::DiagGaussian { mean, .. } => mean.shallow_clone(),
        }
    }

    /// Log-probability of `actions`, `[B]` (summed over a Gaussian's dimensions).
    pub fn log_prob(&self, actions: &Tensor) -> Tensor {
        match self {
            ActionDist::Categorical { log_probs } => log_probs.gather(-1, &actions.unsqueeze(-1), false).squeeze_dim(-1),
            ActionDist::DiagGaussian { mean, log_std } => {
                let z = (actions - mean) / log_std.exp();
                (z.square() * -0.5 - log_std - 0.5 * LN_2PI).sum_dim_intlist(-1, false, Kind::Float)
            }
        }
    }

    /// Entropy of each distribution, `[B]`.
    pub fn entropy(&self) -> Tensor {
        match self {
            ActionDist::Categorical { log_probs } => -(log_probs.exp() * log_probs).sum_dim_intlist(-1, false, Kind::Float),
            // A state-dependent log-std (gSDE) is `[B, d]`; a shared one `[d]`.
            ActionDist::DiagGaussian { log_std, .. } if log_std.dim() == 2 => (log_std + 0.5 + 0.5 * LN_2PI).sum_dim_intlist(-1, false, Kind::Float),
            ActionDist::DiagGaussian { mean, log_std } => {
                let per_row = (log_std + 0.5 + 0.5 * LN_2PI).sum(Kind::Float);
                per_row.expand([mean.size()[0]], false)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tch::Device;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-5
    }

    #[test]
    fn gaussian_log_prob_and_entropy_match_closed_forms() {
        let mean = Tensor::from_slice(&[0.5f32, -1.0]).view([1, 2]);
        let log_std = Tensor::from_slice(&[libm::logf(0.2f32), 0.0]);
        let d = ActionDist::DiagGaussian { mean, log_std };
        let a = Tensor::from_slice(&[0.7f32, 0.0]).view([1, 2]);
        // N(0.7; 0.5, 0.2) * N(0; -1, 1)
        let lp1 = -0.5 * ((0.7f64 - 0.5) / 0.2).powi(2) - libm::log(0.2f64) - 0.5 * libm::log(2.0 * std::f64::consts::PI);
        let lp2 = -0.5 * 1.0 - 0.0 - 0.5 * libm::log(2.0 * std::f64::consts::PI);
        assert!(close(f64::try_from(d.log_prob(&a).sum(Kind::Float)).unwrap(), lp1 + lp2));
        // H = sum_i 0.5 ln(2 pi e sigma_i^2)
        let h = 0.5 * libm::log(2.0 * std::f64::consts::PI * std::f64::consts::E * 0.04f64) + 0.5 * libm::log(2.0 * std::f64::consts::PI * std::f64::consts::E);
        assert!(close(f64::try_from(d.entropy().sum(Kind::Float)).unwrap(), h));
        assert!(d.mode().equal(&Tensor::from_slice(&[0.5f32, -1.0]).view([1, 2])));
    }

    #[test]
    fn categorical_log_prob_entropy_and_sampling() {
        let probs = [0.1f64, 0.2, 0.7];
        let logits = Tensor::from_slice(&probs.map(|p| (libm::log(p) + 3.0) as f32)).view([1, 3]);
        let d = ActionDist::categorical(&logits);
        for (i, p) in probs.iter().enumerate() {
            let lp = f64::try_from(d.log_prob(&Tensor::from_slice(&[i as i64]))).unwrap();
            assert!(close(lp, libm::log(*p)));
        }
        let h: f64 = -probs.iter().map(|p| p * libm::log(*p)).sum::<f64>();
        assert!(close(f64::try_from(d.entropy()).unwrap(), h));
        assert_eq!(i64::try_from(d.mode()).unwrap(), 2);
        let mut rng = <rand_chacha::ChaCha8Rng as rand::SeedableRng>::seed_from_u64(0);
        let big = ActionDist::categorical(&logits.expand([20000, 3], false).contiguous());
        let s = big.sample_with(&mut rng);
        let frac = f64::try_from(s.eq(2).to_kind(Kind::Float).mean(Kind::Float)).unwrap();
        assert!((frac - 0.7).abs() < 0.02, "{frac}");
        let g =
            ActionDist::DiagGaussian { mean: Tensor::zeros([20000, 1], (Kind::Float, Device::Cpu)) + 1.0, log_std: Tensor::from_slice(&[libm::logf(0.5f32)]) };
        let x = g.sample_with(&mut rng);
        let (m, sd) = (f64::try_from(x.mean(Kind::Float)).unwrap(), f64::try_from(x.std(true)).unwrap());
        assert!((m - 1.0).abs() < 0.02 && (sd - 0.5).abs() < 0.02, "{m} {sd}");
    }
}
