//! Soft Actor-Critic (Haarnoja et al. 2018), as CleanRL's
//! `sac_continuous_action.py` defines it.
//!
//! A tanh-squashed Gaussian actor with a state-dependent log-std (squashed
//! into `[log_std_min, log_std_max]`) and twin Q critics. Every update after
//! `learning_starts` the critics regress on the soft target
//! `r + gamma * (1 - terminated) * (min_k Q_target_k(s', a') - alpha * log pi(a'|s'))`
//! with `a' ~ pi(.|s')`; every `policy_frequency` updates the actor takes
//! `policy_frequency` steps on `alpha * log pi(a|s) - min_k Q_k(s, a)` (CleanRL's
//! compensation for the delay), and with `autotune` the temperature follows
//! `-exp(log_alpha) * (log pi + target_entropy)`, toward `target_entropy = -|A|`.
//! The critics' targets move by `tau` every `target_network_frequency` updates.
//!
//! One difference from CleanRL, for speed and as SB3 and the authors' code do:
//! the temperature's loss reuses the log-probabilities of the actor step it
//! follows instead of sampling the actor again.
//!
//! Seeds: `tch::manual_seed(seed)` initialises the networks; the agent's
//! `ChaCha8Rng::seed_from_u64(seed)` draws random actions, every Gaussian
//! sample (acting and updates) and the replay batches.

use crate::actor::Actor;
use crate::agent::OwnedAction;
use crate::algorithm::{common_config_fields, seed_field, AlgorithmConfig, PublishedScore, RunConfig};
use crate::critic::QCritics;
use crate::offpolicy::{box_action_space, load_actor_critics, save_actor_critics, validate_gamma_tau, LoopSettings, OffPolicy, OffPolicyLearner, StatSums};
use crate::replay_buffer::Batch;
use crate::sac_host::HostSac;
use crate::soft_actor::{SoftActor, SoftActorSettings, SoftPolicy};
use crate::validate::{self, nonzero, positive};
use anyhow::Result;
use nnlab_envs::Space;
use nnlab_torch::check::fits_in_memory;
use nnlab_torch::optim::{Adam, Optimizer};
use nnlab_torch::state::TrainState;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};
use tch::{nn, Device, Kind, Reduction, Tensor};

/// Every SAC hyperparameter, with CleanRL's `sac_continuous_action.py` defaults.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct SacConfig {
    /// Gymnasium id of the environment (Box actions).
    pub env_id: String,
    /// Seed of the whole run (networks, sampling, replay, environment).
    pub seed: u64,
    /// Environment steps to train for.
    pub total_timesteps: usize,
    /// Replay buffer capacity in transitions.
    pub buffer_size: usize,
    /// Discount factor.
    #[schemars(range(min = 0.0, max = 1.0))]
    pub gamma: f64,
    /// Target smoothing coefficient (Polyak), in (0, 1].
    pub tau: f64,
    /// Transitions per gradient update.
    pub batch_size: usize,
    /// Steps of uniform random actions before learning starts.
    pub learning_starts: usize,
    /// Adam learning rate of the actor.
    #[schemars(extend("exclusiveMinimum" = 0.0))]
    pub policy_lr: f64,
    /// Adam learning rate of the critics (and of the temperature).
    #[schemars(extend("exclusiveMinimum" = 0.0))]
    pub q_lr: f64,
    /// Critic updates between actor rounds (each round takes this many actor steps).
    pub policy_frequency: usize,
    /// Critic updates between target updates.
    pub target_network_frequency: usize,
    /// Entropy coefficient when `autotune` is off.
    pub alpha: f64,
    /// Tune the entropy coefficient (from `initial_alpha`) toward `target_entropy`.
    pub autotune: bool,
    /// With `autotune`: the temperature's starting value (absent: 1.0, CleanRL's and SB3's `"auto"`).
    pub initial_alpha: Option<f64>,
    /// Target entropy of the tuned temperature (absent: `-|A|`).
    pub target_entropy: Option<f64>,
    /// Lowest log standard deviation of the policy.
    pub log_std_min: f64,
    /// Highest log standard deviation of the policy.
    pub log_std_max: f64,
    /// Generalized state-dependent exploration (SB3's `use_sde`): the policy's noise is
    /// `phi(s) @ E` over its last hidden features, `E ~ N(0, exp(log_std)^2)` with a learned
    /// `[features, actions]` log-std matrix; `log_std_min`/`log_std_max` are then unused.
    pub use_sde: bool,
    /// With `use_sde`: environment steps between new exploration matrices (0: one per
    /// training round of `train_frequency` steps, SB3's default); each gradient step draws its own.
    pub sde_sample_freq: usize,
    /// With `use_sde`: the initial value of the log-std matrix.
    pub log_std_init: f64,
    /// With `use_sde`: the mean is clipped to `[-clip_mean, clip_mean]` before squashing.
    pub clip_mean: f64,
    /// Environment steps between training rounds.
    pub train_frequency: usize,
    /// Gradient updates per training round.
    pub gradient_steps: usize,
    /// Widths of the hidden ReLU layers of the actor and each critic.
    pub hidden_sizes: Vec<usize>,
    /// Deterministic evaluation episodes at the end of training (the policy's squashed mean).
    pub eval_episodes: usize,
}

