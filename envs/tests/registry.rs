//! The registry is the one place that knows the environments: each one is
//! its file plus its line in `REGISTRY` (`docs/src/extending/environment.md`).
//! These tests keep that true: a registration builds what it names, and no
//! other code names an environment's id or branches on it.

use nnlab_envs::{make, make_raw, registry, REGISTRY};
use std::path::{Path, PathBuf};

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

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("the workspace root").to_path_buf()
}

#[test]
fn every_registration_builds_the_environment_it_names() {
    for r in REGISTRY {
        let env = make_raw(r.spec.id).expect("registered");
        assert_eq!(env.id(), r.spec.id);
        assert_eq!((r.make)().id(), r.spec.id);
        assert_eq!(registry::spec(r.spec.id).expect("registered"), r.spec);
        let mut limited = make(r.spec.id).expect("registered");
        limited.reset(Some(0));
        assert_eq!(limited.id(), r.spec.id);
    }
    let ids: Vec<_> = REGISTRY.iter().map(|r| r.spec.id).collect();
    assert_eq!(ids, nnlab_envs::ENV_IDS);
    let mut unique = ids.clone();
    unique.sort_unstable();
    unique.dedup();
    assert_eq!(unique.len(), ids.len(), "an id is registered twice");
}

#[test]
fn unknown_ids_name_every_registered_one() {
    let message = make("NoSuchEnv-v0").err().expect("unknown").to_string();
    for r in REGISTRY {
        assert!(message.contains(r.spec.id), "{message}");
    }
}

/// Inside `envs/src` an environment's id is written in its own file only
/// (its `REGISTRATION`), so that the registry line is the one other edit.
#[test]
fn an_environment_id_is_written_in_its_own_file_only() {
    let files = rust_files(&workspace().join("envs/src"));
    for r in REGISTRY {
        let literal = format!("\"{}\"", r.spec.id);
        let holders: Vec<_> = files.iter().filter(|f| std::fs::read_to_string(f).expect("readable").contains(&literal)).collect();
        assert_eq!(holders.len(), 1, "{literal} is written in {holders:?}; only its own file should name it");
        let own = std::fs::read_to_string(holders[0]).expect("readable");
        assert!(own.contains("pub const REGISTRATION: Registration"), "{} holds no REGISTRATION", holders[0].display());
    }
}

/// No code of the workspace branches on an environment id (a `match` arm or
/// an `==` on the id): what differs between environments is in the registry.
#[test]
fn no_code_branches_on_an_environment_id() {
    let root = workspace();
    let mut files = Vec::new();
    for krate in ["envs", "agents", "experiments", "torch-util", "generative", "vision", "text", "data"] {
        files.extend(rust_files(&root.join(krate).join("src")));
    }
    for r in REGISTRY {
        for pattern in [format!("\"{}\" =>", r.spec.id), format!("== \"{}\"", r.spec.id)] {
            for file in &files {
                let text = std::fs::read_to_string(file).expect("readable");
                assert!(!text.contains(&pattern), "{} branches on {}: `{pattern}`", file.display(), r.spec.id);
            }
        }
    }
}

/// Without the `minatar` feature, MinAtar's ids say in one line how to build with them.
#[cfg(not(feature = "minatar"))]
#[test]
fn minatar_ids_without_the_feature_say_how_to_build_it() {
    let err = nnlab_envs::make("MinAtar/Breakout-v1").err().expect("not built in").to_string();
    assert!(err.contains("--features minatar") && err.contains("GPL-3.0"), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(nnlab_envs::registry::all_ids().all(|id| !id.starts_with("MinAtar/")));
}
