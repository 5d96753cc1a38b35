//! TQC's update written out on the host ([`crate::host_net`]): the same
//! truncated quantile target, quantile Huber loss, actor loss, random draws
//! and optimiser steps as [`crate::tqc::Tqc`]'s LibTorch form, for a
//! squashed-Gaussian actor on the CPU (gSDE and CUDA keep the LibTorch form).
//!
//! Per update: the target critics' quantiles at `(s', a')` pooled over the
//! critics, sorted, the largest dropped, then `r + gamma (1 - terminated)
//! (z - alpha log pi(a'|s'))`; the loss `1 / (N Q) * mean_{b, j} sum_i
//! |tau_i - 1(z_j < c_i)| huber(c_i - z_j)` over every current quantile `c_i`
//! and kept target `z_j` (its gradient at `c_i`: the weight times
//! `clamp(c_i - z_j, -1, 1)`), back-propagated into the critics' gradient and
//! stepped by their Adam; then one actor step on `mean(alpha log pi(a|s) -
//! mean_{k, i} Z_{k, i}(s, a))` through the frozen critics, the squashing and
//! the actor ([`crate::sac_host::HostSquashedActor`]). A unit test checks the
//! whole update against autograd.

use crate::actor::Actor;
use crate::critic::QCritics;
use crate::host_net::{gradient_of, values, values_mut, HostCritics};
use crate::offpolicy::StatSums;
use crate::replay_buffer::Batch;
use crate::sac_host::HostSquashedActor;
use rand_chacha::ChaCha8Rng;

/// The buffers and layout of TQC's host update.
#[derive(Debug)]
pub struct HostTqc {
    actor: HostSquashedActor,
    critics: HostCritics,
    gamma: f32,
    n_quantiles: usize,
    kept: usize,
    /// Every critic's quantile midpoints `(2 i + 1) / (2 Q)`.
    taus: Vec<f32>,
    d_q: Vec<f32>,
    d_actions: Vec<f32>,
    /// The kept target quantiles `[B, kept]`.
    targets: Vec<f32>,
    pooled: Vec<f32>,
}

impl HostTqc {
    /// The host update of a TQC agent with this actor (squashed Gaussian) and these
    /// critics of `n_quantiles` outputs, `kept` target quantiles kept per row.
    pub fn new(actor: &Actor, critics: &QCritics, obs_dim: usize, log_std_bounds: (f64, f64), gamma: f64, n_quantiles: usize, kept: usize) -> Self {
        Self {
            actor: HostSquashedActor::new(actor, obs_dim, log_std_bounds),
            critics: HostCritics::new(critics, obs_dim, actor.act_dim()),
            gamma: gamma as f32,
            n_quantiles,
            kept,
            taus: (0..n_quantiles).map(|i| ((2 * i + 1) as f64 / (2 * n_quantiles) as f64) as f32).collect(),
            d_q: Vec::new(),
            d_actions: Vec::new(),
            targets: Vec::new(),
            pooled: Vec::new(),
        }
    }

    /// Draws one step's standard-normal noise `[rows, A]` from `rng` (the draws of
    /// [`Actor::noise`], in its order).
    pub fn draw_noise(&mut self, rng: &mut ChaCha8Rng, rows: usize) {
        self.actor.draw_noise(rng, rows);
    }

    /// One critic step with the drawn noise: the truncated target with `alpha`, the
    /// quantile Huber loss back-propagated into the critics' gradient, `optimizer`'s
    /// step. Adds `qf_loss, qf_values` at statistic 0.
    #[allow(clippy::too_many_arguments)]
    pub fn critic_step(
        &mut self,
        actor: &Actor,
        critics: &QCritics,
        targets: &QCritics,
        optimizer: &mut nnlab_torch::optim::Optimizer,
        alpha: f32,
        batch: &Batch,
        stats: &mut StatSums,
    ) {
        let rows = batch.rewards.size()[0] as usize;
        let (n, q, m) = (self.critics.len(), self.n_quantiles, self.kept);
        let (obs, next_obs) = (values(&batch.observations), values(&batch.next_observations));
        let (rewards, terminated) = (values(&batch.rewards), values(&batch.terminated));
        let next = self.actor.sample(actor, next_obs, rows);
        self.critics.evaluate(values(targets.params()), next_obs, &next.actions, rows);
        self.targets.clear();
        for b in 0..rows {
            self.pooled.clear();
            for k in 0..n {
                self.pooled.extend_from_slice(&self.critics.q(k)[b * q..(b + 1) * q]);
            }
            self.pooled.sort_unstable_by(f32::total_cmp);
            let entropy = alpha * next.log_probs[b];
            let discount = (1.0 - terminated[b]) * self.gamma;
            self.targets.extend(self.pooled[..m].iter().map(|&z| rewards[b] + discount * (z - entropy)));
        }

        let params = values(critics.params());
        self.critics.evaluate(params, obs, values(&batch.actions), rows);
        let grad = gradient_of(critics.params());
        let grad = values_mut(&grad);
        let scale = 1.0 / ((n * q) as f32 * (rows * m) as f32);
        let (mut loss, mut sum) = (0.0f32, 0.0f32);
        let (mut pair_loss, mut pair_grad) = (vec![0.0f32; q], vec![0.0f32; q]);
        for k in 0..n {
            self.d_q.clear();
            self.d_q.resize(rows * q, 0.0);
            for b in 0..rows {
                let c = &self.critics.q(k)[b * q..(b + 1) * q];
                pair_terms(c, &self.taus, &self.targets[b * m..(b + 1) * m], &mut pair_loss, &mut pair_grad);
                loss += pair_loss.iter().sum::<f32>();
                sum += c.iter().sum::<f32>();
                self.d_q[b * q..(b + 1) * q].iter_mut().zip(&pair_grad).for_each(|(d, &g)| *d = g * scale);
            }
            self.critics.parameter_gradient(k, params, &self.d_q, grad);
        }
        optimizer.step();
        stats.add_values(0, &[loss * scale, sum / (rows * n * q) as f32]);
    }

