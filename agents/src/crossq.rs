//! CrossQ (Bhatt et al., ICLR 2024), as SBX's `CrossQ` defines it.
//!
//! SAC without target networks: the critics (wide, 1024-1024 by default)
//! and the actor carry a batch renormalisation before every linear layer
//! ([`crate::batch_renorm`]), and each critic update runs **one joint
//! forward** of `(s, a)` and `(s', a')`, `a' ~ pi(.|s')`, in training mode,
//! so that the normalisation sees both distributions; the `(s', a')` half,
//! held constant, makes the target
//! `r + gamma * (1 - terminated) * (min_k Q_k(s', a') - alpha * log pi(a'|s'))`
//! and the loss is `0.5 * sum_k mean_B (target - Q_k(s, a))^2`. Every
//! `policy_delay` updates the actor (normalising with its batch) takes one
//! step on `alpha * log pi - min_k Q_k` with the critics in evaluation mode
//! (running statistics), then the temperature, with SB3's loss
//! `-log(alpha) * (log pi + target_entropy)`. Adam with `beta1 = 0.5` for
//! actor and critics (0.9 for the temperature), as SBX.
//!
//! Differences from SBX: layers are initialised as PyTorch's `nn.Linear`
//! (Flax uses LeCun-normal weights and zero biases), and the log-std is
//! squashed into `[log_std_min, log_std_max]` with tanh (nnlab's SAC)
//! instead of clipped to `[-20, 2]`. Acting and evaluation use the actor's
//! running statistics, folded into its layers on the host.
//!
//! Seeds: `tch::manual_seed(seed)` initialises the networks; the agent's
//! `ChaCha8Rng::seed_from_u64(seed)` draws random actions, every Gaussian
//! sample and the replay batches.

use crate::actor::{Actor, ActorKind};
use crate::agent::OwnedAction;
use crate::algorithm::{common_config_fields, seed_field, AlgorithmConfig, PublishedScore, RunConfig};
use crate::batch_renorm::{RenormMlp, RenormSettings};
use crate::crossq_host::HostCrossQ;
use crate::flat::{FlatBuilder, FlatParams};
use crate::offpolicy::{box_action_space, LoopSettings, OffPolicy, OffPolicyLearner, StatSums};
use crate::replay_buffer::Batch;
use crate::soft_actor::{SoftActor, SoftActorSettings, SoftPolicy};
use crate::validate::{self, in_range, nonzero, positive};
use anyhow::{bail, Result};
use nnlab_envs::Space;
use nnlab_torch::check::fits_in_memory;
use nnlab_torch::optim::{Adam, Optimizer};
use nnlab_torch::state::TrainState;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};
use tch::{nn, Device, Kind, Tensor};

/// Every CrossQ hyperparameter, with SBX's `CrossQ` defaults.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct CrossQConfig {
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
    /// Transitions per gradient update.
    pub batch_size: usize,
    /// Steps of uniform random actions before learning starts.
    pub learning_starts: usize,
    /// Adam learning rate of the actor and the temperature.
    #[schemars(extend("exclusiveMinimum" = 0.0))]
    pub learning_rate: f64,
    /// Adam learning rate of the critics (absent: `learning_rate`).
    pub q_learning_rate: Option<f64>,
    /// Adam's `beta1` of the actor and the critics.
    pub adam_beta1: f64,
    /// Critic updates per actor (and temperature) update.
    pub policy_delay: usize,
    /// Q critics.
    pub n_critics: usize,
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
    /// Decay of the batch renormalisations' running averages.
    pub batch_norm_momentum: f64,
    /// Training forwards of a normalisation before its renormalisation corrections start.
    pub renorm_warmup_steps: u64,
    /// Batch renormalisation in the actor too (SBX's `batch_norm_actor`).
    pub batch_norm_actor: bool,
    /// Environment steps between training rounds.
    pub train_frequency: usize,
    /// Gradient updates per training round.
    pub gradient_steps: usize,
    /// Widths of the actor's hidden ReLU layers.
    pub actor_hidden_sizes: Vec<usize>,
    /// Widths of each critic's hidden ReLU layers.
    pub critic_hidden_sizes: Vec<usize>,
    /// Deterministic evaluation episodes at the end of training (the policy's squashed mean).
    pub eval_episodes: usize,
}

