//! SAC's update written out on the host ([`crate::host_net`]): the same
//! losses, gradients, random draws and optimiser steps as [`crate::sac::Sac`]'s
//! LibTorch form, for a squashed-Gaussian actor on the CPU (gSDE and CUDA keep
//! the LibTorch form).
//!
//! Per update: the soft TD target through the actor and the target critics
//! on the next observations; each critic's mean squared error, back-propagated
//! by hand into the critics' gradient and stepped by the critics' Adam; then
//! `policy_frequency` actor steps every `policy_frequency` updates, each
//! back-propagating `mean(alpha * log pi(a|s) - min_k Q_k(s, a))` through the
//! frozen critics into the action, through the squashing and the Gaussian's
//! reparameterisation into the actor's head, and through the actor. The
//! gradients land in the parameters' own gradient tensors and the
//! optimisers are the ones the checkpoint holds, so checkpoints, resume and
//! the torch form's layout are unchanged.
//!
//! The derivatives (per row, per action dimension; `eps` the noise, `y =
//! tanh(x)`, `x = mean + exp(log_std) * eps`, `log_std = min + (t + 1)(max -
//! min)/2`, `t = tanh(raw)`; `d_logp = alpha / B` and `d_a` from the critics):
//! `d_y = d_a * scale + d_logp * 2 y scale / ((1 - y^2) scale + 1e-6)`,
//! `d_x = d_y (1 - y^2)`, `d_mean = d_x`, `d_log_std = d_x exp(log_std) eps -
//! d_logp`, `d_raw = d_log_std (max - min)/2 (1 - t^2)`. A unit test checks
//! the whole update against autograd.

use crate::actor::Actor;
use crate::critic::QCritics;
use crate::host_net::{gradient_of, values, values_mut, HostCritics, HostMlp, Scratch, Tape};
use crate::offpolicy::StatSums;
use crate::replay_buffer::Batch;
use rand::Rng;
use rand_chacha::ChaCha8Rng;
use rand_distr::StandardNormal;

/// `ln(2 pi)`.
const LN_2PI: f64 = crate::distributions::LN_2PI;
/// The epsilon inside the tanh correction's logarithm (as [`crate::actor`]).
const TANH_EPS: f32 = 1e-6;

/// A batch of squashed-Gaussian samples and what their backward pass needs.
#[derive(Debug, Default)]
pub struct Samples {
    /// Actions in the environment's bounds `[B, A]`.
    pub actions: Vec<f32>,
    /// `log pi(a|s)` `[B]`.
    pub log_probs: Vec<f32>,
    /// `tanh(x)` `[B, A]`.
    squashed: Vec<f32>,
    /// `tanh(raw log-std)` `[B, A]`.
    log_std_tanh: Vec<f32>,
    /// `exp(log_std)` `[B, A]`.
    std: Vec<f32>,
}

/// The head of a squashed-Gaussian actor on the host (SAC's and CrossQ's): the
/// network's `[mean, raw log-std]` outputs and standard-normal noise to actions
/// and log-probabilities, and back.
#[derive(Debug, Clone)]
pub struct SquashedHead {
    act_dim: usize,
    scale: Vec<f32>,
    bias: Vec<f32>,
    log_std_min: f32,
    log_std_max: f32,
}

impl SquashedHead {
    /// The head of `actor` (a squashed Gaussian with log-std bounds `(min, max)`).
    pub fn new(actor: &Actor, log_std_bounds: (f64, f64)) -> Self {
        Self {
            act_dim: actor.act_dim(),
            scale: actor.scale_host().to_vec(),
            bias: actor.bias_host().to_vec(),
            log_std_min: log_std_bounds.0 as f32,
            log_std_max: log_std_bounds.1 as f32,
        }
    }

    /// Samples from the network's outputs `out` `[B, 2A]` with `noise` `[B, A]`, as [`Actor::sample`].
    pub fn sample(&self, out: &[f32], noise: &[f32], s: &mut Samples) {
        let a = self.act_dim;
        let rows = noise.len() / a;
        for v in [&mut s.actions, &mut s.squashed, &mut s.log_std_tanh, &mut s.std] {
            v.resize(rows * a, 0.0);
        }
        s.log_probs.resize(rows, 0.0);
        let half_range = 0.5 * (self.log_std_max - self.log_std_min);
        let half_ln_2pi = (0.5 * LN_2PI) as f32;
        for b in 0..rows {
            let out = &out[b * 2 * a..(b + 1) * 2 * a];
            let mut log_prob = 0.0f32;
            for j in 0..a {
                let i = b * a + j;
                let eps = noise[i];
                let t = libm::tanhf(out[a + j]);
                let log_std = (t + 1.0) * half_range + self.log_std_min;
                let std = libm::expf(log_std);
                let y = libm::tanhf(out[j] + std * eps);
                let gaussian = eps * eps * -0.5 - log_std - half_ln_2pi;
                let correction = libm::logf((-(y * y) + 1.0) * self.scale[j] + TANH_EPS);
                log_prob += gaussian - correction;
                s.actions[i] = y * self.scale[j] + self.bias[j];
                s.squashed[i] = y;
                s.log_std_tanh[i] = t;
                s.std[i] = std;
            }
            s.log_probs[b] = log_prob;
        }
    }

