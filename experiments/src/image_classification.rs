//! The image-classification experiment behind `cnn_classifier` and
//! `cnn_fashion_mnist`: trains a [`CnnTrainer`] with a validation split,
//! keeps the model of the best validation accuracy, touches the test set once
//! at the end, and writes the run folder: `config.toml`, `metrics.csv` (per
//! epoch: train loss and accuracy, validation loss and accuracy, learning
//! rate), `steps.csv`, `tb/` (the same, and the seconds of each epoch, which
//! `metrics.csv` leaves out so that two runs of a seed compare with `cmp`;
//! `summary.json` has them too), `predictions.csv`,
//! `classification_report.txt` and `report.json` (scikit-learn's layouts),
//! `confusion_matrix.png`, `misclassified.png`, `curves.png`,
//! `model.safetensors` and `summary.json`.

use crate::classification::ClassificationReport;
use crate::classification_plots::{self, Mistake};
use crate::cli::{parse_args_about, ExperimentArgs, ImageDataArgs};
use crate::device;
use crate::fit::{fit, Fitted};
use crate::plot::{self, Series};
use crate::scaffold::Experiment;
use anyhow::{bail, Result};
use nnlab_data::{ImageDataset, ImageSet};
use nnlab_vision::models::Architecture;
use nnlab_vision::trainer::{mean_cross_entropy, Precision};
use nnlab_vision::{CnnConfig, CnnFit, CnnTrainer, ImageShape};
use serde::{Deserialize, Serialize};
use tch::Device;

/// `--dataset`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum DatasetArg {
    /// Fashion-MNIST (fetched into the cache, or IDX files in `--data-dir`).
    FashionMnist,
    /// MNIST-format IDX files in `--data-dir` (class names 0-9).
    MnistIdx,
    /// CIFAR-10's binary files in `--data-dir`.
    Cifar10Bin,
}

impl From<DatasetArg> for ImageDataset {
    fn from(d: DatasetArg) -> Self {
        match d {
            DatasetArg::FashionMnist => ImageDataset::FashionMnist,
            DatasetArg::MnistIdx => ImageDataset::MnistIdx,
            DatasetArg::Cifar10Bin => ImageDataset::Cifar10Bin,
        }
    }
}

/// `--model`: which preset to start from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ModelArg {
    /// `experiments/configs/cnn/fashion-mnist-seed.toml`: the seed's CNN and recipe, unchanged.
    Seed,
    /// `experiments/configs/cnn/fashion-mnist-resnet.toml`: a ResNet with AdamW, one-cycle, label smoothing, crops, flips and random erasing.
    Resnet,
}

impl ModelArg {
    fn preset(self) -> crate::config::Preset {
        match self {
            ModelArg::Seed => crate::preset!("cnn/fashion-mnist-seed.toml"),
            ModelArg::Resnet => crate::preset!("cnn/fashion-mnist-resnet.toml"),
        }
    }
}

/// The flags of the image classifiers.
#[derive(Debug, Clone, clap::Parser)]
#[command(version)]
pub struct CnnArgs {
    /// The shared flags and `--seeds`.
    #[command(flatten)]
    pub experiment: ExperimentArgs,
    /// `--epochs`, `--data-dir` and `--log-every`.
    #[command(flatten)]
    pub data: ImageDataArgs,
    /// The images: `fashion-mnist` (fetched, or IDX files in --data-dir), `mnist-idx` or `cifar10-bin` (files in --data-dir).
    #[arg(long, value_enum)]
    pub dataset: Option<DatasetArg>,
    /// The preset to start from (without --config).
    #[arg(long, value_enum, default_value = "seed", conflicts_with = "config")]
    pub model: ModelArg,
}

/// What a run records for `classify` and for sweeps.
#[derive(Debug, Serialize, Deserialize)]
pub struct CnnSummary {
    /// Accuracy on the test set of the selected model.
    pub test_accuracy: f64,
    /// Mean cross-entropy on the test set.
    pub test_loss: f64,
    /// Macro-averaged F1 on the test set.
    pub test_macro_f1: f64,
    /// The best validation accuracy (the selected model's); absent without validation.
    pub best_validation_accuracy: Option<f64>,
    /// The epoch of that model (the last one without validation).
    pub best_epoch: usize,
    /// Mean seconds per training epoch.
    pub epoch_time_s: f64,
    /// Seconds of each training epoch.
    pub epoch_times_s: Vec<f64>,
    /// Training images per second (training epochs only).
    pub train_images_per_s: f64,
    /// Seconds from the first epoch to the end of the last (training and validation).
    pub training_time_s: f64,
    /// Epochs trained.
    pub epochs: usize,
    /// `seed` or `resnet`.
    pub model: Architecture,
    /// Trainable parameters.
    pub parameters: i64,
    /// The dataset's name.
    pub dataset: String,
    /// The folder read.
    pub data: String,
    /// Class names by label.
    pub classes: Vec<String>,
    /// The image shape the model takes: channels, height, width.
    pub image_shape: [i64; 3],
    /// Training images (after the validation split).
    pub train_images: usize,
    /// Validation images.
    pub validation_images: usize,
    /// Test images.
    pub test_images: usize,
}

