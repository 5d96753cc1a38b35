//! A model's parameters in **one flat tensor**, with each layer's weight and
//! bias (and any extra vector, such as a log-std) as views made once.
//!
//! For the small networks of classic-control RL the cost of an update is
//! per-op dispatch, not arithmetic: one tensor means one Adam update, one
//! gradient norm, one target-network blend and one device-to-host copy,
//! instead of one per layer. In-place updates of the flat tensor show through
//! the views, and gradients of every view accumulate into the flat tensor.

use tch::nn;
use tch::{Kind, Tensor};

/// How a linear layer is initialised.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum LayerInit {
    /// PyTorch's `nn.Linear` default: weight and bias `U(-1/sqrt(fan_in), 1/sqrt(fan_in))`.
    TorchDefault,
    /// Orthogonal weight with this gain and a zero bias (CleanRL's `layer_init`).
    Orthogonal(f64),
}

/// Where one linear layer lives in the flat vector.
#[derive(Debug, Clone, PartialEq)]
pub struct LinearSlot {
    /// Name used when saving (`<name>.weight`, `<name>.bias`).
    pub name: String,
    /// Input width.
    pub in_dim: usize,
    /// Output width.
    pub out_dim: usize,
    /// Offset of the `[out_dim, in_dim]` weight; the bias follows it.
    pub offset: usize,
    init: LayerInit,
}

impl LinearSlot {
    /// Weight and bias element count.
    pub fn len(&self) -> usize {
        self.out_dim * (self.in_dim + 1)
    }
    /// Whether the layer has no elements.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Where one plain vector parameter lives.
#[derive(Debug, Clone, PartialEq)]
pub struct VectorSlot {
    /// Name used when saving.
    pub name: String,
    /// Length.
    pub len: usize,
    /// Offset.
    pub offset: usize,
    value: f64,
}

/// Lays out the parameters of a model before they are allocated.
#[derive(Debug, Clone, Default)]
pub struct FlatBuilder {
    offset: usize,
    linears: Vec<LinearSlot>,
    vectors: Vec<VectorSlot>,
}

/// Every slot starts on a 64-byte boundary: BLAS kernels are faster on aligned weights.
fn aligned(len: usize) -> usize {
    len.div_ceil(16) * 16
}

impl FlatBuilder {
    /// An empty layout.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a linear layer and returns its index.
    pub fn linear(&mut self, name: impl Into<String>, in_dim: usize, out_dim: usize, init: LayerInit) -> usize {
        let slot = LinearSlot { name: name.into(), in_dim, out_dim, offset: self.offset, init };
        self.offset += aligned(slot.len());
        self.linears.push(slot);
        self.linears.len() - 1
    }

    /// Adds a vector parameter filled with `value` and returns its index.
    pub fn vector(&mut self, name: impl Into<String>, len: usize, value: f64) -> usize {
        let slot = VectorSlot { name: name.into(), len, offset: self.offset, value };
        self.offset += aligned(len);
        self.vectors.push(slot);
        self.vectors.len() - 1
    }

