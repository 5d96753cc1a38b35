//! Value heads: what a Q-network outputs per action, and the TD loss that
//! goes with it. DQN's expected value (Mnih et al. 2015, with double DQN's
//! target), C51's categorical distribution over fixed returns (Bellemare et
//! al. 2017, as CleanRL's `c51.py`) and QR-DQN's quantiles (Dabney et al.
//! 2018, as SB3-contrib's `QRDQN`) all run on DQN's agent and loop
//! ([`crate::dqn::Dqn`]); a new head is a variant here and its loss.
//!
//! - **C51**: per action, a categorical distribution over `n_atoms` fixed
//!   returns in `[v_min, v_max]`; `Q = sum_i p_i z_i`. The target
//!   distribution of the target network's greedy action is shifted by
//!   `r + gamma * (1 - terminated) * z`, projected back onto the atoms, and
//!   the loss is its cross-entropy with the online distribution.
//! - **QR-DQN**: per action, `n_quantiles` quantile estimates at the midpoints
//!   `(2i + 1) / 2N`; `Q` is their mean. The loss is the quantile Huber loss
//!   (kappa 1) between every pair of online and target quantiles, summed over
//!   the online quantiles and averaged over the batch (SB3-contrib).

use crate::replay_buffer::Batch;
use serde::{Deserialize, Serialize};
use tch::{Device, Kind, Reduction, Tensor};

/// The TD loss.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum TdLoss {
    /// Mean squared error (CleanRL).
    Mse,
    /// Huber loss with delta 1 (SB3, the Nature DQN's error clipping).
    Huber,
}

/// What a Q-network's outputs per action are.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ValueHead {
    /// One expected value (DQN).
    Expected,
    /// Logits over `atoms` returns evenly spaced in `[v_min, v_max]` (C51).
    Categorical {
        /// Number of atoms.
        atoms: usize,
        /// Lowest return.
        v_min: f64,
        /// Highest return.
        v_max: f64,
    },
    /// `quantiles` quantile estimates (QR-DQN).
    Quantile {
        /// Number of quantiles.
        quantiles: usize,
    },
}

impl ValueHead {
    /// Outputs per action.
    pub fn outputs_per_action(&self) -> usize {
        match *self {
            ValueHead::Expected => 1,
            ValueHead::Categorical { atoms, .. } => atoms,
            ValueHead::Quantile { quantiles } => quantiles,
        }
    }

    /// The atoms' returns (C51), evenly spaced from `v_min` to `v_max` as `torch.linspace`.
    pub fn atoms(&self) -> Vec<f32> {
        match *self {
            ValueHead::Categorical { atoms, v_min, v_max } => {
                let step = (v_max - v_min) / (atoms as f64 - 1.0);
                // torch.linspace fills the first half from the start and the second from the end.
                (0..atoms).map(|i| if i < atoms / 2 { v_min + step * i as f64 } else { v_max - step * (atoms - 1 - i) as f64 } as f32).collect()
            }
            _ => Vec::new(),
        }
    }

    /// The head's fixed support on `device`, made once per agent (not per update):
    /// C51's atoms `[atoms]`, QR-DQN's quantile midpoints `(2i + 1) / 2N` as `[1, N, 1]`
    /// (an empty tensor for DQN).
    pub fn support(&self, device: Device) -> Tensor {
        let values: Vec<f32> = match *self {
            ValueHead::Expected => Vec::new(),
            ValueHead::Categorical { .. } => self.atoms(),
            ValueHead::Quantile { quantiles: n } => (0..n).map(|i| ((2 * i + 1) as f64 / (2 * n) as f64) as f32).collect(),
        };
        let t = Tensor::from_slice(&values).to_device(device);
        if let ValueHead::Quantile { quantiles } = *self {
            t.view([1, quantiles as i64, 1])
        } else {
            t
        }
    }

