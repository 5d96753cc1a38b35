//! The actor-critic policy of the policy-gradient agents: separate actor and
//! critic MLPs (CleanRL's `Agent`: 64-64 tanh, orthogonal init with gain
//! sqrt(2), 0.01 on the actor's output and 1.0 on the critic's), or one
//! shared tanh torso with two linear heads, with a
//! categorical head for discrete actions or a diagonal Gaussian with a
//! state-independent log-std for Box actions. For pictures, convolutions
//! ([`crate::torso`]) and ReLU hidden layers form one torso under both heads,
//! as CleanRL's Atari PPO. All parameters live in one flat tensor ([`crate::flat`]).

use crate::distributions::ActionDist;
use crate::flat::{add_mlp, mlp_forward, Activation, FlatBuilder, FlatParams, HostLayers, LayerInit, LinearSlot};
use crate::torso::{ConvTorso, Network};
use anyhow::Result;
use nnlab_envs::Space;
use tch::nn;
use tch::Tensor;

/// Actor and critic networks over one observation vector.
#[derive(Debug)]
pub struct ActorCritic {
    params: FlatParams,
    /// Convolutions in front of the shared torso (pictures only).
    conv: Option<ConvTorso>,
    /// Shared hidden layers (empty for separate networks).
    torso: Vec<usize>,
    actor: Vec<usize>,
    critic: Vec<usize>,
    log_std: Option<usize>,
    act_dim: usize,
    /// gSDE: the log-std is a `[latent, act_dim]` matrix over the actor's last hidden features.
    sde_latent: Option<usize>,
}

impl ActorCritic {
    /// Builds the networks for `action_space` under `p`, initialised from torch's RNG.
    /// With `shared`, the hidden layers are one torso under both heads.
    pub fn new(p: &nn::Path, obs_dim: usize, action_space: &Space, hidden: &[usize], init_log_std: f64, shared: bool) -> Result<Self> {
        Self::with_sde(p, obs_dim, action_space, hidden, init_log_std, shared, false)
    }

    /// [`ActorCritic::new`], with generalized state-dependent exploration when `sde`
    /// (Box actions; Raffin et al. 2022, SB3's `use_sde` with `full_std`): the
    /// Gaussian's variance is `phi(s)^2 @ exp(log_std)^2 + 1e-6`, where `phi(s)` are the
    /// actor's last hidden features (their gradient stopped) and `log_std` a learned
    /// `[features, actions]` matrix, initialised to `init_log_std`.
    pub fn with_sde(p: &nn::Path, obs_dim: usize, action_space: &Space, hidden: &[usize], init_log_std: f64, shared: bool, sde: bool) -> Result<Self> {
        Self::with_network(p, &[obs_dim], action_space, hidden, init_log_std, shared, sde, Network::Mlp)
    }