    /// Allocates the flat tensor as the variable `params` under `p` and initialises
    /// every slot, in the order they were added, from torch's RNG.
    pub fn build(self, p: &nn::Path) -> FlatParams {
        let params = p.var("params", &[self.offset.max(1) as i64], nn::Init::Const(0.0));
        tch::no_grad(|| {
            for s in &self.linears {
                let mut v = linear_views(&params, s);
                match s.init {
                    LayerInit::TorchDefault => {
                        let bound = 1.0 / (s.in_dim as f64).sqrt();
                        let _ = v.weight.uniform_(-bound, bound);
                        let _ = v.bias.uniform_(-bound, bound);
                    }
                    LayerInit::Orthogonal(gain) => {
                        let w = nn::init::init(nn::Init::Orthogonal { gain }, &[s.out_dim as i64, s.in_dim as i64], params.device());
                        v.weight.copy_(&w);
                        let _ = v.bias.zero_();
                    }
                }
            }
            for s in &self.vectors {
                let _ = params.narrow(0, s.offset as i64, s.len as i64).fill_(s.value);
            }
        });
        // Views made once, with autograd on, all from one split of the flat tensor: a
        // backward pass then gathers every layer's gradient with one concatenation (one
        // split node), where a narrow per view would fill a zeroed copy of the whole
        // flat tensor per view and add them up (about a fifth of a twin-critic update).
        // The split is `unsafe_split_with_sizes`: its pieces share the flat tensor's
        // memory (in-place updates of it show through) without being autograd views of
        // it, so updating it in place between backward passes is allowed (a split's
        // views would refuse it). The price: autograd cannot notice an in-place update
        // made between a forward and its backward, which no agent makes (every update
        // follows its backward).
        let mut pieces: Vec<(usize, usize)> = Vec::new();
        for s in &self.linears {
            pieces.push((s.offset, s.out_dim * s.in_dim));
            pieces.push((s.offset + s.out_dim * s.in_dim, s.out_dim));
        }
        pieces.extend(self.vectors.iter().map(|s| (s.offset, s.len)));
        let mut order: Vec<usize> = (0..pieces.len()).collect();
        order.sort_by_key(|&k| pieces[k].0);
        let mut sizes = Vec::new();
        let mut index_of = vec![0; pieces.len()];
        let mut at = 0;
        for k in order {
            let (offset, len) = pieces[k];
            if offset > at {
                sizes.push((offset - at) as i64);
            }
            index_of[k] = sizes.len();
            sizes.push(len as i64);
            at = offset + len;
        }
        let size = params.size()[0] as usize;
        if size > at {
            sizes.push((size - at) as i64);
        }
        let parts = params.unsafe_split_with_sizes(&sizes, 0);
        let linear_views_ = self
            .linears
            .iter()
            .enumerate()
            .map(|(i, s)| LinearView {
                weight: parts[index_of[2 * i]].view([s.out_dim as i64, s.in_dim as i64]),
                bias: parts[index_of[2 * i + 1]].shallow_clone(),
            })
            .collect();
        let first_vector = 2 * self.linears.len();
        let vector_views = (0..self.vectors.len()).map(|j| parts[index_of[first_vector + j]].shallow_clone()).collect();
        FlatParams { params, total: self.offset, linears: self.linears, vectors: self.vectors, linear_views: linear_views_, vector_views }
    }
}

/// Weight and bias views of one linear layer.
#[derive(Debug)]
pub struct LinearView {
    /// `[out_dim, in_dim]`.
    pub weight: Tensor,
    /// `[out_dim]`.
    pub bias: Tensor,
}

impl LinearView {
    /// `x W^T + b`.
    pub fn forward(&self, x: &Tensor) -> Tensor {
        x.linear(&self.weight, Some(&self.bias))
    }
}

fn linear_views(params: &Tensor, s: &LinearSlot) -> LinearView {
    let (o, i, at) = (s.out_dim as i64, s.in_dim as i64, s.offset as i64);
    LinearView { weight: params.narrow(0, at, o * i).view([o, i]), bias: params.narrow(0, at + o * i, o) }
}

/// The allocated parameters and their views.
#[derive(Debug)]
pub struct FlatParams {
    params: Tensor,
    total: usize,
    linears: Vec<LinearSlot>,
    vectors: Vec<VectorSlot>,
    linear_views: Vec<LinearView>,
    vector_views: Vec<Tensor>,
}

impl FlatParams {
    /// The flat tensor (the one variable an optimiser sees).
    pub fn params(&self) -> &Tensor {
        &self.params
    }
    /// Number of elements, padding included.
    pub fn total(&self) -> usize {
        self.total
    }
    /// Layer `i`'s views.
    pub fn linear(&self, i: usize) -> &LinearView {
        &self.linear_views[i]
    }
    /// Layer `i`'s slot.
    pub fn linear_slot(&self, i: usize) -> &LinearSlot {
        &self.linears[i]
    }
    /// Vector `i`'s view.
    pub fn vector(&self, i: usize) -> &Tensor {
        &self.vector_views[i]
    }

    /// Where vector `i` lives.
    pub fn vector_slot(&self, i: usize) -> &VectorSlot {
        &self.vectors[i]
    }

