//! The customer-service assistant behind `assistant --run RUN_DIR`: a
//! trained `intent` run reads each query; a confident answer is the intent's
//! template (`experiments/assets/intents/<dataset>.toml`) with its slots
//! filled from the query (an amount, a currency, a card); a query below the
//! run's out-of-scope threshold (or answered "oos" by a trained oos class)
//! gets the fallback, with suggestions: the intents of the training queries
//! nearest to it by the cosine of the model's sentence embeddings.
//!
//! Input is read line by line from `--file`, or from standard input (with
//! a prompt when it is a terminal); `--json` writes one JSON object a line.
//! Bad lines (empty, longer than [`MAX_QUERY_CHARS`], not text) get a
//! one-line answer saying so; the session goes on.

use crate::intent::{answer, IntentSummary};
use crate::run_dir::{finished_model, read_run_json};
use anyhow::{bail, Context, Result};
use nnlab_data::IntentDataset;
use nnlab_text::intent::{tokenize, IntentClassifier, IntentConfig, IntentVocabulary};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::io::{BufRead, IsTerminal, Write};
use std::path::{Path, PathBuf};

/// The assistant's flags.
#[derive(Debug, Clone, clap::Parser)]
#[command(version, about = "Answer customer queries with a trained intent model: the intent's answer template, or a fallback with the nearest known intents")]
pub struct AssistantArgs {
    /// The folder of a finished `intent` run.
    #[arg(long, value_name = "RUN_DIR")]
    pub run: PathBuf,
    /// Answer the queries of FILE (one a line) instead of standard input.
    #[arg(long, value_name = "FILE")]
    pub file: Option<PathBuf>,
    /// One JSON object a line (query, intent, confidence, answer, suggestions) instead of text.
    #[arg(long)]
    pub json: bool,
    /// Answer "out of scope" below this confidence (default: the run's threshold chosen on CLINC150's validation data; 0.5 for Banking77, which has no out-of-scope data).
    #[arg(long, value_parser = unit_interval)]
    pub threshold: Option<f64>,
    /// Suggestions (distinct intents) in a fallback answer.
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u16).range(1..=20))]
    pub suggestions: u16,
}

/// A probability from the command line: a number in [0, 1].
fn unit_interval(s: &str) -> std::result::Result<f64, String> {
    match s.parse::<f64>() {
        Ok(x) if (0.0..=1.0).contains(&x) => Ok(x),
        _ => Err(format!("{s:?} is not a number from 0 to 1")),
    }
}

/// The longest query answered (characters); longer lines get a one-line refusal.
pub const MAX_QUERY_CHARS: usize = 1000;

/// The confidence threshold for a run without out-of-scope validation data.
pub const DEFAULT_THRESHOLD: f64 = 0.5;

/// A dataset's answer templates.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Templates {
    /// The answer to an out-of-scope or unreadable query.
    pub fallback: String,
    /// Default words for each slot a query does not fill.
    pub slots: BTreeMap<String, String>,
    /// The answer template of each intent.
    pub answers: BTreeMap<String, String>,
}

impl Templates {
    /// The shipped templates of `dataset`.
    pub fn of(dataset: IntentDataset) -> Result<Self> {
        let text = match dataset {
            IntentDataset::Banking77 => include_str!("../assets/intents/banking77.toml"),
            IntentDataset::Clinc150 => include_str!("../assets/intents/clinc150.toml"),
        };
        toml::from_str(text).with_context(|| format!("the {} answer templates do not parse", dataset.name()))
    }
}

/// A nearest known intent, offered when the query was not understood.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Suggestion {
    /// The intent.
    pub intent: String,
    /// Its training query nearest to the query.
    pub example: String,
    /// Cosine similarity of the two sentence embeddings.
    pub similarity: f32,
}

/// The assistant's reply to one line.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Reply {
    /// The query (cut to 80 characters when refused as too long).
    pub query: String,
    /// The intent answered, `oos` for out of scope, or none for a refused line.
    pub intent: Option<String>,
    /// The model's top probability (0 for a refused line).
    pub confidence: f32,
    /// What the assistant says.
    pub answer: String,
    /// Nearest known intents (fallback answers only).
    pub suggestions: Vec<Suggestion>,
}

/// A trained intent model with its templates and the training queries.
pub struct Assistant {
    model: IntentClassifier,
    intents: Vec<String>,
    templates: Templates,
    threshold: f64,
    suggestions: usize,
    /// The training queries, for suggestions.
    train: Vec<nnlab_data::Query>,
    /// Their unit-length sentence embeddings, computed at the first fallback
    /// (so that a session of confident answers starts at once).
    embedded: std::cell::OnceCell<Vec<Vec<f32>>>,
}

