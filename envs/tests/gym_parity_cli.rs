//! The `gym_parity` command: a table and exit 0 on the shipped fixture, exit 1 on a
//! perturbed file, a one-line error and exit 2 on a missing or malformed file.

use std::process::Command;

const FIXTURE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/gymnasium-classic-control.json");

fn gym_parity(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_gym_parity")).args(args).output().unwrap()
}

#[test]
fn passes_on_the_fixture_and_prints_each_environment() {
    let o = gym_parity(&[FIXTURE]);
    assert!(o.status.success());
    let out = String::from_utf8_lossy(&o.stdout);
    for id in nnlab_envs::ENV_IDS {
        let line = out.lines().find(|l| l.starts_with(id)).unwrap_or_else(|| panic!("no row for {id}"));
        assert!(line.trim_end().ends_with("ok"), "{line}");
    }
}

#[test]
fn fails_on_a_perturbed_file_and_on_bad_files() {
    let dir = tempfile::tempdir().unwrap();
    let text = std::fs::read_to_string(FIXTURE).unwrap();
    let mut v: serde_json::Value = serde_json::from_str(&text).unwrap();
    let r = &mut v["environments"]["Pendulum-v1"][0]["rewards"][5];
    *r = serde_json::json!(r.as_f64().unwrap() + 1e-6);
    let bad = dir.path().join("perturbed.json");
    std::fs::write(&bad, serde_json::to_string(&v).unwrap()).unwrap();
    let o = gym_parity(&[bad.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stdout).contains("Pendulum-v1 episode 0 (seed 0, random) step 5"));

    let junk = dir.path().join("junk.json");
    std::fs::write(&junk, "{\"not\": 1}").unwrap();
    let o = gym_parity(&[]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("<FILE>"), "clap names the missing argument");
    for args in [vec!["/no/such.json"], vec![junk.to_str().unwrap()]] {
        let o = gym_parity(&args);
        assert_eq!(o.status.code(), Some(2), "{args:?}");
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(err.trim().lines().count(), 1, "{err}");
        assert!(!err.contains("panicked"));
    }
}

/// Unequal lists, an unusable tolerance, empty files
/// and `--help`.
#[test]
fn malformed_recordings_and_tolerances_are_errors_not_passes() {
    let dir = tempfile::tempdir().unwrap();
    let text = std::fs::read_to_string(FIXTURE).unwrap();
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    let write = |name: &str, v: &serde_json::Value| {
        let p = dir.path().join(name);
        std::fs::write(&p, serde_json::to_string(v).unwrap()).unwrap();
        p.to_str().unwrap().to_string()
    };
    let mut short = v.clone();
    short["environments"]["CartPole-v1"][0]["states"].as_array_mut().unwrap().pop();
    let short = write("short.json", &short);
    let o = gym_parity(&[&short]);
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("CartPole-v1 episode 0") && err.contains("states") && !err.contains("panicked"), "{err}");

    for t in ["nan", "-1", "inf"] {
        let o = gym_parity(&[FIXTURE, "--tolerance", t]);
        assert_eq!(o.status.code(), Some(2), "--tolerance {t}");
        assert!(String::from_utf8_lossy(&o.stderr).contains("finite number >= 0"));
    }
    let empty_envs = write("empty.json", &serde_json::json!({"generator": "x", "environments": {}}));
    let no_episodes = write("noeps.json", &serde_json::json!({"generator": "x", "environments": {"CartPole-v1": []}}));
    for (f, why) in [(empty_envs, "no environments"), (no_episodes, "no episodes")] {
        let o = gym_parity(&[&f]);
        assert_eq!(o.status.code(), Some(2), "{why}");
        assert!(String::from_utf8_lossy(&o.stderr).contains(why));
    }
    let o = gym_parity(&["--help"]);
    assert!(o.status.success() && String::from_utf8_lossy(&o.stdout).contains("--tolerance"));
}

/// A MinAtar recording given to a gym_parity built without the feature: one line, exit 2.
#[cfg(not(feature = "minatar"))]
#[test]
fn a_minatar_recording_without_the_feature_says_how_to_build() {
    let o = gym_parity(&[concat!(env!("CARGO_MANIFEST_DIR"), "/../envs-minatar/tests/fixtures/minatar.json")]);
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("--features minatar"), "{err}");
    assert_eq!(err.trim().lines().count(), 1, "{err}");
}
