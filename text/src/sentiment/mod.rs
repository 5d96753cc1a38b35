//! Sentence-level sentiment: a bag-of-words logistic regression (unigrams
//! and bigrams, binary features) as the baseline, and a BiLSTM with
//! attention pooling (Yang et al. 2016's additive attention over the BiLSTM
//! states, whose weights show which words decided). Both are trained with
//! the logistic loss on positive/negative labels; [`SentimentConfig`] holds
//! every knob.

use crate::models::BiLstm;
use anyhow::{bail, Result};
use nnlab_torch::average::WeightAverage;
use nnlab_torch::check::{in_half_open, in_range, non_negative, nonzero, positive};
use nnlab_torch::optim::{Adam, Optimizer, Rule};
use nnlab_torch::with_torch_seed;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use tch::nn::{self, Module};
use tch::{Device, Kind, Reduction, Tensor};

pub mod fit;
mod vocabulary;
pub use fit::SentimentFit;
pub use vocabulary::{ngrams, pad, tokenize, Lexicon, Padded, SentimentVocabulary, Valences};

/// Every knob of a sentiment run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct SentimentConfig {
    /// Seed of the initialisations, batch orders and dropout.
    pub seed: u64,
    /// BiLSTM: passes over the training sentences.
    pub epochs: usize,
    /// Sentences per optimisation step (both models).
    pub batch_size: usize,
    /// BiLSTM: Adam's learning rate (in the first epoch, with `cosine_decay`).
    pub learning_rate: f64,
    /// BiLSTM: anneal the learning rate from `learning_rate` toward 0 on a
    /// half cosine, set once per epoch (PyTorch's `CosineAnnealingLR` with
    /// `T_max = epochs`, stepped after each epoch); false keeps it constant.
    pub cosine_decay: bool,
    /// BiLSTM: size of the word embeddings (trained from scratch).
    pub word_embedding: usize,
    /// Words seen fewer times in training share the unknown word's embedding.
    pub min_word_count: usize,
    /// BiLSTM: add character features to each word (a width-3 convolution
    /// of `char_filters` over 16-d character embeddings, max-pooled): misspelt
    /// and unseen words still say something.
    pub char_features: bool,
    /// BiLSTM: filters of the character convolution.
    pub char_filters: usize,
    /// BiLSTM: units per direction.
    pub hidden: usize,
    /// BiLSTM: size of the attention's hidden layer.
    pub attention: usize,
    /// BiLSTM: dropout on the embeddings and the pooled vector.
    #[schemars(range(min = 0.0, max = 1.0))]
    pub dropout: f64,
    /// BiLSTM: during training, each word is replaced by the unknown word with this probability.
    #[schemars(range(min = 0.0, max = 1.0))]
    pub word_dropout: f64,
    /// BiLSTM: clip the gradients' joint L2 norm to this (0: no clipping).
    #[schemars(range(min = 0.0))]
    pub grad_clip: f64,
    /// Tokens kept per sentence (longer ones are cut).
    pub max_tokens: usize,
    /// Baseline: passes over the training sentences.
    pub baseline_epochs: usize,
    /// Baseline: Adam's learning rate.
    pub baseline_learning_rate: f64,
    /// Baseline: L2 penalty on the feature weights.
    #[schemars(range(min = 0.0))]
    pub baseline_l2: f64,
    /// Baseline: n-grams up to this length (1: unigrams).
    pub baseline_ngrams: usize,
    /// Give both models each word's prior valence from a human-rated word
    /// lexicon (VADER's 7,506 tokens, -4 to 4, scaled to -1 to 1; 0 for
    /// other words): the BiLSTM reads it and an in-lexicon flag beside each
    /// word's embedding, the baseline the sums of a sentence's positive and
    /// of its negative valences as two more features.
    pub valence_features: bool,
    /// BiLSTM: training targets. 0 trains on the 0/1 labels; s > 0 on
    /// sigmoid(s x the sentence's mean rating), so a sentence rated +0.2
    /// pulls less hard than one rated +3 (the label is still its sign).
    #[schemars(range(min = 0.0))]
    pub soft_targets: f64,
    /// Baseline: training targets, as `soft_targets`.
    #[schemars(range(min = 0.0))]
    pub baseline_soft_targets: f64,
    /// BiLSTM: beside the attention pooling, a max-pool over time of the
    /// BiLSTM states (as InferSent's encoder), both into the output layer.
    pub max_pooling: bool,
    /// BiLSTM: evaluate (and keep) an exponential moving average of the
    /// weights, updated after every step with this decay (timm's warm-up,
    /// `min(decay, (1 + n) / (10 + n))` at step n), instead of the trained
    /// weights themselves; 0 evaluates the trained weights.
    #[schemars(range(min = 0.0), extend("exclusiveMaximum" = 1.0))]
    pub weight_average: f64,
}

