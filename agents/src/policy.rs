//! The actor-critic policy of the policy-gradient agents: separate actor and
//! critic MLPs (CleanRL's `Agent`: 64-64 tanh, orthogonal init with gain
//! sqrt(2), 0.01 on the actor's output and 1.0 on the critic's), or one
//! shared tanh torso with two linear heads, with a
//! categorical head for discrete actions or a diagonal Gaussian with a
//! state-independent log-std for Box actions. All parameters live in one
//! flat tensor ([`crate::flat`]).

use crate::distributions::ActionDist;
use crate::flat::{add_mlp, mlp_forward, Activation, FlatBuilder, FlatParams, LayerInit};
use anyhow::Result;
use nnlab_envs::Space;
use tch::nn;
use tch::Tensor;

/// Actor and critic networks over one observation vector.
#[derive(Debug)]
pub struct ActorCritic {
    params: FlatParams,
    /// Shared hidden layers (empty for separate networks).
    torso: Vec<usize>,
    actor: Vec<usize>,
    critic: Vec<usize>,
    log_std: Option<usize>,
    act_dim: usize,
}

impl ActorCritic {
    /// Builds the networks for `action_space` under `p`, initialised from torch's RNG.
    /// With `shared`, the hidden layers are one torso under both heads.
    pub fn new(p: &nn::Path, obs_dim: usize, action_space: &Space, hidden: &[usize], init_log_std: f64, shared: bool) -> Result<Self> {
        crate::validate::hidden_sizes(hidden)?;
        let sqrt2 = std::f64::consts::SQRT_2;
        let (out, continuous) = match action_space {
            Space::Discrete(n) => (*n, false),
            Space::Box(bx) => (bx.dim(), true),
        };
        let mut b = FlatBuilder::new();
        let (torso, critic, actor) = if shared {
            let mut torso = Vec::new();
            let mut d = obs_dim;
            for (i, &h) in hidden.iter().enumerate() {
                torso.push(b.linear(format!("shared.fc{i}"), d, h, LayerInit::Orthogonal(sqrt2)));
                d = h;
            }
            let critic = vec![b.linear("critic.out", d, 1, LayerInit::Orthogonal(1.0))];
            let actor = vec![b.linear("actor.out", d, out, LayerInit::Orthogonal(0.01))];
            (torso, critic, actor)
        } else {
            let critic = add_mlp(&mut b, "critic.", obs_dim, hidden, 1, LayerInit::Orthogonal(sqrt2), LayerInit::Orthogonal(1.0));
            let actor = add_mlp(&mut b, "actor.", obs_dim, hidden, out, LayerInit::Orthogonal(sqrt2), LayerInit::Orthogonal(0.01));
            (Vec::new(), critic, actor)
        };
        let log_std = continuous.then(|| b.vector("actor.log_std", out, init_log_std));
        Ok(Self { params: b.build(p), torso, actor, critic, log_std, act_dim: if continuous { out } else { 1 } })
    }

    /// The shared torso's features (the observation itself for separate networks).
    fn features(&self, obs: &Tensor) -> Tensor {
        let mut h = obs.shallow_clone();
        for &l in &self.torso {
            h = self.params.linear(l).forward(&h).tanh();
        }
        h
    }

    /// The flat parameters.
    pub fn flat(&self) -> &FlatParams {
        &self.params
    }

    /// Length of one stored action (1 for discrete).
    pub fn act_dim(&self) -> usize {
        self.act_dim
    }

    /// Whether actions are discrete.
    pub fn is_discrete(&self) -> bool {
        self.log_std.is_none()
    }

    /// `V(obs)`, `[B]`.
    pub fn value(&self, obs: &Tensor) -> Tensor {
        mlp_forward(&self.params, &self.critic, Activation::Tanh, &self.features(obs)).squeeze_dim(-1)
    }

    /// The action distribution at `obs`.
    pub fn dist(&self, obs: &Tensor) -> ActionDist {
        let out = mlp_forward(&self.params, &self.actor, Activation::Tanh, &self.features(obs));
        match self.log_std {
            None => ActionDist::categorical(&out),
            Some(i) => ActionDist::DiagGaussian { mean: out, log_std: self.params.vector(i).shallow_clone() },
        }
    }
}
