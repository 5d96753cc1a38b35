//! SGD, Adam, AdamW and RMSprop written with tensor ops, PyTorch's update rules.
//!
//! nnlab keeps its own optimisers instead of LibTorch's C++ ones (which tch
//! wraps) for two reasons:
//!
//! - **Portable numerics.** LibTorch's `sqrt` of a float tensor goes to MKL's
//!   vector math, which refines the CPU's approximate reciprocal square root
//!   (`rsqrtps`), whose bits differ between CPU models; its result, and so
//!   every Adam and RMSprop step, then differs in the last bit from one CPU
//!   to another (seen on an Intel Xeon against an AMD EPYC, and under QEMU).
//!   [`portable_sqrt`] takes the square root as `1 / rsqrt(x)`, two
//!   correctly rounded ATen kernels, the same bits everywhere.
//! - **Their state is ours**: moments and step count are plain tensors and a
//!   number ([`Optimizer::train_state`]), which checkpoints can save and restore.

use anyhow::{bail, Result};
use tch::{nn, Tensor};

/// `sqrt(x)` for `x >= 0` as `reciprocal(rsqrt(x))`: within an ulp of the
/// square root and the same bits on every CPU (see the module docs); 0 for 0.
pub fn portable_sqrt(x: &Tensor) -> Tensor {
    x.rsqrt().reciprocal()
}

/// Half-cosine annealing from `from` (at `frac = 0`) to `to` (at `frac = 1`;
/// `frac` is clamped to [0, 1]), the curve of PyTorch's `CosineAnnealingLR`
/// and of each phase of `OneCycleLR`. `libm::cos`, so the same bits on every CPU.
pub fn cosine_anneal(from: f64, to: f64, frac: f64) -> f64 {
    to + (from - to) / 2.0 * (1.0 + libm::cos(std::f64::consts::PI * frac.clamp(0.0, 1.0)))
}

/// The learning rate of `epoch` (1-based) out of `epochs`: `base`, or with
/// `cosine` annealed toward 0 on a half cosine set once per epoch (PyTorch's
/// `CosineAnnealingLR` with `T_max = epochs`, stepped after each epoch).
pub fn epoch_learning_rate(base: f64, cosine: bool, epoch: usize, epochs: usize) -> f64 {
    if !cosine {
        return base;
    }
    cosine_anneal(base, 0.0, epoch.saturating_sub(1) as f64 / epochs.max(1) as f64)
}

/// Adam (Kingma and Ba 2015) as `torch.optim.Adam`: L2 weight decay added to
/// the gradient, bias-corrected moments, `eps` added after the square root.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Adam {
    /// Decay of the first moment.
    pub beta1: f64,
    /// Decay of the second moment.
    pub beta2: f64,
    /// Added to the denominator.
    pub eps: f64,
    /// L2 penalty added to the gradient.
    pub weight_decay: f64,
}

impl Default for Adam {
    fn default() -> Self {
        Self { beta1: 0.9, beta2: 0.999, eps: 1e-8, weight_decay: 0.0 }
    }
}

/// RAdam (Liu et al. 2020, "On the Variance of the Adaptive Learning Rate
/// and Beyond") as `torch.optim.RAdam`: Adam's moments; while the variance
/// of the adaptive rate is intractable (`rho_t <= 5`, the first few steps)
/// the step is `lr * m_hat`, afterwards Adam's step scaled by the
/// rectification `r_t`, with `eps` added to `sqrt(v)` before the bias
/// correction. PQN's optimiser (CleanRL's `pqn.py`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RAdam {
    /// Decay of the first moment.
    pub beta1: f64,
    /// Decay of the second moment.
    pub beta2: f64,
    /// Added to `sqrt(v)`.
    pub eps: f64,
    /// L2 penalty added to the gradient.
    pub weight_decay: f64,
}

impl Default for RAdam {
    fn default() -> Self {
        Self { beta1: 0.9, beta2: 0.999, eps: 1e-8, weight_decay: 0.0 }
    }
}

/// AdamW (Loshchilov and Hutter 2019) as `torch.optim.AdamW`: Adam with the
/// weight decay applied to the weights directly (`p -= lr * wd * p`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AdamW {
    /// Decay of the first moment.
    pub beta1: f64,
    /// Decay of the second moment.
    pub beta2: f64,
    /// Added to the denominator.
    pub eps: f64,
    /// Decoupled weight decay.
    pub weight_decay: f64,
}

