//! The real VADER sentences fetched from PyPI (`vaderSentiment==3.3.2`'s
//! source archive): the counts the sentiment targets were measured with.

use nnlab_data::{cache_dir, load_vader};

#[test]
fn vader_sentences_split_per_source() {
    let s = load_vader(&cache_dir()).expect("vaderSentiment's source archive fetched from PyPI");
    let all: Vec<_> = s.train.iter().chain(&s.validation).chain(&s.test).collect();
    // 23,703 rated sentences, 383 of them rated exactly 0.
    assert_eq!(all.len(), 23_703 - 383);
    // Per source (3,610, 10,568, 4,946 and 4,196 sentences), every fifth.
    assert_eq!(s.test.len(), 3610 / 5 + 10568 / 5 + 4946 / 5 + 4196 / 5);
    for source in ["tweets", "movie_reviews", "product_reviews", "news_editorials"] {
        assert!(s.test.iter().any(|x| x.source == source), "{source}");
    }
    let positive = all.iter().filter(|x| x.positive()).count() as f64 / all.len() as f64;
    assert!((0.4..0.7).contains(&positive), "{positive}");
}

#[test]
fn vader_lexicon_from_the_same_archive() {
    let v = nnlab_data::load_vader_lexicon(&cache_dir()).expect("vader_lexicon.txt in vaderSentiment's source archive");
    // 7,520 lines, 14 of them repeating a token (the later line wins, as in VADER).
    assert_eq!(v.len(), 7506);
    assert!(v["good"] > 1.0 && v["awful"] < -1.0, "{} {}", v["good"], v["awful"]);
    assert!(v.values().all(|x| (-4.0..=4.0).contains(x)));
}
