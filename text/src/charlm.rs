//! Character-level language modelling: one [`CharLmConfig`] (nanoGPT's CPU
//! budget by default: context 64, batch 12, 2,000 iterations, AdamW 1e-3
//! with 100 warm-up steps and cosine decay to 1e-4, betas (0.9, 0.99),
//! weight decay 0.1 on matrices, gradient clipping at 1.0, no dropout) and
//! [`CharLmTrainer`]: random training windows, a fixed set of validation
//! windows for learning curves, the loss over every character of a split,
//! and sampling with temperature and top-k.
//!
//! Every random choice (training windows, the per-step seed of torch's
//! dropout masks, samples) comes from seeded generators that checkpoints
//! save, so a resumed run continues bit for bit.

use crate::models::{Cell, CharModel, RecurrentLm, Transformer, TransformerShape};
use anyhow::{bail, Result};
use nnlab_torch::check::{in_half_open, in_range, non_negative, nonzero, positive};
use nnlab_torch::optim::{AdamW, Optimizer, Rule};
use nnlab_torch::state::TrainState;
use nnlab_torch::with_torch_seed;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use tch::{nn, Device, Kind, Reduction, Tensor};

/// Which language model.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum LmKind {
    /// The seed's Elman RNN (tanh) with an embedding and a linear head.
    Rnn,
    /// LSTM layers.
    Lstm,
    /// GRU layers.
    Gru,
    /// A causal pre-layer-norm transformer.
    Transformer,
}

impl LmKind {
    /// The name used in presets and folders.
    pub fn name(self) -> &'static str {
        match self {
            LmKind::Rnn => "rnn",
            LmKind::Lstm => "lstm",
            LmKind::Gru => "gru",
            LmKind::Transformer => "transformer",
        }
    }
}

/// Every knob of a character language model run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct CharLmConfig {
    /// Seed of the initialisation, the training windows, dropout and samples.
    pub seed: u64,
    /// `rnn`, `lstm`, `gru` or `transformer`.
    pub model: LmKind,
    /// Characters per training window (and the transformer's longest input).
    pub context: usize,
    /// Windows per optimisation step.
    pub batch_size: usize,
    /// Optimisation steps.
    pub iterations: u64,
    /// Peak learning rate (AdamW).
    pub learning_rate: f64,
    /// Where the cosine decay ends.
    #[schemars(range(min = 0.0))]
    pub min_learning_rate: f64,
    /// Steps of linear warm-up.
    pub warmup_iterations: u64,
    /// AdamW's first-moment decay, in [0, 1).
    pub beta1: f64,
    /// AdamW's second-moment decay, in [0, 1).
    pub beta2: f64,
    /// AdamW's decoupled weight decay, on matrices and embeddings only.
    #[schemars(range(min = 0.0))]
    pub weight_decay: f64,
    /// Clip the gradients' joint L2 norm to this (0: no clipping).
    #[schemars(range(min = 0.0))]
    pub grad_clip: f64,
    /// Dropout (embeddings, between and after recurrent layers; the
    /// transformer's embeddings, attention weights and residual branches).
    #[schemars(range(min = 0.0, max = 1.0))]
    pub dropout: f64,
    /// Size of the character embeddings (recurrent models).
    pub embedding: usize,
    /// Units per recurrent layer.
    pub hidden: usize,
    /// Recurrent layers, or transformer blocks.
    pub layers: usize,
    /// Width of the transformer's residual stream.
    pub d_model: usize,
    /// Attention heads per transformer block (`d_model` divisible by it).
    pub heads: usize,
    /// Estimate the losses for the learning curves every this many steps.
    pub eval_interval: u64,
    /// Validation windows (of `batch_size`) in each estimate: a fixed set, drawn once.
    pub eval_batches: usize,
    /// Windows per forward pass when a whole split is scored.
    pub eval_batch_size: usize,
    /// The prompt of the run's own samples (empty: a newline, or the first symbol of a text without newlines).
    pub sample_prompt: String,
    /// Characters the run's own samples generate.
    pub sample_length: usize,
    /// Softmax temperature of sampling.
    pub sample_temperature: f64,
    /// Sample among the `k` likeliest characters only (0: all).
    pub sample_top_k: usize,
}

nnlab_torch::run_config!(CharLmConfig);