impl Default for AdamW {
    fn default() -> Self {
        Self { beta1: 0.9, beta2: 0.999, eps: 1e-8, weight_decay: 0.01 }
    }
}

/// RMSprop as `torch.optim.RMSprop`: `v = alpha v + (1 - alpha) g^2`;
/// centred, also `a = alpha a + (1 - alpha) g` and `v - a^2` in place of `v`;
/// then `d = sqrt(v) + eps` and `p -= lr g / d`, or with momentum
/// `b = momentum b + g / d`, `p -= lr b` (MinAtar's and Nature DQN's
/// optimiser is the centred form with momentum).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RmsProp {
    /// Decay of the squared-gradient average.
    pub alpha: f64,
    /// Added to the denominator.
    pub eps: f64,
    /// L2 penalty added to the gradient.
    pub weight_decay: f64,
    /// Momentum of the update (0: none).
    pub momentum: f64,
    /// Divide by the gradient's standard deviation, not its root mean square.
    pub centered: bool,
}

impl Default for RmsProp {
    fn default() -> Self {
        Self { alpha: 0.99, eps: 1e-8, weight_decay: 0.0, momentum: 0.0, centered: false }
    }
}

/// SGD as `torch.optim.SGD` (dampening 0): `b = momentum b + g`, then
/// `p -= lr b` (or `p -= lr (g + momentum b)` with Nesterov momentum), the
/// L2 penalty added to the gradient first.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Sgd {
    /// Momentum (0: plain SGD).
    pub momentum: f64,
    /// Nesterov's momentum.
    pub nesterov: bool,
    /// L2 penalty added to the gradient.
    pub weight_decay: f64,
}

/// The update rule of an [`Optimizer`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Rule {
    /// See [`Sgd`].
    Sgd(Sgd),
    /// See [`Adam`].
    Adam(Adam),
    /// See [`AdamW`].
    AdamW(AdamW),
    /// See [`RmsProp`].
    RmsProp(RmsProp),
    /// See [`RAdam`].
    RAdam(RAdam),
}

macro_rules! build_fn {
    ($t:ident) => {
        impl $t {
            /// An optimiser of the trainable variables of `vs` with learning rate `lr`.
            pub fn build(self, vs: &nn::VarStore, lr: f64) -> Result<Optimizer> {
                Optimizer::new(vs, Rule::$t(self), lr)
            }
        }
    };
}
build_fn!(Sgd);
build_fn!(Adam);
build_fn!(AdamW);
build_fn!(RmsProp);
build_fn!(RAdam);

/// RAdam's `rho_inf` and `rho_t` at step `t`.
fn radam_rho(beta2: f64, t: i32) -> (f64, f64) {
    let rho_inf = 2.0 / (1.0 - beta2) - 1.0;
    let power = beta2.powi(t);
    (rho_inf, rho_inf - 2.0 * t as f64 * power / (1.0 - power))
}

/// Whether RAdam's step `t` is rectified (`rho_t > 5`).
fn radam_rectified(beta2: f64, t: i32) -> bool {
    radam_rho(beta2, t).1 > 5.0
}

/// RAdam's rectification `r_t` at a rectified step `t`.
fn radam_rectification(beta2: f64, t: i32) -> f64 {
    let (inf, rho) = radam_rho(beta2, t);
    ((rho - 4.0) * (rho - 2.0) * inf / ((inf - 4.0) * (inf - 2.0) * rho)).sqrt()
}

/// An optimiser over a fixed list of parameters.
pub struct Optimizer {
    rule: Rule,
    lr: f64,
    steps: u64,
    params: Vec<Tensor>,
    /// Per parameter: Adam's first and second moments, RMSprop's momentum
    /// buffer (first) and square average (second), or SGD's momentum buffer (first).
    moments: Vec<(Tensor, Tensor)>,
    /// Per parameter, centred RMSprop only: the gradient average.
    grad_averages: Vec<Tensor>,
    /// Per parameter: whether `weight_decay` applies to it.
    decays: Vec<bool>,
}

impl std::fmt::Debug for Optimizer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Optimizer").field("rule", &self.rule).field("lr", &self.lr).field("steps", &self.steps).field("params", &self.params.len()).finish()
    }
}

