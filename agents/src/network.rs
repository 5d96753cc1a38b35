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
    /// Per hidden layer with layer normalisation: its gain and bias vectors.
    norms: Vec<(usize, usize)>,
    /// Plain: `[q]`; dueling: `[value, advantage]`.
    head: Vec<usize>,
}

impl QNetwork {
    /// Creates the network's flat parameter `params` under `p`, for
    /// observations of `obs_shape` (`[dim]`, or `[C, H, W]` for a
    /// convolutional `network`; [`Network::check`] first).
    pub fn new(p: &nn::Path, obs_shape: &[usize], n_actions: usize, hidden: &[usize], dueling: bool, network: Network) -> Self {
        Self::with_layer_norm(p, obs_shape, n_actions, hidden, dueling, network, false, LayerInit::TorchDefault)
    }

    /// As [`QNetwork::new`], with `layer_norm`: each hidden dense layer is
    /// followed by layer normalisation (gain 1, bias 0 at the start, eps
    /// 1e-5) before its ReLU, as PQN's network (Gallici et al. 2024); and
    /// the dense layers initialised by `init`.
    #[allow(clippy::too_many_arguments)]
    pub fn with_layer_norm(
        p: &nn::Path,
        obs_shape: &[usize],
        n_actions: usize,
        hidden: &[usize],
        dueling: bool,
        network: Network,
        layer_norm: bool,
        init: LayerInit,
    ) -> Self {
        let mut b = FlatBuilder::new();
        let conv = ConvTorso::new(&mut b, network, obs_shape);
        let mut d = conv.as_ref().map_or_else(|| obs_shape.iter().product(), ConvTorso::features);
        let mut torso = Vec::new();
        let mut norms = Vec::new();
        for (i, &h) in hidden.iter().enumerate() {
            torso.push(b.linear(format!("fc{i}"), d, h, init));
            if layer_norm {
                norms.push((b.vector(format!("ln{i}.weight"), h, 1.0), b.vector(format!("ln{i}.bias"), h, 0.0)));
            }
            d = h;
        }
        let head =
            if dueling { vec![b.linear("value", d, 1, init), b.linear("advantage", d, n_actions, init)] } else { vec![b.linear("q", d, n_actions, init)] };
        Self { params: b.build(p), conv, torso, norms, head }
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
        for (i, &l) in self.torso.iter().enumerate() {
            h = self.params.linear(l).forward(&h);
            if let Some(&(gain, bias)) = self.norms.get(i) {
                let width = self.params.linear_slot(l).out_dim as i64;
                h = h.layer_norm([width], Some(self.params.vector(gain)), Some(self.params.vector(bias)), 1e-5, false);
            }
            h = h.relu();
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
        assert!(!net.is_convolutional() && net.norms.is_empty(), "GreedyPolicy runs dense networks without layer normalisation only");
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
