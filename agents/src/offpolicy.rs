//! The training loop every off-policy algorithm shares (DQN, C51, QR-DQN,
//! DDPG, TD3, SAC), as CleanRL's `dqn.py` and `*_continuous_action.py` run
//! it: the learner's exploration action (for the actor-critics, uniform
//! random actions for the first `learning_starts` steps); one transition into
//! the replay buffer per step (a truncated episode stores its true final
//! observation and is bootstrapped from it, a terminated one is not); after
//! `learning_starts`, `gradient_steps` updates every `train_frequency` steps,
//! then the learner's per-step work (DQN's target-network update). An
//! algorithm is an [`OffPolicyLearner`] (its networks, optimisers and
//! update); [`OffPolicy`] makes any learner an [`Agent`].

use crate::agent::{Agent, OwnedAction, TrainStats};
use crate::observer::{EpisodeRecord, Observer, TrainProgress};
use crate::replay_buffer::{ActionStorage, Batch, ReplayBuffer};
use anyhow::{bail, Result};
use nnlab_envs::spaces::BoxSpace;
use nnlab_envs::{Actions, Space, SyncVectorEnv};
use nnlab_torch::state::TrainState;
use rand_chacha::ChaCha8Rng;
use tch::{Device, Kind, Tensor};

/// The loop settings every off-policy config has.
#[derive(Debug, Clone, PartialEq)]
pub struct LoopSettings {
    /// Gymnasium id.
    pub env_id: String,
    /// Seed of the training environment's first reset.
    pub seed: u64,
    /// Environment steps to train for.
    pub total_timesteps: usize,
    /// Replay buffer capacity.
    pub buffer_size: usize,
    /// Transitions per gradient update.
    pub batch_size: usize,
    /// Steps before learning starts (the actor-critics act uniformly at random until then).
    pub learning_starts: usize,
    /// Environment steps between training rounds.
    pub train_frequency: usize,
    /// Gradient updates per training round.
    pub gradient_steps: usize,
}

/// The [`LoopSettings`] of a config with the fields of the same names.
#[macro_export]
macro_rules! loop_settings_of {
    ($cfg:expr) => {{
        let c = $cfg;
        $crate::offpolicy::LoopSettings {
            env_id: c.env_id.clone(),
            seed: c.seed,
            total_timesteps: c.total_timesteps,
            buffer_size: c.buffer_size,
            batch_size: c.batch_size,
            learning_starts: c.learning_starts,
            train_frequency: c.train_frequency,
            gradient_steps: c.gradient_steps,
        }
    }};
}

/// Saves an actor and its critics into one safetensors file (`actor.*`, `qf1.*`, ...).
pub fn save_actor_critics(path: &std::path::Path, actor: &crate::actor::Actor, critics: &crate::critic::QCritics) -> Result<()> {
    let named: Vec<(String, Tensor)> = [actor.flat(), critics.flat()].iter().flat_map(|p| p.named_tensors()).collect();
    let refs: Vec<(&str, &Tensor)> = named.iter().map(|(n, t)| (n.as_str(), t)).collect();
    Tensor::write_safetensors(&refs, path).map_err(|e| anyhow::anyhow!("saving {}: {e}", path.display()))
}

/// Loads what [`save_actor_critics`] wrote into `actor` and `critics`.
pub fn load_actor_critics(path: &std::path::Path, actor: &crate::actor::Actor, critics: &crate::critic::QCritics) -> Result<()> {
    let named = crate::agent::read_weights(path)?;
    let err = |e: anyhow::Error| anyhow::anyhow!("{}: {e}", path.display());
    actor.flat().load_named(&named).map_err(err)?;
    critics.flat().load_named(&named).map_err(err)
}

/// Sums of the training statistics since the last report, on the training
/// device (no host sync per update), with the number of values in each.
#[derive(Debug)]
pub struct StatSums {
    sums: Tensor,
    counts: Vec<usize>,
}

impl StatSums {
    /// Zeroed sums of `n` statistics on `device`.
    pub fn new(n: usize, device: Device) -> Self {
        Self { sums: Tensor::zeros([n as i64], (Kind::Float, device)), counts: vec![0; n] }
    }

    /// Adds `values` (scalar tensors) to the statistics `first..first + values.len()`.
    pub fn add(&mut self, first: usize, values: &[Tensor]) {
        let mut slot = self.sums.narrow(0, first as i64, values.len() as i64);
        let _ = slot.g_add_(&Tensor::stack(values, 0).detach());
        self.counts[first..first + values.len()].iter_mut().for_each(|c| *c += 1);
    }

