//! Deep Q-Network (Mnih et al. 2015) with double-DQN and dueling options.
//!
//! The loop follows CleanRL's `dqn.py` step for step: epsilon-greedy
//! actions on a linear schedule, one transition into the replay buffer per
//! step, a gradient update every `train_frequency` steps after
//! `learning_starts`, and a target-network update every
//! `target_network_frequency` steps. The TD target stops at `terminated` only:
//! a time-limit truncation stores the true final observation and bootstraps
//! from it.
//!
//! Seeds: one `seed` fans out into `tch::manual_seed(seed)` (network
//! initialisation), the agent's `ChaCha8Rng::seed_from_u64(seed)` (exploration
//! and replay sampling), and the training env's `reset(Some(seed))`.

use crate::agent::OwnedAction;
use crate::algorithm::{common_config_fields, obs_dim, seed_field, AlgorithmConfig, PublishedScore, RunConfig};
use crate::network::{clip_grad_norm, soft_update, GreedyPolicy, QNetwork};
use crate::offpolicy::{LoopSettings, OffPolicy, OffPolicyLearner, StatSums};
use crate::replay_buffer::{Batch, ReplayBuffer};
use crate::schedule::LinearSchedule;
pub use crate::torso::Network;
use crate::validate::{self, in_range, nonzero, positive};
pub use crate::value_head::TdLoss;
use crate::value_head::{self, ValueHead};
use anyhow::{bail, Context, Result};
use nnlab_envs::Space;
use nnlab_torch::check::fits_in_memory;
use nnlab_torch::state::TrainState;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};
use tch::nn::{self, Module};
use tch::{Device, Tensor};

/// Every DQN hyperparameter, with CleanRL's `dqn.py` defaults.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct DqnConfig {
    /// Gymnasium id of the environment (discrete actions).
    pub env_id: String,
    /// Seed of the whole run (networks, exploration, replay sampling, environments).
    pub seed: u64,
    /// Environment steps to train for.
    pub total_timesteps: usize,
    /// Adam learning rate (at the start, when `final_learning_rate` is set).
    #[schemars(extend("exclusiveMinimum" = 0.0))]
    pub learning_rate: f64,
    /// Learning rate at the last step, reached linearly from `learning_rate`
    /// (the SB3 zoo's `lin_<lr>` schedules decay to 0); absent: constant.
    pub final_learning_rate: Option<f64>,
    /// Adam epsilon.
    pub adam_eps: f64,
    /// The optimiser: "adam" or "rmsprop" (MinAtar's and Nature DQN's).
    pub optimizer: DqnOptimizer,
    /// RMSprop: decay of the squared-gradient average (PyTorch's `alpha`).
    #[schemars(range(min = 0.0, max = 1.0))]
    pub rmsprop_alpha: f64,
    /// RMSprop: added to the denominator.
    pub rmsprop_eps: f64,
    /// RMSprop: momentum of the update (0: none).
    #[schemars(range(min = 0.0, max = 1.0))]
    pub rmsprop_momentum: f64,
    /// RMSprop: centred (divide by the gradient's standard deviation).
    pub rmsprop_centered: bool,
    /// Replay buffer capacity in transitions.
    pub buffer_size: usize,
    /// Discount factor.
    #[schemars(range(min = 0.0, max = 1.0))]
    pub gamma: f64,
    /// Target update rate: 1.0 copies the network (hard update), less blends (soft, Polyak).
    #[schemars(range(min = 0.0, max = 1.0))]
    pub tau: f64,
    /// Environment steps between target-network updates.
    pub target_network_frequency: usize,
    /// Transitions per gradient update.
    pub batch_size: usize,
    /// Exploration rate at the start.
    #[schemars(range(min = 0.0, max = 1.0))]
    pub start_e: f64,
    /// Exploration rate at the end of the ramp.
    #[schemars(range(min = 0.0, max = 1.0))]
    pub end_e: f64,
    /// Fraction of `total_timesteps` over which epsilon ramps from `start_e` to `end_e`.
    #[schemars(range(min = 0.0, max = 1.0))]
    pub exploration_fraction: f64,
    /// Environment steps before learning starts.
    pub learning_starts: usize,
    /// Environment steps between training rounds.
    pub train_frequency: usize,
    /// Gradient updates per training round.
    pub gradient_steps: usize,
    /// The network that reads the observation: "mlp" for vectors, or
    /// "minatar" / "nature" (convolutions, for pictures such as MinAtar's).
    pub network: Network,
    /// Widths of the hidden ReLU layers (after the convolutions, if any).
    pub hidden_sizes: Vec<usize>,
    /// Double DQN: the online network picks the next action, the target network values it.
    pub double_dqn: bool,
    /// Dueling head: separate value and advantage streams.
    pub dueling: bool,
    /// TD loss: "mse" or "huber".
    pub loss: TdLoss,
    /// Clip the gradients' joint L2 norm to this value (absent: no clipping).
    pub max_grad_norm: Option<f64>,
    /// Greedy evaluation episodes at the end of training.
    pub eval_episodes: usize,
}