impl Default for SacConfig {
    fn default() -> Self {
        Self {
            env_id: "Pendulum-v1".into(),
            seed: 1,
            total_timesteps: 1_000_000,
            buffer_size: 1_000_000,
            gamma: 0.99,
            tau: 0.005,
            batch_size: 256,
            learning_starts: 5_000,
            policy_lr: 3e-4,
            q_lr: 1e-3,
            policy_frequency: 2,
            target_network_frequency: 1,
            alpha: 0.2,
            autotune: true,
            initial_alpha: None,
            target_entropy: None,
            log_std_min: -5.0,
            log_std_max: 2.0,
            use_sde: false,
            sde_sample_freq: 0,
            log_std_init: -3.0,
            clip_mean: 2.0,
            train_frequency: 1,
            gradient_steps: 1,
            hidden_sizes: vec![256, 256],
            eval_episodes: 10,
        }
    }
}

impl SacConfig {
    /// The shared loop's settings.
    pub fn loop_settings(&self) -> LoopSettings {
        crate::loop_settings_of!(self)
    }

    /// Checks every value; the error is one line naming the key.
    pub fn validate(&self) -> Result<()> {
        box_action_space("SAC", &self.env_id)?;
        self.loop_settings().validate()?;
        validate_gamma_tau(self.gamma, self.tau)?;
        positive("policy_lr", self.policy_lr)?;
        positive("q_lr", self.q_lr)?;
        validate::period_within("policy_frequency", self.policy_frequency, "total_timesteps", self.total_timesteps)?;
        nonzero("target_network_frequency", self.target_network_frequency)?;
        positive("alpha", self.alpha)?;
        if let Some(a) = self.initial_alpha {
            positive("initial_alpha", a)?;
        }
        self.soft_policy().validate()
    }

    /// The policy fields.
    pub fn soft_policy(&self) -> SoftPolicy<'_> {
        SoftPolicy {
            use_sde: self.use_sde,
            log_std_init: self.log_std_init,
            clip_mean: self.clip_mean,
            log_std_min: self.log_std_min,
            log_std_max: self.log_std_max,
            target_entropy: self.target_entropy,
            hidden_sizes: &self.hidden_sizes,
        }
    }
}

/// The SAC learner: the soft actor (actor, temperature, optimisers), twin critics and their targets.
pub struct Sac {
    config: SacConfig,
    device: Device,
    soft: SoftActor,
    critics: QCritics,
    critics_target: QCritics,
    critic_optimizer: Optimizer,
    rng: ChaCha8Rng,
    /// The update written out on the host (CPU, squashed-Gaussian actor); `None`: LibTorch's.
    host: Option<HostSac>,
}

/// A SAC agent.
pub type SacAgent = OffPolicy<Sac>;

impl SacConfig {
    /// The soft actor's settings for `act_dim` action dimensions.
    pub fn soft_actor_settings(&self, act_dim: usize) -> SoftActorSettings {
        SoftActorSettings {
            policy_lr: self.policy_lr,
            alpha_lr: self.q_lr,
            beta1: 0.9,
            log_alpha_loss: false,
            autotune: self.autotune,
            alpha_init: if self.autotune { self.initial_alpha.unwrap_or(1.0) } else { self.alpha },
            target_entropy: self.target_entropy.unwrap_or(-(act_dim as f64)),
            sde_period: if self.sde_sample_freq > 0 { self.sde_sample_freq } else { self.train_frequency },
        }
    }
}

impl Sac {
    /// A SAC agent for `config.env_id` on `device`.
    pub fn agent(config: SacConfig, device: Device) -> Result<SacAgent> {
        config.validate()?;
        let space = Space::Box(box_action_space("SAC", &config.env_id)?);
        Ok(OffPolicy::from_learner(Self::build(config, device)?, space))
    }