    /// Adds host `values` to the statistics `first..first + values.len()`.
    pub fn add_values(&mut self, first: usize, values: &[f32]) {
        if self.sums.device() == Device::Cpu {
            let sums = crate::host_net::values_mut(&self.sums);
            sums[first..first + values.len()].iter_mut().zip(values).for_each(|(s, v)| *s += v);
        } else {
            let mut slot = self.sums.narrow(0, first as i64, values.len() as i64);
            let _ = slot.g_add_(&Tensor::from_slice(values).to_device(slot.device()));
        }
        self.counts[first..first + values.len()].iter_mut().for_each(|c| *c += 1);
    }

    /// The means since the last call (`None` where nothing was added), then zero.
    pub fn take(&mut self) -> Result<Vec<Option<f64>>> {
        if self.counts.iter().all(|&c| c == 0) {
            return Ok(vec![None; self.counts.len()]);
        }
        let sums =
            Vec::<f64>::try_from(self.sums.to_kind(Kind::Double).to_device(Device::Cpu)).map_err(|e| anyhow::anyhow!("reading training statistics: {e}"))?;
        let _ = self.sums.zero_();
        let means = sums.iter().zip(&self.counts).map(|(s, &c)| (c > 0).then(|| s / c as f64)).collect();
        self.counts.iter_mut().for_each(|c| *c = 0);
        Ok(means)
    }

    fn put(&self, s: &mut TrainState) -> Result<()> {
        s.put_tensor("stat_sums", &self.sums)?;
        s.put("stat_counts", &self.counts)
    }

    fn restore(&mut self, s: &TrainState) -> Result<()> {
        s.copy_into("stat_sums", &self.sums)?;
        self.counts = s.get("stat_counts")?;
        Ok(())
    }
}