    /// One actor step with the drawn noise: writes the gradient of
    /// `mean(alpha * log pi(a|s) - mean_{k, i} Z_{k, i}(s, a))` into the actor's gradient
    /// (the critics held constant) and returns the loss; the log-probabilities are then in
    /// [`HostTqc::log_probs`].
    pub fn actor_gradient(&mut self, actor: &Actor, critics: &QCritics, alpha: f32, batch: &Batch) -> f32 {
        let rows = batch.rewards.size()[0] as usize;
        let (n, q) = (self.critics.len(), self.n_quantiles);
        let obs = values(&batch.observations);
        let samples = self.actor.sample(actor, obs, rows);
        let critic_params = values(critics.params());
        self.critics.evaluate(critic_params, obs, &samples.actions, rows);
        let inv_rows = 1.0 / rows as f32;
        let mut loss = 0.0f32;
        for b in 0..rows {
            let total: f32 = (0..n).map(|k| self.critics.q(k)[b * q..(b + 1) * q].iter().sum::<f32>()).sum();
            loss += alpha * samples.log_probs[b] - total / (n * q) as f32;
        }
        self.d_actions.clear();
        self.d_actions.resize(rows * self.actor.act_dim(), 0.0);
        self.d_q.clear();
        self.d_q.resize(rows * q, -inv_rows / (n * q) as f32);
        for k in 0..n {
            self.critics.action_gradient(k, critic_params, &self.d_q, &mut self.d_actions);
        }
        self.actor.backward(actor, &self.d_actions, alpha * inv_rows);
        loss * inv_rows
    }

    /// The log-probabilities of the last actor step's samples.
    pub fn log_probs(&self) -> &[f32] {
        &self.actor.samples().log_probs
    }
}

/// For the current quantiles `c` at levels `taus` against the kept targets `z`: per
/// quantile, the sum over `z` (in its order) of `|tau - 1(z_j < c)| huber(c - z_j)` into
/// `loss` and of its derivative in `c`, `|tau - 1(z_j < c)| clamp(c - z_j, -1, 1)`, into
/// `grad` (Huber's threshold 1, as the loss's). The quantiles are the vector lanes.
fn pair_terms(c: &[f32], taus: &[f32], z: &[f32], loss: &mut [f32], grad: &mut [f32]) {
    #[cfg(target_arch = "x86_64")]
    if std::is_x86_feature_detected!("avx2") {
        // SAFETY: the CPU has AVX2.
        return unsafe { pair_terms_avx2(c, taus, z, loss, grad) };
    }
    pair_terms_body(c, taus, z, loss, grad)
}

/// [`pair_terms`] in AVX2 (no FMA: the same bits).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn pair_terms_avx2(c: &[f32], taus: &[f32], z: &[f32], loss: &mut [f32], grad: &mut [f32]) {
    pair_terms_body(c, taus, z, loss, grad)
}

#[inline(always)]
fn pair_terms_body(c: &[f32], taus: &[f32], z: &[f32], loss: &mut [f32], grad: &mut [f32]) {
    let q = c.len();
    let (taus, loss, grad) = (&taus[..q], &mut loss[..q], &mut grad[..q]);
    loss.fill(0.0);
    grad.fill(0.0);
    for &t in z {
        for i in 0..q {
            let u = c[i] - t;
            let weight = (taus[i] - if t < c[i] { 1.0 } else { 0.0 }).abs();
            let a = u.abs();
            let huber = if a < 1.0 { 0.5 * u * u } else { a - 0.5 };
            loss[i] += weight * huber;
            grad[i] += weight * u.clamp(-1.0, 1.0);
        }
    }
}
