//! Forward and backward passes of the flat-parameter ReLU MLPs ([`crate::flat`])
//! on the host, for whole batches, with BLAS products ([`nnlab_torch::blas`])
//! and plain loops for the rest: the training half of what [`crate::flat::HostLayers`]
//! does for acting.
//!
//! An update of SAC's 256-wide networks through LibTorch runs about two
//! hundred ops; the products are half of its time, and the other half is
//! dispatch, autograd's bookkeeping, a fresh allocation per op and
//! element-wise passes that each read and write a whole activation. Here the
//! buffers are allocated once, the ReLU masks are applied in the passes that
//! need them, and nothing is recorded: the backward pass is written out.
//!
//! The element-wise arithmetic is plain `f32` in a fixed order (Rust never
//! fuses a multiply and an add), so with MKL's products pinned (portable
//! numerics) the results are the same on every x86-64 CPU. They are not
//! torch's bits: ATen sums and rounds in other orders.

use crate::flat::LinearSlot;
use nnlab_torch::blas::{sgemm, Operand};
use tch::{Device, Kind, Tensor};

/// The layers of one MLP: ReLU after every layer but the last.
#[derive(Debug, Clone)]
pub struct HostMlp {
    slots: Vec<LinearSlot>,
}

/// What a forward pass keeps for its backward pass: the input and every layer's output.
#[derive(Debug, Clone, Default)]
pub struct Tape {
    rows: usize,
    input: Vec<f32>,
    outputs: Vec<Vec<f32>>,
}

impl Tape {
    /// The rows of the last forward pass.
    pub fn rows(&self) -> usize {
        self.rows
    }
    /// The input of the last forward pass, to write before [`HostMlp::forward_tape`].
    pub fn input_mut(&mut self, rows: usize, width: usize) -> &mut [f32] {
        self.rows = rows;
        self.input.resize(rows * width, 0.0);
        &mut self.input
    }
    /// The rows `rows` of `source`'s forward pass (its input and every layer's output).
    pub fn gather(&mut self, source: &Tape, rows: &[usize]) {
        self.rows = rows.len();
        gather_rows(&source.input, source.rows, rows, &mut self.input);
        self.outputs.resize_with(source.outputs.len(), Vec::new);
        for (to, from) in self.outputs.iter_mut().zip(&source.outputs) {
            gather_rows(from, source.rows, rows, to);
        }
    }

    /// The network's output `[rows, out]` of the last forward pass.
    pub fn output(&self) -> &[f32] {
        self.outputs.last().map_or(&self.input, |o| o.as_slice())
    }
}

/// Reusable buffers of a backward pass.
#[derive(Debug, Clone, Default)]
pub struct Scratch {
    a: Vec<f32>,
}

impl HostMlp {
    /// The MLP of these layers (in order).
    pub fn new(slots: Vec<LinearSlot>) -> Self {
        assert!(!slots.is_empty(), "an MLP needs a layer");
        Self { slots }
    }

    /// Input width.
    pub fn in_dim(&self) -> usize {
        self.slots[0].in_dim
    }

    /// Output width.
    pub fn out_dim(&self) -> usize {
        self.slots[self.slots.len() - 1].out_dim
    }

    /// Runs the network on the input written by [`Tape::input_mut`] with the weights in
    /// `params` (the whole flat vector), keeping every layer's output on the tape.
    pub fn forward_tape(&self, params: &[f32], tape: &mut Tape) {
        #[cfg(target_arch = "x86_64")]
        if std::is_x86_feature_detected!("avx2") {
            // SAFETY: the CPU has AVX2.
            return unsafe { self.forward_avx2(params, tape) };
        }
        self.forward_body(params, tape)
    }

    /// [`HostMlp::forward_tape`] with the element-wise loops in AVX2 (no FMA: the same bits).
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2")]
    unsafe fn forward_avx2(&self, params: &[f32], tape: &mut Tape) {
        self.forward_body(params, tape)
    }

