//! Network builders shared by the agents.

use tch::nn::{self, Module};
use tch::Tensor;

/// A stack of `Linear + ReLU` layers of the given widths (the torso of a value network).
pub fn relu_torso(p: &nn::Path, in_dim: i64, hidden: &[i64]) -> nn::Sequential {
    let mut seq = nn::seq();
    let mut d = in_dim;
    for (i, &h) in hidden.iter().enumerate() {
        seq = seq.add(nn::linear(p / format!("fc{i}"), d, h, Default::default())).add_fn(|x| x.relu());
        d = h;
    }
    seq
}

/// The output layer(s) of a Q-network.
#[derive(Debug)]
enum QHead {
    /// One linear layer to the Q-values.
    Plain(nn::Linear),
    /// Dueling streams (Wang et al. 2016): `Q = V + A - mean(A)`.
    Dueling { value: nn::Linear, advantage: nn::Linear },
}

/// An MLP Q-network `obs -> Q(obs, .)` with an optional dueling head.
#[derive(Debug)]
pub struct QNetwork {
    torso: nn::Sequential,
    head: QHead,
}

impl QNetwork {
    /// Builds the network's variables under `p`. With `hidden = [120, 84]` and no
    /// dueling head this is CleanRL's `QNetwork` (4-120-84-2 for CartPole).
    pub fn new(p: &nn::Path, obs_dim: i64, n_actions: i64, hidden: &[i64], dueling: bool) -> Self {
        let torso = relu_torso(p, obs_dim, hidden);
        let last = hidden.last().copied().unwrap_or(obs_dim);
        let head = if dueling {
            QHead::Dueling {
                value: nn::linear(p / "value", last, 1, Default::default()),
                advantage: nn::linear(p / "advantage", last, n_actions, Default::default()),
            }
        } else {
            QHead::Plain(nn::linear(p / "q", last, n_actions, Default::default()))
        };
        Self { torso, head }
    }
}

impl Module for QNetwork {
    fn forward(&self, x: &Tensor) -> Tensor {
        let h = self.torso.forward(x);
        match &self.head {
            QHead::Plain(q) => q.forward(&h),
            QHead::Dueling { value, advantage } => {
                let a = advantage.forward(&h);
                value.forward(&h) + &a - a.mean_dim(-1, true, a.kind())
            }
        }
    }
}

/// Scales all gradients so that their joint L2 norm is at most `max_norm`
/// (PyTorch's `clip_grad_norm_`, without a device-to-host sync).
pub fn clip_grad_norm(variables: &[Tensor], max_norm: f64) {
    let _guard = tch::no_grad_guard();
    let grads: Vec<Tensor> = variables.iter().map(|v| v.grad()).filter(|g| g.defined()).collect();
    if grads.is_empty() {
        return;
    }
    let norms: Vec<Tensor> = grads.iter().map(|g| g.norm()).collect();
    let total = Tensor::stack(&norms, 0).norm();
    let coef = (max_norm / (total + 1e-6)).clamp_max(1.0);
    for mut g in grads {
        let _ = g.g_mul_(&coef);
    }
}

/// `target <- tau * source + (1 - tau) * target`, variable by variable (a hard copy when `tau == 1`).
pub fn soft_update(target: &nn::VarStore, source: &nn::VarStore, tau: f64) {
    let _guard = tch::no_grad_guard();
    for (mut t, s) in target.trainable_variables().into_iter().zip(source.trainable_variables()) {
        if tau >= 1.0 {
            t.copy_(&s);
        } else {
            let _ = t.lerp_(&s, tau);
        }
    }
}
