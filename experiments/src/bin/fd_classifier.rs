//! Trains the Fréchet-distance feature classifier (the CNN of
//! `nnlab_generative::classifier`) on Fashion-MNIST and writes its weights,
//! the way the committed `generative/weights/fashion_mnist_cnn.safetensors`
//! was made:
//!
//!     cargo run --release --bin fd_classifier -- --out generative/weights/fashion_mnist_cnn.safetensors
//!
//! It trains in portable numerics (seed 0, one thread; the same bits on any
//! x86-64 CPU) and prints the test accuracy and the SHA-256 to record in
//! `classifier.rs` (`SHIPPED_SHA256`, `SHIPPED_TEST_CORRECT`).

use anyhow::{Context, Result};
use clap::Parser;
use nnlab_experiments::cli::parse_args;
use nnlab_experiments::run_dir::write_atomic;
use nnlab_generative::classifier::{sha256_hex, Classifier, ClassifierConfig};
use nnlab_generative::data::load_28x28;
use nnlab_torch::numerics::{self, Numerics};
use std::path::PathBuf;

/// Train the Fréchet-distance feature classifier and write its weights.
#[derive(Debug, Parser)]
#[command(version)]
struct Args {
    /// Where to write the weights (safetensors).
    #[arg(long, value_name = "FILE")]
    out: PathBuf,
    /// Folder with MNIST-format IDX files instead of Fashion-MNIST.
    #[arg(long, value_name = "DIR")]
    data_dir: Option<PathBuf>,
    /// Numerics of the training (portable: the committed weights).
    #[arg(long, default_value = "portable", value_parser = |s: &str| s.parse::<Numerics>())]
    numerics: Numerics,
}

fn run() -> Result<()> {
    let args: Args = parse_args()?;
    numerics::init(args.numerics).map_err(anyhow::Error::msg)?;
    tch::set_num_threads(1);
    let (dir, train_set, test_set) = load_28x28(args.data_dir.as_deref())?;
    let device = tch::Device::Cpu;
    let config = ClassifierConfig::default();
    eprintln!("fd_classifier: training on {} images from {} ({:?}, {} numerics)", train_set.len, dir.display(), config, args.numerics);
    let mut c = Classifier::new(config.seed, device);
    let losses = c.train(&config, &train_set.images_tensor(device), &train_set.labels_tensor(device))?;
    let accuracy = c.accuracy(&test_set.images_tensor(device), &test_set.labels_tensor(device))?;
    let bytes = c.safetensors_bytes().context("serialising the weights")?;
    write_atomic(&args.out, &bytes)?;
    nnlab_experiments::out!("epoch losses: {losses:?}");
    nnlab_experiments::out!("test accuracy: {:.2}% ({} of {})", 100.0 * accuracy, (accuracy * test_set.len as f64).round() as i64, test_set.len);
    nnlab_experiments::out!("sha256: {}", sha256_hex(&bytes));
    nnlab_experiments::out!("weights: {}", args.out.display());
    Ok(())
}

fn main() -> std::process::ExitCode {
    nnlab_experiments::main_wrapper("fd_classifier", run)
}
