//! Distributional DQN: C51 (Bellemare et al. 2017, as CleanRL's `c51.py`)
//! and QR-DQN (Dabney et al. 2018, as SB3-contrib's `QRDQN`), run by
//! [`crate::dqn::Dqn`]'s loop with another value head and loss.
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

use crate::dqn::{DqnConfig, TdLoss};
use crate::replay_buffer::Batch;
use crate::validate::{in_range, nonzero};
use anyhow::{bail, Result};
use serde::{Deserialize, Serialize};
use tch::{Device, Kind, Tensor};

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

/// The distributional TD loss of one batch and the mean expected Q of the taken actions.
///
/// `online` is the online network's output on `batch`'s observations, `next_target`
/// the target network's on its next observations (both `[B, A * k]`); `support` is
/// [`ValueHead::support`] on their device.
pub fn loss(head: ValueHead, support: &Tensor, n_actions: usize, gamma: f64, online: &Tensor, next_target: &Tensor, batch: &Batch) -> (Tensor, Tensor) {
    let (actions, rewards, terminated) = (&batch.actions, &batch.rewards, &batch.terminated);
    let k = head.outputs_per_action() as i64;
    let b = online.size()[0];
    let a = n_actions as i64;
    let pick = |t: &Tensor, idx: &Tensor| t.view([b, a, k]).gather(1, &idx.view([b, 1, 1]).expand([b, 1, k], false), false).squeeze_dim(1);
    match head {
        ValueHead::Expected => panic!("the expected-value loss lives in dqn.rs"),
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
pub fn quantile_huber_loss(current: &Tensor, target: &Tensor, taus: &Tensor) -> Tensor {
    let delta = target.unsqueeze(1) - current.unsqueeze(2);
    let abs = delta.abs();
    let huber = abs.le(1.0).to_kind(Kind::Float) * 0.5 * delta.square() + abs.gt(1.0).to_kind(Kind::Float) * (&abs - 0.5);
    let weight = (taus - delta.lt(0.0).to_kind(Kind::Float)).abs();
    (weight * huber).sum_dim_intlist(-2, false, Kind::Float).mean(Kind::Float)
}

/// The fields C51 and QR-DQN share with DQN, and their checks.
macro_rules! dqn_family_config {
    ($name:ident, $algo:literal, $doc:literal, { $($(#[$m:meta])* $field:ident: $ty:ty,)* }) => {
        #[doc = $doc]
        #[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
        #[serde(default, deny_unknown_fields)]
        pub struct $name {
            /// Gymnasium id of the environment (discrete actions).
            pub env_id: String,
            /// Seed of the whole run (networks, exploration, replay sampling, environment).
            pub seed: u64,
            /// Environment steps to train for.
            pub total_timesteps: usize,
            /// Adam learning rate (at the start, when `final_learning_rate` is set).
            #[schemars(extend("exclusiveMinimum" = 0.0))]
            pub learning_rate: f64,
            /// Learning rate at the last step, reached linearly (absent: constant).
            pub final_learning_rate: Option<f64>,
            /// Adam epsilon.
            pub adam_eps: f64,
            /// Replay buffer capacity in transitions.
            pub buffer_size: usize,
            /// Discount factor.
            #[schemars(range(min = 0.0, max = 1.0))]
            pub gamma: f64,
            /// Environment steps between target-network copies.
            pub target_network_frequency: usize,
            /// Transitions per gradient update.
            pub batch_size: usize,
            /// Exploration rate at the start.
            #[schemars(range(min = 0.0, max = 1.0))]
            pub start_e: f64,
            /// Exploration rate at the end of the ramp.
            #[schemars(range(min = 0.0, max = 1.0))]
            pub end_e: f64,
            /// Fraction of `total_timesteps` over which epsilon ramps from `start_e` to `end_e`.
            #[schemars(range(min = 0.0, max = 1.0))]
            pub exploration_fraction: f64,
            /// Environment steps before learning starts.
            pub learning_starts: usize,
            /// Environment steps between training rounds.
            pub train_frequency: usize,
            /// Gradient updates per training round.
            pub gradient_steps: usize,
            /// Widths of the hidden ReLU layers.
            pub hidden_sizes: Vec<usize>,
            /// Clip the gradients' joint L2 norm to this value (absent: no clipping).
            pub max_grad_norm: Option<f64>,
            /// Greedy evaluation episodes at the end of training.
            pub eval_episodes: usize,
            $($(#[$m])* pub $field: $ty,)*
        }

        impl $name {
            /// The run as DQN's loop sees it (the value head aside).
            pub fn as_dqn(&self) -> DqnConfig {
                DqnConfig {
                    env_id: self.env_id.clone(),
                    seed: self.seed,
                    total_timesteps: self.total_timesteps,
                    learning_rate: self.learning_rate,
                    final_learning_rate: self.final_learning_rate,
                    adam_eps: self.adam_eps,
                    buffer_size: self.buffer_size,
                    gamma: self.gamma,
                    tau: 1.0,
                    target_network_frequency: self.target_network_frequency,
                    batch_size: self.batch_size,
                    start_e: self.start_e,
                    end_e: self.end_e,
                    exploration_fraction: self.exploration_fraction,
                    learning_starts: self.learning_starts,
                    train_frequency: self.train_frequency,
                    gradient_steps: self.gradient_steps,
                    hidden_sizes: self.hidden_sizes.clone(),
                    double_dqn: false,
                    dueling: false,
                    loss: TdLoss::Mse,
                    max_grad_norm: self.max_grad_norm,
                    eval_episodes: self.eval_episodes,
                }
            }

            /// The shared checks, with the algorithm's name in the action-space error.
            fn validate_dqn_fields(&self) -> Result<()> {
                if let nnlab_envs::Space::Box(_) = crate::validate::env_id(&self.env_id)?.action_space() {
                    bail!("env_id: {} needs discrete actions, but {} has a continuous (Box) action space", $algo, self.env_id);
                }
                self.as_dqn().validate()
            }
        }
    };
}

dqn_family_config!(C51Config, "C51", "Every C51 hyperparameter, with CleanRL's `c51.py` defaults.", {
    /// Atoms of each action's return distribution.
    n_atoms: usize,
    /// Lowest return of the support.
    v_min: f64,
    /// Highest return of the support.
    v_max: f64,
});

dqn_family_config!(QrDqnConfig, "QR-DQN", "Every QR-DQN hyperparameter, with SB3-contrib's `QRDQN` defaults (and the zoo's network).", {
    /// Quantiles of each action's return distribution.
    n_quantiles: usize,
});

impl Default for C51Config {
    fn default() -> Self {
        Self {
            env_id: "CartPole-v1".into(),
            seed: 1,
            total_timesteps: 500_000,
            learning_rate: 2.5e-4,
            final_learning_rate: None,
            // CleanRL: Adam(eps = 0.01 / batch_size).
            adam_eps: 0.01 / 128.0,
            buffer_size: 10_000,
            gamma: 0.99,
            target_network_frequency: 500,
            batch_size: 128,
            start_e: 1.0,
            end_e: 0.05,
            exploration_fraction: 0.5,
            learning_starts: 10_000,
            train_frequency: 10,
            gradient_steps: 1,
            hidden_sizes: vec![120, 84],
            max_grad_norm: None,
            eval_episodes: 10,
            n_atoms: 101,
            v_min: -100.0,
            v_max: 100.0,
        }
    }
}

impl C51Config {
    /// The value head.
    pub fn head(&self) -> ValueHead {
        ValueHead::Categorical { atoms: self.n_atoms, v_min: self.v_min, v_max: self.v_max }
    }

    /// Checks every value; the error is one line naming the key.
    pub fn validate(&self) -> Result<()> {
        self.validate_dqn_fields()?;
        if self.n_atoms < 2 {
            bail!("n_atoms must be at least 2, got {}", self.n_atoms);
        }
        in_range("v_min", self.v_min, -1e6, 1e6)?;
        in_range("v_max", self.v_max, -1e6, 1e6)?;
        if self.v_min >= self.v_max {
            bail!("v_min ({}) must be less than v_max ({})", self.v_min, self.v_max);
        }
        crate::validate::hidden_sizes(&[self.n_atoms])
    }
}

impl Default for QrDqnConfig {
    fn default() -> Self {
        Self {
            env_id: "CartPole-v1".into(),
            seed: 1,
            total_timesteps: 500_000,
            learning_rate: 5e-5,
            final_learning_rate: None,
            // SB3-contrib's QRDQN gives Adam eps = 0.01 / batch_size (the QR-DQN
            // paper's); nnlab keeps 1e-5, with which the zoo presets score better
            // here (results/README.md, QR-DQN). Set `adam_eps` for SB3's value.
            adam_eps: 1e-5,
            buffer_size: 1_000_000,
            gamma: 0.99,
            target_network_frequency: 10_000,
            batch_size: 32,
            start_e: 1.0,
            end_e: 0.01,
            exploration_fraction: 0.005,
            learning_starts: 100,
            train_frequency: 4,
            gradient_steps: 1,
            hidden_sizes: vec![64, 64],
            max_grad_norm: None,
            eval_episodes: 10,
            n_quantiles: 200,
        }
    }
}

impl QrDqnConfig {
    /// The value head.
    pub fn head(&self) -> ValueHead {
        ValueHead::Quantile { quantiles: self.n_quantiles }
    }

    /// Checks every value; the error is one line naming the key.
    pub fn validate(&self) -> Result<()> {
        self.validate_dqn_fields()?;
        nonzero("n_quantiles", self.n_quantiles)?;
        crate::validate::hidden_sizes(&[self.n_quantiles])
    }
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
        let (loss, _) = loss(head, &head.support(Device::Cpu), 2, 1.0, &online, &next_target, &batch);
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
