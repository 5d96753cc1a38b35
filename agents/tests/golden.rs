//! Fixed-seed regression runs of every agent against golden values, in
//! portable numerics (`nnlab_torch::numerics`), compared bit for bit: the
//! same numbers on any x86-64 CPU, whatever dispatch settings
//! (`ATEN_CPU_CAPABILITY`, `MKL_CBWR`, `MKL_ENABLE_INSTRUCTIONS`, ...) the
//! environment holds. `.ci/run` runs this file again under foreign settings.
//!
//! After an intended change of behaviour,
//! `NNLAB_WRITE_GOLDEN=1 cargo test --release -p nnlab-agents --test golden`
//! rewrites `tests/golden/*.json` (review the diff before committing).

use nnlab_agents::a2c::{A2c, A2cConfig};
use nnlab_agents::crossq::{CrossQ, CrossQConfig};
use nnlab_agents::distributional::{C51Config, QrDqnConfig};
use nnlab_agents::dqn::{Dqn, DqnConfig, TdLoss};
use nnlab_agents::noise::NoiseKind;
use nnlab_agents::ppo::{Ppo, PpoConfig};
use nnlab_agents::pqn::{Pqn, PqnConfig};
use nnlab_agents::reinforce::{Reinforce, ReinforceConfig};
use nnlab_agents::sac::{Sac, SacConfig};
use nnlab_agents::td3::{DdpgConfig, Td3, Td3Config};
use nnlab_agents::tqc::{Tqc, TqcConfig};
use nnlab_agents::{evaluate, Agent, EpisodeRecord, Observer, Stats};
use serde_json::{json, Value};
use tch::Device;

/// Every episode's return and length, and every statistic the agent reported with it.
#[derive(Default, PartialEq, Debug)]
struct Collect {
    returns: Vec<f64>,
    stats: Vec<Vec<Option<f64>>>,
    names: Vec<&'static str>,
    latest: Vec<Option<f64>>,
}

impl Observer for Collect {
    fn on_update(&mut self, _global_step: usize, stats: Stats<'_>) {
        self.names = stats.iter().map(|s| s.0).collect();
        self.latest = stats.iter().map(|s| s.1).collect();
    }
    fn on_episode(&mut self, ep: &EpisodeRecord) {
        self.returns.push(ep.episode_return);
        self.stats.push(self.latest.clone());
    }
}

impl Collect {
    /// The last reported value of the statistic `name`.
    fn last(&self, name: &str) -> Option<f64> {
        let i = self.names.iter().position(|n| *n == name)?;
        self.stats.iter().rev().find_map(|s| s[i])
    }
}

/// Trains `agent`, then evaluates it greedily for `episodes` from seed 77.
fn run(mut agent: Box<dyn Agent>, episodes: usize) -> (Collect, Vec<f64>) {
    let mut obs = Collect::default();
    agent.train(&mut obs).unwrap();
    let eval = evaluate(agent.as_mut(), episodes, 77).unwrap();
    (obs, eval)
}

/// Runs `make` twice (same seed, same bits), then compares the episode
/// returns, evaluation returns and the last value of every reported
/// statistic with `tests/golden/<name>.json` exactly.
fn check(name: &str, episodes: usize, make: impl Fn() -> Box<dyn Agent>) -> Collect {
    nnlab_torch::numerics::portable_for_tests();
    let (a, eval_a) = run(make(), episodes);
    let (b, eval_b) = run(make(), episodes);
    let bits = |c: &Collect| c.stats.iter().flatten().map(|v| v.map(f64::to_bits)).collect::<Vec<_>>();
    assert_eq!(a.returns, b.returns, "{name}: same seed, same episodes");
    assert_eq!(bits(&a), bits(&b), "{name}: same seed, same statistics");
    assert_eq!(eval_a, eval_b, "{name}");
    let last: serde_json::Map<String, Value> = a.names.iter().map(|n| (n.to_string(), json!(a.last(n)))).collect();
    let got = json!({"episode_returns": a.returns, "eval_returns": eval_a, "last_stats": last});
    nnlab_torch::golden::check(env!("CARGO_MANIFEST_DIR"), name, &got);
    a
}

fn mean(v: &[f64]) -> f64 {
    v.iter().sum::<f64>() / v.len() as f64
}

#[test]
fn dqn_matches_golden_values_and_learns() {
    let cfg = |seed| DqnConfig {
        seed,
        total_timesteps: 4000,
        learning_starts: 500,
        train_frequency: 1,
        target_network_frequency: 100,
        learning_rate: 1e-3,
        double_dqn: true,
        dueling: true,
        loss: TdLoss::Huber,
        max_grad_norm: Some(10.0),
        tau: 0.5,
        ..Default::default()
    };
    let a = check("dqn_short_seed7", 3, || Box::new(Dqn::new(cfg(7), Device::Cpu).unwrap()));
    let n = a.returns.len();
    assert!(mean(&a.returns[n - 10..]) > 2.0 * mean(&a.returns[..10]), "4k steps of DQN improve CartPole");
    let (other, _) = run(Box::new(Dqn::new(cfg(8), Device::Cpu).unwrap()), 1);
    assert_ne!(other.returns, a.returns, "another seed takes another path");
}