impl Default for CrossQConfig {
    fn default() -> Self {
        Self {
            env_id: "Pendulum-v1".into(),
            seed: 1,
            total_timesteps: 1_000_000,
            buffer_size: 1_000_000,
            gamma: 0.99,
            batch_size: 256,
            learning_starts: 100,
            learning_rate: 1e-3,
            q_learning_rate: None,
            adam_beta1: 0.5,
            policy_delay: 3,
            n_critics: 2,
            alpha: 0.2,
            autotune: true,
            target_entropy: None,
            log_std_min: -5.0,
            log_std_max: 2.0,
            batch_norm_momentum: 0.99,
            renorm_warmup_steps: 100_000,
            batch_norm_actor: true,
            train_frequency: 1,
            gradient_steps: 1,
            actor_hidden_sizes: vec![256, 256],
            critic_hidden_sizes: vec![1024, 1024],
            eval_episodes: 10,
        }
    }
}

impl CrossQConfig {
    /// The shared loop's settings.
    pub fn loop_settings(&self) -> LoopSettings {
        crate::loop_settings_of!(self)
    }

    /// The batch renormalisations' settings.
    pub fn renorm(&self) -> RenormSettings {
        RenormSettings { momentum: self.batch_norm_momentum, warmup_steps: self.renorm_warmup_steps, ..Default::default() }
    }

    /// Checks every value; the error is one line naming the key.
    pub fn validate(&self) -> Result<()> {
        box_action_space("CrossQ", &self.env_id)?;
        self.loop_settings().validate()?;
        in_range("gamma", self.gamma, 0.0, 1.0)?;
        positive("learning_rate", self.learning_rate)?;
        if let Some(lr) = self.q_learning_rate {
            positive("q_learning_rate", lr)?;
        }
        in_range("adam_beta1", self.adam_beta1, 0.0, 0.999_999)?;
        validate::period_within("policy_delay", self.policy_delay, "total_timesteps", self.total_timesteps)?;
        nonzero("n_critics", self.n_critics)?;
        if self.n_critics > 64 {
            bail!("n_critics must be at most 64, got {}", self.n_critics);
        }
        positive("alpha", self.alpha)?;
        in_range("batch_norm_momentum", self.batch_norm_momentum, 0.0, 1.0)?;
        if self.batch_size < 2 {
            bail!("batch_size must be at least 2 for batch normalisation, got {}", self.batch_size);
        }
        validate::hidden_sizes(&self.critic_hidden_sizes).map_err(|e| anyhow::anyhow!("critic_{e}"))?;
        let policy = SoftPolicy {
            use_sde: false,
            log_std_init: 0.0,
            clip_mean: 1.0,
            log_std_min: self.log_std_min,
            log_std_max: self.log_std_max,
            target_entropy: self.target_entropy,
            hidden_sizes: &self.actor_hidden_sizes,
        };
        policy.validate().map_err(|e| if e.to_string().starts_with("hidden_sizes") { anyhow::anyhow!("actor_{e}") } else { e })
    }
}

/// `n` Q(s, a) critics, each a batch-renormalised MLP, over one flat parameter tensor.
#[derive(Debug)]
pub struct RenormCritics {
    params: FlatParams,
    nets: Vec<RenormMlp>,
}

