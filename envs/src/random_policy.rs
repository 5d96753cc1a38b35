//! The uniformly random policy's mean return: the "random" end of the score
//! normalisation that `report` uses for rliable's statistics (Atari's
//! convention, measured here on nnlab's own environments).

use crate::env::{Env, EnvError};
use crate::registry;
use crate::spaces::{Action, Space};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// The mean undiscounted return over `episodes` episodes of `id` (inside its
/// registered time limit) with actions drawn uniformly from the action space:
/// episode `k` resets with seed `seed + k`, actions come from one ChaCha8
/// stream seeded with `seed`.
pub fn random_policy_return(id: &str, episodes: usize, seed: u64) -> Result<f64, EnvError> {
    let mut env = registry::make(id)?;
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut obs = vec![0.0; env.observation_space().dim()];
    let space = env.action_space().clone();
    let mut total = 0.0;
    for k in 0..episodes as u64 {
        env.reset_into(Some(seed + k), &mut obs);
        loop {
            let step = match &space {
                Space::Discrete(n) => env.step_into(Action::Discrete(rng.random_range(0..*n)), &mut obs)?,
                Space::Box(b) => env.step_into(Action::Continuous(&b.sample(&mut rng)), &mut obs)?,
            };
            total += step.reward;
            if step.done() {
                break;
            }
        }
    }
    Ok(total / episodes as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_random_policy_stays_below_every_solved_line_and_repeats_with_its_seed() {
        for r in registry::registrations() {
            let score = random_policy_return(r.spec.id, 20, 3).unwrap();
            assert!(score.is_finite() && r.spec.reward_threshold.is_none_or(|t| score < t), "{}: {score}", r.spec.id);
            assert_eq!(score, random_policy_return(r.spec.id, 20, 3).unwrap());
        }
        assert!(random_policy_return("Nope-v0", 1, 0).is_err());
    }
}