/// An off-policy algorithm: what the shared loop asks of it.
pub trait OffPolicyLearner {
    /// Short algorithm name (`ddpg`, `td3`, `sac`).
    fn algo(&self) -> &'static str;
    /// Gymnasium id of its environment.
    fn env_id(&self) -> &str;
    /// The loop settings of its config.
    fn settings(&self) -> LoopSettings;
    /// The training device.
    fn device(&self) -> Device;
    /// Names of its training statistics, in report order.
    fn stat_names(&self) -> &'static [&'static str];
    /// Its RNG (random actions and replay sampling draw from it too).
    fn rng(&mut self) -> &mut ChaCha8Rng;
    /// The exploration action at `global_step` for one observation. The
    /// default is the actor-critics': uniform random in the Box `space` before
    /// `learning_starts`, then [`OffPolicyLearner::explore`].
    fn explore_at(&mut self, global_step: usize, learning_starts: usize, space: &Space, obs: &[f32], action: &mut OwnedAction) {
        if let (OwnedAction::Continuous(a), Space::Box(b)) = (action, space) {
            if global_step < learning_starts {
                a.copy_from_slice(&b.sample(self.rng()));
            } else {
                self.explore(obs, a);
            }
        }
    }
    /// Box actions: the exploration action for one observation, inside the
    /// action bounds (used by the default [`OffPolicyLearner::explore_at`]).
    fn explore(&mut self, _obs: &[f32], _action: &mut [f32]) {}
    /// The deterministic action for one observation in `space`.
    fn act(&mut self, obs: &[f32], space: &Space) -> OwnedAction;
    /// An episode ended (noise processes restart).
    fn on_episode_end(&mut self) {}
    /// The statistics reported when an episode ends at `global_step`, from
    /// the means since the previous report (`None`: no update since). By
    /// default a statistic not updated since keeps its last value.
    fn episode_stats(&mut self, _global_step: usize, means: Vec<Option<f64>>, last: &mut [(&'static str, Option<f64>)]) {
        for (slot, v) in last.iter_mut().zip(means) {
            slot.1 = v.or(slot.1);
        }
    }
    /// Before the updates of a training step (DQN: the learning-rate schedule).
    fn before_updates(&mut self, _global_step: usize) {}
    /// Gradient update number `update` (from 1) on `batch`, adding its statistics to `stats`.
    fn update(&mut self, update: usize, batch: &Batch, stats: &mut StatSums);
    /// After every step once learning has started, whether or not it trained
    /// (DQN: the target network's update every `target_network_frequency` steps).
    fn after_learning_step(&mut self, _global_step: usize) {}
    /// Saves the weights used for acting (safetensors).
    fn save(&self, path: &std::path::Path) -> Result<()>;
    /// Loads what [`OffPolicyLearner::save`] wrote.
    fn load(&mut self, path: &std::path::Path) -> Result<()>;
    /// Networks, optimisers, RNG and noise state.
    fn train_state(&self) -> Result<TrainState>;
    /// Restores what [`OffPolicyLearner::train_state`] saved.
    fn restore_train_state(&mut self, s: &TrainState) -> Result<()>;
}

/// The length of an action of `space` (1 for a discrete one).
pub fn action_dim(space: &Space) -> usize {
    match space {
        Space::Discrete(_) => 1,
        Space::Box(b) => b.dim(),
    }
}

/// The Box action space of `env_id`, or a one-line error naming the algorithm.
pub fn box_action_space(algo: &str, env_id: &str) -> Result<BoxSpace> {
    match crate::validate::env_id(env_id)?.action_space() {
        Space::Box(b) => Ok(b.clone()),
        Space::Discrete(n) => bail!("env_id: {algo} needs continuous (Box) actions, but {env_id} has {n} discrete actions"),
    }
}

/// What the loop carries from one step to the next.
struct LoopState {
    envs: SyncVectorEnv,
    rb: ReplayBuffer,
    obs: Vec<f32>,
    stats: StatSums,
    episode_returns: Vec<f64>,
    progress: TrainProgress,
}

impl LoopState {
    fn new(s: &LoopSettings, n_stats: usize, device: Device) -> Result<Self> {
        let mut envs = SyncVectorEnv::make(&s.env_id, 1)?;
        let obs = envs.reset(Some(s.seed)).to_vec();
        let rb = ReplayBuffer::with_actions(s.buffer_size, envs.obs_dim(), ActionStorage::of(envs.action_space()));
        Ok(Self { envs, rb, obs, stats: StatSums::new(n_stats, device), episode_returns: Vec::new(), progress: TrainProgress::default() })
    }

    fn train_state(&self) -> Result<TrainState> {
        let mut s = TrainState::new();
        s.put("envs", &self.envs.snapshot())?;
        s.put_part("replay_buffer", self.rb.train_state()?);
        s.put_f32s("obs", &self.obs);
        self.stats.put(&mut s)?;
        s.put_f64s("episode_returns", &self.episode_returns);
        self.progress.put(&mut s)?;
        Ok(s)
    }

    fn restore(&mut self, s: &TrainState) -> Result<()> {
        self.envs.restore(&s.get("envs")?)?;
        self.rb.restore_train_state(&s.part("replay_buffer"))?;
        let obs = s.f32s("obs")?;
        if obs.len() != self.obs.len() {
            bail!("the checkpoint has {} observation values, expected {}", obs.len(), self.obs.len());
        }
        self.obs = obs;
        self.stats.restore(s)?;
        self.episode_returns = s.f64s("episode_returns")?;
        self.progress = TrainProgress::get(s)?;
        Ok(())
    }
}

/// Any [`OffPolicyLearner`] as an [`Agent`], with the shared training loop.
pub struct OffPolicy<L: OffPolicyLearner> {
    learner: L,
    space: Space,
    run: Option<LoopState>,
}

impl<L: OffPolicyLearner> OffPolicy<L> {
    /// Wraps `learner`, which acts in `space` (its environment's action space).
    pub fn from_learner(learner: L, space: Space) -> Self {
        Self { learner, space, run: None }
    }

    /// The learner.
    pub fn learner(&self) -> &L {
        &self.learner
    }

    fn new_loop(&self) -> Result<LoopState> {
        LoopState::new(&self.learner.settings(), self.learner.stat_names().len(), self.learner.device())
    }

    fn state_with(&self, run: &LoopState) -> Result<TrainState> {
        let mut s = TrainState::new();
        s.put_part("learner", self.learner.train_state()?);
        s.put_part("loop", run.train_state()?);
        Ok(s)
    }

    fn train_loop(&mut self, run: &mut LoopState, observer: &mut dyn Observer) -> Result<()> {
        let cfg = self.learner.settings();
        let device = self.learner.device();
        let names = self.learner.stat_names();
        let mut last: Vec<(&'static str, Option<f64>)> = names.iter().map(|n| (*n, None)).collect();
        run.progress.recall(&mut last);
        observer.on_update(run.progress.next, &last);
        let mut action = OwnedAction::zero(&self.space);
        for global_step in run.progress.next..cfg.total_timesteps {
            // 1. Act: the learner's exploration (the actor-critics: uniform random before learning starts).
            self.learner.explore_at(global_step, cfg.learning_starts, &self.space, &run.obs, &mut action);
            match &action {
                OwnedAction::Discrete(a) => run.envs.step(Actions::Discrete(&[*a]))?,
                OwnedAction::Continuous(a) => {
                    if a.iter().any(|x| !x.is_finite()) {
                        anyhow::bail!(
                            "the actor's action became NaN at global_step {global_step} (the run diverged: a learning rate too high?); metrics.csv keeps the rows so far; no environment can step with it, so --allow-nan cannot keep this run going"
                        );
                    }
                    run.envs.step(Actions::Continuous(a))?
                }
            }

            // 2. Store; a truncation keeps its true final observation and is bootstrapped.
            run.rb.add(&run.obs, run.envs.next_observation(0), action.as_action(), run.envs.rewards()[0], run.envs.terminated()[0]);
            if let Some(ep) = run.envs.episodes()[0] {
                run.episode_returns.push(ep.ret);
                let means = run.stats.take()?;
                self.learner.episode_stats(global_step, means, &mut last);
                observer.on_update(global_step, &last);
                observer.on_episode(&EpisodeRecord { global_step, episode_return: ep.ret, episode_length: ep.len });
                self.learner.on_episode_end();
            }
            run.obs.copy_from_slice(run.envs.observations());

            // 3. Learn.
            if global_step > cfg.learning_starts {
                if global_step % cfg.train_frequency == 0 {
                    self.learner.before_updates(global_step);
                    for _ in 0..cfg.gradient_steps {
                        let batch = run.rb.sample(cfg.batch_size, self.learner.rng(), device);
                        run.progress.updates += 1;
                        self.learner.update(run.progress.updates, &batch, &mut run.stats);
                    }
                }
                self.learner.after_learning_step(global_step);
            }
            run.progress.next = global_step + 1;
            if crate::observer::progress_says_stop(observer, global_step) {
                return Ok(());
            }
            crate::evaluate_if_due(observer, global_step, self);
            crate::checkpoint_if_due(observer, global_step, || {
                run.progress.remember(&last);
                self.state_with(run)
            })?;
        }
        observer.on_progress(cfg.total_timesteps);
        Ok(())
    }
}

impl<L: OffPolicyLearner> std::ops::Deref for OffPolicy<L> {
    type Target = L;
    fn deref(&self) -> &L {
        &self.learner
    }
}

impl<L: OffPolicyLearner> std::ops::DerefMut for OffPolicy<L> {
    fn deref_mut(&mut self) -> &mut L {
        &mut self.learner
    }
}

impl<L: OffPolicyLearner> Agent for OffPolicy<L> {
    fn algo(&self) -> &'static str {
        self.learner.algo()
    }
    fn env_id(&self) -> &str {
        self.learner.env_id()
    }
    fn train(&mut self, observer: &mut dyn Observer) -> Result<TrainStats> {
        let mut run = match self.run.take() {
            Some(run) => run,
            None => self.new_loop()?,
        };
        let result = self.train_loop(&mut run, observer);
        let stats = TrainStats { episode_returns: run.episode_returns.clone(), updates: run.progress.updates };
        self.run = Some(run);
        result.map(|()| stats)
    }
    fn act(&mut self, obs: &[f32]) -> Result<OwnedAction> {
        Ok(self.learner.act(obs, &self.space))
    }
    fn save(&self, path: &std::path::Path) -> Result<()> {
        self.learner.save(path)
    }
    fn load(&mut self, path: &std::path::Path) -> Result<()> {
        self.learner.load(path)
    }
    fn train_state(&self) -> Result<TrainState> {
        match &self.run {
            Some(run) => self.state_with(run),
            None => self.state_with(&self.new_loop()?),
        }
    }
    fn restore_train_state(&mut self, state: &TrainState) -> Result<()> {
        self.learner.restore_train_state(&state.part("learner"))?;
        let mut run = self.new_loop()?;
        run.restore(&state.part("loop"))?;
        self.run = Some(run);
        Ok(())
    }
}

impl LoopSettings {
    /// Checks the loop's values; the error is one line naming the key.
    pub fn validate(&self) -> Result<()> {
        use crate::validate::nonzero;
        nonzero("total_timesteps", self.total_timesteps)?;
        nonzero("buffer_size", self.buffer_size)?;
        nonzero("batch_size", self.batch_size)?;
        if self.batch_size > self.buffer_size {
            bail!("batch_size ({}) must not exceed buffer_size ({})", self.batch_size, self.buffer_size);
        }
        crate::validate::learning_starts_before_end(self.learning_starts, self.total_timesteps)?;
        nonzero("train_frequency", self.train_frequency)?;
        nonzero("gradient_steps", self.gradient_steps)
    }

    /// Bytes of replay memory for `env_id`'s observations and actions.
    pub fn replay_bytes(&self) -> Result<u128> {
        let env = crate::validate::env_id(&self.env_id)?;
        Ok(ReplayBuffer::bytes_for_actions(self.buffer_size, env.observation_space().dim(), ActionStorage::of(env.action_space())))
    }
}

/// Checks a discount factor and a target-update rate.
pub fn validate_gamma_tau(gamma: f64, tau: f64) -> Result<()> {
    crate::validate::in_range("gamma", gamma, 0.0, 1.0)?;
    if !(tau > 0.0 && tau <= 1.0) {
        bail!("tau must be in (0, 1], got {tau}");
    }
    Ok(())
}