impl RenormCritics {
    /// `n` critics under `p` for observations of length `obs_dim` and actions of length `act_dim`.
    pub fn new(p: &nn::Path, n: usize, obs_dim: usize, act_dim: usize, hidden: &[usize], settings: RenormSettings) -> Self {
        let mut b = FlatBuilder::new();
        let nets = (0..n).map(|k| RenormMlp::add(&mut b, &format!("qf{}.", k + 1), obs_dim + act_dim, hidden, 1, settings, p.device())).collect();
        Self { params: b.build(p), nets }
    }

    /// Every critic's `Q(obs, actions)`, `[B, n]`; `training` as in [`RenormMlp::forward`].
    pub fn forward(&self, obs: &Tensor, actions: &Tensor, training: bool) -> Tensor {
        self.forward_with(obs, actions, training, false)
    }

    /// [`RenormCritics::forward`] in evaluation mode with the weights treated as constants.
    pub fn frozen(&self, obs: &Tensor, actions: &Tensor) -> Tensor {
        self.forward_with(obs, actions, false, true)
    }

    fn forward_with(&self, obs: &Tensor, actions: &Tensor, training: bool, frozen: bool) -> Tensor {
        let x = Tensor::cat(&[obs, actions], -1);
        let qs: Vec<Tensor> = self.nets.iter().map(|net| net.forward_with(&self.params, &x, training, frozen)).collect();
        Tensor::cat(&qs, -1)
    }

    /// The flat parameter tensor.
    pub fn params(&self) -> &Tensor {
        self.params.params()
    }

    /// Parameters and normalisation buffers, named for saving.
    pub fn named_tensors(&self) -> Vec<(String, Tensor)> {
        let mut named = self.params.named_tensors();
        named.extend(self.nets.iter().flat_map(|n| n.buffers()));
        named
    }

    /// Loads what [`RenormCritics::named_tensors`] named.
    pub fn load_named(&self, named: &[(String, Tensor)]) -> Result<()> {
        self.params.load_named(named)?;
        self.nets.iter().try_for_each(|n| n.load_buffers(named))
    }

    fn put_state(&self, s: &mut TrainState) -> Result<()> {
        s.put_tensor("critics", self.params())?;
        self.nets.iter().try_for_each(|n| n.put_state(s, "critic_norms."))
    }

    fn restore_state(&self, s: &TrainState) -> Result<()> {
        s.copy_into("critics", self.params())?;
        self.nets.iter().try_for_each(|n| n.restore_state(s, "critic_norms."))
    }
}

/// The CrossQ learner: the soft actor and the batch-renormalised critics (no targets).
pub struct CrossQ {
    config: CrossQConfig,
    device: Device,
    soft: SoftActor,
    critics: RenormCritics,
    critic_optimizer: Optimizer,
    rng: ChaCha8Rng,
    /// The warm-up's update written out on the host (CPU); `None`: LibTorch's only.
    host: Option<HostCrossQ>,
}

/// A CrossQ agent.
pub type CrossQAgent = OffPolicy<CrossQ>;

impl CrossQ {
    /// A CrossQ agent for `config.env_id` on `device`.
    pub fn agent(config: CrossQConfig, device: Device) -> Result<CrossQAgent> {
        config.validate()?;
        let space = Space::Box(box_action_space("CrossQ", &config.env_id)?);
        Ok(OffPolicy::from_learner(Self::build(config, device)?, space))
    }

