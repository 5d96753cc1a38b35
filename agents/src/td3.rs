//! TD3 (Fujimoto et al. 2018) and DDPG (Lillicrap et al. 2016), as CleanRL's
//! `td3_continuous_action.py` and `ddpg_continuous_action.py` define them.
//!
//! A deterministic actor `tanh(mu(s))` rescaled into the action bounds acts
//! with Gaussian (or Ornstein-Uhlenbeck) exploration noise. Every step after
//! `learning_starts` the critics regress on `r + gamma * (1 - terminated) *
//! Q_target(s', a')`; every `policy_frequency` updates the actor ascends
//! `Q_1(s, actor(s))` and the targets move by `tau`. TD3 adds twin critics
//! (the minimum of the two targets) and target-policy smoothing (`a'` plus
//! clipped noise); DDPG is the same loop with one critic and no smoothing.
//!
//! Seeds: `tch::manual_seed(seed)` initialises the networks; the agent's
//! `ChaCha8Rng::seed_from_u64(seed)` draws random actions, exploration noise,
//! smoothing noise and replay batches; the environment resets with `seed`.

use crate::actor::{Actor, ActorKind, ActorMirror};
use crate::agent::OwnedAction;
use crate::algorithm::{common_config_fields, seed_field, AlgorithmConfig, PublishedScore, RunConfig};
use crate::critic::QCritics;
use crate::noise::{ActionNoise, NoiseKind};
use crate::offpolicy::{box_action_space, load_actor_critics, save_actor_critics, validate_gamma_tau, LoopSettings, OffPolicy, OffPolicyLearner, StatSums};
use crate::replay_buffer::Batch;
use crate::td3_host::HostTd3;
use crate::validate::{self, non_negative, positive};
use anyhow::Result;
use nnlab_envs::Space;
use nnlab_torch::check::fits_in_memory;
use nnlab_torch::optim::{Adam, Optimizer};
use nnlab_torch::state::TrainState;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};
use tch::{nn, Device, Kind, Reduction, Tensor};

/// Every TD3 hyperparameter, with CleanRL's `td3_continuous_action.py` defaults.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct Td3Config {
    /// Gymnasium id of the environment (Box actions).
    pub env_id: String,
    /// Seed of the whole run (networks, exploration, replay sampling, environment).
    pub seed: u64,
    /// Environment steps to train for.
    pub total_timesteps: usize,
    /// Adam learning rate of the actor and the critics.
    #[schemars(extend("exclusiveMinimum" = 0.0))]
    pub learning_rate: f64,
    /// Replay buffer capacity in transitions.
    pub buffer_size: usize,
    /// Discount factor.
    #[schemars(range(min = 0.0, max = 1.0))]
    pub gamma: f64,
    /// Target smoothing coefficient (Polyak), in (0, 1].
    pub tau: f64,
    /// Transitions per gradient update.
    pub batch_size: usize,
    /// Standard deviation of the target-policy smoothing noise (in action-scale units).
    pub policy_noise: f64,
    /// The smoothing noise is clipped to `[-noise_clip, noise_clip]`.
    pub noise_clip: f64,
    /// Standard deviation of the exploration noise (in action-scale units).
    pub exploration_noise: f64,
    /// Exploration noise: "normal" or "ornstein-uhlenbeck".
    pub noise_type: NoiseKind,
    /// Ornstein-Uhlenbeck mean reversion rate.
    pub ou_theta: f64,
    /// Ornstein-Uhlenbeck time step.
    pub ou_dt: f64,
    /// Steps of uniform random actions before learning starts.
    pub learning_starts: usize,
    /// Critic updates per actor (and target) update.
    pub policy_frequency: usize,
    /// Environment steps between training rounds.
    pub train_frequency: usize,
    /// Gradient updates per training round.
    pub gradient_steps: usize,
    /// Widths of the hidden ReLU layers of the actor and each critic.
    pub hidden_sizes: Vec<usize>,
    /// Deterministic evaluation episodes at the end of training.
    pub eval_episodes: usize,
}

