//! Rollout collection shared by the on-policy agents (A2C, PPO, REINFORCE): acting with
//! an [`ActorCritic`] in a vector env, clipping Box actions at the env,
//! normalising observations and rewards, bootstrapping time-limit
//! truncations, and reporting finished episodes.

use crate::normalize::{RewardScaler, RunningMeanStd};
use crate::observer::{EpisodeRecord, Observer};
use crate::policy::{ActorCritic, HostActorCritic};
use crate::rollout::RolloutBuffer;
use anyhow::Result;
use nnlab_envs::{Actions, Space, SyncVectorEnv};
use rand_chacha::ChaCha8Rng;

/// Settings of a [`RolloutCollector`].
#[derive(Debug, Clone)]
pub struct CollectorSettings {
    /// Gymnasium id.
    pub env_id: String,
    /// Parallel environments.
    pub num_envs: usize,
    /// Seed of the environments (env `i` resets with `seed + i`).
    pub seed: u64,
    /// Discount (for reward scaling and truncation bootstrapping).
    pub gamma: f64,
    /// Normalise observations with running statistics.
    pub normalize_observation: bool,
    /// Scale rewards by the running std of the discounted return.
    pub normalize_reward: bool,
    /// With a gSDE policy: steps between new exploration matrices (0: one per rollout).
    pub sde_sample_freq: usize,
}

/// Steps a vector env with a policy and fills rollout buffers.
pub struct RolloutCollector {
    envs: SyncVectorEnv,
    settings: CollectorSettings,
    obs_dim: usize,
    act_dim: usize,
    obs: Vec<f32>,
    obs_rms: Option<RunningMeanStd>,
    reward_scaler: Option<RewardScaler>,
    global_step: usize,
    env_actions: Vec<f32>,
    discrete_actions: Vec<usize>,
    /// Returns of all finished episodes, in order.
    pub episode_returns: Vec<f64>,
    /// The host copy of the policy used for acting.
    host: Option<HostActorCritic>,
}

impl RolloutCollector {
    /// Makes and resets the environments.
    pub fn new(settings: CollectorSettings) -> Result<Self> {
        let mut envs = SyncVectorEnv::make(&settings.env_id, settings.num_envs)?;
        let obs_dim = envs.obs_dim();
        let act_dim = match envs.action_space() {
            Space::Discrete(_) => 1,
            Space::Box(b) => b.dim(),
        };
        let obs = envs.reset(Some(settings.seed)).to_vec();
        let n = settings.num_envs;
        let mut c = Self {
            obs_rms: settings.normalize_observation.then(|| RunningMeanStd::new(obs_dim)),
            reward_scaler: settings.normalize_reward.then(|| RewardScaler::new(n, settings.gamma, 10.0)),
            envs,
            obs_dim,
            act_dim,
            obs,
            global_step: 0,
            env_actions: vec![0.0; n * act_dim],
            discrete_actions: vec![0; n],
            episode_returns: Vec::new(),
            host: None,
            settings,
        };
        let mut first = std::mem::take(&mut c.obs);
        c.normalize(&mut first, true);
        c.obs = first;
        Ok(c)
    }

    /// Environment steps taken so far.
    pub fn global_step(&self) -> usize {
        self.global_step
    }

    /// Observation statistics, when normalising.
    pub fn obs_rms(&self) -> Option<&RunningMeanStd> {
        self.obs_rms.as_ref()
    }

    /// Observation statistics for loading a saved agent, when normalising.
    pub fn obs_rms_mut(&mut self) -> Option<&mut RunningMeanStd> {
        self.obs_rms.as_mut()
    }

