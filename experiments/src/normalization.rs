//! Per-environment score normalisation for `report`'s rliable statistics,
//! from the committed table `experiments/normalization.toml`:
//! `(score - random) / (reference - random)`, so that 0 is the uniformly
//! random policy and 1 the reference score (the optimality gap's threshold).

use serde::Deserialize;
use std::collections::BTreeMap;
use std::sync::OnceLock;

/// The table's text, as committed.
pub const TABLE: &str = include_str!("../normalization.toml");

/// Episodes and seed of the random policy's measured return (see [`nnlab_envs::random_policy`]).
pub const RANDOM_EPISODES: usize = 1000;
/// Seed of the random policy's measurement.
pub const RANDOM_SEED: u64 = 0;

/// One environment's normalisation.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Normalization {
    /// The uniformly random policy's mean return, measured on nnlab's environment.
    pub random: f64,
    /// The reference score that normalises to 1.
    pub reference: f64,
    /// Where the reference comes from.
    pub reference_source: String,
}

impl Normalization {
    /// `score` normalised: 0 at random, 1 at the reference.
    pub fn normalise(&self, score: f64) -> f64 {
        (score - self.random) / (self.reference - self.random)
    }
}

/// The committed table, by environment id.
pub fn table() -> &'static BTreeMap<String, Normalization> {
    static TABLE_PARSED: OnceLock<BTreeMap<String, Normalization>> = OnceLock::new();
    TABLE_PARSED.get_or_init(|| toml::from_str(TABLE).expect("experiments/normalization.toml is valid (tested)"))
}

/// The normalisation of `env`, if the table has it.
pub fn of(env: &str) -> Option<&'static Normalization> {
    table().get(env)
}