    /// The gradient at the network's outputs `[B, 2A]` (into `d_out`) of a loss whose
    /// gradient is `d_actions` at the actions and `d_log_prob` at every log-probability.
    pub fn backward(&self, s: &Samples, noise: &[f32], d_actions: &[f32], d_log_prob: f32, d_out: &mut Vec<f32>) {
        let a = self.act_dim;
        let rows = noise.len() / a;
        let half_range = 0.5 * (self.log_std_max - self.log_std_min);
        d_out.resize(rows * 2 * a, 0.0);
        for b in 0..rows {
            for j in 0..a {
                let i = b * a + j;
                let (y, scale) = (s.squashed[i], self.scale[j]);
                let one_minus_y2 = -(y * y) + 1.0;
                let d_y = d_actions[i] * scale + d_log_prob * (2.0 * y * scale / (one_minus_y2 * scale + TANH_EPS));
                let d_x = d_y * one_minus_y2;
                let d_log_std = d_x * s.std[i] * noise[i] - d_log_prob;
                let t = s.log_std_tanh[i];
                d_out[b * 2 * a + j] = d_x;
                d_out[b * 2 * a + a + j] = d_log_std * half_range * (-(t * t) + 1.0);
            }
        }
    }
}

/// A squashed-Gaussian actor on the host (SAC's and TQC's): its network and
/// head, one step's noise, and the samples and tape its backward pass needs.
#[derive(Debug)]
pub struct HostSquashedActor {
    net: HostMlp,
    head: SquashedHead,
    obs_dim: usize,
    act_dim: usize,
    tape: Tape,
    scratch: Scratch,
    d_out: Vec<f32>,
    noise: Vec<f32>,
    samples: Samples,
}

impl HostSquashedActor {
    /// The host form of `actor` (squashed Gaussian with log-std bounds `log_std_bounds`).
    pub fn new(actor: &Actor, obs_dim: usize, log_std_bounds: (f64, f64)) -> Self {
        Self {
            net: HostMlp::new(actor.slots()),
            head: SquashedHead::new(actor, log_std_bounds),
            obs_dim,
            act_dim: actor.act_dim(),
            tape: Tape::default(),
            scratch: Scratch::default(),
            d_out: Vec::new(),
            noise: Vec::new(),
            samples: Samples::default(),
        }
    }

    /// Action dimensions.
    pub fn act_dim(&self) -> usize {
        self.act_dim
    }

    /// Draws one gradient step's standard-normal noise `[rows, A]` from `rng`
    /// (the draws of [`Actor::noise`], in its order).
    pub fn draw_noise(&mut self, rng: &mut ChaCha8Rng, rows: usize) {
        self.noise.clear();
        self.noise.extend((0..rows * self.act_dim).map(|_| rng.sample::<f32, _>(StandardNormal)));
    }

    /// The actor's samples at the observations `obs` `[rows, obs_dim]` with the drawn
    /// noise and `actor`'s parameters; kept for [`HostSquashedActor::backward`].
    pub fn sample(&mut self, actor: &Actor, obs: &[f32], rows: usize) -> &Samples {
        self.tape.input_mut(rows, self.obs_dim).copy_from_slice(obs);
        self.net.forward_tape(values(actor.params()), &mut self.tape);
        self.head.sample(self.tape.output(), &self.noise, &mut self.samples);
        &self.samples
    }

    /// The last samples.
    pub fn samples(&self) -> &Samples {
        &self.samples
    }

    /// Writes into `actor`'s gradient the gradient of a loss that reaches the last
    /// samples through `d_actions` (`[rows, A]`) and `d_log_prob` per log-probability.
    pub fn backward(&mut self, actor: &Actor, d_actions: &[f32], d_log_prob: f32) {
        self.head.backward(&self.samples, &self.noise, d_actions, d_log_prob, &mut self.d_out);
        let grad = gradient_of(actor.params());
        self.net.backward(values(actor.params()), &self.tape, &mut self.d_out, Some(values_mut(&grad)), None, &mut self.scratch);
    }
}

