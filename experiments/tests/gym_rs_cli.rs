//! Every agent trains on gym-rs's CartPole through nnlab's Env trait (feature
//! `gym-rs`): `train --env gym-rs/CartPole-v1`, reproducibly.
#![cfg(feature = "gym-rs")]

use std::process::Command;

#[test]
fn agents_train_on_gym_rs_cartpole_and_reproduce() {
    let tmp = tempfile::tempdir().unwrap();
    // DQN learns from step 500 (its default, 10k, is past this short run).
    for (algo, steps, extra) in
        [("ppo", "4096", &[][..]), ("dqn", "3000", &["--set", "learning_starts=500"][..]), ("a2c", "4000", &[]), ("reinforce", "4000", &[])]
    {
        let run = |out: &std::path::Path| {
            let o = Command::new(env!("CARGO_BIN_EXE_train"))
                .args(["--algo", algo, "--env", "gym-rs/CartPole-v1", "--total-timesteps", steps, "--quiet", "--no-gif", "--out", out.to_str().unwrap()])
                .args(extra)
                .output()
                .unwrap();
            assert!(o.status.success(), "{algo}: {}", String::from_utf8_lossy(&o.stderr));
            std::fs::read(out.join("metrics.csv")).unwrap()
        };
        let (a, b) = (run(&tmp.path().join(format!("{algo}-a"))), run(&tmp.path().join(format!("{algo}-b"))));
        assert_eq!(a, b, "{algo}: the same seed, the same metrics");
        let s: serde_json::Value = serde_json::from_slice(&std::fs::read(tmp.path().join(format!("{algo}-a/summary.json"))).unwrap()).unwrap();
        assert_eq!(s["env_id"], "gym-rs/CartPole-v1");
        assert!(s["train_return_last100"].as_f64().unwrap() > 0.0);
    }
}
