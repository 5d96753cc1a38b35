//! GANs on the 2-D mixtures: an MLP generator and discriminator with the
//! non-saturating loss (Goodfellow et al. 2014), and PacGAN packing (Lin et
//! al. 2018) as the remedy for mode collapse: the discriminator judges `pack`
//! samples at once, all real or all generated, which penalises a generator
//! whose samples lack diversity. `pack = 1` is the vanilla GAN.
//!
//! [`GanConfig::default`] has the sizes of PacGAN's 2-D experiments: generator
//! 2 -> 4 x 400 (ReLU, batch norm) -> 2, discriminator 3 x 200 (LeakyReLU 0.2;
//! PacGAN used maxout) -> 1, Adam 1e-4, which PacGAN trained for 400k steps.
//! nnlab's shipped presets (`experiments/configs/gan/`) are narrower (128
//! wide), with Adam 1e-3 decayed linearly to 0 and 400 samples per step,
//! and reach the benchmark's targets in 20k (ring) and 40k (grid) steps on a CPU.
//! Samples reach the networks divided by the mixture's [`Mixture::scale`].
//! Seeds: `tch::manual_seed(seed)` for initialisation (one torch thread);
//! `ChaCha8Rng::seed_from_u64(seed)` for real samples and latent noise.

use crate::adversarial::{bce_to, Adversaries};
use crate::mixture::Mixture;
use crate::ops::leaky_relu;
use anyhow::{bail, Result};
use nnlab_torch::state::TrainState;
use nnlab_torch::trainer::{Report, StepLog, Trainer};
use nnlab_torch::{check, standard_normal};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};
use tch::nn::{self, ModuleT};
use tch::{Device, Kind, Tensor};

/// Every GAN hyperparameter.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct GanConfig {
    /// Seed of the run.
    pub seed: u64,
    /// Which mixture to learn.
    pub dataset: Mixture,
    /// Generator steps.
    pub steps: usize,
    /// Samples per step (of each of real and generated), a multiple of `pack`.
    pub batch_size: usize,
    /// PacGAN packing degree (1: vanilla GAN).
    pub pack: usize,
    /// Latent dimensions.
    pub latent_dim: i64,
    /// Generator hidden width.
    pub g_hidden: i64,
    /// Generator hidden layers.
    pub g_layers: usize,
    /// Discriminator hidden width.
    pub d_hidden: i64,
    /// Discriminator hidden layers.
    pub d_layers: usize,
    /// Adam learning rate of both networks.
    #[schemars(extend("exclusiveMinimum" = 0.0))]
    pub learning_rate: f64,
    /// Adam beta1.
    pub beta1: f64,
    /// The discriminator sees samples (in units of the mixture's scale) times
    /// this factor: larger values let its first layer resolve narrow modes
    /// sooner (the same as a larger initial scale of those weights).
    pub d_input_scale: f64,
    /// Discriminator updates per generator update.
    pub d_steps: usize,
    /// Decay both learning rates linearly to 0 over `steps` (sharpens the
    /// modes at the end instead of letting the two networks keep circling).
    pub lr_decay: bool,
    /// Samples scored by the metric.
    pub eval_samples: usize,
}

nnlab_torch::run_config!(GanConfig);

impl Default for GanConfig {
    fn default() -> Self {
        Self {
            seed: 1,
            dataset: Mixture::Ring,
            steps: 20_000,
            batch_size: 100,
            pack: 4,
            latent_dim: 2,
            g_hidden: 400,
            g_layers: 4,
            d_hidden: 200,
            d_layers: 3,
            learning_rate: 1e-4,
            beta1: 0.5,
            d_input_scale: 1.0,
            d_steps: 1,
            lr_decay: false,
            eval_samples: 2500,
        }
    }
}

impl GanConfig {
    /// Checks every value; the error is one line naming the key.
    pub fn validate(&self) -> Result<()> {
        if self.steps == 0 || self.batch_size == 0 || self.pack == 0 || self.eval_samples == 0 || self.d_steps == 0 {
            bail!("steps, batch_size, pack, d_steps and eval_samples must all be at least 1");
        }
        if !self.batch_size.is_multiple_of(self.pack) {
            bail!("batch_size ({}) must be a multiple of pack ({})", self.batch_size, self.pack);
        }
        if self.latent_dim < 1 || self.g_hidden < 1 || self.d_hidden < 1 || self.g_layers == 0 || self.d_layers == 0 {
            bail!("latent_dim, g_hidden, d_hidden, g_layers and d_layers must all be at least 1");
        }
        check::positive("learning_rate", self.learning_rate)?;
        check::positive("d_input_scale", self.d_input_scale)?;
        // Each layer at most (width + input + 1) * width weights.
        let layers =
            |width: i64, n: usize, input: u128| (width as u128).saturating_add(input).saturating_add(1).saturating_mul(width as u128).saturating_mul(n as u128);
        let params = layers(self.g_hidden, self.g_layers, self.latent_dim as u128).saturating_add(layers(self.d_hidden, self.d_layers, 2 * self.pack as u128));
        check::network_fits("g_hidden, g_layers, d_hidden, d_layers", params)?;
        check::in_half_open("beta1", self.beta1, 0.0, 1.0)?;
        Ok(())
    }
}