    /// Every parameter as a named, separate tensor (`fc0.weight`, `log_std`, ...), for saving.
    pub fn named_tensors(&self) -> Vec<(String, Tensor)> {
        let mut out = Vec::new();
        for (s, v) in self.linears.iter().zip(&self.linear_views) {
            out.push((format!("{}.weight", s.name), v.weight.detach().copy()));
            out.push((format!("{}.bias", s.name), v.bias.detach().copy()));
        }
        for (s, v) in self.vectors.iter().zip(&self.vector_views) {
            out.push((s.name.clone(), v.detach().copy()));
        }
        out
    }

    /// Copies saved parameters (the names and shapes of [`FlatParams::named_tensors`])
    /// into this model; extra names in `named` (e.g. normalisation statistics) are ignored.
    pub fn load_named(&self, named: &[(String, Tensor)]) -> anyhow::Result<()> {
        let find = |name: &str, shape: &[i64]| -> anyhow::Result<&Tensor> {
            let t = named.iter().find(|(n, _)| n == name).map(|(_, t)| t).ok_or_else(|| anyhow::anyhow!("the weights file has no tensor `{name}`"))?;
            if t.size() != shape {
                anyhow::bail!("tensor `{name}` has shape {:?}, the model needs {shape:?}", t.size());
            }
            Ok(t)
        };
        tch::no_grad(|| -> anyhow::Result<()> {
            for (s, v) in self.linears.iter().zip(&self.linear_views) {
                let w = find(&format!("{}.weight", s.name), &v.weight.size())?;
                let b = find(&format!("{}.bias", s.name), &v.bias.size())?;
                v.weight.shallow_clone().copy_(&w.to_kind(Kind::Float).to_device(v.weight.device()));
                v.bias.shallow_clone().copy_(&b.to_kind(Kind::Float).to_device(v.bias.device()));
            }
            for (s, v) in self.vectors.iter().zip(&self.vector_views) {
                let t = find(&s.name, &v.size())?;
                v.shallow_clone().copy_(&t.to_kind(Kind::Float).to_device(v.device()));
            }
            Ok(())
        })
    }

    /// Writes the parameters to a safetensors file with per-layer names.
    pub fn save_safetensors(&self, path: &std::path::Path) -> Result<(), tch::TchError> {
        let named = self.named_tensors();
        let refs: Vec<(&str, &Tensor)> = named.iter().map(|(n, t)| (n.as_str(), t)).collect();
        Tensor::write_safetensors(&refs, path)
    }

    /// Scales the gradient so that its L2 norm is at most `max_norm`
    /// (PyTorch's `clip_grad_norm_`, without a device-to-host sync).
    pub fn clip_grad_norm(&self, max_norm: f64) {
        let _guard = tch::no_grad_guard();
        let mut g = self.params.grad();
        if g.defined() {
            let coef = (max_norm / (g.norm() + 1e-6)).clamp_max(1.0);
            let _ = g.g_mul_(&coef);
        }
    }

    /// `self <- tau * source + (1 - tau) * self` (a hard copy when `tau == 1`).
    pub fn blend_from(&self, source: &FlatParams, tau: f64) {
        let _guard = tch::no_grad_guard();
        let mut t = self.params.shallow_clone();
        if tau >= 1.0 {
            t.copy_(&source.params);
        } else {
            let _ = t.lerp_(&source.params, tau);
        }
    }