    fn build(config: CrossQConfig, device: Device) -> Result<Self> {
        let space = box_action_space("CrossQ", &config.env_id)?;
        let obs_dim = nnlab_envs::make(&config.env_id)?.observation_space().dim();
        let act_dim = space.dim();
        let (actor_vs, critic_vs) = (nn::VarStore::new(device), nn::VarStore::new(device));
        let kind = ActorKind::SquashedGaussian { log_std_min: config.log_std_min, log_std_max: config.log_std_max };
        let actor_renorm = config.batch_norm_actor.then(|| config.renorm());
        let (actor, critics) = crate::with_torch_seed(config.seed, || {
            let actor = Actor::with_renorm(&actor_vs.root(), obs_dim, &space, &config.actor_hidden_sizes, kind, actor_renorm);
            let critics = RenormCritics::new(&critic_vs.root(), config.n_critics, obs_dim, act_dim, &config.critic_hidden_sizes, config.renorm());
            (actor, critics)
        });
        let settings = SoftActorSettings {
            policy_lr: config.learning_rate,
            alpha_lr: config.learning_rate,
            beta1: config.adam_beta1,
            log_alpha_loss: true,
            autotune: config.autotune,
            alpha_init: if config.autotune { 1.0 } else { config.alpha },
            target_entropy: config.target_entropy.unwrap_or(-(act_dim as f64)),
            sde_period: 1,
        };
        let host = (device == Device::Cpu)
            .then(|| HostCrossQ::new(&actor, (config.log_std_min, config.log_std_max), &critics.params, &critics.nets, obs_dim, config.gamma));
        let soft = SoftActor::new(actor, &actor_vs, settings)?;
        let critic_optimizer =
            Adam { beta1: config.adam_beta1, ..Default::default() }.build(&critic_vs, config.q_learning_rate.unwrap_or(config.learning_rate))?;
        Ok(Self { device, soft, critics, critic_optimizer, rng: ChaCha8Rng::seed_from_u64(config.seed), host, config })
    }

    /// The actor.
    pub fn actor(&self) -> &Actor {
        self.soft.actor()
    }

    /// The critic loss of one batch with the actor's `noise` at `s'`: the joint
    /// forward of `(s, a)` and `(s', a')`, and the current Q values `[B, n]`.
    fn critic_loss(&mut self, batch: &Batch, noise: &Tensor) -> (Tensor, Tensor) {
        let rows = batch.rewards.size()[0];
        let next = tch::no_grad(|| self.soft.sample(&batch.next_observations, noise));
        let obs = Tensor::cat(&[&batch.observations, &batch.next_observations], 0);
        let actions = Tensor::cat(&[&batch.actions, &next.actions], 0);
        let q = self.critics.forward(&obs, &actions, true);
        let current = q.narrow(0, 0, rows);
        let target = tch::no_grad(|| {
            let (next_q, _) = q.narrow(0, rows, rows).detach().min_dim(1, false);
            let soft_value = next_q - self.soft.alpha_tensor() * &next.log_probs;
            let not_done: Tensor = 1.0 - &batch.terminated;
            (&batch.rewards + not_done * self.config.gamma * soft_value).unsqueeze(-1)
        });
        let loss = (target - &current).square().mean_dim(0, false, Kind::Float).sum(Kind::Float) * 0.5;
        (loss, current)
    }
}