    /// Everything needed to continue collecting exactly: the environments, the
    /// current (normalised) observations, the normalisers, the step count and
    /// the finished episodes' returns.
    pub fn train_state(&self) -> Result<nnlab_torch::state::TrainState> {
        let mut s = nnlab_torch::state::TrainState::new();
        s.put("envs", &self.envs.snapshot())?;
        s.put_f32s("obs", &self.obs);
        s.put("global_step", &self.global_step)?;
        s.put_f64s("episode_returns", &self.episode_returns);
        if let Some(rms) = &self.obs_rms {
            s.put_part("obs_rms", rms.train_state());
        }
        if let Some(scaler) = &self.reward_scaler {
            s.put_part("reward_scaler", scaler.train_state());
        }
        Ok(s)
    }

    /// Restores what [`RolloutCollector::train_state`] saved, into a collector with the same settings.
    pub fn restore_train_state(&mut self, s: &nnlab_torch::state::TrainState) -> Result<()> {
        self.envs.restore(&s.get("envs")?)?;
        let obs = s.f32s("obs")?;
        if obs.len() != self.obs.len() {
            anyhow::bail!("the checkpoint has {} observation values, expected {}", obs.len(), self.obs.len());
        }
        self.obs = obs;
        self.global_step = s.get("global_step")?;
        self.episode_returns = s.f64s("episode_returns")?;
        if let Some(rms) = &mut self.obs_rms {
            rms.restore_train_state(&s.part("obs_rms"))?;
        }
        if let Some(scaler) = &mut self.reward_scaler {
            scaler.restore_train_state(&s.part("reward_scaler"))?;
        }
        Ok(())
    }

    /// Normalises observations in place (updating the statistics first when `update`).
    pub fn normalize(&mut self, obs: &mut [f32], update: bool) {
        if let Some(rms) = &mut self.obs_rms {
            if update {
                rms.update(obs, obs.len() / self.obs_dim);
            }
            rms.normalize(obs, 10.0);
        }
    }

    /// Normalises with the current statistics, without updating them (for acting after training).
    pub fn normalize_frozen(&self, obs: &mut [f32]) {
        if let Some(rms) = &self.obs_rms {
            rms.normalize(obs, 10.0);
        }
    }

    /// Fills `buf` with `buf.num_steps` steps of every environment, sampling actions
    /// with `rng`; reports each finished episode to `observer`. Returns `V(s_T)` of the
    /// observations after the rollout.
    pub fn collect(&mut self, policy: &ActorCritic, buf: &mut RolloutBuffer, rng: &mut ChaCha8Rng, observer: &mut dyn Observer) -> Result<Vec<f32>> {
        let (n, d, act_dim) = (self.settings.num_envs, self.obs_dim, self.act_dim);
        // Acting runs on a host copy of the policy (synced once per rollout), or
        // through torch for a convolutional policy (one batched forward a step).
        let mut acting = if policy.is_convolutional() {
            Acting::Torch(policy)
        } else {
            let mut host = self.host.take().unwrap_or_else(|| HostActorCritic::new(policy));
            host.sync(policy);
            Acting::Host(Box::new(host))
        };
        let mut action_host = vec![0.0f32; n * act_dim];
        let (mut log_prob_host, mut value_host) = (vec![0.0f32; n], vec![0.0f32; n]);
        // gSDE: one exploration matrix per environment, drawn at the rollout's start and every `sde_sample_freq` steps.
        let noise_len = acting.sde_noise_len();
        let mut sde_noise = vec![0.0f32; n * noise_len];
        let freq = self.settings.sde_sample_freq;
        for t in 0..buf.num_steps {
            self.global_step += n;
            match &mut acting {
                Acting::Host(host) => {
                    if noise_len > 0 && (t == 0 || (freq > 0 && t % freq == 0)) {
                        for noise in sde_noise.chunks_mut(noise_len) {
                            host.draw_sde_noise(rng, noise);
                        }
                    }
                    for i in 0..n {
                        let (obs, action) = (&self.obs[i * d..(i + 1) * d], &mut action_host[i * act_dim..(i + 1) * act_dim]);
                        let s = if noise_len > 0 {
                            host.sample_sde(obs, &sde_noise[i * noise_len..(i + 1) * noise_len], action)
                        } else {
                            host.sample(obs, rng, action)
                        };
                        log_prob_host[i] = s.log_prob;
                        value_host[i] = s.value;
                    }
                }
                Acting::Torch(policy) => {
                    let (logits, values) = torch_logits_and_values(policy, &self.obs, d)?;
                    let k = logits.len() / n;
                    for i in 0..n {
                        let (a, log_prob) = crate::policy::sample_categorical(&logits[i * k..(i + 1) * k], rng);
                        action_host[i] = a as f32;
                        log_prob_host[i] = log_prob;
                        value_host[i] = values[i];
                    }
                }
            }
            buf.store(t, &self.obs, &action_host, &log_prob_host, &value_host);

            self.step_envs(&action_host, None)?;

            let mut rewards = self.envs.rewards().to_vec();
            let ends: Vec<bool> = (0..n).map(|i| self.envs.terminated()[i] || self.envs.truncated()[i]).collect();
            if let Some(scaler) = &mut self.reward_scaler {
                scaler.scale(&mut rewards, &ends);
            }
            for (i, reward) in rewards.iter_mut().enumerate() {
                *reward += self.truncation_bootstrap(&mut acting, i)?;
            }
            buf.rewards[t * n..(t + 1) * n].copy_from_slice(&rewards);
            for (i, end) in ends.iter().enumerate() {
                buf.ends[t * n + i] = if *end { 1.0 } else { 0.0 };
                self.report_episode(i, observer);
            }
            let mut next = self.envs.observations().to_vec();
            self.normalize(&mut next, true);
            self.obs = next;
        }
        let last_values = match &mut acting {
            Acting::Host(host) => self.obs.chunks(d).map(|o| host.value(o)).collect(),
            Acting::Torch(policy) => torch_logits_and_values(policy, &self.obs, d)?.1,
        };
        if let Acting::Host(host) = acting {
            self.host = Some(*host);
        }
        Ok(last_values)
    }
}

