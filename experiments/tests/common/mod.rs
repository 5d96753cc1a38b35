//! Helpers shared by the integration tests.

use nnlab_generative::data::idx::encode_idx;
use std::path::Path;

/// Writes small MNIST-format files into `dir` (created if needed): `n_train`
/// and `n_test` images of two kinds (a bright left half or a bright right
/// half), labelled 0 and 1.
pub fn write_data(dir: &Path, n_train: usize, n_test: usize) {
    std::fs::create_dir_all(dir).unwrap();
    for (prefix, n) in [("train", n_train), ("t10k", n_test)] {
        let pixels: Vec<u8> = (0..n).flat_map(|i| (0..784).map(move |p| if (p % 28 < 14) == (i % 2 == 0) { 230 } else { 10 })).collect();
        let labels: Vec<u8> = (0..n).map(|i| (i % 2) as u8).collect();
        std::fs::write(dir.join(format!("{prefix}-images-idx3-ubyte")), encode_idx(&[n, 28, 28], &pixels)).unwrap();
        std::fs::write(dir.join(format!("{prefix}-labels-idx1-ubyte")), encode_idx(&[n], &labels)).unwrap();
    }
}
