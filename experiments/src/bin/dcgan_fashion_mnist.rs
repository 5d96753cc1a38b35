//! DCGAN on Fashion-MNIST: trains, and after every epoch writes a grid of 64
//! samples (the same latent vectors each time) and the Fréchet distance of
//! `fd_samples` generated images to the training set, measured in the feature
//! space of nnlab's own Fashion-MNIST CNN classifier (not Inception-v3, so it
//! is not an FID comparable with published numbers). The floor is the same
//! distance for the real test set (`real_test_frechet_distance`).
//!
//! The classifier's weights are committed with the code (trained once in
//! portable numerics by `fd_classifier`), so every machine scores with the
//! same function, whatever data `--data-dir` brings. Run folder: `config.toml`,
//! `metrics.csv` (per epoch), `steps.csv` (losses every `--log-every` steps), `tb/`, `samples_epoch_<k>.png`, `frechet.png`,
//! `losses.png`, `generator.safetensors`, `summary.json`.

use anyhow::Result;
use nnlab_experiments::cli::{parse_args_about, ImageExperimentArgs};
use nnlab_experiments::config::Preset;
use nnlab_experiments::device;
use nnlab_experiments::fit::{fit, Fitted};
use nnlab_experiments::plot::{self, Series};
use nnlab_experiments::scaffold::Experiment;
use nnlab_generative::classifier;
use nnlab_generative::dcgan::{Dcgan, DcganConfig, DcganFit};
use nnlab_generative::frechet::{frechet_distance, gaussian_stats};
use serde::Serialize;
use tch::Tensor;

#[derive(Serialize)]
struct DcganSummary {
    /// Fréchet distance of generated images to the training set (classifier features).
    frechet_distance: f64,
    /// The same for the real test set: the floor.
    real_test_frechet_distance: f64,
    feature_space: &'static str,
    classifier_test_accuracy: f64,
    fd_samples: usize,
    d_real: f64,
    d_fake: f64,
    epoch_time_s: f64,
    epochs: usize,
    train_images: usize,
    data: String,
}

fn run() -> Result<()> {
    let args: ImageExperimentArgs = parse_args_about("Train a DCGAN on Fashion-MNIST and score it with a classifier-feature Fréchet distance");
    let keys = &["frechet_distance", "real_test_frechet_distance", "epoch_time_s"];
    let experiment = Experiment::new("dcgan_fashion_mnist", &args.experiment, keys);
    let epochs = |cfg: &mut DcganConfig| args.data.apply_epochs(&mut cfg.epochs);
    let data = |cfg: &DcganConfig| args.data.load(cfg.batch_size);
    let Some((mut run, (data_dir, train_set, test_set))) = experiment.start(Preset::defaults("DCGAN defaults"), epochs, data)? else {
        return Ok(());
    };
    let (cfg, device) = (run.config.clone(), run.device);
    let train = train_set.images_tensor(device);
    let test = test_set.images_tensor(device);
    let clf = classifier::shipped(device)?;
    let classifier_test_accuracy = clf.accuracy(&test, &test_set.labels_tensor(device))?;
    let (train_mean, train_cov) = gaussian_stats(&clf.features_of(&train))?;
    let fd_to_train = |images: &Tensor| -> Result<f64> {
        let (m, c) = gaussian_stats(&clf.features_of(images))?;
        frechet_distance(&m, &c, &train_mean, &train_cov)
    };
    let real_test_fd = fd_to_train(&test)?;
    run.log(format_args!(
        "dcgan_fashion_mnist: {} epochs on {}, classifier test accuracy {:.2}%, real test set's Fréchet distance {:.3}; writing {}",
        cfg.epochs,
        device::name(device),
        100.0 * classifier_test_accuracy,
        real_test_fd,
        run.dir.path().display()
    ));

    let mut fitting = DcganFit::new(Dcgan::new(cfg.clone(), device)?, train, args.data.log_every, Box::new(fd_to_train));
    let Fitted { history, .. } = fit(&mut run, &mut fitting)?;
    let DcganFit { gan, frechet_distance: fd, last, .. } = fitting;
    run.dir.produce("generator.safetensors", |tmp| Ok(gan.generator_vars().save(tmp)?))?;
    let fd_curve = history.curve("fd_curve");
    let floor: Vec<(f64, f64)> = fd_curve.iter().map(|&(x, _)| (x, real_test_fd)).collect();
    let title = format!("DCGAN on Fashion-MNIST (seed {})", cfg.seed);
    plot::epoch_curves(
        &run.dir.file("frechet.png"),
        &title,
        &[Series { label: "generated images".into(), points: fd_curve }, Series { label: "real test images (floor)".into(), points: floor }],
        "Fréchet distance (classifier features)",
    )?;
    plot::epoch_curves(
        &run.dir.file("losses.png"),
        &title,
        &[Series { label: "discriminator".into(), points: history.curve("d_curve") }, Series { label: "generator".into(), points: history.curve("g_curve") }],
        "loss",
    )?;
    let last = last.expect("at least one epoch");
    let summary = DcganSummary {
        frechet_distance: fd,
        real_test_frechet_distance: real_test_fd,
        feature_space: "nnlab Fashion-MNIST CNN, 128 penultimate features (not Inception-v3)",
        classifier_test_accuracy,
        fd_samples: cfg.fd_samples,
        d_real: last.d_real,
        d_fake: last.d_fake,
        epoch_time_s: history.mean_epoch_time(),
        epochs: cfg.epochs,
        train_images: train_set.len,
        data: data_dir.display().to_string(),
    };
    run.log(format_args!("dcgan_fashion_mnist: Fréchet distance {fd:.3} (real test images: {real_test_fd:.3}), {:.1} s per epoch", summary.epoch_time_s));
    run.finish(&summary)
}

fn main() -> std::process::ExitCode {
    nnlab_experiments::main_wrapper("dcgan_fashion_mnist", run)
}