/// How a rollout acts: a host copy of a dense policy, or the torch policy itself (convolutional).
enum Acting<'a> {
    /// Plain-Rust forward passes, one observation at a time.
    Host(Box<HostActorCritic>),
    /// One batched torch forward per step.
    Torch(&'a ActorCritic),
}

impl Acting<'_> {
    fn sde_noise_len(&self) -> usize {
        match self {
            Acting::Host(host) => host.sde_noise_len(),
            Acting::Torch(_) => 0,
        }
    }

    fn value(&mut self, obs: &[f32]) -> Result<f32> {
        match self {
            Acting::Host(host) => Ok(host.value(obs)),
            Acting::Torch(policy) => Ok(torch_logits_and_values(policy, obs, obs.len())?.1[0]),
        }
    }
}

/// A discrete policy's logits (row-major `[rows, A]`) and values at `rows` observations of width `d`, on the host.
fn torch_logits_and_values(policy: &ActorCritic, obs: &[f32], d: usize) -> Result<(Vec<f32>, Vec<f32>)> {
    let device = policy.flat().params().device();
    let (logits, values) = policy.logits_and_values(&tch::Tensor::from_slice(obs).view([-1, d as i64]).to_device(device));
    let host = |t: tch::Tensor| Vec::<f32>::try_from(t.to_device(tch::Device::Cpu).flatten(0, -1));
    Ok((host(logits)?, host(values)?))
}

/// Complete episodes, one per environment of a [`RolloutCollector`], laid end
/// to end (environment 0's episode first), as [`RolloutCollector::collect_episodes`]
/// plays them for Monte-Carlo methods.
#[derive(Debug, Clone, Default)]
pub struct EpisodeBatch {
    /// Observations (normalised when the collector normalises), `[len * obs_dim]`.
    pub observations: Vec<f32>,
    /// Actions as sampled (before clipping), `[len * act_dim]`.
    pub actions: Vec<f32>,
    /// Rewards (scaled when the collector scales them; a truncated episode's
    /// last reward includes `gamma * V(final observation)` when bootstrapping).
    pub rewards: Vec<f32>,
    /// 1 at the last transition of each episode.
    pub ends: Vec<f32>,
    /// `V(s_t)` under the acting critic.
    pub values: Vec<f32>,
}

