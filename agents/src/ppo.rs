//! Proximal Policy Optimization (Schulman et al. 2017), CleanRL's `ppo.py`
//! for discrete actions and `ppo_continuous_action.py` for Box actions.
//!
//! Each iteration collects `num_steps` steps from `num_envs` environments,
//! estimates advantages with GAE, and runs `update_epochs` passes of
//! `num_minibatches` shuffled minibatches of the clipped surrogate objective,
//! with value clipping, an entropy bonus, advantage normalisation, gradient
//! norm clipping and linear learning-rate annealing.
//!
//! One difference from CleanRL, on purpose: a time-limit truncation
//! bootstraps. The truncated step's reward gets `gamma * V(final observation)`
//! added (as Stable-Baselines3 does), where CleanRL treats truncation like
//! termination.
//!
//! Seeds: `tch::manual_seed(seed)` (initialisation), the agent's
//! `ChaCha8Rng::seed_from_u64(seed)` (action sampling and minibatch
//! shuffling), and the vector env's `reset(seed)` (env `i` gets `seed + i`).

use crate::agent::TrainStats;
use crate::algorithm::{common_config_fields, obs_dim, seed_field, AlgorithmConfig, PublishedScore, RunConfig};
use crate::observer::{Observer, TrainProgress};
use crate::onpolicy::{explained_variance, normalize_advantages, ActorCriticCore, RolloutTensors};
use crate::policy::ActorCritic;
use crate::rollout::RolloutBuffer;
use crate::schedule::annealed_lr;
use crate::validate::{nonzero, positive};
use anyhow::{bail, Result};
use nnlab_torch::check::fits_in_memory;
use rand::seq::SliceRandom;
use serde::{Deserialize, Serialize};
use tch::{Device, Kind, Tensor};

/// Every PPO hyperparameter, with CleanRL's `ppo.py` defaults.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct PpoConfig {
    /// Gymnasium id of the environment.
    pub env_id: String,
    /// Seed of the whole run.
    pub seed: u64,
    /// Environment steps to train for (all environments together).
    pub total_timesteps: usize,
    /// Adam learning rate (the start value when annealed).
    #[schemars(extend("exclusiveMinimum" = 0.0))]
    pub learning_rate: f64,
    /// Anneal the learning rate linearly to 0 over training.
    pub anneal_lr: bool,
    /// Adam epsilon.
    pub adam_eps: f64,
    /// Parallel environments.
    pub num_envs: usize,
    /// Steps per environment per rollout.
    pub num_steps: usize,
    /// Discount factor.
    #[schemars(range(min = 0.0, max = 1.0))]
    pub gamma: f64,
    /// GAE lambda.
    #[schemars(range(min = 0.0, max = 1.0))]
    pub gae_lambda: f64,
    /// Minibatches per epoch.
    pub num_minibatches: usize,
    /// Epochs over each rollout.
    pub update_epochs: usize,
    /// Normalise advantages within each minibatch.
    pub norm_adv: bool,
    /// Surrogate clipping coefficient.
    pub clip_coef: f64,
    /// Clip the value loss around the old values.
    pub clip_vloss: bool,
    /// Entropy bonus coefficient.
    pub ent_coef: f64,
    /// Value loss coefficient.
    pub vf_coef: f64,
    /// Gradient norm clipping.
    pub max_grad_norm: f64,
    /// Stop an iteration's epochs early when the approximate KL exceeds this (absent: never).
    pub target_kl: Option<f64>,
    /// The network that reads the observation: "mlp" for vectors, or
    /// "minatar" / "nature" (convolutions for pictures, then the hidden
    /// layers with ReLU, one torso under the actor and critic heads).
    pub network: crate::torso::Network,
    /// Hidden layer widths of the actor and of the critic (tanh).
    pub hidden_sizes: Vec<usize>,
    /// Initial log standard deviation of a Gaussian policy.
    #[schemars(range(min = -20.0, max = 5.0))]
    pub init_log_std: f64,
    /// Generalized state-dependent exploration (gSDE, Box actions): the noise is a
    /// linear function of the actor's last hidden features, with a learned
    /// `[features, actions]` log-std matrix (initialised to `init_log_std`).
    pub use_sde: bool,
    /// With `use_sde`: environment steps between new exploration matrices (0: one per rollout).
    pub sde_sample_freq: usize,
    /// Normalise observations with running statistics (clipped to +-10).
    pub normalize_observation: bool,
    /// Scale rewards by the running std of the discounted return (clipped to +-10).
    pub normalize_reward: bool,
    /// Deterministic evaluation episodes at the end of training.
    pub eval_episodes: usize,
}