    /// The values on the host, for a plain-Rust forward pass.
    pub fn to_host(&self, out: &mut Vec<f32>) {
        out.resize(self.total, 0.0);
        let flat = self.params.detach().to_device(tch::Device::Cpu).to_kind(Kind::Float).contiguous();
        flat.copy_data(out, self.total);
    }
}

/// One linear layer on the host: `out[..slot.out_dim] = act(W x + b)` with the
/// layer's weights read from `weights` (a host copy of the flat vector, see
/// [`FlatParams::to_host`]). The dot products use eight partial sums so that
/// the compiler vectorises them; results differ from torch's in the last bits.
pub fn host_linear(weights: &[f32], slot: &LinearSlot, x: &[f32], out: &mut [f32], act: Option<Activation>) {
    let w = &weights[slot.offset..slot.offset + slot.out_dim * slot.in_dim];
    let b = &weights[slot.offset + slot.out_dim * slot.in_dim..slot.offset + slot.len()];
    let x = &x[..slot.in_dim];
    for (j, o) in out[..slot.out_dim].iter_mut().enumerate() {
        let row = &w[j * slot.in_dim..(j + 1) * slot.in_dim];
        let mut lanes = [0.0f32; 8];
        let rest = row.len() % 8;
        for (wc, xc) in row.chunks_exact(8).zip(x.chunks_exact(8)) {
            for k in 0..8 {
                lanes[k] += wc[k] * xc[k];
            }
        }
        let tail: f32 = row[row.len() - rest..].iter().zip(&x[x.len() - rest..]).map(|(a, b)| a * b).sum();
        let s = b[j] + lanes.iter().sum::<f32>() + tail;
        *o = match act {
            None => s,
            Some(Activation::Relu) => s.max(0.0),
            Some(Activation::Tanh) => libm::tanhf(s),
        };
    }
}

/// A host copy of some layers of a [`FlatParams`], run in plain Rust: for
/// acting one observation at a time, where a dozen small torch calls would
/// cost more than the arithmetic.
#[derive(Debug, Clone, Default)]
pub struct HostLayers {
    weights: Vec<f32>,
    buf_a: Vec<f32>,
    buf_b: Vec<f32>,
}

impl HostLayers {
    /// Empty buffers; call [`HostLayers::sync`] before use.
    pub fn new() -> Self {
        Self::default()
    }

    /// Copies the current values of `params` (one device-to-host copy).
    pub fn sync(&mut self, params: &FlatParams) {
        params.to_host(&mut self.weights);
        let widest = params.linears.iter().map(|s| s.out_dim.max(s.in_dim)).max().unwrap_or(1);
        self.buf_a.resize(widest, 0.0);
        self.buf_b.resize(widest, 0.0);
    }

    /// The host copy of the whole flat vector.
    pub fn weights(&self) -> &[f32] {
        &self.weights
    }

    /// The host copy, to change (folding a normalisation into a layer).
    pub fn weights_mut(&mut self) -> &mut [f32] {
        &mut self.weights
    }

    /// Runs `layers` on `x` with `act` after every layer but the last (and after
    /// the last too when `act_last`); returns the output, valid until the next call.
    pub fn forward(&mut self, layers: &[LinearSlot], x: &[f32], act: Activation, act_last: bool) -> &[f32] {
        let (mut a, mut b) = (std::mem::take(&mut self.buf_a), std::mem::take(&mut self.buf_b));
        a[..x.len()].copy_from_slice(x);
        let mut width = x.len();
        for (k, slot) in layers.iter().enumerate() {
            let last = k + 1 == layers.len();
            host_linear(&self.weights, slot, &a[..width], &mut b, (!last || act_last).then_some(act));
            width = slot.out_dim;
            std::mem::swap(&mut a, &mut b);
        }
        self.buf_a = a;
        self.buf_b = b;
        &self.buf_a[..width]
    }
}

/// The hidden-layer activation of an MLP.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Activation {
    /// ReLU.
    Relu,
    /// tanh.
    Tanh,
}

/// Adds an MLP `in -> hidden... -> out` to `b` (activation between layers, none after
/// the last) and returns its layer indices. `hidden_init` and `out_init` initialise the
/// hidden layers and the output layer.
pub fn add_mlp(b: &mut FlatBuilder, name: &str, in_dim: usize, hidden: &[usize], out_dim: usize, hidden_init: LayerInit, out_init: LayerInit) -> Vec<usize> {
    let mut layers = Vec::new();
    let mut d = in_dim;
    for (i, &h) in hidden.iter().enumerate() {
        layers.push(b.linear(format!("{name}fc{i}"), d, h, hidden_init));
        d = h;
    }
    layers.push(b.linear(format!("{name}out"), d, out_dim, out_init));
    layers
}

/// Runs the layers `layers` of `p` on `x`, with `act` between them.
pub fn mlp_forward(p: &FlatParams, layers: &[usize], act: Activation, x: &Tensor) -> Tensor {
    let mut h = x.shallow_clone();
    for (k, &i) in layers.iter().enumerate() {
        h = p.linear(i).forward(&h);
        if k + 1 < layers.len() {
            h = match act {
                Activation::Relu => h.relu(),
                Activation::Tanh => h.tanh(),
            };
        }
    }
    h
}
