//! IDX reading (raw and gzipped), clear errors on corrupt files, and the real
//! Fashion-MNIST fetched into the cache.

use flate2::write::GzEncoder;
use nnlab_data::idx::encode_idx;
use nnlab_data::{cache_dir, ensure_fashion_mnist, load_split, read_idx, Split};
use std::io::Write;
use std::path::Path;

fn write_split(dir: &Path, prefix: &str, n: usize, gz: bool, labels: &[u8]) {
    let images: Vec<u8> = (0..n * 4 * 3).map(|i| (i % 251) as u8).collect();
    let files = [
        (format!("{prefix}-images-idx3-ubyte"), encode_idx(&[n, 4, 3], &images)),
        (format!("{prefix}-labels-idx1-ubyte"), encode_idx(&[labels.len()], labels)),
    ];
    for (name, bytes) in files {
        if gz {
            let mut e = GzEncoder::new(Vec::new(), flate2::Compression::default());
            e.write_all(&bytes).unwrap();
            std::fs::write(dir.join(format!("{name}.gz")), e.finish().unwrap()).unwrap();
        } else {
            std::fs::write(dir.join(name), bytes).unwrap();
        }
    }
}

#[test]
fn reads_raw_and_gzipped_splits() {
    let tmp = tempfile::tempdir().unwrap();
    write_split(tmp.path(), "train", 5, false, &[0, 1, 2, 3, 9]);
    write_split(tmp.path(), "t10k", 2, true, &[7, 8]);
    let train = load_split(tmp.path(), Split::Train).unwrap();
    assert_eq!((train.len, train.rows, train.cols), (5, 4, 3));
    assert_eq!(train.pixels[13], 13);
    assert_eq!(train.labels, vec![0, 1, 2, 3, 9]);
    let test = load_split(tmp.path(), Split::Test).unwrap();
    assert_eq!((test.len, test.labels.clone()), (2, vec![7, 8]));
}

#[test]
fn corrupt_files_give_clear_errors() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    // Missing files.
    let e = load_split(d, Split::Train).unwrap_err().to_string();
    assert!(e.contains("train-images-idx3-ubyte") && e.contains("--data-dir"), "{e}");
    // Wrong magic.
    std::fs::write(d.join("bad"), [1u8, 2, 3, 4, 5]).unwrap();
    assert!(read_idx(&d.join("bad")).unwrap_err().to_string().contains("not an IDX file"));
    // Truncated payload.
    let mut bytes = encode_idx(&[3, 2, 2], &[0; 12]);
    bytes.truncate(bytes.len() - 5);
    std::fs::write(d.join("short"), &bytes).unwrap();
    assert!(read_idx(&d.join("short")).unwrap_err().to_string().contains("truncated"));
    // Counts that disagree, and labels out of range.
    write_split(d, "train", 3, false, &[1, 2]);
    assert!(load_split(d, Split::Train).unwrap_err().to_string().contains("3 images but"));
    write_split(d, "train", 2, false, &[1, 12]);
    assert!(load_split(d, Split::Train).unwrap_err().to_string().contains("label 12"));
}

#[test]
fn fashion_mnist_is_fetched_and_checked() {
    let dir = ensure_fashion_mnist(&cache_dir()).expect("Fashion-MNIST fetched from Debian's package registry");
    let train = load_split(&dir, Split::Train).unwrap();
    let test = load_split(&dir, Split::Test).unwrap();
    assert_eq!((train.len, train.rows, train.cols), (60_000, 28, 28));
    assert_eq!(test.len, 10_000);
    // Ten balanced classes.
    for class in 0..10u8 {
        assert_eq!(train.labels.iter().filter(|&&l| l == class).count(), 6000);
    }
    // A second call is a checksum check only.
    assert_eq!(ensure_fashion_mnist(&cache_dir()).unwrap(), dir);
}
