//! Sequence labelling with a BiLSTM (Huang et al. 2015; Lample et al. 2016;
//! Ma and Hovy 2016): trained word embeddings, optional character features
//! (a convolution over each word's characters, max-pooled), a bidirectional
//! LSTM, and a softmax or CRF output. [`TaggerConfig`] holds every knob;
//! [`Tagger`] trains on length-bucketed batches with one seeded generator.

use crate::crf::Crf;
use crate::models::BiLstm;
use anyhow::{bail, Result};
use nnlab_data::TaggedSentence;
use nnlab_torch::check::{in_range, non_negative, nonzero, positive};
use nnlab_torch::optim::{Adam, Optimizer, Rule};
use nnlab_torch::state::TrainState;
use nnlab_torch::with_torch_seed;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};
use tch::nn::{self, Module};
use tch::{Device, Kind, Reduction, Tensor};

/// The output layer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum TagOutput {
    /// An independent softmax per token.
    Softmax,
    /// A linear-chain CRF over the sentence, decoded with Viterbi.
    Crf,
}

/// Every knob of a tagger run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct TaggerConfig {
    /// Seed of the initialisation, batch order and dropout.
    pub seed: u64,
    /// Passes over the training sentences.
    pub epochs: usize,
    /// Sentences per optimisation step.
    pub batch_size: usize,
    /// Adam's learning rate.
    pub learning_rate: f64,
    /// L2 penalty.
    #[schemars(range(min = 0.0))]
    pub weight_decay: f64,
    /// Clip the gradients' joint L2 norm to this (0: no clipping).
    #[schemars(range(min = 0.0))]
    pub grad_clip: f64,
    /// Size of the word embeddings (trained from scratch).
    pub word_embedding: usize,
    /// Training words seen fewer times than this share the unknown word's embedding.
    pub min_word_count: usize,
    /// Look words up in lower case (the character features keep the case).
    pub lowercase_words: bool,
    /// Character features: a convolution (width 3) over each word's characters, max-pooled.
    pub char_features: bool,
    /// Size of the character embeddings.
    pub char_embedding: usize,
    /// Filters of the character convolution.
    pub char_filters: usize,
    /// Characters kept per word (longer words are cut).
    pub max_word_chars: usize,
    /// LSTM units per direction.
    pub hidden: usize,
    /// BiLSTM layers.
    pub layers: usize,
    /// Dropout on the embeddings and on the BiLSTM's output.
    #[schemars(range(min = 0.0, max = 1.0))]
    pub dropout: f64,
    /// `softmax` or `crf`.
    pub output: TagOutput,
    /// Sentences per forward pass when evaluating.
    pub eval_batch_size: usize,
}

nnlab_torch::run_config!(TaggerConfig);

impl Default for TaggerConfig {
    fn default() -> Self {
        Self {
            seed: 1,
            epochs: 5,
            batch_size: 32,
            learning_rate: 2e-3,
            weight_decay: 0.0,
            grad_clip: 5.0,
            word_embedding: 100,
            min_word_count: 2,
            lowercase_words: true,
            char_features: true,
            char_embedding: 25,
            char_filters: 50,
            max_word_chars: 20,
            hidden: 128,
            layers: 1,
            dropout: 0.5,
            output: TagOutput::Softmax,
            eval_batch_size: 256,
        }
    }
}

impl TaggerConfig {
    /// Typed checks, one-line errors naming the key.
    pub fn validate(&self) -> Result<()> {
        nonzero("epochs", self.epochs)?;
        nonzero("batch_size", self.batch_size)?;
        positive("learning_rate", self.learning_rate)?;
        non_negative("weight_decay", self.weight_decay)?;
        non_negative("grad_clip", self.grad_clip)?;
        nonzero("word_embedding", self.word_embedding)?;
        nonzero("min_word_count", self.min_word_count)?;
        nonzero("hidden", self.hidden)?;
        nonzero("layers", self.layers)?;
        nonzero("eval_batch_size", self.eval_batch_size)?;
        in_range("dropout", self.dropout, 0.0, 1.0)?;
        if self.char_features {
            nonzero("char_embedding", self.char_embedding)?;
            nonzero("char_filters", self.char_filters)?;
            nonzero("max_word_chars", self.max_word_chars)?;
        }
        // The BiLSTM's weights (before any run folder is made, not in torch's allocator).
        let (h, l) = (self.hidden as u128, self.layers as u128);
        let input = (self.word_embedding as u128).saturating_add(if self.char_features { self.char_filters as u128 } else { 0 }).max(h.saturating_mul(2));
        let params = l.saturating_mul(8).saturating_mul(h).saturating_mul(input.saturating_add(h).saturating_add(2));
        nnlab_torch::check::network_fits("hidden", params)?;
        // One batch's f32 activations at 100 tokens a sentence.
        let activations = (self.batch_size as u128).saturating_mul(100).saturating_mul(l).saturating_mul(h).saturating_mul(16).saturating_mul(4);
        nnlab_torch::check::fits_in_memory(&format!("hidden = {} with batch_size = {} (one batch's activations)", self.hidden, self.batch_size), activations)
    }
}