nnlab_torch::run_config!(SentimentConfig);

impl Default for SentimentConfig {
    fn default() -> Self {
        Self {
            seed: 1,
            epochs: 8,
            batch_size: 32,
            learning_rate: 1e-3,
            cosine_decay: false,
            word_embedding: 100,
            min_word_count: 2,
            char_features: false,
            char_filters: 32,
            hidden: 64,
            attention: 64,
            dropout: 0.5,
            word_dropout: 0.0,
            grad_clip: 5.0,
            max_tokens: 100,
            baseline_epochs: 10,
            baseline_learning_rate: 1e-2,
            baseline_l2: 1e-5,
            baseline_ngrams: 2,
            valence_features: false,
            soft_targets: 0.0,
            baseline_soft_targets: 0.0,
            max_pooling: false,
            weight_average: 0.0,
        }
    }
}

impl SentimentConfig {
    /// The BiLSTM's learning rate in `epoch` (1-based): `learning_rate`, or
    /// with `cosine_decay` `learning_rate * (1 + cos(pi * (epoch - 1) / epochs)) / 2`.
    pub fn learning_rate_at(&self, epoch: usize) -> f64 {
        nnlab_torch::optim::epoch_learning_rate(self.learning_rate, self.cosine_decay, epoch, self.epochs)
    }

    /// Typed checks, one-line errors naming the key.
    pub fn validate(&self) -> Result<()> {
        nonzero("epochs", self.epochs)?;
        nonzero("batch_size", self.batch_size)?;
        positive("learning_rate", self.learning_rate)?;
        nonzero("word_embedding", self.word_embedding)?;
        nonzero("min_word_count", self.min_word_count)?;
        nonzero("hidden", self.hidden)?;
        nonzero("attention", self.attention)?;
        if self.char_features {
            nonzero("char_filters", self.char_filters)?;
        }
        in_range("dropout", self.dropout, 0.0, 1.0)?;
        in_range("word_dropout", self.word_dropout, 0.0, 1.0)?;
        non_negative("grad_clip", self.grad_clip)?;
        nonzero("max_tokens", self.max_tokens)?;
        // The BiLSTM's weights and one batch's activations (before any run folder, not in torch's allocator).
        let h = self.hidden as u128;
        let input = (self.word_embedding as u128).saturating_add(if self.char_features { self.char_filters as u128 } else { 0 });
        let params = h
            .saturating_mul(8)
            .saturating_mul(input.saturating_add(h).saturating_add(2))
            .saturating_add(h.saturating_mul(2).saturating_mul(self.attention as u128));
        nnlab_torch::check::network_fits("hidden", params)?;
        let activations = (self.batch_size as u128).saturating_mul(self.max_tokens as u128).saturating_mul(h).saturating_mul(16).saturating_mul(4);
        nnlab_torch::check::fits_in_memory(&format!("hidden = {} with batch_size = {} (one batch's activations)", self.hidden, self.batch_size), activations)?;
        nonzero("baseline_epochs", self.baseline_epochs)?;
        positive("baseline_learning_rate", self.baseline_learning_rate)?;
        non_negative("baseline_l2", self.baseline_l2)?;
        non_negative("soft_targets", self.soft_targets)?;
        non_negative("baseline_soft_targets", self.baseline_soft_targets)?;
        in_half_open("weight_average", self.weight_average, 0.0, 1.0)?;
        if !(1..=3).contains(&self.baseline_ngrams) {
            bail!("baseline_ngrams must be 1, 2 or 3, got {}", self.baseline_ngrams);
        }
        Ok(())
    }
}