impl Assistant {
    /// Opens the finished `intent` run in `dir`.
    pub fn open(dir: &Path, threshold: Option<f64>, suggestions: usize) -> Result<Self> {
        let summary: IntentSummary = read_run_json(dir, "summary.json", "intent")?;
        let vocabulary: IntentVocabulary = read_run_json(dir, "vocabulary.json", "intent")?;
        let config: IntentConfig = crate::config::load(crate::config::Source::File(&dir.join("config.toml")), &[])?;
        let dataset = IntentDataset::parse(&summary.dataset)?;
        let corpus = dataset.load()?;
        if vocabulary.classes != corpus.intents.len() + usize::from(config.oos_class) {
            bail!("{}: the model has {} classes, but {} has {} intents", dir.display(), vocabulary.classes, corpus.name, corpus.intents.len());
        }
        let mut model = IntentClassifier::from_vocabulary(config, vocabulary, tch::Device::Cpu)?;
        model.load_weights(&finished_model(dir)?)?;
        let threshold = threshold.or(summary.oos.map(|o| o.threshold)).unwrap_or(DEFAULT_THRESHOLD);
        let templates = Templates::of(dataset)?;
        if let Some(missing) = corpus.intents.iter().find(|i| !templates.answers.contains_key(*i)) {
            bail!("the {} answer templates have no answer for {missing}", corpus.name);
        }
        Ok(Self { model, intents: corpus.intents, templates, threshold, suggestions, train: corpus.train, embedded: std::cell::OnceCell::new() })
    }

    /// The out-of-scope threshold in use.
    pub fn threshold(&self) -> f64 {
        self.threshold
    }

    /// Replies to `lines` (raw bytes, one query each, with the line's full
    /// length: a line read with [`read_line_capped`] may have been cut), in
    /// order; queries are read in batches of 256 as the trainer reads its test set.
    pub fn reply_all(&self, lines: &[(Vec<u8>, usize)]) -> Result<Vec<Reply>> {
        let mut replies: Vec<Option<Reply>> = Vec::with_capacity(lines.len());
        let mut readable: Vec<(usize, String, Vec<String>)> = Vec::new();
        for (i, (bytes, length)) in lines.iter().enumerate() {
            match self.read_query(bytes, *length) {
                Ok((text, tokens)) => {
                    readable.push((i, text, tokens));
                    replies.push(None);
                }
                Err(reply) => replies.push(Some(*reply)),
            }
        }
        for chunk in readable.chunks(256) {
            let tokens: Vec<Vec<String>> = chunk.iter().map(|(_, _, t)| t.clone()).collect();
            let p = self.model.predict(&tokens)?;
            for ((i, text, tokens), (probs, embedding)) in chunk.iter().zip(p.probabilities.iter().zip(p.embeddings)) {
                replies[*i] = Some(self.reply(text, tokens, probs, embedding)?);
            }
        }
        Ok(replies.into_iter().map(|r| r.expect("every line has a reply")).collect())
    }

    /// The query's text and words, or the reply refusing it.
    fn read_query(&self, bytes: &[u8], length: usize) -> std::result::Result<(String, Vec<String>), Box<Reply>> {
        let refuse = |query: String, answer: String| Box::new(Reply { query, intent: None, confidence: 0.0, answer, suggestions: vec![] });
        let cut = length > bytes.len();
        // A cut line may end inside a character: its valid head is enough to refuse it.
        let bytes = if cut { &bytes[..std::str::from_utf8(bytes).map_or_else(|e| e.valid_up_to(), str::len)] } else { bytes };
        let Ok(text) = std::str::from_utf8(bytes) else {
            return Err(refuse(String::new(), "I can only read text: that line is not UTF-8.".into()));
        };
        let text = text.trim();
        if text.chars().any(|c| c.is_control() && c != '\t') {
            return Err(refuse(String::new(), "I can only read text: that line has control characters.".into()));
        }
        let chars = text.chars().count();
        if cut || chars > MAX_QUERY_CHARS {
            let head: String = text.chars().take(80).collect();
            let size = if cut { format!("{length} bytes") } else { format!("{chars} characters") };
            return Err(refuse(head, format!("That message is too long ({size}); please ask in under {MAX_QUERY_CHARS} characters.")));
        }
        if text.is_empty() {
            return Err(refuse(String::new(), "Please type a question.".into()));
        }
        Ok((text.to_string(), tokenize(text)))
    }