/// Index 0 pads, index 1 is the unknown symbol.
const PAD: i64 = 0;
const UNK: i64 = 1;

/// The words, characters and tags a tagger knows, from its training sentences.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TaggerVocabulary {
    /// Words by index (0: padding, 1: unknown).
    pub words: Vec<String>,
    /// Characters by index (0: padding, 1: unknown).
    pub chars: Vec<char>,
    /// Tags by index, sorted.
    pub tags: Vec<String>,
    /// Words looked up in lower case.
    pub lowercase: bool,
    #[serde(skip)]
    word_index: HashMap<String, i64>,
    #[serde(skip)]
    char_index: HashMap<char, i64>,
    #[serde(skip)]
    tag_index: HashMap<String, i64>,
}

impl TaggerVocabulary {
    /// The vocabulary of `train` (words seen at least `min_count` times) with the tags of all `tag_sets`.
    pub fn new(train: &[TaggedSentence], min_count: usize, lowercase: bool, tag_sets: &[&[TaggedSentence]]) -> Self {
        let key = |w: &str| if lowercase { w.to_lowercase() } else { w.to_string() };
        let mut counts: BTreeMap<String, usize> = BTreeMap::new();
        let mut chars: BTreeMap<char, ()> = BTreeMap::new();
        for s in train {
            for w in &s.tokens {
                *counts.entry(key(w)).or_default() += 1;
                chars.extend(w.chars().map(|c| (c, ())));
            }
        }
        let mut words = vec!["<pad>".to_string(), "<unk>".to_string()];
        words.extend(counts.into_iter().filter(|(_, n)| *n >= min_count).map(|(w, _)| w));
        let mut all_chars = vec!['\0', '\u{fffd}'];
        all_chars.extend(chars.into_keys());
        let mut tags: Vec<String> = tag_sets.iter().flat_map(|set| set.iter().flat_map(|s| s.tags.iter().cloned())).collect();
        tags.sort();
        tags.dedup();
        let mut v = Self { words, chars: all_chars, tags, lowercase, word_index: HashMap::new(), char_index: HashMap::new(), tag_index: HashMap::new() };
        v.index();
        v
    }

    /// Rebuilds the lookup tables (after deserialising).
    pub fn index(&mut self) {
        self.word_index = self.words.iter().enumerate().skip(2).map(|(i, w)| (w.clone(), i as i64)).collect();
        self.char_index = self.chars.iter().enumerate().skip(2).map(|(i, &c)| (c, i as i64)).collect();
        self.tag_index = self.tags.iter().enumerate().map(|(i, t)| (t.clone(), i as i64)).collect();
    }

    fn word(&self, w: &str) -> i64 {
        let w = if self.lowercase { std::borrow::Cow::Owned(w.to_lowercase()) } else { std::borrow::Cow::Borrowed(w) };
        self.word_index.get(w.as_ref()).copied().unwrap_or(UNK)
    }

    /// The index of `tag`.
    pub fn tag(&self, tag: &str) -> Option<i64> {
        self.tag_index.get(tag).copied()
    }
}

/// A padded batch of sentences.
struct Batch {
    words: Tensor,
    chars: Option<Tensor>,
    mask: Tensor,
    tags: Tensor,
    /// Sentence lengths.
    lengths: Vec<usize>,
}

/// The network: embeddings, BiLSTM layers, tag scores, optional CRF.
#[derive(Debug)]
struct Network {
    words: nn::Embedding,
    chars: Option<(nn::Embedding, nn::Conv1D)>,
    bilstm: BiLstm,
    scores: nn::Linear,
    crf: Option<Crf>,
    dropout: f64,
}

