//! The maximum-entropy actor that SAC, TQC and CrossQ share: a
//! tanh-squashed Gaussian actor (or gSDE's), its Adam optimiser, the entropy
//! temperature `alpha` (fixed, or tuned toward a target entropy as in SAC's
//! second paper), and the host copy of the actor used to act.
//!
//! The algorithms differ in their critics; each hands [`SoftActor::step`] the
//! value its critics give the actor's sampled actions.

use crate::actor::{Actor, ActorMirror, SquashedSample};
use crate::offpolicy::StatSums;
use anyhow::{bail, Result};
use nnlab_torch::optim::{Adam, Optimizer};
use nnlab_torch::state::TrainState;
use rand_chacha::ChaCha8Rng;
use tch::{nn, Device, Kind, Tensor};

/// How the soft actor learns.
#[derive(Debug, Clone, Copy)]
pub struct SoftActorSettings {
    /// Adam learning rate of the actor.
    pub policy_lr: f64,
    /// Adam learning rate of `log(alpha)`.
    pub alpha_lr: f64,
    /// Adam's `beta1` for the actor (0.9 in SAC, 0.5 in CrossQ; the temperature's is 0.9).
    pub beta1: f64,
    /// SB3's temperature loss `-log(alpha) * (log pi + target_entropy)` instead of
    /// CleanRL's `-alpha * (log pi + target_entropy)` (the same fixed point; SB3's
    /// gradient is CleanRL's divided by `alpha`).
    pub log_alpha_loss: bool,
    /// Tune the temperature (from `alpha_init`) toward `target_entropy`.
    pub autotune: bool,
    /// The temperature when fixed; its initial value when tuned.
    pub alpha_init: f64,
    /// Target entropy of the tuned temperature.
    pub target_entropy: f64,
    /// gSDE: environment steps between new exploration matrices.
    pub sde_period: usize,
}

/// A squashed-Gaussian actor, its optimiser and its temperature.
pub struct SoftActor {
    actor: Actor,
    optimizer: Optimizer,
    /// `log(alpha)` and its optimiser, when tuned.
    log_alpha: Option<(Tensor, Optimizer)>,
    /// The current temperature, a scalar on the device.
    alpha: Tensor,
    settings: SoftActorSettings,
    device: Device,
    host: ActorMirror,
    /// gSDE: the exploration matrix used for acting, and the exploring steps taken.
    sde_explore: Vec<f32>,
    explore_steps: usize,
}

impl SoftActor {
    /// The soft actor around `actor`, whose parameters live in `actor_vs`.
    pub fn new(actor: Actor, actor_vs: &nn::VarStore, settings: SoftActorSettings) -> Result<Self> {
        let device = actor_vs.device();
        let optimizer = Adam { beta1: settings.beta1, ..Default::default() }.build(actor_vs, settings.policy_lr)?;
        let (log_alpha, alpha) = if settings.autotune {
            let alpha_vs = nn::VarStore::new(device);
            let log_alpha = alpha_vs.root().var("log_alpha", &[], nn::Init::Const(libm::log(settings.alpha_init)));
            let opt = Adam::default().build(&alpha_vs, settings.alpha_lr)?;
            let alpha = log_alpha.detach().exp();
            (Some((log_alpha, opt)), alpha)
        } else {
            (None, Tensor::from(settings.alpha_init as f32).to_device(device))
        };
        let sde_len = actor.sde_features().map_or(0, |f| f * actor.act_dim());
        Ok(Self { host: ActorMirror::new(&actor), actor, optimizer, log_alpha, alpha, settings, device, sde_explore: vec![0.0; sde_len], explore_steps: 0 })
    }

    /// The actor network.
    pub fn actor(&self) -> &Actor {
        &self.actor
    }

    /// The current temperature, a scalar tensor on the device.
    pub fn alpha_tensor(&self) -> &Tensor {
        &self.alpha
    }

    /// The current temperature.
    pub fn alpha(&self) -> f64 {
        f64::try_from(&self.alpha).unwrap_or(f64::NAN)
    }

    /// Whether the actor explores with gSDE.
    pub fn is_sde(&self) -> bool {
        self.actor.sde_features().is_some()
    }

    /// The noise of one gradient step's samples from `rng`: per-row standard normals
    /// `[rows, act_dim]`, or for gSDE one standard-normal matrix `[features, act_dim]`
    /// for the whole batch (SB3).
    pub fn draw_noise(&self, rng: &mut ChaCha8Rng, rows: usize) -> Tensor {
        let rows = self.actor.sde_features().unwrap_or(rows);
        self.actor.noise(rng, rows, self.device)
    }