    #[inline(always)]
    fn forward_body(&self, params: &[f32], tape: &mut Tape) {
        let rows = tape.rows;
        tape.outputs.resize_with(self.slots.len(), Vec::new);
        for (l, slot) in self.slots.iter().enumerate() {
            let (before, after) = tape.outputs.split_at_mut(l);
            let x: &[f32] = if l == 0 { &tape.input } else { &before[l - 1] };
            let y = &mut after[0];
            y.resize(rows * slot.out_dim, 0.0);
            linear(params, slot, x, rows, y, l + 1 < self.slots.len());
        }
    }

    /// Back-propagates `d_out` (the loss's gradient at the output, `[rows, out]`, used as
    /// scratch) through the last forward pass on `tape`. With `grads` (a vector of the flat
    /// parameters' layout) every layer's weight and bias gradient is written there
    /// (overwritten, not added); with `d_input` the gradient at the input `[rows, in]` is.
    pub fn backward(
        &self,
        params: &[f32],
        tape: &Tape,
        d_out: &mut Vec<f32>,
        grads: Option<&mut [f32]>,
        d_input: Option<&mut Vec<f32>>,
        scratch: &mut Scratch,
    ) {
        #[cfg(target_arch = "x86_64")]
        if std::is_x86_feature_detected!("avx2") {
            // SAFETY: the CPU has AVX2.
            return unsafe { self.backward_avx2(params, tape, d_out, grads, d_input, scratch) };
        }
        self.backward_body(params, tape, d_out, grads, d_input, scratch)
    }

    /// [`HostMlp::backward`] with the element-wise loops in AVX2 (no FMA: the same bits).
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2")]
    unsafe fn backward_avx2(
        &self,
        params: &[f32],
        tape: &Tape,
        d_out: &mut Vec<f32>,
        grads: Option<&mut [f32]>,
        d_input: Option<&mut Vec<f32>>,
        scratch: &mut Scratch,
    ) {
        self.backward_body(params, tape, d_out, grads, d_input, scratch)
    }

    #[inline(always)]
    fn backward_body(
        &self,
        params: &[f32],
        tape: &Tape,
        d_out: &mut Vec<f32>,
        mut grads: Option<&mut [f32]>,
        d_input: Option<&mut Vec<f32>>,
        scratch: &mut Scratch,
    ) {
        let rows = tape.rows;
        let mut dy = std::mem::take(d_out);
        let mut dx = std::mem::take(&mut scratch.a);
        for l in (0..self.slots.len()).rev() {
            let slot = &self.slots[l];
            let x: &[f32] = if l == 0 { &tape.input } else { &tape.outputs[l - 1] };
            if let Some(g) = grads.as_deref_mut() {
                let (w_len, o) = (slot.out_dim * slot.in_dim, slot.offset);
                // dW = dY^T X, db = the column sums of dY.
                sgemm(
                    slot.out_dim,
                    slot.in_dim,
                    rows,
                    1.0,
                    Operand::transposed(&dy, slot.out_dim),
                    Operand::plain(x, slot.in_dim),
                    0.0,
                    &mut g[o..o + w_len],
                    slot.in_dim,
                );
                column_sums(&dy, slot.out_dim, &mut g[o + w_len..o + w_len + slot.out_dim]);
            }
            if l == 0 && d_input.is_none() {
                break;
            }
            // dX = dY W, then through the ReLU that made X (its output is X itself).
            dx.resize(rows * slot.in_dim, 0.0);
            let w = &params[slot.offset..slot.offset + slot.out_dim * slot.in_dim];
            sgemm(rows, slot.in_dim, slot.out_dim, 1.0, Operand::plain(&dy, slot.out_dim), Operand::plain(w, slot.in_dim), 0.0, &mut dx, slot.in_dim);
            if l > 0 {
                // A bit mask, not a branch: the signs of ReLU outputs are a coin toss
                // for the branch predictor.
                dx.iter_mut().zip(x).for_each(|(d, &h)| *d = f32::from_bits(d.to_bits() & ((h > 0.0) as u32).wrapping_neg()));
            }
            std::mem::swap(&mut dy, &mut dx);
        }
        match d_input {
            Some(out) => {
                // After the last swap the input's gradient is in `dy`.
                std::mem::swap(out, &mut dy);
                *d_out = dy;
            }
            None => *d_out = dy,
        }
        scratch.a = dx;
    }
}

