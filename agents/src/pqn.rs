//! PQN, Parallelised Q-Network (Gallici et al. 2024, "Simplifying Deep
//! Temporal Difference Learning"), CleanRL's `pqn.py`: Q-learning without a
//! replay buffer or a target network. Each iteration plays `num_steps`
//! epsilon-greedy steps in `num_envs` environments, computes Q(lambda)
//! returns from the Q-values seen while acting, and fits the network to them
//! over `update_epochs` passes of `num_minibatches` shuffled minibatches.
//! Layer normalisation after every hidden layer keeps the bootstrapping
//! stable without a target network; the optimiser is RAdam, the learning rate
//! anneals linearly to 0.
//!
//! The Q(lambda) return of step `t` is
//! `G_t = r_t + gamma * (lambda * G_{t+1} + (1 - lambda) * max_a Q(s_{t+1}, a))`,
//! cut at the end of the rollout (`G = r + gamma * max_a Q(s_T, a)`) and at
//! episode ends. One difference from CleanRL, on purpose: a time-limit
//! truncation bootstraps from `max_a Q(final observation)` (CleanRL treats
//! it as a termination), as nnlab's DQN and PPO do.
//!
//! Pictures (MinAtar's games) go through convolutions first (`network`).
//! The dense layers start orthogonal (gain sqrt 2, zero biases), as CleanRL's.
//!
//! Seeds: `tch::manual_seed(seed)` (initialisation), the agent's
//! `ChaCha8Rng::seed_from_u64(seed)` (exploration and minibatch shuffling),
//! and the vector env's `reset(seed)` (env `i` gets `seed + i`).

use crate::agent::{OwnedAction, TrainStats};
use crate::algorithm::{common_config_fields, obs_dim, seed_field, AlgorithmConfig, PublishedScore, RunConfig};
use crate::network::QNetwork;
use crate::observer::{EpisodeRecord, Observer, TrainProgress};
use crate::schedule::{annealed_lr, LinearSchedule};
use crate::torso::Network;
use crate::validate::{self, in_range, nonzero, positive};
use anyhow::{bail, Result};
use nnlab_envs::{Actions, Space, SyncVectorEnv};
use nnlab_torch::check::fits_in_memory;
use nnlab_torch::state::TrainState;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};
use tch::nn::{self, Module};
use tch::{Device, Kind, Tensor};

/// Every PQN hyperparameter, with CleanRL's `pqn.py` defaults.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct PqnConfig {
    /// Gymnasium id of the environment (discrete actions).
    pub env_id: String,
    /// Seed of the whole run.
    pub seed: u64,
    /// Environment steps to train for (all environments together).
    pub total_timesteps: usize,
    /// RAdam learning rate (the start value when annealed).
    #[schemars(extend("exclusiveMinimum" = 0.0))]
    pub learning_rate: f64,
    /// Anneal the learning rate linearly to 0 over training.
    pub anneal_lr: bool,
    /// RAdam epsilon.
    pub radam_eps: f64,
    /// Parallel environments.
    pub num_envs: usize,
    /// Steps per environment per rollout.
    pub num_steps: usize,
    /// Discount factor.
    #[schemars(range(min = 0.0, max = 1.0))]
    pub gamma: f64,
    /// Q(lambda)'s lambda: 0 is one-step Q-learning, 1 the Monte-Carlo return.
    #[schemars(range(min = 0.0, max = 1.0))]
    pub q_lambda: f64,
    /// Minibatches per epoch.
    pub num_minibatches: usize,
    /// Epochs over each rollout.
    pub update_epochs: usize,
    /// Gradient norm clipping.
    pub max_grad_norm: f64,
    /// Exploration rate at the start.
    #[schemars(range(min = 0.0, max = 1.0))]
    pub start_e: f64,
    /// Exploration rate at the end of the ramp.
    #[schemars(range(min = 0.0, max = 1.0))]
    pub end_e: f64,
    /// Fraction of `total_timesteps` over which epsilon ramps from `start_e` to `end_e`.
    #[schemars(range(min = 0.0, max = 1.0))]
    pub exploration_fraction: f64,
    /// The network that reads the observation: "mlp" for vectors, or
    /// "minatar" / "nature" (convolutions, for pictures such as MinAtar's).
    pub network: Network,
    /// Widths of the hidden dense layers (after the convolutions, if any).
    pub hidden_sizes: Vec<usize>,
    /// Layer normalisation after each hidden dense layer (PQN's stabiliser).
    pub layer_norm: bool,
    /// Greedy evaluation episodes at the end of training.
    pub eval_episodes: usize,
}