/// The generator: `g_layers` x (linear, batch norm, ReLU), then linear to 2-D.
fn generator(p: &nn::Path, c: &GanConfig) -> nn::SequentialT {
    let mut net = nn::seq_t();
    let mut d = c.latent_dim;
    for i in 0..c.g_layers {
        let p = p / format!("fc{i}");
        net = net.add(nn::linear(&p, d, c.g_hidden, Default::default())).add(nn::batch_norm1d(&p / "bn", c.g_hidden, Default::default())).add_fn(|x| x.relu());
        d = c.g_hidden;
    }
    net.add(nn::linear(p / "out", d, 2, Default::default()))
}

/// The discriminator on `pack` concatenated samples: `d_layers` x (linear, LeakyReLU 0.2), then a logit.
fn discriminator(p: &nn::Path, c: &GanConfig) -> nn::SequentialT {
    let mut net = nn::seq_t();
    let mut d = 2 * c.pack as i64;
    for i in 0..c.d_layers {
        net = net.add(nn::linear(p / format!("fc{i}"), d, c.d_hidden, Default::default())).add_fn(|x| leaky_relu(x, 0.2));
        d = c.d_hidden;
    }
    net.add(nn::linear(p / "out", d, 1, Default::default()))
}

/// A GAN with its two optimisers and RNG.
pub struct Gan {
    config: GanConfig,
    device: Device,
    nets: Adversaries,
    rng: ChaCha8Rng,
    steps_done: usize,
}

/// Losses of one training step.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GanStep {
    /// Discriminator loss.
    pub d_loss: f64,
    /// Generator (non-saturating) loss.
    pub g_loss: f64,
}

impl Gan {
    /// Builds both networks on `device`.
    pub fn new(config: GanConfig, device: Device) -> Result<Self> {
        config.validate()?;
        let nets = Adversaries::new(config.seed, device, config.learning_rate, config.beta1, |p| generator(p, &config), |p| discriminator(p, &config))?;
        let rng = ChaCha8Rng::seed_from_u64(config.seed);
        Ok(Self { config, device, nets, rng, steps_done: 0 })
    }

    fn normal(&mut self, shape: &[i64]) -> Tensor {
        standard_normal(&mut self.rng, shape, self.device)
    }

    /// Packs `[B, 2]` samples into `[B / pack, 2 * pack]` discriminator inputs.
    fn packed(&self, x: &Tensor) -> Tensor {
        x.view([-1, 2 * self.config.pack as i64]) * self.config.d_input_scale
    }

    /// One discriminator step and one generator step.
    pub fn step(&mut self) -> GanStep {
        if self.config.lr_decay {
            let lr = self.config.learning_rate * (1.0 - self.steps_done as f64 / self.config.steps as f64).max(0.0);
            self.nets.set_lr(lr);
        }
        self.steps_done += 1;
        let b = self.config.batch_size;
        // `d_steps` discriminator updates, each on fresh real and generated samples;
        // the generator's update reuses the last generated batch.
        let mut fake = Tensor::new();
        let mut d_loss = Tensor::new();
        for i in 0..self.config.d_steps {
            let real =
                Tensor::from_slice(&self.config.dataset.sample(b, &mut self.rng)).view([b as i64, 2]).to_device(self.device) / self.config.dataset.scale();
            let z = self.normal(&[b as i64, self.config.latent_dim]);
            fake =
                if i + 1 == self.config.d_steps { self.nets.generator.forward_t(&z, true) } else { tch::no_grad(|| self.nets.generator.forward_t(&z, true)) };
            let d_real = self.nets.discriminator.forward_t(&self.packed(&real), true);
            let d_fake = self.nets.discriminator.forward_t(&self.packed(&fake.detach()), true);
            d_loss = bce_to(&d_real, 1.0) + bce_to(&d_fake, 0.0);
            self.nets.d_opt.backward_step(&d_loss);
        }
        // Non-saturating generator loss: maximise log D(G(z)).
        let g_loss = bce_to(&self.nets.discriminator.forward_t(&self.packed(&fake), true), 1.0);
        self.nets.g_opt.backward_step(&g_loss);
        GanStep { d_loss: f64::try_from(&d_loss).unwrap_or(f64::NAN), g_loss: f64::try_from(&g_loss).unwrap_or(f64::NAN) }
    }

