//! CrossQ's update written out on the host ([`crate::host_net`]) for the
//! batch renormalisations' warm-up, when every normalisation of a training
//! forward is plain batch normalisation (SBX's 100,000 steps: every update
//! of a 20k-step run). Once a normalisation is past its warm-up, the
//! renormalised form runs through LibTorch ([`crate::crossq::CrossQ`]); both
//! forms read and write the same parameters, running averages, optimisers
//! and random draws, so a run can switch at any update.
//!
//! A batch normalisation `y = (x - mu_B) / sqrt(var_B + eps) * gamma + beta`
//! (biased batch variance) back-propagates as ATen's does:
//! `d_gamma = sum_b d_y x_hat`, `d_beta = sum_b d_y`,
//! `d_x = gamma / sqrt(var_B + eps) * (d_y - d_beta / B - x_hat d_gamma / B)`;
//! in evaluation mode it is the affine map of the running averages. A unit
//! test in `crossq.rs` checks updates against autograd.

use crate::actor::Actor;
use crate::batch_renorm::{BatchRenorm, RenormMlp};
use crate::flat::{FlatParams, LinearSlot};
use crate::host_net::{column_sums, gather_rows, gradient_of, linear, values, values_mut};
use crate::offpolicy::StatSums;
use crate::replay_buffer::Batch;
use crate::sac_host::{Samples, SquashedHead};
use nnlab_torch::blas::{sgemm, Operand};
use rand::Rng;
use rand_chacha::ChaCha8Rng;
use rand_distr::StandardNormal;

/// Where one normalisation's scale and shift live in the flat vector.
#[derive(Debug, Clone, Copy)]
struct NormSlots {
    scale: usize,
    shift: usize,
    eps: f32,
}

/// An MLP with an optional batch normalisation before every linear layer and ReLU between layers.
#[derive(Debug, Clone)]
pub struct HostRenormMlp {
    linears: Vec<LinearSlot>,
    norms: Vec<Option<NormSlots>>,
}

/// What a forward pass keeps for its backward pass.
#[derive(Debug, Clone, Default)]
pub struct RenormTape {
    rows: usize,
    training: bool,
    input: Vec<f32>,
    /// Per layer: the normalised input `x_hat` (training) and the linear layer's input.
    x_hat: Vec<Vec<f32>>,
    layer_in: Vec<Vec<f32>>,
    /// Per layer: `gamma / sqrt(var + eps)` (the batch's variance when training, the running one otherwise).
    gain: Vec<Vec<f32>>,
    /// Per layer: the linear layer's output (after the ReLU for hidden layers).
    outputs: Vec<Vec<f32>>,
    /// Scratch of the backward pass and of the batch moments.
    a: Vec<f32>,
    b: Vec<f32>,
}

impl RenormTape {
    /// The input of the next forward pass, `[rows, width]`.
    pub fn input_mut(&mut self, rows: usize, width: usize) -> &mut [f32] {
        self.rows = rows;
        self.input.resize(rows * width, 0.0);
        &mut self.input
    }
    /// The rows `rows` of `source`'s evaluation-mode forward pass, for a backward pass to the input.
    pub fn gather_evaluation(&mut self, source: &RenormTape, rows: &[usize]) {
        assert!(!source.training, "a training pass's batch statistics couple its rows");
        self.rows = rows.len();
        self.training = false;
        gather_rows(&source.input, source.rows, rows, &mut self.input);
        self.outputs.resize_with(source.outputs.len(), Vec::new);
        for (to, from) in self.outputs.iter_mut().zip(&source.outputs) {
            gather_rows(from, source.rows, rows, to);
        }
        self.gain.clone_from(&source.gain);
        self.layer_in.resize_with(source.layer_in.len(), Vec::new);
        self.x_hat.resize_with(source.x_hat.len(), Vec::new);
    }

    /// The output of the last forward pass.
    pub fn output(&self) -> &[f32] {
        self.outputs.last().map_or(&self.input, |o| o.as_slice())
    }
}

