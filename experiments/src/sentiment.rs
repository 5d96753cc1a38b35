//! The sentiment experiment behind `sentiment`: VADER's human-rated
//! sentences (tweets, movie and product reviews, news editorials; or a
//! `--data-file` of `rating<TAB>text` lines), a bag-of-n-grams logistic
//! regression baseline and a BiLSTM with attention pooling, each keeping the
//! epoch of its best validation F1; the test set is read once. The run
//! folder: `config.toml`, `metrics.csv` (per BiLSTM epoch: training loss,
//! validation accuracy and F1, learning rate), `tb/`, `scores.md` (accuracy and F1 per
//! source and overall, both models), `predictions.csv`, `attention.html`
//! (test sentences with each word shaded by its attention weight),
//! `curves.png`, `model.safetensors` and `summary.json`; with
//! `--checkpoint-every N`, `checkpoint/` every N BiLSTM epochs for `--resume`.
//! `vocabulary.json` holds the BiLSTM's words, characters and valences:
//! `sentiment --run RUN_DIR FILE` puts the trained model to work on new text.

use crate::cli::{parse_args_about, ExperimentArgs};
use crate::device;
use crate::fit::{fit, Fitted};
use crate::plot::{self, Series};
use crate::run_dir::{finished_model, read_run_json};
use crate::scaffold::Experiment;
use anyhow::{bail, Context, Result};
use nnlab_data::sentiment::parse_ground_truth;
use nnlab_data::{cache_dir, load_vader, load_vader_lexicon, RatedSentence, SentimentSplits};
use nnlab_text::sentiment::{soft_target, tokenize, BinaryScores, SentimentClassifier, SentimentConfig, SentimentFit, SentimentVocabulary, Valences};
use serde::Serialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The sentiment flags.
#[derive(Debug, Clone, clap::Parser)]
#[command(version)]
pub struct SentimentArgs {
    /// The shared flags and `--seeds`.
    #[command(flatten)]
    pub experiment: ExperimentArgs,
    /// Your own sentences instead of VADER's: `rating<TAB>text` lines (positive above 0, negative below, 0 dropped), split by index (mod 5 = 4 test, = 3 validation).
    #[arg(long, value_name = "FILE")]
    pub data_file: Option<PathBuf>,
    /// BiLSTM epochs (overrides the config's `epochs`).
    #[arg(long)]
    pub epochs: Option<usize>,
    /// Classify the sentences of FILE (one per line) with the trained BiLSTM of this run folder instead of training: prints `probability<TAB>label<TAB>sentence` lines and the words it attended to most.
    #[arg(long, value_name = "RUN_DIR", requires = "file", conflicts_with_all = crate::cli::TRAINING_ONLY_FLAGS, conflicts_with_all = ["data_file", "epochs", "seed"])]
    pub run: Option<PathBuf>,
    /// With --run: the sentences to classify, one per line.
    #[arg(value_name = "FILE", requires = "run")]
    pub file: Option<PathBuf>,
}

/// Both models' scores on one group of test sentences.
#[derive(Debug, Clone, Serialize)]
pub struct SourceScores {
    /// The BiLSTM's accuracy.
    pub accuracy: f64,
    /// The BiLSTM's F1 (positive class).
    pub f1: f64,
    /// The baseline's accuracy.
    pub baseline_accuracy: f64,
    /// The baseline's F1.
    pub baseline_f1: f64,
    /// Sentences.
    pub support: usize,
}

/// What a run records (`summary.json`).
#[derive(Debug, Serialize)]
pub struct SentimentSummary {
    /// The BiLSTM's test accuracy.
    pub test_accuracy: f64,
    /// The BiLSTM's test F1 (positive class).
    pub test_f1: f64,
    /// The bag-of-words baseline's test accuracy.
    pub baseline_test_accuracy: f64,
    /// The bag-of-words baseline's test F1.
    pub baseline_test_f1: f64,
    /// Per source.
    pub per_source: BTreeMap<String, SourceScores>,
    /// The BiLSTM's best validation F1 and its epoch.
    pub best_validation_f1: f64,
    /// Its epoch.
    pub best_epoch: usize,
    /// The baseline's best validation F1.
    pub baseline_validation_f1: f64,
    /// BiLSTM epochs.
    pub epochs: usize,
    /// Mean seconds per BiLSTM epoch.
    pub epoch_time_s: f64,
    /// BiLSTM parameters.
    pub parameters: i64,
    /// Baseline features (n-grams, with padding and unknown).
    pub baseline_features: usize,
    /// Where the sentences came from.
    pub corpus: String,
    /// Sentences per split.
    pub train_sentences: usize,
    /// Validation sentences.
    pub validation_sentences: usize,
    /// Test sentences.
    pub test_sentences: usize,
}