#[test]
fn a2c_matches_golden_values_and_learns() {
    let cfg = A2cConfig { total_timesteps: 20_000, seed: 3, ..Default::default() };
    let a = check("a2c_cartpole_seed3", 2, || Box::new(A2c::new(cfg.clone(), Device::Cpu).unwrap()));
    let n = a.returns.len();
    assert!(mean(&a.returns[n - 20..]) > 2.0 * mean(&a.returns[..20]), "20k steps of A2C improve CartPole");
}

#[test]
fn a2c_with_a_shared_torso_on_pendulum_matches_golden_values() {
    let cfg =
        A2cConfig { env_id: "Pendulum-v1".into(), total_timesteps: 4000, shared_network: true, normalize_observation: true, seed: 3, ..Default::default() };
    check("a2c_pendulum_shared_seed3", 2, || Box::new(A2c::new(cfg.clone(), Device::Cpu).unwrap()));
}

#[test]
fn reinforce_matches_golden_values_and_learns() {
    let cfg = ReinforceConfig { total_timesteps: 30_000, seed: 3, ..Default::default() };
    let a = check("reinforce_cartpole_seed3", 2, || Box::new(Reinforce::new(cfg.clone(), Device::Cpu).unwrap()));
    let n = a.returns.len();
    assert!(mean(&a.returns[n - 16..]) > 1.5 * mean(&a.returns[..16]), "30k steps of REINFORCE improve CartPole");
}

#[test]
fn reinforce_with_normalisation_on_pendulum_matches_golden_values() {
    // Box actions, and observation and reward normalisation through the shared collector.
    let cfg = ReinforceConfig {
        env_id: "Pendulum-v1".into(),
        total_timesteps: 4800,
        normalize_observation: true,
        normalize_reward: true,
        seed: 3,
        ..Default::default()
    };
    check("reinforce_pendulum_normalized_seed3", 2, || Box::new(Reinforce::new(cfg.clone(), Device::Cpu).unwrap()));
}

#[test]
fn pqn_matches_golden_values_and_learns() {
    // Layer norm, RAdam (both phases), Q(lambda) returns and CartPole's truncations at 500.
    let cfg = PqnConfig { total_timesteps: 102_400, exploration_fraction: 0.2, seed: 4, ..Default::default() };
    let a = check("pqn_cartpole_seed4", 2, || Box::new(Pqn::new(cfg.clone(), Device::Cpu).unwrap()));
    let n = a.returns.len();
    assert!(mean(&a.returns[n - 20..]) > 1.5 * mean(&a.returns[..20]), "100k steps of PQN improve CartPole");
}

#[test]
fn discrete_ppo_matches_golden_values_and_learns() {
    let cfg = PpoConfig { total_timesteps: 8192, seed: 5, ..Default::default() };
    let a = check("ppo_cartpole_seed5", 2, || Box::new(Ppo::new(cfg.clone(), Device::Cpu).unwrap()));
    let n = a.returns.len();
    assert!(mean(&a.returns[n - 20..]) > 1.5 * mean(&a.returns[..20]), "8k steps of PPO improve CartPole");
}

#[test]
fn gaussian_ppo_matches_golden_values() {
    let cfg = PpoConfig {
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
    };
    let a = check("ppo_pendulum_seed5", 2, || Box::new(Ppo::new(cfg.clone(), Device::Cpu).unwrap()));
    assert_eq!(a.returns.len(), 20, "4096 steps of 200-step episodes");
}

#[test]
fn sac_matches_golden_values() {
    let cfg = SacConfig { total_timesteps: 3000, learning_starts: 500, batch_size: 64, hidden_sizes: vec![64, 64], seed: 2, ..Default::default() };
    let a = check("sac_pendulum_seed2", 2, || Box::new(Sac::agent(cfg.clone(), Device::Cpu).unwrap()));
    assert_eq!(a.returns.len(), 15, "3000 steps of 200-step episodes");
    let alpha = a.last("alpha").unwrap();
    assert!(alpha > 0.0 && alpha < 1.0, "the tuned temperature fell from 1: {alpha}");
}

#[test]
fn tqc_matches_golden_values() {
    let cfg =
        TqcConfig { total_timesteps: 2000, learning_starts: 500, batch_size: 64, hidden_sizes: vec![64, 64], n_quantiles: 10, seed: 2, ..Default::default() };
    let a = check("tqc_pendulum_seed2", 2, || Box::new(Tqc::agent(cfg.clone(), Device::Cpu).unwrap()));
    assert_eq!(a.returns.len(), 10, "2000 steps of 200-step episodes");
    let alpha = a.last("alpha").unwrap();
    assert!(alpha > 0.0 && alpha < 1.0, "the tuned temperature fell from 1: {alpha}");
}

