//! Intent detection: which of K intents a short customer query asks for.
//! Three models, trained from scratch with softmax cross-entropy (label
//! smoothing optional) on word tokens ([`tokenize`]):
//!
//! - `bow`: a bag of n-grams (binary unigram and bigram features) under a
//!   multinomial logistic regression, the baseline;
//! - `bilstm`: word embeddings, a BiLSTM, additive attention pooling beside
//!   a max-pool over time, a linear layer (the sentiment model's reader);
//! - `transformer`: a pre-layer-norm encoder over **words** with learned
//!   positions, mean-pooled. Words, not word pieces or characters: the
//!   queries are short (about 12 words) and the models learn from about ten
//!   thousand of them, so a subword vocabulary would need its own tokeniser
//!   fitted to the same small corpus, and characters would make sequences
//!   five times longer for the attention; unseen words read as the unknown
//!   word, which `word_dropout` trains the models for.
//!
//! [`IntentClassifier::predict`] gives each query's class probabilities and
//! its sentence embedding (the pooled vector under the output layer; the
//! baseline's logits), which the assistant's retrieval compares by cosine.

use crate::models::{BiLstm, Transformer, TransformerShape};
use crate::sentiment::{pad, Lexicon, Padded};
use anyhow::{bail, Result};
use nnlab_torch::check::{in_range, non_negative, nonzero, positive};
use nnlab_torch::optim::{Adam, Optimizer, Rule};
use nnlab_torch::with_torch_seed;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use tch::nn::{self, Module};
use tch::{Device, Kind, Reduction, Tensor};

pub use crate::sentiment::tokenize;

/// Which network reads the query.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum IntentModel {
    /// Bag of n-grams, logistic regression (the baseline).
    Bow,
    /// BiLSTM with attention and max pooling.
    #[default]
    Bilstm,
    /// Transformer encoder over words, mean-pooled.
    Transformer,
}

impl IntentModel {
    /// The config and command-line spelling.
    pub fn name(self) -> &'static str {
        match self {
            IntentModel::Bow => "bow",
            IntentModel::Bilstm => "bilstm",
            IntentModel::Transformer => "transformer",
        }
    }
}

/// Every knob of an intent run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct IntentConfig {
    /// Seed of the initialisation, batch order and dropout.
    pub seed: u64,
    /// The corpus (`banking77`, `clinc150`).
    pub dataset: nnlab_data::IntentDataset,
    /// The network (`bow`, `bilstm`, `transformer`).
    pub model: IntentModel,
    /// Passes over the training queries.
    pub epochs: usize,
    /// Queries per optimisation step.
    pub batch_size: usize,
    /// Adam's learning rate (of the first epoch with `cosine_decay`).
    pub learning_rate: f64,
    /// Anneal the learning rate toward 0 on a half cosine, set once per epoch.
    pub cosine_decay: bool,
    /// Adam's L2 penalty (coupled, as `torch.optim.Adam`'s `weight_decay`).
    #[schemars(range(min = 0.0))]
    pub weight_decay: f64,
    /// Words (n-grams for `bow`) seen fewer times in training read as unknown.
    pub min_word_count: usize,
    /// Tokens kept per query (longer ones are cut).
    pub max_tokens: usize,
    /// `bow`: n-grams up to this length (1-3).
    pub ngrams: usize,
    /// `bilstm`: size of the word embeddings.
    pub word_embedding: usize,
    /// `bilstm`: units per direction.
    pub hidden: usize,
    /// `bilstm`: size of the attention's hidden layer.
    pub attention: usize,
    /// `transformer`: width of the residual stream (also its word embeddings).
    pub d_model: usize,
    /// `transformer`: attention heads (dividing `d_model`).
    pub heads: usize,
    /// `transformer`: blocks.
    pub layers: usize,
    /// `transformer`: a max-pool over positions beside the mean pool (the BiLSTM always has both).
    pub max_pooling: bool,
    /// Dropout on embeddings and the pooled vector (`transformer`: also inside the blocks).
    #[schemars(range(min = 0.0, max = 1.0))]
    pub dropout: f64,
    /// During training each word is replaced by the unknown word with this probability.
    #[schemars(range(min = 0.0, max = 1.0))]
    pub word_dropout: f64,
    /// Clip the gradients' joint L2 norm to this (0: no clipping).
    #[schemars(range(min = 0.0))]
    pub grad_clip: f64,
    /// Label smoothing of the cross-entropy (0: none).
    #[schemars(range(min = 0.0, max = 1.0))]
    pub label_smoothing: f64,
    /// CLINC150: train one more class, "oos", on the out-of-scope training
    /// queries (Larson et al.'s oos-train); false leaves out-of-scope
    /// detection to the confidence threshold alone.
    pub oos_class: bool,
}

