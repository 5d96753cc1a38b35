//! The registries are the one place that lists algorithms and metrics sinks
//! (docs/src/extending/): these tests keep the source and the tables in step,
//! so that adding one is its file plus one registration, and no code
//! elsewhere branches on a name.

use nnlab_experiments::algos::ALGORITHMS;
use nnlab_experiments::metrics::SINKS;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("the workspace root").to_path_buf()
}

/// Every `.rs` file under `dir`.
fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).expect("readable source folder") {
        let path = entry.expect("folder entry").path();
        if path.is_dir() {
            out.extend(rust_files(&path));
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
    out
}

/// The string literals that follow `marker` in the files under `dir`.
fn names_after(dir: &Path, marker: &str) -> Vec<String> {
    let mut names = Vec::new();
    for file in rust_files(dir) {
        let text = std::fs::read_to_string(&file).expect("readable");
        for (i, _) in text.match_indices(marker) {
            let rest = &text[i + marker.len()..];
            let start = rest.find('"').expect("a name follows") + 1;
            let end = start + rest[start..].find('"').expect("a closing quote");
            names.push(rest[start..end].to_string());
        }
    }
    names
}

/// Each `AlgorithmConfig` written in `agents/src` is in `ALGORITHMS` once, and nothing else is.
#[test]
fn every_algorithm_config_is_registered_once() {
    let written = names_after(&workspace().join("agents/src"), "const ALGO: &'static str =");
    let registered: Vec<String> = ALGORITHMS.iter().map(|a| a.name.to_string()).collect();
    assert_eq!(written.iter().collect::<BTreeSet<_>>(), registered.iter().collect::<BTreeSet<_>>(), "agents/src's AlgorithmConfig impls against ALGORITHMS");
    assert_eq!(registered.len(), registered.iter().collect::<BTreeSet<_>>().len(), "an algorithm is registered twice: {registered:?}");
    assert_eq!(written.len(), registered.len(), "an algorithm name is written twice in agents/src: {written:?}");
}

/// Each `SinkKind` written in `experiments/src` is in `SINKS` once, and nothing else is.
#[test]
fn every_sink_kind_is_registered_once() {
    let written = names_after(&workspace().join("experiments/src"), "SinkKind { name:");
    let registered: Vec<String> = SINKS.iter().map(|k| k.name.to_string()).collect();
    assert_eq!(written.iter().collect::<BTreeSet<_>>(), registered.iter().collect::<BTreeSet<_>>(), "experiments/src's SinkKinds against SINKS");
    assert_eq!(registered.len(), written.len(), "a sink is registered twice, or a SinkKind is left out: {registered:?}");
}

/// No code branches on an algorithm's or a sink's name (a `match` arm or an
/// `==` on it): what differs between them lives in their registrations.
#[test]
fn no_code_branches_on_a_registered_name() {
    let root = workspace();
    let mut files = Vec::new();
    for krate in ["envs", "agents", "experiments", "torch-util", "generative", "vision", "text", "data"] {
        files.extend(rust_files(&root.join(krate).join("src")));
    }
    let names = ALGORITHMS.iter().map(|a| a.name).chain(SINKS.iter().map(|k| k.name));
    for name in names {
        for pattern in [format!("\"{name}\" =>"), format!("== \"{name}\""), format!("\"{name}\" |")] {
            for file in &files {
                let text = std::fs::read_to_string(file).expect("readable");
                assert!(!text.contains(&pattern), "{} branches on {name}: `{pattern}`", file.display());
            }
        }
    }
}

/// The checkpoint code names no sink: positions are saved and restored by
/// the sinks themselves, under their kind's name.
#[test]
fn checkpoints_name_no_sink() {
    for file in ["checkpoint.rs", "scaffold.rs", "runner.rs", "metrics.rs"] {
        let text = std::fs::read_to_string(workspace().join("experiments/src").join(file)).expect("readable");
        for sink_word in ["csv_bytes", "TensorBoardSink", "CsvSink::append", "\"tb\""] {
            assert!(!text.contains(sink_word), "experiments/src/{file} names a sink's internals: {sink_word}");
        }
    }
}

/// The run bookkeeping lives in one place: checkpoints are written, metric
/// files reopened for a resume and the wall clock carried across attempts by
/// the scaffold's `Run` alone, and curves and best models are resumed by
/// `fit` alone; every binary's loop goes through them.
#[test]
fn one_scaffold_owns_the_run_bookkeeping() {
    let root = workspace();
    let mut files = Vec::new();
    for krate in ["experiments", "agents", "generative", "vision", "text"] {
        files.extend(rust_files(&root.join(krate).join("src")));
    }
    let owners = [
        ("checkpoint::write(", "experiments/src/scaffold.rs"),
        ("checkpoint::open_metrics(", "experiments/src/scaffold.rs"),
        ("elapsed_before", "experiments/src/scaffold.rs"),
        ("History::resume(", "experiments/src/fit.rs"),
        ("Metrics::for_run(", "experiments/src/scaffold.rs"),
    ];
    for (call, owner) in owners {
        for file in &files {
            let text = std::fs::read_to_string(file).expect("readable");
            // Unit tests of the helper itself may call it.
            let code = text.split("#[cfg(test)]").next().unwrap_or(&text);
            let relative = file.strip_prefix(&root).expect("inside the workspace").to_string_lossy().replace('\\', "/");
            if code.contains(call)
                && relative != owner
                && !relative.ends_with("checkpoint.rs")
                && !relative.ends_with("history.rs")
                && !relative.ends_with("metrics.rs")
            {
                panic!("{relative} calls {call}, which only {owner} should: the run's bookkeeping belongs to the one scaffold");
            }
        }
    }
}

/// Every off-policy agent runs on the one off-policy loop: no other file
/// steps a vector environment and samples a replay buffer in its own loop.
#[test]
fn one_off_policy_loop() {
    let files = rust_files(&workspace().join("agents/src"));
    for file in files {
        let text = std::fs::read_to_string(&file).expect("readable");
        let code = text.split("#[cfg(test)]").next().unwrap_or(&text);
        if code.contains("rb.sample(") && !file.ends_with("offpolicy.rs") {
            panic!("{} samples a replay buffer in a loop of its own; off-policy agents are OffPolicyLearners", file.display());
        }
    }
}