impl Network {
    fn new(p: &nn::Path, c: &TaggerConfig, vocab: &TaggerVocabulary) -> Self {
        let words = nn::embedding(p / "words", vocab.words.len() as i64, c.word_embedding as i64, Default::default());
        let chars = c.char_features.then(|| {
            let emb = nn::embedding(p / "chars", vocab.chars.len() as i64, c.char_embedding as i64, Default::default());
            let conv = nn::conv1d(p / "char_conv", c.char_embedding as i64, c.char_filters as i64, 3, nn::ConvConfig { padding: 1, ..Default::default() });
            (emb, conv)
        });
        let input = (c.word_embedding + if c.char_features { c.char_filters } else { 0 }) as i64;
        let h = c.hidden as i64;
        let bilstm = BiLstm::new(p, input, h, c.layers);
        let tags = vocab.tags.len() as i64;
        let scores = nn::linear(p / "scores", 2 * h, tags, Default::default());
        let crf = (c.output == TagOutput::Crf).then(|| Crf::new(&(p / "crf"), tags));
        Self { words, chars, bilstm, scores, crf, dropout: c.dropout }
    }

    /// Tag scores `[B, T, K]`.
    fn emissions(&self, b: &Batch, train: bool) -> Tensor {
        let mut x = self.words.forward(&b.words);
        if let (Some((emb, conv)), Some(chars)) = (&self.chars, &b.chars) {
            let (batch, time, width) = chars.size3().expect("chars are [B, T, C]");
            let e = emb.forward(&chars.view([batch * time, width])).transpose(1, 2); // [B*T, E, C]
            let features = conv.forward(&e).amax([2], false).view([batch, time, -1]);
            x = Tensor::cat(&[x, features], 2);
        }
        let h = self.bilstm.forward(&x.dropout(self.dropout, train), &b.lengths, train);
        self.scores.forward(&h.dropout(self.dropout, train))
    }
}

/// A tagger with its optimiser and random state.
pub struct Tagger {
    config: TaggerConfig,
    vocab: TaggerVocabulary,
    vs: nn::VarStore,
    net: Network,
    optimizer: Optimizer,
    rng: ChaCha8Rng,
    device: Device,
}

impl Tagger {
    /// Its config.
    pub fn config(&self) -> &TaggerConfig {
        &self.config
    }

    /// A fresh tagger for `vocab`, initialised under the seed.
    pub fn new(config: TaggerConfig, vocab: TaggerVocabulary, device: Device) -> Result<Self> {
        config.validate()?;
        if vocab.tags.is_empty() {
            bail!("no tags to learn");
        }
        let vs = nn::VarStore::new(device);
        let net = with_torch_seed(config.seed, || Network::new(&vs.root(), &config, &vocab));
        let rule = Rule::Adam(Adam { weight_decay: config.weight_decay, ..Default::default() });
        let optimizer = Optimizer::new(&vs, rule, config.learning_rate)?;
        let rng = ChaCha8Rng::seed_from_u64(config.seed);
        Ok(Self { config, vocab, vs, net, optimizer, rng, device })
    }

    /// The vocabulary.
    pub fn vocabulary(&self) -> &TaggerVocabulary {
        &self.vocab
    }

    /// The network's variables.
    pub fn var_store(&self) -> &nn::VarStore {
        &self.vs
    }

    /// Trainable parameters.
    pub fn parameters(&self) -> i64 {
        self.vs.trainable_variables().iter().map(|t| t.numel() as i64).sum()
    }

    fn batch(&self, sentences: &[&TaggedSentence]) -> Batch {
        let lengths: Vec<usize> = sentences.iter().map(|s| s.tokens.len()).collect();
        let time = *lengths.iter().max().unwrap_or(&1);
        let n = sentences.len();
        let mut words = vec![PAD; n * time];
        let mut tags = vec![-100i64; n * time];
        let mut mask = vec![false; n * time];
        let width = self.config.max_word_chars;
        let mut chars = if self.config.char_features { vec![PAD; n * time * width] } else { Vec::new() };
        for (b, s) in sentences.iter().enumerate() {
            for (t, (w, tag)) in s.tokens.iter().zip(&s.tags).enumerate() {
                let at = b * time + t;
                words[at] = self.vocab.word(w);
                tags[at] = self.vocab.tag(tag).unwrap_or(-100);
                mask[at] = true;
                if self.config.char_features {
                    for (k, c) in w.chars().take(width).enumerate() {
                        chars[at * width + k] = self.vocab.char_index.get(&c).copied().unwrap_or(UNK);
                    }
                }
            }
        }
        let shape = [n as i64, time as i64];
        let d = self.device;
        Batch {
            words: Tensor::from_slice(&words).view(shape).to_device(d),
            chars: self.config.char_features.then(|| Tensor::from_slice(&chars).view([n as i64, time as i64, width as i64]).to_device(d)),
            mask: Tensor::from_slice(&mask).view(shape).to_device(d),
            tags: Tensor::from_slice(&tags).view(shape).to_device(d),
            lengths,
        }
    }