nnlab_torch::run_config!(IntentConfig);

impl Default for IntentConfig {
    fn default() -> Self {
        Self {
            seed: 1,
            dataset: nnlab_data::IntentDataset::Banking77,
            model: IntentModel::Bilstm,
            epochs: 20,
            batch_size: 32,
            learning_rate: 2e-3,
            cosine_decay: true,
            weight_decay: 0.0,
            min_word_count: 1,
            max_tokens: 64,
            ngrams: 2,
            word_embedding: 128,
            hidden: 128,
            attention: 64,
            d_model: 128,
            heads: 4,
            layers: 2,
            max_pooling: false,
            dropout: 0.3,
            word_dropout: 0.1,
            grad_clip: 5.0,
            label_smoothing: 0.0,
            oos_class: false,
        }
    }
}

impl IntentConfig {
    /// The learning rate of `epoch` (1-based): constant, or on the half cosine.
    pub fn learning_rate_at(&self, epoch: usize) -> f64 {
        nnlab_torch::optim::epoch_learning_rate(self.learning_rate, self.cosine_decay, epoch, self.epochs)
    }

    /// Typed checks, one-line errors naming the key.
    pub fn validate(&self) -> Result<()> {
        nonzero("epochs", self.epochs)?;
        nonzero("batch_size", self.batch_size)?;
        positive("learning_rate", self.learning_rate)?;
        non_negative("weight_decay", self.weight_decay)?;
        nonzero("min_word_count", self.min_word_count)?;
        nonzero("max_tokens", self.max_tokens)?;
        if self.max_tokens > 4096 {
            bail!("max_tokens must be at most 4096, got {}", self.max_tokens);
        }
        if !(1..=3).contains(&self.ngrams) {
            bail!("ngrams must be 1, 2 or 3, got {}", self.ngrams);
        }
        nonzero("word_embedding", self.word_embedding)?;
        nonzero("hidden", self.hidden)?;
        nonzero("attention", self.attention)?;
        nonzero("d_model", self.d_model)?;
        nonzero("heads", self.heads)?;
        nonzero("layers", self.layers)?;
        if !self.d_model.is_multiple_of(self.heads) {
            bail!("d_model ({}) must be divisible by heads ({})", self.d_model, self.heads);
        }
        for (name, size) in [("word_embedding", self.word_embedding), ("hidden", self.hidden), ("d_model", self.d_model)] {
            nnlab_torch::check::network_fits(name, (size as u128).saturating_mul(size as u128).saturating_mul(16))?;
        }
        in_range("dropout", self.dropout, 0.0, 1.0)?;
        in_range("word_dropout", self.word_dropout, 0.0, 1.0)?;
        non_negative("grad_clip", self.grad_clip)?;
        in_range("label_smoothing", self.label_smoothing, 0.0, 1.0)
    }
}

/// What a trained model needs besides its weights to read new queries (a
/// run folder's `vocabulary.json`): its lexicon (words, or n-grams for `bow`)
/// and its class count.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IntentVocabulary {
    /// Entries by index (0: `<pad>`, 1: `<unk>`).
    pub entries: Vec<String>,
    /// Output classes (intents, plus "oos" with `oos_class`).
    pub classes: usize,
}

