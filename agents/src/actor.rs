//! The actors of the off-policy actor-critics for Box actions, as CleanRL
//! writes them: an MLP with ReLU hidden layers whose output is squashed by
//! `tanh` and rescaled into the action space's bounds.
//!
//! - [`ActorKind::Deterministic`] (DDPG, TD3): `a = tanh(mu(s)) * scale + bias`.
//! - [`ActorKind::SquashedGaussian`] (SAC): a head of `2 * act_dim` outputs, the
//!   mean and the state-dependent log-std, the latter squashed by `tanh` into
//!   `[log_std_min, log_std_max]` (CleanRL's `[-5, 2]`); a sample is
//!   `tanh(mean + std * eps) * scale + bias` and its log-probability carries
//!   the change-of-variables correction `-sum log(scale * (1 - tanh^2) + 1e-6)`.
//!
//! All parameters live in one flat tensor ([`crate::flat`]); layers are
//! initialised as PyTorch's `nn.Linear`. [`HostActor`] runs the same network
//! in plain Rust for acting one observation at a time.

use crate::batch_renorm::{RenormMlp, RenormSettings};
use crate::flat::{add_mlp, mlp_forward, Activation, FlatParams, HostLayers, LayerInit, LinearSlot};
use nnlab_envs::spaces::BoxSpace;
use rand::Rng;
use rand_distr::StandardNormal;
use std::cell::Cell;
use tch::nn;
use tch::{Device, Kind, Tensor};

/// `ln(2 pi)`.
const LN_2PI: f64 = crate::distributions::LN_2PI;

/// The epsilon inside the tanh correction's logarithm (CleanRL, SB3).
const TANH_EPS: f64 = 1e-6;

/// Added to gSDE's variance (SB3's epsilon).
const SDE_EPS: f64 = 1e-6;

/// Which actor.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ActorKind {
    /// `tanh(mu(s))`, rescaled (DDPG, TD3).
    Deterministic,
    /// A tanh-squashed Gaussian with a state-dependent log-std squashed into `[min, max]` (SAC).
    SquashedGaussian {
        /// Lowest log standard deviation.
        log_std_min: f64,
        /// Highest log standard deviation.
        log_std_max: f64,
    },
    /// A tanh-squashed Gaussian with generalized state-dependent exploration
    /// (SB3's SAC with `use_sde`): the mean (clipped to `[-clip_mean, clip_mean]`)
    /// plus `phi(s) @ E`, where `phi(s)` are the last hidden features and `E` a
    /// `[features, act_dim]` matrix drawn from `N(0, exp(log_std)^2)`, `log_std`
    /// a learned matrix initialised to `log_std_init`.
    SquashedSde {
        /// Initial value of every log-std entry.
        log_std_init: f64,
        /// The mean is clipped to `[-clip_mean, clip_mean]` before squashing.
        clip_mean: f64,
    },
}

/// An actor network for a Box action space.
#[derive(Debug)]
pub struct Actor {
    params: FlatParams,
    layers: Vec<usize>,
    /// gSDE: the `[features, act_dim]` log-std matrix's slot and the feature width.
    sde: Option<(usize, usize)>,
    kind: ActorKind,
    act_dim: usize,
    /// `(high - low) / 2` and `(high + low) / 2` per action dimension, `[act_dim]`.
    scale: Tensor,
    bias: Tensor,
    scale_host: Vec<f32>,
    bias_host: Vec<f32>,
    /// CrossQ: the network with a batch renormalisation before every layer.
    renorm: Option<RenormMlp>,
    /// Whether the normalisations use batch statistics (the actor's own update) or running ones.
    training: Cell<bool>,
}

/// Actions sampled by a squashed-Gaussian actor, with what the SAC losses need.
#[derive(Debug)]
pub struct SquashedSample {
    /// Actions in the environment's bounds, `[B, act_dim]`.
    pub actions: Tensor,
    /// Their log-probabilities, `[B]`.
    pub log_probs: Tensor,
}

impl Actor {
    /// Builds the actor under `p` for observations of length `obs_dim` and actions in `space`.
    pub fn new(p: &nn::Path, obs_dim: usize, space: &BoxSpace, hidden: &[usize], kind: ActorKind) -> Self {
        Self::with_renorm(p, obs_dim, space, hidden, kind, None)
    }