impl Default for CharLmConfig {
    fn default() -> Self {
        Self {
            seed: 1,
            model: LmKind::Lstm,
            context: 64,
            batch_size: 12,
            iterations: 2000,
            learning_rate: 1e-3,
            min_learning_rate: 1e-4,
            warmup_iterations: 100,
            beta1: 0.9,
            beta2: 0.99,
            weight_decay: 0.1,
            grad_clip: 1.0,
            dropout: 0.0,
            embedding: 128,
            hidden: 256,
            layers: 2,
            d_model: 128,
            heads: 4,
            eval_interval: 100,
            eval_batches: 20,
            eval_batch_size: 256,
            sample_prompt: String::new(),
            sample_length: 500,
            sample_temperature: 0.8,
            sample_top_k: 0,
        }
    }
}

impl CharLmConfig {
    /// Typed checks, one-line errors naming the key.
    pub fn validate(&self) -> Result<()> {
        nonzero("context", self.context)?;
        nonzero("batch_size", self.batch_size)?;
        nonzero("iterations", self.iterations as usize)?;
        positive("learning_rate", self.learning_rate)?;
        non_negative("min_learning_rate", self.min_learning_rate)?;
        if self.min_learning_rate > self.learning_rate {
            bail!("min_learning_rate ({}) is above learning_rate ({})", self.min_learning_rate, self.learning_rate);
        }
        if self.warmup_iterations > self.iterations {
            bail!("warmup_iterations ({}) is longer than the run ({} iterations)", self.warmup_iterations, self.iterations);
        }
        in_half_open("beta1", self.beta1, 0.0, 1.0)?;
        in_half_open("beta2", self.beta2, 0.0, 1.0)?;
        non_negative("weight_decay", self.weight_decay)?;
        non_negative("grad_clip", self.grad_clip)?;
        in_range("dropout", self.dropout, 0.0, 1.0)?;
        nonzero("layers", self.layers)?;
        nonzero("eval_interval", self.eval_interval as usize)?;
        nonzero("eval_batches", self.eval_batches)?;
        nonzero("eval_batch_size", self.eval_batch_size)?;
        nonzero("sample_length", self.sample_length)?;
        if !(self.sample_temperature > 0.0 && self.sample_temperature.is_finite()) {
            bail!("sample_temperature must be a number > 0, got {}", self.sample_temperature);
        }
        match self.model {
            LmKind::Transformer => {
                nonzero("d_model", self.d_model)?;
                nonzero("heads", self.heads)?;
                if !self.d_model.is_multiple_of(self.heads) {
                    bail!("d_model ({}) must be divisible by heads ({})", self.d_model, self.heads);
                }
            }
            _ => {
                nonzero("embedding", self.embedding)?;
                nonzero("hidden", self.hidden)?;
            }
        }
        self.fits()
    }

    /// Whether the model and one batch's activations fit in memory (a
    /// byte-level vocabulary of at most 256 symbols), checked before any run
    /// folder is made instead of failing in torch's allocator.
    fn fits(&self) -> Result<()> {
        let (b, t, l) = (self.batch_size as u128, self.context as u128, self.layers as u128);
        let (params, activations, key) = match self.model {
            LmKind::Transformer => {
                let d = self.d_model as u128;
                let params = l.saturating_mul(12).saturating_mul(d).saturating_mul(d).saturating_add(256u128.saturating_mul(d).saturating_mul(2));
                let per_layer = b
                    .saturating_mul(t)
                    .saturating_mul(d)
                    .saturating_mul(16)
                    .saturating_add(b.saturating_mul(self.heads as u128).saturating_mul(t).saturating_mul(t).saturating_mul(3));
                (params, l.saturating_mul(per_layer), "d_model")
            }
            _ => {
                let (e, h) = (self.embedding as u128, self.hidden as u128);
                let params = l
                    .saturating_mul(4)
                    .saturating_mul(h)
                    .saturating_mul(e.max(h).saturating_add(h).saturating_add(2))
                    .saturating_add(256u128.saturating_mul(e.saturating_add(h)));
                (params, l.saturating_mul(b).saturating_mul(t).saturating_mul(h).saturating_mul(8), "hidden")
            }
        };
        nnlab_torch::check::network_fits(key, params)?;
        // f32 activations, kept for the backward pass.
        nnlab_torch::check::fits_in_memory(
            &format!("{key} with batch_size = {} and context = {} (one batch's activations)", self.batch_size, self.context),
            activations.saturating_mul(4),
        )
    }