impl Default for PpoConfig {
    fn default() -> Self {
        Self {
            env_id: "CartPole-v1".into(),
            seed: 1,
            total_timesteps: 500_000,
            learning_rate: 2.5e-4,
            anneal_lr: true,
            adam_eps: 1e-5,
            num_envs: 4,
            num_steps: 128,
            gamma: 0.99,
            gae_lambda: 0.95,
            num_minibatches: 4,
            update_epochs: 4,
            norm_adv: true,
            clip_coef: 0.2,
            clip_vloss: true,
            ent_coef: 0.01,
            vf_coef: 0.5,
            max_grad_norm: 0.5,
            target_kl: None,
            network: crate::torso::Network::Mlp,
            hidden_sizes: vec![64, 64],
            init_log_std: 0.0,
            use_sde: false,
            sde_sample_freq: 0,
            normalize_observation: false,
            normalize_reward: false,
            eval_episodes: 10,
        }
    }
}

impl PpoConfig {
    /// Checks every value; the error is one line naming the key.
    pub fn validate(&self) -> Result<()> {
        crate::validate_actor_critic!(self);
        positive("adam_eps", self.adam_eps)?;
        nonzero("num_minibatches", self.num_minibatches)?;
        if self.num_minibatches > self.batch_size() {
            bail!("num_minibatches ({}) must not exceed num_envs * num_steps ({})", self.num_minibatches, self.batch_size());
        }
        nonzero("update_epochs", self.update_epochs)?;
        positive("clip_coef", self.clip_coef)?;
        if let Some(kl) = self.target_kl {
            positive("target_kl", kl)?;
        }
        Ok(())
    }

    /// Transitions per rollout.
    pub fn batch_size(&self) -> usize {
        self.num_envs * self.num_steps
    }
}

/// A PPO agent.
pub struct Ppo {
    config: PpoConfig,
    core: ActorCriticCore,
    progress: TrainProgress,
}

impl Ppo {
    /// Builds the agent on `device`, seeding torch and its RNG with `config.seed`.
    pub fn new(config: PpoConfig, device: Device) -> Result<Self> {
        config.validate()?;
        let spec = crate::actor_critic_spec!(config, false);
        let core =
            ActorCriticCore::new(spec, device, |vs| nnlab_torch::optim::Adam { eps: config.adam_eps, ..Default::default() }.build(vs, config.learning_rate))?;
        Ok(Self { config, core, progress: TrainProgress { next: 1, ..Default::default() } })
    }

    /// The configuration.
    pub fn config(&self) -> &PpoConfig {
        &self.config
    }

    /// The actor-critic.
    pub fn policy(&self) -> &ActorCritic {
        &self.core.policy
    }

    /// Trains for `config.total_timesteps` steps, reporting to `observer`.
    pub fn train(&mut self, observer: &mut dyn Observer) -> Result<TrainStats> {
        let cfg = self.config.clone();
        let n = cfg.num_envs;
        let act_dim = self.core.policy.act_dim();
        let mut buf = RolloutBuffer::new(cfg.num_steps, n, self.core.obs_dim, act_dim);
        // At least 1: `validate` checked that one rollout fits.
        let num_iterations = cfg.total_timesteps / cfg.batch_size();
        let mut last: [(&'static str, Option<f64>); 7] = [
            ("learning_rate", None),
            ("policy_loss", None),
            ("value_loss", None),
            ("entropy", None),
            ("approx_kl", None),
            ("clip_fraction", None),
            ("explained_variance", None),
        ];
        // From the start, or where a restored state left off.
        self.progress.recall(&mut last);
        observer.on_update(self.core.collector.global_step(), &last);

        for iteration in self.progress.next..=num_iterations {
            // 1. Roll out the current policy; 2. advantages.
            let lr = annealed_lr(cfg.learning_rate, iteration, num_iterations, cfg.anneal_lr);
            let (data, returns) = self.core.rollout(&mut buf, lr, cfg.gamma, cfg.gae_lambda, observer)?;

            // 3. Optimise the surrogate over shuffled minibatches.
            let batch = cfg.batch_size();
            let mb_size = batch / cfg.num_minibatches;
            let mut order: Vec<i64> = (0..batch as i64).collect();
            let device = self.core.device;
            let zero = || Tensor::zeros([], (Kind::Float, device));
            let (mut pg_sum, mut v_sum, mut ent_sum, mut kl_sum, mut clip_sum) = (zero(), zero(), zero(), zero(), zero());
            let mut minibatches = 0usize;
            'epochs: for _ in 0..cfg.update_epochs {
                order.shuffle(&mut self.core.rng);
                let mut epoch_kl = zero();
                for start in (0..batch - mb_size + 1).step_by(mb_size) {
                    let idx = Tensor::from_slice(&order[start..start + mb_size]).to_device(self.core.device);
                    let m = self.minibatch_update(&data, &idx);
                    self.progress.updates += 1;
                    minibatches += 1;
                    pg_sum += m.policy_loss;
                    v_sum += m.value_loss;
                    ent_sum += m.entropy;
                    kl_sum += &m.approx_kl;
                    clip_sum += m.clip_fraction;
                    epoch_kl = m.approx_kl;
                }
                if let Some(target) = cfg.target_kl {
                    if f64::try_from(&epoch_kl)? > target {
                        break 'epochs;
                    }
                }
            }
            let mean = |t: &Tensor| f64::try_from(t).map(|v| v / minibatches as f64).ok();
            last = [
                ("learning_rate", Some(lr)),
                ("policy_loss", mean(&pg_sum)),
                ("value_loss", mean(&v_sum)),
                ("entropy", mean(&ent_sum)),
                ("approx_kl", mean(&kl_sum)),
                ("clip_fraction", mean(&clip_sum)),
                ("explained_variance", explained_variance(&buf.values, &returns)),
            ];
            let global_step = self.core.collector.global_step();
            observer.on_update(global_step, &last);
            observer.on_progress(global_step);
            if observer.stop_requested() {
                break;
            }
            self.progress.next = iteration + 1;
            self.progress.remember(&last);
            crate::evaluate_if_due(observer, global_step, self);
            crate::checkpoint_if_due(observer, global_step, || self.core.train_state(&self.progress))?;
        }
        Ok(TrainStats { episode_returns: self.core.collector.episode_returns.clone(), updates: self.progress.updates })
    }
}