impl Default for DqnConfig {
    fn default() -> Self {
        Self {
            env_id: "CartPole-v1".into(),
            seed: 1,
            total_timesteps: 500_000,
            learning_rate: 2.5e-4,
            final_learning_rate: None,
            adam_eps: 1e-8,
            optimizer: DqnOptimizer::Adam,
            rmsprop_alpha: 0.99,
            rmsprop_eps: 1e-8,
            rmsprop_momentum: 0.0,
            rmsprop_centered: false,
            buffer_size: 10_000,
            gamma: 0.99,
            tau: 1.0,
            target_network_frequency: 500,
            batch_size: 128,
            start_e: 1.0,
            end_e: 0.05,
            exploration_fraction: 0.5,
            learning_starts: 10_000,
            train_frequency: 10,
            gradient_steps: 1,
            network: Network::Mlp,
            hidden_sizes: vec![120, 84],
            double_dqn: false,
            dueling: false,
            loss: TdLoss::Mse,
            max_grad_norm: None,
            eval_episodes: 10,
        }
    }
}

/// DQN's optimiser.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum DqnOptimizer {
    /// Adam (`adam_eps`), as CleanRL's `dqn.py`.
    Adam,
    /// RMSprop (`rmsprop_*`), as MinAtar's and Nature DQN's (centred, with momentum).
    Rmsprop,
}

impl DqnConfig {
    /// Checks every value; the error is one line naming the key.
    pub fn validate(&self) -> Result<()> {
        let env = validate::env_id(&self.env_id)?;
        if let Space::Box(_) = env.action_space() {
            bail!("env_id: DQN needs discrete actions, but {} has a continuous (Box) action space", self.env_id);
        }
        self.network.check(&self.env_id, &env.observation_shape())?;
        in_range("rmsprop_alpha", self.rmsprop_alpha, 0.0, 1.0)?;
        positive("rmsprop_eps", self.rmsprop_eps)?;
        in_range("rmsprop_momentum", self.rmsprop_momentum, 0.0, 1.0)?;
        nonzero("total_timesteps", self.total_timesteps)?;
        positive("learning_rate", self.learning_rate)?;
        if let Some(lr) = self.final_learning_rate {
            in_range("final_learning_rate", lr, 0.0, self.learning_rate)?;
        }
        positive("adam_eps", self.adam_eps)?;
        nonzero("buffer_size", self.buffer_size)?;
        in_range("gamma", self.gamma, 0.0, 1.0)?;
        in_range("tau", self.tau, 0.0, 1.0)?;
        positive("tau", self.tau)?;
        nonzero("target_network_frequency", self.target_network_frequency)?;
        nonzero("batch_size", self.batch_size)?;
        if self.batch_size > self.buffer_size {
            bail!("batch_size ({}) must not exceed buffer_size ({})", self.batch_size, self.buffer_size);
        }
        validate::learning_starts_before_end(self.learning_starts, self.total_timesteps)?;
        in_range("start_e", self.start_e, 0.0, 1.0)?;
        in_range("end_e", self.end_e, 0.0, 1.0)?;
        in_range("exploration_fraction", self.exploration_fraction, 0.0, 1.0)?;
        nonzero("train_frequency", self.train_frequency)?;
        nonzero("gradient_steps", self.gradient_steps)?;
        validate::hidden_sizes(&self.hidden_sizes)?;
        if let Some(m) = self.max_grad_norm {
            positive("max_grad_norm", m)?;
        }
        Ok(())
    }

