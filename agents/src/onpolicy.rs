//! What the actor-critic agents (A2C, PPO, REINFORCE) share beyond the
//! collector: the core they hold, the rollout-to-tensor step, advantage
//! normalisation, saving, loading and acting.

pub use crate::collector::{CollectorSettings, EpisodeBatch, RolloutCollector};
use crate::normalize::RunningMeanStd;
use crate::observer::Observer;
use crate::policy::ActorCritic;
use crate::rollout::RolloutBuffer;
use anyhow::Result;
use rand_chacha::ChaCha8Rng;
use tch::{Device, Kind, Tensor};

/// Explained variance `1 - Var(returns - values) / Var(returns)` (`None` when the returns are constant: undefined).
pub fn explained_variance(values: &[f32], returns: &[f32]) -> Option<f64> {
    let var = |v: &mut dyn Iterator<Item = f64>| {
        let xs: Vec<f64> = v.collect();
        let m = xs.iter().sum::<f64>() / xs.len() as f64;
        xs.iter().map(|x| (x - m).powi(2)).sum::<f64>() / xs.len() as f64
    };
    let var_y = var(&mut returns.iter().map(|&x| f64::from(x)));
    if var_y == 0.0 || !var_y.is_finite() {
        return None;
    }
    Some(1.0 - var(&mut returns.iter().zip(values).map(|(r, v)| f64::from(r - v))) / var_y)
}

/// Saves a policy and (when normalising) its observation statistics as safetensors.
pub fn save_policy(policy: &ActorCritic, obs_rms: Option<&RunningMeanStd>, path: &std::path::Path) -> Result<()> {
    use anyhow::Context;
    let mut named = policy.flat().named_tensors();
    if let Some(rms) = obs_rms {
        // f64, as the statistics are kept: a reloaded agent normalises bit-identically.
        let f = |v: &[f64]| Tensor::from_slice(v);
        named.push(("obs_rms.mean".into(), f(&rms.mean)));
        named.push(("obs_rms.var".into(), f(&rms.var)));
    }
    let refs: Vec<(&str, &Tensor)> = named.iter().map(|(k, t)| (k.as_str(), t)).collect();
    Tensor::write_safetensors(&refs, path).with_context(|| format!("saving {}", path.display()))
}

/// Loads what [`save_policy`] wrote: the policy's parameters and, when `obs_rms`
/// is given (the agent normalises observations), the observation statistics.
pub fn load_policy(policy: &ActorCritic, obs_rms: Option<&mut RunningMeanStd>, path: &std::path::Path) -> Result<()> {
    let named = crate::agent::read_weights(path)?;
    policy.flat().load_named(&named).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
    if let Some(rms) = obs_rms {
        let dim = rms.mean.len();
        let stats = |name: &str| -> Result<Vec<f64>> {
            let t = named.iter().find(|(n, _)| n == name).map(|(_, t)| t);
            let t = t.ok_or_else(|| anyhow::anyhow!("{}: no `{name}` (was the agent trained with normalize_observation?)", path.display()))?;
            let v = Vec::<f64>::try_from(t.to_kind(tch::Kind::Double).flatten(0, -1))?;
            if v.len() != dim {
                anyhow::bail!("{}: `{name}` has {} values, the environment has {dim}", path.display(), v.len());
            }
            Ok(v)
        };
        rms.mean = stats("obs_rms.mean")?;
        rms.var = stats("obs_rms.var")?;
    }
    Ok(())
}