impl Default for Td3Config {
    fn default() -> Self {
        Self {
            env_id: "Pendulum-v1".into(),
            seed: 1,
            total_timesteps: 1_000_000,
            learning_rate: 3e-4,
            buffer_size: 1_000_000,
            gamma: 0.99,
            tau: 0.005,
            batch_size: 256,
            policy_noise: 0.2,
            noise_clip: 0.5,
            exploration_noise: 0.1,
            noise_type: NoiseKind::Normal,
            ou_theta: 0.15,
            ou_dt: 0.01,
            learning_starts: 25_000,
            policy_frequency: 2,
            train_frequency: 1,
            gradient_steps: 1,
            hidden_sizes: vec![256, 256],
            eval_episodes: 10,
        }
    }
}

/// Every DDPG hyperparameter, with CleanRL's `ddpg_continuous_action.py` defaults
/// (one critic, no target-policy smoothing).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct DdpgConfig {
    /// Gymnasium id of the environment (Box actions).
    pub env_id: String,
    /// Seed of the whole run (networks, exploration, replay sampling, environment).
    pub seed: u64,
    /// Environment steps to train for.
    pub total_timesteps: usize,
    /// Adam learning rate of the actor and the critic.
    #[schemars(extend("exclusiveMinimum" = 0.0))]
    pub learning_rate: f64,
    /// Replay buffer capacity in transitions.
    pub buffer_size: usize,
    /// Discount factor.
    #[schemars(range(min = 0.0, max = 1.0))]
    pub gamma: f64,
    /// Target smoothing coefficient (Polyak), in (0, 1].
    pub tau: f64,
    /// Transitions per gradient update.
    pub batch_size: usize,
    /// Standard deviation of the exploration noise (in action-scale units).
    pub exploration_noise: f64,
    /// Exploration noise: "normal" or "ornstein-uhlenbeck".
    pub noise_type: NoiseKind,
    /// Ornstein-Uhlenbeck mean reversion rate.
    pub ou_theta: f64,
    /// Ornstein-Uhlenbeck time step.
    pub ou_dt: f64,
    /// Steps of uniform random actions before learning starts.
    pub learning_starts: usize,
    /// Critic updates per actor (and target) update.
    pub policy_frequency: usize,
    /// Environment steps between training rounds.
    pub train_frequency: usize,
    /// Gradient updates per training round.
    pub gradient_steps: usize,
    /// Widths of the hidden ReLU layers of the actor and the critic.
    pub hidden_sizes: Vec<usize>,
    /// Deterministic evaluation episodes at the end of training.
    pub eval_episodes: usize,
}

impl Default for DdpgConfig {
    fn default() -> Self {
        let t = Td3Config::default();
        Self {
            env_id: t.env_id,
            seed: t.seed,
            total_timesteps: t.total_timesteps,
            learning_rate: t.learning_rate,
            buffer_size: t.buffer_size,
            gamma: t.gamma,
            tau: t.tau,
            batch_size: t.batch_size,
            exploration_noise: t.exploration_noise,
            noise_type: t.noise_type,
            ou_theta: t.ou_theta,
            ou_dt: t.ou_dt,
            learning_starts: t.learning_starts,
            policy_frequency: t.policy_frequency,
            train_frequency: t.train_frequency,
            gradient_steps: t.gradient_steps,
            hidden_sizes: t.hidden_sizes,
            eval_episodes: t.eval_episodes,
        }
    }
}

impl DdpgConfig {
    /// The same run as TD3's loop sees it: one critic, no smoothing noise.
    pub fn as_td3(&self) -> Td3Config {
        Td3Config {
            env_id: self.env_id.clone(),
            seed: self.seed,
            total_timesteps: self.total_timesteps,
            learning_rate: self.learning_rate,
            buffer_size: self.buffer_size,
            gamma: self.gamma,
            tau: self.tau,
            batch_size: self.batch_size,
            policy_noise: 0.0,
            noise_clip: 0.0,
            exploration_noise: self.exploration_noise,
            noise_type: self.noise_type,
            ou_theta: self.ou_theta,
            ou_dt: self.ou_dt,
            learning_starts: self.learning_starts,
            policy_frequency: self.policy_frequency,
            train_frequency: self.train_frequency,
            gradient_steps: self.gradient_steps,
            hidden_sizes: self.hidden_sizes.clone(),
            eval_episodes: self.eval_episodes,
        }
    }