impl HostRenormMlp {
    /// The host form of `net` (its linear layers in `params`).
    pub fn renormalised(params: &FlatParams, net: &RenormMlp) -> Self {
        let linears = net.layers.iter().map(|&l| params.linear_slot(l).clone()).collect();
        let norms = net
            .norms
            .iter()
            .map(|n| {
                let (scale, shift) = n.affine_slots();
                Some(NormSlots { scale: params.vector_slot(scale).offset, shift: params.vector_slot(shift).offset, eps: n.eps() as f32 })
            })
            .collect();
        Self { linears, norms }
    }

    /// The host form of a plain MLP (no normalisations).
    pub fn plain(linears: Vec<LinearSlot>) -> Self {
        let norms = vec![None; linears.len()];
        Self { linears, norms }
    }

    /// Runs the network on the tape's input with `params`; `layers` are the torch
    /// normalisations (for their running averages; empty for a plain MLP). With
    /// `training` the normalisations use the batch's moments and move their running
    /// averages (every one must be in its warm-up), otherwise the running averages.
    pub fn forward(&self, params: &[f32], layers: &[BatchRenorm], tape: &mut RenormTape, training: bool) {
        #[cfg(target_arch = "x86_64")]
        if std::is_x86_feature_detected!("avx2") {
            // SAFETY: the CPU has AVX2.
            return unsafe { self.forward_avx2(params, layers, tape, training) };
        }
        self.forward_body(params, layers, tape, training)
    }

    /// [`HostRenormMlp::forward`] with the element-wise loops in AVX2 (the same
    /// operations in the same order: no FMA, so the same bits).
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2")]
    unsafe fn forward_avx2(&self, params: &[f32], layers: &[BatchRenorm], tape: &mut RenormTape, training: bool) {
        self.forward_body(params, layers, tape, training)
    }

    #[inline(always)]
    fn forward_body(&self, params: &[f32], layers: &[BatchRenorm], tape: &mut RenormTape, training: bool) {
        let rows = tape.rows;
        let n = self.linears.len();
        tape.training = training;
        for v in [&mut tape.x_hat, &mut tape.layer_in, &mut tape.gain, &mut tape.outputs] {
            v.resize_with(n, Vec::new);
        }
        for l in 0..n {
            let slot = &self.linears[l];
            let d = slot.in_dim;
            let (before, after) = tape.outputs.split_at_mut(l);
            let x: &[f32] = if l == 0 { &tape.input } else { &before[l - 1] };
            let layer_in = &mut tape.layer_in[l];
            layer_in.resize(rows * d, 0.0);
            match self.norms[l] {
                None => layer_in.copy_from_slice(x),
                Some(ns) => {
                    let (gamma, beta) = (&params[ns.scale..ns.scale + d], &params[ns.shift..ns.shift + d]);
                    let gain = &mut tape.gain[l];
                    gain.resize(d, 0.0);
                    let x_hat = &mut tape.x_hat[l];
                    if training {
                        // The batch's mean and biased variance, two passes in row order.
                        let (mean, var) = (&mut tape.a, &mut tape.b);
                        mean.resize(d, 0.0);
                        column_sums(x, d, mean);
                        mean.iter_mut().for_each(|m| *m /= rows as f32);
                        var.clear();
                        var.resize(d, 0.0);
                        for row in x.chunks_exact(d) {
                            for ((v, &xi), &m) in var.iter_mut().zip(row).zip(mean.iter()) {
                                *v += (xi - m) * (xi - m);
                            }
                        }
                        var.iter_mut().for_each(|v| *v /= rows as f32);
                        layers[l].track_host(mean, var);
                        // 1 / sqrt(var + eps) per feature, in `var`'s place.
                        var.iter_mut().for_each(|v| *v = 1.0 / (*v + ns.eps).sqrt());
                        let inv_std = &*var;
                        x_hat.resize(rows * d, 0.0);
                        for ((row, out), hat) in x.chunks_exact(d).zip(layer_in.chunks_exact_mut(d)).zip(x_hat.chunks_exact_mut(d)) {
                            for (((((h, o), &xi), &m), &s), (&g, &b)) in
                                hat.iter_mut().zip(out.iter_mut()).zip(row).zip(mean.iter()).zip(inv_std).zip(gamma.iter().zip(beta))
                            {
                                *h = (xi - m) * s;
                                *o = *h * g + b;
                            }
                        }
                        gain.iter_mut().zip(gamma).zip(inv_std).for_each(|((a, &g), &s)| *a = g * s);
                    } else {
                        let (running_mean, running_var) = layers[l].running();
                        let (mean, var) = (values(running_mean), values(running_var));
                        for j in 0..d {
                            gain[j] = gamma[j] / (var[j] + ns.eps).sqrt();
                        }
                        for (row, out) in x.chunks_exact(d).zip(layer_in.chunks_exact_mut(d)) {
                            for ((o, &xi), ((&m, &a), &b)) in out.iter_mut().zip(row).zip(mean.iter().zip(gain.iter()).zip(beta)) {
                                *o = (xi - m) * a + b;
                            }
                        }
                    }
                }
            }
            let y = &mut after[0];
            y.resize(rows * slot.out_dim, 0.0);
            linear(params, slot, &tape.layer_in[l], rows, y, l + 1 < n);
        }
    }

