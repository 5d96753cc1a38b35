//! Helpers shared by the integration tests.

use nnlab_generative::data::idx::encode_idx;
use std::path::Path;
use std::process::{Command, Output};

/// Writes small MNIST-format files into `dir` (created if needed): `n_train`
/// and `n_test` images of two kinds (a bright left half or a bright right
/// half), labelled 0 and 1.
#[allow(dead_code)]
pub fn write_data(dir: &Path, n_train: usize, n_test: usize) {
    std::fs::create_dir_all(dir).unwrap();
    for (prefix, n) in [("train", n_train), ("t10k", n_test)] {
        let pixels: Vec<u8> = (0..n).flat_map(|i| (0..784).map(move |p| if (p % 28 < 14) == (i % 2 == 0) { 230 } else { 10 })).collect();
        let labels: Vec<u8> = (0..n).map(|i| (i % 2) as u8).collect();
        std::fs::write(dir.join(format!("{prefix}-images-idx3-ubyte")), encode_idx(&[n, 28, 28], &pixels)).unwrap();
        std::fs::write(dir.join(format!("{prefix}-labels-idx1-ubyte")), encode_idx(&[n], &labels)).unwrap();
    }
}

/// TensorBoard's reading of `run/tb`: `{"scalars": {tag: [[step, value]]}, "text": {tag: [..]}}`.
#[allow(dead_code)]
pub fn read_with_tensorboard(run: &Path) -> serde_json::Value {
    let python = Path::new(env!("CARGO_MANIFEST_DIR")).join("../.pytools/bin/python");
    assert!(python.exists(), "{} is missing: run ./scripts/setup.sh (it installs Python TensorBoard)", python.display());
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/support/tb_dump.py");
    let o = Command::new(&python).arg(&script).arg(run.join("tb")).output().expect("python runs");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    serde_json::from_slice(&o.stdout).expect("JSON from tb_dump.py")
}

/// Checks every non-empty `metrics.csv` cell against the scalar of its tag; returns the tags seen.
#[allow(dead_code)]
pub fn assert_scalars_match_csv(run: &Path, tb: &serde_json::Value) -> Vec<String> {
    let mut tags = assert_file_matches(run, "metrics.csv", tb);
    if run.join("steps.csv").exists() {
        tags.extend(assert_file_matches(run, "steps.csv", tb));
    }
    if let Ok(csv) = std::fs::read_to_string(run.join("evaluations.csv")) {
        // RL evaluations during training (`--eval-every`): two of the columns, in TensorBoard as SB3 names them.
        let rows: Vec<Vec<f64>> = csv.lines().skip(1).map(|l| l.split(',').map(|v| v.parse().unwrap()).collect()).collect();
        for (col, tag) in [(1, "eval/mean_reward"), (3, "eval/mean_ep_length")] {
            let want: Vec<(i64, f64)> = rows.iter().map(|r| (r[0] as i64, f64::from(r[col] as f32))).collect();
            let got: Vec<(i64, f64)> = tb["scalars"][tag]
                .as_array()
                .unwrap_or_else(|| panic!("no tag {tag}"))
                .iter()
                .map(|e| (e[0].as_i64().unwrap(), e[1].as_f64().unwrap()))
                .collect();
            assert_eq!(got, want, "{}: {tag} differs from evaluations.csv", run.display());
            tags.push(tag.to_string());
        }
    }
    let text = tb["text"]["hyperparameters"][0].as_str().expect("the config as text");
    assert!(text.starts_with("|param|value|") && text.contains("|seed|"), "{text}");
    tags
}

/// Checks every non-empty cell of one CSV file of `run` against TensorBoard's scalars.
fn assert_file_matches(run: &Path, file: &str, tb: &serde_json::Value) -> Vec<String> {
    let csv = std::fs::read_to_string(run.join(file)).unwrap();
    let mut lines = csv.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    let rows: Vec<Vec<&str>> = lines.map(|l| l.split(',').collect()).collect();
    let mut tags = Vec::new();
    for (col, name) in header.iter().enumerate().skip(1) {
        let tag = nnlab_experiments::tensorboard::tag(header[0], name);
        let want: Vec<(i64, f64)> =
            rows.iter().filter(|r| !r[col].is_empty()).map(|r| (r[0].parse().unwrap(), f64::from(r[col].parse::<f64>().unwrap() as f32))).collect();
        let got: Vec<(i64, f64)> = tb["scalars"][&tag]
            .as_array()
            .unwrap_or_else(|| panic!("{}: no tag {tag} for column {name}", run.display()))
            .iter()
            .map(|e| (e[0].as_i64().unwrap(), e[1].as_f64().unwrap()))
            .collect();
        assert!(!want.is_empty(), "{name}: a column with no values");
        assert_eq!(got, want, "{}: {tag} differs from {file} column {name}", run.display());
        tags.push(tag);
    }
    tags
}

/// Asserts that a binary failed as nnlab's bad input should: exit status 1,
/// no panic or internal error, one line on stderr that holds every needle.
#[allow(dead_code)]
pub fn one_line_error(o: &Output, needles: &[&str]) {
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "should fail with status 1: {err}");
    assert!(!err.contains("panicked") && !err.contains("internal error"), "{err}");
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    for n in needles {
        assert!(err.contains(n), "'{err}' lacks '{n}'");
    }
}