/// The training target (probability of "positive") of a sentence with this
/// mean rating: its label when `scale` is 0, else sigmoid(`scale` x rating).
pub fn soft_target(scale: f64, rating: f64) -> f32 {
    if scale > 0.0 {
        (1.0 / (1.0 + libm::exp(-scale * rating))) as f32
    } else {
        f32::from(u8::from(rating > 0.0))
    }
}

/// The two models. One lives per classifier, so the size difference of the
/// variants costs nothing.
#[derive(Debug)]
#[allow(clippy::large_enum_variant)]
enum Model {
    /// Weights per n-gram and a bias: a logistic regression on binary bag-of-n-gram features.
    BagOfWords { weights: nn::Embedding, bias: Tensor, valence_weights: Option<Tensor> },
    /// Embedding, BiLSTM, additive attention pooling, linear output.
    BiLstmAttention {
        embedding: nn::Embedding,
        chars: Option<(nn::Embedding, nn::Conv1D)>,
        bilstm: BiLstm,
        attend: nn::Linear,
        score: nn::Linear,
        out: nn::Linear,
        dropout: f64,
        max_pooling: bool,
    },
}

/// A binary sentiment classifier (either model) with its optimiser and generator.
pub struct SentimentClassifier {
    config: SentimentConfig,
    lexicon: Lexicon,
    char_lexicon: Lexicon,
    valences: Valences,
    vs: nn::VarStore,
    model: Model,
    optimizer: Optimizer,
    /// The BiLSTM's moving average of its weights (`weight_average` > 0).
    average: Option<WeightAverage>,
    rng: ChaCha8Rng,
    device: Device,
}

/// A padded batch: ids `[B, L]`, mask `[B, L]` (float), lengths.
struct Batch {
    ids: Tensor,
    /// Character ids `[B, L, 16]` (BiLSTM with character features).
    chars: Option<Tensor>,
    /// Prior valences: `[B, L, 2]` (valence / 4, in-lexicon flag) for the
    /// BiLSTM, `[B, 2]` (sums of positive and of negative valences / 4) for
    /// the baseline.
    valence: Option<Tensor>,
    mask: Tensor,
    lengths: Vec<usize>,
}

/// Characters kept per word for the character features.
const WORD_CHARS: usize = 16;

impl SentimentClassifier {
    /// Its config.
    pub fn config(&self) -> &SentimentConfig {
        &self.config
    }

    /// The bag-of-n-grams baseline over the n-grams of `train` (tokenised sentences).
    /// `valences` is required when the config asks for `valence_features`.
    pub fn bag_of_words(config: SentimentConfig, train: &[Vec<String>], valences: Option<&Valences>, device: Device) -> Result<Self> {
        config.validate()?;
        let valences = Self::prior_valences(&config, valences)?;
        let lexicon = Lexicon::of_ngrams(train, config.baseline_ngrams, config.min_word_count);
        let vs = nn::VarStore::new(device);
        let model = with_torch_seed(config.seed, || Model::BagOfWords {
            weights: nn::embedding(vs.root() / "weights", lexicon.len() as i64, 1, nn::EmbeddingConfig { ws_init: nn::Init::Const(0.0), ..Default::default() }),
            bias: vs.root().zeros("bias", &[1]),
            valence_weights: config.valence_features.then(|| vs.root().zeros("valence_weights", &[2])),
        });
        let rule = Rule::Adam(Adam { weight_decay: config.baseline_l2, ..Default::default() });
        let optimizer = Optimizer::new(&vs, rule, config.baseline_learning_rate)?;
        let rng = ChaCha8Rng::seed_from_u64(config.seed ^ 0xba5e);
        Ok(Self { config, lexicon, char_lexicon: Lexicon::new(std::iter::empty(), 1), valences, vs, model, optimizer, average: None, rng, device })
    }

