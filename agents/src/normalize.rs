//! Running statistics for observation and reward normalisation (Gymnasium's
//! `NormalizeObservation` and `NormalizeReward`, as CleanRL's continuous PPO
//! uses them).

/// Running mean and variance over batches (Chan et al.'s parallel update), per component.
#[derive(Debug, Clone, PartialEq)]
pub struct RunningMeanStd {
    /// Mean of each component.
    pub mean: Vec<f64>,
    /// Variance of each component.
    pub var: Vec<f64>,
    /// Number of samples seen (starts at 1e-4, as Gymnasium's).
    pub count: f64,
}

impl RunningMeanStd {
    /// Statistics of `dim` components: mean 0, variance 1.
    pub fn new(dim: usize) -> Self {
        Self { mean: vec![0.0; dim], var: vec![1.0; dim], count: 1e-4 }
    }

    /// Merges a batch of `rows` samples stored row after row.
    pub fn update(&mut self, batch: &[f32], rows: usize) {
        let dim = self.mean.len();
        if rows == 0 {
            return;
        }
        let n = rows as f64;
        for j in 0..dim {
            let mean = (0..rows).map(|i| f64::from(batch[i * dim + j])).sum::<f64>() / n;
            let var = (0..rows).map(|i| (f64::from(batch[i * dim + j]) - mean).powi(2)).sum::<f64>() / n;
            let delta = mean - self.mean[j];
            let tot = self.count + n;
            let m2 = self.var[j] * self.count + var * n + delta * delta * self.count * n / tot;
            self.mean[j] += delta * n / tot;
            self.var[j] = m2 / tot;
        }
        self.count += n;
    }

    /// The statistics, for checkpoints (as f64 arrays: exact).
    pub fn train_state(&self) -> nnlab_torch::state::TrainState {
        let mut s = nnlab_torch::state::TrainState::new();
        s.put_f64s("mean", &self.mean);
        s.put_f64s("var", &self.var);
        s.put_f64s("count", &[self.count]);
        s
    }

    /// Restores what [`RunningMeanStd::train_state`] saved, for statistics of the same width.
    pub fn restore_train_state(&mut self, s: &nnlab_torch::state::TrainState) -> anyhow::Result<()> {
        let (mean, var, count) = (s.f64s("mean")?, s.f64s("var")?, s.f64s("count")?);
        if mean.len() != self.mean.len() || var.len() != self.var.len() || count.len() != 1 {
            anyhow::bail!("the checkpoint's normalisation statistics have {} components, expected {}", mean.len(), self.mean.len());
        }
        (self.mean, self.var, self.count) = (mean, var, count[0]);
        Ok(())
    }

    /// `clip((x - mean) / sqrt(var + eps), -clip, clip)` in place, row by row.
    pub fn normalize(&self, x: &mut [f32], clip: f64) {
        let dim = self.mean.len();
        for (k, v) in x.iter_mut().enumerate() {
            let j = k % dim;
            *v = ((f64::from(*v) - self.mean[j]) / (self.var[j] + 1e-8).sqrt()).clamp(-clip, clip) as f32;
        }
    }
}

/// Scales rewards by the running standard deviation of the discounted return
/// (Gymnasium's `NormalizeReward`), one return per environment.
#[derive(Debug, Clone)]
pub struct RewardScaler {
    rms: RunningMeanStd,
    returns: Vec<f64>,
    gamma: f64,
    clip: f64,
}

impl RewardScaler {
    /// A scaler for `num_envs` environments.
    pub fn new(num_envs: usize, gamma: f64, clip: f64) -> Self {
        Self { rms: RunningMeanStd::new(1), returns: vec![0.0; num_envs], gamma, clip }
    }

    /// The running returns and their statistics, for checkpoints.
    pub fn train_state(&self) -> nnlab_torch::state::TrainState {
        let mut s = nnlab_torch::state::TrainState::new();
        s.put_part("rms", self.rms.train_state());
        s.put_f64s("returns", &self.returns);
        s
    }

    /// Restores what [`RewardScaler::train_state`] saved, for as many environments.
    pub fn restore_train_state(&mut self, s: &nnlab_torch::state::TrainState) -> anyhow::Result<()> {
        let returns = s.f64s("returns")?;
        if returns.len() != self.returns.len() {
            anyhow::bail!("the checkpoint's reward scaler has {} environments, expected {}", returns.len(), self.returns.len());
        }
        self.rms.restore_train_state(&s.part("rms"))?;
        self.returns = returns;
        Ok(())
    }

    /// Scales one step's rewards in place; `ends` marks finished episodes.
    pub fn scale(&mut self, rewards: &mut [f32], ends: &[bool]) {
        self.scale_where(rewards, ends, None);
    }

    /// As [`RewardScaler::scale`], for a step that moved only the environments
    /// with `active[i]`: the others' returns, statistics and rewards stay as they are.
    pub fn scale_active(&mut self, rewards: &mut [f32], ends: &[bool], active: &[bool]) {
        self.scale_where(rewards, ends, Some(active));
    }

    fn scale_where(&mut self, rewards: &mut [f32], ends: &[bool], active: Option<&[bool]>) {
        let is_active = |i: usize| active.is_none_or(|a| a[i]);
        let mut batch = Vec::with_capacity(rewards.len());
        for (_, (g, r)) in self.returns.iter_mut().zip(rewards.iter()).enumerate().filter(|(i, _)| is_active(*i)) {
            *g = *g * self.gamma + f64::from(*r);
            batch.push(*g as f32);
        }
        self.rms.update(&batch, batch.len());
        let std = (self.rms.var[0] + 1e-8).sqrt();
        for (i, ((r, g), end)) in rewards.iter_mut().zip(self.returns.iter_mut()).zip(ends).enumerate() {
            if !is_active(i) {
                continue;
            }
            *r = (f64::from(*r) / std).clamp(-self.clip, self.clip) as f32;
            if *end {
                *g = 0.0;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn running_stats_match_the_whole_sample() {
        let data: Vec<f32> = (0..100).map(|i| libm::sinf(i as f32 * 0.37) * 3.0 + 1.0).collect();
        let mut rms = RunningMeanStd::new(1);
        for chunk in data.chunks(7) {
            rms.update(chunk, chunk.len());
        }
        let mean = data.iter().map(|&x| f64::from(x)).sum::<f64>() / 100.0;
        let var = data.iter().map(|&x| (f64::from(x) - mean).powi(2)).sum::<f64>() / 100.0;
        assert!((rms.mean[0] - mean).abs() < 1e-5 && (rms.var[0] - var).abs() < 1e-4, "{rms:?} vs {mean} {var}");
        let mut x = vec![mean as f32];
        rms.normalize(&mut x, 10.0);
        assert!(x[0].abs() < 1e-4);
    }
}
