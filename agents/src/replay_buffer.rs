//! A uniform experience-replay buffer, preallocated as tensors, for discrete
//! actions (DQN and its variants) and Box actions (the off-policy
//! actor-critics) alike.
//!
//! Storage is one CPU tensor per field, allocated once at full capacity.
//! `add` writes a transition straight into the tensors' memory (no tensor op
//! per step, which at these network sizes would cost more than the env);
//! `sample` gathers a batch with one `index_select` per field and moves it to
//! the training device in one copy. Indices come from the caller's RNG, so a
//! seeded run samples the same batches every time.

use nnlab_envs::{Action, Space};
use rand::Rng;
use tch::{Device, Kind, Tensor};

/// How a buffer stores actions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ActionStorage {
    /// One index per transition (`i64`).
    Discrete,
    /// `dim` values per transition (`f32`).
    Box(usize),
}

impl ActionStorage {
    /// The storage for actions of `space`.
    pub fn of(space: &Space) -> Self {
        match space {
            Space::Discrete(_) => Self::Discrete,
            Space::Box(b) => Self::Box(b.dim()),
        }
    }

    fn bytes(self) -> u128 {
        match self {
            Self::Discrete => 8,
            Self::Box(dim) => 4 * dim as u128,
        }
    }
}

/// A batch of transitions on the training device.
#[derive(Debug)]
pub struct Batch {
    /// Observations `[B, obs_dim]`.
    pub observations: Tensor,
    /// Next observations `[B, obs_dim]` (the true final observation where an episode ended).
    pub next_observations: Tensor,
    /// Actions: `[B]` `i64` (discrete) or `[B, act_dim]` `f32` (Box).
    pub actions: Tensor,
    /// Rewards `[B]`.
    pub rewards: Tensor,
    /// 1.0 where the transition reached a terminal state (never for truncation), else 0.0.
    pub terminated: Tensor,
}

/// A ring buffer of `(obs, next_obs, action, reward, terminated)` transitions.
pub struct ReplayBuffer {
    capacity: usize,
    obs_dim: usize,
    action_storage: ActionStorage,
    observations: Tensor,
    next_observations: Tensor,
    actions: Tensor,
    rewards: Tensor,
    terminated: Tensor,
    pos: usize,
    len: usize,
}

/// A mutable view of a contiguous CPU tensor's memory.
///
/// Safety: the tensor is contiguous, on the CPU, of kind `T`, and owned by the
/// buffer, which never hands out aliases of it; `&mut self` makes the view exclusive.
fn view_mut<T: tch::kind::Element>(t: &mut Tensor) -> &mut [T] {
    debug_assert!(t.is_contiguous() && t.device() == Device::Cpu && t.kind() == T::KIND);
    let n = t.numel();
    unsafe { std::slice::from_raw_parts_mut(t.data_ptr() as *mut T, n) }
}

impl ReplayBuffer {
    /// A buffer for `capacity` transitions of `obs_dim`-long observations and discrete actions.
    pub fn new(capacity: usize, obs_dim: usize) -> Self {
        Self::with_actions(capacity, obs_dim, ActionStorage::Discrete)
    }

    /// A buffer for `capacity` transitions of `obs_dim`-long observations and actions stored as `actions`.
    pub fn with_actions(capacity: usize, obs_dim: usize, actions: ActionStorage) -> Self {
        let cap = capacity as i64;
        let d = obs_dim as i64;
        let opts = (Kind::Float, Device::Cpu);
        Self {
            capacity,
            obs_dim,
            action_storage: actions,
            observations: Tensor::zeros([cap, d], opts),
            next_observations: Tensor::zeros([cap, d], opts),
            actions: match actions {
                ActionStorage::Discrete => Tensor::zeros([cap], (Kind::Int64, Device::Cpu)),
                ActionStorage::Box(dim) => Tensor::zeros([cap, dim as i64], opts),
            },
            rewards: Tensor::zeros([cap], opts),
            terminated: Tensor::zeros([cap], opts),
            pos: 0,
            len: 0,
        }
    }

    /// Bytes the buffer holds for `capacity` transitions of `obs_dim`-long observations (discrete actions).
    pub fn bytes_for(capacity: usize, obs_dim: usize) -> u128 {
        Self::bytes_for_actions(capacity, obs_dim, ActionStorage::Discrete)
    }

