//! The Q(s, a) critic of the off-policy actor-critics: `n` independent MLPs
//! (one for DDPG, twins for TD3 and SAC), each `[obs, action] -> hidden
//! (ReLU) -> 1`, as CleanRL's `SoftQNetwork`/`QNetwork`, with every critic's
//! parameters in one flat tensor ([`crate::flat`]) so that one optimiser,
//! one gradient clip and one target blend cover them all.

use crate::flat::{add_mlp, mlp_forward, Activation, FlatBuilder, FlatParams, LayerInit};
use tch::nn;
use tch::Tensor;

/// `n` Q(s, a) networks over one flat parameter tensor.
#[derive(Debug)]
pub struct QCritics {
    params: FlatParams,
    /// Layer indices of each critic.
    critics: Vec<Vec<usize>>,
}

impl QCritics {
    /// `n` critics under `p` for observations of length `obs_dim` and actions of length `act_dim`,
    /// initialised as PyTorch's `nn.Linear`, critic by critic.
    pub fn new(p: &nn::Path, n: usize, obs_dim: usize, act_dim: usize, hidden: &[usize]) -> Self {
        Self::with_outputs(p, n, obs_dim, act_dim, hidden, 1)
    }

    /// `n` critics with `outputs` values each (TQC's quantiles), initialised as [`QCritics::new`].
    pub fn with_outputs(p: &nn::Path, n: usize, obs_dim: usize, act_dim: usize, hidden: &[usize], outputs: usize) -> Self {
        let mut b = FlatBuilder::new();
        let critics = (0..n)
            .map(|k| add_mlp(&mut b, &format!("qf{}.", k + 1), obs_dim + act_dim, hidden, outputs, LayerInit::TorchDefault, LayerInit::TorchDefault))
            .collect();
        Self { params: b.build(p), critics }
    }

    /// Number of critics.
    pub fn len(&self) -> usize {
        self.critics.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.critics.is_empty()
    }

    /// The flat parameters.
    pub fn flat(&self) -> &FlatParams {
        &self.params
    }

    /// Critic `k`'s layers, in order.
    pub fn slots(&self, k: usize) -> Vec<crate::flat::LinearSlot> {
        self.critics[k].iter().map(|&i| self.params.linear_slot(i).clone()).collect()
    }

    /// The flat parameter tensor.
    pub fn params(&self) -> &Tensor {
        self.params.params()
    }

    /// `Q_k(obs, actions)` of critic `k`, `[B]`.
    pub fn q(&self, k: usize, obs: &Tensor, actions: &Tensor) -> Tensor {
        let x = Tensor::cat(&[obs, actions], -1);
        mlp_forward(&self.params, &self.critics[k], Activation::Relu, &x).squeeze_dim(-1)
    }

    /// Every critic's `Q(obs, actions)`, each `[B]`.
    pub fn all(&self, obs: &Tensor, actions: &Tensor) -> Vec<Tensor> {
        let x = Tensor::cat(&[obs, actions], -1);
        self.critics.iter().map(|layers| mlp_forward(&self.params, layers, Activation::Relu, &x).squeeze_dim(-1)).collect()
    }

    /// Every critic's outputs stacked, `[B, n, outputs]` (TQC's quantiles).
    pub fn stacked(&self, obs: &Tensor, actions: &Tensor) -> Tensor {
        let x = Tensor::cat(&[obs, actions], -1);
        let outs: Vec<Tensor> = self.critics.iter().map(|layers| mlp_forward(&self.params, layers, Activation::Relu, &x)).collect();
        Tensor::stack(&outs, 1)
    }

    /// [`QCritics::stacked`] with the critics' weights treated as constants (see [`QCritics::q_frozen`]).
    pub fn stacked_frozen(&self, obs: &Tensor, actions: &Tensor) -> Tensor {
        let outs: Vec<Tensor> = (0..self.len()).map(|k| self.frozen_raw(k, obs, actions)).collect();
        Tensor::stack(&outs, 1)
    }

    /// Critic `k`'s raw outputs `[B, outputs]` with its weights treated as constants.
    fn frozen_raw(&self, k: usize, obs: &Tensor, actions: &Tensor) -> Tensor {
        let mut h = Tensor::cat(&[obs, actions], -1);
        let layers = &self.critics[k];
        for (i, &l) in layers.iter().enumerate() {
            let v = self.params.linear(l);
            h = h.linear(&v.weight.detach(), Some(&v.bias.detach()));
            if i + 1 < layers.len() {
                h = h.relu();
            }
        }
        h
    }

    /// `Q_k(obs, actions)` with the critic's weights treated as constants: the
    /// gradient reaches `actions` (the actor's loss) and not the critic, whose
    /// weight gradients are then never computed.
    pub fn q_frozen(&self, k: usize, obs: &Tensor, actions: &Tensor) -> Tensor {
        self.frozen_raw(k, obs, actions).squeeze_dim(-1)
    }

    /// `self <- tau * source + (1 - tau) * self`.
    pub fn blend_from(&self, source: &QCritics, tau: f64) {
        self.params.blend_from(&source.params, tau)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tch::{Device, Kind};

    #[test]
    fn frozen_critics_pass_gradients_to_actions_only() {
        tch::manual_seed(2);
        let vs = nn::VarStore::new(Device::Cpu);
        let qs = QCritics::new(&vs.root(), 2, 3, 1, &[16, 16]);
        let obs = Tensor::randn([5, 3], (Kind::Float, Device::Cpu));
        let a = Tensor::randn([5, 1], (Kind::Float, Device::Cpu)).set_requires_grad(true);
        let q = qs.q(1, &obs, &a);
        assert!(q.allclose(&qs.q_frozen(1, &obs, &a), 1e-6, 1e-6, false));
        assert!(!q.allclose(&qs.q(0, &obs, &a), 1e-3, 1e-3, false), "two critics, two sets of weights");
        qs.q_frozen(1, &obs, &a).sum(Kind::Float).backward();
        assert!(a.grad().defined() && f64::try_from(a.grad().abs().sum(Kind::Float)).unwrap() > 0.0);
        assert!(!qs.params().grad().defined(), "no gradient reaches the critic's weights");
        assert_eq!(qs.all(&obs, &a).len(), 2);
    }
}
