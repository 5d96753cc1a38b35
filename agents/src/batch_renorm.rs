//! Batch renormalisation (Ioffe 2017) as CrossQ (Bhatt et al., ICLR 2024)
//! and SBX use it, and MLPs with a normalisation before every linear layer.
//!
//! In training mode a layer normalises with the batch's mean and (biased)
//! variance, and moves its running averages by `1 - momentum`; after
//! `warmup_steps` training forwards it renormalises toward the running
//! statistics with the corrections `r = clip(sigma_B / sigma, 1/r_max,
//! r_max)` and `d = clip((mu_B - mu) / sigma, -d_max, d_max)` (held
//! constant in the gradient). In evaluation mode it uses the running
//! averages alone, a per-feature affine map that [`BatchRenorm::fold_into`]
//! folds into the next linear layer for the host-side forward.

use crate::flat::{FlatBuilder, FlatParams, LinearSlot};
use anyhow::{bail, Result};
use std::cell::Cell;
use tch::{Device, Kind, Tensor};

/// A batch's per-feature mean and biased variance of `x` `[B, dim]`. Not
/// `var_mean`: ATen's Welford reduction (in double) took a third of a CrossQ update.
fn batch_moments(x: &Tensor) -> (Tensor, Tensor) {
    let mean = x.mean_dim(0, false, Kind::Float);
    let var = (x - &mean).square().mean_dim(0, false, Kind::Float);
    (mean, var)
}

/// Settings of every batch-renormalisation layer of a network.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RenormSettings {
    /// Decay of the running averages.
    pub momentum: f64,
    /// Added to the variance.
    pub eps: f64,
    /// Training forwards before the renormalisation corrections start (plain batch norm until then).
    pub warmup_steps: u64,
    /// Largest scale correction `r`.
    pub r_max: f64,
    /// Largest shift correction `d`.
    pub d_max: f64,
}

impl Default for RenormSettings {
    /// SBX's `BatchRenorm` defaults: momentum 0.99, eps 0.001, 100,000 warm-up steps, `r_max` 3, `d_max` 5.
    fn default() -> Self {
        Self { momentum: 0.99, eps: 1e-3, warmup_steps: 100_000, r_max: 3.0, d_max: 5.0 }
    }
}

/// One batch-renormalisation layer: a learned scale and shift in a [`FlatParams`]
/// and running averages outside it.
#[derive(Debug)]
pub struct BatchRenorm {
    scale: usize,
    shift: usize,
    dim: usize,
    name: String,
    mean: Tensor,
    var: Tensor,
    steps: Cell<u64>,
    settings: RenormSettings,
}

impl BatchRenorm {
    /// A layer over `dim` features named `name` (`name.scale`, `name.shift`; running
    /// averages `name.mean`, `name.var`), its scale (1) and shift (0) added to `b`.
    pub fn add(b: &mut FlatBuilder, name: &str, dim: usize, settings: RenormSettings, device: Device) -> Self {
        Self {
            scale: b.vector(format!("{name}.scale"), dim, 1.0),
            shift: b.vector(format!("{name}.shift"), dim, 0.0),
            dim,
            name: name.to_string(),
            mean: Tensor::zeros([dim as i64], (Kind::Float, device)),
            var: Tensor::ones([dim as i64], (Kind::Float, device)),
            steps: Cell::new(0),
            settings,
        }
    }

    /// Normalises `x` `[B, dim]`: with the batch's statistics (moving the running ones)
    /// when `training`, with the running ones otherwise.
    pub fn forward(&self, p: &FlatParams, x: &Tensor, training: bool) -> Tensor {
        let s = &self.settings;
        if training && self.steps.get() < s.warmup_steps {
            return self.batch_norm(p, x);
        }
        let (mean, var) = if training {
            let (batch_mean, batch_var) = batch_moments(x);
            let (r, d) = tch::no_grad(|| {
                let std = (&batch_var + s.eps).sqrt();
                let running_std = (&self.var + s.eps).sqrt();
                let r = (&std / &running_std).clamp(1.0 / s.r_max, s.r_max);
                let d = ((&batch_mean.detach() - &self.mean) / &running_std).clamp(-s.d_max, s.d_max);
                (r, d)
            });
            self.track(&batch_mean, &batch_var);
            (&batch_mean - &d * batch_var.sqrt() / &r, &batch_var / r.square())
        } else {
            (self.mean.shallow_clone(), self.var.shallow_clone())
        };
        (x - mean) * (var + s.eps).rsqrt() * p.vector(self.scale) + p.vector(self.shift)
    }