    /// [`Actor::new`], with a batch renormalisation before every layer when `renorm`
    /// is given (CrossQ; not with gSDE).
    pub fn with_renorm(p: &nn::Path, obs_dim: usize, space: &BoxSpace, hidden: &[usize], kind: ActorKind, renorm: Option<RenormSettings>) -> Self {
        let act_dim = space.dim();
        let out = match kind {
            ActorKind::Deterministic | ActorKind::SquashedSde { .. } => act_dim,
            ActorKind::SquashedGaussian { .. } => 2 * act_dim,
        };
        let mut b = crate::flat::FlatBuilder::new();
        let renorm = renorm.map(|settings| {
            assert!(!matches!(kind, ActorKind::SquashedSde { .. }), "gSDE with batch renormalisation (refused by the config)");
            RenormMlp::add(&mut b, "actor.", obs_dim, hidden, out, settings, p.device())
        });
        let layers = match &renorm {
            Some(net) => net.layers.clone(),
            None => add_mlp(&mut b, "actor.", obs_dim, hidden, out, LayerInit::TorchDefault, LayerInit::TorchDefault),
        };
        let sde = match kind {
            ActorKind::SquashedSde { log_std_init, .. } => {
                let features = *hidden.last().expect("gSDE needs a hidden layer (checked by the config)");
                Some((b.vector("actor.log_std", features * act_dim, log_std_init), features))
            }
            _ => None,
        };
        let params = b.build(p);
        let scale_host: Vec<f32> = space.low.iter().zip(&space.high).map(|(l, h)| (h - l) / 2.0).collect();
        let bias_host: Vec<f32> = space.low.iter().zip(&space.high).map(|(l, h)| (h + l) / 2.0).collect();
        let device = params.params().device();
        let scale = Tensor::from_slice(&scale_host).to_device(device);
        let bias = Tensor::from_slice(&bias_host).to_device(device);
        Self { params, layers, sde, kind, act_dim, scale, bias, scale_host, bias_host, renorm, training: Cell::new(false) }
    }

    /// Whether the batch renormalisations (if any) normalise with the batch's statistics
    /// and move their running averages (the actor's own update), or use the running ones.
    pub fn set_training(&self, training: bool) {
        self.training.set(training);
    }

    /// The batch-renormalised network, if the actor has one.
    pub fn renorm(&self) -> Option<&RenormMlp> {
        self.renorm.as_ref()
    }

    /// gSDE's feature width (`None` for the other actors).
    pub fn sde_features(&self) -> Option<usize> {
        self.sde.map(|(_, f)| f)
    }

    /// The last hidden features `phi(s)` and the clipped mean of a gSDE actor.
    fn features_and_mean(&self, obs: &Tensor, clip_mean: f64) -> (Tensor, Tensor) {
        let (hidden, last) = self.layers.split_at(self.layers.len() - 1);
        let features = if hidden.is_empty() { obs.shallow_clone() } else { mlp_forward(&self.params, hidden, Activation::Relu, obs).relu() };
        let mean = self.params.linear(last[0]).forward(&features).clamp(-clip_mean, clip_mean);
        (features, mean)
    }

    /// gSDE's exploration matrix `exp(log_std) * z` for standard-normal `z` `[features, act_dim]`
    /// (differentiable in `log_std`, the reparameterisation SB3 uses).
    pub fn sde_matrix(&self, z: &Tensor) -> Tensor {
        let (slot, features) = self.sde.expect("a gSDE actor");
        self.params.vector(slot).view([features as i64, self.act_dim as i64]).exp() * z
    }