    /// Checks every value; the error is one line naming the key.
    pub fn validate(&self) -> Result<()> {
        self.as_td3().validate_as("DDPG")
    }
}

impl Td3Config {
    /// The shared loop's settings.
    pub fn loop_settings(&self) -> LoopSettings {
        crate::loop_settings_of!(self)
    }

    /// Checks every value; the error is one line naming the key.
    pub fn validate(&self) -> Result<()> {
        self.validate_as("TD3")
    }

    fn validate_as(&self, algo: &str) -> Result<()> {
        box_action_space(algo, &self.env_id)?;
        self.loop_settings().validate()?;
        positive("learning_rate", self.learning_rate)?;
        validate_gamma_tau(self.gamma, self.tau)?;
        non_negative("policy_noise", self.policy_noise)?;
        non_negative("noise_clip", self.noise_clip)?;
        non_negative("exploration_noise", self.exploration_noise)?;
        positive("ou_theta", self.ou_theta)?;
        positive("ou_dt", self.ou_dt)?;
        validate::period_within("policy_frequency", self.policy_frequency, "total_timesteps", self.total_timesteps)?;
        validate::hidden_sizes(&self.hidden_sizes)
    }
}

/// The TD3/DDPG learner: actor, critics, their targets and optimisers.
pub struct Td3 {
    algo: &'static str,
    config: Td3Config,
    twin: bool,
    device: Device,
    actor: Actor,
    actor_target: Actor,
    critics: QCritics,
    critics_target: QCritics,
    actor_optimizer: Optimizer,
    critic_optimizer: Optimizer,
    host: ActorMirror,
    noise: ActionNoise,
    rng: ChaCha8Rng,
    low: Tensor,
    high: Tensor,
    /// `(low, high)` per action dimension, on the host.
    bounds: Vec<(f32, f32)>,
    /// The update written out on the host (CPU); `None`: LibTorch's.
    host_update: Option<HostTd3>,
}

/// A TD3 or DDPG agent.
pub type Td3Agent = OffPolicy<Td3>;

impl Td3 {
    /// A TD3 agent for `config.env_id` on `device`.
    pub fn agent(config: Td3Config, device: Device) -> Result<Td3Agent> {
        config.validate()?;
        let space = Space::Box(box_action_space("td3", &config.env_id)?);
        Ok(OffPolicy::from_learner(Self::build("td3", config, true, device)?, space))
    }

    /// A DDPG agent for `config.env_id` on `device`.
    pub fn ddpg(config: DdpgConfig, device: Device) -> Result<Td3Agent> {
        config.validate()?;
        let space = Space::Box(box_action_space("ddpg", &config.env_id)?);
        Ok(OffPolicy::from_learner(Self::build("ddpg", config.as_td3(), false, device)?, space))
    }