    /// Expected values `[B, A]` from the network's outputs `[B, A * k]`, with the head's `support`.
    pub fn q_values(&self, out: &Tensor, n_actions: usize, support: &Tensor) -> Tensor {
        let k = self.outputs_per_action() as i64;
        let b = out.size()[0];
        match *self {
            ValueHead::Expected => out.shallow_clone(),
            ValueHead::Categorical { .. } => (out.view([b, n_actions as i64, k]).softmax(-1, Kind::Float) * support).sum_dim_intlist(-1, false, Kind::Float),
            ValueHead::Quantile { .. } => out.view([b, n_actions as i64, k]).mean_dim(-1, false, Kind::Float),
        }
    }

    /// On the host: the expected value of each action from one observation's outputs.
    pub fn host_q_values(&self, out: &[f32], atoms: &[f32], q: &mut Vec<f32>) {
        let k = self.outputs_per_action();
        q.clear();
        for row in out.chunks(k) {
            q.push(match self {
                ValueHead::Expected => row[0],
                ValueHead::Categorical { .. } => {
                    let max = row.iter().fold(f32::NEG_INFINITY, |m, &v| m.max(v));
                    let (mut num, mut den) = (0.0f32, 0.0f32);
                    for (v, z) in row.iter().zip(atoms) {
                        let e = libm::expf(v - max);
                        num += e * z;
                        den += e;
                    }
                    num / den
                }
                ValueHead::Quantile { .. } => row.iter().sum::<f32>() / k as f32,
            });
        }
    }
}

/// DQN's TD target `r + gamma * (1 - terminated) * max_a Q_target(s', a)`, or
/// with `next_online` (double DQN) the target network's value of the online
/// network's argmax. A truncated transition has `terminated = 0` and so
/// bootstraps from its final observation.
pub fn expected_target(batch: &Batch, gamma: f64, next_target: &Tensor, next_online: Option<&Tensor>) -> Tensor {
    tch::no_grad(|| {
        let next_value = match next_online {
            Some(next_online) => next_target.gather(1, &next_online.argmax(-1, true), false).squeeze_dim(1),
            None => next_target.amax(-1, false),
        };
        &batch.rewards + gamma * next_value * (1.0 - &batch.terminated)
    })
}

