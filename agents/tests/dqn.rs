//! DQN: the TD target's handling of truncation and config checks (its
//! fixed-seed regression run is in `golden.rs`).

use nnlab_agents::dqn::{Dqn, DqnConfig};
use nnlab_agents::replay_buffer::Batch;
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
    type Edit = Box<dyn Fn(&mut DqnConfig)>;
    let cases: Vec<(Edit, &str)> = vec![
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
