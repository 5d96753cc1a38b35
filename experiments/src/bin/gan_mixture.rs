//! A GAN on a 2-D Gaussian mixture (`--dataset ring|grid`) with `--variant
//! pacgan` (the default and the better one; packing 4 on the ring, 2 on the
//! grid, from the presets `experiments/configs/gan/<dataset>.toml`) or
//! `vanilla` (packing 1); scores
//! samples with the benchmark metric during and after training and writes a
//! run folder: `config.toml`, `metrics.csv` (every `--eval-every` steps: losses,
//! modes covered, high-quality fraction, reverse KL), `samples.png` (snapshots
//! over training), `summary.json` (`modes_covered`, `high_quality_fraction`,
//! `reverse_kl` of the final generator on 2,500 samples).

use anyhow::Result;
use clap::{Parser, ValueEnum};
use nnlab_experiments::cli::{parse_args_resumable, ExperimentArgs};
use nnlab_experiments::device;
use nnlab_experiments::fit::{fit, Fitted};
use nnlab_experiments::plot;
use nnlab_experiments::scaffold::Experiment;
use nnlab_generative::gan::{Gan, GanConfig, GanFit};
use nnlab_generative::mixture::{evaluate, Mixture};
use serde::Serialize;

/// The GAN variant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Variant {
    /// PacGAN: the discriminator sees `pack` samples at once (the preset's: 4 on the ring, 2 on the grid).
    Pacgan,
    /// The plain GAN (packing 1).
    Vanilla,
}

/// Train a GAN on the ring or grid of Gaussians and score its mode coverage.
#[derive(Debug, Parser)]
#[command(version)]
struct Args {
    #[command(flatten)]
    experiment: ExperimentArgs,
    /// The mixture.
    #[arg(long, value_enum, default_value_t = DatasetArg::Ring)]
    dataset: DatasetArg,
    /// The GAN variant.
    #[arg(long, value_enum, default_value_t = Variant::Pacgan)]
    variant: Variant,
    /// Generator steps (overrides the config's `steps`).
    #[arg(long)]
    steps: Option<usize>,
    /// Steps between evaluations (metrics row and snapshot candidates).
    #[arg(long, default_value_t = 1000)]
    eval_every: usize,
}

/// `--dataset`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum DatasetArg {
    /// 8 Gaussians on the unit circle.
    Ring,
    /// 25 Gaussians on a 5x5 grid.
    Grid,
}

#[derive(Serialize)]
struct GanSummary {
    dataset: Mixture,
    variant: String,
    modes_covered: usize,
    modes_total: usize,
    high_quality_fraction: f64,
    reverse_kl: Option<f64>,
    eval_samples: usize,
    steps: usize,
    wall_time_s: f64,
}

fn run() -> Result<()> {
    let args: Args = parse_args_resumable();
    let keys = &["modes_covered", "high_quality_fraction", "reverse_kl"];
    let experiment = Experiment::new("gan_mixture", &args.experiment, keys);
    let preset = match args.dataset {
        DatasetArg::Ring => nnlab_experiments::preset!("gan/ring.toml"),
        DatasetArg::Grid => nnlab_experiments::preset!("gan/grid.toml"),
    };
    let adjust = |cfg: &mut GanConfig| {
        cfg.dataset = match args.dataset {
            DatasetArg::Ring => Mixture::Ring,
            DatasetArg::Grid => Mixture::Grid,
        };
        if args.variant == Variant::Vanilla {
            cfg.pack = 1;
        }
        cfg.steps = args.steps.unwrap_or(cfg.steps);
        if args.eval_every == 0 {
            anyhow::bail!("--eval-every must be at least 1");
        }
        Ok(())
    };
    let Some((mut run, ())) = experiment.start(preset, adjust, |_| Ok(()))? else {
        return Ok(());
    };
    let (cfg, device) = (run.config.clone(), run.device);
    let variant = format!("{:?}", args.variant).to_lowercase();
    run.log(format_args!(
        "gan_mixture: {variant} (pack {}) on {:?}, {} steps on {}, writing {}",
        cfg.pack,
        cfg.dataset,
        cfg.steps,
        device::name(device),
        run.dir.path().display()
    ));
    let mut fitting = GanFit::new(Gan::new(cfg.clone(), device)?, args.eval_every);
    let Fitted { training_time_s: wall_time_s, .. } = fit(&mut run, &mut fitting)?;
    let GanFit { mut gan, snapshots, .. } = fitting;
    let final_samples = gan.generate(cfg.eval_samples)?;
    let m = evaluate(cfg.dataset, &final_samples);
    let lim = match cfg.dataset {
        Mixture::Ring => 1.5,
        Mixture::Grid => 5.5,
    };
    plot::sample_panels(
        &run.dir.file("samples.png"),
        &format!("{variant} GAN on the {:?} (seed {})", cfg.dataset, cfg.seed),
        &snapshots,
        &cfg.dataset.modes(),
        lim,
    )?;
    let summary = GanSummary {
        dataset: cfg.dataset,
        variant: variant.clone(),
        modes_covered: m.modes_covered,
        modes_total: m.modes_total,
        high_quality_fraction: m.high_quality_fraction,
        reverse_kl: m.reverse_kl,
        eval_samples: cfg.eval_samples,
        steps: cfg.steps,
        wall_time_s,
    };
    run.log(format_args!(
        "gan_mixture: {}/{} modes, {:.1}% high quality, reverse KL {}, {:.1} s",
        m.modes_covered,
        m.modes_total,
        100.0 * m.high_quality_fraction,
        m.reverse_kl.map(|k| format!("{k:.3}")).unwrap_or("-".into()),
        wall_time_s
    ));
    run.finish(&summary)
}

fn main() -> std::process::ExitCode {
    nnlab_experiments::main_wrapper("gan_mixture", run)
}