impl Optimizer {
    /// An optimiser of the trainable variables of `vs` (in their creation order).
    pub fn new(vs: &nn::VarStore, rule: Rule, lr: f64) -> Result<Self> {
        if !lr.is_finite() || lr < 0.0 {
            bail!("learning rate must be a finite number >= 0, got {lr}");
        }
        let params = vs.trainable_variables();
        let moments = params.iter().map(|p| (p.zeros_like(), p.zeros_like())).collect();
        let decays = vec![true; params.len()];
        let grad_averages = match rule {
            Rule::RmsProp(RmsProp { centered: true, .. }) => params.iter().map(Tensor::zeros_like).collect(),
            _ => Vec::new(),
        };
        Ok(Self { rule, lr, steps: 0, params, moments, grad_averages, decays })
    }

    /// Applies weight decay to matrices and embeddings only (parameters of
    /// two or more dimensions), not to biases and layer-norm gains: nanoGPT's
    /// two parameter groups.
    pub fn decay_matrices_only(mut self) -> Self {
        self.decays = self.params.iter().map(|p| p.dim() >= 2).collect();
        self
    }

    /// Scales every gradient by `max_norm / (norm + 1e-6)` when their joint
    /// L2 norm exceeds `max_norm`, as `torch.nn.utils.clip_grad_norm_`;
    /// returns the norm before clipping.
    pub fn clip_grad_norm(&self, max_norm: f64) -> f64 {
        let _guard = tch::no_grad_guard();
        let grads: Vec<Tensor> = self.params.iter().map(|p| p.grad()).filter(|g| g.defined()).collect();
        if grads.is_empty() {
            return 0.0;
        }
        let norms: Vec<Tensor> = grads.iter().map(|g| g.norm()).collect();
        let total = Tensor::stack(&norms, 0).norm();
        let coef = (max_norm / (&total + 1e-6)).clamp_max(1.0);
        for g in &grads {
            let _ = g.shallow_clone().g_mul_(&coef);
        }
        f64::try_from(total).unwrap_or(f64::NAN)
    }

    /// The learning rate.
    pub fn lr(&self) -> f64 {
        self.lr
    }

    /// Sets the learning rate (schedules call this before a step).
    pub fn set_lr(&mut self, lr: f64) {
        self.lr = lr;
    }

    /// Steps taken.
    pub fn steps(&self) -> u64 {
        self.steps
    }

    /// Clears every parameter's gradient.
    pub fn zero_grad(&mut self) {
        for p in &self.params {
            let mut g = p.grad();
            if g.defined() {
                let _ = g.detach_();
                let _ = g.zero_();
            }
        }
    }

    /// Back-propagates `loss` from cleared gradients, then steps.
    pub fn backward_step(&mut self, loss: &Tensor) {
        self.zero_grad();
        loss.backward();
        self.step();
    }

    /// One update of every parameter that has a gradient.
    ///
    /// Adam, AdamW and RMSprop update float CPU parameters in one pass each
    /// (`torch-util/src/fused.rs`), with the same bits as their tensor-op form, which
    /// every other parameter (CUDA, other kinds) takes.
    pub fn step(&mut self) {
        self.step_with(true)
    }