    /// A training forward of the warm-up: plain batch normalisation, as ATen's
    /// one fused kernel (forward and backward) instead of the dozen
    /// element-wise passes of the renormalised form; the running averages
    /// move by the batch's mean and biased variance, without autograd.
    fn batch_norm(&self, p: &FlatParams, x: &Tensor) -> Tensor {
        let (batch_mean, batch_var) = tch::no_grad(|| batch_moments(x));
        self.track(&batch_mean, &batch_var);
        x.batch_norm(Some(p.vector(self.scale)), Some(p.vector(self.shift)), None::<&Tensor>, None::<&Tensor>, true, 0.0, self.settings.eps, false)
    }

    /// Moves the running averages toward a training batch's statistics and counts the forward.
    fn track(&self, batch_mean: &Tensor, batch_var: &Tensor) {
        let momentum = self.settings.momentum;
        tch::no_grad(|| {
            let _ = self.mean.shallow_clone().lerp_(&batch_mean.detach(), 1.0 - momentum);
            let _ = self.var.shallow_clone().lerp_(&batch_var.detach(), 1.0 - momentum);
        });
        self.steps.set(self.steps.get() + 1);
    }

    /// Whether a training forward would still be plain batch normalisation (the warm-up).
    pub fn in_warmup(&self) -> bool {
        self.steps.get() < self.settings.warmup_steps
    }

    /// The learned scale's and shift's slots in the flat vector.
    pub fn affine_slots(&self) -> (usize, usize) {
        (self.scale, self.shift)
    }

    /// The running mean and variance.
    pub fn running(&self) -> (&Tensor, &Tensor) {
        (&self.mean, &self.var)
    }

    /// The variance's epsilon.
    pub fn eps(&self) -> f64 {
        self.settings.eps
    }

    /// The LibTorch form's running-average step (`track`), on the host for a CPU layer: moves the running averages
    /// toward a training batch's `mean` and biased `var` (ATen's `lerp` arithmetic) and
    /// counts the forward.
    pub fn track_host(&self, mean: &[f32], var: &[f32]) {
        let w = (1.0 - self.settings.momentum) as f32;
        for (running, batch) in [(&self.mean, mean), (&self.var, var)] {
            for (r, &b) in crate::host_net::values_mut(running).iter_mut().zip(batch) {
                // ATen's lerp: start + w (end - start) for w < 0.5, else end - (end - start)(1 - w).
                *r = if w < 0.5 { *r + w * (b - *r) } else { b - (b - *r) * (1.0 - w) };
            }
        }
        self.steps.set(self.steps.get() + 1);
    }

    /// The running averages and the step count, named for saving.
    pub fn buffers(&self) -> Vec<(String, Tensor)> {
        let steps = Tensor::from_slice(&[self.steps.get() as f64]);
        vec![
            (format!("{}.mean", self.name), self.mean.shallow_clone()),
            (format!("{}.var", self.name), self.var.shallow_clone()),
            (format!("{}.steps", self.name), steps),
        ]
    }

    /// Loads what [`BatchRenorm::buffers`] named from `named`.
    pub fn load_buffers(&self, named: &[(String, Tensor)]) -> Result<()> {
        let find = |suffix: &str| {
            let key = format!("{}.{suffix}", self.name);
            named.iter().find(|(n, _)| *n == key).map(|(_, t)| t).ok_or_else(|| anyhow::anyhow!("no tensor {key}"))
        };
        for (dst, suffix) in [(&self.mean, "mean"), (&self.var, "var")] {
            let src = find(suffix)?;
            if src.size() != [self.dim as i64] {
                bail!("{}.{suffix} has shape {:?}, expected [{}]", self.name, src.size(), self.dim);
            }
            tch::no_grad(|| dst.shallow_clone().copy_(src));
        }
        let steps = f64::try_from(find("steps")?).map_err(|e| anyhow::anyhow!("{}.steps: {e}", self.name))?;
        if !(steps >= 0.0 && steps.fract() == 0.0) {
            bail!("{}.steps is {steps}, not a count", self.name);
        }
        self.steps.set(steps as u64);
        Ok(())
    }

