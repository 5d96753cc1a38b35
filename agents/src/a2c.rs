//! Advantage Actor-Critic (A2C; Mnih et al. 2016, synchronous), with
//! Stable-Baselines3's defaults: `num_envs` environments step `num_steps`
//! times, advantages come from GAE (`gae_lambda = 1` gives n-step returns),
//! and one gradient step on the whole rollout minimises
//! `-(A * log pi) + vf_coef * (R - V)^2 - ent_coef * H` with RMSprop.
//!
//! Seeds: as PPO (`tch::manual_seed(seed)` for initialisation; the agent's
//! `ChaCha8Rng::seed_from_u64(seed)` for action sampling; envs `seed + i`).

use crate::agent::TrainStats;
use crate::algorithm::{common_config_fields, seed_field, AlgorithmConfig, PublishedScore, RunConfig};
use crate::observer::{Observer, TrainProgress};
use crate::onpolicy::{explained_variance, normalize_advantages, ActorCriticCore};
use crate::rollout::RolloutBuffer;
use crate::schedule::annealed_lr;
use crate::validate::positive;
use anyhow::Result;
use serde::{Deserialize, Serialize};
use tch::{Device, Kind, Tensor};

/// The optimiser of an on-policy agent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum OptimizerKind {
    /// RMSprop (alpha 0.99), as SB3's and the A3C paper's A2C.
    Rmsprop,
    /// Adam.
    Adam,
}

/// Every A2C hyperparameter, with Stable-Baselines3's defaults.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct A2cConfig {
    /// Gymnasium id of the environment.
    pub env_id: String,
    /// Seed of the whole run.
    pub seed: u64,
    /// Environment steps to train for (all environments together).
    pub total_timesteps: usize,
    /// Learning rate (the start value when annealed).
    #[schemars(extend("exclusiveMinimum" = 0.0))]
    pub learning_rate: f64,
    /// Anneal the learning rate linearly to 0.
    pub anneal_lr: bool,
    /// "rmsprop" or "adam".
    pub optimizer: OptimizerKind,
    /// Optimiser epsilon.
    pub optimizer_eps: f64,
    /// Parallel environments.
    pub num_envs: usize,
    /// Steps per environment per update (the n of n-step returns).
    pub num_steps: usize,
    /// Discount factor.
    #[schemars(range(min = 0.0, max = 1.0))]
    pub gamma: f64,
    /// GAE lambda (1.0: n-step returns).
    #[schemars(range(min = 0.0, max = 1.0))]
    pub gae_lambda: f64,
    /// Normalise advantages over the rollout.
    pub norm_adv: bool,
    /// Entropy bonus coefficient.
    pub ent_coef: f64,
    /// Value loss coefficient.
    pub vf_coef: f64,
    /// Gradient norm clipping.
    pub max_grad_norm: f64,
    /// The network that reads the observation: "mlp" for vectors, or
    /// "minatar" / "nature" (convolutions for pictures, then the hidden
    /// layers with ReLU, one torso under the actor and critic heads).
    pub network: crate::torso::Network,
    /// Hidden layer widths (tanh).
    pub hidden_sizes: Vec<usize>,
    /// One torso shared by actor and critic (else two separate networks).
    pub shared_network: bool,
    /// Initial log standard deviation of a Gaussian policy.
    #[schemars(range(min = -20.0, max = 5.0))]
    pub init_log_std: f64,
    /// Generalized state-dependent exploration (gSDE, Box actions): the noise is a
    /// linear function of the actor's last hidden features, with a learned
    /// `[features, actions]` log-std matrix (initialised to `init_log_std`).
    pub use_sde: bool,
    /// With `use_sde`: environment steps between new exploration matrices (0: one per rollout).
    pub sde_sample_freq: usize,
    /// Normalise observations with running statistics.
    pub normalize_observation: bool,
    /// Scale rewards by the running std of the discounted return.
    pub normalize_reward: bool,
    /// Deterministic evaluation episodes at the end of training.
    pub eval_episodes: usize,
}

impl Default for A2cConfig {
    fn default() -> Self {
        Self {
            env_id: "CartPole-v1".into(),
            seed: 1,
            total_timesteps: 500_000,
            learning_rate: 7e-4,
            anneal_lr: false,
            optimizer: OptimizerKind::Rmsprop,
            optimizer_eps: 1e-5,
            num_envs: 8,
            num_steps: 5,
            gamma: 0.99,
            gae_lambda: 1.0,
            norm_adv: false,
            ent_coef: 0.0,
            vf_coef: 0.5,
            max_grad_norm: 0.5,
            network: crate::torso::Network::Mlp,
            hidden_sizes: vec![64, 64],
            shared_network: false,
            init_log_std: 0.0,
            use_sde: false,
            sde_sample_freq: 0,
            normalize_observation: false,
            normalize_reward: false,
            eval_episodes: 10,
        }
    }
}

