//! Image datasets: the IDX format, MNIST-style splits, and fetching Fashion-MNIST.

pub mod fetch;
pub mod idx;
pub mod mnist;

pub use fetch::{cache_dir, ensure_fashion_mnist};
pub use idx::{read_idx, IdxArray, IdxError};
pub use mnist::{check_batch_size, load_28x28, load_split, ImageSet, Split, FASHION_MNIST_CLASSES};
