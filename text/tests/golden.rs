//! Fixed-seed regression tests: a short run of each language model (the
//! Elman RNN, LSTM, GRU and transformer, with dropout, warm-up, cosine decay,
//! weight decay and clipping) on a fixed text must repeat its committed
//! numbers bit for bit, in portable numerics (`nnlab_torch::numerics`), so
//! on any x86-64 CPU (`scripts/check-portability.sh` runs this file under
//! foreign dispatch settings and on an emulated CPU). After an intended
//! change of behaviour, `NNLAB_WRITE_GOLDEN=1 cargo test --release -p
//! nnlab-text --test golden` rewrites the files under `tests/golden/`
//! (review the diff before committing).

use nnlab_data::CharVocabulary;
use nnlab_text::{CharLmConfig, CharLmTrainer, LmKind};
use nnlab_torch::golden::{check, twice};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde_json::{json, Value};
use tch::Device;

const TEXT: &str = "Shall I compare thee to a summer's day?\nThou art more lovely and more temperate:\n";

/// Trains `model` for 12 steps twice and returns the losses, the loss over
/// the whole text and a sample; both runs must agree.
fn run(model: LmKind) -> Value {
    let config = CharLmConfig {
        seed: 2,
        model,
        context: 12,
        batch_size: 4,
        iterations: 12,
        warmup_iterations: 3,
        learning_rate: 1e-2,
        dropout: 0.1,
        embedding: 8,
        hidden: 16,
        layers: 2,
        d_model: 16,
        heads: 2,
        ..Default::default()
    };
    let vocab = CharVocabulary::from_text(TEXT);
    let tokens = vocab.encode(TEXT);
    let once = || {
        let mut t = CharLmTrainer::new(config.clone(), vocab.len(), Device::Cpu).unwrap();
        let losses: Vec<f64> = (0..config.iterations).map(|_| t.train_step(&tokens).unwrap()).collect();
        let whole = t.text_loss(&tokens).unwrap();
        let sample = t.sample(&vocab.encode("Sh"), 16, 0.8, 5, &mut ChaCha8Rng::seed_from_u64(7)).unwrap();
        let sample: String = sample.iter().map(|&i| vocab.char(i as usize)).collect();
        json!({"losses": losses, "text_nats": whole.nats, "text_bits_per_char": whole.bits_per_char, "sample": sample, "lr": t.learning_rate()})
    };
    twice(once)
}

#[test]
fn the_seed_rnn_matches_golden_values() {
    check(env!("CARGO_MANIFEST_DIR"), "rnn_seed2", &run(LmKind::Rnn));
}

#[test]
fn the_lstm_matches_golden_values() {
    check(env!("CARGO_MANIFEST_DIR"), "lstm_seed2", &run(LmKind::Lstm));
}

#[test]
fn the_gru_matches_golden_values() {
    check(env!("CARGO_MANIFEST_DIR"), "gru_seed2", &run(LmKind::Gru));
}

#[test]
fn the_transformer_matches_golden_values() {
    check(env!("CARGO_MANIFEST_DIR"), "transformer_seed2", &run(LmKind::Transformer));
}