    /// Actions and log-probabilities at `obs` with `noise` from [`SoftActor::draw_noise`].
    pub fn sample(&self, obs: &Tensor, noise: &Tensor) -> SquashedSample {
        if self.is_sde() {
            self.actor.sample_sde(obs, &self.actor.sde_matrix(noise))
        } else {
            self.actor.sample(obs, noise)
        }
    }

    /// One actor step on `alpha * log pi(a|s) - q(a)`, `a ~ pi(.|s)` drawn with
    /// `noise`, where `q` gives the critics' value of the sampled actions `[B]`
    /// (with the critics' weights treated as constants); then, when tuned, one
    /// temperature step on `-alpha * (log pi + target_entropy)` with the same
    /// log-probabilities. Adds `actor_loss` and `alpha` at statistic `first`,
    /// and `alpha_loss` after them when tuned.
    pub fn step(&mut self, obs: &Tensor, noise: &Tensor, q: impl FnOnce(&Tensor) -> Tensor, stats: &mut StatSums, first: usize) {
        // A batch-renormalised actor (CrossQ) normalises with this batch in its own update.
        self.actor.set_training(true);
        let pi = self.sample(obs, noise);
        self.actor.set_training(false);
        let q_pi = q(&pi.actions);
        let actor_loss = (&self.alpha * &pi.log_probs - q_pi).mean(Kind::Float);
        self.optimizer.backward_step(&actor_loss);
        stats.add(first, &[actor_loss, self.alpha.shallow_clone()]);
        if let Some((log_alpha, opt)) = &mut self.log_alpha {
            let coef = if self.settings.log_alpha_loss { log_alpha.shallow_clone() } else { log_alpha.exp() };
            let alpha_loss = (-coef * (pi.log_probs.detach() + self.settings.target_entropy)).mean(Kind::Float);
            opt.backward_step(&alpha_loss);
            self.alpha = log_alpha.detach().exp();
            stats.add(first + 2, &[alpha_loss]);
        }
        self.host.mark_stale();
    }

    /// The end of an actor step whose gradient a host update wrote into the actor's
    /// gradient tensor ([`crate::sac_host`]): the actor's optimiser step, then, when
    /// tuned, the temperature's step on `log_probs`, as [`SoftActor::step`] does.
    /// Adds the same statistics.
    pub fn step_from_gradient(&mut self, actor_loss: f32, log_probs: &[f32], stats: &mut StatSums, first: usize) {
        self.optimizer.step();
        let alpha = f32::try_from(&self.alpha).unwrap_or(f32::NAN);
        stats.add_values(first, &[actor_loss, alpha]);
        if let Some((log_alpha, opt)) = &mut self.log_alpha {
            // d/d log(alpha) of -coef * mean(log pi + target_entropy), coef = alpha (CleanRL) or log(alpha) (SB3).
            let target_entropy = self.settings.target_entropy as f32;
            let mean = log_probs.iter().map(|&l| l + target_entropy).sum::<f32>() / log_probs.len() as f32;
            let (coef, d_coef) = if self.settings.log_alpha_loss { (f32::try_from(&*log_alpha).unwrap_or(f32::NAN), 1.0) } else { (alpha, alpha) };
            let grad = crate::host_net::gradient_of(log_alpha);
            crate::host_net::values_mut(&grad)[0] = -d_coef * mean;
            opt.step();
            self.alpha = log_alpha.detach().exp();
            stats.add_values(first + 2, &[-coef * mean]);
        }
        self.host.mark_stale();
    }

    /// The exploration action for one observation (a gSDE actor draws a new
    /// exploration matrix every `sde_period` steps).
    pub fn explore(&mut self, rng: &mut ChaCha8Rng, obs: &[f32], action: &mut [f32]) {
        if self.sde_explore.is_empty() {
            self.host.get(&self.actor).sample(obs, rng, action);
            return;
        }
        let host = self.host.get(&self.actor);
        if self.explore_steps.is_multiple_of(self.settings.sde_period) {
            host.draw_sde_matrix(rng, &mut self.sde_explore);
        }
        self.explore_steps += 1;
        host.sample_sde(obs, &self.sde_explore, action);
    }