    /// [`ActorCritic::with_sde`] for observations of `obs_shape` read by
    /// `network`: a convolutional one puts its convolutions and the hidden
    /// layers (ReLU) in one torso under both heads, whatever `shared` says.
    #[allow(clippy::too_many_arguments)]
    pub fn with_network(
        p: &nn::Path,
        obs_shape: &[usize],
        action_space: &Space,
        hidden: &[usize],
        init_log_std: f64,
        shared: bool,
        sde: bool,
        network: Network,
    ) -> Result<Self> {
        crate::validate::hidden_sizes(hidden)?;
        if sde && (hidden.is_empty() || matches!(action_space, Space::Discrete(_))) {
            anyhow::bail!("use_sde needs continuous (Box) actions and at least one hidden layer");
        }
        let sde_latent = sde.then(|| *hidden.last().expect("checked"));
        let sqrt2 = std::f64::consts::SQRT_2;
        let (out, continuous) = match action_space {
            Space::Discrete(n) => (*n, false),
            Space::Box(bx) => (bx.dim(), true),
        };
        let mut b = FlatBuilder::new();
        let conv = ConvTorso::new(&mut b, network, obs_shape);
        let obs_dim = conv.as_ref().map_or_else(|| obs_shape.iter().product(), ConvTorso::features);
        let (torso, critic, actor) = if shared || conv.is_some() {
            let mut torso = Vec::new();
            let mut d = obs_dim;
            for (i, &h) in hidden.iter().enumerate() {
                torso.push(b.linear(format!("shared.fc{i}"), d, h, LayerInit::Orthogonal(sqrt2)));
                d = h;
            }
            let critic = vec![b.linear("critic.out", d, 1, LayerInit::Orthogonal(1.0))];
            let actor = vec![b.linear("actor.out", d, out, LayerInit::Orthogonal(0.01))];
            (torso, critic, actor)
        } else {
            let critic = add_mlp(&mut b, "critic.", obs_dim, hidden, 1, LayerInit::Orthogonal(sqrt2), LayerInit::Orthogonal(1.0));
            let actor = add_mlp(&mut b, "actor.", obs_dim, hidden, out, LayerInit::Orthogonal(sqrt2), LayerInit::Orthogonal(0.01));
            (Vec::new(), critic, actor)
        };
        let log_std = continuous.then(|| b.vector("actor.log_std", out * sde_latent.unwrap_or(1), init_log_std));
        Ok(Self { params: b.build(p), conv, torso, actor, critic, log_std, act_dim: if continuous { out } else { 1 }, sde_latent })
    }

    /// Whether convolutions read the observation (no [`HostActorCritic`] then: act with torch).
    pub fn is_convolutional(&self) -> bool {
        self.conv.is_some()
    }

    /// The shared torso's features (the observation itself for separate networks).
    fn features(&self, obs: &Tensor) -> Tensor {
        match &self.conv {
            Some(conv) => {
                let mut h = conv.forward(&self.params, obs);
                for &l in &self.torso {
                    h = self.params.linear(l).forward(&h).relu();
                }
                h
            }
            None => {
                let mut h = obs.shallow_clone();
                for &l in &self.torso {
                    h = self.params.linear(l).forward(&h).tanh();
                }
                h
            }
        }
    }

    /// A discrete policy's logits `[B, A]` and values `[B]` at `obs`, without gradients.
    pub fn logits_and_values(&self, obs: &Tensor) -> (Tensor, Tensor) {
        tch::no_grad(|| {
            let features = self.features(obs);
            let logits = mlp_forward(&self.params, &self.actor, Activation::Tanh, &features);
            let values = mlp_forward(&self.params, &self.critic, Activation::Tanh, &features).squeeze_dim(-1);
            (logits, values)
        })
    }

    /// The flat parameters.
    pub fn flat(&self) -> &FlatParams {
        &self.params
    }

    /// Length of one stored action (1 for discrete).
    pub fn act_dim(&self) -> usize {
        self.act_dim
    }

    /// Whether actions are discrete.
    pub fn is_discrete(&self) -> bool {
        self.log_std.is_none()
    }

    /// `V(obs)`, `[B]`.
    pub fn value(&self, obs: &Tensor) -> Tensor {
        mlp_forward(&self.params, &self.critic, Activation::Tanh, &self.features(obs)).squeeze_dim(-1)
    }

    /// Whether it explores with gSDE.
    pub fn is_sde(&self) -> bool {
        self.sde_latent.is_some()
    }

    /// The action distribution at `obs`.
    pub fn dist(&self, obs: &Tensor) -> ActionDist {
        if let (Some(latent_dim), Some(i)) = (self.sde_latent, self.log_std) {
            // The actor's last hidden features, then its output layer.
            let (hidden, last) = self.actor.split_at(self.actor.len() - 1);
            let features = self.features(obs);
            let latent = if hidden.is_empty() { features } else { mlp_forward(&self.params, hidden, Activation::Tanh, &features).tanh() };
            let mean = self.params.linear(last[0]).forward(&latent);
            let std_sq = (self.params.vector(i).view([latent_dim as i64, self.act_dim as i64]) * 2.0).exp();
            let variance = latent.detach().square().matmul(&std_sq) + SDE_EPS;
            return ActionDist::DiagGaussian { mean, log_std: variance.log() * 0.5 };
        }
        let out = mlp_forward(&self.params, &self.actor, Activation::Tanh, &self.features(obs));
        match self.log_std {
            None => ActionDist::categorical(&out),
            Some(i) => ActionDist::DiagGaussian { mean: out, log_std: self.params.vector(i).shallow_clone() },
        }
    }
}