    /// [`Optimizer::step`], with the one-pass host kernels (`fused`) or the tensor ops only.
    fn step_with(&mut self, fused: bool) {
        let _guard = tch::no_grad_guard();
        self.steps += 1;
        let lr = self.lr;
        let t = i32::try_from(self.steps).unwrap_or(i32::MAX);
        for (i, ((p, (m, v)), &decays)) in self.params.iter().zip(self.moments.iter_mut()).zip(&self.decays).enumerate() {
            let grad = p.grad();
            if !grad.defined() {
                continue;
            }
            let mut p = p.shallow_clone();
            let mut rule = self.rule;
            if !decays {
                match &mut rule {
                    Rule::Sgd(r) => r.weight_decay = 0.0,
                    Rule::Adam(r) => r.weight_decay = 0.0,
                    Rule::AdamW(r) => r.weight_decay = 0.0,
                    Rule::RmsProp(r) => r.weight_decay = 0.0,
                    Rule::RAdam(r) => r.weight_decay = 0.0,
                }
            }
            match rule {
                Rule::Sgd(Sgd { momentum, nesterov, weight_decay }) => {
                    let grad = if weight_decay != 0.0 { &grad + &p * weight_decay } else { grad };
                    if momentum == 0.0 {
                        let _ = p.g_sub_(&(grad * lr));
                        continue;
                    }
                    let _ = m.g_mul_scalar_(momentum);
                    let _ = m.g_add_(&grad);
                    let direction = if nesterov { grad + &*m * momentum } else { m.shallow_clone() };
                    let _ = p.g_sub_(&(direction * lr));
                }
                Rule::RAdam(RAdam { beta1, beta2, weight_decay, .. }) if !radam_rectified(beta2, t) => {
                    // The first steps: Adam's moments, then `p -= lr * m / (1 - beta1^t)`.
                    let grad = if weight_decay != 0.0 { &grad + &p * weight_decay } else { grad };
                    let _ = m.g_mul_scalar_(beta1);
                    let _ = m.g_add_(&(&grad * (1.0 - beta1)));
                    let _ = v.g_mul_scalar_(beta2);
                    let _ = v.g_add_(&(&grad * &grad * (1.0 - beta2)));
                    let _ = p.g_sub_(&(&*m * (lr / (1.0 - beta1.powi(t)))));
                }
                Rule::Adam(Adam { beta1, beta2, eps, weight_decay })
                | Rule::AdamW(AdamW { beta1, beta2, eps, weight_decay })
                | Rule::RAdam(RAdam { beta1, beta2, eps, weight_decay }) => {
                    let decoupled = matches!(rule, Rule::AdamW(_));
                    // Exact powers by repeated multiplication (no libm `pow`).
                    let bias1 = 1.0 - beta1.powi(t);
                    let bias2 = 1.0 - beta2.powi(t);
                    // RAdam after its first steps is Adam's update with the step
                    // scaled by the rectification and `eps` moved before the bias
                    // correction: `sqrt(bc2) / (sqrt(v) + eps) = 1 / (sqrt(v) / sqrt(bc2) + eps / sqrt(bc2))`.
                    let (eps, lr) = match rule {
                        Rule::RAdam(_) => (eps / bias2.sqrt(), lr * radam_rectification(beta2, t)),
                        _ => (eps, lr),
                    };
                    let scalars = crate::fused::AdamScalars {
                        beta1: beta1 as f32,
                        one_minus_beta1: (1.0 - beta1) as f32,
                        beta2: beta2 as f32,
                        one_minus_beta2: (1.0 - beta2) as f32,
                        bias2_sqrt: bias2.sqrt() as f32,
                        eps: eps as f32,
                        step: (lr / bias1) as f32,
                        l2: (weight_decay != 0.0 && !decoupled).then_some(weight_decay as f32),
                        shrink: (weight_decay != 0.0 && decoupled).then_some((1.0 - lr * weight_decay) as f32),
                    };
                    if fused && crate::fused::adam(&p, &grad, m, v, &scalars) {
                        continue;
                    }
                    let grad = if weight_decay != 0.0 && !decoupled { &grad + &p * weight_decay } else { grad };
                    if weight_decay != 0.0 && decoupled {
                        let _ = p.g_mul_scalar_(1.0 - lr * weight_decay);
                    }
                    let _ = m.g_mul_scalar_(beta1);
                    let _ = m.g_add_(&(&grad * (1.0 - beta1)));
                    let _ = v.g_mul_scalar_(beta2);
                    let _ = v.g_add_(&(&grad * &grad * (1.0 - beta2)));
                    let denom = portable_sqrt(v) / bias2.sqrt() + eps;
                    let _ = p.g_sub_(&(&*m / denom * (lr / bias1)));
                }
                Rule::RmsProp(RmsProp { alpha, eps, weight_decay, momentum, centered }) => {
                    let scalars = crate::fused::RmsPropScalars {
                        alpha: alpha as f32,
                        one_minus_alpha: (1.0 - alpha) as f32,
                        eps: eps as f32,
                        lr: lr as f32,
                        l2: (weight_decay != 0.0).then_some(weight_decay as f32),
                    };
                    if fused && momentum == 0.0 && !centered && crate::fused::rmsprop(&p, &grad, v, &scalars) {
                        continue;
                    }
                    let extras = crate::fused::RmsPropExtras { momentum: momentum as f32, centered };
                    let average = if centered { self.grad_averages[i].shallow_clone() } else { v.zeros_like() };
                    if fused && (momentum != 0.0 || centered) && crate::fused::rmsprop_extended(&p, &grad, v, &average, m, &scalars, &extras) {
                        continue;
                    }
                    let grad = if weight_decay != 0.0 { &grad + &p * weight_decay } else { grad };
                    let _ = v.g_mul_scalar_(alpha);
                    let _ = v.g_add_(&(&grad * &grad * (1.0 - alpha)));
                    let denom = if centered {
                        let a = &mut self.grad_averages[i];
                        let _ = a.g_mul_scalar_(alpha);
                        let _ = a.g_add_(&(&grad * (1.0 - alpha)));
                        // Clamped at 0: rounding can take v - a^2 below 0 where it is 0 in exact arithmetic.
                        portable_sqrt(&(&*v - &*a * &*a).clamp_min(0.0)) + eps
                    } else {
                        portable_sqrt(v) + eps
                    };
                    if momentum == 0.0 {
                        let _ = p.g_sub_(&(grad / denom * lr));
                    } else {
                        let _ = m.g_mul_scalar_(momentum);
                        let _ = m.g_add_(&(grad / denom));
                        let _ = p.g_sub_(&(&*m * lr));
                    }
                }
            }
        }
    }