/// The shape of `set`'s images.
pub fn shape_of(set: &ImageSet) -> ImageShape {
    ImageShape { channels: set.channels as i64, height: set.rows as i64, width: set.cols as i64 }
}

/// Runs the experiment `name`; `fixed` is the dataset of a preset binary.
pub fn run(name: &'static str, about: &'static str, fixed: Option<ImageDataset>) -> Result<()> {
    let args: CnnArgs = parse_args_about(about);
    let dataset: ImageDataset = match (fixed, args.dataset) {
        (Some(f), Some(d)) if ImageDataset::from(d) != f => {
            bail!("{name} trains on {}; use cnn_classifier --dataset {} for other data", f.name(), ImageDataset::from(d).name())
        }
        (Some(f), _) => f,
        (None, d) => d.unwrap_or(DatasetArg::FashionMnist).into(),
    };
    let experiment = Experiment::new(name, &args.experiment, &["test_accuracy", "best_validation_accuracy", "epoch_time_s"]);
    let epochs = |cfg: &mut CnnConfig| args.data.apply_epochs(&mut cfg.epochs);
    let prepare = |cfg: &CnnConfig| {
        let data = dataset.load(args.data.data_dir.as_deref())?;
        cfg.check_data(data.train.len, shape_of(&data.train))?;
        if let Some(bad) = data.train.labels.iter().chain(&data.test.labels).find(|&&l| l as usize >= data.classes.len()) {
            bail!("{}: label {bad} outside the {} classes", data.dir.display(), data.classes.len());
        }
        Ok(data)
    };
    let Some((mut run, data)) = experiment.start(args.model.preset(), epochs, prepare)? else {
        return Ok(());
    };
    let (cfg, device) = (run.config.clone(), run.device);
    let (train, validation) = CnnTrainer::split(&cfg, &data.train);
    let shape = shape_of(&data.train);
    let trainer = CnnTrainer::new(cfg.clone(), shape, data.classes.len() as i64, device)?;
    run.log(format_args!(
        "{name}: {:?} network ({} parameters) on {} {shape} images ({} train, {} validation, {} test) from {}, {} epochs on {}, writing {}",
        cfg.model,
        trainer.parameters(),
        dataset.name(),
        train.len,
        validation.len,
        data.test.len,
        data.dir.display(),
        cfg.epochs,
        device::name(device),
        run.dir.path().display()
    ));
    if cfg.precision == Precision::Bfloat16 && device == Device::Cpu && !nnlab_torch::numerics::cpu_has_amx_bf16() {
        run.log(format_args!(
            "{name}: warning: precision = \"bfloat16\" on a CPU without AMX is slower than float32 (oneDNN has no fast bfloat16 kernels for it)"
        ));
    }
    let mut fitting = CnnFit::new(trainer, train, validation, args.data.log_every);
    let Fitted { history, training_time_s } = fit(&mut run, &mut fitting)?;
    let CnnFit { mut trainer, train, validation, .. } = fitting;
    let (best_validation_accuracy, best_epoch) = match history.best() {
        Some(best) => {
            trainer.restore_snapshot(&best.snapshot)?;
            (Some(best.score), best.epoch)
        }
        None => (None, cfg.epochs),
    };

    // The test set, once, with the selected model.
    let probs = trainer.probabilities(&data.test)?;
    let (top_p, top_k) = probs.topk(3.min(data.classes.len() as i64), -1, true, true);
    let top_p = Vec::<f32>::try_from(top_p.flatten(0, -1))?;
    let top_k = Vec::<i64>::try_from(top_k.flatten(0, -1))?;
    let k = top_p.len() / data.test.len;
    let predicted: Vec<usize> = top_k.chunks(k).map(|c| c[0] as usize).collect();
    let labels: Vec<usize> = data.test.labels.iter().map(|&l| l as usize).collect();
    let test_loss = mean_cross_entropy(&probs, &data.test.labels)?;
    write_predictions(&run.dir.file("predictions.csv"), &labels, &top_k, &top_p, k)?;
    let report = ClassificationReport::new(&labels, &predicted, &data.classes)?;
    run.dir.write_atomic("classification_report.txt", report.to_text(4).as_bytes())?;
    run.dir.write_atomic("report.json", serde_json::to_string_pretty(&report.to_json())?.as_bytes())?;
    let title = format!("{:?} CNN on {} test set (seed {}): accuracy {:.4}", cfg.model, dataset.name(), cfg.seed, report.accuracy);
    classification_plots::confusion_matrix(&run.dir.file("confusion_matrix.png"), &title, &report.confusion, &data.classes)?;
    let mistakes = most_confident_mistakes(&data.test, &labels, &top_k, &top_p, k, &data.classes, 24);
    let side = data.test.rows;
    classification_plots::misclassified_grid(
        &run.dir.file("misclassified.png"),
        "Most confident mistakes on the test set",
        &mistakes,
        data.test.channels,
        side,
        6,
    )?;
    let mut series = vec![Series { label: "train accuracy".into(), points: history.curve("acc_curve") }];
    let val_acc_curve = history.curve("val_acc_curve");
    if !val_acc_curve.is_empty() {
        series.push(Series { label: "validation accuracy".into(), points: val_acc_curve });
    }
    plot::epoch_curves(&run.dir.file("accuracy.png"), &format!("{:?} CNN on {} (seed {})", cfg.model, dataset.name(), cfg.seed), &series, "accuracy")?;
    let mut series = vec![Series { label: "train loss".into(), points: history.curve("loss_curve") }];
    let val_loss_curve = history.curve("val_loss_curve");
    if !val_loss_curve.is_empty() {
        series.push(Series { label: "validation loss".into(), points: val_loss_curve });
    }
    plot::epoch_curves(
        &run.dir.file("losses.png"),
        &format!("{:?} CNN on {} (seed {})", cfg.model, dataset.name(), cfg.seed),
        &series,
        "cross-entropy (nats)",
    )?;
    run.dir.produce("model.safetensors", |tmp| Ok(trainer.var_store().save(tmp)?))?;

    let epoch_time_s = history.mean_epoch_time();
    let summary = CnnSummary {
        test_accuracy: report.accuracy,
        test_loss,
        test_macro_f1: report.macro_avg.f1,
        best_validation_accuracy,
        best_epoch,
        epoch_time_s,
        epoch_times_s: history.epoch_times.clone(),
        train_images_per_s: train.len as f64 / epoch_time_s,
        training_time_s,
        epochs: cfg.epochs,
        model: cfg.model,
        parameters: trainer.parameters(),
        dataset: dataset.name().to_string(),
        data: data.dir.display().to_string(),
        classes: data.classes.clone(),
        image_shape: [shape.channels, shape.height, shape.width],
        train_images: train.len,
        validation_images: validation.len,
        test_images: data.test.len,
    };
    run.log(format_args!(
        "{name}: test accuracy {:.4} (model of epoch {best_epoch}{}), macro F1 {:.4}, {epoch_time_s:.1} s per epoch, {training_time_s:.0} s in all",
        report.accuracy,
        best_validation_accuracy.map(|a| format!(", validation accuracy {a:.4}")).unwrap_or_default(),
        report.macro_avg.f1
    ));
    if !run.quiet {
        eprint!("{}", report.to_text(4));
    }
    run.finish(&summary)
}