    /// The BiLSTM with attention pooling over the words of `train`.
    /// `valences` is required when the config asks for `valence_features`.
    pub fn bilstm_attention(config: SentimentConfig, train: &[Vec<String>], valences: Option<&Valences>, device: Device) -> Result<Self> {
        config.validate()?;
        let valences = Self::prior_valences(&config, valences)?;
        let lexicon = Lexicon::new(train.iter().flatten().map(String::as_str), config.min_word_count);
        let letters: Vec<String> = train.iter().flatten().flat_map(|w| w.chars().map(String::from)).collect();
        let char_lexicon = Lexicon::new(letters.iter().map(String::as_str), 1);
        Self::bilstm_with(config, lexicon, char_lexicon, valences, device)
    }

    /// The BiLSTM of a saved [`SentimentVocabulary`] (its weights still to be loaded).
    pub fn bilstm_from_vocabulary(config: SentimentConfig, vocabulary: SentimentVocabulary, device: Device) -> Result<Self> {
        config.validate()?;
        let valences: Valences = vocabulary.valences.into_iter().collect();
        let valences = Self::prior_valences(&config, Some(&valences))?;
        Self::bilstm_with(config, Lexicon::from_entries(vocabulary.words)?, Lexicon::from_entries(vocabulary.chars)?, valences, device)
    }

    /// What [`SentimentClassifier::bilstm_from_vocabulary`] needs to rebuild this model.
    pub fn vocabulary(&self) -> SentimentVocabulary {
        SentimentVocabulary {
            words: self.lexicon.entries.clone(),
            chars: self.char_lexicon.entries.clone(),
            valences: self.valences.iter().map(|(w, v)| (w.clone(), *v)).collect(),
        }
    }

    fn bilstm_with(config: SentimentConfig, lexicon: Lexicon, char_lexicon: Lexicon, valences: Valences, device: Device) -> Result<Self> {
        let vs = nn::VarStore::new(device);
        let c = &config;
        let model = with_torch_seed(c.seed, || {
            let p = vs.root();
            let h2 = 2 * c.hidden as i64;
            let chars = c.char_features.then(|| {
                (
                    nn::embedding(&p / "chars", char_lexicon.len() as i64, 16, Default::default()),
                    nn::conv1d(&p / "char_conv", 16, c.char_filters as i64, 3, nn::ConvConfig { padding: 1, ..Default::default() }),
                )
            });
            let input = (c.word_embedding + if c.char_features { c.char_filters } else { 0 } + if c.valence_features { 2 } else { 0 }) as i64;
            Model::BiLstmAttention {
                embedding: nn::embedding(&p / "embedding", lexicon.len() as i64, c.word_embedding as i64, Default::default()),
                chars,
                bilstm: BiLstm::new(&(&p / "bilstm"), input, c.hidden as i64, 1),
                attend: nn::linear(&p / "attend", h2, c.attention as i64, Default::default()),
                score: nn::linear(&p / "score", c.attention as i64, 1, nn::LinearConfig { bias: false, ..Default::default() }),
                out: nn::linear(&p / "out", if c.max_pooling { 2 * h2 } else { h2 }, 1, Default::default()),
                dropout: c.dropout,
                max_pooling: c.max_pooling,
            }
        });
        let optimizer = Optimizer::new(&vs, Rule::Adam(Adam::default()), c.learning_rate)?;
        let rng = ChaCha8Rng::seed_from_u64(c.seed);
        let average = if c.weight_average > 0.0 { Some(WeightAverage::new(&vs, c.weight_average)?) } else { None };
        Ok(Self { config, lexicon, char_lexicon, valences, vs, model, optimizer, average, rng, device })
    }