    /// The state a checkpoint needs: the step count, the learning rate and,
    /// per parameter `i`, its two moment tensors `m.i` and `v.i` (Adam: first
    /// and second moment; RMSprop: momentum buffer, square average) and,
    /// centred RMSprop only, its gradient average `a.i`.
    pub fn train_state(&self) -> Result<crate::state::TrainState> {
        let mut s = crate::state::TrainState::new();
        s.put("steps", &self.steps)?;
        s.put("lr", &self.lr)?;
        for (i, (m, v)) in self.moments.iter().enumerate() {
            s.put_tensor(&format!("m.{i}"), m)?;
            s.put_tensor(&format!("v.{i}"), v)?;
        }
        for (i, a) in self.grad_averages.iter().enumerate() {
            s.put_tensor(&format!("a.{i}"), a)?;
        }
        Ok(s)
    }

    /// Restores what [`Optimizer::train_state`] saved, for an optimiser over
    /// parameters of the same shapes.
    pub fn restore_train_state(&mut self, s: &crate::state::TrainState) -> Result<()> {
        for (i, (m, v)) in self.moments.iter().enumerate() {
            s.copy_into(&format!("m.{i}"), m)?;
            s.copy_into(&format!("v.{i}"), v)?;
        }
        for (i, a) in self.grad_averages.iter().enumerate() {
            s.copy_into(&format!("a.{i}"), a)?;
        }
        if s.tensor(&format!("m.{}", self.moments.len())).is_ok() {
            bail!("the checkpoint's optimiser has more parameters than this model ({})", self.moments.len());
        }
        self.steps = s.get("steps")?;
        self.lr = s.get("lr")?;
        Ok(())
    }
}

/// The checkpoint state of a trainer made of a model, an optimiser and a
/// random generator: the variables under `model`, the optimiser under
/// `optimizer`, the generator as `rng`.
pub fn trainer_state<R: serde::Serialize>(vs: &tch::nn::VarStore, optimizer: &Optimizer, rng: &R) -> Result<crate::state::TrainState> {
    let mut s = crate::state::TrainState::new();
    s.put_var_store("model", vs)?;
    s.put_part("optimizer", optimizer.train_state()?);
    s.put("rng", rng)?;
    Ok(s)
}

/// Restores what [`trainer_state`] saved into `vs` and `optimizer`, and returns the generator.
pub fn restore_trainer_state<R: serde::de::DeserializeOwned>(s: &crate::state::TrainState, vs: &tch::nn::VarStore, optimizer: &mut Optimizer) -> Result<R> {
    s.copy_into_var_store("model", vs)?;
    optimizer.restore_train_state(&s.part("optimizer"))?;
    s.get("rng")
}

#[cfg(test)]
mod tests {
    use super::*;
    use tch::{Device, Kind};

    /// One Adam step by hand, as `torch.optim.Adam` defines it.
    #[test]
    fn adam_steps_as_pytorch_defines_it() {
        let vs = nn::VarStore::new(Device::Cpu);
        let w = vs.root().var_copy("w", &Tensor::from_slice(&[1.0f32, -2.0, 0.0]));
        let mut opt = Adam::default().build(&vs, 0.1).unwrap();
        let loss = (&w * Tensor::from_slice(&[3.0f32, 0.5, 0.0])).sum(Kind::Float);
        opt.backward_step(&loss);
        // First step: m = 0.1 g, v = 0.001 g^2, bias-corrected m / sqrt(v) = sign(g).
        let got = Vec::<f32>::try_from(&w).unwrap();
        let want = [1.0 - 0.1, -2.0 - 0.1, 0.0];
        for (g, w) in got.iter().zip(want) {
            assert!((g - w).abs() < 1e-6, "{got:?}");
        }
        assert_eq!(opt.steps(), 1);
    }

