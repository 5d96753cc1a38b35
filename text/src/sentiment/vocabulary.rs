//! Words of the sentiment models: the tokeniser, the lexicons that map
//! words and characters to indices, n-grams for the baseline, the prior
//! valences, and what a run folder saves to read new sentences
//! ([`SentimentVocabulary`]).

use anyhow::{bail, Result};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};

/// Lower-cased word tokens (letters, digits and apostrophes) and single punctuation marks.
pub fn tokenize(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut word = String::new();
    for c in text.chars().flat_map(char::to_lowercase) {
        if c.is_alphanumeric() || c == '\'' {
            word.push(c);
        } else {
            if !word.is_empty() {
                out.push(std::mem::take(&mut word));
            }
            if !c.is_whitespace() {
                out.push(c.to_string());
            }
        }
    }
    if !word.is_empty() {
        out.push(word);
    }
    out
}

/// Strings to indices, 0 for padding and 1 for the unknown one.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Lexicon {
    /// Entries by index (0: `<pad>`, 1: `<unk>`).
    pub entries: Vec<String>,
    #[serde(skip)]
    index: HashMap<String, i64>,
}

impl Lexicon {
    /// The entries seen at least `min_count` times in `items`, in sorted order.
    pub fn new<'a>(items: impl Iterator<Item = &'a str>, min_count: usize) -> Self {
        let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
        for w in items {
            *counts.entry(w).or_default() += 1;
        }
        let mut entries = vec!["<pad>".to_string(), "<unk>".to_string()];
        entries.extend(counts.into_iter().filter(|(_, n)| *n >= min_count).map(|(w, _)| w.to_string()));
        let index = entries.iter().enumerate().skip(2).map(|(i, w)| (w.clone(), i as i64)).collect();
        Self { entries, index }
    }

    /// The n-grams (up to length `n`) of `sentences` seen at least `min_count` times.
    pub fn of_ngrams(sentences: &[Vec<String>], n: usize, min_count: usize) -> Self {
        let grams: Vec<Vec<String>> = sentences.iter().map(|t| ngrams(t, n)).collect();
        Self::new(grams.iter().flatten().map(String::as_str), min_count)
    }

    /// A lexicon of these entries (index 0 padding, 1 unknown, as saved).
    pub fn from_entries(entries: Vec<String>) -> Result<Self> {
        if entries.len() < 2 || entries[0] != "<pad>" || entries[1] != "<unk>" {
            bail!("a lexicon starts with <pad> and <unk>");
        }
        let index = entries.iter().enumerate().skip(2).map(|(i, w)| (w.clone(), i as i64)).collect();
        Ok(Self { entries, index })
    }

    /// The index of `w` (1 when unknown).
    pub fn get(&self, w: &str) -> i64 {
        self.index.get(w).copied().unwrap_or(1)
    }

    /// The indices of the known n-grams (up to length `n`) of `tokens`, sorted
    /// and each once: the binary features of a bag of n-grams.
    pub fn ngram_ids(&self, tokens: &[String], n: usize) -> Vec<i64> {
        let mut ids: Vec<i64> = ngrams(tokens, n).iter().map(|g| self.get(g)).filter(|&i| i > 1).collect();
        ids.sort_unstable();
        ids.dedup();
        ids
    }

    /// The indices of the first `max` of `tokens` (1 for an unknown one).
    pub fn word_ids(&self, tokens: &[String], max: usize) -> Vec<i64> {
        tokens.iter().take(max).map(|w| self.get(w)).collect()
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Never: padding and unknown are always there.
    pub fn is_empty(&self) -> bool {
        false
    }
}

/// Prior valence of words (-4 to 4, as in VADER's lexicon).
pub type Valences = HashMap<String, f64>;

/// What a trained BiLSTM needs besides its weights to read new sentences
/// (a run folder's `vocabulary.json`): its words, its characters and the
/// prior valences it was given.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SentimentVocabulary {
    /// Words by index (0: `<pad>`, 1: `<unk>`).
    pub words: Vec<String>,
    /// Characters by index (0: `<pad>`, 1: `<unk>`).
    pub chars: Vec<String>,
    /// Prior valences by word (empty without `valence_features`).
    pub valences: BTreeMap<String, f64>,
}

/// The n-grams (joined by spaces) of a token list, up to length `n`.
pub fn ngrams(tokens: &[String], n: usize) -> Vec<String> {
    let mut out: Vec<String> = tokens.to_vec();
    for k in 2..=n {
        out.extend(tokens.windows(k).map(|w| w.join(" ")));
    }
    out
}

/// Rows of indices padded with 0 to the longest (at least 1): `[rows * width]`
/// ids and a 0/1 mask, row-major, with each row's length (an empty row counts 1).
#[derive(Debug, Clone, PartialEq)]
pub struct Padded {
    /// Indices, 0 after each row's end.
    pub ids: Vec<i64>,
    /// 1 where an index is a row's own, 0 at padding.
    pub mask: Vec<f32>,
    /// Each row's length, at least 1.
    pub lengths: Vec<usize>,
    /// The padded length.
    pub width: usize,
}

/// Pads `rows`; an empty row holds `empty` (its index and mask value) in its first place.
pub fn pad(rows: &[Vec<i64>], empty: (i64, f32)) -> Padded {
    let lengths: Vec<usize> = rows.iter().map(|f| f.len().max(1)).collect();
    let width = *lengths.iter().max().unwrap_or(&1);
    let (mut ids, mut mask) = (vec![0i64; rows.len() * width], vec![0f32; rows.len() * width]);
    for (b, row) in rows.iter().enumerate() {
        if row.is_empty() {
            (ids[b * width], mask[b * width]) = empty;
        }
        for (t, &id) in row.iter().enumerate() {
            ids[b * width + t] = id;
            mask[b * width + t] = 1.0;
        }
    }
    Padded { ids, mask, lengths, width }
}