    /// A gSDE actor's actions `tanh(mean + phi(s) @ e) * scale + bias` with exploration
    /// matrix `e`, and their log-probabilities under `N(mean, phi(s)^2 @ exp(log_std)^2 + 1e-6)`
    /// with the tanh correction.
    pub fn sample_sde(&self, obs: &Tensor, e: &Tensor) -> SquashedSample {
        let ActorKind::SquashedSde { clip_mean, .. } = self.kind else {
            panic!("sample_sde needs a gSDE actor");
        };
        let (slot, features) = self.sde.expect("a gSDE actor");
        let (phi, mean) = self.features_and_mean(obs, clip_mean);
        let noise = phi.matmul(e);
        let y = (&mean + &noise).tanh();
        let actions = &y * &self.scale + &self.bias;
        let std_sq = (self.params.vector(slot).view([features as i64, self.act_dim as i64]) * 2.0).exp();
        let variance = phi.square().matmul(&std_sq) + SDE_EPS;
        let gaussian = noise.square() / &variance * -0.5 - variance.log() * 0.5 - 0.5 * LN_2PI;
        let correction: Tensor = ((-y.square() + 1.0) * &self.scale + TANH_EPS).log();
        let log_probs = (gaussian - correction).sum_dim_intlist(-1, false, Kind::Float);
        SquashedSample { actions, log_probs }
    }

    /// The flat parameters.
    pub fn flat(&self) -> &FlatParams {
        &self.params
    }

    /// The flat parameter tensor.
    pub fn params(&self) -> &Tensor {
        self.params.params()
    }

    /// The action scale `(high - low) / 2` per dimension, `[act_dim]` on the device.
    pub fn scale(&self) -> &Tensor {
        &self.scale
    }

    /// The action scale on the host.
    pub fn scale_host(&self) -> &[f32] {
        &self.scale_host
    }

    /// The action offset `(high + low) / 2` on the host.
    pub fn bias_host(&self) -> &[f32] {
        &self.bias_host
    }

    /// The network's layers, in order (the batch-renormalised network's too).
    pub fn slots(&self) -> Vec<LinearSlot> {
        self.layers.iter().map(|&i| self.params.linear_slot(i).clone()).collect()
    }

    /// The actor's kind.
    pub fn kind(&self) -> ActorKind {
        self.kind
    }

    /// Action dimensions.
    pub fn act_dim(&self) -> usize {
        self.act_dim
    }

    /// The network's raw output `[B, out]`.
    fn raw(&self, obs: &Tensor) -> Tensor {
        match &self.renorm {
            Some(net) => net.forward(&self.params, obs, self.training.get()),
            None => mlp_forward(&self.params, &self.layers, Activation::Relu, obs),
        }
    }

    /// The mean and the squashed log-std of a Gaussian actor, each `[B, act_dim]`.
    fn mean_log_std(&self, obs: &Tensor, min: f64, max: f64) -> (Tensor, Tensor) {
        let out = self.raw(obs);
        let d = self.act_dim as i64;
        let mean = out.narrow(-1, 0, d);
        let log_std = out.narrow(-1, d, d).tanh();
        (mean, (log_std + 1.0) * (0.5 * (max - min)) + min)
    }

    /// The deterministic action `[B, act_dim]`: `tanh(mu) * scale + bias`, or for a
    /// Gaussian actor its squashed mean.
    pub fn forward(&self, obs: &Tensor) -> Tensor {
        let mean = match self.kind {
            ActorKind::Deterministic => self.raw(obs),
            ActorKind::SquashedGaussian { .. } => self.raw(obs).narrow(-1, 0, self.act_dim as i64),
            ActorKind::SquashedSde { clip_mean, .. } => self.raw(obs).clamp(-clip_mean, clip_mean),
        };
        mean.tanh() * &self.scale + &self.bias
    }

    /// Samples actions from a squashed-Gaussian actor with standard-normal `noise`
    /// (`[B, act_dim]`, drawn by the caller from its own seeded RNG).
    pub fn sample(&self, obs: &Tensor, noise: &Tensor) -> SquashedSample {
        let ActorKind::SquashedGaussian { log_std_min, log_std_max } = self.kind else {
            panic!("sample needs a squashed-Gaussian actor");
        };
        let (mean, log_std) = self.mean_log_std(obs, log_std_min, log_std_max);
        let x = &mean + log_std.exp() * noise;
        let y = x.tanh();
        let actions = &y * &self.scale + &self.bias;
        // Normal(mean, std).log_prob(x) = -eps^2/2 - log_std - ln(2 pi)/2, then the tanh correction.
        let gaussian = noise.square() * -0.5 - &log_std - 0.5 * LN_2PI;
        let correction: Tensor = ((-y.square() + 1.0) * &self.scale + TANH_EPS).log();
        let log_probs = (gaussian - correction).sum_dim_intlist(-1, false, Kind::Float);
        SquashedSample { actions, log_probs }
    }