    fn reply(&self, text: &str, tokens: &[String], probs: &[f32], embedding: Vec<f32>) -> Result<Reply> {
        let oos = self.intents.len();
        let (class, confidence) = answer(probs, self.threshold, oos);
        if class < oos {
            let name = &self.intents[class];
            let template = &self.templates.answers[name];
            return Ok(Reply {
                query: text.into(),
                intent: Some(name.clone()),
                confidence,
                answer: fill(template, &slots(text), &self.templates.slots),
                suggestions: vec![],
            });
        }
        // A query of words the model never saw reads as the unknown word alone: nothing is near it.
        let known_words = tokens.iter().any(|w| self.model.lexicon().get(w) > 1);
        let suggestions = if known_words { self.nearest(&unit(embedding))? } else { vec![] };
        let mut said = self.templates.fallback.clone();
        if !known_words {
            said += " I do not know any of those words.";
        } else if !suggestions.is_empty() {
            let names: Vec<String> = suggestions.iter().map(|s| s.intent.replace('_', " ")).collect();
            said += &format!(" Did you mean: {}?", names.join(", "));
        }
        Ok(Reply { query: text.into(), intent: Some("oos".into()), confidence, answer: said, suggestions })
    }

    /// Embeds the training queries now rather than at the first fallback.
    pub fn prepare(&self) -> Result<()> {
        self.embedded().map(|_| ())
    }

    /// The training queries' unit-length embeddings (computed once).
    fn embedded(&self) -> Result<&[Vec<f32>]> {
        if self.embedded.get().is_none() {
            let texts: Vec<Vec<String>> = self.train.iter().map(|q| tokenize(&q.text)).collect();
            let e = self.model.predict(&texts)?.embeddings.into_iter().map(unit).collect();
            let _ = self.embedded.set(e);
        }
        Ok(self.embedded.get().expect("just set"))
    }

    /// The nearest training queries of distinct intents, most similar first.
    fn nearest(&self, e: &[f32]) -> Result<Vec<Suggestion>> {
        let mut scored: Vec<(f32, usize)> = self.embedded()?.iter().enumerate().map(|(i, k)| (dot(e, k), i)).collect();
        scored.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
        let mut out: Vec<Suggestion> = Vec::new();
        for (similarity, i) in scored {
            let q = &self.train[i];
            if out.iter().all(|s| s.intent != self.intents[q.intent]) {
                out.push(Suggestion { intent: self.intents[q.intent].clone(), example: q.text.clone(), similarity });
                if out.len() == self.suggestions {
                    break;
                }
            }
        }
        Ok(out)
    }
}

/// The dot product, in eight running sums (so that it vectorises; the same
/// order on every CPU).
fn dot(a: &[f32], b: &[f32]) -> f32 {
    let mut lanes = [0f32; 8];
    let (ca, cb) = (a.chunks_exact(8), b.chunks_exact(8));
    let tail: f32 = ca.remainder().iter().zip(cb.remainder()).map(|(x, y)| x * y).sum();
    for (x, y) in ca.zip(cb) {
        for ((l, x), y) in lanes.iter_mut().zip(x).zip(y) {
            *l += x * y;
        }
    }
    lanes.iter().sum::<f32>() + tail
}

fn unit(mut v: Vec<f32>) -> Vec<f32> {
    let norm = dot(&v, &v).sqrt();
    if norm > 0.0 {
        v.iter_mut().for_each(|x| *x /= norm);
    }
    v
}

