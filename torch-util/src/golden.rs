//! Golden-value regression checks for the crates' tests: a fixed-seed run's
//! numbers as JSON, compared bit for bit with a committed file.
//!
//! Floats are written in their shortest round-trip form, so equal JSON means
//! equal bits. Golden files live in `<crate>/tests/golden/<name>.json`; after
//! an intended change of behaviour, running the tests with
//! `NNLAB_WRITE_GOLDEN=1` rewrites them (review the diff before committing).

use serde_json::Value;
use std::fmt::Debug;
use std::sync::Mutex;

/// The environment variable that makes [`check`] write golden files instead of comparing.
pub const WRITE_VAR: &str = "NNLAB_WRITE_GOLDEN";

/// Compares `got` with `<crate_dir>/tests/golden/<name>.json` exactly (pass
/// `env!("CARGO_MANIFEST_DIR")`); with [`WRITE_VAR`] set, writes the file
/// instead. A mismatch names the first top-level key that differs.
pub fn check(crate_dir: &str, name: &str, got: &Value) {
    let path = format!("{crate_dir}/tests/golden/{name}.json");
    if std::env::var_os(WRITE_VAR).is_some() {
        std::fs::write(&path, format!("{got}\n")).unwrap_or_else(|e| panic!("writing {path}: {e}"));
        return;
    }
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("reading {path}: {e} (record it with {WRITE_VAR}=1)"));
    let want: Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path} does not parse: {e}"));
    if let (Value::Object(g), Value::Object(w)) = (got, &want) {
        let keys = g.keys().chain(w.keys().filter(|k| !g.contains_key(*k)));
        for key in keys {
            assert_eq!(g.get(key), w.get(key), "{name}: {key} differs from tests/golden/{name}.json");
        }
    }
    assert_eq!(got, &want, "{name}: differs from tests/golden/{name}.json");
}

/// Serialises the tests of one process that use torch's global generator or
/// thread count (dropout masks, data loading): one such test at a time.
pub fn torch_test_lock() -> std::sync::MutexGuard<'static, ()> {
    static TORCH: Mutex<()> = Mutex::new(());
    TORCH.lock().unwrap_or_else(|e| e.into_inner())
}

/// Runs `f` twice in portable numerics under [`torch_test_lock`], asserts
/// that both runs give the same value (same seed, same bits) and returns it.
pub fn twice<T: PartialEq + Debug>(f: impl Fn() -> T) -> T {
    crate::numerics::portable_for_tests();
    let _lock = torch_test_lock();
    let (a, b) = (f(), f());
    assert_eq!(a, b, "same seed, same numbers");
    a
}
