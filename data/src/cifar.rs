//! The CIFAR-10 binary format (`cifar-10-batches-bin`): files of records of
//! one label byte (0-9) and 3,072 pixel bytes (1,024 red, 1,024 green, 1,024
//! blue, each 32x32 row-major). The training set is `data_batch_1.bin` to
//! `data_batch_5.bin` (those present, at least one), the test set
//! `test_batch.bin`.

use crate::ImageSet;
use anyhow::{bail, Context, Result};
use std::path::{Path, PathBuf};

/// Bytes of one record: the label and 3x32x32 pixels.
pub const RECORD_BYTES: usize = 1 + 3 * 32 * 32;

/// CIFAR-10's class names, by label.
pub const CIFAR10_CLASSES: [&str; 10] = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"];

const HOW: &str = "--data-dir must hold CIFAR-10's binary files (data_batch_1.bin ... data_batch_5.bin, test_batch.bin)";

/// Reads the records of CIFAR-10 binary files, in order, as one set.
pub fn read_cifar10(paths: &[PathBuf]) -> Result<ImageSet> {
    let (mut pixels, mut labels) = (Vec::new(), Vec::new());
    for path in paths {
        let bytes = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
        if bytes.is_empty() || bytes.len() % RECORD_BYTES != 0 {
            bail!(
                "{} holds {} bytes, not a whole number of CIFAR-10 records ({RECORD_BYTES} bytes each: 1 label, 3,072 pixels); truncated or not CIFAR-10's binary format",
                path.display(),
                bytes.len()
            );
        }
        for (i, record) in bytes.chunks_exact(RECORD_BYTES).enumerate() {
            if record[0] > 9 {
                bail!("{}: record {i} has label {}, outside 0-9", path.display(), record[0]);
            }
            labels.push(record[0]);
            pixels.extend_from_slice(&record[1..]);
        }
    }
    Ok(ImageSet { len: labels.len(), channels: 3, rows: 32, cols: 32, pixels, labels })
}

/// The training and test sets of the CIFAR-10 binary files in `dir`.
pub fn load_cifar10(dir: &Path) -> Result<(ImageSet, ImageSet)> {
    let train: Vec<PathBuf> = (1..=5).map(|k| dir.join(format!("data_batch_{k}.bin"))).filter(|p| p.exists()).collect();
    if train.is_empty() {
        bail!("{} has no data_batch_1.bin. {HOW}", dir.display());
    }
    let test = dir.join("test_batch.bin");
    if !test.exists() {
        bail!("{} has no test_batch.bin. {HOW}", dir.display());
    }
    Ok((read_cifar10(&train)?, read_cifar10(&[test])?))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(label: u8, value: u8) -> Vec<u8> {
        let mut r = vec![label];
        r.extend(std::iter::repeat_n(value, 3072));
        r
    }

    #[test]
    fn reads_records_channel_major_and_refuses_bad_files() {
        let dir = tempfile::tempdir().unwrap();
        let mut bytes = record(3, 7);
        bytes.extend(record(9, 200));
        std::fs::write(dir.path().join("data_batch_1.bin"), &bytes).unwrap();
        std::fs::write(dir.path().join("test_batch.bin"), record(0, 1)).unwrap();
        let (train, test) = load_cifar10(dir.path()).unwrap();
        assert_eq!((train.len, train.channels, train.rows, train.cols, test.len), (2, 3, 32, 32, 1));
        assert_eq!(train.labels, vec![3, 9]);
        assert_eq!((train.pixels[0], train.pixels[3072], train.pixels.len()), (7, 200, 6144));

        std::fs::write(dir.path().join("test_batch.bin"), &bytes[..3000]).unwrap();
        let err = load_cifar10(dir.path()).unwrap_err().to_string();
        assert!(err.contains("test_batch.bin") && err.contains("3000 bytes") && err.contains("3073"), "{err}");
        std::fs::write(dir.path().join("test_batch.bin"), record(10, 0)).unwrap();
        let err = load_cifar10(dir.path()).unwrap_err().to_string();
        assert!(err.contains("test_batch.bin") && err.contains("label 10"), "{err}");
        std::fs::remove_file(dir.path().join("data_batch_1.bin")).unwrap();
        let err = load_cifar10(dir.path()).unwrap_err().to_string();
        assert!(err.contains("no data_batch_1.bin"), "{err}");
    }
}
