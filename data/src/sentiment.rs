//! The sentiment corpus: VADER's human-rated sentences (Hutto and Gilbert,
//! ICWSM 2014) from the source archive of PyPI `vaderSentiment==3.3.2`
//! (`additional_resources/hutto_ICWSM_2014.tar.gz`, its four
//! `*_GroundTruth.txt` files: tweets, movie reviews, product reviews, news
//! editorials), fetched into the cache on first use with its SHA-256 checked.
//! A sentence is positive when its mean rating is above 0, negative below;
//! sentences rated exactly 0 are dropped. Per source, in file order, index
//! mod 5 = 4 is test, = 3 validation.

use crate::fetch::pypi_file;
use anyhow::{bail, Context, Result};
use std::collections::BTreeMap;
use std::io::Read;
use std::path::Path;

/// The source archive of `vaderSentiment==3.3.2` and its SHA-256.
pub const VADER_SDIST: (&str, &str) = ("vaderSentiment-3.3.2.tar.gz", "5d7c06e027fc8b99238edb0d53d970cf97066ef97654009890b83703849632f9");

/// The four ground-truth files and the names nnlab reports them by.
pub const VADER_SOURCES: [(&str, &str); 4] = [
    ("amazonReviewSnippets_GroundTruth.txt", "product_reviews"),
    ("movieReviewSnippets_GroundTruth.txt", "movie_reviews"),
    ("nytEditorialSnippets_GroundTruth.txt", "news_editorials"),
    ("tweets_GroundTruth.txt", "tweets"),
];

/// One rated sentence.
#[derive(Debug, Clone, PartialEq)]
pub struct RatedSentence {
    /// `tweets`, `movie_reviews`, `product_reviews` or `news_editorials`.
    pub source: &'static str,
    /// The sentence.
    pub text: String,
    /// The mean human rating, -4 to 4.
    pub rating: f64,
}

impl RatedSentence {
    /// Positive (rating above 0).
    pub fn positive(&self) -> bool {
        self.rating > 0.0
    }
}

/// Sentences split into training, validation and test sets.
#[derive(Debug, Clone, PartialEq)]
pub struct SentimentSplits {
    /// Where they came from.
    pub source: String,
    /// Training sentences.
    pub train: Vec<RatedSentence>,
    /// Validation sentences (model selection).
    pub validation: Vec<RatedSentence>,
    /// Test sentences.
    pub test: Vec<RatedSentence>,
}

/// `id TAB rating TAB text` lines of one ground-truth file (sentences rated 0 dropped).
pub fn parse_ground_truth(text: &str, name: &str, source: &'static str) -> Result<Vec<RatedSentence>> {
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.trim_end_matches('\r');
        if line.trim().is_empty() {
            continue;
        }
        let mut fields = line.splitn(3, '\t');
        let (Some(_id), Some(rating), Some(sentence)) = (fields.next(), fields.next(), fields.next()) else {
            bail!("{name}:{}: expected id, rating and text separated by tabs", i + 1)
        };
        let rating: f64 = rating
            .trim()
            .parse()
            .ok()
            .filter(|r: &f64| r.is_finite())
            .ok_or_else(|| anyhow::anyhow!("{name}:{}: rating {rating:?} is not a finite number", i + 1))?;
        if rating != 0.0 {
            out.push(RatedSentence { source, text: sentence.trim().to_string(), rating });
        }
    }
    Ok(out)
}

/// One file of the `vaderSentiment==3.3.2` source archive (fetched into
/// `<cache>/downloads` on first use): the archive's path and the file's bytes.
fn vader_file(cache: &Path, suffix: &str) -> Result<(std::path::PathBuf, Vec<u8>)> {
    let (file, sum) = VADER_SDIST;
    let sdist = pypi_file(cache, "vaderSentiment", "3.3.2", file, sum, true)?;
    let bad = |e: std::io::Error| anyhow::anyhow!("{}: not a readable source archive ({e})", sdist.display());
    let open = std::fs::File::open(&sdist).with_context(|| format!("cannot open {}", sdist.display()))?;
    let mut outer = tar::Archive::new(flate2::read::GzDecoder::new(open));
    for entry in outer.entries().map_err(bad)? {
        let mut entry = entry.map_err(bad)?;
        if entry.path().map_err(bad)?.ends_with(suffix) {
            let mut bytes = Vec::new();
            entry.read_to_end(&mut bytes).map_err(bad)?;
            return Ok((sdist, bytes));
        }
    }
    bail!("{}: no {suffix}", sdist.display())
}