    /// Folds the evaluation-mode map `x -> (x - mean) / sqrt(var + eps) * scale + shift`
    /// into the linear layer `next` that follows it, in `weights` (a host copy of the
    /// flat vector that holds both): `W' = W diag(a)`, `b' = b + W c` with
    /// `a = scale / sqrt(var + eps)` and `c = shift - mean * a`.
    pub fn fold_into(&self, p: &FlatParams, weights: &mut [f32], next: &LinearSlot) {
        let host = |t: &Tensor| Vec::<f32>::try_from(t.to_device(Device::Cpu).to_kind(Kind::Float)).expect("a float vector");
        let (mean, var) = (host(&self.mean), host(&self.var));
        let (scale, shift) = (p.vector_slot(self.scale), p.vector_slot(self.shift));
        let eps = self.settings.eps as f32;
        let a: Vec<f32> = (0..self.dim).map(|i| weights[scale.offset + i] / (var[i] + eps).sqrt()).collect();
        let c: Vec<f32> = (0..self.dim).map(|i| weights[shift.offset + i] - mean[i] * a[i]).collect();
        let (n_in, n_out) = (next.in_dim, next.out_dim);
        debug_assert_eq!(n_in, self.dim);
        let bias_at = next.offset + n_out * n_in;
        for j in 0..n_out {
            let row = next.offset + j * n_in;
            let shift: f32 = (0..n_in).map(|i| weights[row + i] * c[i]).sum();
            weights[bias_at + j] += shift;
            for i in 0..n_in {
                weights[row + i] *= a[i];
            }
        }
    }
}

/// An MLP `in -> hidden... -> out` with ReLU between layers and a batch
/// renormalisation before every linear layer (SBX's CrossQ networks: on the
/// input, and after each hidden activation).
#[derive(Debug)]
pub struct RenormMlp {
    /// Linear layer indices.
    pub layers: Vec<usize>,
    /// The normalisation before each layer.
    pub norms: Vec<BatchRenorm>,
}

impl RenormMlp {
    /// Adds the network's parameters to `b` under `name` (`{name}fc0`, `{name}bn0`, ..., `{name}out`),
    /// linear layers initialised as PyTorch's `nn.Linear`.
    pub fn add(b: &mut FlatBuilder, name: &str, in_dim: usize, hidden: &[usize], out_dim: usize, settings: RenormSettings, device: Device) -> Self {
        let mut layers = Vec::new();
        let mut norms = Vec::new();
        let mut d = in_dim;
        for (i, &h) in hidden.iter().chain(std::iter::once(&out_dim)).enumerate() {
            norms.push(BatchRenorm::add(b, &format!("{name}bn{i}"), d, settings, device));
            let layer = if i < hidden.len() { format!("{name}fc{i}") } else { format!("{name}out") };
            layers.push(b.linear(layer, d, h, crate::flat::LayerInit::TorchDefault));
            d = h;
        }
        Self { layers, norms }
    }

    /// The forward pass; `training` as in [`BatchRenorm::forward`].
    pub fn forward(&self, p: &FlatParams, x: &Tensor, training: bool) -> Tensor {
        self.forward_with(p, x, training, false)
    }

    /// The forward pass with the linear weights treated as constants when `frozen`
    /// (the gradient reaches `x` only; the running averages still move when `training`).
    pub fn forward_with(&self, p: &FlatParams, x: &Tensor, training: bool, frozen: bool) -> Tensor {
        let mut h = x.shallow_clone();
        for (k, (&l, norm)) in self.layers.iter().zip(&self.norms).enumerate() {
            h = norm.forward(p, &h, training);
            let v = p.linear(l);
            h = if frozen { h.linear(&v.weight.detach(), Some(&v.bias.detach())) } else { v.forward(&h) };
            if k + 1 < self.layers.len() {
                h = h.relu();
            }
        }
        h
    }

