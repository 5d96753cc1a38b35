//! REINFORCE (Williams 1992): Monte-Carlo policy gradient on complete
//! episodes, with returns-to-go, an optional learned value baseline, and
//! optional advantage normalisation.
//!
//! Each update plays `batch_episodes` episodes in parallel through the shared
//! rollout collector (one environment each, all under the current policy, so
//! every episode is on-policy; with observation and reward normalisation as
//! A2C and PPO have them), then takes one gradient step on
//! `-(G_t - b(s_t)) log pi(a_t|s_t)`. An episode cut by its time limit
//! bootstraps its last return from the baseline when there is one.
//!
//! Seeds: `tch::manual_seed(seed)` (initialisation), the agent's
//! `ChaCha8Rng::seed_from_u64(seed)` (action sampling), and environment `i`
//! resets with `seed + i` once, then continues its own stream.

use crate::agent::TrainStats;
use crate::algorithm::{common_config_fields, seed_field, AlgorithmConfig, PublishedScore, RunConfig};
use crate::observer::{Observer, TrainProgress};
use crate::onpolicy::{explained_variance, normalize_advantages, ActorCriticCore, ActorCriticSpec, CollectorSettings};
use crate::rollout::returns_to_go;
use crate::validate::{self, in_range, non_negative, nonzero, positive};
use anyhow::Result;
use serde::{Deserialize, Serialize};
use tch::{Device, Kind, Tensor};

/// Every REINFORCE hyperparameter, with defaults.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct ReinforceConfig {
    /// Gymnasium id of the environment.
    pub env_id: String,
    /// Seed of the whole run.
    pub seed: u64,
    /// Environment steps to train for.
    pub total_timesteps: usize,
    /// Adam learning rate.
    #[schemars(extend("exclusiveMinimum" = 0.0))]
    pub learning_rate: f64,
    /// Complete episodes per gradient step.
    pub batch_episodes: usize,
    /// Discount factor.
    #[schemars(range(min = 0.0, max = 1.0))]
    pub gamma: f64,
    /// Subtract a learned state-value baseline from the returns.
    pub baseline: bool,
    /// Normalise the advantages (returns minus baseline) over each batch.
    pub normalize_advantage: bool,
    /// Entropy bonus coefficient.
    pub ent_coef: f64,
    /// Value loss coefficient (with a baseline).
    pub vf_coef: f64,
    /// Gradient norm clipping.
    pub max_grad_norm: f64,
    /// Hidden layer widths of the policy and baseline networks (tanh).
    pub hidden_sizes: Vec<usize>,
    /// Initial log standard deviation of a Gaussian policy.
    #[schemars(range(min = -20.0, max = 5.0))]
    pub init_log_std: f64,
    /// Normalise observations with running statistics.
    pub normalize_observation: bool,
    /// Scale rewards by the running std of the discounted return.
    pub normalize_reward: bool,
    /// Deterministic evaluation episodes at the end of training.
    pub eval_episodes: usize,
}

impl Default for ReinforceConfig {
    fn default() -> Self {
        Self {
            env_id: "CartPole-v1".into(),
            seed: 1,
            total_timesteps: 1_000_000,
            learning_rate: 1e-3,
            batch_episodes: 8,
            gamma: 0.99,
            baseline: true,
            normalize_advantage: true,
            ent_coef: 0.0,
            vf_coef: 0.5,
            max_grad_norm: 0.5,
            hidden_sizes: vec![64, 64],
            init_log_std: 0.0,
            normalize_observation: false,
            normalize_reward: false,
            eval_episodes: 10,
        }
    }
}

impl ReinforceConfig {
    /// Checks every value; the error is one line naming the key.
    pub fn validate(&self) -> Result<()> {
        validate::env_id(&self.env_id)?;
        nonzero("total_timesteps", self.total_timesteps)?;
        positive("learning_rate", self.learning_rate)?;
        nonzero("batch_episodes", self.batch_episodes)?;
        in_range("gamma", self.gamma, 0.0, 1.0)?;
        non_negative("ent_coef", self.ent_coef)?;
        non_negative("vf_coef", self.vf_coef)?;
        positive("max_grad_norm", self.max_grad_norm)?;
        validate::hidden_sizes(&self.hidden_sizes)?;
        // Whole-episode collection acts on the host: dense networks on vectors only.
        crate::torso::Network::Mlp.check(&self.env_id, &validate::env_id(&self.env_id)?.observation_shape())?;
        in_range("init_log_std", self.init_log_std, -20.0, 5.0)?;
        Ok(())
    }
}

/// A REINFORCE agent.
pub struct Reinforce {
    config: ReinforceConfig,
    core: ActorCriticCore,
    progress: TrainProgress,
}