/// Added to gSDE's variance (SB3's epsilon).
const SDE_EPS: f64 = 1e-6;

/// One sampled action of a [`HostActorCritic`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct HostSample {
    /// Log-probability of the action.
    pub log_prob: f32,
    /// `V(obs)`.
    pub value: f32,
}

/// An [`ActorCritic`] on the host, for acting during rollouts: the weights are
/// copied once per rollout ([`HostActorCritic::sync`]) and each step runs the
/// small MLPs in plain Rust instead of a dozen torch calls. It samples exactly
/// as [`ActionDist::sample_with`] does (the same draws from the same RNG).
#[derive(Debug, Clone)]
pub struct HostActorCritic {
    torso: Vec<LinearSlot>,
    actor: Vec<LinearSlot>,
    critic: Vec<LinearSlot>,
    log_std: Option<(usize, usize)>,
    sde_latent: Option<usize>,
    layers: HostLayers,
    features: Vec<f32>,
    latent: Vec<f32>,
    out: Vec<f32>,
}

impl HostActorCritic {
    /// A host copy of `policy`'s current weights.
    pub fn new(policy: &ActorCritic) -> Self {
        let slots = |ix: &[usize]| ix.iter().map(|&i| policy.params.linear_slot(i).clone()).collect::<Vec<_>>();
        let log_std = policy.log_std.map(|i| {
            let s = policy.params.vector_slot(i);
            (s.offset, s.len)
        });
        let mut h = Self {
            torso: slots(&policy.torso),
            actor: slots(&policy.actor),
            critic: slots(&policy.critic),
            log_std,
            sde_latent: policy.sde_latent,
            layers: Default::default(),
            features: Vec::new(),
            latent: Vec::new(),
            out: Vec::new(),
        };
        h.sync(policy);
        h
    }

    /// Copies `policy`'s current weights.
    pub fn sync(&mut self, policy: &ActorCritic) {
        self.layers.sync(&policy.params);
    }

    fn features(&mut self, obs: &[f32]) {
        self.features.clear();
        if self.torso.is_empty() {
            self.features.extend_from_slice(obs);
        } else {
            self.features.extend_from_slice(self.layers.forward(&self.torso, obs, Activation::Tanh, true));
        }
    }

    /// `V(obs)` for one observation.
    pub fn value(&mut self, obs: &[f32]) -> f32 {
        self.features(obs);
        self.layers.forward(&self.critic, &self.features, Activation::Tanh, false)[0]
    }

    /// Whether the policy explores with gSDE (then act with [`HostActorCritic::sample_sde`]).
    pub fn is_sde(&self) -> bool {
        self.sde_latent.is_some()
    }

    /// Length of one gSDE exploration matrix (`features * act_dim`; 0 without gSDE).
    pub fn sde_noise_len(&self) -> usize {
        self.log_std.filter(|_| self.is_sde()).map_or(0, |(_, len)| len)
    }

    /// Draws a new gSDE exploration matrix into `noise`: `exp(log_std) * N(0, 1)`, row-major `[features, act_dim]`.
    pub fn draw_sde_noise<R: rand::Rng>(&self, rng: &mut R, noise: &mut [f32]) {
        let (offset, len) = self.log_std.expect("a Gaussian policy");
        let log_std = &self.layers.weights()[offset..offset + len];
        for (n, ls) in noise.iter_mut().zip(log_std) {
            let z: f32 = rng.sample(rand_distr::StandardNormal);
            *n = libm::expf(*ls) * z;
        }
    }