    /// The deterministic action (the squashed mean) for one observation.
    pub fn act(&mut self, obs: &[f32], action: &mut [f32]) {
        self.host.get(&self.actor).act(obs, action);
    }

    /// The actor's weights changed from outside (a load).
    pub fn mark_stale(&mut self) {
        self.host.mark_stale();
    }

    /// Adds the actor, its optimiser, the temperature and the exploration state to `s`.
    pub fn put_train_state(&self, s: &mut TrainState) -> Result<()> {
        s.put_tensor("actor", self.actor.params())?;
        if let Some(net) = self.actor.renorm() {
            net.put_state(s, "actor_norms.")?;
        }
        s.put_part("actor_optimizer", self.optimizer.train_state()?);
        if let Some((log_alpha, opt)) = &self.log_alpha {
            s.put_tensor("log_alpha", log_alpha)?;
            s.put_part("alpha_optimizer", opt.train_state()?);
        }
        s.put_f32s("sde_explore", &self.sde_explore);
        s.put("explore_steps", &self.explore_steps)
    }

    /// Restores what [`SoftActor::put_train_state`] added.
    pub fn restore_train_state(&mut self, s: &TrainState) -> Result<()> {
        s.copy_into("actor", self.actor.params())?;
        if let Some(net) = self.actor.renorm() {
            net.restore_state(s, "actor_norms.")?;
        }
        self.optimizer.restore_train_state(&s.part("actor_optimizer"))?;
        if let Some((log_alpha, opt)) = &mut self.log_alpha {
            s.copy_into("log_alpha", log_alpha)?;
            opt.restore_train_state(&s.part("alpha_optimizer"))?;
            self.alpha = log_alpha.detach().exp();
        }
        let e = s.f32s("sde_explore")?;
        if e.len() != self.sde_explore.len() {
            bail!("the checkpoint's exploration matrix has {} values, expected {}", e.len(), self.sde_explore.len());
        }
        self.sde_explore = e;
        self.explore_steps = s.get("explore_steps")?;
        self.host.mark_stale();
        Ok(())
    }
}

/// The policy fields of a soft actor's config, for [`SoftPolicy::kind`] and [`SoftPolicy::validate`].
#[derive(Debug, Clone, Copy)]
pub struct SoftPolicy<'a> {
    /// gSDE instead of a state-dependent log-std.
    pub use_sde: bool,
    /// gSDE: the initial log-std.
    pub log_std_init: f64,
    /// gSDE: the mean's clip before squashing.
    pub clip_mean: f64,
    /// The lowest log-std (not gSDE).
    pub log_std_min: f64,
    /// The highest log-std (not gSDE).
    pub log_std_max: f64,
    /// The tuned temperature's target entropy (absent: `-|A|`).
    pub target_entropy: Option<f64>,
    /// The hidden layers.
    pub hidden_sizes: &'a [usize],
}

impl SoftPolicy<'_> {
    /// The actor network's kind: squashed Gaussian, or gSDE's.
    pub fn kind(&self) -> crate::actor::ActorKind {
        if self.use_sde {
            crate::actor::ActorKind::SquashedSde { log_std_init: self.log_std_init, clip_mean: self.clip_mean }
        } else {
            crate::actor::ActorKind::SquashedGaussian { log_std_min: self.log_std_min, log_std_max: self.log_std_max }
        }
    }

    /// Checks the fields; the error is one line naming the key.
    pub fn validate(&self) -> Result<()> {
        if let Some(h) = self.target_entropy {
            if !h.is_finite() || h.abs() > nnlab_torch::check::LARGEST {
                bail!(
                    "target_entropy must be a number of at most {} in size (a 32-bit float), got {}",
                    nnlab_torch::check::fmt_num(nnlab_torch::check::LARGEST),
                    nnlab_torch::check::fmt_num(h)
                );
            }
        }
        if self.use_sde {
            if self.hidden_sizes.is_empty() {
                bail!("use_sde needs at least one hidden layer (its noise is a function of the last one)");
            }
            crate::validate::in_range("log_std_init", self.log_std_init, -20.0, 5.0)?;
            crate::validate::positive("clip_mean", self.clip_mean)?;
        }
        if !(self.log_std_min.is_finite() && self.log_std_max.is_finite() && self.log_std_min < self.log_std_max) {
            bail!("log_std_min ({}) must be less than log_std_max ({}), both finite", self.log_std_min, self.log_std_max);
        }
        crate::validate::hidden_sizes(self.hidden_sizes)
    }
}
