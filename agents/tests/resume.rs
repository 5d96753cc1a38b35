//! A training run stopped at a checkpoint and continued from its saved state
//! (through the bytes a checkpoint file holds, in a fresh agent) reports
//! exactly what an uninterrupted run reports, and ends with the same weights.

use nnlab_agents::a2c::{A2c, A2cConfig};
use nnlab_agents::crossq::{CrossQ, CrossQConfig};
use nnlab_agents::distributional::{C51Config, QrDqnConfig};
use nnlab_agents::dqn::{Dqn, DqnConfig};
use nnlab_agents::noise::NoiseKind;
use nnlab_agents::ppo::{Ppo, PpoConfig};
use nnlab_agents::reinforce::{Reinforce, ReinforceConfig};
use nnlab_agents::sac::{Sac, SacConfig};
use nnlab_agents::td3::{DdpgConfig, Td3, Td3Config};
use nnlab_agents::tqc::{Tqc, TqcConfig};
use nnlab_agents::{Agent, EpisodeRecord, Observer, Stats};
use nnlab_torch::state::TrainState;
use tch::Device;

/// Every episode with the statistics reported before it, as bits.
type Log = Vec<(usize, u64, usize, Vec<Option<u64>>)>;

#[derive(Default)]
struct Recorder {
    log: Log,
    stats: Vec<Option<u64>>,
    /// Take one checkpoint at the first chance at or after this step.
    checkpoint_at: Option<usize>,
    saved: Option<(usize, Vec<u8>)>,
}

impl Observer for Recorder {
    fn on_episode(&mut self, e: &EpisodeRecord) {
        self.log.push((e.global_step, e.episode_return.to_bits(), e.episode_length, self.stats.clone()));
    }
    fn on_update(&mut self, _step: usize, stats: Stats<'_>) {
        self.stats = stats.iter().map(|s| s.1.map(f64::to_bits)).collect();
    }
    fn checkpoint_due(&self, step: usize) -> bool {
        self.saved.is_none() && self.checkpoint_at.is_some_and(|k| step >= k)
    }
    fn on_checkpoint(&mut self, step: usize, state: TrainState) {
        self.saved = Some((step, state.to_bytes().unwrap()));
    }
}

fn weights(agent: &dyn Agent) -> Vec<u8> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("w.safetensors");
    agent.save(&path).unwrap();
    std::fs::read(path).unwrap()
}

/// Trains `make()` straight through, and again with a checkpoint at `at`
/// continued in a fresh agent; both must agree on every report and the weights.
fn resumes_exactly(name: &str, at: usize, make: impl Fn() -> Box<dyn Agent>) {
    nnlab_torch::numerics::portable_for_tests();
    let mut straight = Recorder::default();
    let mut a = make();
    a.train(&mut straight).unwrap();

    let mut first = Recorder { checkpoint_at: Some(at), ..Default::default() };
    make().train(&mut first).unwrap();
    let (step, bytes) = first.saved.expect("a checkpoint was taken");
    let mut second = Recorder::default();
    let mut b = make();
    b.restore_train_state(&TrainState::from_bytes(&bytes).unwrap()).unwrap();
    b.train(&mut second).unwrap();

    let mut log: Log = first.log.into_iter().filter(|r| r.0 <= step).collect();
    assert!(!log.is_empty() && !second.log.is_empty(), "{name}: episodes on both sides of step {step}");
    log.extend(second.log);
    assert_eq!(log, straight.log, "{name}: resumed at step {step}");
    assert_eq!(weights(b.as_ref()), weights(a.as_ref()), "{name}: final weights");
}

#[test]
fn dqn_resumes_exactly() {
    let cfg = DqnConfig { total_timesteps: 3000, learning_starts: 500, buffer_size: 1000, seed: 4, ..Default::default() };
    resumes_exactly("dqn", 1700, || Box::new(Dqn::new(cfg.clone(), Device::Cpu).unwrap()));
}

#[test]
fn ppo_with_normalisation_resumes_exactly() {
    let cfg = PpoConfig {
        env_id: "Pendulum-v1".into(),
        total_timesteps: 6144,
        num_envs: 2,
        num_steps: 512,
        normalize_observation: true,
        normalize_reward: true,
        anneal_lr: true,
        seed: 4,
        ..Default::default()
    };
    resumes_exactly("ppo", 3000, || Box::new(Ppo::new(cfg.clone(), Device::Cpu).unwrap()));
}