/// The slots a query fills: `amount`, `currency`, `card`.
pub fn slots(query: &str) -> BTreeMap<&'static str, String> {
    const CURRENCIES: &[(&[&str], &str)] = &[
        (&["$", "usd", "dollar", "dollars", "bucks"], "US dollars"),
        (&["€", "eur", "euro", "euros"], "euros"),
        (&["£", "gbp", "pound", "pounds", "sterling"], "pounds"),
        (&["¥", "jpy", "yen"], "yen"),
        (&["chf", "franc", "francs"], "Swiss francs"),
        (&["aud"], "Australian dollars"),
        (&["cad"], "Canadian dollars"),
    ];
    const CARDS: &[(&str, &str)] = &[
        ("visa", "your Visa card"),
        ("mastercard", "your Mastercard"),
        ("amex", "your American Express card"),
        ("credit", "your credit card"),
        ("debit", "your debit card"),
        ("virtual", "your virtual card"),
        ("disposable", "your disposable card"),
        ("physical", "your physical card"),
    ];
    let currency_of = |w: &str| CURRENCIES.iter().find(|(names, _)| names.contains(&w)).map(|(_, name)| *name);
    let words: Vec<String> = query.split_whitespace().map(|w| w.trim_matches(|c: char| ",.;:!?()\"'".contains(c)).to_lowercase()).collect();
    let mut out = BTreeMap::new();
    for (i, w) in words.iter().enumerate() {
        // "$50", "50€", "50 euros", "eur 20.50"
        let symbol = w.chars().next().filter(|c| "$€£¥".contains(*c)).or(w.chars().last().filter(|c| "$€£¥".contains(*c)));
        let digits = w.trim_matches(|c: char| "$€£¥".contains(c));
        let is_number = !digits.is_empty()
            && digits.chars().all(|c| c.is_ascii_digit() || c == '.' || c == ',')
            && digits.chars().next().is_some_and(|c| c.is_ascii_digit());
        if is_number && !out.contains_key("amount") {
            let after = words.get(i + 1).and_then(|n| currency_of(n));
            let before = i.checked_sub(1).and_then(|j| currency_of(&words[j]));
            if let Some(s) = symbol {
                out.insert("amount", format!("{s}{digits}"));
                out.entry("currency").or_insert_with(|| currency_of(&s.to_string()).unwrap_or_default().to_string());
            } else if let Some(c) = after.or(before) {
                out.insert("amount", format!("{digits} {c}"));
                out.entry("currency").or_insert_with(|| c.to_string());
            }
        } else if let Some(c) = currency_of(w) {
            out.entry("currency").or_insert_with(|| c.to_string());
        }
        if let Some((_, card)) = CARDS.iter().find(|(k, _)| k == w) {
            let next_is_card = words.get(i + 1).is_some_and(|n| n.starts_with("card"));
            if next_is_card || matches!(w.as_str(), "visa" | "mastercard" | "amex") {
                out.entry("card").or_insert_with(|| card.to_string());
            }
        }
    }
    out
}

/// `template` with `{slot}` replaced by the query's value or the default.
pub fn fill(template: &str, found: &BTreeMap<&'static str, String>, defaults: &BTreeMap<String, String>) -> String {
    let mut out = template.to_string();
    for (slot, default) in defaults {
        let value = found.get(slot.as_str()).unwrap_or(default);
        out = out.replace(&format!("{{{slot}}}"), value);
    }
    // A sentence that starts with a slot starts with a capital.
    let mut chars = out.chars();
    chars.next().map_or(out.clone(), |c| c.to_uppercase().collect::<String>() + chars.as_str())
}

/// Reads one line of at most `cap` bytes (the rest of a longer line is read
/// and dropped, so `/dev/zero` or a huge line cannot exhaust memory);
/// `None` at the end of input. The second value is the line's full length.
pub fn read_line_capped(reader: &mut impl BufRead, cap: usize) -> std::io::Result<Option<(Vec<u8>, usize)>> {
    let (mut line, mut total, mut any) = (Vec::new(), 0usize, false);
    loop {
        let buf = reader.fill_buf()?;
        if buf.is_empty() {
            return Ok(any.then_some((line, total)));
        }
        any = true;
        let (chunk, done) = match buf.iter().position(|&b| b == b'\n') {
            Some(i) => (&buf[..i], i + 1),
            None => (buf, buf.len()),
        };
        let room = cap.saturating_sub(line.len());
        line.extend_from_slice(&chunk[..chunk.len().min(room)]);
        total += chunk.len();
        let newline = done > chunk.len();
        reader.consume(done);
        if newline {
            return Ok(Some((line, total)));
        }
    }
}

/// The assistant's latency per query (`bench --intent`).
#[derive(Debug, Clone, Serialize)]
pub struct Latency {
    /// The run's model.
    pub model: String,
    /// Its dataset.
    pub dataset: String,
    /// Queries timed.
    pub queries: usize,
    /// Median milliseconds from the query's bytes to its JSON reply.
    pub median_ms: f64,
    /// 99th percentile (nearest rank).
    pub p99_ms: f64,
}

/// Times the assistant of run `dir` on one thread over the first `n` test
/// queries of its dataset, one query at a time (after 20 untimed ones, and
/// with the training queries already embedded for suggestions).
pub fn latency(dir: &Path, n: usize) -> Result<Latency> {
    tch::set_num_threads(1);
    let summary: IntentSummary = read_run_json(dir, "summary.json", "intent")?;
    let assistant = Assistant::open(dir, None, 3)?;
    assistant.prepare()?;
    let corpus = IntentDataset::parse(&summary.dataset)?.load()?;
    let queries: Vec<(Vec<u8>, usize)> = corpus.test.iter().take(n.max(1)).map(|q| (q.text.as_bytes().to_vec(), q.text.len())).collect();
    let mut times = Vec::with_capacity(queries.len());
    for (i, q) in queries.iter().cycle().take(queries.len() + 20).enumerate() {
        let start = std::time::Instant::now();
        let reply = assistant.reply_all(std::slice::from_ref(q))?;
        let json = serde_json::to_string(&reply[0])?;
        let secs = start.elapsed().as_secs_f64();
        std::hint::black_box(json);
        if i >= 20 {
            times.push(secs * 1e3);
        }
    }
    times.sort_by(f64::total_cmp);
    let rank = |q: f64| times[((q * times.len() as f64).ceil() as usize).clamp(1, times.len()) - 1];
    Ok(Latency { model: summary.model, dataset: summary.dataset, queries: times.len(), median_ms: rank(0.5), p99_ms: rank(0.99) })
}