/// The networks.
#[derive(Debug)]
enum Network {
    BagOfNgrams { weights: nn::Embedding, bias: Tensor },
    BiLstm { embedding: nn::Embedding, bilstm: BiLstm, attend: nn::Linear, score: nn::Linear, out: nn::Linear },
    Transformer { encoder: Transformer, out: nn::Linear },
}

/// Class probabilities and sentence embeddings of some queries.
#[derive(Debug, Clone, Default)]
pub struct Predictions {
    /// `[query][class]`, each row summing to 1.
    pub probabilities: Vec<Vec<f32>>,
    /// `[query][feature]`: the pooled vector under the output layer (`bow`: the logits).
    pub embeddings: Vec<Vec<f32>>,
}

/// An intent classifier with its optimiser and generator.
pub struct IntentClassifier {
    config: IntentConfig,
    lexicon: Lexicon,
    classes: usize,
    vs: nn::VarStore,
    network: Network,
    optimizer: Optimizer,
    rng: ChaCha8Rng,
    device: Device,
}

/// A padded batch: ids and mask `[B, L]`, lengths.
struct Batch {
    ids: Tensor,
    mask: Tensor,
    lengths: Vec<usize>,
}

impl IntentClassifier {
    /// A new model of `config.model` over the words (n-grams) of `train` (tokenised queries), with `classes` outputs.
    pub fn new(config: IntentConfig, train: &[Vec<String>], classes: usize, device: Device) -> Result<Self> {
        config.validate()?;
        let lexicon = match config.model {
            IntentModel::Bow => Lexicon::of_ngrams(train, config.ngrams, config.min_word_count),
            _ => Lexicon::new(train.iter().flatten().map(String::as_str), config.min_word_count),
        };
        Self::with_lexicon(config, lexicon, classes, device)
    }

    /// The model of a saved [`IntentVocabulary`] (its weights still to be loaded).
    pub fn from_vocabulary(config: IntentConfig, vocabulary: IntentVocabulary, device: Device) -> Result<Self> {
        config.validate()?;
        Self::with_lexicon(config, Lexicon::from_entries(vocabulary.entries)?, vocabulary.classes, device)
    }

    fn with_lexicon(config: IntentConfig, lexicon: Lexicon, classes: usize, device: Device) -> Result<Self> {
        if classes < 2 {
            bail!("an intent classifier needs at least 2 classes, got {classes}");
        }
        let vs = nn::VarStore::new(device);
        let (c, k, vocab) = (&config, classes as i64, lexicon.len() as i64);
        let network = with_torch_seed(c.seed, || {
            let p = vs.root();
            match c.model {
                IntentModel::Bow => Network::BagOfNgrams {
                    weights: nn::embedding(&p / "weights", vocab, k, nn::EmbeddingConfig { ws_init: nn::Init::Const(0.0), ..Default::default() }),
                    bias: p.zeros("bias", &[k]),
                },
                IntentModel::Bilstm => {
                    let h2 = 2 * c.hidden as i64;
                    Network::BiLstm {
                        embedding: nn::embedding(&p / "embedding", vocab, c.word_embedding as i64, Default::default()),
                        bilstm: BiLstm::new(&(&p / "bilstm"), c.word_embedding as i64, c.hidden as i64, 1),
                        attend: nn::linear(&p / "attend", h2, c.attention as i64, Default::default()),
                        score: nn::linear(&p / "score", c.attention as i64, 1, nn::LinearConfig { bias: false, ..Default::default() }),
                        out: nn::linear(&p / "out", 2 * h2, k, Default::default()),
                    }
                }
                IntentModel::Transformer => {
                    let shape = TransformerShape {
                        vocab,
                        context: c.max_tokens as i64,
                        d_model: c.d_model as i64,
                        heads: c.heads as i64,
                        layers: c.layers as i64,
                        dropout: c.dropout,
                    };
                    let pooled = if c.max_pooling { 2 * c.d_model } else { c.d_model } as i64;
                    Network::Transformer { encoder: Transformer::encoder(&(&p / "encoder"), shape), out: nn::linear(&p / "out", pooled, k, Default::default()) }
                }
            }
        });
        let optimizer = Optimizer::new(&vs, Rule::Adam(Adam { weight_decay: c.weight_decay, ..Default::default() }), c.learning_rate)?;
        let rng = ChaCha8Rng::seed_from_u64(c.seed);
        Ok(Self { config, lexicon, classes, vs, network, optimizer, rng, device })
    }

