//! Q-networks for small observation vectors, built for speed on the CPU.
//!
//! A [`QNetwork`] keeps all its parameters in **one flat tensor**; the layers'
//! weights and biases are views into it, made once. For networks this small
//! the cost of an update is per-op dispatch, not arithmetic, so one tensor
//! means one Adam update, one gradient norm and one target-network update
//! instead of one per layer. The same layout lets [`GreedyPolicy`] copy the
//! weights out with one memcpy and pick actions without a torch call.

use tch::nn::{self, Module};
use tch::{Kind, Tensor};

/// Layout of one linear layer inside the flat parameter vector.
#[derive(Debug, Clone, PartialEq)]
struct LayerSpec {
    name: String,
    in_dim: usize,
    out_dim: usize,
    /// Offset of the `[out_dim, in_dim]` weight; the bias follows it.
    offset: usize,
}

impl LayerSpec {
    fn len(&self) -> usize {
        self.out_dim * (self.in_dim + 1)
    }
}

/// The architecture: ReLU torso layers, then a plain or dueling head.
#[derive(Debug, Clone, PartialEq)]
struct Layout {
    torso: Vec<LayerSpec>,
    /// Plain: `[q]`; dueling: `[value, advantage]`.
    head: Vec<LayerSpec>,
    dueling: bool,
    total: usize,
}

impl Layout {
    fn new(obs_dim: usize, n_actions: usize, hidden: &[usize], dueling: bool) -> Self {
        let mut offset = 0;
        // Each layer starts on a 64-byte boundary: BLAS kernels are faster on aligned weights.
        let mut layer = |name: String, in_dim: usize, out_dim: usize| {
            let spec = LayerSpec { name, in_dim, out_dim, offset };
            offset += spec.len().div_ceil(16) * 16;
            spec
        };
        let mut torso = Vec::new();
        let mut d = obs_dim;
        for (i, &h) in hidden.iter().enumerate() {
            torso.push(layer(format!("fc{i}"), d, h));
            d = h;
        }
        let head = if dueling {
            vec![layer("value".into(), d, 1), layer("advantage".into(), d, n_actions)]
        } else {
            vec![layer("q".into(), d, n_actions)]
        };
        Self { torso, head, dueling, total: offset }
    }
}

/// Weight and bias views of one layer.
#[derive(Debug)]
struct LayerViews {
    weight: Tensor,
    bias: Tensor,
}

fn views(params: &Tensor, spec: &LayerSpec) -> LayerViews {
    let (o, i) = (spec.out_dim as i64, spec.in_dim as i64);
    let at = spec.offset as i64;
    LayerViews { weight: params.narrow(0, at, o * i).view([o, i]), bias: params.narrow(0, at + o * i, o) }
}

/// An MLP Q-network `obs -> Q(obs, .)` with ReLU hidden layers and an optional
/// dueling head (Wang et al. 2016: `Q = V + A - mean(A)`). With hidden sizes
/// `[120, 84]` and no dueling head it is CleanRL's `QNetwork`.
#[derive(Debug)]
pub struct QNetwork {
    layout: Layout,
    params: Tensor,
    torso: Vec<LayerViews>,
    head: Vec<LayerViews>,
}

impl QNetwork {
    /// Creates the flat parameter `params` under `p` and initialises each layer as
    /// PyTorch's `nn.Linear` does: weights and biases `U(-1/sqrt(fan_in), 1/sqrt(fan_in))`.
    pub fn new(p: &nn::Path, obs_dim: usize, n_actions: usize, hidden: &[usize], dueling: bool) -> Self {
        let layout = Layout::new(obs_dim, n_actions, hidden, dueling);
        let params = p.var("params", &[layout.total as i64], nn::Init::Const(0.0));
        tch::no_grad(|| {
            for spec in layout.torso.iter().chain(&layout.head) {
                let bound = 1.0 / (spec.in_dim as f64).sqrt();
                let mut v = views(&params, spec);
                let _ = v.weight.uniform_(-bound, bound);
                let _ = v.bias.uniform_(-bound, bound);
            }
        });
        // Views made once, with autograd on: in-place updates of `params` show through them.
        let torso = layout.torso.iter().map(|s| views(&params, s)).collect();
        let head = layout.head.iter().map(|s| views(&params, s)).collect();
        Self { layout, params, torso, head }
    }

    /// The flat parameter tensor.
    pub fn params(&self) -> &Tensor {
        &self.params
    }

    /// The parameters as named per-layer tensors (`fc0.weight`, `q.bias`, ...), for saving.
    pub fn named_tensors(&self) -> Vec<(String, Tensor)> {
        let specs = self.layout.torso.iter().chain(&self.layout.head);
        let views = self.torso.iter().chain(&self.head);
        specs
            .zip(views)
            .flat_map(|(s, v)| {
                [(format!("{}.weight", s.name), v.weight.detach().copy()), (format!("{}.bias", s.name), v.bias.detach().copy())]
            })
            .collect()
    }

    /// Writes the parameters to a safetensors file with per-layer names.
    pub fn save_safetensors(&self, path: &std::path::Path) -> Result<(), tch::TchError> {
        let named = self.named_tensors();
        let refs: Vec<(&str, &Tensor)> = named.iter().map(|(n, t)| (n.as_str(), t)).collect();
        Tensor::write_safetensors(&refs, path)
    }
}

