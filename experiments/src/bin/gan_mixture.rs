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
use nnlab_experiments::plot;
use nnlab_experiments::scaffold::Experiment;
use nnlab_generative::gan::{Gan, GanConfig};
use nnlab_generative::mixture::{evaluate, Mixture};
use nnlab_torch::state::TrainState;
use serde::Serialize;
use std::time::Instant;

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
        DatasetArg::Ring => ("experiments/configs/gan/ring.toml", include_str!("../../configs/gan/ring.toml")),
        DatasetArg::Grid => ("experiments/configs/gan/grid.toml", include_str!("../../configs/gan/grid.toml")),
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
    let mut gan = Gan::new(cfg.clone(), device)?;
    let mut snapshots = Vec::new();
    let snapshot_at: Vec<usize> = [0.0, 0.1, 0.25, 0.5, 0.75, 1.0].iter().map(|f| ((cfg.steps as f64 * f) as usize).max(1)).collect();
    let start = Instant::now();
    let mut elapsed_before = 0.0;
    if let Some(s) = run.resumed() {
        gan.restore_train_state(&s.part("gan"))?;
        let labels: Vec<String> = s.get("snapshot_labels")?;
        for (i, label) in labels.into_iter().enumerate() {
            snapshots.push((label, s.f32s(&format!("snapshot.{i}"))?));
        }
        elapsed_before = s.f64s("elapsed_s")?.first().copied().unwrap_or(0.0);
    }
    let (mut d_sum, mut g_sum, mut count) = (0.0, 0.0, 0usize);
    for step in run.start_after() as usize + 1..=cfg.steps {
        let l = gan.step();
        d_sum += l.d_loss;
        g_sum += l.g_loss;
        count += 1;
        if snapshot_at.contains(&step) {
            snapshots.push((format!("step {step}"), gan.generate(cfg.eval_samples)?));
        }
        if step % args.eval_every == 0 || step == cfg.steps {
            let m = evaluate(cfg.dataset, &gan.generate(cfg.eval_samples)?);
            // The reverse KL is undefined (an empty cell) while no sample is near a mode.
            run.metrics.row(
                "step",
                step,
                &[
                    ("d_loss", Some(d_sum / count as f64)),
                    ("g_loss", Some(g_sum / count as f64)),
                    ("modes_covered", Some(m.modes_covered as f64)),
                    ("high_quality_fraction", Some(m.high_quality_fraction)),
                    ("reverse_kl", m.reverse_kl),
                ],
            )?;
            (d_sum, g_sum, count) = (0.0, 0.0, 0);
            // Between rows, where the running sums are empty: a point to continue from.
            run.checkpoint_if_due(step as u64, || {
                let mut s = TrainState::new();
                s.put_part("gan", gan.train_state()?);
                s.put("snapshot_labels", &snapshots.iter().map(|x| x.0.clone()).collect::<Vec<_>>())?;
                for (i, (_, samples)) in snapshots.iter().enumerate() {
                    s.put_f32s(&format!("snapshot.{i}"), samples);
                }
                s.put_f64s("elapsed_s", &[elapsed_before + start.elapsed().as_secs_f64()]);
                Ok(s)
            })?;
        }
    }
    let wall_time_s = elapsed_before + start.elapsed().as_secs_f64();
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
