//! The type of one line of the registry ([`crate::registry::REGISTRY`]):
//! each environment's file defines its own `REGISTRATION`.

use crate::env::Env;

/// Registry facts about one environment id.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct EnvSpec {
    /// Gymnasium id.
    pub id: &'static str,
    /// Time limit applied by [`make`](crate::registry::make).
    pub max_episode_steps: usize,
    /// Gymnasium's `reward_threshold` ("solved" score), if any.
    pub reward_threshold: Option<f64>,
}

/// One line of the registry: an environment's facts and how to build it.
#[derive(Clone, Copy)]
pub struct Registration {
    /// Id, time limit and reward threshold.
    pub spec: EnvSpec,
    /// Builds the bare environment (no time limit or statistics).
    pub make: fn() -> Box<dyn Env>,
}

impl std::fmt::Debug for Registration {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Registration").field("spec", &self.spec).finish_non_exhaustive()
    }
}