    /// The one-pass host kernels give the tensor ops' bits exactly, for every
    /// rule they cover, with and without weight decay, over many steps of
    /// gradients from 1e-15 to 1e3 and exact zeros (no subnormal in sight).
    #[test]
    fn the_one_pass_updates_equal_the_tensor_ops_bit_for_bit() {
        let rules = [
            Rule::Adam(Adam::default()),
            Rule::Adam(Adam { weight_decay: 0.01, ..Adam::default() }),
            Rule::Adam(Adam { beta1: 0.5, beta2: 0.95, eps: 1e-5, weight_decay: 0.0 }),
            Rule::AdamW(AdamW::default()),
            Rule::RmsProp(RmsProp::default()),
            Rule::RmsProp(RmsProp { alpha: 0.9, eps: 1e-5, weight_decay: 0.1, ..Default::default() }),
            Rule::RmsProp(RmsProp { alpha: 0.95, eps: 0.01, weight_decay: 0.0, momentum: 0.95, centered: true }),
            Rule::RmsProp(RmsProp { momentum: 0.9, ..Default::default() }),
            Rule::RmsProp(RmsProp { centered: true, weight_decay: 0.1, ..Default::default() }),
            Rule::RAdam(RAdam::default()),
        ];
        for rule in rules {
            let make = || {
                let vs = nn::VarStore::new(Device::Cpu);
                tch::manual_seed(7);
                let w = vs.root().var_copy("w", &(Tensor::randn([1031], (Kind::Float, Device::Cpu)) * 3.0));
                let b = vs.root().var_copy("b", &Tensor::zeros([5], (Kind::Float, Device::Cpu)));
                (vs, w, b)
            };
            let (vs_a, wa, ba) = make();
            let (vs_b, wb, bb) = make();
            let mut a = Optimizer::new(&vs_a, rule, 3e-3).unwrap();
            let mut b = Optimizer::new(&vs_b, rule, 3e-3).unwrap();
            tch::manual_seed(11);
            for step in 0..40 {
                // Gradients from 1e-15 to 1e3, with exact zeros in places.
                let scale = Tensor::randn([1031], (Kind::Float, Device::Cpu)).g_mul_scalar_(10.0).exp2().g_mul_scalar_(1e-3).clamp(1e-15, 1e3);
                let target = Tensor::randn([1031], (Kind::Float, Device::Cpu)).g_mul_(&scale);
                let mask = Tensor::rand([1031], (Kind::Float, Device::Cpu)).gt(0.1).to_kind(Kind::Float);
                let loss = |w: &Tensor, bias: &Tensor| (w * &target * &mask).sum(Kind::Float) + (bias * step as f64).sum(Kind::Float);
                a.zero_grad();
                loss(&wa, &ba).backward();
                a.step_with(true);
                b.zero_grad();
                loss(&wb, &bb).backward();
                b.step_with(false);
                assert!(wa.equal(&wb) && ba.equal(&bb), "{rule:?}: the parameters differ after step {step}");
                for ((ma, va), (mb, vb)) in a.moments.iter().zip(&b.moments) {
                    assert!(ma.equal(mb) && va.equal(vb), "{rule:?}: the moments differ after step {step}");
                }
                for (aa, ab) in a.grad_averages.iter().zip(&b.grad_averages) {
                    assert!(aa.equal(ab), "{rule:?}: the gradient averages differ after step {step}");
                }
            }
            assert!(f64::try_from(wa.abs().sum(Kind::Double)).unwrap().is_finite());
        }
    }