/// The buffers and layout of SAC's host update.
#[derive(Debug)]
pub struct HostSac {
    actor: HostSquashedActor,
    critics: HostCritics,
    gamma: f32,
    d_q: Vec<f32>,
    rows: Vec<usize>,
    d_actions: Vec<f32>,
    targets: Vec<f32>,
}

impl HostSac {
    /// The host update of a SAC agent with this actor (squashed Gaussian) and these critics.
    pub fn new(actor: &Actor, critics: &QCritics, obs_dim: usize, log_std_bounds: (f64, f64), gamma: f64) -> Self {
        Self {
            actor: HostSquashedActor::new(actor, obs_dim, log_std_bounds),
            critics: HostCritics::new(critics, obs_dim, actor.act_dim()),
            gamma: gamma as f32,
            d_q: Vec::new(),
            rows: Vec::new(),
            d_actions: Vec::new(),
            targets: Vec::new(),
        }
    }

    /// Draws one gradient step's standard-normal noise `[rows, A]` from `rng`
    /// (the draws of [`Actor::noise`], in its order).
    pub fn draw_noise(&mut self, rng: &mut ChaCha8Rng, rows: usize) {
        self.actor.draw_noise(rng, rows);
    }

    /// One critic step: the soft TD target with `alpha`, each critic's squared error
    /// back-propagated into the critics' gradient, then `optimizer`'s step.
    /// Adds `qf1_loss, qf2_loss, qf1_values, qf2_values` at statistic 0.
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
        let (obs, next_obs) = (values(&batch.observations), values(&batch.next_observations));
        let (rewards, terminated) = (values(&batch.rewards), values(&batch.terminated));
        // The soft TD target r + gamma (1 - terminated) (min_k Q'_k(s', a') - alpha log pi(a'|s')).
        let next = self.actor.sample(actor, next_obs, rows);
        self.critics.evaluate(values(targets.params()), next_obs, &next.actions, rows);
        self.targets.resize(rows, 0.0);
        for b in 0..rows {
            let soft_value = self.critics.q(0)[b].min(self.critics.q(1)[b]) - alpha * next.log_probs[b];
            self.targets[b] = rewards[b] + (1.0 - terminated[b]) * self.gamma * soft_value;
        }
        // Each critic's mean squared error, into the critics' gradient.
        let params = values(critics.params());
        self.critics.evaluate(params, obs, values(&batch.actions), rows);
        let grad = gradient_of(critics.params());
        let reported = self.critics.regress(params, &self.targets, values_mut(&grad));
        optimizer.step();
        stats.add_values(0, &reported);
    }

    /// One actor step with the drawn noise: writes the gradient of
    /// `mean(alpha * log pi(a|s) - min_k Q_k(s, a))` into the actor's gradient
    /// (the critics' weights held constant) and returns the loss; the log-probabilities
    /// are then in [`HostSac::log_probs`].
    pub fn actor_gradient(&mut self, actor: &Actor, critics: &QCritics, alpha: f32, batch: &Batch) -> f32 {
        let rows = batch.rewards.size()[0] as usize;
        let obs = values(&batch.observations);
        let samples = self.actor.sample(actor, obs, rows);
        let critic_params = values(critics.params());
        self.critics.evaluate(critic_params, obs, &samples.actions, rows);

        // The loss, and each critic's share of d loss / d q (torch's minimum splits a tie).
        let inv_rows = 1.0 / rows as f32;
        let (q1, q2) = (self.critics.q(0), self.critics.q(1));
        let loss: f32 = (0..rows).map(|b| alpha * samples.log_probs[b] - q1[b].min(q2[b])).sum();
        self.d_actions.clear();
        self.d_actions.resize(rows * self.actor.act_dim(), 0.0);
        // Each row's gradient reaches its smaller critic only (both, halved, on a tie):
        // each critic back-propagates its own rows.
        for k in 0..2 {
            let (q1, q2) = (self.critics.q(0), self.critics.q(1));
            self.rows.clear();
            self.d_q.clear();
            for b in 0..rows {
                let (mine, other) = if k == 0 { (q1[b], q2[b]) } else { (q2[b], q1[b]) };
                if mine <= other {
                    self.rows.push(b);
                    self.d_q.push(if mine < other { -inv_rows } else { -0.5 * inv_rows });
                }
            }
            self.critics.action_gradient_rows(k, critic_params, &self.rows, &self.d_q, &mut self.d_actions);
        }

        // Through the squashing and the reparameterised Gaussian to the actor's head [mean, raw log-std].
        self.actor.backward(actor, &self.d_actions, alpha * inv_rows);
        loss * inv_rows
    }

    /// The log-probabilities of the last actor step's samples.
    pub fn log_probs(&self) -> &[f32] {
        &self.actor.samples().log_probs
    }
}