impl Reinforce {
    /// Builds the agent on `device`, seeding torch and its RNG with `config.seed`.
    pub fn new(config: ReinforceConfig, device: Device) -> Result<Self> {
        config.validate()?;
        let collector = CollectorSettings {
            env_id: config.env_id.clone(),
            num_envs: config.batch_episodes,
            seed: config.seed,
            gamma: config.gamma,
            normalize_observation: config.normalize_observation,
            normalize_reward: config.normalize_reward,
            sde_sample_freq: 0,
        };
        let spec = ActorCriticSpec {
            collector,
            hidden_sizes: &config.hidden_sizes,
            init_log_std: config.init_log_std,
            shared_network: false,
            use_sde: false,
            network: crate::torso::Network::Mlp,
        };
        let core = ActorCriticCore::new(spec, device, |vs| nnlab_torch::optim::Adam::default().build(vs, config.learning_rate))?;
        Ok(Self { config, core, progress: TrainProgress::default() })
    }

    /// Trains for `config.total_timesteps` steps, reporting to `observer`.
    pub fn train(&mut self, observer: &mut dyn Observer) -> Result<TrainStats> {
        let cfg = self.config.clone();
        let act_dim = self.core.policy.act_dim();
        let mut last: [(&'static str, Option<f64>); 4] = [("policy_loss", None), ("value_loss", None), ("entropy", None), ("explained_variance", None)];
        // From the start, or where a restored state left off (`progress.next`: the step of the next progress report).
        self.progress.recall(&mut last);
        observer.on_update(self.core.collector.global_step(), &last);
        while self.core.collector.global_step() < cfg.total_timesteps {
            let (core, progress) = (&mut self.core, &mut self.progress);
            // 1. One complete episode in every environment with the current policy.
            let batch = core.collector.collect_episodes(&core.policy, &mut core.rng, cfg.baseline, observer)?;

            // 2. Returns-to-go of every episode.
            let returns = returns_to_go(&batch.rewards, &batch.ends, cfg.gamma as f32);

            // 3. One gradient step.
            let dev = |v: &[f32]| Tensor::from_slice(v).to_device(core.device);
            let x = dev(&batch.observations).view([-1, core.obs_dim as i64]);
            let actions = dev(&batch.actions);
            let actions = if core.policy.is_discrete() { actions.to_kind(Kind::Int64) } else { actions.view([-1, act_dim as i64]) };
            let g = dev(&returns);
            let values = core.policy.value(&x);
            let mut adv = if cfg.baseline { &g - values.detach() } else { g.shallow_clone() };
            if cfg.normalize_advantage && returns.len() > 1 {
                adv = normalize_advantages(&adv);
            }
            let dist = core.policy.dist(&x);
            let policy_loss = -(&adv * dist.log_prob(&actions)).mean(Kind::Float);
            let entropy = dist.entropy().mean(Kind::Float);
            let value_loss = (&values - &g).square().mean(Kind::Float);
            let mut loss = &policy_loss - cfg.ent_coef * &entropy;
            if cfg.baseline {
                // Not `+=`: that adds in place into a tensor of the autograd graph.
                #[allow(clippy::assign_op_pattern)]
                {
                    loss = loss + cfg.vf_coef * &value_loss;
                }
            }
            core.optimizer.zero_grad();
            loss.backward();
            core.policy.flat().clip_grad_norm(cfg.max_grad_norm);
            core.optimizer.step();
            progress.updates += 1;
            let scalar = |t: &Tensor| f64::try_from(t).ok();
            let value_host = Vec::<f32>::try_from(values.detach().to_device(Device::Cpu))?;
            last = [
                ("policy_loss", scalar(&policy_loss)),
                ("value_loss", if cfg.baseline { scalar(&value_loss) } else { None }),
                ("entropy", scalar(&entropy)),
                ("explained_variance", if cfg.baseline { explained_variance(&value_host, &returns) } else { None }),
            ];
            let global_step = core.collector.global_step();
            observer.on_update(global_step, &last);
            if global_step >= progress.next {
                observer.on_progress(global_step);
                progress.next = global_step + 5000;
                if observer.stop_requested() {
                    break;
                }
            }
            self.progress.remember(&last);
            crate::evaluate_if_due(observer, global_step, self);
            crate::checkpoint_if_due(observer, global_step, || self.core.train_state(&self.progress))?;
        }
        Ok(TrainStats { episode_returns: self.core.collector.episode_returns.clone(), updates: self.progress.updates })
    }
}

crate::actor_critic_agent!(Reinforce, "reinforce");

impl RunConfig for ReinforceConfig {
    seed_field!();
    fn check(&self) -> Result<()> {
        self.validate()
    }
}

impl AlgorithmConfig for ReinforceConfig {
    const ALGO: &'static str = "reinforce";
    const ABOUT: &'static str = "REINFORCE with an optional value baseline (discrete or Box actions)";
    const PUBLISHED: &'static [PublishedScore] = &[];
    common_config_fields!();
    fn build(&self, device: Device) -> Result<Box<dyn crate::Agent>> {
        Ok(Box::new(Reinforce::new(self.clone(), device)?))
    }
}
