//! The sequence models: a recurrent layer (Elman RNN, LSTM or GRU, one or
//! both directions, PyTorch's parameter layout and initialisation), the
//! recurrent character language model (embedding, recurrent layers, linear
//! head), and a causal pre-layer-norm transformer whose multi-head
//! self-attention is written out, so that its weights can be drawn.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use tch::nn::{self, Module};
use tch::{Kind, Tensor};

/// The recurrent cell.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Cell {
    /// Elman RNN with tanh (`torch.nn.RNN`).
    Rnn,
    /// Long short-term memory (`torch.nn.LSTM`).
    Lstm,
    /// Gated recurrent unit (`torch.nn.GRU`).
    Gru,
}

impl Cell {
    fn gates(self) -> i64 {
        match self {
            Cell::Rnn => 1,
            Cell::Lstm => 4,
            Cell::Gru => 3,
        }
    }
}

/// Stacked recurrent layers over `[batch, time, features]` inputs, with
/// `torch.nn.RNN/LSTM/GRU`'s parameters (`weight_ih_l0`, `weight_hh_l0`,
/// `bias_ih_l0`, `bias_hh_l0`, `..._reverse`), all drawn from
/// U(-1/sqrt(hidden), 1/sqrt(hidden)) as PyTorch does, and its fused kernels.
#[derive(Debug)]
pub struct Recurrent {
    cell: Cell,
    weights: Vec<Tensor>,
    layers: i64,
    hidden: i64,
    bidirectional: bool,
    dropout: f64,
}

impl Recurrent {
    /// `layers` layers of `hidden` units on `input` features; `dropout` between layers (training only).
    pub fn new(p: &nn::Path, cell: Cell, input: i64, hidden: i64, layers: i64, bidirectional: bool, dropout: f64) -> Self {
        let bound = 1.0 / (hidden as f64).sqrt();
        let init = nn::Init::Uniform { lo: -bound, up: bound };
        let gates = cell.gates() * hidden;
        let directions: &[&str] = if bidirectional { &["", "_reverse"] } else { &[""] };
        let mut weights = Vec::new();
        for layer in 0..layers {
            let fan_in = if layer == 0 { input } else { hidden * directions.len() as i64 };
            for suffix in directions {
                weights.push(p.var(&format!("weight_ih_l{layer}{suffix}"), &[gates, fan_in], init));
                weights.push(p.var(&format!("weight_hh_l{layer}{suffix}"), &[gates, hidden], init));
                weights.push(p.var(&format!("bias_ih_l{layer}{suffix}"), &[gates], init));
                weights.push(p.var(&format!("bias_hh_l{layer}{suffix}"), &[gates], init));
            }
        }
        Self { cell, weights, layers, hidden, bidirectional, dropout }
    }

    /// Outputs `[batch, time, hidden * directions]` of the last layer, from a zero state.
    pub fn forward(&self, x: &Tensor, train: bool) -> Tensor {
        let batch = x.size()[0];
        let directions = if self.bidirectional { 2 } else { 1 };
        let h0 = Tensor::zeros([self.layers * directions, batch, self.hidden], (x.kind(), x.device()));
        let (layers, dropout, bi) = (self.layers, self.dropout, self.bidirectional);
        match self.cell {
            Cell::Lstm => x.lstm(&[&h0, &h0], &self.weights.iter().collect::<Vec<_>>(), true, layers, dropout, train, bi, true).0,
            Cell::Gru => x.gru(&h0, &self.weights, true, layers, dropout, train, bi, true).0,
            Cell::Rnn => x.rnn_tanh(&h0, &self.weights, true, layers, dropout, train, bi, true).0,
        }
    }
}

/// Bidirectional LSTM layers over padded batches `[batch, time, features]`:
/// each direction reads only a sentence's own tokens (the backward LSTM runs
/// on each sentence reversed within its length), so padding never leaks in.
#[derive(Debug)]
pub struct BiLstm {
    layers: Vec<(Recurrent, Recurrent)>,
}