impl Default for PqnConfig {
    fn default() -> Self {
        Self {
            env_id: "CartPole-v1".into(),
            seed: 1,
            total_timesteps: 500_000,
            learning_rate: 2.5e-4,
            anneal_lr: true,
            radam_eps: 1e-8,
            num_envs: 4,
            num_steps: 128,
            gamma: 0.99,
            q_lambda: 0.65,
            num_minibatches: 4,
            update_epochs: 4,
            max_grad_norm: 10.0,
            start_e: 1.0,
            end_e: 0.05,
            exploration_fraction: 0.5,
            network: Network::Mlp,
            hidden_sizes: vec![120, 84],
            layer_norm: true,
            eval_episodes: 10,
        }
    }
}

impl PqnConfig {
    /// Environment steps per iteration.
    pub fn batch_size(&self) -> usize {
        self.num_envs * self.num_steps
    }

    /// Checks every value; the error is one line naming the key.
    pub fn validate(&self) -> Result<()> {
        let env = validate::env_id(&self.env_id)?;
        if let Space::Box(_) = env.action_space() {
            bail!("env_id: PQN needs discrete actions, but {} has a continuous (Box) action space", self.env_id);
        }
        self.network.check(&self.env_id, &env.observation_shape())?;
        nonzero("total_timesteps", self.total_timesteps)?;
        positive("learning_rate", self.learning_rate)?;
        positive("radam_eps", self.radam_eps)?;
        nonzero("num_envs", self.num_envs)?;
        nonzero("num_steps", self.num_steps)?;
        validate::rollout_fits(self.num_envs, self.num_steps, self.total_timesteps)?;
        in_range("gamma", self.gamma, 0.0, 1.0)?;
        in_range("q_lambda", self.q_lambda, 0.0, 1.0)?;
        nonzero("num_minibatches", self.num_minibatches)?;
        if self.num_minibatches > self.batch_size() {
            bail!("num_minibatches ({}) must not exceed num_envs * num_steps ({})", self.num_minibatches, self.batch_size());
        }
        nonzero("update_epochs", self.update_epochs)?;
        positive("max_grad_norm", self.max_grad_norm)?;
        in_range("start_e", self.start_e, 0.0, 1.0)?;
        in_range("end_e", self.end_e, 0.0, 1.0)?;
        in_range("exploration_fraction", self.exploration_fraction, 0.0, 1.0)?;
        validate::hidden_sizes(&self.hidden_sizes)
    }
}

/// One rollout on the host: `[num_steps, num_envs]` rows, environment-minor.
struct Rollout {
    obs: Vec<f32>,
    actions: Vec<i64>,
    rewards: Vec<f32>,
    /// `max_a Q(s_t, a)` as seen while acting.
    values: Vec<f32>,
    terminated: Vec<bool>,
    truncated: Vec<bool>,
    /// For a truncated step, `max_a Q(final observation, a)`.
    final_values: Vec<f32>,
}

impl Rollout {
    fn new(num_steps: usize, num_envs: usize, obs_dim: usize) -> Self {
        let n = num_steps * num_envs;
        Self {
            obs: vec![0.0; n * obs_dim],
            actions: vec![0; n],
            rewards: vec![0.0; n],
            values: vec![0.0; n],
            terminated: vec![false; n],
            truncated: vec![false; n],
            final_values: vec![0.0; n],
        }
    }

    /// The Q(lambda) returns (module docs), given `max_a Q` of the observations after the rollout.
    fn q_lambda_returns(&self, num_envs: usize, last_values: &[f32], gamma: f32, lambda: f32) -> Vec<f32> {
        let mut returns = vec![0.0f32; self.rewards.len()];
        let steps = self.rewards.len() / num_envs;
        for t in (0..steps).rev() {
            for (i, &last_value) in last_values.iter().enumerate().take(num_envs) {
                let k = t * num_envs + i;
                returns[k] = if self.terminated[k] {
                    self.rewards[k]
                } else if self.truncated[k] {
                    self.rewards[k] + gamma * self.final_values[k]
                } else {
                    let (next_value, next_return) = if t + 1 == steps { (last_value, last_value) } else { (self.values[k + num_envs], returns[k + num_envs]) };
                    self.rewards[k] + gamma * (lambda * next_return + (1.0 - lambda) * next_value)
                };
            }
        }
        returns
    }
}

