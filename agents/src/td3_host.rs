//! TD3's and DDPG's update written out on the host ([`crate::host_net`]), as
//! [`crate::sac_host`] does for SAC: the same targets, losses, random draws
//! and optimiser steps as [`crate::td3::Td3`]'s LibTorch form, on the CPU.
//!
//! The critic step regresses every critic on
//! `r + gamma * (1 - terminated) * min_k Q'_k(s', clip(mu'(s') + clip(sigma z, -c, c) * scale))`;
//! the actor step back-propagates `-mean Q_1(s, mu(s))` through the first
//! critic (its weights held constant) into the action, then through
//! `a = tanh(raw) * scale + bias` (`d_raw = d_a * scale * (1 - tanh^2)`) and
//! the actor. A unit test in `td3.rs` checks updates against autograd.

use crate::actor::Actor;
use crate::critic::QCritics;
use crate::host_net::{gradient_of, values, values_mut, HostCritics, HostMlp, Scratch, Tape};
use crate::replay_buffer::Batch;
use rand::Rng;
use rand_chacha::ChaCha8Rng;
use rand_distr::StandardNormal;

/// The buffers and layout of TD3's (or DDPG's) host update.
#[derive(Debug)]
pub struct HostTd3 {
    actor: HostMlp,
    critics: HostCritics,
    obs_dim: usize,
    act_dim: usize,
    scale: Vec<f32>,
    bias: Vec<f32>,
    bounds: Vec<(f32, f32)>,
    gamma: f32,
    policy_noise: f32,
    noise_clip: f32,
    tape: Tape,
    scratch: Scratch,
    actions: Vec<f32>,
    targets: Vec<f32>,
    d_q: Vec<f32>,
    d_actions: Vec<f32>,
}

impl HostTd3 {
    /// The host update of a TD3/DDPG agent with this (deterministic) actor, these
    /// critics, action bounds `(low, high)`, discount and target smoothing
    /// (`policy_noise` 0: none, DDPG).
    pub fn new(actor: &Actor, critics: &QCritics, obs_dim: usize, bounds: Vec<(f32, f32)>, gamma: f64, policy_noise: f64, noise_clip: f64) -> Self {
        let act_dim = actor.act_dim();
        Self {
            actor: HostMlp::new(actor.slots()),
            critics: HostCritics::new(critics, obs_dim, act_dim),
            obs_dim,
            act_dim,
            scale: actor.scale_host().to_vec(),
            bias: actor.bias_host().to_vec(),
            bounds,
            gamma: gamma as f32,
            policy_noise: policy_noise as f32,
            noise_clip: noise_clip as f32,
            tape: Tape::default(),
            scratch: Scratch::default(),
            actions: Vec::new(),
            targets: Vec::new(),
            d_q: Vec::new(),
            d_actions: Vec::new(),
        }
    }

    /// `tanh(mu(obs)) * scale + bias` into `self.actions`, keeping the actor's tape.
    fn act(&mut self, params: &[f32], obs: &[f32], rows: usize) {
        self.tape.input_mut(rows, self.obs_dim).copy_from_slice(obs);
        self.actor.forward_tape(params, &mut self.tape);
        let a = self.act_dim;
        self.actions.resize(rows * a, 0.0);
        for (row, raw) in self.actions.chunks_exact_mut(a).zip(self.tape.output().chunks_exact(a)) {
            for j in 0..a {
                row[j] = libm::tanhf(raw[j]) * self.scale[j] + self.bias[j];
            }
        }
    }

    /// One critic step: the TD target through the target actor (with smoothing noise
    /// drawn from `rng`, as the LibTorch form draws it) and the target critics, each
    /// critic's squared error into the critics' gradient, then `optimizer`'s step.
    /// Returns the critics' losses, then their mean values.
    #[allow(clippy::too_many_arguments)]
    pub fn critic_step(
        &mut self,
        rng: &mut ChaCha8Rng,
        actor_target: &Actor,
        critics: &QCritics,
        critics_target: &QCritics,
        optimizer: &mut nnlab_torch::optim::Optimizer,
        batch: &Batch,
    ) -> Vec<f32> {
        let rows = batch.rewards.size()[0] as usize;
        let a = self.act_dim;
        let (obs, next_obs) = (values(&batch.observations), values(&batch.next_observations));
        let (rewards, terminated) = (values(&batch.rewards), values(&batch.terminated));
        let smoothing = self.policy_noise > 0.0;
        if smoothing {
            // Drawn before the forward pass, as the LibTorch form does (the same draws).
            self.d_actions.clear();
            self.d_actions.extend((0..rows * a).map(|_| rng.sample::<f32, _>(StandardNormal)));
        }
        self.act(values(actor_target.params()), next_obs, rows);
        if smoothing {
            for (i, (x, &z)) in self.actions.iter_mut().zip(&self.d_actions).enumerate() {
                let j = i % a;
                let noise = (z * self.policy_noise).clamp(-self.noise_clip, self.noise_clip) * self.scale[j];
                *x = (*x + noise).max(self.bounds[j].0).min(self.bounds[j].1);
            }
        }
        self.critics.evaluate(values(critics_target.params()), next_obs, &self.actions, rows);
        self.targets.resize(rows, 0.0);
        for b in 0..rows {
            let next_q = (1..self.critics.len()).fold(self.critics.q(0)[b], |m, k| m.min(self.critics.q(k)[b]));
            self.targets[b] = rewards[b] + (1.0 - terminated[b]) * self.gamma * next_q;
        }
        let params = values(critics.params());
        self.critics.evaluate(params, obs, values(&batch.actions), rows);
        let grad = gradient_of(critics.params());
        let reported = self.critics.regress(params, &self.targets, values_mut(&grad));
        optimizer.step();
        reported
    }

    /// One actor step: the gradient of `-mean Q_1(s, mu(s))` into the actor's
    /// gradient (the critic's weights held constant), then `optimizer`'s step;
    /// returns the loss.
    pub fn actor_step(&mut self, actor: &Actor, critics: &QCritics, optimizer: &mut nnlab_torch::optim::Optimizer, batch: &Batch) -> f32 {
        let rows = batch.rewards.size()[0] as usize;
        let a = self.act_dim;
        let obs = values(&batch.observations);
        let actor_params = values(actor.params());
        self.act(actor_params, obs, rows);
        let critic_params = values(critics.params());
        self.critics.evaluate(critic_params, obs, &self.actions, rows);
        let loss = -self.critics.q(0).iter().sum::<f32>() / rows as f32;
        self.d_q.clear();
        self.d_q.resize(rows, -1.0 / rows as f32);
        self.d_actions.clear();
        self.d_actions.resize(rows * a, 0.0);
        self.critics.action_gradient(0, critic_params, &self.d_q, &mut self.d_actions);
        // Through a = tanh(raw) * scale + bias: d_raw = d_a * scale * (1 - y^2), y from the action.
        let mut d_raw = std::mem::take(&mut self.targets);
        d_raw.resize(rows * a, 0.0);
        for (i, d) in d_raw.iter_mut().enumerate() {
            let j = i % a;
            let y = libm::tanhf(self.tape.output()[i]);
            *d = self.d_actions[i] * self.scale[j] * (-(y * y) + 1.0);
        }
        let grad = gradient_of(actor.params());
        self.actor.backward(actor_params, &self.tape, &mut d_raw, Some(values_mut(&grad)), None, &mut self.scratch);
        self.targets = d_raw;
        optimizer.step();
        loss
    }
}