    /// Where the tensor ops would leave a moment subnormal (dead units whose
    /// moments decay, gradients of 1e-20), the one-pass kernels store 0
    /// instead, and the parameters still come out with the tensor ops' bits.
    #[test]
    fn the_one_pass_updates_never_store_a_subnormal_moment() {
        let subnormals = |t: &Tensor| i64::try_from(t.abs().lt(f32::MIN_POSITIVE as f64).logical_and(&t.ne(0.0)).sum(Kind::Int64)).unwrap();
        for rule in [Rule::Adam(Adam::default()), Rule::AdamW(AdamW::default()), Rule::RmsProp(RmsProp::default())] {
            let make = || {
                let vs = nn::VarStore::new(Device::Cpu);
                let w = vs.root().var_copy("w", &Tensor::linspace(-2.0, 2.0, 64, (Kind::Float, Device::Cpu)));
                (vs, w)
            };
            let ((vs_a, wa), (vs_b, wb)) = (make(), make());
            let mut a = Optimizer::new(&vs_a, rule, 1e-3).unwrap();
            let mut b = Optimizer::new(&vs_b, rule, 1e-3).unwrap();
            let (mut seen_a, mut seen_b) = (0, 0);
            for step in 0..1500 {
                // Gradients of 1 for 10 steps, then of 0 (half the entries) and of 1e-20 (the rest).
                let g = if step < 10 { 1.0 } else { 0.0 };
                let target = Tensor::from_slice(&[g, 1e-20f32]).repeat([32]);
                for (opt, w, fused) in [(&mut a, &wa, true), (&mut b, &wb, false)] {
                    opt.zero_grad();
                    (w * &target).sum(Kind::Float).backward();
                    opt.step_with(fused);
                }
                let (ma, va) = &a.moments[0];
                let (mb, vb) = &b.moments[0];
                seen_a += subnormals(ma) + subnormals(va);
                seen_b += subnormals(mb) + subnormals(vb);
                assert!(wa.equal(&wb), "{rule:?}: the parameters differ after step {step}");
            }
            assert_eq!(seen_a, 0, "{rule:?}: the one-pass kernel stored subnormal moments");
            assert!(seen_b > 0, "{rule:?}: the tensor ops never went subnormal, so the test tests nothing");
        }
    }

    #[test]
    fn a_restored_optimiser_continues_bit_for_bit() {
        let make = || {
            let vs = nn::VarStore::new(Device::Cpu);
            let w = vs.root().var_copy("w", &Tensor::from_slice(&[1.0f32, -0.3, 2.0]));
            let opt = Adam::default().build(&vs, 0.05).unwrap();
            (vs, w, opt)
        };
        let loss = |w: &Tensor| (w * w * Tensor::from_slice(&[1.0f32, 3.0, 0.5])).sum(Kind::Float);
        let (_vs_a, wa, mut a) = make();
        for _ in 0..3 {
            a.backward_step(&loss(&wa));
        }
        let saved = crate::state::TrainState::from_bytes(&a.train_state().unwrap().to_bytes().unwrap()).unwrap();
        let (_vs_b, wb, mut b) = make();
        tch::no_grad(|| wb.shallow_clone().copy_(&wa));
        b.restore_train_state(&saved).unwrap();
        a.backward_step(&loss(&wa));
        b.backward_step(&loss(&wb));
        assert!(wa.equal(&wb) && a.steps() == 4 && b.steps() == 4);
    }

    /// Two SGD steps with momentum by hand, as `torch.optim.SGD` defines them.
    #[test]
    fn sgd_with_momentum_steps_as_pytorch_defines_it() {
        for nesterov in [false, true] {
            let vs = nn::VarStore::new(Device::Cpu);
            let w = vs.root().var_copy("w", &Tensor::from_slice(&[1.0f32]));
            let mut opt = Sgd { momentum: 0.9, nesterov, weight_decay: 0.5 }.build(&vs, 0.1).unwrap();
            // loss = 2 w: g = 2 + 0.5 w.
            opt.backward_step(&(&w * 2.0).sum(Kind::Float));
            opt.backward_step(&(&w * 2.0).sum(Kind::Float));
            let (g1, w0) = (2.5f64, 1.0f64);
            let (b1, w1) = if nesterov { (g1, w0 - 0.1 * (g1 + 0.9 * g1)) } else { (g1, w0 - 0.1 * g1) };
            let g2 = 2.0 + 0.5 * w1;
            let b2 = 0.9 * b1 + g2;
            let w2 = if nesterov { w1 - 0.1 * (g2 + 0.9 * b2) } else { w1 - 0.1 * b2 };
            let got = f32::try_from(&w).unwrap() as f64;
            assert!((got - w2).abs() < 1e-6, "nesterov {nesterov}: {got} vs {w2}");
        }
    }