/// A PQN agent.
pub struct Pqn {
    config: PqnConfig,
    device: Device,
    n_actions: usize,
    obs_dim: usize,
    q_network: QNetwork,
    optimizer: nnlab_torch::optim::Optimizer,
    rng: ChaCha8Rng,
    envs: SyncVectorEnv,
    obs: Vec<f32>,
    global_step: usize,
    episode_returns: Vec<f64>,
    epsilon: LinearSchedule,
    progress: TrainProgress,
}

impl Pqn {
    /// Builds the agent on `device`, seeding torch, its RNG and the environments with `config.seed`.
    pub fn new(config: PqnConfig, device: Device) -> Result<Self> {
        config.validate()?;
        let mut envs = SyncVectorEnv::make(&config.env_id, config.num_envs)?;
        let n_actions = envs.action_space().n().expect("validated: discrete actions");
        let obs_shape = envs.env(0).observation_shape();
        let obs_dim = envs.obs_dim();
        let vs = nn::VarStore::new(device);
        let q_network = crate::with_torch_seed(config.seed, || {
            // CleanRL's `layer_init`: orthogonal dense weights (gain sqrt 2), zero biases.
            let init = crate::flat::LayerInit::Orthogonal(std::f64::consts::SQRT_2);
            QNetwork::with_layer_norm(&(vs.root() / "q"), &obs_shape, n_actions, &config.hidden_sizes, false, config.network, config.layer_norm, init)
        });
        let optimizer = nnlab_torch::optim::RAdam { eps: config.radam_eps, ..Default::default() }.build(&vs, config.learning_rate)?;
        let obs = envs.reset(Some(config.seed)).to_vec();
        let epsilon = LinearSchedule::new(config.start_e, config.end_e, config.exploration_fraction * config.total_timesteps as f64);
        Ok(Self {
            rng: ChaCha8Rng::seed_from_u64(config.seed),
            config,
            device,
            n_actions,
            obs_dim,
            q_network,
            optimizer,
            envs,
            obs,
            global_step: 0,
            episode_returns: Vec::new(),
            epsilon,
            progress: TrainProgress { next: 1, ..Default::default() },
        })
    }

    /// The configuration.
    pub fn config(&self) -> &PqnConfig {
        &self.config
    }

    /// The Q-network.
    pub fn q_network(&self) -> &QNetwork {
        &self.q_network
    }

    /// `[rows, n_actions]` Q-values of `rows` observations, on the host.
    fn q_values(&self, obs: &[f32]) -> Result<Vec<f32>> {
        let q = tch::no_grad(|| self.q_network.forward(&Tensor::from_slice(obs).view([-1, self.obs_dim as i64]).to_device(self.device)));
        Ok(Vec::<f32>::try_from(q.to_device(Device::Cpu).flatten(0, -1))?)
    }

    /// The greedy action and its value in one row of Q-values (ties to the lowest index, as `torch.argmax`).
    fn greedy(q: &[f32]) -> (usize, f32) {
        let best = q.iter().enumerate().fold(0, |best, (a, v)| if *v > q[best] { a } else { best });
        (best, q[best])
    }