#[test]
fn crossq_matches_golden_values() {
    let cfg = CrossQConfig {
        total_timesteps: 2000,
        learning_starts: 500,
        batch_size: 64,
        actor_hidden_sizes: vec![64, 64],
        critic_hidden_sizes: vec![128, 128],
        renorm_warmup_steps: 1000,
        seed: 2,
        ..Default::default()
    };
    let a = check("crossq_pendulum_seed2", 2, || Box::new(CrossQ::agent(cfg.clone(), Device::Cpu).unwrap()));
    assert_eq!(a.returns.len(), 10, "2000 steps of 200-step episodes");
    let alpha = a.last("alpha").unwrap();
    assert!(alpha > 0.0 && alpha < 1.0, "the tuned temperature fell from 1: {alpha}");
}

#[test]
fn td3_with_ou_noise_matches_golden_values() {
    let cfg = Td3Config {
        total_timesteps: 3000,
        learning_starts: 500,
        batch_size: 64,
        hidden_sizes: vec![64, 64],
        noise_type: NoiseKind::OrnsteinUhlenbeck,
        exploration_noise: 0.5,
        seed: 4,
        ..Default::default()
    };
    check("td3_pendulum_ou_seed4", 2, || Box::new(Td3::agent(cfg.clone(), Device::Cpu).unwrap()));
}

#[test]
fn ddpg_matches_golden_values() {
    let cfg = DdpgConfig {
        total_timesteps: 3000,
        learning_starts: 500,
        batch_size: 64,
        hidden_sizes: vec![64, 64],
        policy_frequency: 1,
        seed: 6,
        ..Default::default()
    };
    let a = check("ddpg_pendulum_seed6", 2, || Box::new(Td3::ddpg(cfg.clone(), Device::Cpu).unwrap()));
    assert_eq!(a.names, ["qf1_loss", "qf1_values", "actor_loss"]);
}

#[test]
fn c51_matches_golden_values_and_learns() {
    let cfg = C51Config {
        total_timesteps: 4000,
        learning_starts: 500,
        train_frequency: 1,
        target_network_frequency: 100,
        learning_rate: 1e-3,
        seed: 7,
        ..Default::default()
    };
    let a = check("c51_cartpole_seed7", 3, || Box::new(Dqn::c51(&cfg, Device::Cpu).unwrap()));
    let n = a.returns.len();
    assert!(mean(&a.returns[n - 10..]) > 2.0 * mean(&a.returns[..10]), "4k steps of C51 improve CartPole");
}

#[test]
fn qrdqn_matches_golden_values_and_learns() {
    let cfg = QrDqnConfig {
        total_timesteps: 4000,
        learning_starts: 500,
        learning_rate: 1e-3,
        target_network_frequency: 100,
        exploration_fraction: 0.3,
        n_quantiles: 10,
        max_grad_norm: Some(10.0),
        seed: 7,
        ..Default::default()
    };
    let a = check("qrdqn_cartpole_seed7", 3, || Box::new(Dqn::qrdqn(&cfg, Device::Cpu).unwrap()));
    let n = a.returns.len();
    assert!(mean(&a.returns[n - 10..]) > 2.0 * mean(&a.returns[..10]), "4k steps of QR-DQN improve CartPole");
}

#[test]
fn gsde_ppo_matches_golden_values() {
    let cfg = PpoConfig {
        env_id: "Pendulum-v1".into(),
        total_timesteps: 4096,
        num_envs: 2,
        num_steps: 512,
        num_minibatches: 8,
        update_epochs: 3,
        gamma: 0.9,
        learning_rate: 1e-3,
        ent_coef: 0.0,
        use_sde: true,
        sde_sample_freq: 4,
        seed: 5,
        ..Default::default()
    };
    let a = check("ppo_pendulum_gsde_seed5", 2, || Box::new(Ppo::new(cfg.clone(), Device::Cpu).unwrap()));
    assert_eq!(a.returns.len(), 20, "4096 steps of 200-step episodes");
}

#[test]
fn sac_with_gsde_matches_golden_values() {
    // SB3's MountainCarContinuous shape: gSDE, a fixed temperature, rounds of 32 steps and 32 updates.
    let cfg = SacConfig {
        env_id: "MountainCarContinuous-v0".into(),
        total_timesteps: 2500,
        learning_starts: 0,
        batch_size: 64,
        hidden_sizes: vec![32, 32],
        use_sde: true,
        log_std_init: -1.0,
        autotune: false,
        alpha: 0.1,
        train_frequency: 32,
        gradient_steps: 32,
        policy_frequency: 1,
        eval_episodes: 1,
        seed: 3,
        ..Default::default()
    };
    let a = check("sac_mcc_gsde_seed3", 1, || Box::new(Sac::agent(cfg.clone(), Device::Cpu).unwrap()));
    assert!(a.last("actor_loss").is_some());
}