/// Runs the `assistant` binary.
pub fn run() -> Result<()> {
    let args: AssistantArgs = clap::Parser::parse();
    tch::set_num_threads(1);
    let assistant = Assistant::open(&args.run, args.threshold, args.suggestions as usize)?;
    let print = |replies: &[Reply], out: &mut dyn Write| -> Result<()> {
        for r in replies {
            if args.json {
                writeln!(out, "{}", serde_json::to_string(r)?)?;
            } else {
                let intent = r.intent.as_deref().map_or("-".to_string(), |i| i.replace('_', " "));
                writeln!(out, "[{intent}, confidence {:.2}] {}", r.confidence, r.answer)?;
            }
        }
        out.flush()?;
        Ok(())
    };
    let cap = 4 * MAX_QUERY_CHARS + 64;
    let stdout = std::io::stdout();
    if let Some(path) = &args.file {
        let file = std::fs::File::open(path).with_context(|| format!("cannot read {}", path.display()))?;
        let mut reader = std::io::BufReader::new(file);
        let mut lines = Vec::new();
        while let Some(line) = read_line_capped(&mut reader, cap).with_context(|| format!("cannot read {}", path.display()))? {
            lines.push(line);
        }
        return print(&assistant.reply_all(&lines)?, &mut stdout.lock());
    }
    let stdin = std::io::stdin();
    let interactive = stdin.is_terminal();
    if interactive {
        eprintln!("nnlab assistant ({}): ask a question, Ctrl-D to leave.", args.run.display());
    }
    let mut reader = stdin.lock();
    loop {
        if interactive {
            eprint!("> ");
        }
        let Some(line) = read_line_capped(&mut reader, cap).context("cannot read standard input")? else { break };
        print(&assistant.reply_all(&[line])?, &mut stdout.lock())?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_come_from_the_query_and_defaults_fill_the_rest() {
        let s = slots("I sent $50 from my Visa yesterday");
        assert_eq!(s.get("amount").map(String::as_str), Some("$50"));
        assert_eq!(s.get("currency").map(String::as_str), Some("US dollars"));
        assert_eq!(s.get("card").map(String::as_str), Some("your Visa card"));
        let s = slots("can I exchange 20.50 euros, and is my credit card ok");
        assert_eq!(s.get("amount").map(String::as_str), Some("20.50 euros"));
        assert_eq!(s.get("card").map(String::as_str), Some("your credit card"));
        // A bare number is no amount of money ("2 weeks").
        assert!(!slots("my card has not come after 2 weeks").contains_key("amount"));
        let defaults: BTreeMap<String, String> =
            [("amount", "the amount"), ("card", "your card")].iter().map(|(a, b)| (a.to_string(), b.to_string())).collect();
        assert_eq!(fill("{card} is on its way with {amount}.", &slots("where is my debit card"), &defaults), "Your debit card is on its way with the amount.");
    }

    #[test]
    fn long_lines_are_capped_and_the_rest_dropped() {
        let mut input = std::io::Cursor::new([vec![b'a'; 10_000], b"\nnext\n".to_vec(), b"last".to_vec()].concat());
        let (first, total) = read_line_capped(&mut input, 100).unwrap().unwrap();
        assert_eq!((first.len(), total), (100, 10_000));
        assert_eq!(read_line_capped(&mut input, 100).unwrap().unwrap().0, b"next");
        assert_eq!(read_line_capped(&mut input, 100).unwrap().unwrap().0, b"last");
        assert!(read_line_capped(&mut input, 100).unwrap().is_none());
    }

    #[test]
    fn every_intent_of_both_datasets_has_an_answer() {
        for d in [IntentDataset::Banking77, IntentDataset::Clinc150] {
            let t = Templates::of(d).unwrap();
            let c = d.load().unwrap();
            assert!(c.intents.iter().all(|i| t.answers.contains_key(i)), "{}", d.name());
            assert_eq!(t.answers.len(), c.intents.len());
        }
    }
}