    /// Bytes of replay memory this config needs for observations of length `obs_dim`.
    pub fn replay_bytes(&self, obs_dim: usize) -> u128 {
        ReplayBuffer::bytes_for(self.buffer_size, obs_dim)
    }
}

/// DQN's learner on the shared off-policy loop ([`crate::offpolicy`]):
/// online and target networks, optimiser, RNG and the epsilon schedule.
pub struct DqnLearner {
    /// `dqn`, `c51` or `qrdqn`.
    algo: &'static str,
    /// What the network outputs per action (DQN: one expected value).
    head: ValueHead,
    /// The head's support on the device ([`ValueHead::support`]), made once.
    support: Tensor,
    config: DqnConfig,
    device: Device,
    n_actions: usize,
    q_network: QNetwork,
    target_network: QNetwork,
    /// CPU copy of the online network for acting (dense networks only); refreshed after updates.
    policy: Option<GreedyPolicy>,
    policy_stale: bool,
    optimizer: nnlab_torch::optim::Optimizer,
    rng: ChaCha8Rng,
    /// Exploration: epsilon over the environment steps.
    epsilon: LinearSchedule,
    /// The learning rate over the environment steps, when it decays.
    learning_rate: Option<LinearSchedule>,
}

/// A DQN agent (and C51's and QR-DQN's: another value head): [`DqnLearner`]
/// on the shared off-policy loop.
pub type Dqn = OffPolicy<DqnLearner>;

impl Dqn {
    /// Builds the agent for `config.env_id` on `device`, seeding torch and its RNG with `config.seed`.
    pub fn new(config: DqnConfig, device: Device) -> Result<Self> {
        Self::with_head("dqn", config, ValueHead::Expected, device)
    }

    /// The agent `algo` with the value head `head` on the off-policy loop
    /// (C51 and QR-DQN: [`crate::distributional`]).
    pub(crate) fn with_head(algo: &'static str, config: DqnConfig, head: ValueHead, device: Device) -> Result<Self> {
        let learner = DqnLearner::new(algo, config, head, device)?;
        let space = Space::Discrete(learner.n_actions);
        Ok(OffPolicy::from_learner(learner, space))
    }
}

impl DqnLearner {
    fn new(algo: &'static str, config: DqnConfig, head: ValueHead, device: Device) -> Result<Self> {
        config.validate()?;
        let env = nnlab_envs::make(&config.env_id)?;
        let n_actions = match env.action_space() {
            Space::Discrete(n) => *n,
            Space::Box(_) => bail!("DQN needs discrete actions, but {} has a continuous (Box) action space", config.env_id),
        };
        let obs_shape = env.observation_shape();
        let vs = nn::VarStore::new(device);
        let mut target_vs = nn::VarStore::new(device);
        let (q_network, target_network) = crate::with_torch_seed(config.seed, || {
            let outputs = n_actions * head.outputs_per_action();
            let q = QNetwork::new(&(vs.root() / "q"), &obs_shape, outputs, &config.hidden_sizes, config.dueling, config.network);
            let target = QNetwork::new(&(target_vs.root() / "q"), &obs_shape, outputs, &config.hidden_sizes, config.dueling, config.network);
            (q, target)
        });
        target_vs.freeze();
        soft_update(&target_network, &q_network, 1.0);
        let optimizer = match config.optimizer {
            DqnOptimizer::Adam => nnlab_torch::optim::Adam { eps: config.adam_eps, ..Default::default() }.build(&vs, config.learning_rate)?,
            DqnOptimizer::Rmsprop => nnlab_torch::optim::RmsProp {
                alpha: config.rmsprop_alpha,
                eps: config.rmsprop_eps,
                weight_decay: 0.0,
                momentum: config.rmsprop_momentum,
                centered: config.rmsprop_centered,
            }
            .build(&vs, config.learning_rate)?,
        };
        let rng = ChaCha8Rng::seed_from_u64(config.seed);
        // Dense networks act through a plain-Rust copy; convolutional ones through torch.
        let policy = (!q_network.is_convolutional()).then(|| GreedyPolicy::with_head(&q_network, head));
        let epsilon = LinearSchedule::new(config.start_e, config.end_e, config.exploration_fraction * config.total_timesteps as f64);
        let learning_rate = config.final_learning_rate.map(|end| LinearSchedule::new(config.learning_rate, end, config.total_timesteps as f64));
        Ok(Self {
            algo,
            head,
            support: head.support(device),
            config,
            device,
            n_actions,
            q_network,
            target_network,
            policy,
            policy_stale: false,
            optimizer,
            rng,
            epsilon,
            learning_rate,
        })
    }