    /// Back-propagates `d_out` (`[rows, out]`, used as scratch) through the last forward
    /// pass: with `grads`, every parameter's gradient is written there (a training pass;
    /// overwritten, not added); with `d_input`, the input's gradient.
    pub fn backward(&self, params: &[f32], tape: &mut RenormTape, d_out: &mut Vec<f32>, grads: Option<&mut [f32]>, d_input: Option<&mut Vec<f32>>) {
        #[cfg(target_arch = "x86_64")]
        if std::is_x86_feature_detected!("avx2") {
            // SAFETY: the CPU has AVX2.
            return unsafe { self.backward_avx2(params, tape, d_out, grads, d_input) };
        }
        self.backward_body(params, tape, d_out, grads, d_input)
    }

    /// [`HostRenormMlp::backward`] with the element-wise loops in AVX2 (no FMA: the same bits).
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2")]
    unsafe fn backward_avx2(&self, params: &[f32], tape: &mut RenormTape, d_out: &mut Vec<f32>, grads: Option<&mut [f32]>, d_input: Option<&mut Vec<f32>>) {
        self.backward_body(params, tape, d_out, grads, d_input)
    }

    #[inline(always)]
    fn backward_body(&self, params: &[f32], tape: &mut RenormTape, d_out: &mut Vec<f32>, mut grads: Option<&mut [f32]>, d_input: Option<&mut Vec<f32>>) {
        let rows = tape.rows;
        let mut dy = std::mem::take(d_out);
        let mut dx = std::mem::take(&mut tape.a);
        let want_input = d_input.is_some();
        for l in (0..self.linears.len()).rev() {
            let slot = &self.linears[l];
            let d = slot.in_dim;
            if let Some(g) = grads.as_deref_mut() {
                let (w_len, o) = (slot.out_dim * d, slot.offset);
                sgemm(slot.out_dim, d, rows, 1.0, Operand::transposed(&dy, slot.out_dim), Operand::plain(&tape.layer_in[l], d), 0.0, &mut g[o..o + w_len], d);
                column_sums(&dy, slot.out_dim, &mut g[o + w_len..o + w_len + slot.out_dim]);
            }
            let norm_grads = grads.is_some() && self.norms[l].is_some();
            if l == 0 && !want_input && !norm_grads {
                break;
            }
            // The gradient at the linear layer's input, then through the normalisation.
            dx.resize(rows * d, 0.0);
            let w = &params[slot.offset..slot.offset + slot.out_dim * d];
            sgemm(rows, d, slot.out_dim, 1.0, Operand::plain(&dy, slot.out_dim), Operand::plain(w, d), 0.0, &mut dx, d);
            if let Some(ns) = self.norms[l] {
                let gain = &tape.gain[l];
                if tape.training {
                    let x_hat = &tape.x_hat[l];
                    let (d_gamma, d_beta) = (&mut tape.b, &mut dy);
                    d_gamma.clear();
                    d_gamma.resize(d, 0.0);
                    // d_beta in the first d values of `dy` (free now that dx holds the product).
                    d_beta.resize(d.max(d_beta.len()), 0.0);
                    let d_beta = &mut d_beta[..d];
                    d_beta.fill(0.0);
                    for (row, hat) in dx.chunks_exact(d).zip(x_hat.chunks_exact(d)) {
                        for (((dg, db), &v), &h) in d_gamma.iter_mut().zip(d_beta.iter_mut()).zip(row).zip(hat) {
                            *dg += v * h;
                            *db += v;
                        }
                    }
                    if let Some(g) = grads.as_deref_mut() {
                        g[ns.scale..ns.scale + d].copy_from_slice(d_gamma);
                        g[ns.shift..ns.shift + d].copy_from_slice(d_beta);
                    }
                    let inv_rows = 1.0 / rows as f32;
                    for (row, hat) in dx.chunks_exact_mut(d).zip(x_hat.chunks_exact(d)) {
                        for ((v, &h), ((&db, &dg), &a)) in row.iter_mut().zip(hat).zip(d_beta.iter().zip(d_gamma.iter()).zip(gain)) {
                            *v = (*v - db * inv_rows - h * (dg * inv_rows)) * a;
                        }
                    }
                } else {
                    assert!(grads.is_none(), "an evaluation-mode pass back-propagates to its input only");
                    for row in dx.chunks_exact_mut(d) {
                        row.iter_mut().zip(gain).for_each(|(v, &g)| *v *= g);
                    }
                }
            }
            if l > 0 {
                // Through the ReLU that made this layer's input.
                dx.iter_mut().zip(&tape.outputs[l - 1]).for_each(|(v, &h)| *v = f32::from_bits(v.to_bits() & ((h > 0.0) as u32).wrapping_neg()));
            }
            std::mem::swap(&mut dy, &mut dx);
            if l == 0 {
                if let Some(out) = d_input {
                    std::mem::swap(out, &mut dy);
                }
                break;
            }
        }
        *d_out = dy;
        tape.a = dx;
    }
}