    fn build(config: SacConfig, device: Device) -> Result<Self> {
        let space = box_action_space("SAC", &config.env_id)?;
        let obs_dim = nnlab_envs::make(&config.env_id)?.observation_space().dim();
        let act_dim = space.dim();
        let (actor_vs, critic_vs) = (nn::VarStore::new(device), nn::VarStore::new(device));
        let mut critic_target_vs = nn::VarStore::new(device);
        let h = &config.hidden_sizes;
        let (actor, critics, critics_target) = crate::with_torch_seed(config.seed, || {
            let actor = Actor::new(&actor_vs.root(), obs_dim, &space, h, config.soft_policy().kind());
            let critics = QCritics::new(&critic_vs.root(), 2, obs_dim, act_dim, h);
            let critics_target = QCritics::new(&critic_target_vs.root(), 2, obs_dim, act_dim, h);
            (actor, critics, critics_target)
        });
        critic_target_vs.freeze();
        critics_target.blend_from(&critics, 1.0);
        let host =
            (device == Device::Cpu && !config.use_sde).then(|| HostSac::new(&actor, &critics, obs_dim, (config.log_std_min, config.log_std_max), config.gamma));
        let soft = SoftActor::new(actor, &actor_vs, config.soft_actor_settings(act_dim))?;
        let critic_optimizer = Adam::default().build(&critic_vs, config.q_lr)?;
        Ok(Self { device, soft, critics, critics_target, critic_optimizer, rng: ChaCha8Rng::seed_from_u64(config.seed), host, config })
    }

    /// The actor.
    pub fn actor(&self) -> &Actor {
        self.soft.actor()
    }

    /// The current entropy coefficient.
    pub fn alpha(&self) -> f64 {
        self.soft.alpha()
    }

    /// The noise of one gradient step's samples (see [`SoftActor::draw_noise`]).
    fn draw_noise(&mut self, rows: usize) -> Tensor {
        self.soft.draw_noise(&mut self.rng, rows)
    }

    /// The soft TD target `r + gamma * (1 - terminated) * (min_k Q_target_k(s', a') - alpha * log pi(a'|s'))`.
    fn td_target(&mut self, batch: &Batch, noise: &Tensor) -> Tensor {
        tch::no_grad(|| {
            let next = self.soft.sample(&batch.next_observations, noise);
            let qs = self.critics_target.all(&batch.next_observations, &next.actions);
            let soft_value = qs[0].minimum(&qs[1]) - self.soft.alpha_tensor() * next.log_probs;
            &batch.rewards + (1.0 - &batch.terminated) * self.config.gamma * soft_value
        })
    }

    /// One actor step (and temperature step) on `obs` with `noise` from [`Sac::draw_noise`].
    fn actor_step(&mut self, obs: &Tensor, noise: &Tensor, stats: &mut StatSums) {
        let critics = &self.critics;
        self.soft.step(obs, noise, |actions| critics.q_frozen(0, obs, actions).minimum(&critics.q_frozen(1, obs, actions)), stats, 4);
    }
}

impl Sac {
    /// [`OffPolicyLearner::update`] written out on the host ([`crate::sac_host`]):
    /// the same steps, random draws and statistics.
    fn update_on_host(&mut self, update: usize, batch: &Batch, stats: &mut StatSums) {
        let host = self.host.as_mut().expect("a host update");
        let rows = batch.rewards.size()[0] as usize;
        host.draw_noise(&mut self.rng, rows);
        let alpha = self.soft.alpha() as f32;
        host.critic_step(self.soft.actor(), &self.critics, &self.critics_target, &mut self.critic_optimizer, alpha, batch, stats);
        if update.is_multiple_of(self.config.policy_frequency) {
            for _ in 0..self.config.policy_frequency {
                host.draw_noise(&mut self.rng, rows);
                let alpha = self.soft.alpha() as f32;
                let loss = host.actor_gradient(self.soft.actor(), &self.critics, alpha, batch);
                self.soft.step_from_gradient(loss, host.log_probs(), stats, 4);
            }
        }
        if update.is_multiple_of(self.config.target_network_frequency) {
            self.critics_target.blend_from(&self.critics, self.config.tau);
        }
    }
}