    fn prior_valences(config: &SentimentConfig, valences: Option<&Valences>) -> Result<Valences> {
        match (config.valence_features, valences) {
            (false, _) => Ok(Valences::new()),
            (true, Some(v)) if !v.is_empty() => Ok(v.clone()),
            (true, _) => bail!("valence_features needs a word valence lexicon, and none was given"),
        }
    }

    /// Trainable parameters.
    pub fn parameters(&self) -> i64 {
        self.vs.trainable_variables().iter().map(|t| t.numel() as i64).sum()
    }

    /// The lexicon (words, or n-grams for the baseline).
    pub fn lexicon(&self) -> &Lexicon {
        &self.lexicon
    }

    /// The variables.
    pub fn var_store(&self) -> &nn::VarStore {
        &self.vs
    }

    fn features(&self, tokens: &[String]) -> Vec<i64> {
        match self.model {
            Model::BagOfWords { .. } => self.lexicon.ngram_ids(tokens, self.config.baseline_ngrams),
            Model::BiLstmAttention { .. } => self.lexicon.word_ids(tokens, self.config.max_tokens),
        }
    }

    fn batch(&self, sentences: &[&[String]]) -> Batch {
        let feats: Vec<Vec<i64>> = sentences.iter().map(|t| self.features(t)).collect();
        // An empty sentence reads as one unknown token (weight of padding stays out of the baseline).
        let empty = if matches!(self.model, Model::BagOfWords { .. }) { 0 } else { 1 };
        let Padded { ids, mask, lengths, width } = pad(&feats, (empty, 1.0));
        let shape = [feats.len() as i64, width as i64];
        let chars = matches!(self.model, Model::BiLstmAttention { chars: Some(_), .. }).then(|| {
            let mut c = vec![0i64; feats.len() * width * WORD_CHARS];
            for (b, tokens) in sentences.iter().enumerate() {
                for (t, w) in tokens.iter().take(self.config.max_tokens).enumerate() {
                    for (k, ch) in w.chars().take(WORD_CHARS).enumerate() {
                        let mut buf = [0u8; 4];
                        c[(b * width + t) * WORD_CHARS + k] = self.char_lexicon.get(ch.encode_utf8(&mut buf));
                    }
                }
            }
            Tensor::from_slice(&c).view([feats.len() as i64, width as i64, WORD_CHARS as i64]).to_device(self.device)
        });
        let valence = self.config.valence_features.then(|| {
            let prior = |w: &String| self.valences.get(w).map(|&v| v / 4.0);
            match self.model {
                Model::BagOfWords { .. } => {
                    let mut sums = vec![0f32; feats.len() * 2];
                    for (b, tokens) in sentences.iter().enumerate() {
                        for v in tokens.iter().filter_map(prior) {
                            sums[2 * b + usize::from(v < 0.0)] += v as f32;
                        }
                    }
                    Tensor::from_slice(&sums).view([feats.len() as i64, 2]).to_device(self.device)
                }
                Model::BiLstmAttention { .. } => {
                    let mut v = vec![0f32; feats.len() * width * 2];
                    for (b, tokens) in sentences.iter().enumerate() {
                        for (t, w) in tokens.iter().take(self.config.max_tokens).enumerate() {
                            if let Some(x) = prior(w) {
                                v[(b * width + t) * 2] = x as f32;
                                v[(b * width + t) * 2 + 1] = 1.0;
                            }
                        }
                    }
                    Tensor::from_slice(&v).view([feats.len() as i64, width as i64, 2]).to_device(self.device)
                }
            }
        });
        Batch {
            ids: Tensor::from_slice(&ids).view(shape).to_device(self.device),
            chars,
            valence,
            mask: Tensor::from_slice(&mask).view(shape).to_device(self.device),
            lengths,
        }
    }

