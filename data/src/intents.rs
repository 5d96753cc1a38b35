//! The intent corpora committed under `data/corpora/` (compiled in, so the
//! binaries need no files at run time): **Banking77** (Casanueva et al.
//! 2020, CC BY 4.0) and **CLINC150** (Larson et al. 2019, CC BY 3.0), with
//! their splits. Banking77 has no validation split: every tenth training
//! query of each intent (in `train.csv`'s order) is held out, a stratified
//! 10% shared by every run (`data/corpora/README.md`).

use anyhow::{bail, Context, Result};
use std::collections::HashMap;

/// The corpora nnlab ships (`banking77`, `clinc150` in configs).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, serde::Serialize, serde::Deserialize, schemars::JsonSchema, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum IntentDataset {
    /// Banking77: 77 online-banking intents (Casanueva et al. 2020).
    #[default]
    Banking77,
    /// CLINC150: 150 intents over 10 domains, plus out-of-scope queries (Larson et al. 2019).
    Clinc150,
}

impl IntentDataset {
    /// The command-line spelling (`banking77`, `clinc150`).
    pub fn name(self) -> &'static str {
        match self {
            IntentDataset::Banking77 => "banking77",
            IntentDataset::Clinc150 => "clinc150",
        }
    }

    /// The corpus by its command-line spelling, or a one-line error.
    pub fn parse(name: &str) -> Result<Self> {
        match name {
            "banking77" => Ok(Self::Banking77),
            "clinc150" => Ok(Self::Clinc150),
            _ => bail!("unknown intent dataset {name:?}: banking77 or clinc150"),
        }
    }

    /// Loads the committed copy with its splits.
    pub fn load(self) -> Result<IntentCorpus> {
        match self {
            IntentDataset::Banking77 => parse_banking77(BANKING77_TRAIN, BANKING77_TEST, BANKING77_CATEGORIES),
            IntentDataset::Clinc150 => parse_clinc150(CLINC150_FULL),
        }
    }
}

/// One labelled query: its text and its intent's index.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Query {
    /// The customer's words, as written.
    pub text: String,
    /// Index into [`IntentCorpus::intents`].
    pub intent: usize,
}

/// An intent corpus: intent names and the in-scope splits; CLINC150 adds its
/// out-of-scope queries (empty for Banking77).
#[derive(Debug, Clone)]
pub struct IntentCorpus {
    /// `banking77` or `clinc150`.
    pub name: &'static str,
    /// Intent names, by index (sorted for CLINC150; `categories.json`'s order for Banking77).
    pub intents: Vec<String>,
    /// Training queries.
    pub train: Vec<Query>,
    /// Validation queries (Banking77: the held-out tenth of train).
    pub validation: Vec<Query>,
    /// Test queries.
    pub test: Vec<Query>,
    /// Out-of-scope training queries (CLINC150's `oos_train`).
    pub oos_train: Vec<String>,
    /// Out-of-scope validation queries (`oos_val`).
    pub oos_validation: Vec<String>,
    /// Out-of-scope test queries (`oos_test`).
    pub oos_test: Vec<String>,
}

const BANKING77_TRAIN: &str = include_str!("../corpora/banking77/train.csv");
const BANKING77_TEST: &str = include_str!("../corpora/banking77/test.csv");
const BANKING77_CATEGORIES: &str = include_str!("../corpora/banking77/categories.json");
const CLINC150_FULL: &str = include_str!("../corpora/clinc150/data_full.json");

/// `text,category` rows (RFC 4180 quoting, a header line) as queries.
fn parse_csv(text: &str, name: &str, index: &HashMap<&str, usize>) -> Result<Vec<Query>> {
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    let mut out = Vec::new();
    for (i, row) in reader.records().enumerate() {
        let row = row.with_context(|| format!("{name}: row {} is not valid CSV", i + 2))?;
        let (Some(text), Some(category)) = (row.get(0), row.get(1)) else { bail!("{name}: row {} needs text and category", i + 2) };
        let &intent = index.get(category).with_context(|| format!("{name}: row {}: unknown category {category:?}", i + 2))?;
        out.push(Query { text: text.to_string(), intent });
    }
    Ok(out)
}