/// The deterministic action of `policy` (argmax or mean) for one observation,
/// normalised with `obs_rms` first when the agent normalises observations.
pub fn deterministic_action(policy: &ActorCritic, obs_rms: Option<&RunningMeanStd>, obs: &[f32], device: Device) -> Result<crate::OwnedAction> {
    let mut x = obs.to_vec();
    if let Some(rms) = obs_rms {
        rms.normalize(&mut x, 10.0);
    }
    let input = Tensor::from_slice(&x).view([1, -1]).to_device(device);
    let mode = tch::no_grad(|| policy.dist(&input).mode()).to_device(Device::Cpu).flatten(0, -1);
    let action = if policy.is_discrete() {
        let index = i64::try_from(mode.get(0)).map_err(|e| anyhow::anyhow!("reading the policy's action: {e}"))?;
        crate::OwnedAction::Discrete(usize::try_from(index).map_err(|_| anyhow::anyhow!("the policy chose action {index}"))?)
    } else {
        crate::OwnedAction::Continuous(Vec::<f32>::try_from(mode).map_err(|e| anyhow::anyhow!("reading the policy's action: {e}"))?)
    };
    Ok(action)
}

/// One rollout as tensors on the training device (the step from the host
/// buffer to torch that A2C and PPO share), ready for minibatch indexing.
pub struct RolloutTensors {
    /// `[steps * envs, obs_dim]`.
    pub obs: Tensor,
    /// `[steps * envs]` int64 (discrete) or `[steps * envs, act_dim]`.
    pub actions: Tensor,
    /// Log-probabilities of the actions under the rollout policy.
    pub log_probs: Tensor,
    /// Advantages (not normalised).
    pub advantages: Tensor,
    /// Returns (advantages + values).
    pub returns: Tensor,
    /// Values of the rollout policy.
    pub values: Tensor,
}

impl RolloutTensors {
    /// Moves a rollout and its advantages and returns to `device`.
    pub fn new(buf: &RolloutBuffer, advantages: &[f32], returns: &[f32], discrete: bool, device: Device) -> Self {
        let dev = |v: &[f32]| Tensor::from_slice(v).to_device(device);
        let actions = dev(&buf.actions);
        Self {
            obs: dev(&buf.observations).view([-1, buf.obs_dim as i64]),
            actions: if discrete { actions.to_kind(Kind::Int64) } else { actions.view([-1, buf.act_dim as i64]) },
            log_probs: dev(&buf.log_probs),
            advantages: dev(advantages),
            returns: dev(returns),
            values: dev(&buf.values),
        }
    }
}

/// Advantages scaled to mean 0 and standard deviation 1 (sample std, plus
/// 1e-8), as CleanRL and SB3 normalise them.
pub fn normalize_advantages(adv: &Tensor) -> Tensor {
    (adv - adv.mean(Kind::Float)) / (adv.std(true) + 1e-8)
}

/// The [`crate::Agent`] plumbing of an actor-critic agent with fields
/// `config` (with `env_id`), `core` ([`ActorCriticCore`]) and `progress`
/// ([`crate::TrainProgress`]) and an inherent `train`: deterministic acting,
/// saving and loading through this module, and its training state.
#[macro_export]
macro_rules! actor_critic_agent {
    ($agent:ty, $algo:literal) => {
        impl $crate::Agent for $agent {
            fn algo(&self) -> &'static str {
                $algo
            }
            fn env_id(&self) -> &str {
                &self.config.env_id
            }
            fn train(&mut self, observer: &mut dyn $crate::Observer) -> anyhow::Result<$crate::TrainStats> {
                <$agent>::train(self, observer)
            }
            fn act(&mut self, obs: &[f32]) -> anyhow::Result<$crate::OwnedAction> {
                let core = &self.core;
                $crate::onpolicy::deterministic_action(&core.policy, core.collector.obs_rms(), obs, core.device)
            }
            fn save(&self, path: &std::path::Path) -> anyhow::Result<()> {
                $crate::onpolicy::save_policy(&self.core.policy, self.core.collector.obs_rms(), path)
            }
            fn load(&mut self, path: &std::path::Path) -> anyhow::Result<()> {
                let core = &mut self.core;
                $crate::onpolicy::load_policy(&core.policy, core.collector.obs_rms_mut(), path)
            }
            fn train_state(&self) -> anyhow::Result<nnlab_torch::state::TrainState> {
                self.core.train_state(&self.progress)
            }
            fn restore_train_state(&mut self, state: &nnlab_torch::state::TrainState) -> anyhow::Result<()> {
                self.progress = self.core.restore_train_state(state)?;
                Ok(())
            }
        }
    };
}