    /// Plays one rollout epsilon-greedily, reporting finished episodes.
    fn collect(&mut self, rollout: &mut Rollout, observer: &mut dyn Observer) -> Result<Vec<f32>> {
        let (n, d) = (self.config.num_envs, self.obs_dim);
        let mut actions = vec![0usize; n];
        for t in 0..self.config.num_steps {
            self.global_step += n;
            let rows = t * n..(t + 1) * n;
            rollout.obs[t * n * d..(t + 1) * n * d].copy_from_slice(&self.obs);
            let eps = self.epsilon.value(self.global_step);
            let q = self.q_values(&self.obs)?;
            for (i, q) in q.chunks(self.n_actions).enumerate() {
                let (greedy, value) = Self::greedy(q);
                let explore = self.rng.random::<f64>() < eps;
                let random = self.rng.random_range(0..self.n_actions);
                actions[i] = if explore { random } else { greedy };
                rollout.values[t * n + i] = value;
                rollout.actions[t * n + i] = actions[i] as i64;
            }
            self.envs.step(Actions::Discrete(&actions))?;
            rollout.rewards[rows.clone()].copy_from_slice(self.envs.rewards());
            rollout.terminated[rows.clone()].copy_from_slice(self.envs.terminated());
            rollout.truncated[rows.clone()].copy_from_slice(self.envs.truncated());
            // A time-limit cut bootstraps from the final observation's value.
            let cut: Vec<usize> = (0..n).filter(|&i| self.envs.truncated()[i] && !self.envs.terminated()[i]).collect();
            if !cut.is_empty() {
                let finals: Vec<f32> = cut.iter().flat_map(|&i| self.envs.final_observations()[i * d..(i + 1) * d].iter().copied()).collect();
                for (&i, q) in cut.iter().zip(self.q_values(&finals)?.chunks(self.n_actions)) {
                    rollout.final_values[t * n + i] = Self::greedy(q).1;
                }
            }
            for i in 0..n {
                if let Some(ep) = self.envs.episodes()[i] {
                    self.episode_returns.push(ep.ret);
                    observer.on_episode(&EpisodeRecord { global_step: self.global_step, episode_return: ep.ret, episode_length: ep.len });
                }
            }
            self.obs.copy_from_slice(self.envs.observations());
        }
        Ok(self.q_values(&self.obs)?.chunks(self.n_actions).map(|q| Self::greedy(q).1).collect())
    }

    /// Trains for `config.total_timesteps` steps, reporting to `observer`.
    pub fn train(&mut self, observer: &mut dyn Observer) -> Result<TrainStats> {
        let cfg = self.config.clone();
        let (n, d) = (cfg.num_envs, self.obs_dim);
        let mut rollout = Rollout::new(cfg.num_steps, n, d);
        let num_iterations = cfg.total_timesteps / cfg.batch_size();
        let mut last: [(&'static str, Option<f64>); 4] = [("learning_rate", None), ("loss", None), ("mean_q", None), ("epsilon", None)];
        self.progress.recall(&mut last);
        observer.on_update(self.global_step, &last);
        for iteration in self.progress.next..=num_iterations {
            let lr = annealed_lr(cfg.learning_rate, iteration, num_iterations, cfg.anneal_lr);
            self.optimizer.set_lr(lr);
            let last_values = self.collect(&mut rollout, observer)?;
            let returns = rollout.q_lambda_returns(n, &last_values, cfg.gamma as f32, cfg.q_lambda as f32);

            let batch = cfg.batch_size();
            let dev = |t: Tensor| t.to_device(self.device);
            let b_obs = dev(Tensor::from_slice(&rollout.obs).view([batch as i64, d as i64]));
            let b_actions = dev(Tensor::from_slice(&rollout.actions));
            let b_returns = dev(Tensor::from_slice(&returns));
            let mb_size = batch / cfg.num_minibatches;
            let mut order: Vec<i64> = (0..batch as i64).collect();
            let zero = || Tensor::zeros([], (Kind::Float, self.device));
            let (mut loss_sum, mut q_sum, mut minibatches) = (zero(), zero(), 0usize);
            for _ in 0..cfg.update_epochs {
                order.shuffle(&mut self.rng);
                for start in (0..batch - mb_size + 1).step_by(mb_size) {
                    let idx = dev(Tensor::from_slice(&order[start..start + mb_size]));
                    let q = self.q_network.forward(&b_obs.index_select(0, &idx)).gather(1, &b_actions.index_select(0, &idx).unsqueeze(1), false).squeeze_dim(1);
                    let loss = (&q - b_returns.index_select(0, &idx)).square().mean(Kind::Float);
                    self.optimizer.zero_grad();
                    loss.backward();
                    self.q_network.flat().clip_grad_norm(cfg.max_grad_norm);
                    self.optimizer.step();
                    loss_sum += loss.detach();
                    q_sum += q.detach().mean(Kind::Float);
                    minibatches += 1;
                    self.progress.updates += 1;
                }
            }
            let mean = |t: &Tensor| f64::try_from(t).map(|v| v / minibatches as f64).ok();
            last = [("learning_rate", Some(lr)), ("loss", mean(&loss_sum)), ("mean_q", mean(&q_sum)), ("epsilon", Some(self.epsilon.value(self.global_step)))];
            observer.on_update(self.global_step, &last);
            observer.on_progress(self.global_step);
            if observer.stop_requested() {
                break;
            }
            self.progress.next = iteration + 1;
            self.progress.remember(&last);
            let global_step = self.global_step;
            crate::evaluate_if_due(observer, global_step, self);
            crate::checkpoint_if_due(observer, global_step, || crate::Agent::train_state(self))?;
        }
        Ok(TrainStats { episode_returns: self.episode_returns.clone(), updates: self.progress.updates })
    }
}

impl crate::Agent for Pqn {
    fn algo(&self) -> &'static str {
        "pqn"
    }
    fn env_id(&self) -> &str {
        &self.config.env_id
    }
    fn train(&mut self, observer: &mut dyn Observer) -> Result<TrainStats> {
        Pqn::train(self, observer)
    }
    fn act(&mut self, obs: &[f32]) -> Result<OwnedAction> {
        Ok(OwnedAction::Discrete(Self::greedy(&self.q_values(obs)?).0))
    }
    fn save(&self, path: &std::path::Path) -> Result<()> {
        use anyhow::Context;
        self.q_network.save_safetensors(path).with_context(|| format!("saving {}", path.display()))
    }
    fn load(&mut self, path: &std::path::Path) -> Result<()> {
        let named = crate::agent::read_weights(path)?;
        self.q_network.flat().load_named(&named).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))
    }
    fn train_state(&self) -> Result<TrainState> {
        let mut s = TrainState::new();
        s.put_tensor("q_network", self.q_network.params())?;
        s.put_part("optimizer", self.optimizer.train_state()?);
        s.put("rng", &self.rng)?;
        s.put("envs", &self.envs.snapshot())?;
        s.put_f32s("obs", &self.obs);
        s.put("global_step", &self.global_step)?;
        s.put_f64s("episode_returns", &self.episode_returns);
        self.progress.put(&mut s)?;
        Ok(s)
    }
    fn restore_train_state(&mut self, state: &TrainState) -> Result<()> {
        state.copy_into("q_network", self.q_network.params())?;
        self.optimizer.restore_train_state(&state.part("optimizer"))?;
        self.rng = state.get("rng")?;
        self.envs.restore(&state.get("envs")?)?;
        let obs = state.f32s("obs")?;
        if obs.len() != self.obs.len() {
            bail!("the checkpoint has {} observation values, expected {}", obs.len(), self.obs.len());
        }
        self.obs = obs;
        self.global_step = state.get("global_step")?;
        self.episode_returns = state.f64s("episode_returns")?;
        self.progress = TrainProgress::get(state)?;
        Ok(())
    }
}