    /// The configuration.
    pub fn config(&self) -> &DqnConfig {
        &self.config
    }

    /// The online network.
    pub fn q_network(&self) -> &QNetwork {
        &self.q_network
    }

    /// The target network.
    pub fn target_network(&self) -> &QNetwork {
        &self.target_network
    }

    /// Saves the online network's weights as safetensors (per-layer names).
    pub fn save(&self, path: &std::path::Path) -> Result<()> {
        self.q_network.save_safetensors(path).with_context(|| format!("saving {}", path.display()))
    }

    /// Loads weights written by [`DqnLearner::save`] into the online and target networks.
    pub fn load(&mut self, path: &std::path::Path) -> Result<()> {
        let named = crate::agent::read_weights(path)?;
        self.q_network.flat().load_named(&named).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
        soft_update(&self.target_network, &self.q_network, 1.0);
        self.policy_stale = true;
        Ok(())
    }

    /// The TD target `r + gamma * (1 - terminated) * V_target(s')`, where `V_target` is
    /// the target network's max (or, with double DQN, its value of the online network's argmax).
    /// A truncated transition has `terminated = 0` and so bootstraps from its final observation.
    pub fn td_target(&self, batch: &Batch) -> Tensor {
        let (next_target, next_online) = self.next_values(batch);
        value_head::expected_target(batch, self.config.gamma, &next_target, next_online.as_ref())
    }

    /// The target network's outputs on `batch`'s next observations and, for
    /// double DQN, the online network's (which choose the next action).
    fn next_values(&self, batch: &Batch) -> (Tensor, Option<Tensor>) {
        tch::no_grad(|| {
            let next_target = self.target_network.forward(&batch.next_observations);
            let next_online = (self.config.double_dqn && self.head == ValueHead::Expected).then(|| self.q_network.forward(&batch.next_observations));
            (next_target, next_online)
        })
    }

    /// One gradient step on `batch`; returns the (detached) loss and mean Q of the taken actions.
    pub fn update(&mut self, batch: &Batch) -> (Tensor, Tensor) {
        let cfg = &self.config;
        let (next_target, next_online) = self.next_values(batch);
        let online = self.q_network.forward(&batch.observations);
        let (loss, mean_q) =
            value_head::loss(self.head, &self.support, self.n_actions, cfg.gamma, cfg.loss, &online, &next_target, next_online.as_ref(), batch);
        self.optimizer.zero_grad();
        loss.backward();
        if let Some(max) = cfg.max_grad_norm {
            clip_grad_norm(&self.q_network, max);
        }
        self.optimizer.step();
        self.policy_stale = true;
        (loss.detach(), mean_q)
    }

    /// The action with the highest Q-value for one observation (computed on the
    /// CPU copy of the network, refreshed here when an update changed it).
    pub fn act_greedy(&mut self, obs: &[f32]) -> usize {
        let Some(policy) = &mut self.policy else {
            // A convolutional network: one torch forward (ties to the lowest index, as torch.argmax).
            let q = tch::no_grad(|| {
                let out = self.q_network.forward(&Tensor::from_slice(obs).view([1, -1]).to_device(self.device));
                self.head.q_values(&out, self.n_actions, &self.support)
            });
            return q.argmax(-1, false).int64_value(&[0]) as usize;
        };
        if self.policy_stale {
            policy.sync(&self.q_network);
            self.policy_stale = false;
        }
        policy.act(obs)
    }
}

