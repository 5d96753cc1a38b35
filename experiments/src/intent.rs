//! The intent trainer behind `intent`: Banking77 or CLINC150 (committed in
//! `data/corpora/`), a bag-of-n-grams baseline, a BiLSTM or a transformer
//! ([`nnlab_text::intent`]), the epoch of best in-scope validation accuracy
//! kept, the test set read once.
//!
//! Out-of-scope queries (CLINC150): a query is answered "oos" when the
//! model's top probability is below a threshold (and, with `oos_class`, when
//! its top class is the trained "oos" class). The threshold is chosen on the
//! validation data alone (`val` and `oos_val`): the one with the most right
//! answers there, an intent for the 3,000 in-scope queries and "oos" for the
//! 100 out-of-scope ones. (Weighing the two groups equally instead, the mean
//! of in-scope accuracy and out-of-scope recall, rejected a quarter of the
//! in-scope test queries: the bag of n-grams, seed 1, 74.6% in-scope
//! accuracy for 91.6% out-of-scope recall.)
//! Scores follow Larson et al. 2019: in-scope accuracy over the in-scope
//! test queries (an "oos" answer is wrong), out-of-scope recall over
//! `oos_test` (and precision of the "oos" answers).
//!
//! The run folder: `config.toml`, `metrics.csv` (per epoch: training loss,
//! validation accuracy, learning rate), `tb/`, `predictions.csv` (`text,
//! label,predicted,confidence`, intent names; CLINC150 with its `oos_test`
//! queries labelled `oos`), `classification_report.txt` / `report.json`
//! (scikit-learn's layouts, over the intents and for CLINC150 `oos`),
//! `confusions.png` (the most frequent confusions: readable with 151
//! classes), `curves.png`, `vocabulary.json`, `model.safetensors` and
//! `summary.json`. The `assistant` binary answers queries with such a run.

use crate::classification::ClassificationReport;
use crate::cli::{parse_args_about, ExperimentArgs};
use crate::device;
use crate::fit::{fit, Fitted};
use crate::plot::{self, Series};
use crate::scaffold::Experiment;
use anyhow::{Context, Result};
use nnlab_data::{IntentCorpus, IntentDataset};
use nnlab_text::intent::{tokenize, top, IntentClassifier, IntentConfig, IntentModel};
use nnlab_text::intent_fit::IntentFit;
use serde::{Deserialize, Serialize};

/// The shipped preset of `model`: `experiments/configs/intent/<model>.toml`.
fn preset(model: IntentModel) -> crate::config::Preset {
    match model {
        IntentModel::Bow => crate::preset!("intent/bow.toml"),
        IntentModel::Bilstm => crate::preset!("intent/bilstm.toml"),
        IntentModel::Transformer => crate::preset!("intent/transformer.toml"),
    }
}

/// The intent trainer's flags.
#[derive(Debug, Clone, clap::Parser)]
#[command(version)]
pub struct IntentArgs {
    /// The shared flags and `--seeds`.
    #[command(flatten)]
    pub experiment: ExperimentArgs,
    /// The corpus (overrides the config's `dataset`; default banking77).
    #[arg(long, value_enum)]
    pub dataset: Option<IntentDataset>,
    /// The model (picks the preset `experiments/configs/intent/<model>.toml`; with --config it overrides the file's `model`).
    #[arg(long, value_enum)]
    pub model: Option<IntentModel>,
    /// Passes over the training queries (overrides the config's `epochs`).
    #[arg(long)]
    pub epochs: Option<usize>,
}

/// The out-of-scope scores of one way of answering "oos" (Larson et al. 2019).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct OosScores {
    /// The confidence below which a query is answered "oos".
    pub threshold: f64,
    /// In-scope queries answered with their intent, over all in-scope queries.
    pub in_scope_accuracy: f64,
    /// Out-of-scope queries answered "oos", over all out-of-scope queries.
    pub oos_recall: f64,
    /// Right "oos" answers over all "oos" answers (0 when there are none).
    pub oos_precision: f64,
}