fn load(args: &SentimentArgs) -> Result<SentimentSplits> {
    let splits = match &args.data_file {
        None => load_vader(&cache_dir())?,
        Some(path) => {
            let text = std::fs::read_to_string(path).with_context(|| format!("cannot read {} as UTF-8 text", path.display()))?;
            // The user's lines have no id column: number them.
            let numbered: String = text.lines().enumerate().map(|(i, l)| if l.trim().is_empty() { "\n".to_string() } else { format!("{i}\t{l}\n") }).collect();
            let all = parse_ground_truth(&numbered, &path.display().to_string(), "file")?;
            let (mut train, mut validation, mut test) = (Vec::new(), Vec::new(), Vec::new());
            for (i, s) in all.into_iter().enumerate() {
                match i % 5 {
                    4 => test.push(s),
                    3 => validation.push(s),
                    _ => train.push(s),
                }
            }
            SentimentSplits { source: path.display().to_string(), train, validation, test }
        }
    };
    for (name, set) in [("training", &splits.train), ("validation", &splits.validation), ("test", &splits.test)] {
        if set.is_empty() || set.iter().all(RatedSentence::positive) || !set.iter().any(RatedSentence::positive) {
            bail!("{}: the {name} sentences need both positive and negative ones (found {})", splits.source, set.len());
        }
    }
    Ok(splits)
}

/// Validation accuracy and F1 of `model` (of its moving average of weights, with `weight_average`).
fn validate(model: &SentimentClassifier, data: &Prepared) -> Result<BinaryScores> {
    SentimentFit::validate(model, &data.validation, &data.validation_labels)
}

/// Trains the baseline for `epochs` and keeps its epoch of best validation F1
/// (seconds of work: a resumed run trains it again, to the same bits).
fn fit_baseline(model: &mut SentimentClassifier, epochs: usize, targets: &[f32], data: &Prepared) -> Result<(f64, usize)> {
    let mut best: Option<(f64, usize, nnlab_torch::Snapshot)> = None;
    for epoch in 1..=epochs {
        model.train_epoch(&data.train, targets)?;
        let scores = validate(model, data)?;
        if best.as_ref().is_none_or(|b| scores.f1 > b.0) {
            best = Some((scores.f1, epoch, model.snapshot()));
        }
    }
    let (f1, epoch, snapshot) = best.context("no epochs")?;
    model.restore_snapshot(&snapshot)?;
    Ok((f1, epoch))
}

/// Tokenised splits and labels.
struct Prepared {
    train: Vec<Vec<String>>,
    /// Training sentences' mean ratings.
    train_ratings: Vec<f64>,
    validation: Vec<Vec<String>>,
    validation_labels: Vec<bool>,
    test: Vec<Vec<String>>,
    test_labels: Vec<bool>,
}

