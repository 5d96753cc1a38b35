//! Truncated Quantile Critics (Kuznetsov et al., ICML 2020), as
//! SB3-contrib's and SBX's `TQC` define it.
//!
//! SAC's soft actor ([`crate::soft_actor`]) with distributional critics:
//! `n_critics` networks each give `n_quantiles` quantiles of the return at
//! the midpoints `tau_i = (2i + 1) / (2 n_quantiles)`. The target pools the
//! target critics' quantiles at `(s', a')`, `a' ~ pi(.|s')`, sorts them and
//! drops the `top_quantiles_to_drop_per_net * n_critics` largest (the
//! overestimation control that replaces SAC's minimum of twins):
//! `z_j = r + gamma * (1 - terminated) * (sorted_j - alpha * log pi(a'|s'))`.
//! Every critic regresses every quantile on every `z_j` with the quantile
//! Huber loss (kappa 1), averaged over quantiles, targets and batch as
//! SB3-contrib does (`sum_over_quantiles=False`). The actor maximises the
//! mean of all critics' quantiles minus `alpha * log pi`; the temperature
//! is tuned as in SAC.
//!
//! One difference from SB3-contrib: the log-std is squashed into
//! `[log_std_min, log_std_max]` with tanh (CleanRL's SAC, and nnlab's)
//! instead of clipped to `[-20, 2]`.
//!
//! Seeds: `tch::manual_seed(seed)` initialises the networks; the agent's
//! `ChaCha8Rng::seed_from_u64(seed)` draws random actions, every Gaussian
//! sample and the replay batches.

use crate::actor::Actor;
use crate::agent::OwnedAction;
use crate::algorithm::{common_config_fields, seed_field, AlgorithmConfig, PublishedScore, RunConfig};
use crate::critic::QCritics;
use crate::offpolicy::{box_action_space, load_actor_critics, save_actor_critics, validate_gamma_tau, LoopSettings, OffPolicy, OffPolicyLearner, StatSums};
use crate::replay_buffer::Batch;
use crate::soft_actor::{SoftActor, SoftActorSettings, SoftPolicy};
use crate::tqc_host::HostTqc;
use crate::validate::{nonzero, positive};
use crate::value_head::quantile_huber_loss;
use anyhow::{bail, Result};
use nnlab_envs::Space;
use nnlab_torch::check::fits_in_memory;
use nnlab_torch::optim::{Adam, Optimizer};
use nnlab_torch::state::TrainState;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};
use tch::{nn, Device, Kind, Tensor};

/// Every TQC hyperparameter, with SB3-contrib's `TQC` defaults.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct TqcConfig {
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
    /// Adam learning rate of the actor, the critics and the temperature.
    #[schemars(extend("exclusiveMinimum" = 0.0))]
    pub learning_rate: f64,
    /// Quantiles per critic.
    pub n_quantiles: usize,
    /// Quantile critics.
    pub n_critics: usize,
    /// The largest target quantiles dropped per critic (the pool loses `this * n_critics`).
    pub top_quantiles_to_drop_per_net: usize,
    /// Critic updates between target updates.
    pub target_network_frequency: usize,
    /// Entropy coefficient when `autotune` is off.
    pub alpha: f64,
    /// Tune the entropy coefficient (from 1.0) toward `target_entropy`.
    pub autotune: bool,
    /// Target entropy of the tuned temperature (absent: `-|A|`).
    pub target_entropy: Option<f64>,
    /// Lowest log standard deviation of the policy.
    pub log_std_min: f64,
    /// Highest log standard deviation of the policy.
    pub log_std_max: f64,
    /// Generalized state-dependent exploration, as in SAC (`agents/src/sac.rs`).
    pub use_sde: bool,
    /// With `use_sde`: environment steps between new exploration matrices (0: one per training round).
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