/// What a run records (`summary.json`).
#[derive(Debug, Serialize, Deserialize)]
pub struct IntentSummary {
    /// `banking77` or `clinc150`.
    pub dataset: String,
    /// `bow`, `bilstm` or `transformer`.
    pub model: String,
    /// The classes of `predictions.csv` and the reports: the intents, then `oos` for CLINC150.
    pub classes: Vec<String>,
    /// Test accuracy over the in-scope test queries, top class only (no threshold).
    pub test_accuracy: f64,
    /// Macro-averaged F1 over the in-scope test queries (no threshold).
    pub test_macro_f1: f64,
    /// CLINC150: test scores with the threshold chosen on validation data.
    pub oos: Option<OosScores>,
    /// CLINC150 with `oos_class`: test scores of the "oos" class alone (threshold 0).
    pub oos_class_only: Option<OosScores>,
    /// CLINC150: the same choice's scores on the validation data.
    pub oos_validation: Option<OosScores>,
    /// Best in-scope validation accuracy and its epoch.
    pub best_validation_accuracy: f64,
    /// Its epoch.
    pub best_epoch: usize,
    /// Epochs trained.
    pub epochs: usize,
    /// Mean seconds per epoch.
    pub epoch_time_s: f64,
    /// Trainable parameters.
    pub parameters: i64,
    /// Lexicon entries (words, or n-grams for `bow`).
    pub lexicon: usize,
    /// Training / validation / test queries (in scope; plus oos_train with `oos_class`).
    pub train_queries: usize,
    /// Validation queries (in scope).
    pub validation_queries: usize,
    /// Test queries (in scope).
    pub test_queries: usize,
}

/// Answers under a threshold: the class, or `oos` (index `oos`) when the
/// top probability is below `threshold` or the top class is `oos`.
pub fn answer(probabilities: &[f32], threshold: f64, oos: usize) -> (usize, f32) {
    answer_of_top(top(probabilities), threshold, oos)
}

/// [`answer`] from the top class and its probability.
fn answer_of_top((class, p): (usize, f32), threshold: f64, oos: usize) -> (usize, f32) {
    if f64::from(p) < threshold || class >= oos {
        (oos, p)
    } else {
        (class, p)
    }
}

/// Scores of answering under `threshold`: `in_scope` rows with their labels, `out_of_scope` rows.
pub fn oos_scores(in_scope: &[Vec<f32>], labels: &[usize], out_of_scope: &[Vec<f32>], threshold: f64, oos: usize) -> OosScores {
    let tops = |rows: &[Vec<f32>]| rows.iter().map(|p| top(p)).collect::<Vec<_>>();
    scores_of_tops(&tops(in_scope), labels, &tops(out_of_scope), threshold, oos)
}

/// [`oos_scores`] from each row's top class and probability.
fn scores_of_tops(in_scope: &[(usize, f32)], labels: &[usize], out_of_scope: &[(usize, f32)], threshold: f64, oos: usize) -> OosScores {
    let answer = |&t: &(usize, f32)| answer_of_top(t, threshold, oos).0;
    let right = in_scope.iter().zip(labels).filter(|(t, &l)| answer(t) == l).count();
    let wrongly_oos = in_scope.iter().filter(|t| answer(t) == oos).count();
    let caught = out_of_scope.iter().filter(|t| answer(t) == oos).count();
    let ratio = |a: usize, b: usize| if b == 0 { 0.0 } else { a as f64 / b as f64 };
    OosScores {
        threshold,
        in_scope_accuracy: ratio(right, in_scope.len()),
        oos_recall: ratio(caught, out_of_scope.len()),
        oos_precision: ratio(caught, caught + wrongly_oos),
    }
}

/// The threshold (0, or a top probability seen on validation) with the most
/// right answers on validation data: in-scope queries answered with their
/// intent plus out-of-scope ones answered "oos" (the lowest such threshold).
pub fn choose_threshold(in_scope: &[Vec<f32>], labels: &[usize], out_of_scope: &[Vec<f32>], oos: usize) -> OosScores {
    let (in_tops, out_tops): (Vec<_>, Vec<_>) = (in_scope.iter().map(|p| top(p)).collect(), out_of_scope.iter().map(|p| top(p)).collect());
    let mut candidates: Vec<f64> = in_tops.iter().chain(&out_tops).map(|&(_, p)| f64::from(p)).collect();
    candidates.push(0.0);
    candidates.sort_by(f64::total_cmp);
    candidates.dedup();
    let right = |s: &OosScores| s.in_scope_accuracy * in_scope.len() as f64 + s.oos_recall * out_of_scope.len() as f64;
    let mut best = scores_of_tops(&in_tops, labels, &out_tops, 0.0, oos);
    for t in candidates {
        let s = scores_of_tops(&in_tops, labels, &out_tops, t, oos);
        if right(&s) > right(&best) + 1e-9 {
            best = s;
        }
    }
    best
}

/// Tokenised queries and labels of the splits the run trains and selects on.
struct Prepared {
    corpus: IntentCorpus,
    train: Vec<Vec<String>>,
    train_labels: Vec<usize>,
    validation: Vec<Vec<String>>,
    validation_labels: Vec<usize>,
}