/// Banking77 from its files: train (less the held-out tenth), validation, test.
pub fn parse_banking77(train: &str, test: &str, categories: &str) -> Result<IntentCorpus> {
    let intents: Vec<String> = serde_json::from_str(categories).context("banking77: categories.json is not a list of names")?;
    let index: HashMap<&str, usize> = intents.iter().enumerate().map(|(i, s)| (s.as_str(), i)).collect();
    let all = parse_csv(train, "banking77/train.csv", &index)?;
    let mut seen = vec![0usize; intents.len()];
    let (mut kept, mut validation) = (Vec::new(), Vec::new());
    for q in all {
        seen[q.intent] += 1;
        if seen[q.intent].is_multiple_of(10) {
            validation.push(q);
        } else {
            kept.push(q);
        }
    }
    let test = parse_csv(test, "banking77/test.csv", &index)?;
    Ok(IntentCorpus { name: "banking77", intents, train: kept, validation, test, oos_train: vec![], oos_validation: vec![], oos_test: vec![] })
}

/// CLINC150's `data_full.json`: in-scope splits and the out-of-scope ones.
pub fn parse_clinc150(json: &str) -> Result<IntentCorpus> {
    let data: HashMap<String, Vec<(String, String)>> = serde_json::from_str(json).context("clinc150: data_full.json is not the oos-eval layout")?;
    let split = |key: &str| data.get(key).with_context(|| format!("clinc150: data_full.json has no {key:?} split"));
    let mut intents: Vec<String> = split("train")?.iter().map(|(_, i)| i.clone()).collect();
    intents.sort();
    intents.dedup();
    let index: HashMap<&str, usize> = intents.iter().enumerate().map(|(i, s)| (s.as_str(), i)).collect();
    let queries = |key: &str| -> Result<Vec<Query>> {
        split(key)?
            .iter()
            .map(|(text, intent)| {
                let &intent = index.get(intent.as_str()).with_context(|| format!("clinc150: {key}: intent {intent:?} is not among train's"))?;
                Ok(Query { text: text.clone(), intent })
            })
            .collect()
    };
    let oos = |key: &str| -> Result<Vec<String>> { Ok(split(key)?.iter().map(|(t, _)| t.clone()).collect()) };
    Ok(IntentCorpus {
        name: "clinc150",
        train: queries("train")?,
        validation: queries("val")?,
        test: queries("test")?,
        oos_train: oos("oos_train")?,
        oos_validation: oos("oos_val")?,
        oos_test: oos("oos_test")?,
        intents,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn banking77_has_its_published_sizes_and_a_stratified_validation_tenth() {
        let c = IntentDataset::Banking77.load().unwrap();
        assert_eq!(c.intents.len(), 77);
        assert_eq!(c.train.len() + c.validation.len(), 10_003);
        assert_eq!(c.validation.len(), 965);
        assert_eq!(c.test.len(), 3_080);
        // Every intent is in every split, and a query with a comma inside quotes stays whole.
        for split in [&c.train, &c.validation, &c.test] {
            let mut seen = [false; 77];
            split.iter().for_each(|q| seen[q.intent] = true);
            assert!(seen.iter().all(|&s| s));
        }
        assert_eq!(c.train[0].text, "I am still waiting on my card?");
        assert_eq!(c.intents[c.train[0].intent], "card_arrival");
        assert!(c.oos_test.is_empty());
    }

    #[test]
    fn clinc150_has_its_published_sizes() {
        let c = IntentDataset::Clinc150.load().unwrap();
        assert_eq!(c.intents.len(), 150);
        assert_eq!((c.train.len(), c.validation.len(), c.test.len()), (15_000, 3_000, 4_500));
        assert_eq!((c.oos_train.len(), c.oos_validation.len(), c.oos_test.len()), (100, 100, 1_000));
        assert!(!c.intents.iter().any(|i| i == "oos"));
    }

    #[test]
    fn bad_files_give_one_line_errors() {
        let e = parse_banking77("text,category\nhello,nope\n", "", "[\"card_arrival\"]").unwrap_err();
        assert!(format!("{e:#}").contains("unknown category \"nope\"") && !format!("{e:#}").contains('\n'), "{e:#}");
        assert!(IntentDataset::parse("atis").unwrap_err().to_string().contains("banking77 or clinc150"));
        assert!(parse_clinc150("{}").is_err());
    }
}