impl OffPolicyLearner for CrossQ {
    fn algo(&self) -> &'static str {
        "crossq"
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
        let rows = batch.rewards.size()[0] as usize;
        if let Some(host) = self.host.as_mut().filter(|_| HostCrossQ::applies(self.soft.actor(), &self.critics.nets)) {
            // The warm-up on the host (crate::crossq_host): the same steps and draws.
            host.draw_noise(&mut self.rng, rows);
            let alpha = self.soft.alpha() as f32;
            let (params, nets) = (&self.critics.params, &self.critics.nets);
            host.critic_step(self.soft.actor(), params, nets, &mut self.critic_optimizer, alpha, batch, stats);
            if update.is_multiple_of(self.config.policy_delay) {
                host.draw_noise(&mut self.rng, rows);
                let alpha = self.soft.alpha() as f32;
                let loss = host.actor_gradient(self.soft.actor(), params, nets, alpha, batch);
                self.soft.step_from_gradient(loss, host.log_probs(), stats, 2);
            }
            return;
        }
        let noise = self.soft.draw_noise(&mut self.rng, rows);
        let (loss, current) = self.critic_loss(batch, &noise);
        self.critic_optimizer.backward_step(&loss);
        stats.add(0, &[loss, current.detach().mean(Kind::Float)]);
        if update.is_multiple_of(self.config.policy_delay) {
            let noise = self.soft.draw_noise(&mut self.rng, rows);
            let (critics, obs) = (&self.critics, &batch.observations);
            self.soft.step(obs, &noise, |actions| critics.frozen(obs, actions).min_dim(1, false).0, stats, 2);
        }
    }

    fn save(&self, path: &std::path::Path) -> Result<()> {
        let actor = self.soft.actor();
        let mut named = actor.flat().named_tensors();
        if let Some(net) = actor.renorm() {
            named.extend(net.buffers());
        }
        named.extend(self.critics.named_tensors());
        let refs: Vec<(&str, &Tensor)> = named.iter().map(|(n, t)| (n.as_str(), t)).collect();
        Tensor::write_safetensors(&refs, path).map_err(|e| anyhow::anyhow!("saving {}: {e}", path.display()))
    }

    fn load(&mut self, path: &std::path::Path) -> Result<()> {
        let named = crate::agent::read_weights(path)?;
        let err = |e: anyhow::Error| anyhow::anyhow!("{}: {e}", path.display());
        let actor = self.soft.actor();
        actor.flat().load_named(&named).map_err(err)?;
        if let Some(net) = actor.renorm() {
            net.load_buffers(&named).map_err(err)?;
        }
        self.critics.load_named(&named).map_err(err)?;
        self.soft.mark_stale();
        Ok(())
    }

    fn train_state(&self) -> Result<TrainState> {
        let mut s = TrainState::new();
        self.soft.put_train_state(&mut s)?;
        self.critics.put_state(&mut s)?;
        s.put_part("critic_optimizer", self.critic_optimizer.train_state()?);
        s.put("rng", &self.rng)?;
        Ok(s)
    }

    fn restore_train_state(&mut self, s: &TrainState) -> Result<()> {
        self.soft.restore_train_state(s)?;
        self.critics.restore_state(s)?;
        self.critic_optimizer.restore_train_state(&s.part("critic_optimizer"))?;
        self.rng = s.get("rng")?;
        Ok(())
    }
}

impl RunConfig for CrossQConfig {
    seed_field!();
    fn check(&self) -> Result<()> {
        self.validate()?;
        fits_in_memory("buffer_size", self.loop_settings().replay_bytes()?)
    }
}