    /// The learning rate of step `step` (from 0): linear warm-up to
    /// `learning_rate` over `warmup_iterations` (step `i` gets `(i + 1) / (warmup + 1)`
    /// of it), then cosine decay to `min_learning_rate` at the last step.
    pub fn lr_at(&self, step: u64) -> f64 {
        let (lr, min) = (self.learning_rate, self.min_learning_rate);
        if step < self.warmup_iterations {
            return lr * (step + 1) as f64 / (self.warmup_iterations + 1) as f64;
        }
        let span = (self.iterations - self.warmup_iterations).saturating_sub(1).max(1);
        nnlab_torch::optim::cosine_anneal(lr, min, (step - self.warmup_iterations) as f64 / span as f64)
    }

    /// Fails unless a training text of `train_len` symbols holds a window.
    pub fn check_data(&self, train_len: usize) -> Result<()> {
        if train_len <= self.context {
            bail!("the training text ({train_len} characters) must be longer than context ({})", self.context);
        }
        Ok(())
    }
}

/// The loss of a model over a whole text.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TextLoss {
    /// Mean cross-entropy per predicted character, in nats.
    pub nats: f64,
    /// The same in bits per character.
    pub bits_per_char: f64,
    /// Characters predicted (all but the first).
    pub characters: usize,
}

/// A language model with its optimiser and random state.
pub struct CharLmTrainer {
    config: CharLmConfig,
    vs: nn::VarStore,
    model: CharModel,
    optimizer: Optimizer,
    rng: ChaCha8Rng,
    vocab: i64,
    device: Device,
}

impl CharLmTrainer {
    /// A fresh model over `vocab` symbols, initialised under the seed.
    pub fn new(config: CharLmConfig, vocab: usize, device: Device) -> Result<Self> {
        config.validate()?;
        let vs = nn::VarStore::new(device);
        let vocab = vocab as i64;
        let c = &config;
        let model = with_torch_seed(c.seed, || {
            let root = vs.root();
            let cell = |cell| CharModel::Recurrent(RecurrentLm::new(&root, cell, vocab, c.embedding as i64, c.hidden as i64, c.layers as i64, c.dropout));
            match c.model {
                LmKind::Rnn => cell(Cell::Rnn),
                LmKind::Lstm => cell(Cell::Lstm),
                LmKind::Gru => cell(Cell::Gru),
                LmKind::Transformer => CharModel::Transformer(Transformer::new(
                    &root,
                    TransformerShape {
                        vocab,
                        context: c.context as i64,
                        d_model: c.d_model as i64,
                        heads: c.heads as i64,
                        layers: c.layers as i64,
                        dropout: c.dropout,
                    },
                )),
            }
        });
        let rule = Rule::AdamW(AdamW { beta1: c.beta1, beta2: c.beta2, eps: 1e-8, weight_decay: c.weight_decay });
        let optimizer = Optimizer::new(&vs, rule, c.learning_rate)?.decay_matrices_only();
        let rng = ChaCha8Rng::seed_from_u64(c.seed);
        Ok(Self { config, vs, model, optimizer, rng, vocab, device })
    }

    /// The config.
    pub fn config(&self) -> &CharLmConfig {
        &self.config
    }

    /// The model's variables.
    pub fn var_store(&self) -> &nn::VarStore {
        &self.vs
    }

    /// The model.
    pub fn model(&self) -> &CharModel {
        &self.model
    }

    /// Trainable parameters.
    pub fn parameters(&self) -> i64 {
        self.vs.trainable_variables().iter().map(|t| t.numel() as i64).sum()
    }

    /// Optimisation steps taken.
    pub fn steps(&self) -> u64 {
        self.optimizer.steps()
    }

    /// `batch` windows of `context + 1` symbols of `tokens` starting at
    /// `starts`: (inputs, targets shifted by one), each `[batch, context]`.
    fn windows(&self, tokens: &[i64], starts: &[usize]) -> (Tensor, Tensor) {
        let t = self.config.context;
        let mut x = Vec::with_capacity(starts.len() * t);
        let mut y = Vec::with_capacity(starts.len() * t);
        for &s in starts {
            x.extend_from_slice(&tokens[s..s + t]);
            y.extend_from_slice(&tokens[s + 1..s + t + 1]);
        }
        let shape = [starts.len() as i64, t as i64];
        (Tensor::from_slice(&x).view(shape).to_device(self.device), Tensor::from_slice(&y).view(shape).to_device(self.device))
    }