/// The buffers and layout of CrossQ's host update.
#[derive(Debug)]
pub struct HostCrossQ {
    actor: HostRenormMlp,
    head: SquashedHead,
    critics: Vec<HostRenormMlp>,
    obs_dim: usize,
    act_dim: usize,
    gamma: f32,
    actor_tape: RenormTape,
    critic_tapes: Vec<RenormTape>,
    /// Some rows of a critic's evaluation tape.
    part: RenormTape,
    samples: Samples,
    noise: Vec<f32>,
    q: Vec<Vec<f32>>,
    targets: Vec<f32>,
    d_out: Vec<f32>,
    d_input: Vec<f32>,
    d_actions: Vec<f32>,
}

impl HostCrossQ {
    /// The host update of a CrossQ agent with this actor (squashed Gaussian with log-std
    /// bounds `log_std_bounds`) and these batch-renormalised critics (`params`, `nets`).
    pub fn new(actor: &Actor, log_std_bounds: (f64, f64), params: &FlatParams, nets: &[RenormMlp], obs_dim: usize, gamma: f64) -> Self {
        let actor_net = match actor.renorm() {
            Some(net) => HostRenormMlp::renormalised(actor.flat(), net),
            None => HostRenormMlp::plain(actor.slots()),
        };
        Self {
            actor: actor_net,
            head: SquashedHead::new(actor, log_std_bounds),
            critics: nets.iter().map(|n| HostRenormMlp::renormalised(params, n)).collect(),
            obs_dim,
            act_dim: actor.act_dim(),
            gamma: gamma as f32,
            actor_tape: RenormTape::default(),
            critic_tapes: vec![RenormTape::default(); nets.len()],
            part: RenormTape::default(),
            samples: Samples::default(),
            noise: Vec::new(),
            q: vec![Vec::new(); nets.len()],
            targets: Vec::new(),
            d_out: Vec::new(),
            d_input: Vec::new(),
            d_actions: Vec::new(),
        }
    }