impl OffPolicyLearner for Sac {
    fn algo(&self) -> &'static str {
        "sac"
    }
    fn env_id(&self) -> &str {
        &self.config.env_id
    }
    fn settings(&self) -> LoopSettings {
        self.config.loop_settings()
    }
    fn device(&self) -> Device {
        self.device
    }
    fn stat_names(&self) -> &'static [&'static str] {
        &["qf1_loss", "qf2_loss", "qf1_values", "qf2_values", "actor_loss", "alpha", "alpha_loss"]
    }
    fn rng(&mut self) -> &mut ChaCha8Rng {
        &mut self.rng
    }

    fn explore(&mut self, obs: &[f32], action: &mut [f32]) {
        self.soft.explore(&mut self.rng, obs, action);
    }

    fn act(&mut self, obs: &[f32], space: &Space) -> OwnedAction {
        let mut action = vec![0.0; crate::offpolicy::action_dim(space)];
        self.soft.act(obs, &mut action);
        OwnedAction::Continuous(action)
    }

    fn update(&mut self, update: usize, batch: &Batch, stats: &mut StatSums) {
        if self.host.is_some() {
            return self.update_on_host(update, batch, stats);
        }
        // gSDE draws one exploration matrix per gradient step, for the target and the actor (SB3).
        let rows = batch.rewards.size()[0] as usize;
        let noise = self.draw_noise(rows);
        let sde_noise = self.soft.is_sde().then(|| noise.shallow_clone());
        let target = self.td_target(batch, &noise);
        let qs = self.critics.all(&batch.observations, &batch.actions);
        let (l1, l2) = (qs[0].mse_loss(&target, Reduction::Mean), qs[1].mse_loss(&target, Reduction::Mean));
        self.critic_optimizer.backward_step(&(&l1 + &l2));
        stats.add(0, &[l1, l2, qs[0].mean(Kind::Float), qs[1].mean(Kind::Float)]);

        if update.is_multiple_of(self.config.policy_frequency) {
            for _ in 0..self.config.policy_frequency {
                // gSDE reuses the step's exploration matrix; otherwise each actor step draws its own.
                let noise = match &sde_noise {
                    Some(n) => n.shallow_clone(),
                    None => self.draw_noise(rows),
                };
                self.actor_step(&batch.observations, &noise, stats);
            }
        }
        if update.is_multiple_of(self.config.target_network_frequency) {
            self.critics_target.blend_from(&self.critics, self.config.tau);
        }
    }

    fn save(&self, path: &std::path::Path) -> Result<()> {
        save_actor_critics(path, self.soft.actor(), &self.critics)
    }

    fn load(&mut self, path: &std::path::Path) -> Result<()> {
        load_actor_critics(path, self.soft.actor(), &self.critics)?;
        self.critics_target.blend_from(&self.critics, 1.0);
        self.soft.mark_stale();
        Ok(())
    }

    fn train_state(&self) -> Result<TrainState> {
        let mut s = TrainState::new();
        self.soft.put_train_state(&mut s)?;
        s.put_tensor("critics", self.critics.params())?;
        s.put_tensor("critics_target", self.critics_target.params())?;
        s.put_part("critic_optimizer", self.critic_optimizer.train_state()?);
        s.put("rng", &self.rng)?;
        Ok(s)
    }

    fn restore_train_state(&mut self, s: &TrainState) -> Result<()> {
        self.soft.restore_train_state(s)?;
        s.copy_into("critics", self.critics.params())?;
        s.copy_into("critics_target", self.critics_target.params())?;
        self.critic_optimizer.restore_train_state(&s.part("critic_optimizer"))?;
        self.rng = s.get("rng")?;
        Ok(())
    }
}

impl RunConfig for SacConfig {
    seed_field!();
    fn check(&self) -> Result<()> {
        self.validate()?;
        fits_in_memory("buffer_size", self.loop_settings().replay_bytes()?)
    }
}

impl AlgorithmConfig for SacConfig {
    const ALGO: &'static str = "sac";
    const ABOUT: &'static str = "Soft Actor-Critic with automatic entropy tuning (Box actions)";
    const PUBLISHED: &'static [PublishedScore] = &[("Pendulum-v1", -157.0, "SB3 zoo -157.0"), ("MountainCarContinuous-v0", 94.7, "SB3 zoo (gSDE) 94.7")];
    common_config_fields!();
    fn build(&self, device: Device) -> Result<Box<dyn crate::Agent>> {
        Ok(Box::new(Sac::agent(self.clone(), device)?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn truncated_transitions_bootstrap_and_terminated_ones_do_not() {
        let cfg = SacConfig { gamma: 0.9, hidden_sizes: vec![16], ..Default::default() };
        let mut sac = Sac::build(cfg, Device::Cpu).unwrap();
        let b = crate::td3::tests::truncated_and_terminated(Device::Cpu);
        let noise = sac.draw_noise(2);
        let target = Vec::<f32>::try_from(sac.td_target(&b, &noise)).unwrap();
        assert_eq!(target[1], -1.0, "a terminal transition has no next value");
        assert!((target[0] + 1.0).abs() > 1e-4, "a truncated one is bootstrapped: {target:?}");
    }

    /// The host update takes the LibTorch form's steps (`td3::tests::check_host_update`).
    #[test]
    fn the_host_update_takes_the_same_steps_as_autograd() {
        let cfg = SacConfig { hidden_sizes: vec![32, 24], batch_size: 16, ..Default::default() };
        let mut host = Sac::build(cfg.clone(), Device::Cpu).unwrap();
        let mut torch = Sac::build(cfg, Device::Cpu).unwrap();
        torch.host = None;
        assert!(host.host.is_some());
        crate::td3::tests::check_host_update(&mut host, &mut torch, |l, _| vec![l.critics.params().grad(), l.soft.actor().params().grad()], "sac");
    }
}
