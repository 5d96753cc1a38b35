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
use crate::host_net::{gradient_of, values, values_mut, HostMlp, Scratch, Tape};
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
struct Samples {
    /// Actions in the environment's bounds `[B, A]`.
    actions: Vec<f32>,
    /// `log pi(a|s)` `[B]`.
    log_probs: Vec<f32>,
    /// `tanh(x)` `[B, A]`.
    squashed: Vec<f32>,
    /// `tanh(raw log-std)` `[B, A]`.
    log_std_tanh: Vec<f32>,
    /// `exp(log_std)` `[B, A]`.
    std: Vec<f32>,
}

/// The buffers and layout of SAC's host update.
#[derive(Debug)]
pub struct HostSac {
    actor: HostMlp,
    critics: Vec<HostMlp>,
    obs_dim: usize,
    act_dim: usize,
    scale: Vec<f32>,
    bias: Vec<f32>,
    log_std_min: f32,
    log_std_max: f32,
    gamma: f32,
    actor_tape: Tape,
    critic_tapes: Vec<Tape>,
    scratch: Scratch,
    d_out: Vec<f32>,
    d_input: Vec<f32>,
    d_actions: Vec<f32>,
    samples: Samples,
    noise: Vec<f32>,
    targets: Vec<f32>,
    q: Vec<Vec<f32>>,
}

impl HostSac {
    /// The host update of a SAC agent with this actor (squashed Gaussian) and these critics.
    pub fn new(actor: &Actor, critics: &QCritics, obs_dim: usize, log_std_bounds: (f64, f64), gamma: f64) -> Self {
        let act_dim = actor.act_dim();
        Self {
            actor: HostMlp::new(actor.slots()),
            critics: (0..critics.len()).map(|k| HostMlp::new(critics.slots(k))).collect(),
            obs_dim,
            act_dim,
            scale: actor.scale_host().to_vec(),
            bias: actor.bias_host().to_vec(),
            log_std_min: log_std_bounds.0 as f32,
            log_std_max: log_std_bounds.1 as f32,
            gamma: gamma as f32,
            actor_tape: Tape::default(),
            critic_tapes: vec![Tape::default(); critics.len()],
            scratch: Scratch::default(),
            d_out: Vec::new(),
            d_input: Vec::new(),
            d_actions: Vec::new(),
            samples: Samples::default(),
            noise: Vec::new(),
            targets: Vec::new(),
            q: vec![Vec::new(); critics.len()],
        }
    }

    /// Draws one gradient step's standard-normal noise `[rows, A]` from `rng`
    /// (the draws of [`Actor::noise`], in its order).
    pub fn draw_noise(&mut self, rng: &mut ChaCha8Rng, rows: usize) {
        self.noise.clear();
        self.noise.extend((0..rows * self.act_dim).map(|_| rng.sample::<f32, _>(StandardNormal)));
    }

