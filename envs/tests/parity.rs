//! Transition-by-transition parity with trajectories recorded from Gymnasium 1.4.0.

use nnlab_envs::parity::{check_env, parse, TOLERANCE};
use nnlab_envs::ENV_IDS;

#[test]
fn every_environment_matches_gymnasium() {
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/gymnasium-classic-control.json")).expect("fixture present");
    let file = parse(&text).expect("fixture parses");
    for id in ENV_IDS {
        let episodes = file.environments.get(id).unwrap_or_else(|| panic!("{id} recorded"));
        let report = check_env(id, episodes, TOLERANCE);
        assert_eq!(report.episodes, 10, "{id}");
        assert!(report.transitions > 1000, "{id}: only {} transitions", report.transitions);
        assert!(report.mismatches.is_empty(), "{id}: {:#?}", &report.mismatches[..report.mismatches.len().min(5)]);
        assert!(report.max_dev() <= TOLERANCE, "{id}: deviation {}", report.max_dev());
    }
}

#[test]
fn records_cover_both_endings() {
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/gymnasium-classic-control.json")).unwrap();
    let file = parse(&text).unwrap();
    let eps = &file.environments["CartPole-v1"];
    assert!(eps.iter().any(|e| *e.terminated.last().unwrap()));
    assert!(eps.iter().any(|e| *e.truncated.last().unwrap() && e.actions.len() == 500));
}

#[test]
fn a_perturbed_environment_is_caught() {
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/gymnasium-classic-control.json")).unwrap();
    let mut file = parse(&text).unwrap();
    let eps = file.environments.get_mut("CartPole-v1").unwrap();
    eps[0].states[3][1] += 1e-6;
    let report = check_env("CartPole-v1", eps, TOLERANCE);
    assert!(!report.mismatches.is_empty());
    assert!(report.max_state_dev >= 1e-7);
}
