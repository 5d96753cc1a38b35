//! nnlab's point estimates against PyPI `rliable` 1.2.0's on a committed
//! score matrix (`tests/data/score_matrix.json`; `rliable_points.json` holds
//! `rliable`'s values, remade by `scripts/check_rliable.py --golden`). The
//! intervals are checked against `rliable` itself by `scripts/check-rliable.sh`.

use nnlab_stats::estimators::{probability_of_improvement, score_distribution};
use nnlab_stats::{Scores, Statistic};
use serde_json::Value;
use std::collections::BTreeMap;

fn load(name: &str) -> Value {
    let path = format!("{}/tests/data/{name}", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap()
}

fn matrices() -> BTreeMap<String, Scores> {
    let data = load("score_matrix.json");
    data["algorithms"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(name, tasks)| {
            let tasks: Vec<Vec<f64>> = serde_json::from_value(tasks.clone()).unwrap();
            (name.clone(), Scores::new(tasks).unwrap())
        })
        .collect()
}

fn close(ours: f64, theirs: &Value, what: &str) {
    let theirs = theirs.as_f64().unwrap_or_else(|| panic!("{what}: no golden value"));
    assert!((ours - theirs).abs() <= 1e-9 * theirs.abs().max(1.0), "{what}: nnlab {ours}, rliable {theirs}");
}

#[test]
fn aggregates_equal_rliables() {
    let golden = load("rliable_points.json");
    let m = matrices();
    assert_eq!(m.len(), 3);
    for (name, scores) in &m {
        for stat in Statistic::ALL {
            let key = serde_json::to_value(stat).unwrap();
            close(stat.of(scores), &golden["aggregates"][name][key.as_str().unwrap()], &format!("{name} {stat:?}"));
        }
    }
}

#[test]
fn improvement_and_profiles_equal_rliables() {
    let golden = load("rliable_points.json");
    let m = matrices();
    for (x, sx) in &m {
        for (y, sy) in &m {
            if x != y {
                close(probability_of_improvement(sx, sy), &golden["improvement"][format!("{x},{y}")], &format!("P({x} > {y})"));
            }
        }
        let taus: Vec<f64> = serde_json::from_value(golden["taus"].clone()).unwrap();
        for (k, tau) in taus.iter().enumerate() {
            close(score_distribution(sx, *tau), &golden["profiles"][x][k], &format!("{x} profile at {tau}"));
        }
    }
}