    /// Batches of `train` for one epoch: shuffled, then sorted by length
    /// within pools of 50 batches (less padding), then the batches shuffled.
    fn epoch_batches(&mut self, train: &[TaggedSentence]) -> Vec<Vec<usize>> {
        let mut order: Vec<usize> = (0..train.len()).collect();
        order.shuffle(&mut self.rng);
        let size = self.config.batch_size;
        let mut batches: Vec<Vec<usize>> = Vec::new();
        for pool in order.chunks(size * 50) {
            let mut pool = pool.to_vec();
            pool.sort_by_key(|&i| train[i].tokens.len());
            batches.extend(pool.chunks(size).map(<[usize]>::to_vec));
        }
        batches.shuffle(&mut self.rng);
        batches
    }

    /// One epoch; returns the mean training loss per batch (per token for
    /// softmax, per sentence for the CRF).
    pub fn train_epoch(&mut self, train: &[TaggedSentence]) -> Result<f64> {
        let batches = self.epoch_batches(train);
        tch::manual_seed(self.rng.random::<u32>() as i64); // this epoch's dropout masks
        let mut total = Tensor::zeros([], (Kind::Double, self.device));
        for idx in &batches {
            let sentences: Vec<&TaggedSentence> = idx.iter().map(|&i| &train[i]).collect();
            let b = self.batch(&sentences);
            let emissions = self.net.emissions(&b, true);
            let loss = match &self.net.crf {
                Some(crf) => crf.neg_log_likelihood(&emissions, &b.tags, &b.mask),
                None => {
                    let k = emissions.size()[2];
                    emissions.view([-1, k]).cross_entropy_loss::<Tensor>(&b.tags.view([-1]), None, Reduction::Mean, -100, 0.0)
                }
            };
            self.optimizer.zero_grad();
            loss.backward();
            if self.config.grad_clip > 0.0 {
                self.optimizer.clip_grad_norm(self.config.grad_clip);
            }
            self.optimizer.step();
            total += loss.detach().to_kind(Kind::Double);
        }
        Ok(f64::try_from(total)? / batches.len().max(1) as f64)
    }

    /// The predicted tags of every sentence (evaluation mode).
    pub fn predict(&self, sentences: &[TaggedSentence]) -> Result<Vec<Vec<String>>> {
        let _guard = tch::no_grad_guard();
        let mut out = Vec::with_capacity(sentences.len());
        for chunk in sentences.chunks(self.config.eval_batch_size) {
            let refs: Vec<&TaggedSentence> = chunk.iter().collect();
            let b = self.batch(&refs);
            let emissions = self.net.emissions(&b, false);
            let paths: Vec<Vec<i64>> = match &self.net.crf {
                Some(crf) => crf.viterbi(&emissions, &b.mask),
                None => {
                    let best = Vec::<i64>::try_from(emissions.argmax(2, false).flatten(0, -1).to_device(Device::Cpu))?;
                    let time = emissions.size()[1] as usize;
                    b.lengths.iter().enumerate().map(|(i, &len)| best[i * time..i * time + len].to_vec()).collect()
                }
            };
            out.extend(paths.into_iter().map(|p| p.into_iter().map(|k| self.vocab.tags[k as usize].clone()).collect()));
        }
        Ok(out)
    }

    /// Loads the weights of a finished run (`model.safetensors`).
    pub fn load_weights(&mut self, path: &std::path::Path) -> Result<()> {
        nnlab_torch::weights::load(&mut self.vs, path)
    }

    /// A copy of the variables (for keeping the best model).
    pub fn snapshot(&self) -> nnlab_torch::Snapshot {
        nnlab_torch::snapshot(&self.vs)
    }

    /// Puts back variables from [`Tagger::snapshot`].
    pub fn restore_snapshot(&mut self, snapshot: &[(String, Tensor)]) -> Result<()> {
        nnlab_torch::restore_snapshot(&self.vs, snapshot)
    }

    /// The state a checkpoint needs: weights, optimiser, generator.
    pub fn train_state(&self) -> Result<TrainState> {
        nnlab_torch::optim::trainer_state(&self.vs, &self.optimizer, &self.rng)
    }