/// VADER's word lexicon (`vaderSentiment/vader_lexicon.txt`: 7,506 tokens,
/// each with the mean of ten human valence ratings, -4 to 4), fetched into
/// the cache on first use.
pub fn load_vader_lexicon(cache: &Path) -> Result<BTreeMap<String, f64>> {
    let (sdist, bytes) = vader_file(cache, "vaderSentiment/vader_lexicon.txt")?;
    let text = String::from_utf8(bytes).map_err(|_| anyhow::anyhow!("{}: vader_lexicon.txt is not UTF-8 text", sdist.display()))?;
    parse_valence_lexicon(&text, "vader_lexicon.txt")
}

/// `token TAB mean TAB ...` lines: each token's mean valence.
pub fn parse_valence_lexicon(text: &str, name: &str) -> Result<BTreeMap<String, f64>> {
    let mut out = BTreeMap::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.trim_end_matches('\r');
        if line.trim().is_empty() {
            continue;
        }
        let mut fields = line.split('\t');
        let (Some(token), Some(mean)) = (fields.next(), fields.next()) else {
            bail!("{name}:{}: expected a token and its mean valence separated by a tab", i + 1)
        };
        let mean: f64 = mean
            .trim()
            .parse()
            .ok()
            .filter(|m: &f64| m.is_finite())
            .ok_or_else(|| anyhow::anyhow!("{name}:{}: valence {mean:?} is not a finite number", i + 1))?;
        out.insert(token.to_string(), mean);
    }
    if out.is_empty() {
        bail!("{name}: no entries");
    }
    Ok(out)
}

/// The VADER sentences, fetched into `<cache>/downloads` on first use.
pub fn load_vader(cache: &Path) -> Result<SentimentSplits> {
    let (sdist, inner_bytes) = vader_file(cache, "additional_resources/hutto_ICWSM_2014.tar.gz")?;
    let bad = |e: std::io::Error| anyhow::anyhow!("{}: not a readable source archive ({e})", sdist.display());
    let mut inner = tar::Archive::new(flate2::read::GzDecoder::new(inner_bytes.as_slice()));
    let mut texts: Vec<Option<String>> = vec![None; VADER_SOURCES.len()];
    for entry in inner.entries().map_err(bad)? {
        let mut entry = entry.map_err(bad)?;
        let path = entry.path().map_err(bad)?.to_string_lossy().into_owned();
        if let Some(k) = VADER_SOURCES.iter().position(|(f, _)| path.ends_with(f)) {
            let mut text = String::new();
            entry.read_to_string(&mut text).with_context(|| format!("{}: {path} is not UTF-8 text", sdist.display()))?;
            texts[k] = Some(text);
        }
    }
    let (mut train, mut validation, mut test) = (Vec::new(), Vec::new(), Vec::new());
    for ((file, source), text) in VADER_SOURCES.iter().zip(texts) {
        let Some(text) = text else { bail!("{}: hutto_ICWSM_2014.tar.gz has no {file}", sdist.display()) };
        for (i, s) in parse_ground_truth(&text, file, source)?.into_iter().enumerate() {
            match i % 5 {
                4 => test.push(s),
                3 => validation.push(s),
                _ => train.push(s),
            }
        }
    }
    Ok(SentimentSplits { source: sdist.display().to_string(), train, validation, test })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ground_truth_lines_drop_neutral_sentences_and_name_bad_lines() {
        let s = parse_ground_truth("1\t2.5\tGreat\tfun!\r\n2\t0\tmeh\n3\t-1.2\tbad\n", "t.txt", "tweets").unwrap();
        assert_eq!(s.len(), 2);
        assert_eq!((s[0].text.as_str(), s[0].positive()), ("Great\tfun!", true));
        assert!(!s[1].positive());
        let err = parse_ground_truth("1\tx\ttext\n", "t.txt", "tweets").unwrap_err().to_string();
        assert!(err.contains("t.txt:1") && err.contains("not a finite number"), "{err}");
        for bad in ["nan", "inf", "-infinity"] {
            let err = parse_ground_truth(&format!("1\t{bad}\ttext\n"), "t.txt", "tweets").unwrap_err().to_string();
            assert!(err.contains("not a finite number"), "{bad}: {err}");
        }
        assert!(parse_ground_truth("1 2 3\n", "t.txt", "tweets").unwrap_err().to_string().contains("t.txt:1"));
    }

    #[test]
    fn valence_lexicon_lines() {
        let v = parse_valence_lexicon("good\t1.9\t0.9\t[2, 2]\r\n:(\t-1.9\t0.5\t[-2]\n", "l.txt").unwrap();
        assert_eq!((v["good"], v[":("]), (1.9, -1.9));
        assert!(parse_valence_lexicon("good 1.9\n", "l.txt").unwrap_err().to_string().contains("l.txt:1"));
        assert!(parse_valence_lexicon("good\tx\n", "l.txt").unwrap_err().to_string().contains("not a finite number"));
    }
}
