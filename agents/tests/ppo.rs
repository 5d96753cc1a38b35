//! PPO: fixed-seed regression runs against golden values (discrete and
//! Gaussian), and determinism.

use nnlab_agents::ppo::{Ppo, PpoConfig};
use nnlab_agents::{evaluate, EpisodeRecord, Observer, Stats};
use tch::Device;

#[derive(Default)]
struct Collect {
    returns: Vec<f64>,
    value_losses: Vec<f64>,
}

impl Observer for Collect {
    fn on_episode(&mut self, ep: &EpisodeRecord, stats: Stats<'_>) {
        self.returns.push(ep.episode_return);
        let v = stats.iter().find(|s| s.0 == "value_loss").expect("value_loss reported");
        if let Some(v) = v.1 {
            self.value_losses.push(v);
        }
    }
}

fn run(cfg: PpoConfig) -> (Collect, Vec<f64>) {
    tch::set_num_threads(1);
    let mut agent = Ppo::new(cfg, Device::Cpu).unwrap();
    let mut obs = Collect::default();
    agent.train(&mut obs).unwrap();
    let eval = evaluate(&mut agent, 2, 77).unwrap();
    (obs, eval)
}

fn cartpole() -> PpoConfig {
    PpoConfig { total_timesteps: 8192, seed: 5, ..Default::default() }
}

fn pendulum() -> PpoConfig {
    PpoConfig {
        env_id: "Pendulum-v1".into(),
        total_timesteps: 4096,
        num_envs: 2,
        num_steps: 512,
        num_minibatches: 8,
        update_epochs: 3,
        gamma: 0.9,
        learning_rate: 1e-3,
        ent_coef: 0.0,
        normalize_observation: true,
        normalize_reward: true,
        seed: 5,
        ..Default::default()
    }
}

fn check_golden(name: &str, golden_text: &str, got: &Collect, eval: &[f64]) {
    let summary = serde_json::json!({"episode_returns": got.returns, "eval_returns": eval, "last_value_loss": got.value_losses.last()});
    // NNLAB_PRINT_GOLDEN=1 prints the values to commit after an intended change of behaviour.
    if std::env::var_os("NNLAB_PRINT_GOLDEN").is_some() {
        println!("GOLDEN {name} {summary}");
    }
    let golden: serde_json::Value = serde_json::from_str(golden_text).expect("golden file parses");
    assert_eq!(summary["episode_returns"], golden["episode_returns"], "{name}");
    assert_eq!(summary["eval_returns"], golden["eval_returns"], "{name}");
    let (a, b) = (summary["last_value_loss"].as_f64().unwrap(), golden["last_value_loss"].as_f64().unwrap());
    assert!((a - b).abs() <= 1e-6 * b.abs().max(1.0), "{name}: {a} vs {b}");
}

#[test]
fn discrete_ppo_is_reproducible_matches_golden_values_and_learns() {
    let (a, eval_a) = run(cartpole());
    let (b, eval_b) = run(cartpole());
    assert_eq!(a.returns, b.returns);
    assert_eq!(a.value_losses, b.value_losses);
    assert_eq!(eval_a, eval_b);
    check_golden("ppo_cartpole", include_str!("golden/ppo_cartpole_seed5.json"), &a, &eval_a);
    let first: f64 = a.returns[..20].iter().sum::<f64>() / 20.0;
    let last: f64 = a.returns[a.returns.len() - 20..].iter().sum::<f64>() / 20.0;
    assert!(last > 1.5 * first, "8k steps of PPO improve CartPole: {first} -> {last}");
}

#[test]
fn gaussian_ppo_is_reproducible_and_matches_golden_values() {
    let (a, eval_a) = run(pendulum());
    let (b, eval_b) = run(pendulum());
    assert_eq!(a.returns, b.returns);
    assert_eq!(eval_a, eval_b);
    assert_eq!(a.returns.len(), 20, "4096 steps of 200-step episodes");
    check_golden("ppo_pendulum", include_str!("golden/ppo_pendulum_seed5.json"), &a, &eval_a);
}
