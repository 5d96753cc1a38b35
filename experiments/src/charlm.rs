//! The character-level language models behind `charlm` and
//! `charlm_shakespeare`: trains a [`CharLmTrainer`] on Shakespeare's plays
//! (or a folder of `train.txt`, `validation.txt`, `test.txt`), scores the
//! validation and test texts over every character once at the end, and
//! writes the run folder: `config.toml`, `metrics.csv` (every
//! `eval_interval` steps: the mean training loss since the last row, the
//! loss on a fixed set of validation windows, the learning rate), `steps.csv`,
//! `tb/` (the same, and the training characters per second, which
//! `metrics.csv` leaves out so that two runs of a seed compare with `cmp`),
//! `losses.png`, `samples.txt`, `attention.png` (transformer),
//! `vocabulary.txt`, `model.safetensors` and `summary.json`.
//!
//! `charlm --run RUN_DIR --sample PROMPT` puts a trained model to work.

use crate::cli::{parse_args_about, ExperimentArgs};
use crate::device;
use crate::fit::{fit, Fitted};
use crate::plot::{self, Series};
use crate::scaffold::Experiment;
use anyhow::{bail, Context, Result};
use nnlab_data::{cache_dir, load_shakespeare, CharVocabulary, TextSplits};
use nnlab_text::{CharLmConfig, CharLmFit, CharLmTrainer, LmKind};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

macro_rules! presets {
    ($($kind:ident => $name:literal, $quality:literal;)*) => {
        /// The shipped preset of a model: `experiments/configs/charlm/<model>[-quality].toml`.
        pub fn preset(model: LmKind, quality: bool) -> crate::config::Preset {
            match (model, quality) {
                $(
                    (LmKind::$kind, false) => crate::preset!($name),
                    (LmKind::$kind, true) => crate::preset!($quality),
                )*
            }
        }
    };
}
presets!(
    Rnn => "charlm/rnn.toml", "charlm/rnn-quality.toml";
    Lstm => "charlm/lstm.toml", "charlm/lstm-quality.toml";
    Gru => "charlm/gru.toml", "charlm/gru-quality.toml";
    Transformer => "charlm/transformer.toml", "charlm/transformer-quality.toml";
);

/// The flags of the character language models.
#[derive(Debug, Clone, clap::Parser)]
#[command(version)]
pub struct CharLmArgs {
    /// The shared flags and `--seeds`.
    #[command(flatten)]
    pub experiment: ExperimentArgs,
    /// The model whose preset to start from (without --config).
    #[arg(long, value_enum, default_value = "lstm", conflicts_with = "config")]
    pub model: LmKind,
    /// Start from the model's larger `quality` preset (for a GPU or time to spare).
    #[arg(long, conflicts_with = "config")]
    pub quality: bool,
    /// Your own corpus: a folder with `train.txt`, `validation.txt` and `test.txt` (UTF-8), instead of Shakespeare.
    #[arg(long, value_name = "DIR")]
    pub text_dir: Option<PathBuf>,
    /// Optimisation steps (overrides the config's `iterations`).
    #[arg(long)]
    pub iterations: Option<u64>,
    /// Write the training loss to `steps.csv` and TensorBoard every N steps (0: never).
    #[arg(long, value_name = "N", default_value_t = 50)]
    pub log_every: u64,
    /// Generate text with the trained model of this run folder (with --sample) instead of training
    /// (training flags are refused with it; `--seed` picks the sampling stream).
    #[arg(long, value_name = "RUN_DIR", requires = "sample", conflicts_with_all = crate::cli::TRAINING_ONLY_FLAGS, conflicts_with_all = ["text_dir", "iterations", "log_every", "model", "quality"])]
    pub run: Option<PathBuf>,
    /// The prompt to continue (with --run).
    #[arg(long, value_name = "PROMPT", requires = "run")]
    pub sample: Option<String>,
    /// Softmax temperature of --sample (> 0; lower is more conservative).
    #[arg(long, default_value_t = 0.8)]
    pub temperature: f64,
    /// Sample among the K likeliest characters only (0: all).
    #[arg(long, value_name = "K", default_value_t = 0)]
    pub top_k: usize,
    /// Characters to generate with --sample.
    #[arg(long, default_value_t = 500)]
    pub length: usize,
}