    fn build(algo: &'static str, config: Td3Config, twin: bool, device: Device) -> Result<Self> {
        let space = box_action_space(algo, &config.env_id)?;
        let obs_dim = nnlab_envs::make(&config.env_id)?.observation_space().dim();
        let act_dim = space.dim();
        let (actor_vs, critic_vs) = (nn::VarStore::new(device), nn::VarStore::new(device));
        let (mut actor_target_vs, mut critic_target_vs) = (nn::VarStore::new(device), nn::VarStore::new(device));
        let n = if twin { 2 } else { 1 };
        let h = &config.hidden_sizes;
        let (actor, critics, actor_target, critics_target) = crate::with_torch_seed(config.seed, || {
            let actor = Actor::new(&actor_vs.root(), obs_dim, &space, h, ActorKind::Deterministic);
            let critics = QCritics::new(&critic_vs.root(), n, obs_dim, act_dim, h);
            let actor_target = Actor::new(&actor_target_vs.root(), obs_dim, &space, h, ActorKind::Deterministic);
            let critics_target = QCritics::new(&critic_target_vs.root(), n, obs_dim, act_dim, h);
            (actor, critics, actor_target, critics_target)
        });
        actor_target_vs.freeze();
        critic_target_vs.freeze();
        actor_target.flat().blend_from(actor.flat(), 1.0);
        critics_target.blend_from(&critics, 1.0);
        let actor_optimizer = Adam::default().build(&actor_vs, config.learning_rate)?;
        let critic_optimizer = Adam::default().build(&critic_vs, config.learning_rate)?;
        let noise = ActionNoise::new(config.noise_type, act_dim, config.exploration_noise, config.ou_theta, config.ou_dt);
        let bound = |v: &[f32]| Tensor::from_slice(v).to_device(device);
        let bounds: Vec<(f32, f32)> = space.low.iter().copied().zip(space.high.iter().copied()).collect();
        let host_update =
            (device == Device::Cpu).then(|| HostTd3::new(&actor, &critics, obs_dim, bounds.clone(), config.gamma, config.policy_noise, config.noise_clip));
        Ok(Self {
            algo,
            twin,
            device,
            host: ActorMirror::new(&actor),
            actor,
            actor_target,
            critics,
            critics_target,
            actor_optimizer,
            critic_optimizer,
            noise,
            rng: ChaCha8Rng::seed_from_u64(config.seed),
            low: bound(&space.low),
            high: bound(&space.high),
            bounds,
            host_update,
            config,
        })
    }

    /// The actor.
    pub fn actor(&self) -> &Actor {
        &self.actor
    }

    /// The critics (one for DDPG, two for TD3).
    pub fn critics(&self) -> &QCritics {
        &self.critics
    }

    /// The TD target `r + gamma * (1 - terminated) * min_k Q_target_k(s', a')`, with
    /// `a' = clip(actor_target(s') + clip(noise, -c, c))` (TD3's smoothing; no noise for DDPG).
    fn td_target(&mut self, batch: &Batch) -> Tensor {
        let smoothing = (self.config.policy_noise > 0.0).then(|| {
            let z = self.actor.noise(&mut self.rng, batch.rewards.size()[0] as usize, self.device);
            (z * self.config.policy_noise).clamp(-self.config.noise_clip, self.config.noise_clip) * self.actor.scale()
        });
        tch::no_grad(|| {
            let mut next_actions = self.actor_target.forward(&batch.next_observations);
            if let Some(noise) = smoothing {
                next_actions = (next_actions + noise).max_other(&self.low).min_other(&self.high);
            }
            let qs = self.critics_target.all(&batch.next_observations, &next_actions);
            let next_q = if self.twin { qs[0].minimum(&qs[1]) } else { qs[0].shallow_clone() };
            &batch.rewards + (1.0 - &batch.terminated) * self.config.gamma * next_q
        })
    }
}

