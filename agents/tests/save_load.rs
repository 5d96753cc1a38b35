//! Saving and loading: an agent built afresh (another seed, so other initial
//! weights) and loaded from a saved file acts exactly as the trained one, for
//! every algorithm, with observation normalisation included; a file that does
//! not fit the model is a one-line error.

use nnlab_agents::a2c::{A2c, A2cConfig};
use nnlab_agents::dqn::{Dqn, DqnConfig};
use nnlab_agents::ppo::{Ppo, PpoConfig};
use nnlab_agents::reinforce::{Reinforce, ReinforceConfig};
use nnlab_agents::{evaluate, Agent, NullObserver};
use tch::Device;

/// Trains `make(1)` briefly, saves it, loads the file into `make(2)` and checks
/// that both evaluate to the same returns on the same episodes.
fn round_trip(name: &str, make: impl Fn(u64) -> Box<dyn Agent>) {
    tch::set_num_threads(1);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(format!("{name}.safetensors"));
    let mut trained = make(1);
    trained.train(&mut NullObserver).unwrap();
    trained.save(&path).unwrap();
    let want = evaluate(trained.as_mut(), 3, 5).unwrap();

    let mut fresh = make(2);
    let before = evaluate(fresh.as_mut(), 3, 5).unwrap();
    fresh.load(&path).unwrap();
    let got = evaluate(fresh.as_mut(), 3, 5).unwrap();
    assert_eq!(got, want, "{name}: the loaded agent acts as the saved one");
    assert_ne!(before, want, "{name}: the check must be able to fail (untrained agent differs)");
}

#[test]
fn dqn_round_trips() {
    round_trip("dqn", |seed| {
        let cfg = DqnConfig { seed, total_timesteps: 3000, learning_starts: 500, ..DqnConfig::default() };
        Box::new(Dqn::new(cfg, Device::Cpu).unwrap())
    });
}

#[test]
fn ppo_with_observation_normalisation_round_trips() {
    round_trip("ppo", |seed| {
        let cfg = PpoConfig {
            seed,
            env_id: "Pendulum-v1".into(),
            total_timesteps: 4096,
            normalize_observation: true,
            normalize_reward: true,
            ..PpoConfig::default()
        };
        Box::new(Ppo::new(cfg, Device::Cpu).unwrap())
    });
}

#[test]
fn a2c_round_trips() {
    round_trip("a2c", |seed| {
        let cfg = A2cConfig { seed, total_timesteps: 2000, ..A2cConfig::default() };
        Box::new(A2c::new(cfg, Device::Cpu).unwrap())
    });
}

#[test]
fn reinforce_round_trips() {
    round_trip("reinforce", |seed| {
        let cfg = ReinforceConfig { seed, total_timesteps: 2000, ..ReinforceConfig::default() };
        Box::new(Reinforce::new(cfg, Device::Cpu).unwrap())
    });
}

#[test]
fn a_file_of_another_model_is_a_clear_error() {
    tch::set_num_threads(1);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("cartpole.safetensors");
    Dqn::new(DqnConfig::default(), Device::Cpu).unwrap().save(&path).unwrap();
    // Wider hidden layers than the saved model.
    let mut other = Dqn::new(DqnConfig { hidden_sizes: vec![64, 64], ..DqnConfig::default() }, Device::Cpu).unwrap();
    let err = other.load(&path).unwrap_err().to_string();
    assert!(err.contains("shape") && !err.contains('\n'), "{err}");
    // A PPO policy file has none of a Q-network's names.
    let ppo_path = dir.path().join("ppo.safetensors");
    Ppo::new(PpoConfig::default(), Device::Cpu).unwrap().save(&ppo_path).unwrap();
    let err = Dqn::new(DqnConfig::default(), Device::Cpu).unwrap().load(&ppo_path).unwrap_err().to_string();
    assert!(err.contains("no tensor"), "{err}");
    let err = Dqn::new(DqnConfig::default(), Device::Cpu).unwrap().load(&dir.path().join("missing.safetensors")).unwrap_err();
    assert!(format!("{err:#}").contains("missing.safetensors"), "{err:#}");
}