/// The Q(s, a) critics of [`crate::critic::QCritics`] on the host: their values
/// for a batch, their regression step's gradient, and the gradient they pass to
/// the actions.
#[derive(Debug, Clone)]
pub struct HostCritics {
    nets: Vec<HostMlp>,
    tapes: Vec<Tape>,
    obs_dim: usize,
    act_dim: usize,
    q: Vec<Vec<f32>>,
    d_out: Vec<f32>,
    d_input: Vec<f32>,
    scratch: Scratch,
    /// Some rows of a critic's tape, for [`HostCritics::action_gradient_rows`].
    part: Tape,
}

impl HostCritics {
    /// The host form of `critics` for observations of `obs_dim` values.
    pub fn new(critics: &crate::critic::QCritics, obs_dim: usize, act_dim: usize) -> Self {
        let n = critics.len();
        Self {
            nets: (0..n).map(|k| HostMlp::new(critics.slots(k))).collect(),
            tapes: vec![Tape::default(); n],
            obs_dim,
            act_dim,
            q: vec![Vec::new(); n],
            d_out: Vec::new(),
            d_input: Vec::new(),
            scratch: Scratch::default(),
            part: Tape::default(),
        }
    }

    /// Number of critics.
    pub fn len(&self) -> usize {
        self.nets.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.nets.is_empty()
    }

    /// Critic `k`'s values of the last [`HostCritics::evaluate`], `[rows]`.
    pub fn q(&self, k: usize) -> &[f32] {
        &self.q[k]
    }

    /// Every critic's values at `[obs, actions]` (`rows` rows) with `params`, the
    /// critics' or their targets' flat vector; kept for a backward pass.
    pub fn evaluate(&mut self, params: &[f32], obs: &[f32], actions: &[f32], rows: usize) {
        let (o, a) = (self.obs_dim, self.act_dim);
        for (k, (net, tape)) in self.nets.iter().zip(&mut self.tapes).enumerate() {
            let input = tape.input_mut(rows, o + a);
            for ((row, s), act) in input.chunks_exact_mut(o + a).zip(obs.chunks_exact(o)).zip(actions.chunks_exact(a)) {
                row[..o].copy_from_slice(s);
                row[o..].copy_from_slice(act);
            }
            net.forward_tape(params, tape);
            self.q[k].clear();
            self.q[k].extend_from_slice(tape.output());
        }
    }

    /// The gradient of `sum_k mean_B (Q_k - targets)^2` at the last evaluation (with
    /// `params`), written into `grads` (the critics' flat gradient); returns each
    /// critic's loss then each critic's mean value (the statistics' order).
    pub fn regress(&mut self, params: &[f32], targets: &[f32], grads: &mut [f32]) -> Vec<f32> {
        let n = self.nets.len();
        let mut reported = vec![0.0f32; 2 * n];
        for k in 0..n {
            let rows = self.q[k].len();
            let (mut loss, mut sum) = (0.0f32, 0.0f32);
            self.d_out.resize(rows, 0.0);
            for ((d, &q), &y) in self.d_out.iter_mut().zip(&self.q[k]).zip(targets) {
                let e = q - y;
                loss += e * e;
                sum += q;
                *d = 2.0 * e / rows as f32;
            }
            reported[k] = loss / rows as f32;
            reported[n + k] = sum / rows as f32;
            self.nets[k].backward(params, &self.tapes[k], &mut self.d_out, Some(grads), None, &mut self.scratch);
        }
        reported
    }

    /// Writes critic `k`'s parameter gradient for the loss gradient `d_q` at its outputs of
    /// the last evaluation (with `params`) into its layers' places in `grads` (the critics'
    /// flat gradient; overwritten, not added).
    pub fn parameter_gradient(&mut self, k: usize, params: &[f32], d_q: &[f32], grads: &mut [f32]) {
        self.d_out.clear();
        self.d_out.extend_from_slice(d_q);
        self.nets[k].backward(params, &self.tapes[k], &mut self.d_out, Some(grads), None, &mut self.scratch);
    }