    /// Everything needed to continue training exactly: both networks and
    /// optimisers, the random stream and the step count.
    pub fn train_state(&self) -> Result<nnlab_torch::state::TrainState> {
        let mut s = self.nets.train_state()?;
        s.put("rng", &self.rng)?;
        s.put("steps_done", &self.steps_done)?;
        Ok(s)
    }

    /// Restores what [`Gan::train_state`] saved, into a GAN built with the same config.
    pub fn restore_train_state(&mut self, s: &nnlab_torch::state::TrainState) -> Result<()> {
        self.nets.restore_train_state(s)?;
        self.rng = s.get("rng")?;
        self.steps_done = s.get("steps_done")?;
        Ok(())
    }

    /// `n` generated samples `[x0, y0, ...]` (batch norm in evaluation mode).
    pub fn generate(&mut self, n: usize) -> anyhow::Result<Vec<f32>> {
        let z = self.normal(&[n as i64, self.config.latent_dim]);
        let x = tch::no_grad(|| self.nets.generator.forward_t(&z, false)) * self.config.dataset.scale();
        Ok(Vec::<f32>::try_from(x.to_kind(Kind::Float).to_device(Device::Cpu).flatten(0, -1))?)
    }

    /// The configuration.
    pub fn config(&self) -> &GanConfig {
        &self.config
    }
}

/// A GAN's training on a 2-D mixture as the experiments' `fit` drives it:
/// steps, with a row every `eval_every` steps (and at the last) of the mean
/// losses since the previous row and the mode metrics of `eval_samples`
/// samples; samples are also kept at 0, 10, 25, 50, 75 and 100% of training
/// for the snapshot plot. Checkpoints fall on rows, where the running sums
/// are empty.
pub struct GanFit {
    /// The GAN.
    pub gan: Gan,
    /// `(label, samples)` at the snapshot steps so far.
    pub snapshots: Vec<(String, Vec<f32>)>,
    eval_every: usize,
    snapshot_at: Vec<usize>,
    sums: (f64, f64, usize),
}

impl GanFit {
    /// Trains `gan`, reporting every `eval_every` steps (at least 1).
    pub fn new(gan: Gan, eval_every: usize) -> Self {
        let steps = gan.config.steps;
        let snapshot_at = [0.0, 0.1, 0.25, 0.5, 0.75, 1.0].iter().map(|f| ((steps as f64 * f) as usize).max(1)).collect();
        Self { gan, snapshots: Vec::new(), eval_every: eval_every.max(1), snapshot_at, sums: (0.0, 0.0, 0) }
    }
}

impl Trainer for GanFit {
    fn index_name(&self) -> &'static str {
        "step"
    }
    fn rounds(&self) -> Vec<u64> {
        let steps = self.gan.config.steps;
        (1..=steps).filter(|s| s % self.eval_every == 0 || *s == steps).map(|s| s as u64).collect()
    }
    fn train(&mut self, from: u64, to: u64, _log_step: &mut StepLog<'_>) -> Result<()> {
        for step in from as usize + 1..=to as usize {
            let l = self.gan.step();
            self.sums = (self.sums.0 + l.d_loss, self.sums.1 + l.g_loss, self.sums.2 + 1);
            if self.snapshot_at.contains(&step) {
                self.snapshots.push((format!("step {step}"), self.gan.generate(self.gan.config.eval_samples)?));
            }
        }
        Ok(())
    }
    fn report(&mut self, _step: u64, _train_seconds: f64) -> Result<Report> {
        let m = crate::mixture::evaluate(self.gan.config.dataset, &self.gan.generate(self.gan.config.eval_samples)?);
        let (d, g, n) = self.sums;
        self.sums = (0.0, 0.0, 0);
        // The reverse KL is undefined (an empty cell) while no sample is near a mode.
        let row = vec![
            ("d_loss", Some(d / n as f64)),
            ("g_loss", Some(g / n as f64)),
            ("modes_covered", Some(m.modes_covered as f64)),
            ("high_quality_fraction", Some(m.high_quality_fraction)),
            ("reverse_kl", m.reverse_kl),
        ];
        Ok(Report { row, ..Report::default() })
    }
    fn state(&self) -> Result<TrainState> {
        let mut s = TrainState::new();
        s.put_part("gan", self.gan.train_state()?);
        s.put("snapshot_labels", &self.snapshots.iter().map(|x| x.0.clone()).collect::<Vec<_>>())?;
        for (i, (_, samples)) in self.snapshots.iter().enumerate() {
            s.put_f32s(&format!("snapshot.{i}"), samples);
        }
        Ok(s)
    }
    fn restore(&mut self, s: &TrainState) -> Result<()> {
        self.gan.restore_train_state(&s.part("gan"))?;
        let labels: Vec<String> = s.get("snapshot_labels")?;
        self.snapshots = labels.into_iter().enumerate().map(|(i, label)| Ok((label, s.f32s(&format!("snapshot.{i}"))?))).collect::<Result<_>>()?;
        Ok(())
    }
}
