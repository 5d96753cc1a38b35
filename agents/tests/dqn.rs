//! DQN: the TD target's handling of truncation, config checks, and a
//! fixed-seed regression run against golden values.

use nnlab_agents::dqn::{Dqn, DqnConfig, TdLoss};
use nnlab_agents::replay_buffer::Batch;
use nnlab_agents::{evaluate, EpisodeRecord, Observer, Stats};
use tch::nn::Module;
use tch::{Device, Kind, Tensor};

fn batch(next: &[f32], rewards: &[f32], terminated: &[f32]) -> Batch {
    let n = rewards.len() as i64;
    Batch {
        observations: Tensor::zeros([n, 4], (Kind::Float, Device::Cpu)),
        next_observations: Tensor::from_slice(next).view([n, 4]),
        actions: Tensor::zeros([n], (Kind::Int64, Device::Cpu)),
        rewards: Tensor::from_slice(rewards),
        terminated: Tensor::from_slice(terminated),
    }
}

#[test]
fn truncated_transitions_bootstrap_and_terminated_ones_do_not() {
    for double_dqn in [false, true] {
        let cfg = DqnConfig { gamma: 0.9, double_dqn, ..Default::default() };
        let agent = Dqn::new(cfg, Device::Cpu).unwrap();
        let next = [0.1f32, -0.2, 0.03, 0.4, 0.1, -0.2, 0.03, 0.4];
        // Row 0: truncated by the time limit (terminated = 0); row 1: the same next state, terminated.
        let b = batch(&next, &[1.0, 1.0], &[0.0, 1.0]);
        let target = Vec::<f32>::try_from(agent.td_target(&b)).unwrap();
        let q_next = agent.target_network().forward(&b.next_observations.narrow(0, 0, 1));
        let v = if double_dqn {
            let a = agent.q_network().forward(&b.next_observations.narrow(0, 0, 1)).argmax(-1, false);
            f32::try_from(q_next.squeeze_dim(0).get(i64::try_from(a).unwrap())).unwrap()
        } else {
            f32::try_from(q_next.max()).unwrap()
        };
        assert!(v.abs() > 1e-4, "a non-trivial next value");
        assert!((target[0] - (1.0 + 0.9 * v)).abs() < 1e-6, "{target:?} vs {v}");
        assert_eq!(target[1], 1.0);
    }
}

#[test]
fn invalid_configs_are_rejected_with_the_key_named() {
    let cases: Vec<(Box<dyn Fn(&mut DqnConfig)>, &str)> = vec![
        (Box::new(|c| c.learning_rate = -1.0), "learning_rate"),
        (Box::new(|c| c.learning_rate = f64::NAN), "learning_rate"),
        (Box::new(|c| c.gamma = 1.5), "gamma"),
        (Box::new(|c| c.batch_size = 0), "batch_size"),
        (Box::new(|c| c.buffer_size = 0), "buffer_size"),
        (Box::new(|c| c.batch_size = 20_000), "batch_size"),
        (Box::new(|c| c.hidden_sizes = vec![64, 0]), "hidden_sizes"),
        (Box::new(|c| c.env_id = "Nope-v9".into()), "env_id"),
        (Box::new(|c| c.max_grad_norm = Some(0.0)), "max_grad_norm"),
    ];
    for (edit, key) in cases {
        let mut c = DqnConfig::default();
        edit(&mut c);
        let e = c.validate().unwrap_err().to_string();
        assert!(e.contains(key) && !e.contains('\n'), "{e}");
    }
    let e = Dqn::new(DqnConfig { env_id: "Pendulum-v1".into(), ..Default::default() }, Device::Cpu).err().unwrap();
    assert!(e.to_string().contains("discrete actions"), "{e}");
}

#[derive(Default)]
struct Collect {
    episodes: Vec<(usize, f64)>,
    losses: Vec<f64>,
}

impl Observer for Collect {
    fn on_episode(&mut self, ep: &EpisodeRecord, stats: Stats<'_>) {
        self.episodes.push((ep.global_step, ep.episode_return));
        assert_eq!(stats[0].0, "loss");
        if let Some(loss) = stats[0].1 {
            self.losses.push(loss);
        }
    }
}

/// A short run that learns something: 4000 steps, updates every step after 500.
fn short_config(seed: u64) -> DqnConfig {
    DqnConfig {
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
    }
}

fn short_run(seed: u64) -> (Collect, Vec<f64>) {
    tch::set_num_threads(1);
    let mut agent = Dqn::new(short_config(seed), Device::Cpu).unwrap();
    let mut obs = Collect::default();
    agent.train(&mut obs).unwrap();
    let eval = evaluate(&mut agent, 3, 99).unwrap();
    (obs, eval)
}

#[test]
fn fixed_seed_run_is_reproducible_and_matches_golden_values() {
    let (a, eval_a) = short_run(7);
    let (b, eval_b) = short_run(7);
    assert_eq!(a.episodes, b.episodes);
    assert_eq!(a.losses.iter().map(|l| l.to_bits()).collect::<Vec<_>>(), b.losses.iter().map(|l| l.to_bits()).collect::<Vec<_>>());
    assert_eq!(eval_a, eval_b);

    let got_returns: Vec<f64> = a.episodes.iter().map(|e| e.1).collect();
    // NNLAB_PRINT_GOLDEN=1 prints the values to commit after an intended change of behaviour.
    if std::env::var_os("NNLAB_PRINT_GOLDEN").is_some() {
        println!("{}", serde_json::json!({"episode_returns": got_returns, "eval_returns": eval_a, "last_loss": a.losses.last()}));
    }
    let golden: serde_json::Value =
        serde_json::from_str(include_str!("golden/dqn_short_seed7.json")).expect("golden file parses");
    let want_returns: Vec<f64> = serde_json::from_value(golden["episode_returns"].clone()).unwrap();
    let want_eval: Vec<f64> = serde_json::from_value(golden["eval_returns"].clone()).unwrap();
    let want_last_loss = golden["last_loss"].as_f64().unwrap();
    assert_eq!(got_returns, want_returns);
    assert_eq!(eval_a, want_eval);
    let last = *a.losses.last().unwrap();
    assert!((last - want_last_loss).abs() <= 1e-6 * want_last_loss.abs().max(1.0), "{last} vs {want_last_loss}");
    // A different seed takes a different path.
    let (c, _) = short_run(8);
    assert_ne!(c.episodes, a.episodes);
}