    /// Uniformly drawn window starts of `tokens`.
    fn random_starts(rng: &mut ChaCha8Rng, len: usize, context: usize, n: usize) -> Vec<usize> {
        (0..n).map(|_| rng.random_range(0..len - context)).collect()
    }

    /// The fixed validation windows of the learning-curve estimates (their own generator).
    pub fn eval_windows(&self, len: usize) -> Vec<usize> {
        let mut rng = ChaCha8Rng::seed_from_u64(self.config.seed ^ 0x00e7_a1c4_a700);
        let n = self.config.eval_batches * self.config.batch_size;
        Self::random_starts(&mut rng, len, self.config.context.min(len.saturating_sub(1)), n)
    }

    /// One optimisation step on a random batch of `train`; returns the loss (nats per character).
    pub fn train_step(&mut self, train: &[i64]) -> Result<f64> {
        let step = self.optimizer.steps();
        self.optimizer.set_lr(self.config.lr_at(step));
        let starts = Self::random_starts(&mut self.rng, train.len(), self.config.context, self.config.batch_size);
        if self.config.dropout > 0.0 {
            tch::manual_seed(self.rng.random::<u32>() as i64);
        }
        let (x, y) = self.windows(train, &starts);
        let logits = self.model.logits(&x, true);
        let loss = logits.view([-1, self.vocab]).cross_entropy_loss::<Tensor>(&y.view([-1]), None, Reduction::Mean, -100, 0.0);
        self.optimizer.zero_grad();
        loss.backward();
        if self.config.grad_clip > 0.0 {
            self.optimizer.clip_grad_norm(self.config.grad_clip);
        }
        self.optimizer.step();
        Ok(f64::try_from(loss.detach())?)
    }

    /// The learning rate of the last step.
    pub fn learning_rate(&self) -> f64 {
        self.optimizer.lr()
    }

    /// Mean loss (nats) on the windows of `tokens` starting at `starts`, in evaluation mode.
    pub fn loss_on(&self, tokens: &[i64], starts: &[usize]) -> Result<f64> {
        let _guard = tch::no_grad_guard();
        let mut sum = 0.0;
        let mut n = 0usize;
        for chunk in starts.chunks(self.config.eval_batch_size) {
            let (x, y) = self.windows(tokens, chunk);
            let logits = self.model.logits(&x, false);
            let nll = logits.view([-1, self.vocab]).to_kind(Kind::Float).cross_entropy_loss::<Tensor>(&y.view([-1]), None, Reduction::Sum, -100, 0.0);
            sum += f64::try_from(nll)?;
            n += y.numel();
        }
        Ok(sum / n as f64)
    }

    /// The loss over every character of `tokens` (each predicted from the
    /// characters before it in its window): non-overlapping windows of
    /// `context`, each from a fresh state; the last one may be shorter.
    pub fn text_loss(&self, tokens: &[i64]) -> Result<TextLoss> {
        let _guard = tch::no_grad_guard();
        let t = self.config.context;
        let predicted = tokens.len().saturating_sub(1);
        if predicted == 0 {
            bail!("a text needs at least two characters to be scored");
        }
        let full: Vec<usize> = (0..predicted / t).map(|i| i * t).collect();
        let mut sum = 0.0;
        for chunk in full.chunks(self.config.eval_batch_size) {
            let (x, y) = self.windows(tokens, chunk);
            let logits = self.model.logits(&x, false);
            sum += f64::try_from(
                logits.view([-1, self.vocab]).cross_entropy_loss::<Tensor>(&y.view([-1]), None, Reduction::Sum, -100, 0.0).to_kind(Kind::Double),
            )?;
        }
        let rest = predicted % t;
        if rest > 0 {
            let s = predicted - rest;
            let x = Tensor::from_slice(&tokens[s..s + rest]).view([1, rest as i64]).to_device(self.device);
            let y = Tensor::from_slice(&tokens[s + 1..s + rest + 1]).to_device(self.device);
            let logits = self.model.logits(&x, false);
            sum += f64::try_from(logits.view([-1, self.vocab]).cross_entropy_loss::<Tensor>(&y, None, Reduction::Sum, -100, 0.0).to_kind(Kind::Double))?;
        }
        let nats = sum / predicted as f64;
        Ok(TextLoss { nats, bits_per_char: nats / std::f64::consts::LN_2, characters: predicted })
    }