    /// Adds to `d_actions` (`[rows, act_dim]`) critic `k`'s gradient with respect to the
    /// actions at the last evaluation (with `params`), for the loss gradient `d_q` at its values.
    pub fn action_gradient(&mut self, k: usize, params: &[f32], d_q: &[f32], d_actions: &mut [f32]) {
        self.d_out.clear();
        self.d_out.extend_from_slice(d_q);
        self.nets[k].backward(params, &self.tapes[k], &mut self.d_out, None, Some(&mut self.d_input), &mut self.scratch);
        let (o, a) = (self.obs_dim, self.act_dim);
        for (d, row) in d_actions.chunks_exact_mut(a).zip(self.d_input.chunks_exact(o + a)) {
            d.iter_mut().zip(&row[o..]).for_each(|(x, &g)| *x += g);
        }
    }

    /// [`HostCritics::action_gradient`] where the loss reaches critic `k` through the rows
    /// `rows` alone (`d_q[i]` at row `rows[i]`; zero elsewhere, as where another critic is
    /// the minimum): the backward pass runs on those rows only.
    pub fn action_gradient_rows(&mut self, k: usize, params: &[f32], rows: &[usize], d_q: &[f32], d_actions: &mut [f32]) {
        if rows.is_empty() {
            return;
        }
        self.part.gather(&self.tapes[k], rows);
        self.d_out.clear();
        self.d_out.extend_from_slice(d_q);
        self.nets[k].backward(params, &self.part, &mut self.d_out, None, Some(&mut self.d_input), &mut self.scratch);
        let (o, a) = (self.obs_dim, self.act_dim);
        for (&r, row) in rows.iter().zip(self.d_input.chunks_exact(o + a)) {
            d_actions[r * a..(r + 1) * a].iter_mut().zip(&row[o..]).for_each(|(x, &g)| *x += g);
        }
    }
}

/// `y = x W^T + b` for `rows` rows of `x` with the layer `slot` of `params`, then `max(y, 0)` with `relu`.
#[inline]
pub fn linear(params: &[f32], slot: &LinearSlot, x: &[f32], rows: usize, y: &mut [f32], relu: bool) {
    let (o, i) = (slot.out_dim, slot.in_dim);
    let w = &params[slot.offset..slot.offset + o * i];
    let b = &params[slot.offset + o * i..slot.offset + o * i + o];
    let y = &mut y[..rows * o];
    // The product (ATen's addmm adds it to the bias inside MKL's kernel; here the bias
    // follows, with the ReLU in the same pass: the same up to rounding).
    if (2..=3).contains(&o) {
        // Two or three outputs (a Gaussian head): MKL's kernels are 2-4x faster on
        // `W x^T` [o, rows] than on `x W^T` [rows, o]; the transpose back is cheap.
        TRANSPOSED.with_borrow_mut(|yt| {
            yt.resize(o * rows, 0.0);
            sgemm(o, rows, i, 1.0, Operand::plain(w, i), Operand::transposed(x, i), 0.0, yt, rows);
            for (r, row) in y.chunks_exact_mut(o).enumerate() {
                row.iter_mut().enumerate().for_each(|(c, v)| *v = yt[c * rows + r]);
            }
        });
    } else {
        sgemm(rows, o, i, 1.0, Operand::plain(x, i), Operand::transposed(w, i), 0.0, y, o);
    }
    for row in y.chunks_exact_mut(o) {
        if relu {
            row.iter_mut().zip(b).for_each(|(v, &c)| *v = (*v + c).max(0.0));
        } else {
            row.iter_mut().zip(b).for_each(|(v, &c)| *v += c);
        }
    }
}