    /// Standard-normal noise `[rows, act_dim]` from `rng` on `device`.
    pub fn noise<R: Rng>(&self, rng: &mut R, rows: usize, device: Device) -> Tensor {
        let v: Vec<f32> = (0..rows * self.act_dim).map(|_| rng.sample::<f32, _>(StandardNormal)).collect();
        Tensor::from_slice(&v).view([rows as i64, self.act_dim as i64]).to_device(device)
    }
}

/// An [`Actor`] on the host: the weights are copied after each actor update
/// ([`HostActor::sync`]) and each environment step runs the MLP in plain Rust.
#[derive(Debug, Clone)]
pub struct HostActor {
    slots: Vec<LinearSlot>,
    /// gSDE: the log-std matrix's offset and length in the flat vector.
    sde: Option<(usize, usize)>,
    features: Vec<f32>,
    kind: ActorKind,
    act_dim: usize,
    scale: Vec<f32>,
    bias: Vec<f32>,
    layers: HostLayers,
}

impl HostActor {
    /// A host copy of `actor`'s current weights.
    pub fn new(actor: &Actor) -> Self {
        let slots = actor.slots();
        let sde = actor.sde.map(|(slot, _)| {
            let v = actor.params.vector_slot(slot);
            (v.offset, v.len)
        });
        let mut h = Self {
            slots,
            sde,
            features: Vec::new(),
            kind: actor.kind,
            act_dim: actor.act_dim,
            scale: actor.scale_host.clone(),
            bias: actor.bias_host.clone(),
            layers: HostLayers::new(),
        };
        h.sync(actor);
        h
    }

    /// Copies `actor`'s current weights.
    pub fn sync(&mut self, actor: &Actor) {
        self.layers.sync(&actor.params);
        if let Some(net) = &actor.renorm {
            // The running statistics, folded into the layers: the evaluation-mode network.
            net.fold_into(&actor.params, self.layers.weights_mut());
        }
    }

    /// The deterministic action for one observation, written to `action`.
    pub fn act(&mut self, obs: &[f32], action: &mut [f32]) {
        let clip = match self.kind {
            ActorKind::SquashedSde { clip_mean, .. } => clip_mean as f32,
            _ => f32::INFINITY,
        };
        let out = self.layers.forward(&self.slots, obs, Activation::Relu, false);
        for (i, a) in action.iter_mut().enumerate() {
            *a = libm::tanhf(out[i].clamp(-clip, clip)) * self.scale[i] + self.bias[i];
        }
    }

    /// Draws a gSDE exploration matrix into `e`: `exp(log_std) * N(0, 1)`, row-major `[features, act_dim]`.
    pub fn draw_sde_matrix<R: Rng>(&self, rng: &mut R, e: &mut [f32]) {
        let (offset, len) = self.sde.expect("a gSDE actor");
        for (x, ls) in e.iter_mut().zip(&self.layers.weights()[offset..offset + len]) {
            let z: f32 = rng.sample(StandardNormal);
            *x = libm::expf(*ls) * z;
        }
    }

    /// A gSDE actor's exploring action for one observation with exploration matrix `e`.
    pub fn sample_sde(&mut self, obs: &[f32], e: &[f32], action: &mut [f32]) {
        let ActorKind::SquashedSde { clip_mean, .. } = self.kind else {
            panic!("sample_sde needs a gSDE actor");
        };
        let (hidden, last) = self.slots.split_at(self.slots.len() - 1);
        self.features.clear();
        if hidden.is_empty() {
            self.features.extend_from_slice(obs);
        } else {
            self.features.extend_from_slice(self.layers.forward(hidden, obs, Activation::Relu, true));
        }
        let mean = self.layers.forward(last, &self.features, Activation::Relu, false);
        let d = self.act_dim;
        for (k, a) in action.iter_mut().enumerate() {
            let shift: f32 = self.features.iter().enumerate().map(|(j, phi)| phi * e[j * d + k]).sum();
            *a = libm::tanhf(mean[k].clamp(-clip_mean as f32, clip_mean as f32) + shift) * self.scale[k] + self.bias[k];
        }
    }