    /// Its config.
    pub fn config(&self) -> &IntentConfig {
        &self.config
    }

    /// Output classes.
    pub fn classes(&self) -> usize {
        self.classes
    }

    /// The lexicon (words, or n-grams for `bow`).
    pub fn lexicon(&self) -> &Lexicon {
        &self.lexicon
    }

    /// What [`IntentClassifier::from_vocabulary`] needs to rebuild this model.
    pub fn vocabulary(&self) -> IntentVocabulary {
        IntentVocabulary { entries: self.lexicon.entries.clone(), classes: self.classes }
    }

    /// Trainable parameters.
    pub fn parameters(&self) -> i64 {
        self.vs.trainable_variables().iter().map(|t| t.numel() as i64).sum()
    }

    /// The variables.
    pub fn var_store(&self) -> &nn::VarStore {
        &self.vs
    }

    fn features(&self, tokens: &[String]) -> Vec<i64> {
        match self.network {
            Network::BagOfNgrams { .. } => self.lexicon.ngram_ids(tokens, self.config.ngrams),
            _ => self.lexicon.word_ids(tokens, self.config.max_tokens),
        }
    }

    fn batch(&self, queries: &[&[String]]) -> Batch {
        let feats: Vec<Vec<i64>> = queries.iter().map(|t| self.features(t)).collect();
        // An empty query reads as one unknown word (for the baseline: nothing but the bias).
        let empty = if matches!(self.network, Network::BagOfNgrams { .. }) { (0, 0.0) } else { (1, 1.0) };
        let Padded { ids, mask, lengths, width } = pad(&feats, empty);
        let shape = [feats.len() as i64, width as i64];
        Batch { ids: Tensor::from_slice(&ids).view(shape).to_device(self.device), mask: Tensor::from_slice(&mask).view(shape).to_device(self.device), lengths }
    }

    /// Logits `[B, K]` and the sentence embeddings under them.
    fn forward(&self, b: &Batch, train: bool) -> (Tensor, Tensor) {
        let dropout = self.config.dropout;
        match &self.network {
            Network::BagOfNgrams { weights, bias } => {
                let logits = (weights.forward(&b.ids) * b.mask.unsqueeze(2)).sum_dim_intlist(1, false, Kind::Float) + bias;
                (logits.shallow_clone(), logits)
            }
            Network::BiLstm { embedding, bilstm, attend, score, out } => {
                let x = embedding.forward(&b.ids).dropout(dropout, train);
                let h = bilstm.forward(&x, &b.lengths, train);
                let padding = b.mask.eq(0.0);
                let e = score.forward(&attend.forward(&h).tanh()).squeeze_dim(2).masked_fill(&padding, f64::NEG_INFINITY);
                let a = e.softmax(1, Kind::Float);
                let attended = (&h * a.unsqueeze(2)).sum_dim_intlist(1, false, Kind::Float);
                let most = h.masked_fill(&padding.unsqueeze(2), f64::NEG_INFINITY).amax([1], false);
                let pooled = Tensor::cat(&[attended, most], 1);
                (out.forward(&pooled.dropout(dropout, train)), pooled)
            }
            Network::Transformer { encoder, out } => {
                let padding = b.mask.eq(0.0);
                let (h, _) = encoder.hidden(&b.ids, Some(&padding), false, train, false);
                let mean = (&h * b.mask.unsqueeze(2)).sum_dim_intlist(1, false, Kind::Float) / b.mask.sum_dim_intlist(1, true, Kind::Float);
                let pooled = if self.config.max_pooling {
                    let most = h.masked_fill(&padding.unsqueeze(2), f64::NEG_INFINITY).amax([1], false);
                    Tensor::cat(&[mean, most], 1)
                } else {
                    mean
                };
                (out.forward(&pooled.dropout(dropout, train)), pooled)
            }
        }
    }