impl EpisodeBatch {
    /// Transitions held.
    pub fn len(&self) -> usize {
        self.rewards.len()
    }

    /// Whether the batch holds no transition.
    pub fn is_empty(&self) -> bool {
        self.rewards.is_empty()
    }
}

impl RolloutCollector {
    /// Plays one complete episode in every environment with `policy`, sampling
    /// with `rng` (an environment whose episode has ended waits for the others,
    /// so every episode is played by the same policy), and reports each to
    /// `observer`. With `bootstrap`, an episode cut by its time limit adds
    /// `gamma * V(final observation)` to its last reward. Each environment's next
    /// episode starts where this one left it (autoreset).
    pub fn collect_episodes(&mut self, policy: &ActorCritic, rng: &mut ChaCha8Rng, bootstrap: bool, observer: &mut dyn Observer) -> Result<EpisodeBatch> {
        if policy.is_convolutional() {
            anyhow::bail!("whole-episode collection (REINFORCE) takes dense policies only");
        }
        let (n, d, act_dim) = (self.settings.num_envs, self.obs_dim, self.act_dim);
        let mut host = self.host.take().unwrap_or_else(|| HostActorCritic::new(policy));
        host.sync(policy);
        let mut episodes: Vec<EpisodeBatch> = vec![EpisodeBatch::default(); n];
        let mut active = vec![true; n];
        let mut action_host = vec![0.0f32; n * act_dim];
        while active.iter().any(|&a| a) {
            for i in (0..n).filter(|&i| active[i]) {
                let obs = &self.obs[i * d..(i + 1) * d];
                let action = &mut action_host[i * act_dim..(i + 1) * act_dim];
                let s = host.sample(obs, rng, action);
                let ep = &mut episodes[i];
                ep.observations.extend_from_slice(obs);
                ep.actions.extend_from_slice(action);
                ep.values.push(s.value);
            }
            self.global_step += active.iter().filter(|&&a| a).count();
            self.step_envs(&action_host, Some(&active))?;

            let mut rewards = self.envs.rewards().to_vec();
            let ends: Vec<bool> = (0..n).map(|i| self.envs.terminated()[i] || self.envs.truncated()[i]).collect();
            if let Some(scaler) = &mut self.reward_scaler {
                scaler.scale_active(&mut rewards, &ends, &active);
            }
            let mut rows = Vec::new();
            for i in (0..n).filter(|&i| active[i]) {
                let mut reward = rewards[i];
                if bootstrap {
                    let mut acting = Acting::Host(Box::new(host));
                    reward += self.truncation_bootstrap(&mut acting, i)?;
                    let Acting::Host(back) = acting else { unreachable!("put in above") };
                    host = *back;
                }
                episodes[i].rewards.push(reward);
                episodes[i].ends.push(if ends[i] { 1.0 } else { 0.0 });
                self.report_episode(i, observer);
                rows.extend_from_slice(&self.envs.observations()[i * d..(i + 1) * d]);
            }
            // Only the environments that moved update the statistics and their observation.
            self.normalize(&mut rows, true);
            for (row, i) in rows.chunks(d).zip((0..n).filter(|&i| active[i])) {
                self.obs[i * d..(i + 1) * d].copy_from_slice(row);
            }
            for (a, end) in active.iter_mut().zip(&ends) {
                *a &= !end;
            }
        }
        self.host = Some(host);
        let mut batch = EpisodeBatch::default();
        for ep in episodes {
            batch.observations.extend(ep.observations);
            batch.actions.extend(ep.actions);
            batch.rewards.extend(ep.rewards);
            batch.ends.extend(ep.ends);
            batch.values.extend(ep.values);
        }
        Ok(batch)
    }

