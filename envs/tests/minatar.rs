//! MinAtar's games through nnlab's `Env` (built with `--features minatar`):
//! the registry's ids and spaces, seeding, channels-first observations,
//! snapshots, pictures, and `gym_parity` on MinAtar recordings.
#![cfg(feature = "minatar")]

use nnlab_envs::registry::{make, make_raw, spec};
use nnlab_envs::{Action, Env, Space};
use std::process::Command;

const GAMES: [(&str, usize, usize); 5] = [("Asterix", 4, 5), ("Breakout", 4, 3), ("Freeway", 7, 3), ("Seaquest", 10, 6), ("SpaceInvaders", 6, 4)];
const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../envs-minatar/tests/fixtures");

/// A fixed pseudo-random action sequence (no RNG crate needed).
fn action(step: usize, n: usize) -> usize {
    (step * 7 + step / 3) % n
}

#[test]
fn every_game_is_registered_with_its_spaces_and_limit() {
    for (game, channels, minimal) in GAMES {
        for (version, actions) in [("v1", minimal), ("v0", 6)] {
            let id = format!("MinAtar/{game}-{version}");
            let env = make(&id).unwrap();
            assert_eq!(env.id(), id);
            assert_eq!(env.observation_shape(), vec![channels, 10, 10], "{id}");
            assert_eq!(env.observation_space().dim(), channels * 100);
            assert_eq!(env.action_space(), &Space::Discrete(actions), "{id}");
            assert_eq!(spec(&id).unwrap().max_episode_steps, nnlab_envs::minatar::MAX_EPISODE_STEPS);
        }
    }
}

#[test]
fn a_seed_replays_and_the_observation_is_the_state_channels_first() {
    for (game, channels, _) in GAMES {
        let id = format!("MinAtar/{game}-v1");
        let (mut a, mut b) = (make(&id).unwrap(), make(&id).unwrap());
        let n = a.action_space().n().unwrap();
        let (mut oa, mut ob) = (a.reset(Some(3)), b.reset(Some(3)));
        let mut total = 0.0;
        for t in 0..400 {
            assert_eq!(oa, ob, "{id} step {t}");
            let state = a.state();
            for c in 0..channels {
                for cell in 0..100 {
                    assert_eq!(oa[c * 100 + cell] as f64, state[cell * channels + c], "{id} step {t}: channel {c} cell {cell}");
                }
            }
            let (ra, rb) = (a.step(Action::Discrete(action(t, n))).unwrap(), b.step(Action::Discrete(action(t, n))).unwrap());
            assert_eq!((ra.reward, ra.terminated), (rb.reward, rb.terminated));
            total += ra.reward;
            (oa, ob) = (ra.observation, rb.observation);
            if ra.terminated {
                oa = a.reset(None);
                ob = b.reset(None);
            }
        }
        // Another seed plays another game (sticky actions at least draw differently).
        let play = |seed: u64| {
            let mut env = make(&id).unwrap();
            let mut seen = vec![env.reset(Some(seed))];
            for t in 0..300 {
                let r = env.step(Action::Discrete(action(t, n))).unwrap();
                seen.push(r.observation);
                if r.terminated {
                    seen.push(env.reset(None));
                }
            }
            seen
        };
        assert_ne!(play(3), play(4), "{id}");
        assert!(total >= 0.0, "MinAtar's rewards are never negative");
    }
}

#[test]
fn a_snapshot_continues_the_game_exactly() {
    for (game, _, _) in GAMES {
        let id = format!("MinAtar/{game}-v0");
        let mut env = make(&id).unwrap();
        env.reset(Some(11));
        for t in 0..60 {
            if env.step(Action::Discrete(action(t, 6))).unwrap().terminated {
                env.reset(None);
            }
        }
        let saved = env.snapshot();
        let mut copy = make(&id).unwrap();
        copy.restore(&saved).unwrap();
        for t in 60..300 {
            let (x, y) = (env.step(Action::Discrete(action(t, 6))).unwrap(), copy.step(Action::Discrete(action(t, 6))).unwrap());
            assert_eq!(x, y, "{id} step {t}");
            if x.terminated {
                assert_eq!(env.reset(None), copy.reset(None));
            }
        }
        let mut other = make_raw(if game == "Breakout" { "MinAtar/Freeway-v0" } else { "MinAtar/Breakout-v0" }).unwrap();
        assert!(other.restore(&saved).is_err(), "a snapshot of another game is refused");
    }
}

#[test]
fn stepping_before_reset_and_bad_actions_are_errors() {
    let mut env = make("MinAtar/Breakout-v1").unwrap();
    assert!(env.step(Action::Discrete(0)).is_err());
    env.reset(Some(0));
    assert!(env.step(Action::Discrete(3)).is_err(), "Breakout-v1 has 3 actions");
    assert!(env.step(Action::Continuous(&[0.0])).is_err());
    assert!(env.set_state(&[0.0; 400]).is_err(), "a game is not its cells");
}