    /// Whether every normalisation that a training forward would use is in its warm-up
    /// (plain batch normalisation), so that the host form applies.
    pub fn applies(actor: &Actor, nets: &[RenormMlp]) -> bool {
        let actor_ok = actor.renorm().is_none_or(|n| n.norms.iter().all(BatchRenorm::in_warmup));
        actor_ok && nets.iter().all(|n| n.norms.iter().all(BatchRenorm::in_warmup))
    }

    /// Draws one gradient step's standard-normal noise `[rows, A]` (the draws of [`Actor::noise`]).
    pub fn draw_noise(&mut self, rng: &mut ChaCha8Rng, rows: usize) {
        self.noise.clear();
        self.noise.extend((0..rows * self.act_dim).map(|_| rng.sample::<f32, _>(StandardNormal)));
    }

    /// The actor's samples at `obs` with the drawn noise (`training` as in [`HostRenormMlp::forward`]).
    fn sample(&mut self, actor: &Actor, obs: &[f32], rows: usize, training: bool) {
        self.actor_tape.input_mut(rows, self.obs_dim).copy_from_slice(obs);
        let norms: &[BatchRenorm] = actor.renorm().map_or(&[], |n| &n.norms);
        self.actor.forward(values(actor.params()), norms, &mut self.actor_tape, training);
        self.head.sample(self.actor_tape.output(), &self.noise, &mut self.samples);
    }

    /// Every critic's values at `[obs, actions]` into `self.q` (`training` as in [`HostRenormMlp::forward`]).
    fn critic_values(&mut self, params: &[f32], nets: &[RenormMlp], obs: &[f32], actions: &[f32], rows: usize, training: bool) {
        let (o, a) = (self.obs_dim, self.act_dim);
        for (k, (net, tape)) in self.critics.iter().zip(&mut self.critic_tapes).enumerate() {
            let input = tape.input_mut(rows, o + a);
            for ((row, s), act) in input.chunks_exact_mut(o + a).zip(obs.chunks_exact(o)).zip(actions.chunks_exact(a)) {
                row[..o].copy_from_slice(s);
                row[o..].copy_from_slice(act);
            }
            net.forward(params, &nets[k].norms, tape, training);
            self.q[k].clear();
            self.q[k].extend_from_slice(tape.output());
        }
    }