    /// A squashed-Gaussian actor's sampled action for one observation (one
    /// standard-normal draw from `rng` per dimension), written to `action`.
    pub fn sample<R: Rng>(&mut self, obs: &[f32], rng: &mut R, action: &mut [f32]) {
        let ActorKind::SquashedGaussian { log_std_min, log_std_max } = self.kind else {
            panic!("sample needs a squashed-Gaussian actor");
        };
        let (min, max) = (log_std_min as f32, log_std_max as f32);
        let d = self.act_dim;
        let out = self.layers.forward(&self.slots, obs, Activation::Relu, false);
        for (i, a) in action.iter_mut().enumerate() {
            let log_std = (libm::tanhf(out[d + i]) + 1.0) * (0.5 * (max - min)) + min;
            let z: f32 = rng.sample(StandardNormal);
            *a = libm::tanhf(out[i] + libm::expf(log_std) * z) * self.scale[i] + self.bias[i];
        }
    }
}

/// A [`HostActor`] that follows an [`Actor`]: marked stale when the actor
/// changes, copied again only when it is next used.
#[derive(Debug, Clone)]
pub struct ActorMirror {
    host: HostActor,
    stale: bool,
}

impl ActorMirror {
    /// A mirror of `actor`'s current weights.
    pub fn new(actor: &Actor) -> Self {
        Self { host: HostActor::new(actor), stale: false }
    }

    /// The actor changed (an update, a load, a restore).
    pub fn mark_stale(&mut self) {
        self.stale = true;
    }