/// What a run records (`summary.json`).
#[derive(Debug, Serialize, Deserialize)]
pub struct CharLmSummary {
    /// Mean cross-entropy (nats) over every character of the test text.
    pub test_loss: f64,
    /// The same in bits per character.
    pub test_bits_per_char: f64,
    /// Mean cross-entropy (nats) over every character of the validation text.
    pub validation_loss: f64,
    /// The same in bits per character.
    pub validation_bits_per_char: f64,
    /// Training characters (windows x context) per second of optimisation steps.
    pub train_chars_per_second: f64,
    /// Seconds of the optimisation steps.
    pub train_time_s: f64,
    /// Seconds from the first step to the end of the last evaluation.
    pub training_time_s: f64,
    /// Trainable parameters.
    pub parameters: i64,
    /// `rnn`, `lstm`, `gru` or `transformer`.
    pub model: LmKind,
    /// Optimisation steps.
    pub iterations: u64,
    /// Symbols (with the unknown one).
    pub vocabulary_size: usize,
    /// Where the text came from.
    pub corpus: String,
    /// Characters of each split.
    pub train_chars: usize,
    /// Characters of the validation text.
    pub validation_chars: usize,
    /// Characters of the test text.
    pub test_chars: usize,
    /// The run's own sample (`sample_prompt`, then `sample_length` characters).
    pub sample: String,
}

/// Runs the experiment `name`; `shakespeare_only` refuses `--text-dir` (the preset binary).
pub fn run(name: &'static str, about: &'static str, shakespeare_only: bool) -> Result<()> {
    let args: CharLmArgs = parse_args_about(about);
    if let Some(dir) = &args.run {
        return sample_from(dir, &args);
    }
    if shakespeare_only && args.text_dir.is_some() {
        bail!("{name} trains on Shakespeare; use charlm --text-dir for your own corpus");
    }
    let experiment = Experiment::new(name, &args.experiment, &["test_bits_per_char", "validation_bits_per_char", "train_chars_per_second"]);
    let adjust = |cfg: &mut CharLmConfig| {
        cfg.iterations = args.iterations.unwrap_or(cfg.iterations);
        Ok(())
    };
    let prepare = |cfg: &CharLmConfig| {
        let splits = match &args.text_dir {
            Some(dir) => TextSplits::from_dir(dir)?,
            None => load_shakespeare(&cache_dir())?,
        };
        let vocab = CharVocabulary::from_text(&splits.train);
        cfg.check_data(splits.train.chars().count())?;
        if !cfg.sample_prompt.is_empty() {
            vocab.encode_strict(&cfg.sample_prompt).context("sample_prompt")?;
        }
        Ok((splits, vocab))
    };
    let Some((mut run, (splits, vocab))) = experiment.start(preset(args.model, args.quality), adjust, prepare)? else {
        return Ok(());
    };
    let (cfg, device) = (run.config.clone(), run.device);
    let (train, validation, test) = (vocab.encode(&splits.train), vocab.encode(&splits.validation), vocab.encode(&splits.test));
    let trainer = CharLmTrainer::new(cfg.clone(), vocab.len(), device)?;
    run.dir.write_atomic("vocabulary.txt", vocab.symbols().as_bytes())?;
    run.log(format_args!(
        "{name}: {} ({} parameters, {} symbols) on {} ({} / {} / {} characters), {} steps of {}x{} on {}, writing {}",
        cfg.model.name(),
        trainer.parameters(),
        vocab.len(),
        splits.source,
        train.len(),
        validation.len(),
        test.len(),
        cfg.iterations,
        cfg.batch_size,
        cfg.context,
        device::name(device),
        run.dir.path().display()
    ));
    let train_chars = train.len();
    let mut fitting = CharLmFit::new(trainer, train, validation.clone(), args.log_every);
    let Fitted { history, training_time_s } = fit(&mut run, &mut fitting)?;
    let CharLmFit { trainer, train_secs, .. } = fitting;
    let chars_per_step = (cfg.batch_size * cfg.context) as f64;
    // A resumed run's speed counts the steps of this process only.
    let steps_here = cfg.iterations.saturating_sub(run.start_after()).max(1);
    let train_chars_per_second = if run.resumed().is_some() { f64::NAN } else { steps_here as f64 * chars_per_step / train_secs.max(1e-9) };

    // The whole validation and test texts, once, with the final model.
    let val = trainer.text_loss(&validation)?;
    let tst = trainer.text_loss(&test)?;
    let title = format!("{} on {} (seed {})", cfg.model.name(), corpus_name(&args), cfg.seed);
    plot::curves(
        &run.dir.file("losses.png"),
        &title,
        &[
            Series { label: "train (mean since last point)".into(), points: history.curve("train_curve") },
            Series { label: "validation (fixed windows)".into(), points: history.curve("val_curve") },
        ],
        "iteration",
        "cross-entropy (nats per character)",
    )?;
    // An empty prompt starts a new line (or, in a text without newlines, with its first character).
    let prompt = match (cfg.sample_prompt.as_str(), vocab.index('\n')) {
        ("", Some(_)) => "\n".to_string(),
        ("", None) => vocab.char(0).to_string(),
        (p, _) => p.to_string(),
    };
    let prompt_ids = vocab.encode(&prompt);
    let mut sample_rng = ChaCha8Rng::seed_from_u64(cfg.seed);
    let generated = trainer.sample(&prompt_ids, cfg.sample_length, cfg.sample_temperature, cfg.sample_top_k, &mut sample_rng)?;
    let sample: String = prompt.chars().chain(generated.iter().map(|&i| vocab.char(i as usize))).collect();
    run.dir.write_atomic("samples.txt", sample.as_bytes())?;
    if let Some(passage) = attention_passage(&test, cfg.context) {
        if let Some(layers) = trainer.model().attention(&tch::Tensor::from_slice(passage).view([1, -1]).to_device(device)) {
            let weights = layers
                .iter()
                .map(|l| {
                    let l = l.get(0).to_device(tch::Device::Cpu).to_kind(tch::Kind::Float);
                    (0..l.size()[0]).map(|h| Vec::<Vec<f32>>::try_from(l.get(h))).collect::<Result<Vec<_>, _>>()
                })
                .collect::<Result<Vec<_>, _>>()?;
            let chars: Vec<char> = passage.iter().map(|&i| vocab.char(i as usize)).collect();
            crate::text_plots::attention_maps(&run.dir.file("attention.png"), &format!("Attention of the {title}: the first test passage"), &chars, &weights)?;
        }
    }
    run.dir.produce("model.safetensors", |tmp| Ok(trainer.var_store().save(tmp)?))?;
    let summary = CharLmSummary {
        test_loss: tst.nats,
        test_bits_per_char: tst.bits_per_char,
        validation_loss: val.nats,
        validation_bits_per_char: val.bits_per_char,
        train_chars_per_second,
        train_time_s: train_secs,
        training_time_s,
        parameters: trainer.parameters(),
        model: cfg.model,
        iterations: cfg.iterations,
        vocabulary_size: vocab.len(),
        corpus: splits.source.clone(),
        train_chars,
        validation_chars: validation.len(),
        test_chars: test.len(),
        sample: sample.clone(),
    };
    run.log(format_args!(
        "{name}: test {:.4} bits/char ({:.4} nats), validation {:.4} bits/char, {train_chars_per_second:.0} training chars/s, {training_time_s:.0} s in all",
        tst.bits_per_char, tst.nats, val.bits_per_char
    ));
    run.log(format_args!("sample:\n{sample}"));
    run.finish(&summary)
}