impl Module for QNetwork {
    fn forward(&self, x: &Tensor) -> Tensor {
        let mut h = x.shallow_clone();
        for l in &self.torso {
            h = h.linear(&l.weight, Some(&l.bias)).relu();
        }
        if self.layout.dueling {
            let value = h.linear(&self.head[0].weight, Some(&self.head[0].bias));
            let adv = h.linear(&self.head[1].weight, Some(&self.head[1].bias));
            value + &adv - adv.mean_dim(-1, true, Kind::Float)
        } else {
            h.linear(&self.head[0].weight, Some(&self.head[0].bias))
        }
    }
}

/// Scales the gradient of `params` so that its L2 norm is at most `max_norm`
/// (PyTorch's `clip_grad_norm_`, without a device-to-host sync).
pub fn clip_grad_norm(params: &Tensor, max_norm: f64) {
    let _guard = tch::no_grad_guard();
    let mut g = params.grad();
    if g.defined() {
        let coef = (max_norm / (g.norm() + 1e-6)).clamp_max(1.0);
        let _ = g.g_mul_(&coef);
    }
}

/// `target <- tau * source + (1 - tau) * target` (a hard copy when `tau == 1`).
pub fn soft_update(target: &QNetwork, source: &QNetwork, tau: f64) {
    let _guard = tch::no_grad_guard();
    let mut t = target.params.shallow_clone();
    if tau >= 1.0 {
        t.copy_(&source.params);
    } else {
        let _ = t.lerp_(&source.params, tau);
    }
}

/// Greedy action selection on the CPU without torch: a copy of a [`QNetwork`]'s
/// weights and a plain-Rust forward pass (one observation costs a few
/// microseconds instead of a dozen torch calls). [`GreedyPolicy::sync`] copies
/// the weights after they change. For a dueling head only the advantage
/// stream is evaluated: `argmax Q = argmax A`. Ties go to the lowest index,
/// as in `torch.argmax`.
#[derive(Debug, Clone)]
pub struct GreedyPolicy {
    layout: Layout,
    weights: Vec<f32>,
    buf_a: Vec<f32>,
    buf_b: Vec<f32>,
}

impl GreedyPolicy {
    /// A policy with `net`'s current weights.
    pub fn new(net: &QNetwork) -> Self {
        let widest = net.layout.torso.iter().chain(&net.layout.head).map(|s| s.out_dim.max(s.in_dim)).max().unwrap_or(1);
        let mut p = Self { layout: net.layout.clone(), weights: vec![0.0; net.layout.total], buf_a: vec![0.0; widest], buf_b: vec![0.0; widest] };
        p.sync(net);
        p
    }

    /// Copies `net`'s current weights (one device-to-host copy).
    pub fn sync(&mut self, net: &QNetwork) {
        let flat = net.params.detach().to_device(tch::Device::Cpu).to_kind(Kind::Float).contiguous();
        flat.copy_data(&mut self.weights, self.layout.total);
    }

    fn layer(weights: &[f32], spec: &LayerSpec, x: &[f32], out: &mut [f32], relu: bool) {
        let w = &weights[spec.offset..spec.offset + spec.out_dim * spec.in_dim];
        let b = &weights[spec.offset + spec.out_dim * spec.in_dim..spec.offset + spec.len()];
        for (j, o) in out[..spec.out_dim].iter_mut().enumerate() {
            let row = &w[j * spec.in_dim..(j + 1) * spec.in_dim];
            // Eight independent partial sums, so that the compiler vectorises the dot product.
            let mut lanes = [0.0f32; 8];
            let (chunks, rest) = (row.chunks_exact(8), row.len() % 8);
            for (wc, xc) in chunks.zip(x.chunks_exact(8)) {
                for k in 0..8 {
                    lanes[k] += wc[k] * xc[k];
                }
            }
            let tail: f32 = row[row.len() - rest..].iter().zip(&x[x.len() - rest..]).map(|(a, b)| a * b).sum();
            let s = b[j] + lanes.iter().sum::<f32>() + tail;
            *o = if relu { s.max(0.0) } else { s };
        }
    }

    /// The greedy action for one observation.
    pub fn act(&mut self, obs: &[f32]) -> usize {
        let (mut a, mut b) = (std::mem::take(&mut self.buf_a), std::mem::take(&mut self.buf_b));
        a[..obs.len()].copy_from_slice(obs);
        let mut width = obs.len();
        for spec in &self.layout.torso {
            Self::layer(&self.weights, spec, &a[..width], &mut b, true);
            width = spec.out_dim;
            std::mem::swap(&mut a, &mut b);
        }
        let head = self.layout.head.last().expect("a head layer");
        Self::layer(&self.weights, head, &a[..width], &mut b, false);
        let q = &b[..head.out_dim];
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
            let net = QNetwork::new(&vs.root(), 4, 3, &[120, 84], dueling);
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
        let a = QNetwork::new(&(vs.root() / "a"), 4, 2, &[8], false);
        let b = QNetwork::new(&(vs.root() / "b"), 4, 2, &[8], false);
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
        let net = QNetwork::new(&vs.root(), 4, 2, &[16, 16], true);
        let mut opt = nn::OptimizerConfig::build(nn::Adam::default(), &vs, 1e-2).unwrap();
        let x = Tensor::randn([32, 4], (Kind::Float, tch::Device::Cpu));
        let mut losses = Vec::new();
        for _ in 0..50 {
            let loss = (net.forward(&x) - 1.0).square().mean(Kind::Float);
            opt.zero_grad();
            loss.backward();
            clip_grad_norm(net.params(), 100.0);
            opt.step();
            losses.push(f64::try_from(&loss).unwrap());
        }
        assert!(losses[49] < 0.1 * losses[0], "{:?}", (losses[0], losses[49]));
    }
}