impl OffPolicyLearner for Td3 {
    fn algo(&self) -> &'static str {
        self.algo
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
        if self.twin {
            &["qf1_loss", "qf2_loss", "qf1_values", "qf2_values", "actor_loss"]
        } else {
            &["qf1_loss", "qf1_values", "actor_loss"]
        }
    }
    fn rng(&mut self) -> &mut ChaCha8Rng {
        &mut self.rng
    }

    fn explore(&mut self, obs: &[f32], action: &mut [f32]) {
        self.host.get(&self.actor).act(obs, action);
        let noise = self.noise.sample(&mut self.rng);
        let scale = self.actor.scale_host();
        for (i, a) in action.iter_mut().enumerate() {
            let (lo, hi) = self.bounds[i];
            *a = (*a as f64 + noise[i] * scale[i] as f64).clamp(lo as f64, hi as f64) as f32;
        }
    }

    fn act(&mut self, obs: &[f32], space: &Space) -> OwnedAction {
        let mut action = vec![0.0; crate::offpolicy::action_dim(space)];
        self.host.get(&self.actor).act(obs, &mut action);
        OwnedAction::Continuous(action)
    }

    fn on_episode_end(&mut self) {
        self.noise.reset();
    }

    fn update(&mut self, update: usize, batch: &Batch, stats: &mut StatSums) {
        if let Some(h) = self.host_update.as_mut() {
            let values = h.critic_step(&mut self.rng, &self.actor_target, &self.critics, &self.critics_target, &mut self.critic_optimizer, batch);
            stats.add_values(0, &values);
            if update.is_multiple_of(self.config.policy_frequency) {
                let actor_loss = h.actor_step(&self.actor, &self.critics, &mut self.actor_optimizer, batch);
                stats.add_values(values.len(), &[actor_loss]);
                self.actor_target.flat().blend_from(self.actor.flat(), self.config.tau);
                self.critics_target.blend_from(&self.critics, self.config.tau);
                self.host.mark_stale();
            }
            return;
        }
        let target = self.td_target(batch);
        let qs = self.critics.all(&batch.observations, &batch.actions);
        let losses: Vec<Tensor> = qs.iter().map(|q| q.mse_loss(&target, Reduction::Mean)).collect();
        let total = losses.iter().skip(1).fold(losses[0].shallow_clone(), |acc, l| acc + l);
        self.critic_optimizer.backward_step(&total);
        let mut values = losses;
        values.extend(qs.iter().map(|q| q.mean(Kind::Float)));
        stats.add(0, &values);

        if update.is_multiple_of(self.config.policy_frequency) {
            let actor_loss = -self.critics.q_frozen(0, &batch.observations, &self.actor.forward(&batch.observations)).mean(Kind::Float);
            self.actor_optimizer.backward_step(&actor_loss);
            stats.add(values.len(), &[actor_loss]);
            self.actor_target.flat().blend_from(self.actor.flat(), self.config.tau);
            self.critics_target.blend_from(&self.critics, self.config.tau);
            self.host.mark_stale();
        }
    }

    fn save(&self, path: &std::path::Path) -> Result<()> {
        save_actor_critics(path, &self.actor, &self.critics)
    }

    fn load(&mut self, path: &std::path::Path) -> Result<()> {
        load_actor_critics(path, &self.actor, &self.critics)?;
        self.actor_target.flat().blend_from(self.actor.flat(), 1.0);
        self.critics_target.blend_from(&self.critics, 1.0);
        self.host.mark_stale();
        Ok(())
    }

    fn train_state(&self) -> Result<TrainState> {
        let mut s = TrainState::new();
        s.put_tensor("actor", self.actor.params())?;
        s.put_tensor("actor_target", self.actor_target.params())?;
        s.put_tensor("critics", self.critics.params())?;
        s.put_tensor("critics_target", self.critics_target.params())?;
        s.put_part("actor_optimizer", self.actor_optimizer.train_state()?);
        s.put_part("critic_optimizer", self.critic_optimizer.train_state()?);
        s.put("rng", &self.rng)?;
        s.put("noise", &self.noise.state_bits())?;
        Ok(s)
    }

    fn restore_train_state(&mut self, s: &TrainState) -> Result<()> {
        s.copy_into("actor", self.actor.params())?;
        s.copy_into("actor_target", self.actor_target.params())?;
        s.copy_into("critics", self.critics.params())?;
        s.copy_into("critics_target", self.critics_target.params())?;
        self.actor_optimizer.restore_train_state(&s.part("actor_optimizer"))?;
        self.critic_optimizer.restore_train_state(&s.part("critic_optimizer"))?;
        self.rng = s.get("rng")?;
        self.noise.restore_bits(&s.get::<Vec<u64>>("noise")?)?;
        self.host.mark_stale();
        Ok(())
    }
}