    /// What environment `i`'s last reward gains when its episode was cut by
    /// the time limit (truncated, not terminated): `gamma * V(final
    /// observation)`, the final observation normalised with the current
    /// statistics; 0 otherwise.
    fn truncation_bootstrap(&self, acting: &mut Acting<'_>, i: usize) -> Result<f32> {
        if !self.envs.truncated()[i] || self.envs.terminated()[i] {
            return Ok(0.0);
        }
        let d = self.obs_dim;
        let mut fin = self.envs.final_observations()[i * d..(i + 1) * d].to_vec();
        self.normalize_frozen(&mut fin);
        Ok((self.settings.gamma * acting.value(&fin)? as f64) as f32)
    }

    /// Records and reports the episode that environment `i` finished in the last step, if any.
    fn report_episode(&mut self, i: usize, observer: &mut dyn Observer) {
        if let Some(ep) = self.envs.episodes()[i] {
            self.episode_returns.push(ep.ret);
            observer.on_episode(&EpisodeRecord { global_step: self.global_step, episode_return: ep.ret, episode_length: ep.len });
        }
    }

    /// Steps the environments (those with `active[i]`, or all) with the sampled
    /// actions: discrete ones as indices, Box ones clipped to the space
    /// (Gymnasium's `ClipAction`: the env sees the clipped action, the buffer
    /// keeps the sample).
    fn step_envs(&mut self, action_host: &[f32], active: Option<&[bool]>) -> Result<()> {
        let act_dim = self.act_dim;
        let actions = match self.envs.action_space() {
            Space::Discrete(_) => {
                for (a, v) in self.discrete_actions.iter_mut().zip(action_host) {
                    *a = *v as usize;
                }
                Actions::Discrete(&self.discrete_actions)
            }
            Space::Box(b) => {
                for (k, (dst, src)) in self.env_actions.iter_mut().zip(action_host).enumerate() {
                    *dst = src.clamp(b.low[k % act_dim], b.high[k % act_dim]);
                }
                Actions::Continuous(&self.env_actions)
            }
        };
        match active {
            Some(active) => self.envs.step_active(actions, active)?,
            None => self.envs.step(actions)?,
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::observer::NullObserver;
    use rand::SeedableRng;

    fn settings(normalize_observation: bool) -> CollectorSettings {
        CollectorSettings {
            env_id: "CartPole-v1".into(),
            num_envs: 3,
            seed: 9,
            gamma: 0.99,
            normalize_observation,
            normalize_reward: false,
            sde_sample_freq: 0,
        }
    }

    #[test]
    fn collect_episodes_plays_exactly_one_whole_episode_per_environment() {
        let vs = tch::nn::VarStore::new(tch::Device::Cpu);
        let space = nnlab_envs::Space::Discrete(2);
        let policy = ActorCritic::new(&vs.root(), 4, &space, &[8], 0.0, false).unwrap();
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        for normalize in [false, true] {
            let mut c = RolloutCollector::new(settings(normalize)).unwrap();
            let mut first = nnlab_envs::make("CartPole-v1").unwrap().reset(Some(9));
            c.normalize_frozen(&mut first);
            let batch = c.collect_episodes(&policy, &mut rng, true, &mut NullObserver).unwrap();
            assert_eq!(batch.ends.iter().filter(|&&e| e == 1.0).count(), 3, "three episodes");
            assert_eq!(*batch.ends.last().unwrap(), 1.0, "the batch ends with a whole episode");
            assert_eq!(c.global_step(), batch.len());
            assert_eq!(c.episode_returns.iter().sum::<f64>() as usize, batch.len(), "CartPole pays 1 per step");
            assert_eq!(batch.observations.len(), batch.len() * 4);
            if !normalize {
                assert_eq!(&batch.observations[..4], &first[..], "environment 0 starts from its seeded reset");
            } else {
                assert_eq!(c.obs_rms().unwrap().count.round() as usize, batch.len() + 3, "each step's moved environments, and the first resets");
            }
        }
    }
}
