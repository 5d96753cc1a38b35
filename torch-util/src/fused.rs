//! One-pass CPU kernels for the optimisers' element-wise updates, the same
//! bits as their tensor-op forms in [`crate::optim`] except for subnormal
//! moments (below).
//!
//! Written with tensor ops, one Adam step of a parameter is about fourteen
//! passes over its memory (each op reads one or two tensors and writes a
//! fresh one); on the 256-wide networks of SAC, that was about a sixth of a
//! CPU update's time. These kernels do the same arithmetic in one loop over
//! the parameter, its gradient and its moments, in place.
//!
//! **The same bits, less the subnormals.** Every operation of the tensor
//! form is an IEEE single operation rounded once (`*`, `+`, `-`, `/`, and
//! `sqrt` through ATen's `rsqrt`, which is `1 / sqrt(x)` with a correctly
//! rounded square root on every CPU capability), with each `f64` scalar
//! rounded to `f32` first, as ATen does for a float tensor. The loops below
//! repeat those operations in the same order, and Rust never fuses a
//! multiply and an add. One thing differs, on purpose: a moment is never
//! left subnormal (below `f32::MIN_POSITIVE`, about 1.2e-38). A subnormal
//! operand or result costs the CPU a microcode assist of a hundred cycles
//! or more, and a dead ReLU unit's first moment decays through the
//! subnormal range for about 150 steps (by 0.9 a step): on SAC's 256-wide
//! networks those assists were 14% of a whole run's time. So a moment that
//! would decay below `MIN_POSITIVE` becomes 0, and a gradient entry too
//! small for its square's share of the second moment to be a normal number
//! (below about 3e-18 with Adam's defaults) counts as 0. Every other
//! element gets the tensor form's bits exactly, on any x86-64 CPU, in fast
//! and in portable numerics (the tests check both halves of this). No
//! floating-point environment flag (FTZ/DAZ) is touched. The loops
//! vectorise; the AVX2 copy only widens the vectors, which does not change
//! any element's result.
//!
//! Used for contiguous float CPU tensors that do not overlap; anything else
//! (CUDA, other kinds, views) keeps the tensor form. The writes go through
//! the tensors' memory, not through ATen, so they do not bump autograd's
//! version counters: a backward pass through a graph recorded before a step
//! would not be refused as it is after an in-place tensor op (nnlab's
//! training loops always build a fresh graph after each step).

use tch::{Device, Kind, Tensor};

/// The scalars of one Adam or AdamW step, each already rounded to `f32`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct AdamScalars {
    /// `beta1`.
    pub beta1: f32,
    /// `1 - beta1`.
    pub one_minus_beta1: f32,
    /// `beta2`.
    pub beta2: f32,
    /// `1 - beta2`.
    pub one_minus_beta2: f32,
    /// `sqrt(1 - beta2^t)`.
    pub bias2_sqrt: f32,
    /// `eps`.
    pub eps: f32,
    /// `lr / (1 - beta1^t)`.
    pub step: f32,
    /// Adam's L2 penalty added to the gradient (`g + p * l2`), if any.
    pub l2: Option<f32>,
    /// AdamW's decoupled decay (`p * shrink` first), if any.
    pub shrink: Option<f32>,
}

impl AdamScalars {
    /// The floors below which a gradient entry and the two moments count as 0.
    fn floors(&self) -> Floors {
        Floors::new(self.one_minus_beta1, self.one_minus_beta2, self.beta1, self.beta2)
    }
}

/// Magnitudes below which an input counts as 0, so that no product of the
/// update is subnormal (see the module docs).
#[derive(Debug, Clone, Copy)]
struct Floors {
    /// For a gradient entry: `g * (1 - beta1)`, `g * g` and `g * g * (1 - beta2)` stay normal.
    grad: f32,
    /// For the first moment: `m * beta1` stays normal.
    first: f32,
    /// For the second moment: `v * beta2` stays normal.
    second: f32,
}

impl Floors {
    /// The floors for the scalars of one step; `c1` is 0 for RMSprop, which has no first moment.
    fn new(c1: f32, c2: f32, b1: f32, b2: f32) -> Self {
        let tiny = f32::MIN_POSITIVE as f64;
        // The least x with x * c >= MIN_POSITIVE, rounded up into f32 with a margin of an ulp or two.
        let over = |c: f32| if c > 0.0 { next_up((tiny / c as f64) as f32) } else { 0.0 };
        let square = if c2 > 0.0 { next_up(((tiny / c2 as f64).sqrt()) as f32) } else { 0.0 };
        Floors { grad: over(c1).max(square).max(next_up((tiny.sqrt()) as f32)), first: over(b1), second: over(b2) }
    }
}

/// The next `f32` above `x >= 0`, twice over (a margin for the rounding of the floors).
fn next_up(x: f32) -> f32 {
    f32::from_bits(x.to_bits() + 2)
}