thread_local! {
    /// [`linear`]'s transposed product for narrow layers.
    static TRANSPOSED: std::cell::RefCell<Vec<f32>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// The rows `rows` of `from` (a matrix of `from_rows` rows) into `to`, in that order.
pub fn gather_rows(from: &[f32], from_rows: usize, rows: &[usize], to: &mut Vec<f32>) {
    let width = from.len() / from_rows;
    to.clear();
    for &r in rows {
        to.extend_from_slice(&from[r * width..(r + 1) * width]);
    }
}

/// `out[j] = sum_i m[i, j]` over the rows of `m` (`width` columns), in row order.
#[inline]
pub fn column_sums(m: &[f32], width: usize, out: &mut [f32]) {
    out.fill(0.0);
    for row in m.chunks_exact(width) {
        out.iter_mut().zip(row).for_each(|(o, &v)| *o += v);
    }
}

/// The values of a contiguous float CPU tensor (a flat parameter vector or a batch field).
///
/// # Panics
/// When the tensor is not a contiguous float tensor on the CPU.
pub fn values(t: &Tensor) -> &[f32] {
    check_host(t);
    // SAFETY: checked contiguous f32 CPU memory of numel() elements, alive as long as `t`.
    unsafe { std::slice::from_raw_parts(t.data_ptr() as *const f32, t.numel()) }
}

/// The values of a contiguous float CPU tensor, to write in place.
///
/// Writes go around ATen (no version counter moves), as the fused optimisers' do:
/// only for tensors that no recorded autograd graph reads (parameters between
/// updates, their gradients).
///
/// # Panics
/// As [`values`].
#[allow(clippy::mut_from_ref)]
pub fn values_mut(t: &Tensor) -> &mut [f32] {
    check_host(t);
    // SAFETY: as `values`; the callers hold no other slice of this tensor while writing.
    unsafe { std::slice::from_raw_parts_mut(t.data_ptr() as *mut f32, t.numel()) }
}

fn check_host(t: &Tensor) {
    assert!(t.device() == Device::Cpu && t.kind() == Kind::Float && t.is_contiguous(), "a host update needs contiguous float CPU tensors");
}

/// The gradient tensor of the parameter `p`, made (zeros) if it has none yet.
pub fn gradient_of(p: &Tensor) -> Tensor {
    let g = p.grad();
    if g.defined() {
        return g;
    }
    tch::with_grad(|| (p.sum(Kind::Float) * 0.0).backward());
    p.grad()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::flat::{add_mlp, mlp_forward, Activation, FlatBuilder, LayerInit};
    use tch::nn;

    fn host(t: &Tensor) -> Vec<f32> {
        Vec::<f32>::try_from(t.detach().flatten(0, -1)).unwrap()
    }

    fn close(a: &[f32], b: &[f32], what: &str) {
        assert_eq!(a.len(), b.len(), "{what}: lengths");
        for (i, (x, y)) in a.iter().zip(b).enumerate() {
            assert!((x - y).abs() <= 1e-5 + 1e-4 * y.abs(), "{what}[{i}]: {x} vs torch's {y}");
        }
    }

    #[test]
    fn forward_and_backward_match_autograd() {
        tch::manual_seed(3);
        let vs = nn::VarStore::new(Device::Cpu);
        let mut b = FlatBuilder::new();
        let layers = add_mlp(&mut b, "q.", 5, &[16, 12], 3, LayerInit::TorchDefault, LayerInit::TorchDefault);
        let flat = b.build(&vs.root());
        let rows = 9;
        let x = Tensor::randn([rows, 5], (Kind::Float, Device::Cpu)).set_requires_grad(true);
        let upstream = Tensor::randn([rows, 3], (Kind::Float, Device::Cpu));
        let y = mlp_forward(&flat, &layers, Activation::Relu, &x);
        (&y * &upstream).sum(Kind::Float).backward();

        let mlp = HostMlp::new(layers.iter().map(|&i| flat.linear_slot(i).clone()).collect());
        let params = host(flat.params());
        let mut tape = Tape::default();
        tape.input_mut(rows as usize, 5).copy_from_slice(&host(&x));
        mlp.forward_tape(&params, &mut tape);
        close(tape.output(), &host(&y), "output");

        let mut d_out = host(&upstream);
        let mut grads = vec![0.0; params.len()];
        let mut d_input = Vec::new();
        mlp.backward(&params, &tape, &mut d_out, Some(&mut grads), Some(&mut d_input), &mut Scratch::default());
        close(&grads, &host(&flat.params().grad()), "parameter gradients");
        close(&d_input, &host(&x.grad()), "input gradient");

        // Without the input's gradient, the parameters' are the same.
        let mut d_out = host(&upstream);
        let mut again = vec![0.0; params.len()];
        mlp.backward(&params, &tape, &mut d_out, Some(&mut again), None, &mut Scratch::default());
        assert_eq!(again, grads);
    }
}