impl RunConfig for PqnConfig {
    seed_field!();
    fn check(&self) -> Result<()> {
        self.validate()?;
        fits_in_memory("num_envs * num_steps", (self.batch_size() * (obs_dim(&self.env_id)? + 8) * 4 * 3) as u128)
    }
}

impl AlgorithmConfig for PqnConfig {
    const ALGO: &'static str = "pqn";
    const ABOUT: &'static str = "Parallelised Q-Network: Q(lambda), layer norm, no replay or target network (discrete actions)";
    const PUBLISHED: &'static [PublishedScore] = &[];
    common_config_fields!();
    fn build(&self, device: Device) -> Result<Box<dyn crate::Agent>> {
        Ok(Box::new(Pqn::new(self.clone(), device)?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Q(lambda) returns by hand on one environment: a cut rollout end, a
    /// termination, and a truncation that bootstraps from its final value.
    #[test]
    fn q_lambda_returns_cut_at_episode_ends_and_bootstrap_truncations() {
        let mut r = Rollout::new(4, 1, 1);
        r.rewards = vec![1.0, 2.0, 3.0, 4.0];
        r.values = vec![10.0, 20.0, 30.0, 40.0];
        r.terminated = vec![false, true, false, false];
        r.truncated = vec![false, false, true, false];
        r.final_values = vec![0.0, 0.0, 7.0, 0.0];
        let (g, l) = (0.5f32, 0.25f32);
        let got = r.q_lambda_returns(1, &[100.0], g, l);
        let g3 = 4.0 + g * 100.0;
        let g2 = 3.0 + g * 7.0;
        let g1 = 2.0;
        let g0 = 1.0 + g * (l * g1 + (1.0 - l) * 20.0);
        assert_eq!(got, vec![g0, g1, g2, g3]);
        // lambda = 0 is one-step Q-learning on the values seen while acting.
        let one_step = r.q_lambda_returns(1, &[100.0], g, 0.0);
        assert_eq!(one_step[0], 1.0 + g * 20.0);
    }
}