#[test]
fn pictures_show_the_grid_in_minatar_colours() {
    let mut env = make("MinAtar/SpaceInvaders-v1").unwrap();
    env.reset(Some(0));
    let frame = env.render().unwrap();
    assert_eq!((frame.width, frame.height), (160, 160));
    // The cannon (channel 0) at row 9, column 5; an alien at row 0, column 2; empty cells black.
    let pixel = |y: usize, x: usize| &frame.rgb[((y * 16 + 8) * 160 + x * 16 + 8) * 3..][..3];
    assert_eq!(pixel(5, 0), [0, 0, 0]);
    assert_ne!(pixel(9, 5), [0, 0, 0]);
    assert_ne!(pixel(0, 2), [0, 0, 0]);
    assert_ne!(pixel(9, 5), pixel(0, 2));
}

fn gym_parity(file: &str) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_gym_parity")).arg(file).output().unwrap()
}

#[test]
fn gym_parity_replays_both_minatar_recordings_exactly() {
    for name in ["minatar.json", "minatar-lookahead.json"] {
        let o = gym_parity(&format!("{FIXTURES}/{name}"));
        let out = String::from_utf8_lossy(&o.stdout);
        assert!(o.status.success(), "{name}: {out}{}", String::from_utf8_lossy(&o.stderr));
        for game in ["asterix", "breakout", "freeway", "seaquest", "space_invaders"] {
            let line = out.lines().find(|l| l.starts_with(game)).unwrap_or_else(|| panic!("{name}: no row for {game}"));
            assert!(line.trim_end().ends_with("ok"), "{line}");
        }
    }
}

#[test]
fn gym_parity_finds_a_changed_reward_state_or_action_and_rejects_bad_files() {
    let dir = tempfile::tempdir().unwrap();
    let text = std::fs::read_to_string(format!("{FIXTURES}/minatar.json")).unwrap();
    let original: serde_json::Value = serde_json::from_str(&text).unwrap();
    // Episode 10 is Breakout seed 0; its step 3 is changed three ways.
    type Change = fn(&mut serde_json::Value);
    let changes: [(&str, Change); 3] = [
        ("reward", |s| s["r"] = serde_json::json!(s["r"].as_f64().unwrap() + 1.0)),
        ("state", |s| {
            let hex = s["s"].as_str().unwrap().to_string();
            let flipped = format!("{:02x}{}", u8::from_str_radix(&hex[..2], 16).unwrap() ^ 0x80, &hex[2..]);
            s["s"] = serde_json::json!(flipped);
        }),
        ("terminal", |s| s["t"] = serde_json::json!(!s["t"].as_bool().unwrap())),
    ];
    for (what, change) in changes {
        let mut v = original.clone();
        assert_eq!(v["episodes"][10]["game"], "breakout");
        change(&mut v["episodes"][10]["steps"][3]);
        let path = dir.path().join(format!("{what}.json"));
        std::fs::write(&path, serde_json::to_string(&v).unwrap()).unwrap();
        let o = gym_parity(path.to_str().unwrap());
        assert_eq!(o.status.code(), Some(1), "{what}");
        assert!(String::from_utf8_lossy(&o.stdout).contains("breakout seed 0 (random) step 4"), "{what}: {}", String::from_utf8_lossy(&o.stdout));
    }
    let mut v = original.clone();
    v["episodes"][0]["game"] = serde_json::json!("pong");
    let mut w = original.clone();
    w["episodes"][0]["steps"][0]["a"] = serde_json::json!(6);
    let empty = serde_json::json!({"minatar_version": "1.0.15", "numpy_version": "2", "max_steps": 1, "episodes": []});
    for (name, doc) in [("unknown-game", v), ("bad-action", w), ("empty", empty)] {
        let path = dir.path().join(format!("{name}.json"));
        std::fs::write(&path, serde_json::to_string(&doc).unwrap()).unwrap();
        let o = gym_parity(path.to_str().unwrap());
        let (out, err) = (String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr));
        let expected = if name == "empty" { 2 } else { 1 };
        assert_eq!(o.status.code(), Some(expected), "{name}: {out}{err}");
        assert!(!err.contains("panicked") && err.lines().count() <= 1, "{name}: {err}");
        if name == "unknown-game" {
            assert!(out.contains("unknown MinAtar game 'pong'"), "{out}");
        }
    }
}

#[test]
fn frame_stacking_stacks_pictures_along_their_channels() {
    let mut env = nnlab_envs::FrameStack::new(make("MinAtar/Freeway-v1").unwrap(), 2);
    assert_eq!(env.observation_shape(), vec![14, 10, 10]);
    let first = env.reset(Some(1));
    assert_eq!(first[..700], first[700..], "two copies of the first picture");
    let next = env.step(Action::Discrete(1)).unwrap().observation;
    assert_eq!(next[..700], first[700..], "the older picture moves to the front");
}