/// Runs the `sentiment` binary.
pub fn run(name: &'static str, about: &'static str) -> Result<()> {
    let args: SentimentArgs = parse_args_about(about);
    if let (Some(dir), Some(file)) = (&args.run, &args.file) {
        return classify_with(dir, file);
    }
    let experiment = Experiment::new(name, &args.experiment, &["test_f1", "baseline_test_f1", "test_accuracy"]);
    let preset = crate::preset!("sentiment/vader.toml");
    let adjust = |cfg: &mut SentimentConfig| {
        cfg.epochs = args.epochs.unwrap_or(cfg.epochs);
        Ok(())
    };
    let Some((mut run, splits)) = experiment.start(preset, adjust, |_: &SentimentConfig| load(&args))? else {
        return Ok(());
    };
    let (cfg, device) = (run.config.clone(), run.device);
    let tok = |v: &[RatedSentence]| (v.iter().map(|s| tokenize(&s.text)).collect::<Vec<_>>(), v.iter().map(RatedSentence::positive).collect::<Vec<_>>());
    let ((train, _), (validation, validation_labels), (test, test_labels)) = (tok(&splits.train), tok(&splits.validation), tok(&splits.test));
    let train_ratings = splits.train.iter().map(|s| s.rating).collect();
    let data = Prepared { train, train_ratings, validation, validation_labels, test, test_labels };
    let targets = |scale: f64| data.train_ratings.iter().map(|&r| soft_target(scale, r)).collect::<Vec<f32>>();

    let valences: Option<Valences> = if cfg.valence_features { Some(load_vader_lexicon(&cache_dir())?.into_iter().collect()) } else { None };
    let mut baseline = SentimentClassifier::bag_of_words(cfg.clone(), &data.train, valences.as_ref(), device)?;
    let model = SentimentClassifier::bilstm_attention(cfg.clone(), &data.train, valences.as_ref(), device)?;
    run.dir.write_atomic("vocabulary.json", serde_json::to_string(&model.vocabulary())?.as_bytes())?;
    run.log(format_args!(
        "{name}: {} / {} / {} sentences from {}; baseline: logistic regression on {} n-grams; BiLSTM with attention: {} words, {} parameters, {} epochs on {}, writing {}",
        data.train.len(),
        data.validation.len(),
        data.test.len(),
        splits.source,
        baseline.lexicon().len(),
        model.lexicon().len(),
        model.parameters(),
        cfg.epochs,
        device::name(device),
        run.dir.path().display()
    ));
    let (baseline_f1, baseline_epoch) = fit_baseline(&mut baseline, cfg.baseline_epochs, &targets(cfg.baseline_soft_targets), &data)?;
    run.log(format_args!("baseline: validation F1 {baseline_f1:.4} (epoch {baseline_epoch})"));

    // The BiLSTM, epoch by epoch, with checkpoints; the epoch of best validation F1 is kept.
    let mut fitting = SentimentFit::new(model, &data.train, targets(cfg.soft_targets), &data.validation, &data.validation_labels);
    let Fitted { history, .. } = fit(&mut run, &mut fitting)?;
    let SentimentFit { mut model, .. } = fitting;
    let best = history.best().context("no epochs")?;
    let (best_f1, best_epoch) = (best.score, best.epoch);
    model.restore_snapshot(&best.snapshot)?;

    // The test set, once.
    let (p_model, attention) = model.predict(&data.test)?;
    let (p_base, _) = baseline.predict(&data.test)?;
    let yes = |p: &[f64]| p.iter().map(|&x| x > 0.5).collect::<Vec<bool>>();
    let (pred_model, pred_base) = (yes(&p_model), yes(&p_base));
    let overall = BinaryScores::new(&data.test_labels, &pred_model);
    let overall_base = BinaryScores::new(&data.test_labels, &pred_base);
    let mut per_source: BTreeMap<String, SourceScores> = BTreeMap::new();
    let sources: std::collections::BTreeSet<&str> = splits.test.iter().map(|s| s.source).collect();
    for source in sources {
        let idx: Vec<usize> = (0..splits.test.len()).filter(|&i| splits.test[i].source == source).collect();
        let pick = |v: &[bool]| idx.iter().map(|&i| v[i]).collect::<Vec<bool>>();
        let labels = pick(&data.test_labels);
        let m = BinaryScores::new(&labels, &pick(&pred_model));
        let b = BinaryScores::new(&labels, &pick(&pred_base));
        per_source
            .insert(source.to_string(), SourceScores { accuracy: m.accuracy, f1: m.f1, baseline_accuracy: b.accuracy, baseline_f1: b.f1, support: m.support });
    }
    let mut md = String::from("| test sentences | n | BiLSTM + attention accuracy | F1 | bag-of-words LR accuracy | F1 |\n|---|---:|---:|---:|---:|---:|\n");
    for (source, s) in &per_source {
        md += &format!("| {source} | {} | {:.4} | {:.4} | {:.4} | {:.4} |\n", s.support, s.accuracy, s.f1, s.baseline_accuracy, s.baseline_f1);
    }
    md += &format!("| **all** | {} | {:.4} | {:.4} | {:.4} | {:.4} |\n", overall.support, overall.accuracy, overall.f1, overall_base.accuracy, overall_base.f1);
    run.dir.write_atomic("scores.md", md.as_bytes())?;
    let mut csv = String::from("index,source,rating,label,predicted,probability,baseline_predicted,baseline_probability\n");
    for (i, s) in splits.test.iter().enumerate() {
        csv += &format!(
            "{i},{},{},{},{},{:.6},{},{:.6}\n",
            s.source,
            s.rating,
            u8::from(data.test_labels[i]),
            u8::from(pred_model[i]),
            p_model[i],
            u8::from(pred_base[i]),
            p_base[i]
        );
    }
    run.dir.write_atomic("predictions.csv", csv.as_bytes())?;
    run.dir.write_atomic("attention.html", attention_html(&splits.test, &data.test, &attention, &p_model).as_bytes())?;
    plot::epoch_curves(
        &run.dir.file("curves.png"),
        &format!("BiLSTM with attention on {} (seed {})", if args.data_file.is_some() { "your sentences" } else { "VADER" }, cfg.seed),
        &[
            Series { label: "train loss".into(), points: history.curve("loss_curve") },
            Series { label: "validation F1".into(), points: history.curve("f1_curve") },
        ],
        "loss / F1",
    )?;
    run.dir.produce("model.safetensors", |tmp| Ok(model.var_store().save(tmp)?))?;
    let epoch_time_s = history.mean_epoch_time();
    let summary = SentimentSummary {
        test_accuracy: overall.accuracy,
        test_f1: overall.f1,
        baseline_test_accuracy: overall_base.accuracy,
        baseline_test_f1: overall_base.f1,
        per_source,
        best_validation_f1: best_f1,
        best_epoch,
        baseline_validation_f1: baseline_f1,
        epochs: cfg.epochs,
        epoch_time_s,
        parameters: model.parameters(),
        baseline_features: baseline.lexicon().len(),
        corpus: splits.source.clone(),
        train_sentences: data.train.len(),
        validation_sentences: data.validation.len(),
        test_sentences: data.test.len(),
    };
    run.log(format_args!(
        "{name}: test F1 {:.4}, accuracy {:.4} (bag-of-words baseline: F1 {:.4}, accuracy {:.4}); model of epoch {best_epoch}",
        overall.f1, overall.accuracy, overall_base.f1, overall_base.accuracy
    ));
    if !run.quiet {
        eprint!("{md}");
    }
    run.finish(&summary)
}

