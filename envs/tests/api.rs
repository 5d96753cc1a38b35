//! Gymnasium API semantics: seeding, spaces, time limits, statistics, vector envs, rendering.

use nnlab_envs::{make, make_raw, Action, Actions, Env, EnvError, Space, SyncVectorEnv, ENV_IDS};

fn some_action(space: &Space) -> (usize, Vec<f32>) {
    match space {
        Space::Discrete(_) => (1, vec![]),
        Space::Box(b) => (0, vec![0.5 * b.high[0]]),
    }
}

fn act<'a>(space: &Space, a: &'a (usize, Vec<f32>)) -> Action<'a> {
    match space {
        Space::Discrete(_) => Action::Discrete(a.0),
        Space::Box(_) => Action::Continuous(&a.1),
    }
}

#[test]
fn same_seed_same_start_and_unseeded_reset_continues_the_stream() {
    for id in ENV_IDS {
        let mut a = make(id).unwrap();
        let mut b = make(id).unwrap();
        let first = a.reset(Some(7));
        assert_eq!(first, b.reset(Some(7)), "{id}");
        let second = a.reset(None);
        assert_eq!(second, b.reset(None), "{id}");
        assert_ne!(first, a.reset(Some(8)), "{id}");
        assert!(a.observation_space().contains(&first) || id == "CartPole-v1", "{id}");
    }
}

#[test]
fn reset_distributions_match_gymnasium_bounds() {
    let mut env = make_raw("CartPole-v1").unwrap();
    for seed in 0..200 {
        env.reset(Some(seed));
        assert!(env.state().iter().all(|v| v.abs() <= 0.05));
    }
    let mut env = make_raw("MountainCar-v0").unwrap();
    for seed in 0..200 {
        env.reset(Some(seed));
        let s = env.state();
        assert!((-0.6..-0.4).contains(&s[0]) && s[1] == 0.0);
    }
    let mut env = make_raw("Pendulum-v1").unwrap();
    for seed in 0..200 {
        env.reset(Some(seed));
        let s = env.state();
        assert!(s[0].abs() <= std::f64::consts::PI && s[1].abs() <= 1.0);
    }
}

#[test]
fn actions_outside_the_space_are_errors_not_panics() {
    let mut env = make("CartPole-v1").unwrap();
    env.reset(Some(0));
    assert!(matches!(env.step(Action::Discrete(2)), Err(EnvError::InvalidAction { .. })));
    assert!(matches!(env.step(Action::Continuous(&[0.0])), Err(EnvError::InvalidAction { .. })));
    let mut env = make("Pendulum-v1").unwrap();
    env.reset(Some(0));
    for bad in [&[2.5f32][..], &[f32::NAN], &[0.0, 0.0], &[]] {
        let e = env.step(Action::Continuous(bad)).unwrap_err();
        assert!(e.to_string().contains("outside the action space"), "{e}");
    }
    assert!(env.step(Action::Continuous(&[2.0])).is_ok());
    assert!(make("Acrobot-v1").unwrap().step(Action::Discrete(0)).unwrap_err() == EnvError::ResetNeeded);
    assert!(matches!(make("Nope-v0"), Err(EnvError::UnknownEnv(_))));
}

#[test]
fn time_limits_truncate_at_the_registered_step() {
    for (id, limit) in [("CartPole-v1", 500), ("MountainCar-v0", 200), ("Pendulum-v1", 200), ("Acrobot-v1", 500), ("MountainCarContinuous-v0", 999)] {
        let mut env = make(id).unwrap();
        env.reset(Some(3));
        let a = some_action(env.action_space());
        let start = env.state();
        for t in 1..=limit {
            // Hold the state still so that no episode terminates before the limit.
            env.set_state(&start).unwrap();
            let space = env.action_space().clone();
            let tr = env.step(act(&space, &a)).unwrap();
            if id == "CartPole-v1" || id == "Acrobot-v1" || id == "MountainCar-v0" {
                assert!(!tr.terminated);
            }
            assert_eq!(tr.truncated, t == limit, "{id} step {t}");
        }
    }
}

#[test]
fn cartpole_pays_one_per_step_including_the_terminal_one() {
    let mut env = make("CartPole-v1").unwrap();
    env.reset(Some(0));
    let mut total = 0.0;
    let mut steps = 0;
    loop {
        let t = env.step(Action::Discrete(1)).unwrap();
        total += t.reward;
        steps += 1;
        if t.terminated {
            break;
        }
    }
    assert_eq!(total, steps as f64);
    assert!(steps < 50);
    // Stepping past termination pays nothing, as in Gymnasium.
    assert_eq!(env.step(Action::Discrete(1)).unwrap().reward, 0.0);
}

#[test]
fn vector_env_autoresets_and_keeps_the_final_observation() {
    let mut venv = SyncVectorEnv::make("CartPole-v1", 3).unwrap();
    let first = venv.reset(Some(10)).to_vec();
    let mut single = make("CartPole-v1").unwrap();
    assert_eq!(&first[4..8], &single.reset(Some(11))[..]);
    let mut episodes = 0;
    for _ in 0..200 {
        let before = venv.observations().to_vec();
        venv.step(Actions::Discrete(&[1, 0, 1])).unwrap();
        for i in 0..3 {
            if venv.has_final()[i] {
                episodes += 1;
                let stats = venv.episodes()[i].expect("statistics on the final step");
                assert_eq!(stats.ret, stats.len as f64);
                let fin = &venv.final_observations()[i * 4..(i + 1) * 4];
                assert_ne!(fin, &venv.observations()[i * 4..(i + 1) * 4]);
                assert_eq!(venv.next_observation(i), fin);
                // The new episode starts inside the reset distribution.
                assert!(venv.observations()[i * 4..(i + 1) * 4].iter().all(|v| v.abs() <= 0.05));
            } else {
                assert!(venv.episodes()[i].is_none());
                assert_ne!(&before[i * 4..(i + 1) * 4], venv.next_observation(i));
            }
        }
    }
    assert!(episodes >= 6, "{episodes}");
    // One bad action: an error, and no environment moves.
    let before = venv.observations().to_vec();
    assert!(venv.step(Actions::Discrete(&[1, 5, 1])).is_err());
    assert!(venv.step(Actions::Discrete(&[1, 1])).is_err());
    assert_eq!(before, venv.observations());
}