    /// `length` symbols generated after `prompt` (indices, non-empty), each
    /// drawn from the model's distribution given the last `context` symbols,
    /// sharpened by `temperature` and cut to the `top_k` likeliest (0: all).
    pub fn sample(&self, prompt: &[i64], length: usize, temperature: f64, top_k: usize, rng: &mut ChaCha8Rng) -> Result<Vec<i64>> {
        if prompt.is_empty() {
            bail!("the prompt must hold at least one character");
        }
        if !(temperature > 0.0 && temperature.is_finite()) {
            bail!("the temperature must be a number > 0, got {temperature}");
        }
        let _guard = tch::no_grad_guard();
        let mut seq = prompt.to_vec();
        for _ in 0..length {
            let from = seq.len().saturating_sub(self.config.context);
            let x = Tensor::from_slice(&seq[from..]).view([1, -1]).to_device(self.device);
            let logits = self.model.logits(&x, false).get(0).get(-1).to_kind(Kind::Double).to_device(Device::Cpu) / temperature;
            let mut logits = Vec::<f64>::try_from(logits)?;
            if top_k > 0 && top_k < logits.len() {
                let mut sorted = logits.clone();
                sorted.sort_by(|a, b| b.total_cmp(a));
                let cut = sorted[top_k - 1];
                for l in logits.iter_mut().filter(|l| **l < cut) {
                    *l = f64::NEG_INFINITY;
                }
            }
            let max = logits.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
            let weights: Vec<f64> = logits.iter().map(|l| libm::exp(l - max)).collect();
            let total: f64 = weights.iter().sum();
            let mut u = rng.random::<f64>() * total;
            let mut next = weights.len() - 1;
            for (i, w) in weights.iter().enumerate() {
                if u < *w {
                    next = i;
                    break;
                }
                u -= w;
            }
            seq.push(next as i64);
        }
        Ok(seq[prompt.len()..].to_vec())
    }

    /// Loads weights saved with [`nn::VarStore::save`] (a run's `model.safetensors`).
    pub fn load_weights(&mut self, path: &std::path::Path) -> Result<()> {
        nnlab_torch::weights::load(&mut self.vs, path)
    }

    /// The state a checkpoint needs: weights, optimiser, generator.
    pub fn train_state(&self) -> Result<TrainState> {
        nnlab_torch::optim::trainer_state(&self.vs, &self.optimizer, &self.rng)
    }

    /// Restores what [`CharLmTrainer::train_state`] saved.
    pub fn restore_train_state(&mut self, s: &TrainState) -> Result<()> {
        self.rng = nnlab_torch::optim::restore_trainer_state(s, &self.vs, &mut self.optimizer)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn warm_up_then_cosine_to_the_floor() {
        let c = CharLmConfig::default();
        assert!((c.lr_at(0) - 1e-3 / 101.0).abs() < 1e-15);
        assert!((c.lr_at(99) - 1e-3 * 100.0 / 101.0).abs() < 1e-15);
        assert!((c.lr_at(100) - 1e-3).abs() < 1e-15);
        assert!((c.lr_at(1999) - 1e-4).abs() < 1e-15);
        assert!(c.lr_at(1000) < 1e-3 && c.lr_at(1000) > 1e-4);
    }

    #[test]
    fn parameter_counts_match_pytorch() {
        // PyTorch, 82 symbols: LSTM 953,170; transformer 822,610.
        let lstm = CharLmTrainer::new(CharLmConfig::default(), 82, Device::Cpu).unwrap();
        assert_eq!(lstm.parameters(), 953_170);
        let t = CharLmConfig { model: LmKind::Transformer, layers: 4, ..Default::default() };
        assert_eq!(CharLmTrainer::new(t, 82, Device::Cpu).unwrap().parameters(), 822_610);
    }

    #[test]
    fn bad_keys_are_refused_by_name() {
        for (c, key) in [
            (CharLmConfig { learning_rate: 0.0, ..Default::default() }, "learning_rate"),
            (CharLmConfig { model: LmKind::Transformer, heads: 3, ..Default::default() }, "heads"),
            (CharLmConfig { sample_temperature: 0.0, ..Default::default() }, "sample_temperature"),
            (CharLmConfig { warmup_iterations: 5000, ..Default::default() }, "warmup_iterations"),
            (CharLmConfig { sample_length: 0, ..Default::default() }, "sample_length"),
        ] {
            let err = c.validate().unwrap_err().to_string();
            assert!(err.contains(key), "{err}");
        }
    }
}