fn prepare(cfg: &IntentConfig) -> Result<Prepared> {
    let corpus = cfg.dataset.load()?;
    if cfg.oos_class && corpus.oos_train.is_empty() {
        anyhow::bail!("oos_class needs out-of-scope training queries, which {} does not have (CLINC150 does)", corpus.name);
    }
    let tok = |q: &[nnlab_data::Query]| (q.iter().map(|q| tokenize(&q.text)).collect::<Vec<_>>(), q.iter().map(|q| q.intent).collect::<Vec<_>>());
    let (mut train, mut train_labels) = tok(&corpus.train);
    if cfg.oos_class {
        train.extend(corpus.oos_train.iter().map(|t| tokenize(t)));
        train_labels.extend(std::iter::repeat_n(corpus.intents.len(), corpus.oos_train.len()));
    }
    let (validation, validation_labels) = tok(&corpus.validation);
    Ok(Prepared { corpus, train, train_labels, validation, validation_labels })
}

/// Runs the `intent` binary.
pub fn run(name: &'static str, about: &'static str) -> Result<()> {
    let args: IntentArgs = parse_args_about(about);
    let experiment = Experiment::new(name, &args.experiment, &["test_accuracy", "test_macro_f1", "best_validation_accuracy"]);
    let preset = preset(args.model.unwrap_or_default());
    let adjust = |cfg: &mut IntentConfig| {
        cfg.epochs = args.epochs.unwrap_or(cfg.epochs);
        cfg.model = args.model.unwrap_or(cfg.model);
        cfg.dataset = args.dataset.unwrap_or(cfg.dataset);
        Ok(())
    };
    let Some((mut run, data)) = experiment.start(preset, adjust, prepare)? else {
        return Ok(());
    };
    let (cfg, device) = (run.config.clone(), run.device);
    let corpus = &data.corpus;
    let intents = corpus.intents.len();
    let classes = intents + usize::from(cfg.oos_class);
    let model = IntentClassifier::new(cfg.clone(), &data.train, classes, device)?;
    run.dir.write_atomic("vocabulary.json", serde_json::to_string(&model.vocabulary())?.as_bytes())?;
    run.log(format_args!(
        "{name}: {} on {}: {} / {} / {} queries, {} intents{}; {} lexicon entries, {} parameters, {} epochs on {}, writing {}",
        cfg.model.name(),
        corpus.name,
        data.train.len(),
        data.validation.len(),
        corpus.test.len(),
        intents,
        if cfg.oos_class { " and an oos class" } else { "" },
        model.lexicon().len(),
        model.parameters(),
        cfg.epochs,
        device::name(device),
        run.dir.path().display()
    ));
    let mut fitting = IntentFit::new(model, &data.train, &data.train_labels, &data.validation, &data.validation_labels);
    let Fitted { history, .. } = fit(&mut run, &mut fitting)?;
    let IntentFit { mut model, .. } = fitting;
    let best = history.best().context("no epochs")?;
    let (best_accuracy, best_epoch) = (best.score, best.epoch);
    model.restore_snapshot(&best.snapshot)?;

    // Out-of-scope threshold from the validation data, then the test set, once.
    let has_oos = !corpus.oos_test.is_empty();
    let predict = |texts: &mut dyn Iterator<Item = &String>| model.predict(&texts.map(|t| tokenize(t)).collect::<Vec<_>>());
    let chosen = if has_oos {
        let in_val = model.predict(&data.validation)?.probabilities;
        let oos_val = predict(&mut corpus.oos_validation.iter())?.probabilities;
        Some(choose_threshold(&in_val, &data.validation_labels, &oos_val, intents))
    } else {
        None
    };
    let test_labels: Vec<usize> = corpus.test.iter().map(|q| q.intent).collect();
    let in_test = predict(&mut corpus.test.iter().map(|q| &q.text))?.probabilities;
    let oos_test = predict(&mut corpus.oos_test.iter())?.probabilities;
    let plain: Vec<usize> = in_test.iter().map(|p| top(&p[..intents]).0).collect();
    let plain_report = ClassificationReport::new(&test_labels, &plain, &corpus.intents)?;

    // The answers written out: under the chosen threshold for CLINC150.
    let threshold = chosen.map_or(0.0, |c| c.threshold);
    let mut names = corpus.intents.clone();
    if has_oos {
        names.push("oos".into());
    }
    let (mut labels, mut answers, mut csv) = (Vec::new(), Vec::new(), csv::Writer::from_writer(Vec::new()));
    csv.write_record(["text", "label", "predicted", "confidence"])?;
    let rows = corpus.test.iter().map(|q| (&q.text, q.intent)).chain(corpus.oos_test.iter().map(|t| (t, intents)));
    for ((text, label), p) in rows.zip(in_test.iter().chain(&oos_test)) {
        let (predicted, confidence) = if has_oos { answer(p, threshold, intents) } else { top(p) };
        csv.write_record([text.as_str(), &names[label], &names[predicted], &format!("{confidence:.6}")])?;
        labels.push(label);
        answers.push(predicted);
    }
    run.dir.write_atomic("predictions.csv", &csv.into_inner().context("predictions.csv")?)?;
    let report = ClassificationReport::new(&labels, &answers, &names)?;
    run.dir.write_atomic("classification_report.txt", report.to_text(4).as_bytes())?;
    run.dir.write_atomic("report.json", serde_json::to_string_pretty(&report.to_json())?.as_bytes())?;
    crate::classification_plots::top_confusions(
        &run.dir.file("confusions.png"),
        &format!("{} on {} test: the 20 most frequent confusions (seed {})", cfg.model.name(), corpus.name, cfg.seed),
        &report.confusion,
        &names,
        20,
    )?;
    plot::epoch_curves(
        &run.dir.file("curves.png"),
        &format!("{} on {} (seed {})", cfg.model.name(), corpus.name, cfg.seed),
        &[
            Series { label: "train loss".into(), points: history.curve("loss_curve") },
            Series { label: "validation accuracy".into(), points: history.curve("accuracy_curve") },
        ],
        "loss / accuracy",
    )?;
    run.dir.produce("model.safetensors", |tmp| Ok(model.var_store().save(tmp)?))?;

    let oos = chosen.map(|c| oos_scores(&in_test, &test_labels, &oos_test, c.threshold, intents));
    let oos_class_only = (has_oos && cfg.oos_class).then(|| oos_scores(&in_test, &test_labels, &oos_test, 0.0, intents));
    let summary = IntentSummary {
        dataset: corpus.name.into(),
        model: cfg.model.name().into(),
        classes: names,
        test_accuracy: plain_report.accuracy,
        test_macro_f1: plain_report.macro_avg.f1,
        oos,
        oos_class_only,
        oos_validation: chosen,
        best_validation_accuracy: best_accuracy,
        best_epoch,
        epochs: cfg.epochs,
        epoch_time_s: history.mean_epoch_time(),
        parameters: model.parameters(),
        lexicon: model.lexicon().len(),
        train_queries: data.train.len(),
        validation_queries: data.validation.len(),
        test_queries: corpus.test.len(),
    };
    let oos_line = summary.oos.map_or(String::new(), |o| {
        format!(
            "; with the validation threshold {:.3}: in-scope accuracy {:.4}, out-of-scope recall {:.4}, precision {:.4}",
            o.threshold, o.in_scope_accuracy, o.oos_recall, o.oos_precision
        )
    });
    run.log(format_args!("{name}: test accuracy {:.4}, macro F1 {:.4} (model of epoch {best_epoch}){oos_line}", summary.test_accuracy, summary.test_macro_f1));
    run.finish(&summary)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_threshold_trades_in_scope_accuracy_for_out_of_scope_recall_on_validation() {
        // Two in-scope queries (one confident, one not) and two out-of-scope ones.
        let in_scope = vec![vec![0.9, 0.1], vec![0.4, 0.6]];
        let out = vec![vec![0.5, 0.5], vec![0.7, 0.3]];
        let s = oos_scores(&in_scope, &[0, 1], &out, 0.0, 2);
        assert_eq!((s.in_scope_accuracy, s.oos_recall, s.oos_precision), (1.0, 0.0, 0.0));
        let s = oos_scores(&in_scope, &[0, 1], &out, 0.65, 2);
        assert_eq!((s.in_scope_accuracy, s.oos_recall, s.oos_precision), (0.5, 0.5, 1.0 / 2.0));
        let best = choose_threshold(&in_scope, &[0, 1], &out, 2);
        // 0.6 keeps both in-scope answers and catches the 0.5 one: 3 of 4 right
        // (0.7 also gets 3 right, but the lowest such threshold is kept).
        assert_eq!(best.threshold, f64::from(0.6f32));
        assert_eq!((best.in_scope_accuracy, best.oos_recall), (1.0, 0.5));
        // With many in-scope queries, rejecting one of them to catch one out-of-scope query does not pay.
        let many: Vec<Vec<f32>> = (0..10).map(|i| if i == 0 { vec![0.55, 0.45] } else { vec![0.9, 0.1] }).collect();
        let best = choose_threshold(&many, &[0; 10], &[vec![0.6, 0.4]], 2);
        assert_eq!((best.threshold, best.in_scope_accuracy, best.oos_recall), (0.0, 1.0, 0.0));
        // A trained "oos" class (index 2 of 3) answers "oos" at any threshold.
        assert_eq!(answer(&[0.1, 0.2, 0.7], 0.0, 2).0, 2);
    }
}