    /// Logits `[B]` and, for the BiLSTM, attention weights `[B, L]`.
    fn forward(&self, b: &Batch, train: bool) -> (Tensor, Option<Tensor>) {
        match &self.model {
            Model::BagOfWords { weights, bias, valence_weights } => {
                let mut logits = (weights.forward(&b.ids).squeeze_dim(2) * &b.mask).sum_dim_intlist(1, false, Kind::Float) + bias;
                if let (Some(w), Some(v)) = (valence_weights, &b.valence) {
                    logits += v.matmul(w);
                }
                (logits, None)
            }
            Model::BiLstmAttention { embedding, chars, bilstm, attend, score, out, dropout, max_pooling } => {
                let mut x = embedding.forward(&b.ids);
                if let (Some((emb, conv)), Some(ids)) = (chars, &b.chars) {
                    let (n, len, width) = ids.size3().expect("chars are [B, L, C]");
                    let features = conv.forward(&emb.forward(&ids.view([n * len, width])).transpose(1, 2)).amax([2], false).view([n, len, -1]);
                    x = Tensor::cat(&[x, features], 2);
                }
                if let Some(v) = &b.valence {
                    x = Tensor::cat(&[&x, v], 2);
                }
                let x = x.dropout(*dropout, train);
                let h = bilstm.forward(&x, &b.lengths, train);
                let e = score.forward(&attend.forward(&h).tanh()).squeeze_dim(2);
                let padding = b.mask.eq(0.0);
                let e = e.masked_fill(&padding, f64::NEG_INFINITY);
                let a = e.softmax(1, Kind::Float);
                let pooled = (&h * a.unsqueeze(2)).sum_dim_intlist(1, false, Kind::Float);
                let pooled = if *max_pooling {
                    let most = h.masked_fill(&padding.unsqueeze(2), f64::NEG_INFINITY).amax([1], false);
                    Tensor::cat(&[pooled, most], 1)
                } else {
                    pooled
                };
                let pooled = pooled.dropout(*dropout, train);
                (out.forward(&pooled).squeeze_dim(1), Some(a))
            }
        }
    }

    /// One epoch over `train` with targets (the probability of "positive":
    /// 0/1 labels or [`soft_target`]s); the mean loss per batch.
    pub fn train_epoch(&mut self, train: &[Vec<String>], targets: &[f32]) -> Result<f64> {
        let mut order: Vec<usize> = (0..train.len()).collect();
        order.shuffle(&mut self.rng);
        tch::manual_seed(self.rng.random::<u32>() as i64);
        let clip = if matches!(self.model, Model::BiLstmAttention { .. }) { self.config.grad_clip } else { 0.0 };
        let mut total = 0.0;
        let batches = order.chunks(self.config.batch_size);
        let n = batches.len();
        for chunk in batches {
            let sentences: Vec<&[String]> = chunk.iter().map(|&i| train[i].as_slice()).collect();
            let y: Vec<f32> = chunk.iter().map(|&i| targets[i]).collect();
            let mut b = self.batch(&sentences);
            if self.config.word_dropout > 0.0 && matches!(self.model, Model::BiLstmAttention { .. }) {
                let drop = b.mask.rand_like().lt(self.config.word_dropout).logical_and(&b.mask.gt(0.0));
                b.ids = b.ids.masked_fill(&drop, 1);
            }
            let (logits, _) = self.forward(&b, true);
            let y = Tensor::from_slice(&y).to_device(self.device);
            let loss = logits.binary_cross_entropy_with_logits::<Tensor>(&y, None, None, Reduction::Mean);
            self.optimizer.zero_grad();
            loss.backward();
            if clip > 0.0 {
                self.optimizer.clip_grad_norm(clip);
            }
            self.optimizer.step();
            if let Some(average) = &mut self.average {
                average.update(&self.vs)?;
            }
            total += f64::try_from(loss.detach())?;
        }
        Ok(total / n.max(1) as f64)
    }

    /// Sets the optimiser's learning rate for the next steps.
    pub fn set_learning_rate(&mut self, lr: f64) {
        self.optimizer.set_lr(lr);
    }

    /// Loads weights saved from this model's variables (`model.safetensors`).
    pub fn load_weights(&mut self, path: &std::path::Path) -> Result<()> {
        nnlab_torch::weights::load(&mut self.vs, path)
    }