impl A2cConfig {
    /// Checks every value; the error is one line naming the key.
    pub fn validate(&self) -> Result<()> {
        crate::validate_actor_critic!(self);
        positive("optimizer_eps", self.optimizer_eps)
    }
}

/// An A2C agent.
pub struct A2c {
    config: A2cConfig,
    core: ActorCriticCore,
    progress: TrainProgress,
}

impl A2c {
    /// Builds the agent on `device`, seeding torch and its RNG with `config.seed`.
    pub fn new(config: A2cConfig, device: Device) -> Result<Self> {
        config.validate()?;
        let spec = crate::actor_critic_spec!(config, config.shared_network);
        let core = ActorCriticCore::new(spec, device, |vs| match config.optimizer {
            OptimizerKind::Rmsprop => {
                nnlab_torch::optim::RmsProp { alpha: 0.99, eps: config.optimizer_eps, ..Default::default() }.build(vs, config.learning_rate)
            }
            OptimizerKind::Adam => nnlab_torch::optim::Adam { eps: config.optimizer_eps, ..Default::default() }.build(vs, config.learning_rate),
        })?;
        Ok(Self { config, core, progress: TrainProgress { next: 1, ..Default::default() } })
    }

    /// The policy's flat parameter tensor.
    pub fn policy_params(&self) -> &Tensor {
        self.core.policy.flat().params()
    }

    /// Trains for `config.total_timesteps` steps, reporting to `observer`.
    pub fn train(&mut self, observer: &mut dyn Observer) -> Result<TrainStats> {
        let cfg = self.config.clone();
        let n = cfg.num_envs;
        let act_dim = self.core.policy.act_dim();
        let mut buf = RolloutBuffer::new(cfg.num_steps, n, self.core.obs_dim, act_dim);
        let num_iterations = cfg.total_timesteps / (n * cfg.num_steps);
        let mut last: [(&'static str, Option<f64>); 5] =
            [("learning_rate", None), ("policy_loss", None), ("value_loss", None), ("entropy", None), ("explained_variance", None)];
        // From the start, or where a restored state left off.
        self.progress.recall(&mut last);
        observer.on_update(self.core.collector.global_step(), &last);
        for iteration in self.progress.next..=num_iterations {
            // 1. Roll out; 2. advantages (n-step returns when lambda = 1).
            let lr = annealed_lr(cfg.learning_rate, iteration, num_iterations, cfg.anneal_lr);
            let (data, returns) = self.core.rollout(&mut buf, lr, cfg.gamma, cfg.gae_lambda, observer)?;

            // 3. One gradient step on the whole rollout.
            let adv = if cfg.norm_adv { normalize_advantages(&data.advantages) } else { data.advantages.shallow_clone() };
            let dist = self.core.policy.dist(&data.obs);
            let policy_loss = -(&adv * dist.log_prob(&data.actions)).mean(Kind::Float);
            let value_loss = (self.core.policy.value(&data.obs) - &data.returns).square().mean(Kind::Float);
            let entropy = dist.entropy().mean(Kind::Float);
            let loss = &policy_loss + cfg.vf_coef * &value_loss - cfg.ent_coef * &entropy;
            self.core.optimizer.zero_grad();
            loss.backward();
            self.core.policy.flat().clip_grad_norm(cfg.max_grad_norm);
            self.core.optimizer.step();

            let scalar = |t: &Tensor| f64::try_from(t).ok();
            last = [
                ("learning_rate", Some(lr)),
                ("policy_loss", scalar(&policy_loss)),
                ("value_loss", scalar(&value_loss)),
                ("entropy", scalar(&entropy)),
                ("explained_variance", explained_variance(&buf.values, &returns)),
            ];
            self.progress.updates += 1;
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

crate::actor_critic_agent!(A2c, "a2c");

impl RunConfig for A2cConfig {
    seed_field!();
    fn check(&self) -> Result<()> {
        self.validate()
    }
}

impl AlgorithmConfig for A2cConfig {
    const ALGO: &'static str = "a2c";
    const ABOUT: &'static str = "Advantage Actor-Critic (discrete or Box actions)";
    const PUBLISHED: &'static [PublishedScore] = &[("CartPole-v1", 500.0, "SB3 zoo 500")];
    common_config_fields!();
    fn build(&self, device: Device) -> Result<Box<dyn crate::Agent>> {
        Ok(Box::new(A2c::new(self.clone(), device)?))
    }
}