    /// Bytes the buffer holds for `capacity` transitions with actions stored as `actions`.
    pub fn bytes_for_actions(capacity: usize, obs_dim: usize, actions: ActionStorage) -> u128 {
        capacity as u128 * (2 * obs_dim as u128 * 4 + actions.bytes() + 4 + 4)
    }

    /// How actions are stored.
    pub fn action_storage(&self) -> ActionStorage {
        self.action_storage
    }

    /// Number of stored transitions.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether nothing is stored yet.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Capacity in transitions.
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// Stores one transition, overwriting the oldest when full. The action
    /// must be of the buffer's kind (a discrete index, or `dim` values).
    pub fn add(&mut self, obs: &[f32], next_obs: &[f32], action: Action<'_>, reward: f32, terminated: bool) {
        let (d, i) = (self.obs_dim, self.pos);
        view_mut::<f32>(&mut self.observations)[i * d..(i + 1) * d].copy_from_slice(obs);
        view_mut::<f32>(&mut self.next_observations)[i * d..(i + 1) * d].copy_from_slice(next_obs);
        match (self.action_storage, action) {
            (ActionStorage::Discrete, Action::Discrete(a)) => view_mut::<i64>(&mut self.actions)[i] = a as i64,
            (ActionStorage::Box(dim), Action::Continuous(a)) if a.len() == dim => {
                view_mut::<f32>(&mut self.actions)[i * dim..(i + 1) * dim].copy_from_slice(a);
            }
            (storage, action) => panic!("a replay buffer for {storage:?} actions got {action:?}"),
        }
        view_mut::<f32>(&mut self.rewards)[i] = reward;
        view_mut::<f32>(&mut self.terminated)[i] = if terminated { 1.0 } else { 0.0 };
        self.pos = (self.pos + 1) % self.capacity;
        self.len = (self.len + 1).min(self.capacity);
    }

    /// The stored transitions and the write position, for checkpoints (the
    /// filled rows only, so an early checkpoint stays small).
    pub fn train_state(&self) -> anyhow::Result<nnlab_torch::state::TrainState> {
        let mut s = nnlab_torch::state::TrainState::new();
        s.put("pos", &self.pos)?;
        s.put("len", &self.len)?;
        let rows = self.len as i64;
        s.put_tensor("observations", &self.observations.narrow(0, 0, rows))?;
        s.put_tensor("next_observations", &self.next_observations.narrow(0, 0, rows))?;
        s.put_tensor("actions", &self.actions.narrow(0, 0, rows))?;
        s.put_tensor("rewards", &self.rewards.narrow(0, 0, rows))?;
        s.put_tensor("terminated", &self.terminated.narrow(0, 0, rows))?;
        Ok(s)
    }

    /// Restores what [`ReplayBuffer::train_state`] saved into a buffer of the same capacity.
    pub fn restore_train_state(&mut self, s: &nnlab_torch::state::TrainState) -> anyhow::Result<()> {
        let (pos, len): (usize, usize) = (s.get("pos")?, s.get("len")?);
        if len > self.capacity || pos >= self.capacity.max(1) {
            anyhow::bail!("the checkpoint's replay buffer holds {len} transitions, more than its capacity {}", self.capacity);
        }
        let rows = len as i64;
        s.copy_into("observations", &self.observations.narrow(0, 0, rows))?;
        s.copy_into("next_observations", &self.next_observations.narrow(0, 0, rows))?;
        s.copy_into("actions", &self.actions.narrow(0, 0, rows))?;
        s.copy_into("rewards", &self.rewards.narrow(0, 0, rows))?;
        s.copy_into("terminated", &self.terminated.narrow(0, 0, rows))?;
        (self.pos, self.len) = (pos, len);
        Ok(())
    }

