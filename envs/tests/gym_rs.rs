//! gym-rs's CartPole behind nnlab's Env trait (feature `gym-rs`): seeded
//! and restorable like nnlab's own, truncated by nnlab's registry (gym-rs has
//! no time limit), and measurably not Gymnasium's dynamics.
#![cfg(feature = "gym-rs")]

use nnlab_envs::parity::{check_env_as, parse};
use nnlab_envs::{make, make_raw, Action, Env, SyncVectorEnv};

fn episode(env: &mut dyn Env, seed: Option<u64>) -> Vec<Vec<f32>> {
    let mut out = vec![env.reset(seed)];
    for t in 0..200 {
        let r = env.step(Action::Discrete(t % 2)).unwrap();
        out.push(r.observation);
        if r.terminated || r.truncated {
            break;
        }
    }
    out
}

#[test]
fn seeded_resets_repeat_and_unseeded_ones_continue_the_stream() {
    let (mut a, mut b) = (make("gym-rs/CartPole-v1").unwrap(), make("gym-rs/CartPole-v1").unwrap());
    assert_eq!(episode(a.as_mut(), Some(7)), episode(b.as_mut(), Some(7)));
    let (next_a, next_b) = (episode(a.as_mut(), None), episode(b.as_mut(), None));
    assert_eq!(next_a, next_b, "the stream after a seeded reset is the same");
    assert_ne!(next_a[0], episode(a.as_mut(), Some(7))[0]);
    assert!(a.step(Action::Discrete(2)).is_err(), "an action outside the space is an error, not gym-rs's panic");
}

#[test]
fn nnlab_adds_the_time_limit_gym_rs_lacks() {
    let upright = [0.0, 0.0, 0.0, 0.0];
    let mut raw = make_raw("gym-rs/CartPole-v1").unwrap();
    raw.reset(Some(1));
    for _ in 0..600 {
        raw.set_state(&upright).unwrap();
        let r = raw.step(Action::Discrete(0)).unwrap();
        assert!(!r.truncated && !r.terminated);
    }
    let mut wrapped = make("gym-rs/CartPole-v1").unwrap();
    wrapped.reset(Some(1));
    for t in 1..=500 {
        wrapped.set_state(&upright).unwrap();
        let r = wrapped.step(Action::Discrete(0)).unwrap();
        assert_eq!(r.truncated, t == 500, "step {t}");
    }
}

#[test]
fn a_restored_gym_rs_vector_env_continues_bit_for_bit() {
    let mut a = SyncVectorEnv::make("gym-rs/CartPole-v1", 2).unwrap();
    a.reset(Some(3));
    let step = |v: &mut SyncVectorEnv| v.step(nnlab_envs::Actions::Discrete(&[1, 0])).unwrap();
    for _ in 0..100 {
        step(&mut a);
    }
    let mut b = SyncVectorEnv::make("gym-rs/CartPole-v1", 2).unwrap();
    b.restore(&a.snapshot()).unwrap();
    for _ in 0..300 {
        step(&mut a);
        step(&mut b);
        assert_eq!((a.observations(), a.terminated()), (b.observations(), b.terminated()));
    }
}

#[test]
fn its_dynamics_differ_from_gymnasiums() {
    let file = parse(include_str!("fixtures/gymnasium-classic-control.json")).unwrap();
    let r = check_env_as("gym-rs/CartPole-v1", "CartPole-v1", &file.environments["CartPole-v1"], 1e-6);
    // polemass_length = masspole + length (0.6) instead of masspole * length (0.05).
    assert!(r.transitions > 1000 && r.max_state_dev > 0.1, "{} transitions, state dev {}", r.transitions, r.max_state_dev);
    assert_eq!(r.max_reward_dev, 0.0, "the same reward of 1 per step");
}