#[test]
fn every_environment_renders_a_frame() {
    for id in ENV_IDS {
        let mut env = make(id).unwrap();
        env.reset(Some(0));
        let f = env.render().expect("renders");
        assert_eq!(f.rgb.len(), (f.width * f.height * 3) as usize);
        let non_white = f.rgb.chunks(3).filter(|p| p != &[255, 255, 255]).count();
        assert!(non_white > 500, "{id}: {non_white} drawn pixels");
    }
}

#[test]
fn step_active_moves_only_the_active_environments() {
    let mut venv = SyncVectorEnv::make("CartPole-v1", 2).unwrap();
    venv.reset(Some(4));
    let mut single = make("CartPole-v1").unwrap();
    single.reset(Some(4));
    // Environment 1 waits; its (invalid) action is not looked at.
    let frozen = venv.observations()[4..8].to_vec();
    for _ in 0..5 {
        venv.step_active(Actions::Discrete(&[1, 7]), &[true, false]).unwrap();
        let r = single.step(Action::Discrete(1)).unwrap();
        assert_eq!(&venv.observations()[0..4], &r.observation[..]);
        assert_eq!(&venv.observations()[4..8], &frozen[..]);
        assert_eq!((venv.rewards()[1], venv.terminated()[1], venv.truncated()[1], venv.has_final()[1]), (0.0, false, false, false));
        assert!(venv.episodes()[1].is_none());
    }
    assert!(venv.step_active(Actions::Discrete(&[1, 1]), &[true]).is_err());
}

#[test]
fn a_restored_vector_env_continues_bit_for_bit() {
    for id in ENV_IDS {
        let mut a = SyncVectorEnv::make(id, 2).unwrap();
        a.reset(Some(3));
        let (n, act) = some_action(a.action_space());
        let step = |v: &mut SyncVectorEnv| match v.action_space() {
            Space::Discrete(_) => v.step(Actions::Discrete(&[n, n])).unwrap(),
            Space::Box(_) => v.step(Actions::Continuous(&[act.clone(), act.clone()].concat())).unwrap(),
        };
        for _ in 0..150 {
            step(&mut a);
        }
        // Through JSON text, as a checkpoint stores it.
        let text = serde_json::to_string(&a.snapshot()).unwrap();
        let mut b = SyncVectorEnv::make(id, 2).unwrap();
        b.restore(&serde_json::from_str(&text).unwrap()).unwrap();
        assert_eq!(a.observations(), b.observations(), "{id}");
        for _ in 0..400 {
            step(&mut a);
            step(&mut b);
            assert_eq!((a.observations(), a.rewards(), a.terminated(), a.truncated()), (b.observations(), b.rewards(), b.terminated(), b.truncated()), "{id}");
            assert_eq!(a.episodes(), b.episodes(), "{id}");
        }
        let mut c = SyncVectorEnv::make(id, 3).unwrap();
        assert!(c.restore(&a.snapshot()).is_err());
    }
}

/// FrameStack keeps the last k observations, oldest first, starts with k copies
/// of the reset observation, stacks pictures along their channels, and
/// continues exactly from a snapshot.
#[test]
fn frame_stack_keeps_the_last_k_observations() {
    use nnlab_envs::{Action, Env, FrameStack};
    let mut plain = nnlab_envs::make("CartPole-v1").unwrap();
    let mut stacked = FrameStack::new(nnlab_envs::make("CartPole-v1").unwrap(), 3);
    assert_eq!(stacked.observation_shape(), vec![12]);
    assert_eq!(stacked.observation_space().dim(), 12);
    let first = plain.reset(Some(5));
    let s0 = stacked.reset(Some(5));
    assert_eq!(s0, [first.clone(), first.clone(), first.clone()].concat());
    let o1 = plain.step(Action::Discrete(1)).unwrap().observation;
    let o2 = plain.step(Action::Discrete(0)).unwrap().observation;
    stacked.step(Action::Discrete(1)).unwrap();
    let s2 = stacked.step(Action::Discrete(0)).unwrap().observation;
    assert_eq!(s2, [first, o1, o2.clone()].concat());
    let saved = stacked.snapshot();
    let mut copy = FrameStack::new(nnlab_envs::make("CartPole-v1").unwrap(), 3);
    copy.restore(&saved).unwrap();
    assert_eq!(stacked.step(Action::Discrete(1)).unwrap(), copy.step(Action::Discrete(1)).unwrap());
    assert!(stacked.step(Action::Discrete(7)).is_err(), "a bad action leaves the stack as it was");
    let mut short = FrameStack::new(nnlab_envs::make("CartPole-v1").unwrap(), 2);
    assert!(short.restore(&saved).is_err(), "a snapshot of another stack depth is refused");
}