#[test]
fn a2c_and_reinforce_resume_exactly() {
    let a2c = A2cConfig { total_timesteps: 6000, seed: 4, ..Default::default() };
    resumes_exactly("a2c", 2500, || Box::new(A2c::new(a2c.clone(), Device::Cpu).unwrap()));
    let reinforce = ReinforceConfig { total_timesteps: 6000, normalize_observation: true, seed: 4, ..Default::default() };
    resumes_exactly("reinforce", 2500, || Box::new(Reinforce::new(reinforce.clone(), Device::Cpu).unwrap()));
}

#[test]
fn sac_resumes_exactly() {
    // Mid-episode, between an actor round and the next (policy_frequency 2).
    let cfg = SacConfig { total_timesteps: 1400, learning_starts: 300, batch_size: 32, hidden_sizes: vec![32, 32], seed: 3, ..Default::default() };
    resumes_exactly("sac", 901, || Box::new(Sac::agent(cfg.clone(), Device::Cpu).unwrap()));
}

#[test]
fn tqc_resumes_exactly() {
    let cfg =
        TqcConfig { total_timesteps: 1400, learning_starts: 300, batch_size: 32, hidden_sizes: vec![32, 32], n_quantiles: 5, seed: 3, ..Default::default() };
    resumes_exactly("tqc", 901, || Box::new(Tqc::agent(cfg.clone(), Device::Cpu).unwrap()));
}

#[test]
fn crossq_resumes_exactly() {
    // Mid-episode, between two actor updates (policy_delay 3), with the
    // normalisations past their warm-up: their running statistics and step
    // counts are in the checkpoint.
    let cfg = CrossQConfig {
        total_timesteps: 1400,
        learning_starts: 300,
        batch_size: 32,
        actor_hidden_sizes: vec![32, 32],
        critic_hidden_sizes: vec![64, 64],
        renorm_warmup_steps: 400,
        seed: 3,
        ..Default::default()
    };
    resumes_exactly("crossq", 902, || Box::new(CrossQ::agent(cfg.clone(), Device::Cpu).unwrap()));
}

#[test]
fn td3_with_ou_noise_and_ddpg_resume_exactly() {
    // The OU process's state is part of the checkpoint (taken mid-episode).
    let cfg = Td3Config {
        total_timesteps: 1400,
        learning_starts: 300,
        batch_size: 32,
        hidden_sizes: vec![32, 32],
        noise_type: NoiseKind::OrnsteinUhlenbeck,
        exploration_noise: 0.5,
        seed: 5,
        ..Default::default()
    };
    resumes_exactly("td3", 777, || Box::new(Td3::agent(cfg.clone(), Device::Cpu).unwrap()));
    let ddpg = DdpgConfig { total_timesteps: 1400, learning_starts: 300, batch_size: 32, hidden_sizes: vec![32, 32], seed: 5, ..Default::default() };
    resumes_exactly("ddpg", 650, || Box::new(Td3::ddpg(ddpg.clone(), Device::Cpu).unwrap()));
}

#[test]
fn c51_and_qrdqn_resume_exactly() {
    let c51 = C51Config { total_timesteps: 3000, learning_starts: 500, buffer_size: 1000, seed: 4, ..Default::default() };
    resumes_exactly("c51", 1700, || Box::new(Dqn::c51(&c51, Device::Cpu).unwrap()));
    let qr = QrDqnConfig { total_timesteps: 3000, learning_starts: 500, buffer_size: 1000, n_quantiles: 10, seed: 4, ..Default::default() };
    resumes_exactly("qrdqn", 1300, || Box::new(Dqn::qrdqn(&qr, Device::Cpu).unwrap()));
}

#[test]
fn gsde_ppo_resumes_exactly() {
    let cfg = PpoConfig {
        env_id: "Pendulum-v1".into(),
        total_timesteps: 3072,
        num_envs: 2,
        num_steps: 256,
        num_minibatches: 4,
        update_epochs: 2,
        use_sde: true,
        sde_sample_freq: 4,
        seed: 8,
        ..Default::default()
    };
    resumes_exactly("ppo-gsde", 1500, || Box::new(Ppo::new(cfg.clone(), Device::Cpu).unwrap()));
}

#[test]
fn sac_with_gsde_resumes_exactly() {
    // Mid-round: the acting exploration matrix and its step count are in the checkpoint.
    let cfg = SacConfig {
        total_timesteps: 1400,
        learning_starts: 300,
        batch_size: 32,
        hidden_sizes: vec![32, 32],
        use_sde: true,
        train_frequency: 8,
        gradient_steps: 4,
        seed: 3,
        ..Default::default()
    };
    resumes_exactly("sac-gsde", 905, || Box::new(Sac::agent(cfg.clone(), Device::Cpu).unwrap()));
}
