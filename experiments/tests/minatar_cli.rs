//! MinAtar from the command line. Without the `minatar` feature (the
//! README's test command), its ids and `bench --minatar` say in one line how
//! to build with it, and leave no run folder behind.

mod common;

#[cfg(not(feature = "minatar"))]
#[test]
fn without_the_feature_minatar_says_how_to_build_it() {
    use common::one_line_error;
    use std::process::Command;
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("run");
    let train = Command::new(env!("CARGO_BIN_EXE_train")).args(["--algo", "dqn", "--env", "MinAtar/Breakout-v1", "--out"]).arg(&out).output().unwrap();
    one_line_error(&train, &["--features minatar", "GPL-3.0"]);
    assert!(!out.exists(), "no run folder for an env this binary lacks");
    let bench = Command::new(env!("CARGO_BIN_EXE_bench")).arg("--minatar").output().unwrap();
    one_line_error(&bench, &["--features minatar"]);
}
