//! REINFORCE (Williams 1992): Monte-Carlo policy gradient on complete
//! episodes, with returns-to-go, an optional learned value baseline, and
//! optional advantage normalisation.
//!
//! Each update plays `batch_episodes` episodes in parallel (one environment
//! each, all under the current policy, so every episode is on-policy), then
//! takes one gradient step on `-(G_t - b(s_t)) log pi(a_t|s_t)`. An episode cut
//! by its time limit bootstraps its last return from the baseline when there is one.
//!
//! Seeds: `tch::manual_seed(seed)` (initialisation), the agent's
//! `ChaCha8Rng::seed_from_u64(seed)` (action sampling), and environment `i`
//! resets with `seed + i` once, then continues its own stream.

use crate::agent::{Agent, OwnedAction, TrainStats};
use crate::observer::{EpisodeRecord, Observer};
use crate::onpolicy::{deterministic_action, explained_variance, load_policy, save_policy};
use crate::policy::ActorCritic;
use crate::rollout::returns_to_go;
use crate::validate::{self, in_range, non_negative, nonzero, positive};
use anyhow::Result;
use nnlab_envs::{Action, Env, Space};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};
use tch::nn;
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
        in_range("init_log_std", self.init_log_std, -20.0, 5.0)?;
        Ok(())
    }
}

/// One environment's episode in progress.
#[derive(Debug, Default)]
struct Trajectory {
    obs: Vec<f32>,
    actions: Vec<f32>,
    rewards: Vec<f32>,
    done: bool,
}

/// A REINFORCE agent.
pub struct Reinforce {
    config: ReinforceConfig,
    device: Device,
    policy: ActorCritic,
    optimizer: nnlab_torch::optim::Optimizer,
    rng: ChaCha8Rng,
    envs: Vec<Box<dyn Env>>,
    obs_dim: usize,
    action_space: Space,
}

impl Reinforce {
    /// Builds the agent on `device`, seeding torch and its RNG with `config.seed`.
    pub fn new(config: ReinforceConfig, device: Device) -> Result<Self> {
        config.validate()?;
        let envs = (0..config.batch_episodes).map(|_| nnlab_envs::registry::make_with_stats(&config.env_id)).collect::<Result<Vec<_>, _>>()?;
        let obs_dim = envs[0].observation_space().dim();
        let action_space = envs[0].action_space().clone();
        let vs = nn::VarStore::new(device);
        let policy =
            crate::with_torch_seed(config.seed, || ActorCritic::new(&vs.root(), obs_dim, &action_space, &config.hidden_sizes, config.init_log_std, false))?;
        let optimizer = nnlab_torch::optim::Adam::default().build(&vs, config.learning_rate)?;
        let rng = ChaCha8Rng::seed_from_u64(config.seed);
        Ok(Self { config, device, policy, optimizer, rng, envs, obs_dim, action_space })
    }

    fn tensor(&self, obs: &[f32]) -> Tensor {
        Tensor::from_slice(obs).view([-1, self.obs_dim as i64]).to_device(self.device)
    }

