//! Fixed-seed regression tests: a short run of the seed CNN and of a small
//! ResNet (crops, flips, random erasing, dropout, label smoothing, one-cycle,
//! AdamW, channels-last activations) on
//! synthetic images must repeat its committed numbers bit for bit, in
//! portable numerics (`nnlab_torch::numerics`), so on any x86-64 CPU
//! (`scripts/check-portability.sh` runs this file under foreign dispatch
//! settings and on an emulated CPU). After an intended change of behaviour,
//! `NNLAB_WRITE_GOLDEN=1 cargo test --release -p nnlab-vision --test golden`
//! rewrites the files under `tests/golden/` (review the diff before committing).

use nnlab_data::ImageSet;
use nnlab_torch::golden::{check, twice};
use nnlab_vision::models::Architecture;
use nnlab_vision::trainer::{LrSchedule, OptimizerKind};
use nnlab_vision::{CnnConfig, CnnTrainer, ImageShape};
use serde_json::{json, Value};
use tch::{Device, Kind};

/// 160 28x28 images of four noisy prototypes (fixed bytes from a tiny LCG), labelled by prototype.
fn images() -> ImageSet {
    let mut state = 12345u64;
    let mut next = || {
        state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        (state >> 56) as u8
    };
    let protos: Vec<Vec<u8>> = (0..4).map(|_| (0..784).map(|_| if next() > 127 { 220 } else { 20 }).collect()).collect();
    let n = 160;
    let pixels = (0..n).flat_map(|i| protos[i % 4].clone()).map(|p| p.saturating_add(next() / 8)).collect();
    ImageSet { len: n, channels: 1, rows: 28, cols: 28, pixels, labels: (0..n).map(|i| (i % 4) as u8).collect() }
}

/// Trains `config` for its epochs on [`images`] (the first 32 held out) twice
/// and returns the epochs' losses and accuracies, the validation accuracy and
/// the probabilities of the first four validation images; both runs must agree.
fn run(config: CnnConfig) -> Value {
    let once = || {
        let data = images();
        let (train, val) = CnnTrainer::split(&config, &data);
        let shape = ImageShape { channels: 1, height: 28, width: 28 };
        let mut t = CnnTrainer::new(config.clone(), shape, 4, Device::Cpu).unwrap();
        let epochs: Vec<(f64, f64, f64)> = (0..config.epochs)
            .map(|_| {
                let s = t.train_epoch(&train, 0, &mut |_, _| Ok(())).unwrap();
                (s.loss, s.accuracy, s.learning_rate)
            })
            .collect();
        let (val_loss, val_acc) = t.evaluate(&val).unwrap();
        let probs = Vec::<f32>::try_from(t.probabilities(&val).unwrap().narrow(0, 0, 4).flatten(0, -1).to_kind(Kind::Float)).unwrap();
        json!({"epochs": epochs, "validation_loss": val_loss, "validation_accuracy": val_acc, "probabilities": probs})
    };
    twice(once)
}

#[test]
fn the_seed_cnn_matches_golden_values() {
    let config = CnnConfig { seed: 3, epochs: 2, batch_size: 16, validation_size: 32, learning_rate: 0.01, ..Default::default() };
    check(env!("CARGO_MANIFEST_DIR"), "seed_cnn_seed3", &run(config));
}

/// The preset's recipe on a tiny ResNet: AdamW, one-cycle, label smoothing, crops, flips.
fn resnet_recipe() -> CnnConfig {
    CnnConfig {
        seed: 3,
        model: Architecture::Resnet,
        widths: vec![4, 8],
        dropout: 0.3,
        epochs: 2,
        batch_size: 16,
        validation_size: 32,
        optimizer: OptimizerKind::Adamw,
        learning_rate: 3e-3,
        weight_decay: 0.05,
        schedule: LrSchedule::Onecycle,
        label_smoothing: 0.1,
        crop_padding: 2,
        horizontal_flip: true,
        ..Default::default()
    }
}

#[test]
fn the_resnet_recipe_matches_golden_values() {
    check(env!("CARGO_MANIFEST_DIR"), "resnet_seed3", &run(resnet_recipe()));
}

#[test]
fn the_resnet_with_channels_last_and_random_erasing_matches_golden_values() {
    let config = CnnConfig { seed: 4, dropout: 0.2, random_erasing: 0.5, test_time_flip: true, channels_last: true, ..resnet_recipe() };
    check(env!("CARGO_MANIFEST_DIR"), "resnet_channels_last_erasing_seed4", &run(config));
}