/// Checks the hyperparameters that every actor-critic config (A2C, PPO)
/// has under the same names: the environment, the length, the rollout, the
/// discounts, the loss weights, clipping and the network. The error is one
/// line naming the key.
#[macro_export]
macro_rules! validate_actor_critic {
    ($cfg:expr) => {{
        use $crate::validate::{in_range, non_negative, nonzero, positive};
        let c = $cfg;
        let env = $crate::validate::env_id(&c.env_id)?;
        c.network.check(&c.env_id, &env.observation_shape())?;
        if c.network != $crate::torso::Network::Mlp && c.use_sde {
            anyhow::bail!("use_sde: gSDE runs on dense networks only (network = \"mlp\")");
        }
        nonzero("total_timesteps", c.total_timesteps)?;
        positive("learning_rate", c.learning_rate)?;
        nonzero("num_envs", c.num_envs)?;
        nonzero("num_steps", c.num_steps)?;
        $crate::validate::rollout_fits(c.num_envs, c.num_steps, c.total_timesteps)?;
        in_range("gamma", c.gamma, 0.0, 1.0)?;
        in_range("gae_lambda", c.gae_lambda, 0.0, 1.0)?;
        non_negative("ent_coef", c.ent_coef)?;
        non_negative("vf_coef", c.vf_coef)?;
        positive("max_grad_norm", c.max_grad_norm)?;
        $crate::validate::hidden_sizes(&c.hidden_sizes)?;
        in_range("init_log_std", c.init_log_std, -20.0, 5.0)?;
        if c.use_sde {
            if let nnlab_envs::Space::Discrete(_) = $crate::validate::env_id(&c.env_id)?.action_space() {
                anyhow::bail!("use_sde needs continuous (Box) actions, but {} has discrete actions", c.env_id);
            }
            if c.hidden_sizes.is_empty() {
                anyhow::bail!("use_sde needs at least one hidden layer (its noise is a function of the last one)");
            }
        }
    }};
}

/// What every actor-critic agent (A2C, PPO, REINFORCE) holds beside its config: the
/// policy, its optimiser, the agent's random stream and the rollout
/// collector, built the same way for each.
pub struct ActorCriticCore {
    /// Where the networks live.
    pub device: Device,
    /// The actor-critic.
    pub policy: ActorCritic,
    /// Its optimiser.
    pub optimizer: nnlab_torch::optim::Optimizer,
    /// The agent's stream (action sampling, minibatch shuffling), seeded with the config's seed.
    pub rng: ChaCha8Rng,
    /// The vector environment and its statistics.
    pub collector: RolloutCollector,
    /// Observation width.
    pub obs_dim: usize,
}

/// How an [`ActorCriticCore`] is built.
pub struct ActorCriticSpec<'a> {
    /// Environment, vector size, seed, discount and normalisation.
    pub collector: CollectorSettings,
    /// Hidden layer widths.
    pub hidden_sizes: &'a [usize],
    /// Initial log standard deviation (Box actions).
    pub init_log_std: f64,
    /// One torso for actor and critic.
    pub shared_network: bool,
    /// Generalized state-dependent exploration (Box actions).
    pub use_sde: bool,
    /// The network that reads the observation (convolutions for pictures).
    pub network: crate::torso::Network,
}