/// `--run RUN_DIR FILE`: the probability that each line of FILE is
/// positive, by the run's BiLSTM, with the three words it attended to most.
fn classify_with(dir: &Path, file: &Path) -> Result<()> {
    let config: SentimentConfig = crate::config::load(crate::config::Source::File(&dir.join("config.toml")), &[])?;
    let vocabulary: SentimentVocabulary = read_run_json(dir, "vocabulary.json", "sentiment")?;
    let model_path = finished_model(dir)?;
    let text = std::fs::read_to_string(file).with_context(|| format!("cannot read {} as UTF-8 text", file.display()))?;
    let lines: Vec<&str> = text.lines().map(str::trim).filter(|l| !l.is_empty()).collect();
    if lines.is_empty() {
        bail!("{}: no sentences to classify (one per line)", file.display());
    }
    let tokens: Vec<Vec<String>> = lines.iter().map(|l| tokenize(l)).collect();
    if let Some(i) = tokens.iter().position(Vec::is_empty) {
        bail!("{}: {:?} has no words to read", file.display(), lines[i]);
    }
    let mut model = SentimentClassifier::bilstm_from_vocabulary(config, vocabulary, tch::Device::Cpu)?;
    model.load_weights(&model_path)?;
    let (probs, attention) = model.predict(&tokens)?;
    let mut out = String::new();
    for (i, line) in lines.iter().enumerate() {
        let label = if probs[i] > 0.5 { "positive" } else { "negative" };
        out += &format!("{:.4}\t{label}\t{line}\n", probs[i]);
        if let Some(w) = attention.get(i) {
            let mut order: Vec<usize> = (0..w.len()).collect();
            order.sort_by(|&a, &b| w[b].total_cmp(&w[a]));
            let top: Vec<String> = order.iter().take(3).map(|&t| format!("{} {:.2}", tokens[i][t], w[t])).collect();
            out += &format!("\tattended to: {}\n", top.join(", "));
        }
    }
    print!("{out}");
    Ok(())
}

/// The first five test sentences of each source, each word on a background
/// as red as its share of the sentence's attention (the largest weight of a
/// sentence at full strength), with the true and predicted label.
fn attention_html(sentences: &[RatedSentence], tokens: &[Vec<String>], weights: &[Vec<f32>], probs: &[f64]) -> String {
    let esc = |s: &str| s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;");
    let mut out = String::from(
        "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>Attention of the sentiment BiLSTM</title>\n<style>body{font-family:sans-serif;max-width:60em;margin:2em auto} p{line-height:1.9} span.w{padding:0.1em 0.15em;border-radius:3px} .meta{color:#555;font-size:0.85em}</style></head><body>\n<h1>Which words the BiLSTM attended to</h1>\n<p class=\"meta\">Test sentences; each word's background is proportional to its attention weight (the sentence's largest weight in full red).</p>\n",
    );
    let mut shown: BTreeMap<&str, usize> = BTreeMap::new();
    for (i, s) in sentences.iter().enumerate() {
        let count = shown.entry(s.source).or_default();
        if *count >= 5 || i >= weights.len() {
            continue;
        }
        *count += 1;
        let w = &weights[i];
        let max = w.iter().cloned().fold(f32::MIN, f32::max).max(1e-9);
        let truth = if s.positive() { "positive" } else { "negative" };
        let predicted = if probs[i] > 0.5 { "positive" } else { "negative" };
        out += &format!("<p class=\"meta\">{} #{i}: rating {:+.2} ({truth}), predicted {predicted} (p = {:.3})</p>\n<p>", s.source, s.rating, probs[i]);
        for (t, word) in tokens[i].iter().enumerate() {
            let a = w.get(t).copied().unwrap_or(0.0) / max;
            out += &format!(
                "<span class=\"w\" style=\"background:rgba(220,40,40,{a:.3})\" title=\"{:.4}\">{}</span> ",
                w.get(t).copied().unwrap_or(0.0),
                esc(word)
            );
        }
        out += "</p>\n";
    }
    out += "</body></html>\n";
    out
}