fn corpus_name(args: &CharLmArgs) -> String {
    args.text_dir.as_ref().map_or("Shakespeare".into(), |d| d.display().to_string())
}

/// The first 40 test symbols (at most `context`) whose attention `attention.png` draws.
fn attention_passage(test: &[i64], context: usize) -> Option<&[i64]> {
    (test.len() >= 2).then(|| &test[..context.min(40).min(test.len())])
}

/// `--run RUN_DIR --sample PROMPT`: prints the prompt and its continuation.
fn sample_from(dir: &Path, args: &CharLmArgs) -> Result<()> {
    let prompt = args.sample.as_deref().unwrap_or_default();
    if prompt.is_empty() {
        bail!("--sample needs a prompt of at least one character");
    }
    if args.length == 0 {
        bail!("--length must be at least 1");
    }
    if !(args.temperature > 0.0 && args.temperature.is_finite()) {
        bail!("--temperature must be a number > 0, got {}", args.temperature);
    }
    let config_path = dir.join("config.toml");
    if !config_path.is_file() {
        bail!("{} has no config.toml: is it a charlm run folder?", dir.display());
    }
    let config: CharLmConfig = crate::config::load(crate::config::Source::File(&config_path), &[])?;
    let vocab_path = dir.join("vocabulary.txt");
    let symbols = std::fs::read_to_string(&vocab_path).with_context(|| format!("cannot read {}: is it a charlm run folder?", vocab_path.display()))?;
    let vocab = CharVocabulary::from_symbols(&symbols).with_context(|| vocab_path.display().to_string())?;
    let ids = vocab.encode_strict(prompt)?;
    let model_path = crate::run_dir::finished_model(dir)?;
    let mut trainer = CharLmTrainer::new(config.clone(), vocab.len(), tch::Device::Cpu)?;
    trainer.load_weights(&model_path)?;
    let seed = args.experiment.shared.seed.unwrap_or(config.seed);
    let generated = trainer.sample(&ids, args.length, args.temperature, args.top_k, &mut ChaCha8Rng::seed_from_u64(seed))?;
    let text: String = prompt.chars().chain(generated.iter().map(|&i| vocab.char(i as usize))).collect();
    println!("{text}");
    Ok(())
}