    /// Every normalisation's buffers.
    pub fn buffers(&self) -> Vec<(String, Tensor)> {
        self.norms.iter().flat_map(|n| n.buffers()).collect()
    }

    /// Loads every normalisation's buffers from `named`.
    pub fn load_buffers(&self, named: &[(String, Tensor)]) -> Result<()> {
        self.norms.iter().try_for_each(|n| n.load_buffers(named))
    }

    /// Adds every normalisation's buffers to `s`, each name after `prefix`.
    pub fn put_state(&self, s: &mut nnlab_torch::state::TrainState, prefix: &str) -> Result<()> {
        self.buffers().iter().try_for_each(|(n, t)| s.put_tensor(&format!("{prefix}{n}"), t))
    }

    /// Restores what [`RenormMlp::put_state`] added.
    pub fn restore_state(&self, s: &nnlab_torch::state::TrainState, prefix: &str) -> Result<()> {
        let named = self.buffers().into_iter().map(|(n, _)| Ok((n.clone(), s.tensor(&format!("{prefix}{n}"))?))).collect::<Result<Vec<_>>>()?;
        self.load_buffers(&named)
    }

    /// Folds every normalisation into the layer after it, in the host copy `weights`.
    pub fn fold_into(&self, p: &FlatParams, weights: &mut [f32]) {
        for (&l, norm) in self.layers.iter().zip(&self.norms) {
            norm.fold_into(p, weights, p.linear_slot(l));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::flat::HostLayers;
    use tch::nn;

    #[test]
    fn training_normalises_with_the_batch_and_evaluation_with_the_running_averages() {
        tch::manual_seed(0);
        let vs = nn::VarStore::new(Device::Cpu);
        let mut b = FlatBuilder::new();
        let settings = RenormSettings { momentum: 0.5, ..Default::default() };
        let norm = BatchRenorm::add(&mut b, "bn", 3, settings, Device::Cpu);
        let p = b.build(&vs.root());
        let x = Tensor::randn([64, 3], (Kind::Float, Device::Cpu)) * 4.0 + 2.0;
        let y = norm.forward(&p, &x, true);
        let m = Vec::<f32>::try_from(y.mean_dim(0, false, Kind::Float)).unwrap();
        let v = Vec::<f32>::try_from(y.square().mean_dim(0, false, Kind::Float)).unwrap();
        assert!(m.iter().all(|m| m.abs() < 1e-5) && v.iter().all(|v| (v - 1.0).abs() < 1e-3), "{m:?} {v:?}");
        // The running averages moved halfway from (0, 1) to the batch's statistics.
        let batch_mean = x.mean_dim(0, false, Kind::Float);
        assert!(norm.mean.allclose(&(&batch_mean * 0.5), 1e-5, 1e-5, false));
        let eval = norm.forward(&p, &x, false);
        let expected = (&x - &norm.mean) / (&norm.var + 1e-3).sqrt();
        assert!(eval.allclose(&expected, 1e-5, 1e-5, false));
        assert_eq!(norm.steps.get(), 1, "evaluation does not count");
    }

    /// The fused warm-up forward is batch normalisation as the renormalised
    /// form writes it out, in value and in the gradients it passes back.
    #[test]
    fn the_fused_warm_up_forward_is_batch_normalisation() {
        tch::manual_seed(5);
        let vs = nn::VarStore::new(Device::Cpu);
        let mut b = FlatBuilder::new();
        let norm = BatchRenorm::add(&mut b, "bn", 6, RenormSettings::default(), Device::Cpu);
        let p = b.build(&vs.root());
        tch::no_grad(|| {
            let _ = p.params().shallow_clone().g_add_(&(Tensor::randn(p.params().size(), (Kind::Float, Device::Cpu)) * 0.5));
        });
        let x = (Tensor::randn([40, 6], (Kind::Float, Device::Cpu)) * 3.0 + 1.0).set_requires_grad(true);
        let w = Tensor::randn([40, 6], (Kind::Float, Device::Cpu));
        let fused = norm.forward(&p, &x, true);
        let mean = x.mean_dim(0, true, Kind::Float);
        let var = (&x - &mean).square().mean_dim(0, true, Kind::Float);
        let written = (&x - &mean) * (var + 1e-3).rsqrt() * p.vector(norm.scale) + p.vector(norm.shift);
        assert!(fused.allclose(&written, 1e-5, 1e-5, false));
        let grads = |y: &Tensor| {
            let g = Tensor::run_backward(&[(y * &w).sum(Kind::Float)], &[&x, p.params()], false, false);
            (g[0].shallow_clone(), g[1].shallow_clone())
        };
        let ((gx_f, gp_f), (gx_w, gp_w)) = (grads(&fused), grads(&written));
        assert!(gx_f.allclose(&gx_w, 1e-4, 1e-5, false) && gp_f.allclose(&gp_w, 1e-4, 1e-5, false));
    }

    #[test]
    fn after_warm_up_the_corrections_pull_toward_the_running_statistics() {
        let vs = nn::VarStore::new(Device::Cpu);
        let mut b = FlatBuilder::new();
        let settings = RenormSettings { warmup_steps: 0, r_max: 1.5, d_max: 0.5, ..Default::default() };
        let norm = BatchRenorm::add(&mut b, "bn", 1, settings, Device::Cpu);
        let p = b.build(&vs.root());
        // Batch mean 10 and std 4 against running (0, 1): r clipped to 1.5, d to 0.5.
        let x = Tensor::from_slice(&[6.0f32, 14.0]).view([2, 1]);
        let y = Vec::<f32>::try_from(norm.forward(&p, &x, true).flatten(0, -1)).unwrap();
        let std = (16.0f32 + 1e-3).sqrt();
        let expected: Vec<f32> = [6.0f32, 14.0].iter().map(|v| (v - 10.0) / std * 1.5 + 0.5).collect();
        for (a, e) in y.iter().zip(&expected) {
            assert!((a - e).abs() < 1e-3, "{y:?} vs {expected:?}");
        }
    }

    #[test]
    fn folded_host_weights_give_the_evaluation_forward() {
        tch::manual_seed(3);
        let vs = nn::VarStore::new(Device::Cpu);
        let mut b = FlatBuilder::new();
        let net = RenormMlp::add(&mut b, "q.", 4, &[8, 8], 2, RenormSettings::default(), Device::Cpu);
        let p = b.build(&vs.root());
        for _ in 0..5 {
            let _ = net.forward(&p, &(Tensor::randn([32, 4], (Kind::Float, Device::Cpu)) * 3.0 + 1.0), true);
        }
        tch::no_grad(|| {
            let _ = p.params().shallow_clone().g_add_(&(Tensor::randn(p.params().size(), (Kind::Float, Device::Cpu)) * 0.1));
        });
        let x = Tensor::randn([1, 4], (Kind::Float, Device::Cpu));
        let torch = Vec::<f32>::try_from(net.forward(&p, &x, false).flatten(0, -1)).unwrap();
        let mut host = HostLayers::new();
        host.sync(&p);
        net.fold_into(&p, host.weights_mut());
        let slots: Vec<LinearSlot> = net.layers.iter().map(|&l| p.linear_slot(l).clone()).collect();
        let out = host.forward(&slots, &Vec::<f32>::try_from(x.flatten(0, -1)).unwrap(), crate::flat::Activation::Relu, false).to_vec();
        for (a, e) in out.iter().zip(&torch) {
            assert!((a - e).abs() < 1e-4, "{out:?} vs {torch:?}");
        }
    }

    #[test]
    fn buffers_round_trip() {
        let vs = nn::VarStore::new(Device::Cpu);
        let mut b = FlatBuilder::new();
        let a = BatchRenorm::add(&mut b, "bn", 2, RenormSettings::default(), Device::Cpu);
        let c = BatchRenorm::add(&mut b, "bn", 2, RenormSettings::default(), Device::Cpu);
        let p = b.build(&vs.root());
        let _ = a.forward(&p, &Tensor::from_slice(&[1.0f32, 2.0, 3.0, 5.0]).view([2, 2]), true);
        c.load_buffers(&a.buffers()).unwrap();
        assert!(c.mean.equal(&a.mean) && c.var.equal(&a.var) && c.steps.get() == 1);
    }
}