impl Default for TqcConfig {
    fn default() -> Self {
        Self {
            env_id: "Pendulum-v1".into(),
            seed: 1,
            total_timesteps: 1_000_000,
            buffer_size: 1_000_000,
            gamma: 0.99,
            tau: 0.005,
            batch_size: 256,
            learning_starts: 100,
            learning_rate: 3e-4,
            n_quantiles: 25,
            n_critics: 2,
            top_quantiles_to_drop_per_net: 2,
            target_network_frequency: 1,
            alpha: 0.2,
            autotune: true,
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

impl TqcConfig {
    /// The shared loop's settings.
    pub fn loop_settings(&self) -> LoopSettings {
        crate::loop_settings_of!(self)
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

    /// Target quantiles kept after truncation.
    pub fn kept_quantiles(&self) -> usize {
        (self.n_quantiles - self.top_quantiles_to_drop_per_net) * self.n_critics
    }

    /// Checks every value; the error is one line naming the key.
    pub fn validate(&self) -> Result<()> {
        box_action_space("TQC", &self.env_id)?;
        self.loop_settings().validate()?;
        validate_gamma_tau(self.gamma, self.tau)?;
        positive("learning_rate", self.learning_rate)?;
        nonzero("n_quantiles", self.n_quantiles)?;
        nonzero("n_critics", self.n_critics)?;
        if self.n_critics > 64 || self.n_quantiles > 1024 {
            bail!("n_critics must be at most 64 and n_quantiles at most 1024, got {} and {}", self.n_critics, self.n_quantiles);
        }
        if self.top_quantiles_to_drop_per_net >= self.n_quantiles {
            bail!(
                "top_quantiles_to_drop_per_net ({}) must be less than n_quantiles ({}): no target quantile would be left",
                self.top_quantiles_to_drop_per_net,
                self.n_quantiles
            );
        }
        nonzero("target_network_frequency", self.target_network_frequency)?;
        positive("alpha", self.alpha)?;
        self.soft_policy().validate()
    }
}

/// The TQC learner: the soft actor, the quantile critics and their targets.
pub struct Tqc {
    config: TqcConfig,
    device: Device,
    soft: SoftActor,
    critics: QCritics,
    critics_target: QCritics,
    critic_optimizer: Optimizer,
    /// The quantile midpoints of every critic, `[1, n_critics * n_quantiles, 1]`.
    taus: Tensor,
    rng: ChaCha8Rng,
    /// The update written out on the host (CPU, squashed-Gaussian actor); `None`: LibTorch's.
    host: Option<HostTqc>,
}

/// A TQC agent.
pub type TqcAgent = OffPolicy<Tqc>;

impl Tqc {
    /// A TQC agent for `config.env_id` on `device`.
    pub fn agent(config: TqcConfig, device: Device) -> Result<TqcAgent> {
        config.validate()?;
        let space = Space::Box(box_action_space("TQC", &config.env_id)?);
        Ok(OffPolicy::from_learner(Self::build(config, device)?, space))
    }

    fn build(config: TqcConfig, device: Device) -> Result<Self> {
        let space = box_action_space("TQC", &config.env_id)?;
        let obs_dim = nnlab_envs::make(&config.env_id)?.observation_space().dim();
        let act_dim = space.dim();
        let (actor_vs, critic_vs) = (nn::VarStore::new(device), nn::VarStore::new(device));
        let mut critic_target_vs = nn::VarStore::new(device);
        let (h, n, q) = (&config.hidden_sizes, config.n_critics, config.n_quantiles);
        let (actor, critics, critics_target) = crate::with_torch_seed(config.seed, || {
            let actor = Actor::new(&actor_vs.root(), obs_dim, &space, h, config.soft_policy().kind());
            let critics = QCritics::with_outputs(&critic_vs.root(), n, obs_dim, act_dim, h, q);
            let critics_target = QCritics::with_outputs(&critic_target_vs.root(), n, obs_dim, act_dim, h, q);
            (actor, critics, critics_target)
        });
        critic_target_vs.freeze();
        critics_target.blend_from(&critics, 1.0);
        let host = (device == Device::Cpu && !config.use_sde)
            .then(|| HostTqc::new(&actor, &critics, obs_dim, (config.log_std_min, config.log_std_max), config.gamma, q, config.kept_quantiles()));
        let settings = SoftActorSettings {
            policy_lr: config.learning_rate,
            alpha_lr: config.learning_rate,
            beta1: 0.9,
            log_alpha_loss: true,
            autotune: config.autotune,
            alpha_init: if config.autotune { 1.0 } else { config.alpha },
            target_entropy: config.target_entropy.unwrap_or(-(act_dim as f64)),
            sde_period: if config.sde_sample_freq > 0 { config.sde_sample_freq } else { config.train_frequency },
        };
        let soft = SoftActor::new(actor, &actor_vs, settings)?;
        let critic_optimizer = Adam::default().build(&critic_vs, config.learning_rate)?;
        let midpoints: Vec<f32> = (0..q).map(|i| ((2 * i + 1) as f64 / (2 * q) as f64) as f32).collect();
        let taus = Tensor::from_slice(&midpoints).repeat([n as i64]).view([1, (n * q) as i64, 1]).to_device(device);
        Ok(Self { device, soft, critics, critics_target, critic_optimizer, taus, rng: ChaCha8Rng::seed_from_u64(config.seed), host, config })
    }

    /// The actor.
    pub fn actor(&self) -> &Actor {
        self.soft.actor()
    }

    /// The truncated target quantiles `[B, kept]` with the actor's `noise` at `s'`.
    fn td_target(&mut self, batch: &Batch, noise: &Tensor) -> Tensor {
        tch::no_grad(|| {
            let next = self.soft.sample(&batch.next_observations, noise);
            let rows = batch.rewards.size()[0];
            let pooled = self.critics_target.stacked(&batch.next_observations, &next.actions).view([rows, -1]);
            let (sorted, _) = pooled.sort(-1, false);
            let kept = sorted.narrow(-1, 0, self.config.kept_quantiles() as i64);
            let soft_value = kept - (self.soft.alpha_tensor() * next.log_probs).unsqueeze(-1);
            let not_done: Tensor = 1.0 - &batch.terminated;
            batch.rewards.unsqueeze(-1) + not_done.unsqueeze(-1) * self.config.gamma * soft_value
        })
    }
}

impl Tqc {
    /// [`OffPolicyLearner::update`] written out on the host ([`crate::tqc_host`]):
    /// the same steps, random draws and statistics.
    fn update_on_host(&mut self, update: usize, batch: &Batch, stats: &mut StatSums) {
        let host = self.host.as_mut().expect("a host update");
        let rows = batch.rewards.size()[0] as usize;
        host.draw_noise(&mut self.rng, rows);
        let alpha = self.soft.alpha() as f32;
        host.critic_step(self.soft.actor(), &self.critics, &self.critics_target, &mut self.critic_optimizer, alpha, batch, stats);
        host.draw_noise(&mut self.rng, rows);
        let loss = host.actor_gradient(self.soft.actor(), &self.critics, alpha, batch);
        self.soft.step_from_gradient(loss, host.log_probs(), stats, 2);
        if update.is_multiple_of(self.config.target_network_frequency) {
            self.critics_target.blend_from(&self.critics, self.config.tau);
        }
    }
}

impl OffPolicyLearner for Tqc {
    fn algo(&self) -> &'static str {
        "tqc"
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
        &["qf_loss", "qf_values", "actor_loss", "alpha", "alpha_loss"]
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
        let rows = batch.rewards.size()[0] as usize;
        let noise = self.soft.draw_noise(&mut self.rng, rows);
        let target = self.td_target(batch, &noise);
        let current = self.critics.stacked(&batch.observations, &batch.actions).view([rows as i64, -1]);
        // SB3-contrib averages over the critics' quantiles where the QR-DQN loss sums.
        let per_quantile = 1.0 / (self.config.n_critics * self.config.n_quantiles) as f64;
        let loss = quantile_huber_loss(&current, &target, &self.taus) * per_quantile;
        self.critic_optimizer.backward_step(&loss);
        stats.add(0, &[loss, current.detach().mean(Kind::Float)]);

        // The actor: the mean of every critic's quantiles (SB3-contrib: also gSDE's matrix of the step).
        let noise = if self.soft.is_sde() { noise } else { self.soft.draw_noise(&mut self.rng, rows) };
        let (critics, obs) = (&self.critics, &batch.observations);
        self.soft.step(obs, &noise, |actions| critics.stacked_frozen(obs, actions).mean_dim(&[1i64, 2][..], false, Kind::Float), stats, 2);
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

impl RunConfig for TqcConfig {
    seed_field!();
    fn check(&self) -> Result<()> {
        self.validate()?;
        fits_in_memory("buffer_size", self.loop_settings().replay_bytes()?)
    }
}

impl AlgorithmConfig for TqcConfig {
    const ALGO: &'static str = "tqc";
    const ABOUT: &'static str = "Truncated Quantile Critics: SAC with distributional critics (Box actions)";
    const PUBLISHED: &'static [PublishedScore] = &[("Pendulum-v1", -151.3, "SB3 zoo -151.3"), ("MountainCarContinuous-v0", 63.6, "SB3 zoo 63.6")];
    common_config_fields!();
    fn build(&self, device: Device) -> Result<Box<dyn crate::Agent>> {
        Ok(Box::new(Tqc::agent(self.clone(), device)?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The host update takes the LibTorch form's steps (`td3::tests::check_host_update`),
    /// with three critics so that the pooled sort mixes them.
    #[test]
    fn the_host_update_takes_the_same_steps_as_autograd() {
        let cfg = TqcConfig { hidden_sizes: vec![32, 24], batch_size: 16, n_quantiles: 5, n_critics: 3, ..Default::default() };
        let mut host = Tqc::build(cfg.clone(), Device::Cpu).unwrap();
        let mut torch = Tqc::build(cfg, Device::Cpu).unwrap();
        torch.host = None;
        assert!(host.host.is_some());
        crate::td3::tests::check_host_update(&mut host, &mut torch, |l, _| vec![l.critics.params().grad(), l.soft.actor().params().grad()], "tqc");
    }

    #[test]
    fn the_target_drops_the_largest_pooled_quantiles_and_terminal_rows_do_not_bootstrap() {
        let cfg = TqcConfig { gamma: 0.9, hidden_sizes: vec![16], n_quantiles: 5, n_critics: 3, top_quantiles_to_drop_per_net: 2, ..Default::default() };
        let mut tqc = Tqc::build(cfg, Device::Cpu).unwrap();
        let b = crate::td3::tests::truncated_and_terminated(Device::Cpu);
        let noise = tqc.soft.draw_noise(&mut tqc.rng, 2);
        let target = tqc.td_target(&b, &noise);
        assert_eq!(target.size(), [2, 9], "(5 - 2) * 3 quantiles kept");
        let rows = Vec::<Vec<f32>>::try_from(&target).unwrap();
        assert!(rows[1].iter().all(|&z| z == -1.0), "a terminal transition has no next value: {:?}", rows[1]);
        assert!(rows[0].windows(2).all(|w| w[0] <= w[1]), "sorted ascending: {:?}", rows[0]);
        // The kept quantiles are the smallest of the pool: rebuild it and compare.
        let next = tqc.soft.sample(&b.next_observations, &noise);
        let pooled = Vec::<f32>::try_from(tqc.critics_target.stacked(&b.next_observations, &next.actions).get(0).flatten(0, -1)).unwrap();
        let mut sorted = pooled.clone();
        sorted.sort_by(f32::total_cmp);
        let alpha_logp = f64::try_from((tqc.soft.alpha_tensor() * next.log_probs).get(0)).unwrap() as f32;
        for (z, q) in rows[0].iter().zip(&sorted) {
            let expected = -1.0 + 0.9 * (q - alpha_logp);
            assert!((z - expected).abs() < 1e-4, "{z} vs {expected}");
        }
    }

    #[test]
    fn dropping_every_quantile_is_refused() {
        let cfg = TqcConfig { n_quantiles: 3, top_quantiles_to_drop_per_net: 3, ..Default::default() };
        let e = cfg.validate().unwrap_err().to_string();
        assert!(e.contains("top_quantiles_to_drop_per_net"), "{e}");
    }
}