/// `x`, or 0 when `|x| < floor`.
#[inline(always)]
fn floor_to_zero(x: f32, floor: f32) -> f32 {
    if x.abs() < floor {
        0.0
    } else {
        x
    }
}

/// The scalars of one RMSprop step, each already rounded to `f32`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct RmsPropScalars {
    /// `alpha`.
    pub alpha: f32,
    /// `1 - alpha`.
    pub one_minus_alpha: f32,
    /// `eps`.
    pub eps: f32,
    /// `lr`.
    pub lr: f32,
    /// L2 penalty added to the gradient, if any.
    pub l2: Option<f32>,
}

/// The extra state of RMSprop's centred and momentum forms.
#[derive(Debug, Clone, Copy)]
pub(crate) struct RmsPropExtras {
    /// Momentum of the update, 0 for none.
    pub momentum: f32,
    /// Centred: divide by `sqrt(max(v - a^2, 0))`.
    pub centered: bool,
}

/// Whether the tensors can be updated in place on the host: float, on the
/// CPU, contiguous, of one length, and in memory that does not overlap.
fn host_ready(ts: &[&Tensor]) -> Option<usize> {
    let n = ts[0].numel();
    let mut ranges = Vec::with_capacity(ts.len());
    for t in ts {
        if t.device() != Device::Cpu || t.kind() != Kind::Float || !t.is_contiguous() || t.numel() != n {
            return None;
        }
        let start = t.data_ptr() as usize;
        if n > 0 && start == 0 {
            return None;
        }
        ranges.push((start, start + 4 * n));
    }
    ranges.sort_unstable();
    ranges.windows(2).all(|w| w[0].1 <= w[1].0).then_some(n)
}

/// A float slice over a tensor's memory.
///
/// Safety: [`host_ready`] accepted the tensor (contiguous float CPU memory of
/// `n` elements, not overlapping the other tensors of the call), and no other
/// reference to that memory lives while the slice does (the optimiser holds
/// the moments, and its step runs with no other use of the parameters).
unsafe fn slice_mut<'a>(t: &Tensor, n: usize) -> &'a mut [f32] {
    if n == 0 {
        return &mut [];
    }
    unsafe { std::slice::from_raw_parts_mut(t.data_ptr() as *mut f32, n) }
}