    /// Restores what [`Tagger::train_state`] saved.
    pub fn restore_train_state(&mut self, s: &TrainState) -> Result<()> {
        self.rng = nnlab_torch::optim::restore_trainer_state(s, &self.vs, &mut self.optimizer)?;
        Ok(())
    }
}

/// The most frequent training tag of each (lower-cased as configured) word,
/// and the most frequent tag overall for unseen words: the majority baseline.
pub fn majority_baseline(train: &[TaggedSentence], lowercase: bool, sentences: &[TaggedSentence]) -> Vec<Vec<String>> {
    let key = |w: &str| if lowercase { w.to_lowercase() } else { w.to_string() };
    let mut per_word: HashMap<String, BTreeMap<&str, usize>> = HashMap::new();
    let mut overall: BTreeMap<&str, usize> = BTreeMap::new();
    for s in train {
        for (w, t) in s.tokens.iter().zip(&s.tags) {
            *per_word.entry(key(w)).or_default().entry(t).or_default() += 1;
            *overall.entry(t).or_default() += 1;
        }
    }
    // Most frequent, ties to the first tag in sorted order.
    let best = |m: &BTreeMap<&str, usize>| m.iter().fold(("", 0), |acc, (t, &n)| if n > acc.1 { (t, n) } else { acc }).0.to_string();
    let fallback = best(&overall);
    let lookup: HashMap<&String, String> = per_word.iter().map(|(w, m)| (w, best(m))).collect();
    sentences.iter().map(|s| s.tokens.iter().map(|w| lookup.get(&key(w)).cloned().unwrap_or_else(|| fallback.clone())).collect()).collect()
}

/// Fraction of tokens whose predicted tag equals the gold tag.
pub fn token_accuracy(gold: &[TaggedSentence], predicted: &[Vec<String>]) -> f64 {
    let (mut right, mut total) = (0usize, 0usize);
    for (g, p) in gold.iter().zip(predicted) {
        right += g.tags.iter().zip(p).filter(|(a, b)| a == b).count();
        total += g.tags.len();
    }
    right as f64 / total.max(1) as f64
}

/// Whether tags follow the BIO scheme (every tag `O`, `B-X` or `I-X`, some `B-`).
pub fn is_bio(tags: &[String]) -> bool {
    tags.iter().all(|t| t == "O" || t.starts_with("B-") || t.starts_with("I-")) && tags.iter().any(|t| t.starts_with("B-"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sent(words: &str, tags: &str) -> TaggedSentence {
        TaggedSentence { tokens: words.split(' ').map(String::from).collect(), tags: tags.split(' ').map(String::from).collect() }
    }

    #[test]
    fn majority_baseline_takes_each_words_commonest_tag() {
        let train = [sent("the dog runs", "at nn vbz"), sent("The runs", "at nns"), sent("runs", "nns")];
        let got = majority_baseline(&train, true, &[sent("the runs cat", "x x x")]);
        assert_eq!(got, vec![vec!["at".to_string(), "nns".into(), "at".into()]]);
        assert!((token_accuracy(&[sent("a b", "at nn")], &[vec!["at".into(), "x".into()]]) - 0.5).abs() < 1e-12);
        assert!(is_bio(&["O".into(), "B-x".into()]) && !is_bio(&["nn".into()]));
    }

    #[test]
    fn a_tiny_tagger_learns_a_pattern_with_either_output() {
        let train: Vec<TaggedSentence> =
            (0..40).map(|i| if i % 2 == 0 { sent("Alice met Bob", "B-PER O B-PER") } else { sent("we saw New York", "O O B-LOC I-LOC") }).collect();
        for output in [TagOutput::Softmax, TagOutput::Crf] {
            let c = TaggerConfig {
                epochs: 1,
                batch_size: 4,
                hidden: 16,
                word_embedding: 8,
                char_filters: 8,
                char_embedding: 4,
                min_word_count: 1,
                // No dropout: torch's global generator is shared with the tests running beside this one.
                dropout: 0.0,
                learning_rate: 1e-2,
                output,
                ..Default::default()
            };
            let vocab = TaggerVocabulary::new(&train, 1, true, &[&train]);
            let mut t = Tagger::new(c, vocab, Device::Cpu).unwrap();
            for _ in 0..10 {
                t.train_epoch(&train).unwrap();
            }
            let p = t.predict(&train[..2]).unwrap();
            assert!(token_accuracy(&train[..2], &p) == 1.0, "{output:?}: {p:?}");
        }
    }
}