    /// gSDE's action for one observation with exploration matrix `noise`:
    /// `mean(s) + phi(s) @ noise`, and its log-probability under `N(mean(s), phi(s)^2 @ exp(log_std)^2 + 1e-6)`.
    pub fn sample_sde(&mut self, obs: &[f32], noise: &[f32], action: &mut [f32]) -> HostSample {
        let value = self.value(obs);
        let (hidden, last) = self.actor.split_at(self.actor.len() - 1);
        self.latent.clear();
        if hidden.is_empty() {
            self.latent.extend_from_slice(&self.features);
        } else {
            self.latent.extend_from_slice(self.layers.forward(hidden, &self.features, Activation::Tanh, true));
        }
        self.out.clear();
        self.out.extend_from_slice(self.layers.forward(last, &self.latent, Activation::Tanh, false));
        let (offset, len) = self.log_std.expect("a Gaussian policy");
        let log_std = &self.layers.weights()[offset..offset + len];
        let d = action.len();
        let mut lp = 0.0f32;
        for (k, dst) in action.iter_mut().enumerate() {
            let (mut shift, mut var) = (0.0f32, SDE_EPS as f32);
            for (j, phi) in self.latent.iter().enumerate() {
                shift += phi * noise[j * d + k];
                var += phi * phi * libm::expf(2.0 * log_std[j * d + k]);
            }
            *dst = self.out[k] + shift;
            lp += -0.5 * shift * shift / var - 0.5 * libm::logf(var) - 0.5 * crate::distributions::LN_2PI as f32;
        }
        HostSample { log_prob: lp, value }
    }

    /// Samples an action for one observation with `rng`, writing it to `action`
    /// (one index as f32 for discrete actions, `act_dim` values for Box actions).
    pub fn sample<R: rand::Rng>(&mut self, obs: &[f32], rng: &mut R, action: &mut [f32]) -> HostSample {
        let value = self.value(obs);
        self.out.clear();
        self.out.extend_from_slice(self.layers.forward(&self.actor, &self.features, Activation::Tanh, false));
        let log_prob = match self.log_std {
            None => {
                let (a, log_prob) = sample_categorical(&self.out, rng);
                action[0] = a as f32;
                log_prob
            }
            Some((offset, len)) => {
                let log_std = &self.layers.weights()[offset..offset + len];
                let mut lp = 0.0f32;
                for ((dst, mean), ls) in action.iter_mut().zip(&self.out).zip(log_std) {
                    let z: f32 = rng.sample(rand_distr::StandardNormal);
                    *dst = mean + libm::expf(*ls) * z;
                    lp += -0.5 * z * z - ls - 0.5 * crate::distributions::LN_2PI as f32;
                }
                lp
            }
        };
        HostSample { log_prob, value }
    }
}

/// One draw from the categorical distribution of `logits`, and its
/// log-probability: `log_softmax`, then the same inverse-CDF draw from `rng`
/// as `ActionDist::sample_with`.
pub fn sample_categorical<R: rand::Rng>(logits: &[f32], rng: &mut R) -> (usize, f32) {
    let max = logits.iter().fold(f32::NEG_INFINITY, |m, &v| m.max(v));
    let log_sum = libm::logf(logits.iter().map(|v| libm::expf(v - max)).sum::<f32>()) + max;
    // Probabilities are recomputed (bit-identically) rather than stored: no allocation per step.
    let prob = |v: &f32| libm::expf(v - log_sum);
    let u = rng.random::<f32>() * logits.iter().map(prob).sum::<f32>();
    let mut acc = 0.0;
    let a = logits.iter().position(|v| {
        acc += prob(v);
        u < acc
    });
    let a = a.unwrap_or(logits.len() - 1);
    (a, logits[a] - log_sum)
}

#[cfg(test)]
mod tests {
    use super::*;
    use nnlab_envs::spaces::BoxSpace;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;
    use tch::{Device, Kind};

