//! A2C and REINFORCE: fixed-seed regression runs against golden values, and determinism.

use nnlab_agents::a2c::{A2c, A2cConfig};
use nnlab_agents::reinforce::{Reinforce, ReinforceConfig};
use nnlab_agents::{evaluate, Agent, EpisodeRecord, Observer, Stats};
use tch::Device;

#[derive(Default)]
struct Collect {
    returns: Vec<f64>,
    last_stats: Vec<Option<f64>>,
}

impl Observer for Collect {
    fn on_episode(&mut self, ep: &EpisodeRecord, stats: Stats<'_>) {
        self.returns.push(ep.episode_return);
        self.last_stats = stats.iter().map(|s| s.1).collect();
    }
}

fn run(mut agent: Box<dyn Agent>) -> (Collect, Vec<f64>) {
    tch::set_num_threads(1);
    let mut obs = Collect::default();
    agent.train(&mut obs).unwrap();
    let eval = evaluate(agent.as_mut(), 2, 77).unwrap();
    (obs, eval)
}

fn check(name: &str, golden_text: &str, make: impl Fn() -> Box<dyn Agent>) -> Collect {
    let (a, eval_a) = run(make());
    let (b, eval_b) = run(make());
    assert_eq!(a.returns, b.returns, "{name}: same seed, same episodes");
    assert_eq!(a.last_stats, b.last_stats, "{name}");
    assert_eq!(eval_a, eval_b, "{name}");
    let got = serde_json::json!({"episode_returns": a.returns, "eval_returns": eval_a});
    // NNLAB_PRINT_GOLDEN=1 prints the values to commit after an intended change of behaviour.
    if std::env::var_os("NNLAB_PRINT_GOLDEN").is_some() {
        println!("GOLDEN {name} {got}");
    }
    let golden: serde_json::Value = serde_json::from_str(golden_text).expect("golden file parses");
    assert_eq!(got, golden, "{name}");
    a
}

#[test]
fn a2c_is_reproducible_matches_golden_values_and_learns() {
    let cfg = A2cConfig { total_timesteps: 20_000, seed: 3, ..Default::default() };
    let a = check("a2c_cartpole", include_str!("golden/a2c_cartpole_seed3.json"), || Box::new(A2c::new(cfg.clone(), Device::Cpu).unwrap()));
    let n = a.returns.len();
    let first = a.returns[..20].iter().sum::<f64>() / 20.0;
    let last = a.returns[n - 20..].iter().sum::<f64>() / 20.0;
    assert!(last > 2.0 * first, "20k steps of A2C improve CartPole: {first} -> {last}");
}

#[test]
fn a2c_with_a_shared_torso_on_pendulum_is_reproducible() {
    let cfg = A2cConfig { env_id: "Pendulum-v1".into(), total_timesteps: 4000, shared_network: true, normalize_observation: true, seed: 3, ..Default::default() };
    check("a2c_pendulum_shared", include_str!("golden/a2c_pendulum_shared_seed3.json"), || Box::new(A2c::new(cfg.clone(), Device::Cpu).unwrap()));
}

#[test]
fn reinforce_is_reproducible_matches_golden_values_and_learns() {
    let cfg = ReinforceConfig { total_timesteps: 30_000, seed: 3, ..Default::default() };
    let a = check("reinforce_cartpole", include_str!("golden/reinforce_cartpole_seed3.json"), || Box::new(Reinforce::new(cfg.clone(), Device::Cpu).unwrap()));
    let n = a.returns.len();
    let first = a.returns[..16].iter().sum::<f64>() / 16.0;
    let last = a.returns[n - 16..].iter().sum::<f64>() / 16.0;
    assert!(last > 1.5 * first, "30k steps of REINFORCE improve CartPole: {first} -> {last}");
}

#[test]
fn reinforce_without_baseline_reports_no_value_loss() {
    let cfg = ReinforceConfig { total_timesteps: 2000, baseline: false, seed: 3, ..Default::default() };
    let (a, _) = run(Box::new(Reinforce::new(cfg, Device::Cpu).unwrap()));
    assert_eq!(a.last_stats[1], None);
    assert!(a.last_stats[0].is_some());
}