    /// The actor's samples at the observations `obs` `[B, obs_dim]` with the drawn noise.
    fn sample(&mut self, actor_params: &[f32], obs: &[f32], rows: usize) {
        self.actor_tape.input_mut(rows, self.obs_dim).copy_from_slice(obs);
        self.actor.forward_tape(actor_params, &mut self.actor_tape);
        let a = self.act_dim;
        let s = &mut self.samples;
        for v in [&mut s.actions, &mut s.squashed, &mut s.log_std_tanh, &mut s.std] {
            v.resize(rows * a, 0.0);
        }
        s.log_probs.resize(rows, 0.0);
        let half_range = 0.5 * (self.log_std_max - self.log_std_min);
        let half_ln_2pi = (0.5 * LN_2PI) as f32;
        for b in 0..rows {
            let out = &self.actor_tape.output()[b * 2 * a..(b + 1) * 2 * a];
            let mut log_prob = 0.0f32;
            for j in 0..a {
                let i = b * a + j;
                let eps = self.noise[i];
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

    /// Every critic's values at `[obs, actions]` into `self.q`, with `params` (the critics' or the targets' flat vector).
    fn critic_values(&mut self, params: &[f32], obs: &[f32], actions: &[f32], rows: usize) {
        let (o, a) = (self.obs_dim, self.act_dim);
        for (k, (net, tape)) in self.critics.iter().zip(&mut self.critic_tapes).enumerate() {
            let input = tape.input_mut(rows, o + a);
            for b in 0..rows {
                input[b * (o + a)..b * (o + a) + o].copy_from_slice(&obs[b * o..(b + 1) * o]);
                input[b * (o + a) + o..(b + 1) * (o + a)].copy_from_slice(&actions[b * a..(b + 1) * a]);
            }
            net.forward_tape(params, tape);
            self.q[k].clear();
            self.q[k].extend_from_slice(tape.output());
        }
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
        self.sample(values(actor.params()), next_obs, rows);
        let next_actions = std::mem::take(&mut self.samples.actions);
        self.critic_values(values(targets.params()), next_obs, &next_actions, rows);
        self.samples.actions = next_actions;
        self.targets.resize(rows, 0.0);
        for b in 0..rows {
            let soft_value = self.q[0][b].min(self.q[1][b]) - alpha * self.samples.log_probs[b];
            self.targets[b] = rewards[b] + (1.0 - terminated[b]) * self.gamma * soft_value;
        }
        // Each critic's mean squared error; d loss / d q = 2 (q - y) / B.
        self.critic_values(values(critics.params()), obs, values(&batch.actions), rows);
        let grad = gradient_of(critics.params());
        let grads = values_mut(&grad);
        let params = values(critics.params());
        let mut reported = [0.0f32; 4];
        for k in 0..self.critics.len() {
            let (q, y) = (&self.q[k], &self.targets);
            let (mut loss, mut sum) = (0.0f32, 0.0f32);
            self.d_out.resize(rows, 0.0);
            for b in 0..rows {
                let e = q[b] - y[b];
                loss += e * e;
                sum += q[b];
                self.d_out[b] = 2.0 * e / rows as f32;
            }
            if k < 2 {
                reported[k] = loss / rows as f32;
                reported[2 + k] = sum / rows as f32;
            }
            self.critics[k].backward(params, &self.critic_tapes[k], &mut self.d_out, Some(grads), None, &mut self.scratch);
        }
        optimizer.step();
        stats.add_values(0, &reported);
    }

    /// One actor step with the drawn noise: writes the gradient of
    /// `mean(alpha * log pi(a|s) - min_k Q_k(s, a))` into the actor's gradient
    /// (the critics' weights held constant) and returns the loss; the log-probabilities
    /// are then in [`HostSac::log_probs`].
    pub fn actor_gradient(&mut self, actor: &Actor, critics: &QCritics, alpha: f32, batch: &Batch) -> f32 {
        let rows = batch.rewards.size()[0] as usize;
        let (o, a) = (self.obs_dim, self.act_dim);
        let obs = values(&batch.observations);
        let actor_params = values(actor.params());
        self.sample(actor_params, obs, rows);
        let actions = std::mem::take(&mut self.samples.actions);
        let critic_params = values(critics.params());
        self.critic_values(critic_params, obs, &actions, rows);
        self.samples.actions = actions;

        // The loss, and each critic's share of d loss / d q (torch's minimum splits a tie).
        let inv_rows = 1.0 / rows as f32;
        let mut loss = 0.0f32;
        self.d_actions.clear();
        self.d_actions.resize(rows * a, 0.0);
        for k in 0..self.critics.len() {
            self.d_out.resize(rows, 0.0);
            for b in 0..rows {
                let (q1, q2) = (self.q[0][b], self.q[1][b]);
                let mine = if k == 0 { q1 } else { q2 };
                let other = if k == 0 { q2 } else { q1 };
                self.d_out[b] = if mine < other {
                    -inv_rows
                } else if mine == other {
                    -0.5 * inv_rows
                } else {
                    0.0
                };
                if k == 0 {
                    loss += alpha * self.samples.log_probs[b] - q1.min(q2);
                }
            }
            self.critics[k].backward(critic_params, &self.critic_tapes[k], &mut self.d_out, None, Some(&mut self.d_input), &mut self.scratch);
            for b in 0..rows {
                for j in 0..a {
                    self.d_actions[b * a + j] += self.d_input[b * (o + a) + o + j];
                }
            }
        }

        // Through the squashing and the reparameterised Gaussian to the actor's head [mean, raw log-std].
        let d_log_prob = alpha * inv_rows;
        let half_range = 0.5 * (self.log_std_max - self.log_std_min);
        let s = &self.samples;
        self.d_out.resize(rows * 2 * a, 0.0);
        for b in 0..rows {
            for j in 0..a {
                let i = b * a + j;
                let (y, scale) = (s.squashed[i], self.scale[j]);
                let one_minus_y2 = -(y * y) + 1.0;
                let d_y = self.d_actions[i] * scale + d_log_prob * (2.0 * y * scale / (one_minus_y2 * scale + TANH_EPS));
                let d_x = d_y * one_minus_y2;
                let d_log_std = d_x * s.std[i] * self.noise[i] - d_log_prob;
                let t = s.log_std_tanh[i];
                self.d_out[b * 2 * a + j] = d_x;
                self.d_out[b * 2 * a + a + j] = d_log_std * half_range * (-(t * t) + 1.0);
            }
        }
        let grad = gradient_of(actor.params());
        self.actor.backward(actor_params, &self.actor_tape, &mut self.d_out, Some(values_mut(&grad)), None, &mut self.scratch);
        loss * inv_rows
    }

    /// The log-probabilities of the last actor step's samples.
    pub fn log_probs(&self) -> &[f32] {
        &self.samples.log_probs
    }
}