impl OffPolicyLearner for DqnLearner {
    fn algo(&self) -> &'static str {
        self.algo
    }
    fn env_id(&self) -> &str {
        &self.config.env_id
    }
    fn settings(&self) -> LoopSettings {
        crate::loop_settings_of!(&self.config)
    }
    fn device(&self) -> Device {
        self.device
    }
    fn stat_names(&self) -> &'static [&'static str] {
        &["loss", "mean_q", "epsilon"]
    }
    fn rng(&mut self) -> &mut ChaCha8Rng {
        &mut self.rng
    }
    /// Epsilon-greedy on the online network, from the first step.
    fn explore_at(&mut self, global_step: usize, _learning_starts: usize, _space: &Space, obs: &[f32], action: &mut OwnedAction) {
        let eps = self.epsilon.value(global_step);
        let a = if self.rng.random::<f64>() < eps { self.rng.random_range(0..self.n_actions) } else { self.act_greedy(obs) };
        *action = OwnedAction::Discrete(a);
    }
    fn act(&mut self, obs: &[f32], _space: &Space) -> OwnedAction {
        OwnedAction::Discrete(self.act_greedy(obs))
    }
    /// The means of the loss and Q since the previous episode (none without
    /// an update since), and the epsilon of the step.
    fn episode_stats(&mut self, global_step: usize, means: Vec<Option<f64>>, last: &mut [(&'static str, Option<f64>)]) {
        last[0].1 = means[0];
        last[1].1 = means[1];
        last[2].1 = Some(self.epsilon.value(global_step));
    }
    fn before_updates(&mut self, global_step: usize) {
        if let Some(lr) = &self.learning_rate {
            self.optimizer.set_lr(lr.value(global_step));
        }
    }
    fn update(&mut self, _update: usize, batch: &Batch, stats: &mut StatSums) {
        let (loss, mean_q) = DqnLearner::update(self, batch);
        stats.add(0, &[loss, mean_q]);
    }
    fn after_learning_step(&mut self, global_step: usize) {
        if global_step.is_multiple_of(self.config.target_network_frequency) {
            soft_update(&self.target_network, &self.q_network, self.config.tau);
        }
    }
    fn save(&self, path: &std::path::Path) -> Result<()> {
        DqnLearner::save(self, path)
    }
    fn load(&mut self, path: &std::path::Path) -> Result<()> {
        DqnLearner::load(self, path)
    }
    fn train_state(&self) -> Result<TrainState> {
        let mut s = TrainState::new();
        s.put_tensor("q_network", self.q_network.params())?;
        s.put_tensor("target_network", self.target_network.params())?;
        s.put_part("optimizer", self.optimizer.train_state()?);
        s.put("rng", &self.rng)?;
        Ok(s)
    }
    fn restore_train_state(&mut self, state: &TrainState) -> Result<()> {
        state.copy_into("q_network", self.q_network.params())?;
        state.copy_into("target_network", self.target_network.params())?;
        self.optimizer.restore_train_state(&state.part("optimizer"))?;
        self.rng = state.get("rng")?;
        self.policy_stale = true;
        Ok(())
    }
}

impl RunConfig for DqnConfig {
    seed_field!();
    fn check(&self) -> Result<()> {
        self.validate()?;
        fits_in_memory("buffer_size", self.replay_bytes(obs_dim(&self.env_id)?))
    }
}

impl AlgorithmConfig for DqnConfig {
    const ALGO: &'static str = "dqn";
    const ABOUT: &'static str = "Deep Q-Network: double, dueling, Huber or MSE (discrete actions)";
    const PUBLISHED: &'static [PublishedScore] =
        &[("CartPole-v1", 488.69, "CleanRL dqn.py 488.69"), ("Acrobot-v1", -76.6, "SB3 zoo -76.6"), ("MountainCar-v0", -100.8, "SB3 zoo -100.8")];
    common_config_fields!();
    fn build(&self, device: Device) -> Result<Box<dyn crate::Agent>> {
        Ok(Box::new(Dqn::new(self.clone(), device)?))
    }
}