impl BiLstm {
    /// `layers` layers of `hidden` units per direction on `input` features
    /// (variables `forward{l}.*` and `backward{l}.*` under `p`).
    pub fn new(p: &nn::Path, input: i64, hidden: i64, layers: usize) -> Self {
        let mut input = input;
        let layers = (0..layers)
            .map(|l| {
                let pair = (
                    Recurrent::new(&(p / format!("forward{l}")), Cell::Lstm, input, hidden, 1, false, 0.0),
                    Recurrent::new(&(p / format!("backward{l}")), Cell::Lstm, input, hidden, 1, false, 0.0),
                );
                input = 2 * hidden;
                pair
            })
            .collect();
        Self { layers }
    }

    /// Outputs `[batch, time, 2 * hidden]` (forward then backward states) for rows of `lengths` real tokens.
    pub fn forward(&self, x: &Tensor, lengths: &[usize], train: bool) -> Tensor {
        let reverse = reversal_index(lengths, x.size()[1], x.device());
        let mut h = x.shallow_clone();
        for (fwd, bwd) in &self.layers {
            let f = fwd.forward(&h, train);
            let r = h.gather(1, &reverse.unsqueeze(2).expand_as(&h), false);
            let back = bwd.forward(&r, train);
            let back = back.gather(1, &reverse.unsqueeze(2).expand_as(&back), false);
            h = Tensor::cat(&[f, back], 2);
        }
        h
    }
}

/// `[B, T]` positions that reverse each row's first `lengths[b]` entries and keep the padding in place.
pub fn reversal_index(lengths: &[usize], time: i64, device: tch::Device) -> Tensor {
    let t = time as usize;
    let idx: Vec<i64> = lengths.iter().flat_map(|&len| (0..t).map(move |i| if i < len { (len - 1 - i) as i64 } else { i as i64 })).collect();
    Tensor::from_slice(&idx).view([lengths.len() as i64, time]).to_device(device)
}

/// A linear layer drawn as `torch.nn.Linear` is: weight and bias from U(-1/sqrt(fan_in), 1/sqrt(fan_in)).
pub fn torch_linear(p: nn::Path, inputs: i64, outputs: i64) -> nn::Linear {
    let bound = 1.0 / (inputs as f64).sqrt();
    let init = nn::Init::Uniform { lo: -bound, up: bound };
    nn::linear(p, inputs, outputs, nn::LinearConfig { ws_init: init, bs_init: Some(init), bias: true })
}

/// Embedding, recurrent layers, dropout, linear head over the vocabulary.
#[derive(Debug)]
pub struct RecurrentLm {
    embedding: nn::Embedding,
    recurrent: Recurrent,
    head: nn::Linear,
    dropout: f64,
}

impl RecurrentLm {
    /// A model over `vocab` symbols (the embedding drawn from N(0, 1) as `torch.nn.Embedding`).
    pub fn new(p: &nn::Path, cell: Cell, vocab: i64, embedding: i64, hidden: i64, layers: i64, dropout: f64) -> Self {
        let embedding =
            nn::embedding(p / "embedding", vocab, embedding, nn::EmbeddingConfig { ws_init: nn::Init::Randn { mean: 0.0, stdev: 1.0 }, ..Default::default() });
        let recurrent = Recurrent::new(&(p / "rnn"), cell, embedding.ws.size()[1], hidden, layers, false, dropout);
        let head = torch_linear(p / "head", hidden, vocab);
        Self { embedding, recurrent, head, dropout }
    }

    /// Logits `[batch, time, vocab]` of the next symbol at every position of `tokens` `[batch, time]`.
    pub fn logits(&self, tokens: &Tensor, train: bool) -> Tensor {
        let x = self.embedding.forward(tokens).dropout(self.dropout, train);
        let h = self.recurrent.forward(&x, train).dropout(self.dropout, train);
        self.head.forward(&h)
    }
}

/// The size of a [`Transformer`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TransformerShape {
    /// Symbols.
    pub vocab: i64,
    /// The longest input (learned positions).
    pub context: i64,
    /// Width of the residual stream.
    pub d_model: i64,
    /// Attention heads per layer (`d_model` divisible by it).
    pub heads: i64,
    /// Blocks.
    pub layers: i64,
    /// Dropout on embeddings, attention weights and residual branches.
    pub dropout: f64,
}