impl AlgorithmConfig for CrossQConfig {
    const ALGO: &'static str = "crossq";
    const ABOUT: &'static str = "CrossQ: SAC with batch renormalisation and no target networks (Box actions)";
    const PUBLISHED: &'static [PublishedScore] = &[("Pendulum-v1", -157.0, "SB3 zoo SAC -157.0")];
    common_config_fields!();
    fn build(&self, device: Device) -> Result<Box<dyn crate::Agent>> {
        Ok(Box::new(CrossQ::agent(self.clone(), device)?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn small() -> CrossQConfig {
        CrossQConfig { gamma: 0.9, actor_hidden_sizes: vec![16], critic_hidden_sizes: vec![32], ..Default::default() }
    }

    #[test]
    fn the_joint_forward_bootstraps_truncated_rows_only_and_moves_the_critics_statistics() {
        let mut cq = CrossQ::build(small(), Device::Cpu).unwrap();
        let b = crate::td3::tests::truncated_and_terminated(Device::Cpu);
        let noise = cq.soft.draw_noise(&mut cq.rng, 2);
        let before = cq.critics.nets[0].buffers()[0].1.copy();
        let (loss, current) = cq.critic_loss(&b, &noise);
        assert_eq!(current.size(), [2, 2]);
        assert!(f64::try_from(&loss).unwrap().is_finite());
        assert!(!cq.critics.nets[0].buffers()[0].1.equal(&before), "a training forward moves the running mean");
        // Rebuild the loss by hand: a training-mode forward depends on the batch alone.
        let next = cq.soft.sample(&b.next_observations, &noise);
        let q = cq.critics.forward(&Tensor::cat(&[&b.observations, &b.next_observations], 0), &Tensor::cat(&[&b.actions, &next.actions], 0), true);
        let q: Vec<Vec<f32>> = Vec::try_from(&q).unwrap();
        let alpha_logp: Vec<f32> = Vec::try_from(cq.soft.alpha_tensor() * &next.log_probs).unwrap();
        let targets = [-1.0 + 0.9 * (q[2][0].min(q[2][1]) - alpha_logp[0]), -1.0];
        let expected: f32 = (0..2).map(|k| (0..2).map(|row| (targets[row] - q[row][k]).powi(2)).sum::<f32>() / 2.0).sum::<f32>() * 0.5;
        let l = f32::try_from(&loss).unwrap();
        assert!((l - expected).abs() < 1e-4 * expected.abs().max(1.0), "{l} vs {expected}");
    }

    #[test]
    fn acting_uses_the_running_statistics_as_the_torch_evaluation_forward_does() {
        let mut cq = CrossQ::build(small(), Device::Cpu).unwrap();
        // Move the actor's statistics with a few of its own updates.
        let mut stats = StatSums::new(5, Device::Cpu);
        let obs = Tensor::randn([32, 3], (Kind::Float, Device::Cpu)) * 2.0 + 1.0;
        for _ in 0..3 {
            let noise = cq.soft.draw_noise(&mut cq.rng, 32);
            let critics = &cq.critics;
            cq.soft.step(&obs, &noise, |a| critics.frozen(&obs, a).min_dim(1, false).0, &mut stats, 2);
        }
        let x = [0.3f32, -0.8, 2.0];
        let mut host = [0.0f32];
        cq.soft.act(&x, &mut host);
        let torch = f32::try_from(cq.soft.actor().forward(&Tensor::from_slice(&x).view([1, 3])).flatten(0, -1)).unwrap();
        assert!((host[0] - torch).abs() < 1e-4, "host {} vs torch {}", host[0], torch);
    }

    /// The host form of the warm-up takes the LibTorch form's steps
    /// (`td3::tests::check_host_update`); with a warm-up of 4 forwards it hands over
    /// to LibTorch's renormalised form mid-run, and with a plain actor it has no actor
    /// normalisations.
    #[test]
    fn the_host_warm_up_takes_the_same_steps_as_autograd() {
        let base = CrossQConfig { actor_hidden_sizes: vec![32, 24], critic_hidden_sizes: vec![40, 32], batch_size: 16, ..Default::default() };
        for (what, cfg) in [
            ("warm-up", base.clone()),
            ("hand-over", CrossQConfig { renorm_warmup_steps: 4, ..base.clone() }),
            ("plain actor", CrossQConfig { batch_norm_actor: false, ..base }),
        ] {
            let mut host = CrossQ::build(cfg.clone(), Device::Cpu).unwrap();
            let mut torch = CrossQ::build(cfg, Device::Cpu).unwrap();
            torch.host = None;
            // LibTorch's actor step also back-propagates into the critics' normalisation
            // gains (never stepped: the next critic step clears them), so the critics'
            // gradient is compared after the updates without an actor step.
            let grads = |l: &CrossQ, update: usize| {
                let actor = l.soft.actor().params().grad();
                if update.is_multiple_of(3) {
                    vec![actor]
                } else {
                    vec![l.critics.params().grad(), actor]
                }
            };
            crate::td3::tests::check_host_update(&mut host, &mut torch, grads, what);
        }
    }

    #[test]
    fn a_batch_of_one_is_refused() {
        let e = CrossQConfig { batch_size: 1, ..Default::default() }.validate().unwrap_err().to_string();
        assert!(e.contains("batch_size"), "{e}");
    }
}
