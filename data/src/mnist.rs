//! MNIST-format splits: `<split>-images-idx3-ubyte[.gz]` and
//! `<split>-labels-idx1-ubyte[.gz]` in one folder (MNIST and Fashion-MNIST alike).

use super::idx::read_idx;
use anyhow::{bail, Context, Result};
use std::path::{Path, PathBuf};
use tch::{Device, Kind, Tensor};

/// Which half of the data set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Split {
    /// `train-*` (60,000 images).
    Train,
    /// `t10k-*` (10,000 images).
    Test,
}

impl Split {
    fn prefix(self) -> &'static str {
        match self {
            Split::Train => "train",
            Split::Test => "t10k",
        }
    }
}

/// Labelled images, channel-major (`[len, channels, rows, cols]`).
#[derive(Debug, Clone)]
pub struct ImageSet {
    /// Number of images.
    pub len: usize,
    /// Channels per image (1 for greyscale IDX files, 3 for CIFAR-10).
    pub channels: usize,
    /// Rows per image.
    pub rows: usize,
    /// Columns per image.
    pub cols: usize,
    /// `len * channels * rows * cols` pixels, 0-255.
    pub pixels: Vec<u8>,
    /// `len` labels.
    pub labels: Vec<u8>,
}

/// `dir/<name>` or `dir/<name>.gz`, whichever exists.
fn find(dir: &Path, name: &str) -> Option<PathBuf> {
    [dir.join(name), dir.join(format!("{name}.gz"))].into_iter().find(|p| p.exists())
}

const HOW_TO_FETCH: &str = "Fashion-MNIST is fetched into the cache on first use; or pass --data-dir with the four IDX files of MNIST or Fashion-MNIST";

/// Loads one split from `dir`, checking shapes and label range.
pub fn load_split(dir: &Path, split: Split) -> Result<ImageSet> {
    let p = split.prefix();
    let images_name = format!("{p}-images-idx3-ubyte");
    let labels_name = format!("{p}-labels-idx1-ubyte");
    let images_path = find(dir, &images_name).with_context(|| format!("{} has no {images_name}[.gz]. {HOW_TO_FETCH}", dir.display()))?;
    let labels_path = find(dir, &labels_name).with_context(|| format!("{} has no {labels_name}[.gz]. {HOW_TO_FETCH}", dir.display()))?;
    let images = read_idx(&images_path).map_err(|e| anyhow::anyhow!("{e}. {HOW_TO_FETCH}"))?;
    let labels = read_idx(&labels_path).map_err(|e| anyhow::anyhow!("{e}. {HOW_TO_FETCH}"))?;
    if images.dims.len() != 3 {
        bail!("{} has {} dimensions, expected 3 (count, rows, cols)", images_path.display(), images.dims.len());
    }
    if labels.dims.len() != 1 {
        bail!("{} has {} dimensions, expected 1", labels_path.display(), labels.dims.len());
    }
    if images.dims[0] != labels.dims[0] {
        bail!("{} holds {} images but {} holds {} labels", images_path.display(), images.dims[0], labels_path.display(), labels.dims[0]);
    }
    if images.dims[0] == 0 {
        bail!("{} holds no images. {HOW_TO_FETCH}", images_path.display());
    }
    if let Some(bad) = labels.data.iter().find(|&&l| l > 9) {
        bail!("{} holds label {bad}, outside 0-9", labels_path.display());
    }
    Ok(ImageSet { len: images.dims[0], channels: 1, rows: images.dims[1], cols: images.dims[2], pixels: images.data, labels: labels.data })
}

/// Fails unless a batch of `batch_size` fits in the `len` training images.
pub fn check_batch_size(batch_size: usize, len: usize) -> Result<()> {
    if batch_size > len {
        bail!("batch_size ({batch_size}) is larger than the training set ({len} images)");
    }
    Ok(())
}

/// Fashion-MNIST's class names, by label.
pub const FASHION_MNIST_CLASSES: [&str; 10] = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"];

impl ImageSet {
    /// The images as a `[len, channels * rows * cols]` float tensor in [0, 1].
    pub fn images_tensor(&self, device: Device) -> Tensor {
        (Tensor::from_slice(&self.pixels).to_kind(Kind::Float) / 255.0)
            .view([self.len as i64, (self.channels * self.rows * self.cols) as i64])
            .to_device(device)
    }

    /// The images as a `[len, channels, rows, cols]` tensor of bytes (0-255).
    pub fn images_u8(&self, device: Device) -> Tensor {
        Tensor::from_slice(&self.pixels).view([self.len as i64, self.channels as i64, self.rows as i64, self.cols as i64]).to_device(device)
    }

    /// The images `indices` (in that order) as a new set.
    pub fn subset(&self, indices: &[usize]) -> ImageSet {
        let size = self.channels * self.rows * self.cols;
        let pixels = indices.iter().flat_map(|&i| self.pixels[i * size..(i + 1) * size].iter().copied()).collect();
        let labels = indices.iter().map(|&i| self.labels[i]).collect();
        ImageSet { len: indices.len(), pixels, labels, ..*self }
    }

    /// The labels as a `[len]` int64 tensor.
    pub fn labels_tensor(&self, device: Device) -> Tensor {
        Tensor::from_slice(&self.labels).to_kind(Kind::Int64).to_device(device)
    }
}

/// The training and test splits of 28x28 images from `data_dir`, or of
/// Fashion-MNIST (fetched into the cache on first use) when it is `None`.
/// Returns the folder read too.
pub fn load_28x28(data_dir: Option<&Path>) -> Result<(PathBuf, ImageSet, ImageSet)> {
    let dir = match data_dir {
        Some(d) => d.to_path_buf(),
        None => super::ensure_fashion_mnist(&super::cache_dir())?,
    };
    let train = load_split(&dir, Split::Train)?;
    let test = load_split(&dir, Split::Test)?;
    if (train.rows, train.cols) != (28, 28) || (test.rows, test.cols) != (28, 28) {
        bail!("{}: images are {}x{}, expected 28x28", dir.display(), train.rows, train.cols);
    }
    Ok((dir, train, test))
}