impl RunConfig for DdpgConfig {
    seed_field!();
    fn check(&self) -> Result<()> {
        self.validate()?;
        fits_in_memory("buffer_size", self.as_td3().loop_settings().replay_bytes()?)
    }
}

impl AlgorithmConfig for DdpgConfig {
    const ALGO: &'static str = "ddpg";
    const ABOUT: &'static str = "Deep Deterministic Policy Gradient (Box actions)";
    const PUBLISHED: &'static [PublishedScore] = &[("Pendulum-v1", -152.1, "SB3 zoo -152.1"), ("MountainCarContinuous-v0", 93.5, "SB3 zoo 93.5")];
    common_config_fields!();
    fn build(&self, device: Device) -> Result<Box<dyn crate::Agent>> {
        Ok(Box::new(Td3::ddpg(self.clone(), device)?))
    }
}

impl RunConfig for Td3Config {
    seed_field!();
    fn check(&self) -> Result<()> {
        self.validate()?;
        fits_in_memory("buffer_size", self.loop_settings().replay_bytes()?)
    }
}

impl AlgorithmConfig for Td3Config {
    const ALGO: &'static str = "td3";
    const ABOUT: &'static str = "Twin Delayed DDPG (Box actions)";
    const PUBLISHED: &'static [PublishedScore] = &[("Pendulum-v1", -151.9, "SB3 zoo -151.9"), ("MountainCarContinuous-v0", 93.5, "SB3 zoo 93.5")];
    common_config_fields!();
    fn build(&self, device: Device) -> Result<Box<dyn crate::Agent>> {
        Ok(Box::new(Td3::agent(self.clone(), device)?))
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// Two transitions into the same next state: row 0 truncated by the time limit
    /// (terminated 0, bootstrapped), row 1 terminated (not bootstrapped).
    pub(crate) fn truncated_and_terminated(device: Device) -> Batch {
        let next = Tensor::from_slice(&[0.3f32, -0.9, 1.5, 0.3, -0.9, 1.5]).view([2, 3]).to_device(device);
        Batch {
            observations: Tensor::zeros([2, 3], (Kind::Float, device)),
            next_observations: next,
            actions: Tensor::zeros([2, 1], (Kind::Float, device)),
            rewards: Tensor::from_slice(&[-1.0f32, -1.0]).to_device(device),
            terminated: Tensor::from_slice(&[0.0f32, 1.0]).to_device(device),
        }
    }

    #[test]
    fn truncated_transitions_bootstrap_and_terminated_ones_do_not() {
        let cfg = DdpgConfig { gamma: 0.9, hidden_sizes: vec![16], ..Default::default() };
        let mut ddpg = Td3::build("ddpg", cfg.as_td3(), false, Device::Cpu).unwrap();
        let b = truncated_and_terminated(Device::Cpu);
        let target = Vec::<f32>::try_from(ddpg.td_target(&b)).unwrap();
        let next_q = tch::no_grad(|| {
            let a = ddpg.actor_target.forward(&b.next_observations.narrow(0, 0, 1));
            f32::try_from(ddpg.critics_target.q(0, &b.next_observations.narrow(0, 0, 1), &a)).unwrap()
        });
        assert!(next_q.abs() > 1e-4);
        assert!((target[0] - (-1.0 + 0.9 * next_q)).abs() < 1e-5, "{target:?} vs {next_q}");
        assert_eq!(target[1], -1.0);
    }

    /// 64 random transitions of a 3-value observation and a 1-value action in [-2, 2].
    pub(crate) fn random_replay() -> (crate::replay_buffer::ReplayBuffer, ChaCha8Rng) {
        use rand::Rng;
        let mut rb = crate::replay_buffer::ReplayBuffer::with_actions(64, 3, crate::replay_buffer::ActionStorage::Box(1));
        let mut data = ChaCha8Rng::seed_from_u64(9);
        for k in 0..64 {
            let obs: Vec<f32> = (0..3).map(|_| data.random_range(-1.0..1.0)).collect();
            let next: Vec<f32> = (0..3).map(|_| data.random_range(-1.0..1.0)).collect();
            let a = [data.random_range(-2.0..2.0f32)];
            rb.add(&obs, &next, nnlab_envs::Action::Continuous(&a), data.random_range(-8.0..0.0), k % 7 == 0);
        }
        (rb, data)
    }

    /// Whether `a` and `b` agree to float rounding (relative to the largest value of `b`).
    pub(crate) fn assert_close(a: &Tensor, b: &Tensor, what: &str) {
        assert_eq!(a.size(), b.size(), "{what}: shapes");
        if b.numel() == 0 {
            return;
        }
        let diff = f64::try_from((a - b).abs().max()).unwrap();
        let size = f64::try_from(b.abs().max()).unwrap();
        assert!(diff <= 1e-5 * size.max(1.0), "{what}: differs by {diff} (largest value {size})");
    }

    /// Checks a learner's host update against its LibTorch form (`torch`, the same
    /// learner with the host form off): for ten updates, from the host learner's state
    /// copied into `torch` before each (so that float rounding cannot add up, nor
    /// Adam turn a rounding difference in a near-zero gradient into a whole step),
    /// the same batch and draws give every gradient that `grads` names after that update, every array
    /// of the training state after the step (parameters, targets, running averages,
    /// optimiser moments) and every statistic equal to float rounding.
    pub(crate) fn check_host_update<L: OffPolicyLearner>(host: &mut L, torch: &mut L, grads: impl Fn(&L, usize) -> Vec<Tensor>, what: &str) {
        let (rb, mut data) = random_replay();
        let n = host.stat_names().len();
        for update in 0..10 {
            torch.restore_train_state(&host.train_state().unwrap()).unwrap();
            let batch = rb.sample(16, &mut data, Device::Cpu);
            let (mut s_host, mut s_torch) = (StatSums::new(n, Device::Cpu), StatSums::new(n, Device::Cpu));
            host.update(update, &batch, &mut s_host);
            torch.update(update, &batch, &mut s_torch);
            let at = format!("{what}, update {update}");
            for (k, (a, b)) in grads(host, update).iter().zip(grads(torch, update)).enumerate() {
                assert!(a.defined() && b.defined(), "{at}: gradient {k} defined");
                assert_close(a, &b, &format!("{at}: gradient {k}"));
            }
            let (sh, st) = (host.train_state().unwrap(), torch.train_state().unwrap());
            assert_eq!(sh.array_names(), st.array_names(), "{at}");
            for name in sh.array_names() {
                assert_close(&sh.tensor(&name).unwrap(), &st.tensor(&name).unwrap(), &format!("{at}: {name}"));
            }
            for (k, (x, y)) in s_host.take().unwrap().iter().zip(s_torch.take().unwrap()).enumerate() {
                assert_eq!(x.is_some(), y.is_some(), "{at}: statistic {k}");
                if let (Some(x), Some(y)) = (x, y) {
                    assert!((x - y).abs() <= 1e-4 * y.abs().max(1.0), "{at}: statistic {k}: {x} vs {y}");
                }
            }
        }
    }

    #[test]
    fn the_host_update_takes_the_same_steps_as_autograd() {
        for (algo, twin, cfg) in [
            ("td3", true, Td3Config { hidden_sizes: vec![32, 24], batch_size: 16, ..Default::default() }),
            ("ddpg", false, DdpgConfig { hidden_sizes: vec![32, 24], batch_size: 16, ..Default::default() }.as_td3()),
        ] {
            let mut host = Td3::build(algo, cfg.clone(), twin, Device::Cpu).unwrap();
            let mut torch = Td3::build(algo, cfg, twin, Device::Cpu).unwrap();
            torch.host_update = None;
            assert!(host.host_update.is_some());
            check_host_update(&mut host, &mut torch, |l, _| vec![l.critics.params().grad(), l.actor.params().grad()], algo);
        }
    }
}