#[derive(Debug)]
struct Block {
    ln1: nn::LayerNorm,
    qkv: nn::Linear,
    proj: nn::Linear,
    ln2: nn::LayerNorm,
    fc: nn::Linear,
    fc_proj: nn::Linear,
}

/// A GPT-style causal transformer (nanoGPT's layout without weight tying):
/// token and learned position embeddings, pre-layer-norm blocks of
/// multi-head self-attention and a 4x GELU MLP, a final layer norm and a
/// linear head. Weights from N(0, 0.02), the residual projections from
/// N(0, 0.02 / sqrt(2 * layers)), biases zero, as nanoGPT draws them.
#[derive(Debug)]
pub struct Transformer {
    shape: TransformerShape,
    tokens: nn::Embedding,
    positions: nn::Embedding,
    blocks: Vec<Block>,
    ln_f: nn::LayerNorm,
    /// The language model's head; `None` for an encoder ([`Transformer::encoder`]).
    head: Option<nn::Linear>,
}

impl Transformer {
    /// A transformer of `shape` under `p`.
    pub fn new(p: &nn::Path, shape: TransformerShape) -> Self {
        Self::build(p, shape, true)
    }

    /// The same blocks without the head, for reading sentences
    /// ([`Transformer::hidden`]): `vocab` and `context` size the embeddings.
    pub fn encoder(p: &nn::Path, shape: TransformerShape) -> Self {
        Self::build(p, shape, false)
    }

    fn build(p: &nn::Path, shape: TransformerShape, head: bool) -> Self {
        let normal = |std: f64| nn::Init::Randn { mean: 0.0, stdev: std };
        let linear = |p: nn::Path, i: i64, o: i64, std: f64| {
            nn::linear(p, i, o, nn::LinearConfig { ws_init: normal(std), bs_init: Some(nn::Init::Const(0.0)), bias: true })
        };
        let embedding = |p: nn::Path, n: i64| nn::embedding(p, n, shape.d_model, nn::EmbeddingConfig { ws_init: normal(0.02), ..Default::default() });
        let d = shape.d_model;
        let residual_std = 0.02 / (2.0 * shape.layers as f64).sqrt();
        let tokens = embedding(p / "tokens", shape.vocab);
        let positions = embedding(p / "positions", shape.context);
        let blocks = (0..shape.layers)
            .map(|i| {
                let b = p / format!("block{i}");
                Block {
                    ln1: nn::layer_norm(&b / "ln1", vec![d], Default::default()),
                    qkv: linear(&b / "qkv", d, 3 * d, 0.02),
                    proj: linear(&b / "proj", d, d, residual_std),
                    ln2: nn::layer_norm(&b / "ln2", vec![d], Default::default()),
                    fc: linear(&b / "fc", d, 4 * d, 0.02),
                    fc_proj: linear(&b / "fc_proj", 4 * d, d, residual_std),
                }
            })
            .collect();
        let ln_f = nn::layer_norm(p / "ln_f", vec![d], Default::default());
        let head = head.then(|| linear(p / "head", d, shape.vocab, 0.02));
        Self { shape, tokens, positions, blocks, ln_f, head }
    }

    /// The shape.
    pub fn shape(&self) -> TransformerShape {
        self.shape
    }

    /// Logits `[batch, time, vocab]`, and with `keep_attention` each layer's
    /// attention weights `[batch, heads, time, time]`.
    pub fn forward(&self, tokens: &Tensor, train: bool, keep_attention: bool) -> (Tensor, Vec<Tensor>) {
        let (h, attention) = self.hidden(tokens, None, true, train, keep_attention);
        (self.head.as_ref().expect("a language model has its head").forward(&h), attention)
    }

