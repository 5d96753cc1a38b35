//! Q-networks, built for speed on the CPU: parameters in one flat tensor
//! ([`crate::flat`]), a plain-Rust [`GreedyPolicy`] for acting on vectors,
//! and convolutions in front for pictures ([`crate::torso`]).

use crate::flat::{host_linear, Activation, FlatBuilder, FlatParams, LayerInit, LinearSlot};
use crate::torso::{ConvTorso, Network};
use crate::value_head::ValueHead;
use tch::nn::{self, Module};
use tch::{Kind, Tensor};

/// A Q-network `obs -> Q(obs, .)`: ReLU hidden layers, optionally behind
/// convolutions ([`Network`]), and an optional dueling head (Wang et al.
/// 2016: `Q = V + A - mean(A)`). With hidden sizes `[120, 84]` and no dueling
/// head it is CleanRL's `QNetwork`; with `Network::Minatar` and `[128]`,
/// MinAtar's DQN network. Layers are initialised as PyTorch's `nn.Linear`
/// and `nn.Conv2d`.
#[derive(Debug)]
pub struct QNetwork {
    params: FlatParams,
    conv: Option<ConvTorso>,
    torso: Vec<usize>,
    /// Plain: `[q]`; dueling: `[value, advantage]`.
    head: Vec<usize>,
}

impl QNetwork {
    /// Creates the network's flat parameter `params` under `p`, for
    /// observations of `obs_shape` (`[dim]`, or `[C, H, W]` for a
    /// convolutional `network`; [`Network::check`] first).
    pub fn new(p: &nn::Path, obs_shape: &[usize], n_actions: usize, hidden: &[usize], dueling: bool, network: Network) -> Self {
        let mut b = FlatBuilder::new();
        let conv = ConvTorso::new(&mut b, network, obs_shape);
        let mut d = conv.as_ref().map_or_else(|| obs_shape.iter().product(), ConvTorso::features);
        let mut torso = Vec::new();
        for (i, &h) in hidden.iter().enumerate() {
            torso.push(b.linear(format!("fc{i}"), d, h, LayerInit::TorchDefault));
            d = h;
        }
        let head = if dueling {
            vec![b.linear("value", d, 1, LayerInit::TorchDefault), b.linear("advantage", d, n_actions, LayerInit::TorchDefault)]
        } else {
            vec![b.linear("q", d, n_actions, LayerInit::TorchDefault)]
        };
        Self { params: b.build(p), conv, torso, head }
    }

    /// Whether convolutions read the observation (no [`GreedyPolicy`] then: act with the torch forward).
    pub fn is_convolutional(&self) -> bool {
        self.conv.is_some()
    }

    /// The flat parameters.
    pub fn flat(&self) -> &FlatParams {
        &self.params
    }

    /// The flat parameter tensor.
    pub fn params(&self) -> &Tensor {
        self.params.params()
    }

    /// The parameters as named per-layer tensors (`fc0.weight`, `q.bias`, ...), for saving.
    pub fn named_tensors(&self) -> Vec<(String, Tensor)> {
        self.params.named_tensors()
    }

    /// Writes the parameters to a safetensors file with per-layer names.
    pub fn save_safetensors(&self, path: &std::path::Path) -> Result<(), tch::TchError> {
        self.params.save_safetensors(path)
    }
}

impl Module for QNetwork {
    fn forward(&self, x: &Tensor) -> Tensor {
        let mut h = match &self.conv {
            Some(conv) => conv.forward(&self.params, x),
            None => x.shallow_clone(),
        };
        for &l in &self.torso {
            h = self.params.linear(l).forward(&h).relu();
        }
        if let [value, advantage] = self.head[..] {
            let v = self.params.linear(value).forward(&h);
            let a = self.params.linear(advantage).forward(&h);
            v + &a - a.mean_dim(-1, true, Kind::Float)
        } else {
            self.params.linear(self.head[0]).forward(&h)
        }
    }
}

/// Scales the gradient of `net`'s parameters so that its L2 norm is at most `max_norm`.
pub fn clip_grad_norm(net: &QNetwork, max_norm: f64) {
    net.params.clip_grad_norm(max_norm)
}

/// `target <- tau * source + (1 - tau) * target` (a hard copy when `tau == 1`).
pub fn soft_update(target: &QNetwork, source: &QNetwork, tau: f64) {
    target.params.blend_from(&source.params, tau)
}

/// Greedy action selection on the CPU without torch: a copy of a [`QNetwork`]'s
/// weights and a plain-Rust forward pass (one observation costs a few
/// microseconds instead of a dozen torch calls). [`GreedyPolicy::sync`] copies
/// the weights after they change. For a dueling head only the advantage
/// stream is evaluated: `argmax Q = argmax A`. Ties go to the lowest index,
/// as in `torch.argmax`.
#[derive(Debug, Clone)]
pub struct GreedyPolicy {
    torso: Vec<LinearSlot>,
    head: LinearSlot,
    /// What the head's outputs are (distributional heads hold several per action).
    value_head: ValueHead,
    atoms: Vec<f32>,
    q: Vec<f32>,
    weights: Vec<f32>,
    buf_a: Vec<f32>,
    buf_b: Vec<f32>,
}