    /// The host copy, up to date with `actor`.
    pub fn get(&mut self, actor: &Actor) -> &mut HostActor {
        if self.stale {
            self.host.sync(actor);
            self.stale = false;
        }
        &mut self.host
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    fn space() -> BoxSpace {
        BoxSpace::new(vec![-2.0, 0.0], vec![2.0, 1.0])
    }

    #[test]
    fn host_actor_agrees_with_the_torch_actor() {
        let kinds = [ActorKind::Deterministic, ActorKind::SquashedGaussian { log_std_min: -5.0, log_std_max: 2.0 }];
        for kind in kinds {
            tch::manual_seed(4);
            let vs = nn::VarStore::new(Device::Cpu);
            let actor = Actor::new(&vs.root(), 3, &space(), &[32, 32], kind);
            let obs = Tensor::randn([20, 3], (Kind::Float, Device::Cpu));
            let want = Vec::<f32>::try_from(actor.forward(&obs).flatten(0, -1)).unwrap();
            let mut host = HostActor::new(&actor);
            let xs = Vec::<f32>::try_from(obs.flatten(0, -1)).unwrap();
            for (i, x) in xs.chunks(3).enumerate() {
                let mut a = [0.0; 2];
                host.act(x, &mut a);
                for k in 0..2 {
                    assert!((a[k] - want[2 * i + k]).abs() < 1e-5, "{kind:?}: {} vs {}", a[k], want[2 * i + k]);
                    assert!(a[k] >= [-2.0, 0.0][k] && a[k] <= [2.0, 1.0][k]);
                }
            }
            if let ActorKind::SquashedGaussian { .. } = kind {
                let (mut r1, mut r2) = (ChaCha8Rng::seed_from_u64(3), ChaCha8Rng::seed_from_u64(3));
                let noise = actor.noise(&mut r1, 20, Device::Cpu);
                let s = actor.sample(&obs, &noise);
                let want = Vec::<f32>::try_from(s.actions.flatten(0, -1)).unwrap();
                for (i, x) in xs.chunks(3).enumerate() {
                    let mut a = [0.0; 2];
                    host.sample(x, &mut r2, &mut a);
                    assert!((a[0] - want[2 * i]).abs() < 1e-5 && (a[1] - want[2 * i + 1]).abs() < 1e-5);
                }
            }
        }
    }

    #[test]
    fn squashed_log_prob_matches_the_change_of_variables_formula() {
        // One dimension, scale 2: log p(a) = log N(x; mu, sigma) - log(2 (1 - tanh(x)^2) + 1e-6).
        tch::manual_seed(1);
        let vs = nn::VarStore::new(Device::Cpu);
        let sp = BoxSpace::new(vec![-2.0], vec![2.0]);
        let actor = Actor::new(&vs.root(), 3, &sp, &[16], ActorKind::SquashedGaussian { log_std_min: -5.0, log_std_max: 2.0 });
        let obs = Tensor::randn([8, 3], (Kind::Float, Device::Cpu));
        let noise = Tensor::randn([8, 1], (Kind::Float, Device::Cpu));
        let s = actor.sample(&obs, &noise);
        let (mean, log_std) = actor.mean_log_std(&obs, -5.0, 2.0);
        let (m, ls, z) = (
            Vec::<f32>::try_from(mean.flatten(0, -1)).unwrap(),
            Vec::<f32>::try_from(log_std.flatten(0, -1)).unwrap(),
            Vec::<f32>::try_from(noise.flatten(0, -1)).unwrap(),
        );
        let lp = Vec::<f32>::try_from(s.log_probs).unwrap();
        for i in 0..8 {
            let (m, ls, z) = (m[i] as f64, ls[i] as f64, z[i] as f64);
            assert!((-5.0..=2.0).contains(&ls));
            let x = m + libm::exp(ls) * z;
            let sigma = libm::exp(ls);
            let normal = -((x - m) / sigma).powi(2) / 2.0 - libm::log(sigma) - 0.5 * libm::log(2.0 * std::f64::consts::PI);
            let want = normal - libm::log(2.0 * (1.0 - libm::tanh(x).powi(2)) + 1e-6);
            assert!((lp[i] as f64 - want).abs() < 1e-3, "{} vs {want}", lp[i]);
        }
    }

    #[test]
    fn host_gsde_actor_agrees_with_the_torch_one() {
        tch::manual_seed(8);
        let vs = nn::VarStore::new(Device::Cpu);
        let actor = Actor::new(&vs.root(), 3, &space(), &[16, 8], ActorKind::SquashedSde { log_std_init: -1.0, clip_mean: 2.0 });
        assert_eq!(actor.sde_features(), Some(8));
        let obs = Tensor::randn([10, 3], (Kind::Float, Device::Cpu));
        let mut host = HostActor::new(&actor);
        let mut rng = ChaCha8Rng::seed_from_u64(2);
        let mut e = vec![0.0f32; 16];
        host.draw_sde_matrix(&mut rng, &mut e);
        let s = actor.sample_sde(&obs, &Tensor::from_slice(&e).view([8, 2]));
        let want = Vec::<f32>::try_from(s.actions.flatten(0, -1)).unwrap();
        let det = Vec::<f32>::try_from(actor.forward(&obs).flatten(0, -1)).unwrap();
        let xs = Vec::<f32>::try_from(obs.flatten(0, -1)).unwrap();
        for (i, x) in xs.chunks(3).enumerate() {
            let (mut a, mut d) = ([0.0; 2], [0.0; 2]);
            host.sample_sde(x, &e, &mut a);
            host.act(x, &mut d);
            for k in 0..2 {
                assert!((a[k] - want[2 * i + k]).abs() < 1e-5, "{} vs {}", a[k], want[2 * i + k]);
                assert!((d[k] - det[2 * i + k]).abs() < 1e-5);
            }
        }
        // The log-probability: a Gaussian in the pre-tanh space with variance phi^2 @ exp(log_std)^2 + 1e-6.
        let lp = Vec::<f32>::try_from(&s.log_probs).unwrap();
        assert!(lp.iter().all(|v| v.is_finite()));
        // Gradients reach the log-std matrix through the exploration matrix and the variance.
        let z = Tensor::randn([8, 2], (Kind::Float, Device::Cpu));
        actor.sample_sde(&obs, &actor.sde_matrix(&z)).log_probs.sum(Kind::Float).backward();
        let g = actor.params().grad();
        assert!(f64::try_from(g.abs().sum(Kind::Float)).unwrap() > 0.0);
    }
}
