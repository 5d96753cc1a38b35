//! A VAE on Fashion-MNIST (PyTorch's example VAE by default): trains, reports
//! the test negative ELBO per epoch and an importance-weighted test NLL, and
//! writes a run folder with `config.toml`, `metrics.csv` (per epoch),
//! `steps.csv` (the training loss every `--log-every` steps), `tb/`,
//! `summary.json` (`test_loss`, `test_nll_iw`, `epoch_time_s`), `losses.png`,
//! `reconstructions.png`, `samples.png`, `model.safetensors`, and for a 2-D
//! latent space `latent_space.png` and `manifold.png`.
//!
//! Fashion-MNIST is fetched into nnlab's cache on first use (Debian's
//! `dataset-fashion-mnist`); `--data-dir` reads MNIST-format IDX files instead.

use anyhow::Result;
use nnlab_experiments::cli::{parse_args_about, ImageExperimentArgs};
use nnlab_experiments::config::Preset;
use nnlab_experiments::fit::{fit, Fitted};
use nnlab_experiments::plot::{self, Series};
use nnlab_experiments::scaffold::Experiment;
use nnlab_experiments::{device, images};
use nnlab_generative::data::FASHION_MNIST_CLASSES;
use nnlab_generative::vae_trainer::{VaeConfig, VaeFit, VaeTrainer};
use serde::Serialize;
use tch::{Kind, Tensor};

#[derive(Serialize)]
struct VaeSummary {
    test_loss: f64,
    test_reconstruction: f64,
    test_kl: f64,
    test_nll_iw: f64,
    iw_samples: usize,
    epoch_time_s: f64,
    epochs: usize,
    train_images: usize,
    test_images: usize,
    data: String,
}

fn run() -> Result<()> {
    let args: ImageExperimentArgs = parse_args_about("Train a VAE on Fashion-MNIST and write a reproducible run folder");
    let experiment = Experiment::new("vae_fashion_mnist", &args.experiment, &["test_loss", "test_nll_iw", "epoch_time_s"]);
    let epochs = |cfg: &mut VaeConfig| args.data.apply_epochs(&mut cfg.epochs);
    let data = |cfg: &VaeConfig| args.data.load(cfg.batch_size);
    let Some((mut run, (data_dir, train_set, test_set))) = experiment.start(Preset::defaults("VAE defaults (PyTorch's example)"), epochs, data)? else {
        return Ok(());
    };
    let (cfg, device) = (run.config.clone(), run.device);
    run.log(format_args!(
        "vae_fashion_mnist: {:?} VAE, latent {}, {} epochs on {}, data {}, writing {}",
        cfg.arch,
        cfg.latent_dim,
        cfg.epochs,
        device::name(device),
        data_dir.display(),
        run.dir.path().display()
    ));
    let mut vae = VaeFit::new(VaeTrainer::new(cfg.clone(), device)?, train_set.images_tensor(device), test_set.images_tensor(device), args.data.log_every);
    let Fitted { history, .. } = fit(&mut run, &mut vae)?;
    let VaeFit { mut trainer, test, last, .. } = vae;
    let test_nll_iw = trainer.test_nll_iw(&test)?;

    run.dir.produce("model.safetensors", |tmp| Ok(trainer.var_store().save(tmp)?))?;
    plot::epoch_curves(
        &run.dir.file("losses.png"),
        &format!("{:?} VAE on Fashion-MNIST (latent {}, seed {})", cfg.arch, cfg.latent_dim, cfg.seed),
        &[
            Series { label: "train loss".into(), points: history.curve("train_curve") },
            Series { label: "test negative ELBO".into(), points: history.curve("test_curve") },
        ],
        "nats per image",
    )?;
    let _guard = tch::no_grad_guard();
    let model = trainer.model();
    let rows = |t: &Tensor| -> Result<Vec<Vec<f32>>> {
        Ok(Vec::<f32>::try_from(t.to_device(tch::Device::Cpu).flatten(0, -1))?.chunks(784).map(|c| c.to_vec()).collect())
    };
    // Reconstructions: 16 test images (odd rows) above their reconstructions (mean of p(x|z=mu)).
    let originals = test.narrow(0, 0, 16);
    let recon = model.decode_logits(&model.encode(&originals).0).sigmoid();
    let (o, r) = (rows(&originals)?, rows(&recon)?);
    let grid: Vec<Vec<f32>> = o.chunks(8).zip(r.chunks(8)).flat_map(|(a, b)| a.iter().chain(b).cloned()).collect();
    images::write_grid(&run.dir.file("reconstructions.png"), &grid, 28, 8, 2)?;
    let z = trainer.noise(&[64, cfg.latent_dim]);
    let samples = trainer.model().decode_logits(&z).sigmoid();
    images::write_grid(&run.dir.file("samples.png"), &rows(&samples)?, 28, 8, 2)?;
    if cfg.latent_dim == 2 {
        let mu = trainer.model().encode(&test).0.to_kind(Kind::Double).to_device(tch::Device::Cpu);
        let mu = Vec::<f64>::try_from(mu.flatten(0, -1))?;
        let pts: Vec<(f64, f64, u8)> = mu.chunks(2).zip(&test_set.labels).map(|(m, l)| (m[0], m[1], *l)).collect();
        plot::class_scatter(&run.dir.file("latent_space.png"), "Test set latent means", &pts, &FASHION_MNIST_CLASSES)?;
        // Decoded grid over the central 90% of the prior (normal quantiles).
        let n = 20;
        let q: Vec<f32> = (0..n).map(|i| 1.645 * (2.0 * (i as f32 + 0.5) / n as f32 - 1.0)).collect();
        let grid_z: Vec<f32> = q.iter().rev().flat_map(|&y| q.iter().flat_map(move |&x| [x, y])).collect();
        let decoded = trainer.model().decode_logits(&Tensor::from_slice(&grid_z).view([-1, 2]).to_device(device)).sigmoid();
        images::write_grid(&run.dir.file("manifold.png"), &rows(&decoded)?, 28, n, 1)?;
    }
    let summary = VaeSummary {
        test_loss: last.loss,
        test_reconstruction: last.reconstruction,
        test_kl: last.kl,
        test_nll_iw,
        iw_samples: cfg.iw_samples,
        epoch_time_s: history.mean_epoch_time(),
        epochs: cfg.epochs,
        train_images: train_set.len,
        test_images: test_set.len,
        data: data_dir.display().to_string(),
    };
    run.log(format_args!(
        "vae_fashion_mnist: test negative ELBO {:.2}, importance-weighted NLL {:.2} (k = {}), {:.2} s per epoch",
        last.loss, test_nll_iw, cfg.iw_samples, summary.epoch_time_s
    ));
    run.finish(&summary)
}

fn main() -> std::process::ExitCode {
    nnlab_experiments::main_wrapper("vae_fashion_mnist", run)
}