/// The TD loss of one batch under `head`, and the mean expected Q of the taken actions.
///
/// `online` is the online network's output on `batch`'s observations, `next_target`
/// the target network's on its next observations (both `[B, A * k]`); `support` is
/// [`ValueHead::support`] on their device. For the expected-value head,
/// `next_online` (the online network on the next observations) selects the
/// next action as double DQN does, and `td_loss` is the loss; the
/// distributional heads use their own losses.
#[allow(clippy::too_many_arguments)]
pub fn loss(
    head: ValueHead,
    support: &Tensor,
    n_actions: usize,
    gamma: f64,
    td_loss: TdLoss,
    online: &Tensor,
    next_target: &Tensor,
    next_online: Option<&Tensor>,
    batch: &Batch,
) -> (Tensor, Tensor) {
    let (actions, rewards, terminated) = (&batch.actions, &batch.rewards, &batch.terminated);
    let k = head.outputs_per_action() as i64;
    let b = online.size()[0];
    let a = n_actions as i64;
    let pick = |t: &Tensor, idx: &Tensor| t.view([b, a, k]).gather(1, &idx.view([b, 1, 1]).expand([b, 1, k], false), false).squeeze_dim(1);
    match head {
        ValueHead::Expected => {
            let td_target = expected_target(batch, gamma, next_target, next_online);
            let old_val = online.gather(1, &actions.unsqueeze(1), false).squeeze_dim(1);
            let loss = match td_loss {
                TdLoss::Mse => old_val.mse_loss(&td_target, Reduction::Mean),
                TdLoss::Huber => old_val.huber_loss(&td_target, Reduction::Mean, 1.0),
            };
            (loss, old_val.detach().mean(Kind::Float))
        }
        ValueHead::Categorical { atoms: n, v_min, v_max } => {
            let device = online.device();
            let atoms = support; // [atoms]
            let target = tch::no_grad(|| {
                let next_actions = head.q_values(next_target, n_actions, support).argmax(-1, false);
                let next_pmfs = pick(next_target, &next_actions).softmax(-1, Kind::Float);
                let not_done: Tensor = (-terminated + 1.0).unsqueeze(1);
                let shifted = (rewards.unsqueeze(1) + &atoms.unsqueeze(0) * &not_done * gamma).clamp(v_min, v_max);
                let delta = (v_max - v_min) / (n as f64 - 1.0);
                let pos = (shifted - v_min) / delta;
                let (lower, upper) = (pos.floor().clamp(0.0, (n - 1) as f64), pos.ceil().clamp(0.0, (n - 1) as f64));
                // When pos is an atom exactly (lower == upper), all its mass goes to that atom.
                let to_lower = (&upper + lower.eq_tensor(&upper).to_kind(Kind::Float) - &pos) * &next_pmfs;
                let to_upper = (&pos - &lower) * &next_pmfs;
                let offset = (Tensor::arange(b, (Kind::Int64, device)) * n as i64).unsqueeze(1);
                let flat = Tensor::zeros([b * n as i64], (Kind::Float, device));
                let flat = flat.index_add(0, &(lower.to_kind(Kind::Int64) + &offset).view([-1]), &to_lower.view([-1]));
                flat.index_add(0, &(upper.to_kind(Kind::Int64) + &offset).view([-1]), &to_upper.view([-1])).view([b, n as i64])
            });
            let old_pmfs = pick(online, actions).softmax(-1, Kind::Float);
            let loss = (-(target * old_pmfs.clamp(1e-5, 1.0 - 1e-5).log()).sum_dim_intlist(-1, false, Kind::Float)).mean(Kind::Float);
            let q = (old_pmfs.detach() * atoms).sum_dim_intlist(-1, false, Kind::Float).mean(Kind::Float);
            (loss, q)
        }
        ValueHead::Quantile { .. } => {
            let target = tch::no_grad(|| {
                let next_actions = head.q_values(next_target, n_actions, support).argmax(-1, false);
                let next = pick(next_target, &next_actions);
                rewards.unsqueeze(1) + (-terminated + 1.0).unsqueeze(1) * gamma * next
            });
            let current = pick(online, actions);
            let loss = quantile_huber_loss(&current, &target, support);
            (loss, current.detach().mean(Kind::Float))
        }
    }
}