    /// One critic step with the drawn noise: the joint training forward of `(s, a)` and
    /// `(s', a')`, `0.5 * sum_k mean_B (target - Q_k(s, a))^2` back-propagated into the
    /// critics' gradient, `optimizer`'s step; adds `qf_loss, qf_values` at statistic 0.
    #[allow(clippy::too_many_arguments)]
    pub fn critic_step(
        &mut self,
        actor: &Actor,
        params: &FlatParams,
        nets: &[RenormMlp],
        optimizer: &mut nnlab_torch::optim::Optimizer,
        alpha: f32,
        batch: &Batch,
        stats: &mut StatSums,
    ) {
        let rows = batch.rewards.size()[0] as usize;
        let (obs, next_obs) = (values(&batch.observations), values(&batch.next_observations));
        let (rewards, terminated) = (values(&batch.rewards), values(&batch.terminated));
        self.sample(actor, next_obs, rows, false);
        let joint_obs: Vec<f32> = obs.iter().chain(next_obs).copied().collect();
        let joint_actions: Vec<f32> = values(&batch.actions).iter().chain(&self.samples.actions).copied().collect();
        let flat = values(params.params());
        self.critic_values(flat, nets, &joint_obs, &joint_actions, 2 * rows, true);
        self.targets.resize(rows, 0.0);
        for b in 0..rows {
            let next_q = (1..self.q.len()).fold(self.q[0][rows + b], |m, k| m.min(self.q[k][rows + b]));
            let soft_value = next_q - alpha * self.samples.log_probs[b];
            self.targets[b] = rewards[b] + (1.0 - terminated[b]) * self.gamma * soft_value;
        }
        let grad = gradient_of(params.params());
        let grads = values_mut(&grad);
        let (mut loss, mut sum) = (0.0f32, 0.0f32);
        for k in 0..self.critics.len() {
            let mut squares = 0.0f32;
            self.d_out.clear();
            self.d_out.resize(2 * rows, 0.0);
            for b in 0..rows {
                let e = self.q[k][b] - self.targets[b];
                squares += e * e;
                sum += self.q[k][b];
                self.d_out[b] = e / rows as f32;
            }
            loss += squares / rows as f32;
            self.critics[k].backward(flat, &mut self.critic_tapes[k], &mut self.d_out, Some(grads), None);
        }
        optimizer.step();
        stats.add_values(0, &[0.5 * loss, sum / (rows * self.critics.len()) as f32]);
    }

    /// One actor step with the drawn noise: the actor in training mode, the critics in
    /// evaluation mode with their weights held constant; writes the gradient of
    /// `mean(alpha * log pi - min_k Q_k)` into the actor's gradient and returns the loss
    /// (the log-probabilities are then in [`HostCrossQ::log_probs`]).
    pub fn actor_gradient(&mut self, actor: &Actor, params: &FlatParams, nets: &[RenormMlp], alpha: f32, batch: &Batch) -> f32 {
        let rows = batch.rewards.size()[0] as usize;
        let (o, a) = (self.obs_dim, self.act_dim);
        let obs = values(&batch.observations);
        self.sample(actor, obs, rows, true);
        let flat = values(params.params());
        let actions = std::mem::take(&mut self.samples.actions);
        self.critic_values(flat, nets, obs, &actions, rows, false);
        self.samples.actions = actions;
        // min_k Q_k takes its gradient to the first smallest critic (torch's min_dim).
        let inv_rows = 1.0 / rows as f32;
        let lowest: Vec<usize> = (0..rows).map(|b| (1..self.q.len()).fold(0, |best, k| if self.q[k][b] < self.q[best][b] { k } else { best })).collect();
        let loss: f32 = (0..rows).map(|b| alpha * self.samples.log_probs[b] - self.q[lowest[b]][b]).sum();
        self.d_actions.clear();
        self.d_actions.resize(rows * a, 0.0);
        // Each critic back-propagates the rows where it is the minimum.
        for k in 0..self.critics.len() {
            let picked: Vec<usize> = (0..rows).filter(|&b| lowest[b] == k).collect();
            if picked.is_empty() {
                continue;
            }
            self.part.gather_evaluation(&self.critic_tapes[k], &picked);
            self.d_out.clear();
            self.d_out.resize(picked.len(), -inv_rows);
            self.critics[k].backward(flat, &mut self.part, &mut self.d_out, None, Some(&mut self.d_input));
            for (&r, row) in picked.iter().zip(self.d_input.chunks_exact(o + a)) {
                self.d_actions[r * a..(r + 1) * a].iter_mut().zip(&row[o..]).for_each(|(x, &g)| *x += g);
            }
        }
        self.head.backward(&self.samples, &self.noise, &self.d_actions, alpha * inv_rows, &mut self.d_out);
        let grad = gradient_of(actor.params());
        self.actor.backward(values(actor.params()), &mut self.actor_tape, &mut self.d_out, Some(values_mut(&grad)), None);
        loss * inv_rows
    }

    /// The log-probabilities of the last actor step's samples.
    pub fn log_probs(&self) -> &[f32] {
        &self.samples.log_probs
    }
}