impl ActorCriticCore {
    /// The networks (initialised under the seed, see `with_torch_seed`), the
    /// optimiser made by `optimizer`, the seeded stream and the collector.
    pub fn new(spec: ActorCriticSpec<'_>, device: Device, optimizer: impl FnOnce(&tch::nn::VarStore) -> Result<nnlab_torch::optim::Optimizer>) -> Result<Self> {
        use rand::SeedableRng;
        let env = nnlab_envs::make(&spec.collector.env_id)?;
        let obs_dim = env.observation_space().dim();
        let obs_shape = env.observation_shape();
        let vs = tch::nn::VarStore::new(device);
        let seed = spec.collector.seed;
        let policy = crate::with_torch_seed(seed, || {
            ActorCritic::with_network(
                &vs.root(),
                &obs_shape,
                env.action_space(),
                spec.hidden_sizes,
                spec.init_log_std,
                spec.shared_network,
                spec.use_sde,
                spec.network,
            )
        })?;
        let optimizer = optimizer(&vs)?;
        let collector = RolloutCollector::new(spec.collector)?;
        Ok(Self { device, policy, optimizer, rng: ChaCha8Rng::seed_from_u64(seed), collector, obs_dim })
    }

    /// Everything needed to continue training exactly (see [`crate::Agent::train_state`]),
    /// with the agent's loop `progress`.
    pub fn train_state(&self, progress: &crate::TrainProgress) -> Result<nnlab_torch::state::TrainState> {
        let mut s = nnlab_torch::state::TrainState::new();
        s.put_tensor("policy", self.policy.flat().params())?;
        s.put_part("optimizer", self.optimizer.train_state()?);
        s.put("rng", &self.rng)?;
        s.put_part("collector", self.collector.train_state()?);
        progress.put(&mut s)?;
        Ok(s)
    }

    /// Restores what [`ActorCriticCore::train_state`] saved; returns the loop's progress.
    pub fn restore_train_state(&mut self, s: &nnlab_torch::state::TrainState) -> Result<crate::TrainProgress> {
        s.copy_into("policy", self.policy.flat().params())?;
        self.optimizer.restore_train_state(&s.part("optimizer"))?;
        self.rng = s.get("rng")?;
        self.collector.restore_train_state(&s.part("collector"))?;
        crate::TrainProgress::get(s)
    }

    /// The start of every iteration: sets the learning rate to `lr`, rolls
    /// out the current policy into `buf` (reporting finished episodes to
    /// `observer`), computes GAE advantages and returns, and moves the rollout
    /// to the device. Returns the tensors and the returns on the host.
    pub fn rollout(
        &mut self,
        buf: &mut RolloutBuffer,
        lr: f64,
        gamma: f64,
        gae_lambda: f64,
        observer: &mut dyn Observer,
    ) -> Result<(RolloutTensors, Vec<f32>)> {
        self.optimizer.set_lr(lr);
        let last_values = self.collector.collect(&self.policy, buf, &mut self.rng, observer)?;
        let (advantages, returns) = crate::rollout::gae(&buf.rewards, &buf.values, &buf.ends, &last_values, buf.num_envs, gamma as f32, gae_lambda as f32);
        let data = RolloutTensors::new(buf, &advantages, &returns, self.policy.is_discrete(), self.device);
        Ok((data, returns))
    }
}

/// The [`ActorCriticSpec`] of an actor-critic config (fields `env_id`,
/// `num_envs`, `seed`, `gamma`, `normalize_observation`, `normalize_reward`,
/// `hidden_sizes`, `init_log_std`, `use_sde`, `sde_sample_freq`, `network`), with or without a shared torso.
#[macro_export]
macro_rules! actor_critic_spec {
    ($config:expr, $shared_network:expr) => {{
        let c = &$config;
        let collector = $crate::onpolicy::CollectorSettings {
            env_id: c.env_id.clone(),
            num_envs: c.num_envs,
            seed: c.seed,
            gamma: c.gamma,
            normalize_observation: c.normalize_observation,
            normalize_reward: c.normalize_reward,
            sde_sample_freq: c.sde_sample_freq,
        };
        $crate::onpolicy::ActorCriticSpec {
            collector,
            hidden_sizes: &c.hidden_sizes,
            init_log_std: c.init_log_std,
            shared_network: $shared_network,
            use_sde: c.use_sde,
            network: c.network,
        }
    }};
}