/// Detached statistics of one minibatch update.
pub struct MinibatchStats {
    /// Clipped surrogate loss.
    pub policy_loss: Tensor,
    /// (Clipped) value loss.
    pub value_loss: Tensor,
    /// Mean entropy.
    pub entropy: Tensor,
    /// Approximate KL divergence `E[(r - 1) - log r]`.
    pub approx_kl: Tensor,
    /// Fraction of ratios outside the clip range.
    pub clip_fraction: Tensor,
}

impl Ppo {
    /// One gradient step of the PPO loss on the rows `idx` of `data`.
    pub fn minibatch_update(&mut self, data: &RolloutTensors, idx: &Tensor) -> MinibatchStats {
        let cfg = &self.config;
        let mb_obs = data.obs.index_select(0, idx);
        let dist = self.core.policy.dist(&mb_obs);
        let new_logprob = dist.log_prob(&data.actions.index_select(0, idx));
        let entropy = dist.entropy().mean(Kind::Float);
        let new_value = self.core.policy.value(&mb_obs);
        let log_ratio = new_logprob - data.log_probs.index_select(0, idx);
        let ratio = log_ratio.exp();
        let (approx_kl, clip_fraction) = tch::no_grad(|| {
            let kl = ((&ratio - 1.0) - &log_ratio).mean(Kind::Float);
            let cf = (&ratio - 1.0).abs().gt(cfg.clip_coef).to_kind(Kind::Float).mean(Kind::Float);
            (kl, cf)
        });
        let mut mb_adv = data.advantages.index_select(0, idx);
        if cfg.norm_adv {
            mb_adv = normalize_advantages(&mb_adv);
        }
        let pg_loss = (-&mb_adv * &ratio).maximum(&(-&mb_adv * ratio.clamp(1.0 - cfg.clip_coef, 1.0 + cfg.clip_coef))).mean(Kind::Float);
        let mb_returns = data.returns.index_select(0, idx);
        let v_loss = if cfg.clip_vloss {
            let mb_values = data.values.index_select(0, idx);
            let unclipped = (&new_value - &mb_returns).square();
            let v_clipped = &mb_values + (&new_value - &mb_values).clamp(-cfg.clip_coef, cfg.clip_coef);
            unclipped.maximum(&(v_clipped - &mb_returns).square()).mean(Kind::Float) * 0.5
        } else {
            (&new_value - &mb_returns).square().mean(Kind::Float) * 0.5
        };
        let loss = &pg_loss - cfg.ent_coef * &entropy + cfg.vf_coef * &v_loss;
        self.core.optimizer.zero_grad();
        loss.backward();
        self.core.policy.flat().clip_grad_norm(cfg.max_grad_norm);
        self.core.optimizer.step();
        MinibatchStats { policy_loss: pg_loss.detach(), value_loss: v_loss.detach(), entropy: entropy.detach(), approx_kl, clip_fraction }
    }
}

crate::actor_critic_agent!(Ppo, "ppo");

impl RunConfig for PpoConfig {
    seed_field!();
    fn check(&self) -> Result<()> {
        self.validate()?;
        fits_in_memory("num_envs * num_steps", (self.batch_size() * (obs_dim(&self.env_id)? + 8) * 4 * 3) as u128)
    }
}

impl AlgorithmConfig for PpoConfig {
    const ALGO: &'static str = "ppo";
    const ABOUT: &'static str = "Proximal Policy Optimization (discrete or Box actions)";
    const PUBLISHED: &'static [PublishedScore] = &[
        ("CartPole-v1", 490.04, "CleanRL ppo.py 490.04"),
        ("Acrobot-v1", -86.36, "CleanRL ppo.py -86.36"),
        ("Pendulum-v1", -172.0, "SB3 zoo (gSDE) about -172"),
    ];
    common_config_fields!();
    fn build(&self, device: Device) -> Result<Box<dyn crate::Agent>> {
        Ok(Box::new(Ppo::new(self.clone(), device)?))
    }
}