    #[test]
    fn host_policy_samples_like_the_torch_policy() {
        let spaces = [Space::Discrete(3), Space::Box(BoxSpace::new(vec![-2.0; 2], vec![2.0; 2]))];
        for space in &spaces {
            for shared in [false, true] {
                tch::manual_seed(5);
                let vs = nn::VarStore::new(Device::Cpu);
                let ac = ActorCritic::new(&vs.root(), 4, space, &[64, 64], -0.5, shared).unwrap();
                let obs = Tensor::randn([16, 4], (Kind::Float, Device::Cpu));
                let (mut r1, mut r2) = (ChaCha8Rng::seed_from_u64(9), ChaCha8Rng::seed_from_u64(9));
                let dist = ac.dist(&obs);
                let actions = dist.sample_with(&mut r1);
                let want_lp = Vec::<f32>::try_from(dist.log_prob(&actions)).unwrap();
                let want_v = Vec::<f32>::try_from(ac.value(&obs)).unwrap();
                let want_a = Vec::<f32>::try_from(actions.to_kind(Kind::Float).flatten(0, -1)).unwrap();
                let mut host = HostActorCritic::new(&ac);
                let xs = Vec::<f32>::try_from(obs.flatten(0, -1)).unwrap();
                let k = ac.act_dim();
                for (i, x) in xs.chunks(4).enumerate() {
                    let mut a = vec![0.0; k];
                    let s = host.sample(x, &mut r2, &mut a);
                    for (got, want) in a.iter().zip(&want_a[i * k..(i + 1) * k]) {
                        assert!((got - want).abs() < 1e-5, "{space:?} shared {shared}: action {got} vs {want}");
                    }
                    assert!((s.log_prob - want_lp[i]).abs() < 1e-4, "{} vs {}", s.log_prob, want_lp[i]);
                    assert!((s.value - want_v[i]).abs() < 1e-5, "{} vs {}", s.value, want_v[i]);
                }
            }
        }
    }

    #[test]
    fn host_gsde_samples_have_the_torch_log_probability() {
        let space = Space::Box(BoxSpace::new(vec![-2.0; 2], vec![2.0; 2]));
        for shared in [false, true] {
            tch::manual_seed(6);
            let vs = nn::VarStore::new(Device::Cpu);
            let ac = ActorCritic::with_sde(&vs.root(), 3, &space, &[16, 8], -1.0, shared, true).unwrap();
            assert!(ac.is_sde());
            let obs = Tensor::randn([12, 3], (Kind::Float, Device::Cpu));
            let mut host = HostActorCritic::new(&ac);
            assert_eq!(host.sde_noise_len(), 8 * 2);
            let mut rng = ChaCha8Rng::seed_from_u64(1);
            let mut noise = vec![0.0; 16];
            host.draw_sde_noise(&mut rng, &mut noise);
            let xs = Vec::<f32>::try_from(obs.flatten(0, -1)).unwrap();
            let mut actions = Vec::new();
            let mut host_lp = Vec::new();
            for x in xs.chunks(3) {
                let mut a = [0.0; 2];
                host_lp.push(host.sample_sde(x, &noise, &mut a).log_prob);
                actions.extend(a);
            }
            let dist = ac.dist(&obs);
            let want = Vec::<f32>::try_from(dist.log_prob(&Tensor::from_slice(&actions).view([12, 2]))).unwrap();
            for (got, want) in host_lp.iter().zip(&want) {
                assert!((got - want).abs() < 1e-3, "shared {shared}: {got} vs {want}");
            }
            // One exploration matrix: the noise is a function of the state (same state, same action).
            let (mut a1, mut a2) = ([0.0; 2], [0.0; 2]);
            host.sample_sde(&xs[..3], &noise, &mut a1);
            host.sample_sde(&xs[..3], &noise, &mut a2);
            assert_eq!(a1, a2);
            assert_eq!(dist.entropy().size(), vec![12]);
        }
    }
}