    /// One epoch over `train` (tokenised queries) toward `labels` (class
    /// indices below [`IntentClassifier::classes`]); the mean loss per batch.
    pub fn train_epoch(&mut self, train: &[Vec<String>], labels: &[usize]) -> Result<f64> {
        if train.len() != labels.len() {
            bail!("{} queries but {} labels", train.len(), labels.len());
        }
        if let Some(&bad) = labels.iter().find(|&&l| l >= self.classes) {
            bail!("label {bad} is not below the {} classes", self.classes);
        }
        let mut order: Vec<usize> = (0..train.len()).collect();
        order.shuffle(&mut self.rng);
        tch::manual_seed(self.rng.random::<u32>() as i64);
        let recurrent_or_attention = !matches!(self.network, Network::BagOfNgrams { .. });
        let (mut total, mut batches) = (0.0, 0usize);
        for chunk in order.chunks(self.config.batch_size) {
            let queries: Vec<&[String]> = chunk.iter().map(|&i| train[i].as_slice()).collect();
            let y: Vec<i64> = chunk.iter().map(|&i| labels[i] as i64).collect();
            let mut b = self.batch(&queries);
            if self.config.word_dropout > 0.0 && recurrent_or_attention {
                let drop = b.mask.rand_like().lt(self.config.word_dropout).logical_and(&b.mask.gt(0.0));
                b.ids = b.ids.masked_fill(&drop, 1);
            }
            let (logits, _) = self.forward(&b, true);
            let y = Tensor::from_slice(&y).to_device(self.device);
            let loss = logits.cross_entropy_loss::<Tensor>(&y, None, Reduction::Mean, -100, self.config.label_smoothing);
            self.optimizer.zero_grad();
            loss.backward();
            if self.config.grad_clip > 0.0 && recurrent_or_attention {
                self.optimizer.clip_grad_norm(self.config.grad_clip);
            }
            self.optimizer.step();
            total += f64::try_from(loss.detach())?;
            batches += 1;
        }
        Ok(total / batches.max(1) as f64)
    }

    /// Sets the optimiser's learning rate for the next steps.
    pub fn set_learning_rate(&mut self, lr: f64) {
        self.optimizer.set_lr(lr);
    }

    /// Class probabilities and sentence embeddings of `queries` (tokenised), in evaluation mode.
    pub fn predict(&self, queries: &[Vec<String>]) -> Result<Predictions> {
        let _guard = tch::no_grad_guard();
        let mut out = Predictions::default();
        for chunk in queries.chunks(256) {
            let refs: Vec<&[String]> = chunk.iter().map(Vec::as_slice).collect();
            let (logits, embeddings) = self.forward(&self.batch(&refs), false);
            out.probabilities.extend(Vec::<Vec<f32>>::try_from(logits.softmax(1, Kind::Float).to_device(Device::Cpu))?);
            out.embeddings.extend(Vec::<Vec<f32>>::try_from(embeddings.to_device(Device::Cpu))?);
        }
        Ok(out)
    }

    /// Loads weights saved from this model's variables (`model.safetensors`).
    pub fn load_weights(&mut self, path: &std::path::Path) -> Result<()> {
        nnlab_torch::weights::load(&mut self.vs, path)
    }

    /// Everything [`IntentClassifier::train_epoch`] depends on: a checkpoint's part.
    pub fn train_state(&self) -> Result<nnlab_torch::state::TrainState> {
        nnlab_torch::optim::trainer_state(&self.vs, &self.optimizer, &self.rng)
    }

    /// Restores what [`IntentClassifier::train_state`] saved.
    pub fn restore_train_state(&mut self, s: &nnlab_torch::state::TrainState) -> Result<()> {
        self.rng = nnlab_torch::optim::restore_trainer_state(s, &self.vs, &mut self.optimizer)?;
        Ok(())
    }

    /// A copy of the variables (for keeping the best epoch's model).
    pub fn snapshot(&self) -> nnlab_torch::Snapshot {
        nnlab_torch::snapshot(&self.vs)
    }

