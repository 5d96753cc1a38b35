//! Every episode recorded with MinAtar 1.0.15 replays exactly from its seed
//! and actions: each state, reward and terminal. `minatar.json` is random
//! play (and a ball-following Breakout paddle); `minatar-lookahead.json`
//! (scripts/minatar/record_lookahead.py) plays well enough to reach what
//! random play does not: Seaquest's six-diver surfacing and negative diver
//! count, Breakout's new walls, Freeway's crossings, later waves.

use nnlab_envs_minatar::reference::ReferenceFile;
use std::collections::BTreeMap;

/// Replays a fixture; returns steps per game and total reward per game.
fn replay(name: &str) -> (BTreeMap<String, usize>, BTreeMap<String, f64>) {
    let path = format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
    let file: ReferenceFile = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    assert_eq!(file.minatar_version, "1.0.15");
    let (mut steps, mut rewards) = (BTreeMap::new(), BTreeMap::new());
    let mut mismatches = Vec::new();
    for episode in &file.episodes {
        mismatches.extend(episode.replay().unwrap());
        *steps.entry(episode.game.clone()).or_default() += episode.steps.len();
        *rewards.entry(episode.game.clone()).or_default() += episode.steps.iter().map(|s| s.r).sum::<f64>();
    }
    assert!(mismatches.is_empty(), "{name}: {} mismatches, first: {:?}", mismatches.len(), &mismatches[..mismatches.len().min(10)]);
    (steps, rewards)
}

#[test]
fn random_play_recorded_with_minatar_replays_exactly() {
    let (steps, _) = replay("minatar.json");
    assert_eq!(steps.values().sum::<usize>(), 12_652);
    assert_eq!(steps.len(), 5, "all five games recorded: {steps:?}");
}

#[test]
fn lookahead_play_recorded_with_minatar_replays_exactly() {
    let (steps, rewards) = replay("minatar-lookahead.json");
    assert_eq!(steps.values().sum::<usize>(), 16_221);
    assert_eq!(steps.len(), 5, "all five games recorded: {steps:?}");
    // Play long and rewarded enough to cover what random play never reaches.
    assert!(rewards["seaquest"] >= 50.0 && rewards["breakout"] >= 60.0 && rewards["freeway"] >= 20.0, "{rewards:?}");
}