/// One Adam (or AdamW) step of `p` with gradient `g` and moments `m`, `v`,
/// in place; `false` (and nothing done) when the tensors are not host-ready.
pub(crate) fn adam(p: &Tensor, g: &Tensor, m: &Tensor, v: &Tensor, s: &AdamScalars) -> bool {
    let Some(n) = host_ready(&[p, g, m, v]) else { return false };
    // SAFETY: see `slice_mut`; the gradient is only read.
    let (p, g, m, v) = unsafe { (slice_mut(p, n), &*slice_mut(g, n), slice_mut(m, n), slice_mut(v, n)) };
    #[cfg(target_arch = "x86_64")]
    if std::is_x86_feature_detected!("avx2") {
        // SAFETY: the CPU has AVX2.
        unsafe { adam_avx2(p, g, m, v, s) };
        return true;
    }
    adam_loop(p, g, m, v, s);
    true
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn adam_avx2(p: &mut [f32], g: &[f32], m: &mut [f32], v: &mut [f32], s: &AdamScalars) {
    adam_loop(p, g, m, v, s)
}

/// Adam's element-wise update, in the order of `optim`'s tensor form, with the floors of the module docs.
#[inline(always)]
fn adam_loop(p: &mut [f32], g: &[f32], m: &mut [f32], v: &mut [f32], s: &AdamScalars) {
    let s = *s;
    let f = s.floors();
    for (((p, &g), m), v) in p.iter_mut().zip(g).zip(m.iter_mut()).zip(v.iter_mut()) {
        let g = match s.l2 {
            Some(l2) => g + *p * l2,
            None => g,
        };
        let g = floor_to_zero(g, f.grad);
        let mut pi = match s.shrink {
            Some(shrink) => *p * shrink,
            None => *p,
        };
        // A sum of two normal numbers of opposite signs can still cancel into the subnormals.
        let mi = floor_to_zero(floor_to_zero(*m, f.first) * s.beta1 + g * s.one_minus_beta1, f32::MIN_POSITIVE);
        let vi = floor_to_zero(*v, f.second) * s.beta2 + g * g * s.one_minus_beta2;
        // portable_sqrt: reciprocal(rsqrt(v)), then / sqrt(bias2) + eps.
        let denom = 1.0 / (1.0 / vi.sqrt()) / s.bias2_sqrt + s.eps;
        pi -= mi / denom * s.step;
        *p = pi;
        *m = mi;
        *v = vi;
    }
}

/// One RMSprop step of `p` with gradient `g` and square average `v`, in
/// place; `false` (and nothing done) when the tensors are not host-ready.
pub(crate) fn rmsprop(p: &Tensor, g: &Tensor, v: &Tensor, s: &RmsPropScalars) -> bool {
    let Some(n) = host_ready(&[p, g, v]) else { return false };
    // SAFETY: see `slice_mut`; the gradient is only read.
    let (p, g, v) = unsafe { (slice_mut(p, n), &*slice_mut(g, n), slice_mut(v, n)) };
    #[cfg(target_arch = "x86_64")]
    if std::is_x86_feature_detected!("avx2") {
        // SAFETY: the CPU has AVX2.
        unsafe { rmsprop_avx2(p, g, v, s) };
        return true;
    }
    rmsprop_loop(p, g, v, s);
    true
}

/// One step of RMSprop's centred and/or momentum form: `a` (the gradient
/// average) when centred, `m` (the momentum buffer) with momentum; in
/// place, `false` (nothing done) when the tensors are not host-ready.
pub(crate) fn rmsprop_extended(p: &Tensor, g: &Tensor, v: &Tensor, a: &Tensor, m: &Tensor, s: &RmsPropScalars, x: &RmsPropExtras) -> bool {
    let Some(n) = host_ready(&[p, g, v, a, m]) else { return false };
    // SAFETY: see `slice_mut`; the gradient is only read.
    let (p, g, v, a, m) = unsafe { (slice_mut(p, n), &*slice_mut(g, n), slice_mut(v, n), slice_mut(a, n), slice_mut(m, n)) };
    #[cfg(target_arch = "x86_64")]
    if std::is_x86_feature_detected!("avx2") {
        // SAFETY: the CPU has AVX2.
        unsafe { rmsprop_extended_avx2(p, g, v, a, m, s, x) };
        return true;
    }
    rmsprop_extended_loop(p, g, v, a, m, s, x);
    true
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn rmsprop_extended_avx2(p: &mut [f32], g: &[f32], v: &mut [f32], a: &mut [f32], m: &mut [f32], s: &RmsPropScalars, x: &RmsPropExtras) {
    rmsprop_extended_loop(p, g, v, a, m, s, x)
}

/// The centred/momentum update in the order of `optim`'s tensor form, with
/// the floors of the module docs (the gradient average decays by `alpha`,
/// the momentum buffer by `momentum`).
#[inline(always)]
fn rmsprop_extended_loop(p: &mut [f32], g: &[f32], v: &mut [f32], a: &mut [f32], m: &mut [f32], s: &RmsPropScalars, x: &RmsPropExtras) {
    let (s, x) = (*s, *x);
    let f = Floors::new(s.one_minus_alpha, s.one_minus_alpha, s.alpha, s.alpha);
    let momentum_floor = Floors::new(0.0, 0.0, x.momentum, 0.0).first;
    for ((((p, &g), v), a), m) in p.iter_mut().zip(g).zip(v.iter_mut()).zip(a.iter_mut()).zip(m.iter_mut()) {
        let g = match s.l2 {
            Some(l2) => g + *p * l2,
            None => g,
        };
        let g = floor_to_zero(g, f.grad);
        let vi = floor_to_zero(*v, f.second) * s.alpha + g * g * s.one_minus_alpha;
        let var = if x.centered {
            let ai = floor_to_zero(*a, f.first) * s.alpha + g * s.one_minus_alpha;
            *a = ai;
            (vi - ai * ai).max(0.0)
        } else {
            vi
        };
        let denom = 1.0 / (1.0 / var.sqrt()) + s.eps;
        if x.momentum == 0.0 {
            *p -= g / denom * s.lr;
        } else {
            let mi = floor_to_zero(*m, momentum_floor) * x.momentum + g / denom;
            *p -= mi * s.lr;
            *m = mi;
        }
        *v = vi;
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn rmsprop_avx2(p: &mut [f32], g: &[f32], v: &mut [f32], s: &RmsPropScalars) {
    rmsprop_loop(p, g, v, s)
}

/// RMSprop's element-wise update, in the order of `optim`'s tensor form, with the floors of the module docs.
#[inline(always)]
fn rmsprop_loop(p: &mut [f32], g: &[f32], v: &mut [f32], s: &RmsPropScalars) {
    let s = *s;
    let f = Floors::new(0.0, s.one_minus_alpha, 0.0, s.alpha);
    for ((p, &g), v) in p.iter_mut().zip(g).zip(v.iter_mut()) {
        let g = match s.l2 {
            Some(l2) => g + *p * l2,
            None => g,
        };
        let g = floor_to_zero(g, f.grad);
        let vi = floor_to_zero(*v, f.second) * s.alpha + g * g * s.one_minus_alpha;
        let denom = 1.0 / (1.0 / vi.sqrt()) + s.eps;
        *p -= g / denom * s.lr;
        *v = vi;
    }
}