/// The quantile Huber loss (kappa 1) of `current` `[B, N]` against `target` `[B, M]`:
/// `|tau_i - 1{delta_ij < 0}| * huber(delta_ij)` with `delta_ij = target_j - current_i`,
/// summed over `i`, averaged over `j` and the batch; `taus` `[1, N, 1]` from [`ValueHead::support`].
///
/// Computed with few `B x N x M` passes: one fused Huber loss over the broadcast pair
/// (its backward is one pass too) and the weights, constant in the gradient, without
/// autograd.
pub fn quantile_huber_loss(current: &Tensor, target: &Tensor, taus: &Tensor) -> Tensor {
    let (b, n, m) = (current.size()[0], current.size()[1], target.size()[1]);
    let (current, target) = (current.unsqueeze(2).expand([b, n, m], false), target.unsqueeze(1).expand([b, n, m], false));
    let huber = current.huber_loss(&target, Reduction::None, 1.0);
    let weight = tch::no_grad(|| (taus - target.lt_tensor(&current).to_kind(Kind::Float)).abs());
    (weight * huber).sum_dim_intlist(-2, false, Kind::Float).mean(Kind::Float)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn atoms_are_torch_linspace() {
        let head = ValueHead::Categorical { atoms: 101, v_min: -100.0, v_max: 100.0 };
        let want = Vec::<f32>::try_from(Tensor::linspace(-100.0, 100.0, 101, (Kind::Float, Device::Cpu))).unwrap();
        assert_eq!(head.atoms(), want);
    }

    #[test]
    fn c51_projection_keeps_mass_and_hits_the_shifted_atoms() {
        // Two actions, 5 atoms z = -2..2. The target network puts action 0's mass on z = -2
        // and action 1's on z = 0, so action 1 is its greedy next action.
        let head = ValueHead::Categorical { atoms: 5, v_min: -2.0, v_max: 2.0 };
        let mut next = vec![-20.0f32; 10];
        next[0] = 0.0;
        next[5 + 2] = 20.0;
        let next_target = Tensor::from_slice(&next).view([1, 10]);
        let online = Tensor::zeros([1, 10], (Kind::Float, Device::Cpu)).set_requires_grad(true);
        // r = 0.5, gamma 1, not terminal: the target is z = 0.5, half on atom 0 and half on atom 1.
        let batch = Batch {
            observations: Tensor::zeros([1, 1], (Kind::Float, Device::Cpu)),
            next_observations: Tensor::zeros([1, 1], (Kind::Float, Device::Cpu)),
            actions: Tensor::from_slice(&[0i64]),
            rewards: Tensor::from_slice(&[0.5f32]),
            terminated: Tensor::from_slice(&[0.0f32]),
        };
        let (loss, _) = loss(head, &head.support(Device::Cpu), 2, 1.0, TdLoss::Mse, &online, &next_target, None, &batch);
        // Uniform online pmf: cross-entropy = -sum target * ln(1/5) = ln 5 whatever the target, if its mass is 1.
        assert!((f64::try_from(&loss).unwrap() - libm::log(5f64)).abs() < 1e-4);
        loss.backward();
        // d loss / d logit_j = p_j - target_j: negative where the target has mass (atoms 2 and 3 for z = 0.5).
        let g = Vec::<f32>::try_from(online.grad().view([-1])).unwrap();
        assert!((g[2] - (0.2 - 0.5)).abs() < 1e-4 && (g[3] - (0.2 - 0.5)).abs() < 1e-4, "{g:?}");
        assert!((g[0] - 0.2).abs() < 1e-4 && g[5..].iter().all(|v| v.abs() < 1e-7), "{g:?}");
    }

    #[test]
    fn quantile_huber_loss_matches_a_hand_computation() {
        // N = 2 current quantiles (taus 0.25, 0.75) against M = 1 target.
        let current = Tensor::from_slice(&[0.0f32, 3.0]).view([1, 2]);
        let target = Tensor::from_slice(&[1.0f32]).view([1, 1]);
        // delta = 1 - 0 = 1: huber 0.5, weight |0.25 - 0| = 0.25 -> 0.125
        // delta = 1 - 3 = -2: huber 1.5, weight |0.75 - 1| = 0.25 -> 0.375
        let taus = ValueHead::Quantile { quantiles: 2 }.support(Device::Cpu);
        let l = f64::try_from(quantile_huber_loss(&current, &target, &taus)).unwrap();
        assert!((l - 0.5).abs() < 1e-6, "{l}");
    }

    #[test]
    fn host_q_values_agree_with_the_tensor_ones() {
        for head in [ValueHead::Categorical { atoms: 7, v_min: -3.0, v_max: 5.0 }, ValueHead::Quantile { quantiles: 4 }] {
            let k = head.outputs_per_action();
            let out = Tensor::randn([1, 3 * k as i64], (Kind::Float, Device::Cpu));
            let want = Vec::<f32>::try_from(head.q_values(&out, 3, &head.support(Device::Cpu)).view([-1])).unwrap();
            let mut q = Vec::new();
            head.host_q_values(&Vec::<f32>::try_from(out.view([-1])).unwrap(), &head.atoms(), &mut q);
            for (a, b) in q.iter().zip(&want) {
                assert!((a - b).abs() < 1e-5, "{head:?}: {q:?} vs {want:?}");
            }
        }
    }
}