    /// Draws `batch_size` transitions uniformly with replacement and moves them to `device`.
    pub fn sample<R: Rng>(&self, batch_size: usize, rng: &mut R, device: Device) -> Batch {
        assert!(self.len > 0, "sampling an empty replay buffer");
        let idx: Vec<usize> = (0..batch_size).map(|_| rng.random_range(0..self.len)).collect();
        if device == Device::Cpu {
            // Row copies on the host: five index_select calls cost more than the copying.
            let d = self.obs_dim;
            return Batch {
                observations: gather::<f32>(&self.observations, &idx, d),
                next_observations: gather::<f32>(&self.next_observations, &idx, d),
                actions: match self.action_storage {
                    ActionStorage::Discrete => gather::<i64>(&self.actions, &idx, 1),
                    ActionStorage::Box(dim) => gather::<f32>(&self.actions, &idx, dim),
                },
                rewards: gather::<f32>(&self.rewards, &idx, 1),
                terminated: gather::<f32>(&self.terminated, &idx, 1),
            };
        }
        let idx: Vec<i64> = idx.into_iter().map(|i| i as i64).collect();
        let idx = Tensor::from_slice(&idx);
        let take = |t: &Tensor| t.index_select(0, &idx).to_device(device);
        Batch {
            observations: take(&self.observations),
            next_observations: take(&self.next_observations),
            actions: take(&self.actions),
            rewards: take(&self.rewards),
            terminated: take(&self.terminated),
        }
    }
}

/// The rows `idx` (each `width` values) of the buffer field `src`, as a new tensor of `src`'s shape but rows.
fn gather<T: tch::kind::Element + Copy>(src: &Tensor, idx: &[usize], width: usize) -> Tensor {
    debug_assert!(src.is_contiguous() && src.device() == Device::Cpu && src.kind() == T::KIND);
    let mut shape = src.size();
    shape[0] = idx.len() as i64;
    let mut out = Tensor::empty(shape.as_slice(), (T::KIND, Device::Cpu));
    // SAFETY: `src` is the buffer's own contiguous CPU tensor of kind T (as in `view_mut`), read only here.
    let from = unsafe { std::slice::from_raw_parts(src.data_ptr() as *const T, src.numel()) };
    let to = view_mut::<T>(&mut out);
    for (row, &i) in to.chunks_exact_mut(width).zip(idx) {
        row.copy_from_slice(&from[i * width..(i + 1) * width]);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn box_actions_are_stored_as_rows() {
        let mut rb = ReplayBuffer::with_actions(4, 1, ActionStorage::of(&Space::Box(nnlab_envs::BoxSpace::new(vec![-2.0, -2.0], vec![2.0, 2.0]))));
        for k in 0..4 {
            let v = k as f32;
            rb.add(&[v], &[v], Action::Continuous(&[v, -v]), v, false);
        }
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(1);
        let b = rb.sample(16, &mut rng, Device::Cpu);
        assert_eq!(b.actions.size(), [16, 2]);
        let obs = Vec::<f32>::try_from(b.observations.flatten(0, -1)).unwrap();
        let actions = Vec::<f32>::try_from(b.actions.flatten(0, -1)).unwrap();
        for (j, o) in obs.iter().enumerate() {
            assert_eq!((actions[2 * j], actions[2 * j + 1]), (*o, -*o));
        }
        let state = rb.train_state().unwrap();
        let mut again = ReplayBuffer::with_actions(4, 1, ActionStorage::Box(2));
        again.restore_train_state(&state).unwrap();
        assert_eq!(again.len(), 4);
    }

    #[test]
    fn stores_wraps_and_samples_what_was_added() {
        let mut rb = ReplayBuffer::new(3, 2);
        for k in 0..5 {
            let v = k as f32;
            rb.add(&[v, v], &[v + 0.5, v + 0.5], Action::Discrete(k as usize), 10.0 * v, k == 4);
        }
        assert_eq!(rb.len(), 3);
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(0);
        let b = rb.sample(64, &mut rng, Device::Cpu);
        let actions = Vec::<i64>::try_from(&b.actions).unwrap();
        let obs = Vec::<f32>::try_from(b.observations.flatten(0, -1)).unwrap();
        let next = Vec::<f32>::try_from(b.next_observations.flatten(0, -1)).unwrap();
        let rewards = Vec::<f32>::try_from(&b.rewards).unwrap();
        let term = Vec::<f32>::try_from(&b.terminated).unwrap();
        for (j, a) in actions.iter().enumerate() {
            assert!((2..=4).contains(a), "oldest transitions were overwritten");
            assert_eq!(obs[2 * j], *a as f32);
            assert_eq!(next[2 * j + 1], *a as f32 + 0.5);
            assert_eq!(rewards[j], 10.0 * *a as f32);
            assert_eq!(term[j], if *a == 4 { 1.0 } else { 0.0 });
        }
        assert!(actions.contains(&2) && actions.contains(&3) && actions.contains(&4));
    }
}
