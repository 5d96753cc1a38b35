//! On-policy rollouts: a buffer of `num_steps x num_envs` transitions, and the
//! return and advantage estimators that policy-gradient agents share.

/// Generalised advantage estimation (Schulman et al. 2016) over a rollout of
/// `T = rewards.len() / n` steps of `n` environments, stored step-major
/// (`[t * n + env]`).
///
/// `ends[t * n + e]` is 1 where the transition ended its episode (terminated
/// or truncated: truncated rewards should already include `gamma * V(final
/// observation)`), `values` are `V(s_t)`, and `last_values` are `V(s_T)` of
/// the observations after the rollout. Returns `(advantages, returns)` with
/// `returns = advantages + values`. `lambda = 1` gives discounted returns
/// minus the baseline; `lambda = 0` the one-step TD error.
pub fn gae(rewards: &[f32], values: &[f32], ends: &[f32], last_values: &[f32], n: usize, gamma: f32, lambda: f32) -> (Vec<f32>, Vec<f32>) {
    let len = rewards.len();
    assert!(n > 0 && len.is_multiple_of(n) && values.len() == len && ends.len() == len && last_values.len() == n);
    let steps = len / n;
    let mut adv = vec![0.0f32; len];
    for (e, &last_value) in last_values.iter().enumerate() {
        let mut last = 0.0f32;
        for t in (0..steps).rev() {
            let i = t * n + e;
            let next_value = if t + 1 < steps { values[i + n] } else { last_value };
            let not_end = 1.0 - ends[i];
            let delta = rewards[i] + gamma * next_value * not_end - values[i];
            last = delta + gamma * lambda * not_end * last;
            adv[i] = last;
        }
    }
    let returns = adv.iter().zip(values).map(|(a, v)| a + v).collect();
    (adv, returns)
}

/// Discounted returns-to-go of one or more complete episodes laid end to end:
/// `G_t = r_t + gamma * G_{t+1}`, restarting after each `ends[t] == 1`.
pub fn returns_to_go(rewards: &[f32], ends: &[f32], gamma: f32) -> Vec<f32> {
    let mut out = vec![0.0f32; rewards.len()];
    let mut g = 0.0f32;
    for t in (0..rewards.len()).rev() {
        if ends[t] > 0.5 {
            g = 0.0;
        }
        g = rewards[t] + gamma * g;
        out[t] = g;
    }
    out
}

/// Host-side storage of one rollout, step-major (`[t * num_envs + env]`).
#[derive(Debug, Clone)]
pub struct RolloutBuffer {
    /// Steps per environment.
    pub num_steps: usize,
    /// Environments.
    pub num_envs: usize,
    /// Observation length.
    pub obs_dim: usize,
    /// Action length (1 for discrete).
    pub act_dim: usize,
    /// Observations `[T * N * obs_dim]`.
    pub observations: Vec<f32>,
    /// Actions `[T * N * act_dim]` (discrete indices stored as `f32`).
    pub actions: Vec<f32>,
    /// Log-probabilities of the actions under the acting policy.
    pub log_probs: Vec<f32>,
    /// Rewards (truncated ones with the bootstrap added).
    pub rewards: Vec<f32>,
    /// 1 where the transition ended its episode.
    pub ends: Vec<f32>,
    /// `V(s_t)` under the acting critic.
    pub values: Vec<f32>,
}

impl RolloutBuffer {
    /// A zeroed buffer.
    pub fn new(num_steps: usize, num_envs: usize, obs_dim: usize, act_dim: usize) -> Self {
        let n = num_steps * num_envs;
        Self {
            num_steps,
            num_envs,
            obs_dim,
            act_dim,
            observations: vec![0.0; n * obs_dim],
            actions: vec![0.0; n * act_dim],
            log_probs: vec![0.0; n],
            rewards: vec![0.0; n],
            ends: vec![0.0; n],
            values: vec![0.0; n],
        }
    }

    /// Transitions held: `num_steps * num_envs`.
    pub fn len(&self) -> usize {
        self.num_steps * self.num_envs
    }

    /// Whether the buffer holds no transition.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Stores step `t` of all environments.
    pub fn store(&mut self, t: usize, obs: &[f32], actions: &[f32], log_probs: &[f32], values: &[f32]) {
        let (n, d, a) = (self.num_envs, self.obs_dim, self.act_dim);
        self.observations[t * n * d..(t + 1) * n * d].copy_from_slice(obs);
        self.actions[t * n * a..(t + 1) * n * a].copy_from_slice(actions);
        self.log_probs[t * n..(t + 1) * n].copy_from_slice(log_probs);
        self.values[t * n..(t + 1) * n].copy_from_slice(values);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: &[f32], b: &[f32]) -> bool {
        a.len() == b.len() && a.iter().zip(b).all(|(x, y)| (x - y).abs() < 1e-5)
    }

    #[test]
    fn gae_matches_a_hand_computation() {
        // One env, three steps, episode ends after step 1; gamma 0.9, lambda 0.8.
        let r = [1.0, 2.0, 3.0];
        let v = [0.5, 1.0, 1.5];
        let ends = [0.0, 1.0, 0.0];
        let (adv, ret) = gae(&r, &v, &ends, &[2.0], 1, 0.9, 0.8);
        let d2 = 3.0 + 0.9 * 2.0 - 1.5; // 3.3
        let d1 = 2.0 - 1.0; // 1.0, no bootstrap past the end
        let d0 = 1.0 + 0.9 * 1.0 - 0.5; // 1.4
        let want = [d0 + 0.9 * 0.8 * d1, d1, d2];
        assert!(close(&adv, &want), "{adv:?} vs {want:?}");
        assert!(close(&ret, &[want[0] + 0.5, want[1] + 1.0, want[2] + 1.5]));
    }

    #[test]
    fn gae_keeps_environments_apart_and_lambda_one_gives_returns() {
        // Two envs interleaved step-major; lambda = 1 gives discounted returns - V.
        let r = [1.0, 10.0, 1.0, 10.0];
        let v = [0.0, 0.0, 0.0, 0.0];
        let ends = [0.0, 0.0, 0.0, 1.0];
        let (adv, _) = gae(&r, &v, &ends, &[5.0, 7.0], 2, 0.5, 1.0);
        assert!(close(&adv, &[1.0 + 0.5 * (1.0 + 0.5 * 5.0), 10.0 + 0.5 * 10.0, 1.0 + 0.5 * 5.0, 10.0]), "{adv:?}");
    }

    #[test]
    fn returns_to_go_restart_at_episode_ends() {
        let g = returns_to_go(&[1.0, 1.0, 1.0, 2.0, 2.0], &[0.0, 0.0, 1.0, 0.0, 1.0], 0.5);
        assert!(close(&g, &[1.75, 1.5, 1.0, 3.0, 2.0]), "{g:?}");
    }
}
