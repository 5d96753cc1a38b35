//! The committed normalisation table (`experiments/normalization.toml`)
//! against what it claims: its random scores are measured again on nnlab's
//! environments, its Gymnasium references are the registry's reward
//! thresholds, and every registered environment has an entry.

use nnlab_experiments::normalization::{self, RANDOM_EPISODES, RANDOM_SEED};

#[test]
fn random_scores_are_measured_and_references_are_the_thresholds() {
    let table = normalization::table();
    for id in nnlab_envs::registry::all_ids() {
        let entry = table.get(id).unwrap_or_else(|| panic!("{id} has no entry in experiments/normalization.toml"));
        let measured = nnlab_envs::random_policy::random_policy_return(id, RANDOM_EPISODES, RANDOM_SEED).unwrap();
        assert!((entry.random - measured).abs() <= 1e-9 * measured.abs(), "{id}: table {}, measured {measured}", entry.random);
        let spec = nnlab_envs::registry::spec(id).unwrap();
        match spec.reward_threshold {
            Some(threshold) => {
                assert_eq!(entry.reference, threshold, "{id}");
                assert!(entry.reference_source.contains("reward_threshold"), "{id}");
            }
            None => assert!(entry.reference_source.contains("Zoo"), "{id}: a published source"),
        }
        assert!(entry.reference > entry.random, "{id}: the reference must beat random");
        assert_eq!(entry.normalise(entry.random), 0.0);
        assert!((entry.normalise(entry.reference) - 1.0).abs() < 1e-12);
    }
    assert_eq!(table.len(), nnlab_envs::registry::all_ids().count(), "an entry for an unknown environment");
}