/// `predictions.csv`: `index,label,predicted`, then the top classes with their probabilities.
fn write_predictions(path: &std::path::Path, labels: &[usize], top_k: &[i64], top_p: &[f32], k: usize) -> Result<()> {
    let mut out = String::from("index,label,predicted");
    for r in 1..=k {
        out += &format!(",top{r}_class,top{r}_probability");
    }
    out += "\n";
    for (i, &label) in labels.iter().enumerate() {
        out += &format!("{i},{label},{}", top_k[i * k]);
        for r in 0..k {
            out += &format!(",{},{:.6}", top_k[i * k + r], top_p[i * k + r]);
        }
        out += "\n";
    }
    crate::run_dir::write_atomic(path, out.as_bytes())
}

/// The `n` wrong predictions given the highest probability.
fn most_confident_mistakes(test: &ImageSet, labels: &[usize], top_k: &[i64], top_p: &[f32], k: usize, classes: &[String], n: usize) -> Vec<Mistake> {
    let mut wrong: Vec<usize> = (0..labels.len()).filter(|&i| top_k[i * k] as usize != labels[i]).collect();
    wrong.sort_by(|&a, &b| top_p[b * k].total_cmp(&top_p[a * k]).then(a.cmp(&b)));
    let size = test.channels * test.rows * test.cols;
    wrong
        .into_iter()
        .take(n)
        .map(|i| Mistake {
            pixels: test.pixels[i * size..(i + 1) * size].iter().map(|&b| b as f32 / 255.0).collect(),
            truth: classes[labels[i]].clone(),
            predicted: classes[top_k[i * k] as usize].clone(),
            confidence: top_p[i * k] as f64,
            index: i,
        })
        .collect()
}