    /// The final layer norm's output `[batch, time, d_model]` and (with
    /// `keep_attention`) each layer's attention weights. `padding` (`[batch,
    /// time]`, true at padding) keeps every position from attending to
    /// padding; `causal` keeps each from attending to later ones.
    pub fn hidden(&self, tokens: &Tensor, padding: Option<&Tensor>, causal: bool, train: bool, keep_attention: bool) -> (Tensor, Vec<Tensor>) {
        let (batch, time) = tokens.size2().expect("tokens are [batch, time]");
        let s = self.shape;
        let (heads, head_dim) = (s.heads, s.d_model / s.heads);
        let device = tokens.device();
        let positions = Tensor::arange(time, (Kind::Int64, device));
        let mut x = (self.tokens.forward(tokens) + self.positions.forward(&positions)).dropout(s.dropout, train);
        let mut hidden_from = causal.then(|| Tensor::ones([time, time], (Kind::Bool, device)).triu(1));
        if let Some(p) = padding {
            let p = p.view([batch, 1, 1, time]);
            hidden_from = Some(match hidden_from {
                Some(f) => f.logical_or(&p),
                None => p,
            });
        }
        let scale = 1.0 / (head_dim as f64).sqrt();
        let mut attention = Vec::new();
        for b in &self.blocks {
            let qkv = b.qkv.forward(&b.ln1.forward(&x));
            let split = qkv.split(s.d_model, -1);
            let heads_of = |t: &Tensor| t.view([batch, time, heads, head_dim]).transpose(1, 2);
            let (q, k, v) = (heads_of(&split[0]), heads_of(&split[1]), heads_of(&split[2]));
            let mut scores = q.matmul(&k.transpose(-2, -1)) * scale;
            if let Some(m) = &hidden_from {
                scores = scores.masked_fill(m, f64::NEG_INFINITY);
            }
            let weights = scores.softmax(-1, Kind::Float);
            if keep_attention {
                attention.push(weights.detach());
            }
            let y = weights.dropout(s.dropout, train).matmul(&v).transpose(1, 2).contiguous().view([batch, time, s.d_model]);
            x = &x + b.proj.forward(&y).dropout(s.dropout, train);
            let h = b.fc.forward(&b.ln2.forward(&x)).gelu("none");
            x = &x + b.fc_proj.forward(&h).dropout(s.dropout, train);
        }
        (self.ln_f.forward(&x), attention)
    }
}

/// A character language model: recurrent or transformer.
#[derive(Debug)]
pub enum CharModel {
    /// See [`RecurrentLm`].
    Recurrent(RecurrentLm),
    /// See [`Transformer`].
    Transformer(Transformer),
}

impl CharModel {
    /// Logits `[batch, time, vocab]` of the next symbol at every position.
    pub fn logits(&self, tokens: &Tensor, train: bool) -> Tensor {
        match self {
            CharModel::Recurrent(m) => m.logits(tokens, train),
            CharModel::Transformer(m) => m.forward(tokens, train, false).0,
        }
    }

    /// Each layer's attention weights `[batch, heads, time, time]` on `tokens`
    /// (evaluation mode); `None` for a recurrent model.
    pub fn attention(&self, tokens: &Tensor) -> Option<Vec<Tensor>> {
        match self {
            CharModel::Recurrent(_) => None,
            CharModel::Transformer(m) => {
                let _guard = tch::no_grad_guard();
                Some(m.forward(tokens, false, true).1)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reversal_keeps_padding_in_place() {
        let r = reversal_index(&[3, 1], 4, tch::Device::Cpu);
        assert_eq!(Vec::<i64>::try_from(r.flatten(0, -1)).unwrap(), vec![2, 1, 0, 3, 0, 1, 2, 3]);
    }

    /// Padding after a sentence changes none of its BiLSTM outputs.
    #[test]
    fn bilstm_outputs_ignore_padding() {
        let vs = nn::VarStore::new(tch::Device::Cpu);
        let bi = BiLstm::new(&vs.root(), 3, 4, 2);
        let x = Tensor::randn([1, 5, 3], (Kind::Float, tch::Device::Cpu));
        let alone = bi.forward(&x.narrow(1, 0, 3), &[3], false);
        let padded = bi.forward(&x, &[3], false).narrow(1, 0, 3);
        assert!(f64::try_from((alone - padded).abs().max()).unwrap() < 1e-6);
    }
}