    /// Puts back variables from [`IntentClassifier::snapshot`].
    pub fn restore_snapshot(&mut self, snapshot: &[(String, Tensor)]) -> Result<()> {
        nnlab_torch::restore_snapshot(&self.vs, snapshot)
    }
}

/// The index and value of the largest probability.
pub fn top(probabilities: &[f32]) -> (usize, f32) {
    probabilities.iter().copied().enumerate().fold((0, f32::NEG_INFINITY), |best, (i, p)| if p > best.1 { (i, p) } else { best })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn toy() -> (Vec<Vec<String>>, Vec<usize>) {
        let texts = [
            "my card has not arrived",
            "where is my new card",
            "card still not here",
            "what is the exchange rate",
            "rate for euros to dollars",
            "how much is the euro rate",
        ];
        (texts.iter().map(|t| tokenize(t)).collect(), vec![0, 0, 0, 1, 1, 1])
    }

    #[test]
    fn each_model_learns_a_toy_task_and_gives_probabilities_and_embeddings() {
        let (x, y) = toy();
        for model in [IntentModel::Bow, IntentModel::Bilstm, IntentModel::Transformer] {
            let cfg = IntentConfig {
                model,
                epochs: 1,
                batch_size: 3,
                learning_rate: 1e-2,
                hidden: 16,
                attention: 8,
                word_embedding: 16,
                d_model: 16,
                heads: 2,
                layers: 1,
                dropout: 0.0,
                word_dropout: 0.0,
                ..Default::default()
            };
            let mut m = IntentClassifier::new(cfg, &x, 2, Device::Cpu).unwrap();
            let first = m.train_epoch(&x, &y).unwrap();
            let mut last = first;
            for _ in 0..30 {
                last = m.train_epoch(&x, &y).unwrap();
            }
            assert!(last < first * 0.5, "{model:?}: loss {first} -> {last}");
            let p = m.predict(&[tokenize("my card is not here"), vec![], tokenize("euro rate please")]).unwrap();
            assert_eq!(p.probabilities.len(), 3);
            assert!(p.probabilities.iter().all(|r| (r.iter().sum::<f32>() - 1.0).abs() < 1e-5));
            assert_eq!(top(&p.probabilities[0]).0, 0, "{model:?}");
            assert_eq!(top(&p.probabilities[2]).0, 1, "{model:?}");
            assert!(p.embeddings.iter().all(|e| !e.is_empty() && e.iter().all(|v| v.is_finite())));
        }
    }

    /// Dropout draws from torch's global generator, which other tests of this
    /// process share, so this checks the rest (two runs of the binary, with
    /// dropout, are compared byte for byte in the experiments' tests).
    #[test]
    fn the_same_seed_trains_the_same_bits() {
        let (x, y) = toy();
        let run = || {
            let cfg = IntentConfig { epochs: 2, hidden: 8, attention: 4, word_embedding: 8, dropout: 0.0, word_dropout: 0.0, ..Default::default() };
            let mut m = IntentClassifier::new(cfg, &x, 2, Device::Cpu).unwrap();
            m.train_epoch(&x, &y).unwrap();
            m.train_epoch(&x, &y).unwrap()
        };
        assert_eq!(run().to_bits(), run().to_bits());
    }

    #[test]
    fn bad_configs_and_labels_give_one_line_errors() {
        let (x, y) = toy();
        let e = IntentConfig { d_model: 10, heads: 3, ..Default::default() }.validate().unwrap_err().to_string();
        assert!(e.contains("divisible") && !e.contains('\n'), "{e}");
        assert!(IntentClassifier::new(IntentConfig::default(), &x, 1, Device::Cpu).is_err());
        let mut m = IntentClassifier::new(IntentConfig { model: IntentModel::Bow, ..Default::default() }, &x, 2, Device::Cpu).unwrap();
        assert!(m.train_epoch(&x, &y[..3]).unwrap_err().to_string().contains("6 queries but 3 labels"));
        assert!(m.train_epoch(&x, &[5; 6]).unwrap_err().to_string().contains("not below"));
    }
}