    /// Two steps of centred RMSprop with momentum by hand, as
    /// `torch.optim.RMSprop(centered=True, momentum=...)` defines them; and
    /// its gradient average survives a checkpoint.
    #[test]
    fn centred_rmsprop_with_momentum_steps_as_pytorch_defines_it() {
        let rule = RmsProp { alpha: 0.95, eps: 0.01, weight_decay: 0.0, momentum: 0.95, centered: true };
        let vs = nn::VarStore::new(Device::Cpu);
        let w = vs.root().var_copy("w", &Tensor::from_slice(&[1.0f32]));
        let mut opt = rule.build(&vs, 0.1).unwrap();
        // loss = w^2: g = 2 w.
        opt.backward_step(&(&w * &w).sum(Kind::Float));
        let (mut v, mut a, mut b, mut x) = (0.0f64, 0.0f64, 0.0f64, 1.0f64);
        for _ in 0..2 {
            let g = 2.0 * x;
            v = 0.95 * v + 0.05 * g * g;
            a = 0.95 * a + 0.05 * g;
            b = 0.95 * b + g / ((v - a * a).sqrt() + 0.01);
            x -= 0.1 * b;
        }
        let saved = crate::state::TrainState::from_bytes(&opt.train_state().unwrap().to_bytes().unwrap()).unwrap();
        let vs2 = nn::VarStore::new(Device::Cpu);
        let w2 = vs2.root().var_copy("w", &Tensor::from_slice(&[0.0f32]));
        tch::no_grad(|| w2.shallow_clone().copy_(&w));
        let mut restored = rule.build(&vs2, 0.1).unwrap();
        restored.restore_train_state(&saved).unwrap();
        opt.backward_step(&(&w * &w).sum(Kind::Float));
        restored.backward_step(&(&w2 * &w2).sum(Kind::Float));
        let got = f32::try_from(&w).unwrap() as f64;
        assert!((got - x).abs() < 1e-5, "{got} vs {x}");
        assert!(w.equal(&w2), "the restored optimiser continues bit for bit");
        assert!(saved.tensor("a.0").is_ok(), "the gradient average is checkpointed");
    }

    /// RAdam's first steps and a rectified one by hand, as `torch.optim.RAdam` defines them.
    #[test]
    fn radam_steps_as_pytorch_defines_it() {
        let vs = nn::VarStore::new(Device::Cpu);
        let w = vs.root().var_copy("w", &Tensor::from_slice(&[1.0f32]));
        let mut opt = RAdam::default().build(&vs, 0.01).unwrap();
        let (b1, b2, eps, lr) = (0.9f64, 0.999f64, 1e-8f64, 0.01f64);
        let (mut m, mut v, mut x) = (0.0f64, 0.0f64, 1.0f64);
        let rho_inf = 2.0 / (1.0 - b2) - 1.0;
        let mut rectified = 0;
        for t in 1..=8 {
            opt.backward_step(&(&w * &w).sum(Kind::Float));
            let g = 2.0 * x;
            m = b1 * m + (1.0 - b1) * g;
            v = b2 * v + (1.0 - b2) * g * g;
            let (bc1, bc2) = (1.0 - b1.powi(t), 1.0 - b2.powi(t));
            let rho_t = rho_inf - 2.0 * t as f64 * b2.powi(t) / bc2;
            if rho_t > 5.0 {
                rectified += 1;
                let r = ((rho_t - 4.0) * (rho_t - 2.0) * rho_inf / ((rho_inf - 4.0) * (rho_inf - 2.0) * rho_t)).sqrt();
                x -= m / bc1 * lr * r * bc2.sqrt() / (v.sqrt() + eps);
            } else {
                x -= m / bc1 * lr;
            }
            let got = f32::try_from(&w).unwrap() as f64;
            assert!((got - x).abs() < 1e-6, "step {t}: {got} vs {x}");
        }
        assert!(rectified > 0 && rectified < 8, "both phases were tested ({rectified} rectified steps)");
    }

    #[test]
    fn rmsprop_and_adamw_move_against_the_gradient() {
        for rule in [Rule::RmsProp(RmsProp::default()), Rule::AdamW(AdamW::default())] {
            let vs = nn::VarStore::new(Device::Cpu);
            let w = vs.root().var_copy("w", &Tensor::from_slice(&[1.0f32]));
            let mut opt = Optimizer::new(&vs, rule, 0.01).unwrap();
            for _ in 0..3 {
                opt.backward_step(&(&w * &w).sum(Kind::Float));
            }
            let v = f32::try_from(&w).unwrap();
            assert!(v < 1.0 && v > 0.5, "{rule:?}: {v}");
        }
    }

    #[test]
    fn portable_sqrt_is_the_square_root_within_an_ulp() {
        let x = Tensor::from_slice(&[0.0f32, 1e-30, 0.25, 2.0, 1e30]);
        let got = Vec::<f32>::try_from(portable_sqrt(&x)).unwrap();
        for (g, x) in got.iter().zip([0.0f32, 1e-30, 0.25, 2.0, 1e30]) {
            let s = x.sqrt();
            assert!((g - s).abs() <= s * 2.0 * f32::EPSILON, "{g} vs {s}");
        }
    }
}