    /// Trains for `config.total_timesteps` steps, reporting to `observer`.
    pub fn train(&mut self, observer: &mut dyn Observer) -> Result<TrainStats> {
        let cfg = self.config.clone();
        let k = cfg.batch_episodes;
        let act_dim = self.policy.act_dim();
        let mut obs: Vec<Vec<f32>> = self.envs.iter_mut().enumerate().map(|(i, e)| e.reset(Some(cfg.seed + i as u64))).collect();
        let mut stats = TrainStats::default();
        let mut last: [(&'static str, Option<f64>); 4] = [("policy_loss", None), ("value_loss", None), ("entropy", None), ("explained_variance", None)];
        observer.on_update(0, &last);
        let mut global_step = 0usize;
        let mut next_progress = 0usize;
        while global_step < cfg.total_timesteps {
            // 1. Play one episode in every environment with the current policy.
            let mut trajs: Vec<Trajectory> = (0..k).map(|_| Trajectory::default()).collect();
            let mut bootstrap = vec![0.0f32; k];
            while trajs.iter().any(|t| !t.done) {
                let active: Vec<usize> = (0..k).filter(|&i| !trajs[i].done).collect();
                let batch: Vec<f32> = active.iter().flat_map(|&i| obs[i].iter().copied()).collect();
                let actions = tch::no_grad(|| self.policy.dist(&self.tensor(&batch)).sample_with(&mut self.rng));
                let actions = Vec::<f32>::try_from(actions.to_kind(Kind::Float).flatten(0, -1).to_device(Device::Cpu))?;
                for (j, &i) in active.iter().enumerate() {
                    let a = &actions[j * act_dim..(j + 1) * act_dim];
                    let mut clipped = a.to_vec();
                    let action = match &self.action_space {
                        Space::Discrete(_) => Action::Discrete(a[0] as usize),
                        Space::Box(b) => {
                            for (x, (lo, hi)) in clipped.iter_mut().zip(b.low.iter().zip(&b.high)) {
                                *x = x.clamp(*lo, *hi);
                            }
                            Action::Continuous(&clipped)
                        }
                    };
                    let t = &mut trajs[i];
                    t.obs.extend_from_slice(&obs[i]);
                    t.actions.extend_from_slice(a);
                    let r = self.envs[i].step_into(action, &mut obs[i])?;
                    t.rewards.push(r.reward as f32);
                    global_step += 1;
                    if r.done() {
                        t.done = true;
                        if r.truncated && !r.terminated && cfg.baseline {
                            let v = tch::no_grad(|| f64::try_from(self.policy.value(&self.tensor(&obs[i])).sum(Kind::Float)))?;
                            bootstrap[i] = (cfg.gamma * v) as f32;
                        }
                        if let Some(ep) = r.episode {
                            stats.episode_returns.push(ep.ret);
                            observer.on_episode(&EpisodeRecord { global_step, episode_return: ep.ret, episode_length: ep.len });
                        }
                        obs[i] = self.envs[i].reset(None);
                    }
                }
            }

            // 2. Returns-to-go of every episode.
            let mut all_obs = Vec::new();
            let mut all_actions = Vec::new();
            let mut returns = Vec::new();
            for (t, b) in trajs.iter_mut().zip(&bootstrap) {
                *t.rewards.last_mut().expect("non-empty episode") += b;
                let mut ends = vec![0.0f32; t.rewards.len()];
                *ends.last_mut().expect("non-empty") = 1.0;
                returns.extend(returns_to_go(&t.rewards, &ends, cfg.gamma as f32));
                all_obs.extend_from_slice(&t.obs);
                all_actions.extend_from_slice(&t.actions);
            }

            // 3. One gradient step.
            let x = self.tensor(&all_obs);
            let actions = Tensor::from_slice(&all_actions).to_device(self.device);
            let actions = if self.policy.is_discrete() { actions.to_kind(Kind::Int64) } else { actions.view([-1, act_dim as i64]) };
            let g = Tensor::from_slice(&returns).to_device(self.device);
            let values = self.policy.value(&x);
            let mut adv = if cfg.baseline { &g - values.detach() } else { g.shallow_clone() };
            if cfg.normalize_advantage && returns.len() > 1 {
                adv = crate::onpolicy::normalize_advantages(&adv);
            }
            let dist = self.policy.dist(&x);
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
            self.optimizer.zero_grad();
            loss.backward();
            self.policy.flat().clip_grad_norm(cfg.max_grad_norm);
            self.optimizer.step();
            stats.updates += 1;
            let scalar = |t: &Tensor| f64::try_from(t).ok();
            let value_host = Vec::<f32>::try_from(values.detach().to_device(Device::Cpu))?;
            last = [
                ("policy_loss", scalar(&policy_loss)),
                ("value_loss", if cfg.baseline { scalar(&value_loss) } else { None }),
                ("entropy", scalar(&entropy)),
                ("explained_variance", if cfg.baseline { explained_variance(&value_host, &returns) } else { None }),
            ];
            observer.on_update(global_step, &last);
            if global_step >= next_progress {
                observer.on_progress(global_step);
                next_progress = global_step + 5000;
                if observer.stop_requested() {
                    break;
                }
            }
        }
        Ok(stats)
    }
}

impl Agent for Reinforce {
    fn algo(&self) -> &'static str {
        "reinforce"
    }
    fn env_id(&self) -> &str {
        &self.config.env_id
    }
    fn train(&mut self, observer: &mut dyn Observer) -> Result<TrainStats> {
        Reinforce::train(self, observer)
    }
    fn act(&mut self, obs: &[f32]) -> Result<OwnedAction> {
        deterministic_action(&self.policy, None, obs, self.device)
    }
    fn save(&self, path: &std::path::Path) -> Result<()> {
        save_policy(&self.policy, None, path)
    }
    fn load(&mut self, path: &std::path::Path) -> Result<()> {
        load_policy(&self.policy, None, path)
    }
}