    /// The probability of "positive" for each sentence, and (BiLSTM) each token's attention weight.
    pub fn predict(&self, sentences: &[Vec<String>]) -> Result<(Vec<f64>, Vec<Vec<f32>>)> {
        let _guard = tch::no_grad_guard();
        let (mut probs, mut weights) = (Vec::new(), Vec::new());
        for chunk in sentences.chunks(256) {
            let refs: Vec<&[String]> = chunk.iter().map(Vec::as_slice).collect();
            let b = self.batch(&refs);
            let (logits, attention) = self.forward(&b, false);
            probs.extend(Vec::<f32>::try_from(logits.sigmoid().to_device(Device::Cpu))?.into_iter().map(f64::from));
            if let Some(a) = attention {
                let a = Vec::<Vec<f32>>::try_from(a.to_device(Device::Cpu))?;
                weights.extend(a.into_iter().zip(&b.lengths).map(|(row, &len)| row[..len].to_vec()));
            }
        }
        Ok((probs, weights))
    }

    /// Everything [`SentimentClassifier::train_epoch`] depends on (variables,
    /// optimiser moments, the batch-order generator): a checkpoint's part.
    pub fn train_state(&self) -> Result<nnlab_torch::state::TrainState> {
        let mut s = nnlab_torch::optim::trainer_state(&self.vs, &self.optimizer, &self.rng)?;
        if let Some(average) = &self.average {
            s.put_part("weight_average", average.train_state()?);
        }
        Ok(s)
    }

    /// Restores what [`SentimentClassifier::train_state`] saved.
    pub fn restore_train_state(&mut self, s: &nnlab_torch::state::TrainState) -> Result<()> {
        self.rng = nnlab_torch::optim::restore_trainer_state(s, &self.vs, &mut self.optimizer)?;
        if let Some(average) = &mut self.average {
            average.restore_train_state(&s.part("weight_average"))?;
        }
        Ok(())
    }

    /// A copy of the weights that are evaluated (for keeping the best
    /// model): the moving average with `weight_average`, else the variables.
    pub fn snapshot(&self) -> nnlab_torch::Snapshot {
        match &self.average {
            Some(average) => average.averages().iter().map(|(k, v)| (k.clone(), v.copy())).collect(),
            None => nnlab_torch::snapshot(&self.vs),
        }
    }

    /// Runs `f` on this model with the weights that are evaluated in place
    /// (the moving average with `weight_average`), then puts the trained ones back.
    pub fn with_evaluated_weights<T>(&self, f: impl FnOnce(&Self) -> Result<T>) -> Result<T> {
        match &self.average {
            Some(average) => average.with_averages(&self.vs, || f(self)),
            None => f(self),
        }
    }

    /// Puts back variables from [`SentimentClassifier::snapshot`].
    pub fn restore_snapshot(&mut self, snapshot: &[(String, Tensor)]) -> Result<()> {
        nnlab_torch::restore_snapshot(&self.vs, snapshot)
    }
}

/// Accuracy and F1 of the positive class.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize)]
pub struct BinaryScores {
    /// Fraction right.
    pub accuracy: f64,
    /// F1 of the positive class.
    pub f1: f64,
    /// Sentences.
    pub support: usize,
}

impl BinaryScores {
    /// Scores of `predicted` against `labels`.
    pub fn new(labels: &[bool], predicted: &[bool]) -> Self {
        let (mut tp, mut fp, mut fneg, mut right) = (0usize, 0usize, 0usize, 0usize);
        for (&y, &p) in labels.iter().zip(predicted) {
            right += usize::from(y == p);
            match (y, p) {
                (true, true) => tp += 1,
                (false, true) => fp += 1,
                (true, false) => fneg += 1,
                _ => {}
            }
        }
        let f1 = if 2 * tp + fp + fneg > 0 { 2.0 * tp as f64 / (2 * tp + fp + fneg) as f64 } else { 0.0 };
        Self { accuracy: right as f64 / labels.len().max(1) as f64, f1, support: labels.len() }
    }
}

#[cfg(test)]
mod tests;