impl GreedyPolicy {
    /// A policy with `net`'s current weights (one expected value per action).
    pub fn new(net: &QNetwork) -> Self {
        Self::with_head(net, ValueHead::Expected)
    }

    /// A policy with `net`'s current weights, whose outputs per action are
    /// `value_head`'s. `net` must be dense ([`QNetwork::is_convolutional`] false).
    pub fn with_head(net: &QNetwork, value_head: ValueHead) -> Self {
        assert!(!net.is_convolutional(), "GreedyPolicy runs dense networks only");
        let torso: Vec<LinearSlot> = net.torso.iter().map(|&i| net.params.linear_slot(i).clone()).collect();
        // Dueling: the advantage stream alone decides the argmax.
        let head = net.params.linear_slot(*net.head.last().expect("a head layer")).clone();
        let widest = torso.iter().chain(std::iter::once(&head)).map(|s| s.out_dim.max(s.in_dim)).max().unwrap_or(1);
        let mut p =
            Self { torso, head, value_head, atoms: value_head.atoms(), q: Vec::new(), weights: Vec::new(), buf_a: vec![0.0; widest], buf_b: vec![0.0; widest] };
        p.sync(net);
        p
    }

    /// Copies `net`'s current weights (one device-to-host copy).
    pub fn sync(&mut self, net: &QNetwork) {
        net.params.to_host(&mut self.weights);
    }

    /// The greedy action for one observation.
    pub fn act(&mut self, obs: &[f32]) -> usize {
        let (mut a, mut b) = (std::mem::take(&mut self.buf_a), std::mem::take(&mut self.buf_b));
        a[..obs.len()].copy_from_slice(obs);
        let mut width = obs.len();
        for spec in &self.torso {
            host_linear(&self.weights, spec, &a[..width], &mut b, Some(Activation::Relu));
            width = spec.out_dim;
            std::mem::swap(&mut a, &mut b);
        }
        let head = &self.head;
        host_linear(&self.weights, head, &a[..width], &mut b, None);
        let q = if self.value_head == ValueHead::Expected {
            &b[..head.out_dim]
        } else {
            self.value_head.host_q_values(&b[..head.out_dim], &self.atoms, &mut self.q);
            &self.q[..]
        };
        let best = q.iter().enumerate().fold(0, |best, (i, v)| if *v > q[best] { i } else { best });
        self.buf_a = a;
        self.buf_b = b;
        best
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn greedy_policy_agrees_with_the_torch_forward() {
        for dueling in [false, true] {
            tch::manual_seed(3);
            let vs = nn::VarStore::new(tch::Device::Cpu);
            let net = QNetwork::new(&vs.root(), &[4], 3, &[120, 84], dueling, Network::Mlp);
            let mut policy = GreedyPolicy::new(&net);
            let x = Tensor::randn([500, 4], (Kind::Float, tch::Device::Cpu)) * 2.0;
            let want = Vec::<i64>::try_from(net.forward(&x).argmax(-1, false)).unwrap();
            let xs = Vec::<f32>::try_from(x.flatten(0, -1)).unwrap();
            let got: Vec<i64> = xs.chunks(4).map(|o| policy.act(o) as i64).collect();
            assert_eq!(want, got, "dueling {dueling}");
        }
    }

    #[test]
    fn target_updates_blend_or_copy() {
        let vs = nn::VarStore::new(tch::Device::Cpu);
        let a = QNetwork::new(&(vs.root() / "a"), &[4], 2, &[8], false, Network::Mlp);
        let b = QNetwork::new(&(vs.root() / "b"), &[4], 2, &[8], false, Network::Mlp);
        let (pa, pb) = (a.params().detach().copy(), b.params().detach().copy());
        soft_update(&a, &b, 0.25);
        let want = &pa * 0.75 + &pb * 0.25;
        assert!(a.params().allclose(&want, 1e-6, 1e-7, false));
        soft_update(&a, &b, 1.0);
        assert!(a.params().equal(&pb));
        // The layer views see the new values.
        let names = a.named_tensors();
        assert_eq!(names[0].0, "fc0.weight");
        assert_eq!(names[0].1.size(), vec![8, 4]);
        assert!(names[0].1.flatten(0, -1).equal(&pb.narrow(0, 0, 32)));
    }

    #[test]
    fn gradients_reach_the_flat_parameters_every_step() {
        let vs = nn::VarStore::new(tch::Device::Cpu);
        let net = QNetwork::new(&vs.root(), &[4], 2, &[16, 16], true, Network::Mlp);
        let mut opt = nnlab_torch::optim::Adam::default().build(&vs, 1e-2).unwrap();
        let x = Tensor::randn([32, 4], (Kind::Float, tch::Device::Cpu));
        let mut losses = Vec::new();
        for _ in 0..50 {
            let loss = (net.forward(&x) - 1.0).square().mean(Kind::Float);
            opt.zero_grad();
            loss.backward();
            clip_grad_norm(&net, 100.0);
            opt.step();
            losses.push(f64::try_from(&loss).unwrap());
        }
        assert!(losses[49] < 0.1 * losses[0], "{:?}", (losses[0], losses[49]));
    }
}
