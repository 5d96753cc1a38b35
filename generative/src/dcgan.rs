//! DCGAN (Radford et al. 2016) for 28x28 greyscale images, after PyTorch's
//! `examples/dcgan` scaled to 28x28: transposed convolutions with batch norm
//! and ReLU in the generator (tanh output in [-1, 1]), strided convolutions
//! with LeakyReLU 0.2 in the discriminator (batch norm after the first),
//! weights N(0, 0.02), batch-norm scales N(1, 0.02), Adam 2e-4 with beta1 0.5,
//! the non-saturating generator loss.
//!
//! Generator: z (latent_dim) -> 7x7 x 4g -> 14x14 x 2g -> 28x28 x 1.
//! Discriminator: 28x28 x 1 -> 14x14 x d -> 7x7 x 2d -> 1 logit.
//!
//! Seeds: initial weights from `tch::manual_seed(seed)` on one torch thread;
//! shuffling and every latent vector from `ChaCha8Rng::seed_from_u64(seed)`.

use crate::adversarial::{bce_to, Adversaries};
use crate::ops::leaky_relu;
use anyhow::{bail, Result};
use nnlab_torch::standard_normal;
use nnlab_torch::state::TrainState;
use nnlab_torch::trainer::{ImageGrid, Report, StepLog, Trainer};
use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};
use tch::nn::{self, ModuleT};
use tch::{Device, Kind, Tensor};

/// Every DCGAN hyperparameter, with PyTorch's example's defaults where it has them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct DcganConfig {
    /// Seed of the run.
    pub seed: u64,
    /// Passes over the training set.
    pub epochs: usize,
    /// Real (and generated) images per step.
    pub batch_size: usize,
    /// Latent dimensions (`nz`).
    pub latent_dim: i64,
    /// Generator feature maps (`ngf`); the layers have 4x and 2x this many.
    pub g_features: i64,
    /// Discriminator feature maps (`ndf`); the second layer has 2x this many.
    pub d_features: i64,
    /// Adam learning rate of both networks.
    #[schemars(extend("exclusiveMinimum" = 0.0))]
    pub learning_rate: f64,
    /// Adam beta1.
    pub beta1: f64,
    /// Generated images scored by the Fréchet distance after each epoch.
    pub fd_samples: usize,
}

nnlab_torch::run_config!(DcganConfig);

impl Default for DcganConfig {
    fn default() -> Self {
        Self { seed: 1, epochs: 5, batch_size: 64, latent_dim: 100, g_features: 32, d_features: 32, learning_rate: 2e-4, beta1: 0.5, fd_samples: 10_000 }
    }
}

impl DcganConfig {
    /// Checks every value; the error is one line naming the key.
    pub fn validate(&self) -> Result<()> {
        if self.epochs == 0 || self.batch_size < 2 || self.fd_samples < 2 {
            bail!("epochs must be at least 1, batch_size and fd_samples at least 2");
        }
        if self.latent_dim < 1 || self.g_features < 1 || self.d_features < 1 {
            bail!("latent_dim, g_features and d_features must all be at least 1");
        }
        nnlab_torch::check::positive("learning_rate", self.learning_rate)?;
        // Generator and discriminator: about 50 * width^2 weights at most, plus the latent projection.
        let (g, d, z) = (self.g_features as u128, self.d_features as u128, self.latent_dim as u128);
        let params = (g.saturating_mul(g).saturating_add(d.saturating_mul(d))).saturating_mul(64).saturating_add(z.saturating_mul(g).saturating_mul(2 * 49));
        nnlab_torch::check::network_fits("g_features, d_features, latent_dim", params)?;
        nnlab_torch::check::in_half_open("beta1", self.beta1, 0.0, 1.0)?;
        Ok(())
    }
}

/// One step's (detached, scalar) losses and mean discriminator outputs.
pub struct DcganStep {
    /// Discriminator loss (real + generated).
    pub d_loss: Tensor,
    /// Generator loss.
    pub g_loss: Tensor,
    /// Mean D(x) on the real images (probability).
    pub d_real: Tensor,
    /// Mean D(G(z)) on the generated images (probability), before the generator step.
    pub d_fake: Tensor,
}

/// Mean losses and discriminator outputs over one epoch.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct DcganEpoch {
    /// Discriminator loss (real + generated).
    pub d_loss: f64,
    /// Generator loss.
    pub g_loss: f64,
    /// Mean D(x) on real images (probability).
    pub d_real: f64,
    /// Mean D(G(z)) on generated images, before the discriminator's step.
    pub d_fake: f64,
}

const INIT: nn::Init = nn::Init::Randn { mean: 0.0, stdev: 0.02 };

fn batch_norm(p: nn::Path, n: i64) -> nn::BatchNorm {
    nn::batch_norm2d(p, n, nn::BatchNormConfig { ws_init: nn::Init::Randn { mean: 1.0, stdev: 0.02 }, bs_init: nn::Init::Const(0.0), ..Default::default() })
}

fn generator(p: &nn::Path, c: &DcganConfig) -> nn::SequentialT {
    let g = c.g_features;
    let up = |stride, padding| nn::ConvTransposeConfig { stride, padding, bias: false, ws_init: INIT, ..Default::default() };
    let latent = c.latent_dim;
    nn::seq_t()
        .add_fn(move |z| z.view([-1, latent, 1, 1]))
        .add(nn::conv_transpose2d(p / "up1", latent, 4 * g, 7, up(1, 0)))
        .add(batch_norm(p / "bn1", 4 * g))
        .add_fn(|x| x.relu())
        .add(nn::conv_transpose2d(p / "up2", 4 * g, 2 * g, 4, up(2, 1)))
        .add(batch_norm(p / "bn2", 2 * g))
        .add_fn(|x| x.relu())
        .add(nn::conv_transpose2d(p / "up3", 2 * g, 1, 4, up(2, 1)))
        .add_fn(|x| x.tanh())
}

fn discriminator(p: &nn::Path, c: &DcganConfig) -> nn::SequentialT {
    let d = c.d_features;
    let down = |stride, padding| nn::ConvConfig { stride, padding, bias: false, ws_init: INIT, ..Default::default() };
    nn::seq_t()
        .add(nn::conv2d(p / "down1", 1, d, 4, down(2, 1)))
        .add_fn(|x| leaky_relu(x, 0.2))
        .add(nn::conv2d(p / "down2", d, 2 * d, 4, down(2, 1)))
        .add(batch_norm(p / "bn2", 2 * d))
        .add_fn(|x| leaky_relu(x, 0.2))
        .add(nn::conv2d(p / "out", 2 * d, 1, 7, down(1, 0)))
        .add_fn(|x| x.view([-1]))
}

/// A DCGAN with its two optimisers and RNG.
pub struct Dcgan {
    config: DcganConfig,
    device: Device,
    nets: Adversaries,
    rng: ChaCha8Rng,
}

impl Dcgan {
    /// Builds both networks on `device`.
    pub fn new(config: DcganConfig, device: Device) -> Result<Self> {
        config.validate()?;
        let nets = Adversaries::new(config.seed, device, config.learning_rate, config.beta1, |p| generator(p, &config), |p| discriminator(p, &config))?;
        let rng = ChaCha8Rng::seed_from_u64(config.seed);
        Ok(Self { config, device, nets, rng })
    }

    /// The configuration.
    pub fn config(&self) -> &DcganConfig {
        &self.config
    }

    /// The generator's variables (for saving).
    pub fn generator_vars(&self) -> &nn::VarStore {
        &self.nets.g_vs
    }

    /// Everything needed to continue training exactly: both networks (batch-norm
    /// statistics included), both optimisers and the random stream.
    pub fn train_state(&self) -> Result<nnlab_torch::state::TrainState> {
        let mut s = self.nets.train_state()?;
        s.put("rng", &self.rng)?;
        Ok(s)
    }

    /// Restores what [`Dcgan::train_state`] saved, into a DCGAN built with the same config.
    pub fn restore_train_state(&mut self, s: &nnlab_torch::state::TrainState) -> Result<()> {
        self.nets.restore_train_state(s)?;
        self.rng = s.get("rng")?;
        Ok(())
    }

    /// Standard-normal latent vectors `[n, latent_dim]` from the run's RNG.
    pub fn latent(&mut self, n: usize) -> Tensor {
        standard_normal(&mut self.rng, &[n as i64, self.config.latent_dim], self.device)
    }

    /// One discriminator step and one generator step on `real` (`[B, 1, 28, 28]` in [-1, 1]).
    pub fn step(&mut self, real: &Tensor) -> DcganStep {
        let b = real.size()[0] as usize;
        let z = self.latent(b);
        let fake = self.nets.generator.forward_t(&z, true);
        let real_logits = self.nets.discriminator.forward_t(real, true);
        let fake_logits = self.nets.discriminator.forward_t(&fake.detach(), true);
        let d_loss = bce_to(&real_logits, 1.0) + bce_to(&fake_logits, 0.0);
        self.nets.d_opt.backward_step(&d_loss);
        let g_loss = bce_to(&self.nets.discriminator.forward_t(&fake, true), 1.0);
        self.nets.g_opt.backward_step(&g_loss);
        DcganStep {
            d_loss: d_loss.detach(),
            g_loss: g_loss.detach(),
            d_real: real_logits.detach().sigmoid().mean(Kind::Float),
            d_fake: fake_logits.detach().sigmoid().mean(Kind::Float),
        }
    }

    /// One pass over `images` (`[N, 784]` in [0, 1]) in shuffled minibatches
    /// (a last partial batch is dropped, as PyTorch's DataLoader with drop_last).
    pub fn train_epoch(&mut self, images: &Tensor) -> Result<DcganEpoch> {
        self.train_epoch_logged(images, 0, &mut |_, _| Ok(()))
    }

    /// [`Dcgan::train_epoch`], calling `log(step, means)` after every step
    /// that is a multiple of `every` (0: never) with the means of the
    /// losses and discriminator outputs over the steps since the previous
    /// call in this epoch. `step` counts the generator's steps over the run.
    pub fn train_epoch_logged(&mut self, images: &Tensor, every: u64, log: &mut dyn FnMut(u64, &DcganEpoch) -> Result<()>) -> Result<DcganEpoch> {
        let n = images.size()[0] as usize;
        let bs = self.config.batch_size;
        if n < bs {
            bail!("{n} training images are fewer than one batch of {bs}");
        }
        let mut order: Vec<i64> = (0..n as i64).collect();
        order.shuffle(&mut self.rng);
        let zero = || Tensor::zeros([], (Kind::Float, self.device));
        let mut sums = DcganStep { d_loss: zero(), g_loss: zero(), d_real: zero(), d_fake: zero() };
        let batches = n / bs;
        let mut window = DcganStep { d_loss: zero(), g_loss: zero(), d_real: zero(), d_fake: zero() };
        let mut window_steps = 0usize;
        for chunk in order.chunks_exact(bs) {
            let idx = Tensor::from_slice(chunk).to_device(self.device);
            let real = images.index_select(0, &idx).view([-1, 1, 28, 28]) * 2.0 - 1.0;
            let step = self.step(&real);
            sums.d_loss += &step.d_loss;
            sums.g_loss += &step.g_loss;
            sums.d_real += &step.d_real;
            sums.d_fake += &step.d_fake;
            if every > 0 {
                window.d_loss += step.d_loss;
                window.g_loss += step.g_loss;
                window.d_real += step.d_real;
                window.d_fake += step.d_fake;
                window_steps += 1;
                let global = self.nets.g_opt.steps();
                if global.is_multiple_of(every) {
                    let mean = |t: &Tensor| f64::try_from(t).map(|v| v / window_steps as f64);
                    log(
                        global,
                        &DcganEpoch {
                            d_loss: mean(&window.d_loss)?,
                            g_loss: mean(&window.g_loss)?,
                            d_real: mean(&window.d_real)?,
                            d_fake: mean(&window.d_fake)?,
                        },
                    )?;
                    for t in [&mut window.d_loss, &mut window.g_loss, &mut window.d_real, &mut window.d_fake] {
                        let _ = t.zero_();
                    }
                    window_steps = 0;
                }
            }
        }
        let mean = |t: &Tensor| f64::try_from(t).map(|v| v / batches as f64);
        Ok(DcganEpoch { d_loss: mean(&sums.d_loss)?, g_loss: mean(&sums.g_loss)?, d_real: mean(&sums.d_real)?, d_fake: mean(&sums.d_fake)? })
    }

    /// Images from latent vectors `z`, as `[N, 784]` in [0, 1] (batch norm in evaluation mode).
    pub fn generate_from(&self, z: &Tensor) -> Tensor {
        let _guard = tch::no_grad_guard();
        let n = z.size()[0];
        let parts: Vec<Tensor> = (0..n).step_by(1000).map(|s| self.nets.generator.forward_t(&z.narrow(0, s, (n - s).min(1000)), false)).collect();
        ((Tensor::cat(&parts, 0) + 1.0) / 2.0).view([n, 784])
    }

    /// `n` new images, as `[N, 784]` in [0, 1].
    pub fn generate(&mut self, n: usize) -> Tensor {
        let z = self.latent(n);
        self.generate_from(&z)
    }
}

/// Scores generated images (lower is better): DCGAN's Fréchet distance to
/// the training set in a classifier's feature space.
pub type ImageScore<'a> = Box<dyn FnMut(&Tensor) -> Result<f64> + 'a>;

/// DCGAN's training as the experiments' `fit` drives it: each epoch trains
/// (logging the losses every `log_every` steps), then scores `fd_samples`
/// generated images and draws the same 64 latent vectors as
/// `samples_epoch_<k>.png`.
pub struct DcganFit<'a> {
    /// The GAN.
    pub gan: Dcgan,
    /// Training images `[N, 784]` in [0, 1].
    pub train: Tensor,
    /// The last epoch's Fréchet distance.
    pub frechet_distance: f64,
    /// The last epoch's losses.
    pub last: Option<DcganEpoch>,
    fixed_z: Tensor,
    log_every: u64,
    score: ImageScore<'a>,
}

impl<'a> DcganFit<'a> {
    /// Trains `gan` on `train`, scoring with `score`. The 64 fixed latent
    /// vectors are drawn first from the GAN's stream, so that a resumed run
    /// (whose stream is restored after) draws the same.
    pub fn new(mut gan: Dcgan, train: Tensor, log_every: u64, score: ImageScore<'a>) -> Self {
        let fixed_z = gan.latent(64);
        Self { gan, train, frechet_distance: f64::NAN, last: None, fixed_z, log_every, score }
    }
}

impl Trainer for DcganFit<'_> {
    fn index_name(&self) -> &'static str {
        "epoch"
    }
    fn rounds(&self) -> Vec<u64> {
        (1..=self.gan.config.epochs as u64).collect()
    }
    fn curves(&self) -> &'static [&'static str] {
        &["fd_curve", "d_curve", "g_curve"]
    }
    fn logs_steps(&self) -> bool {
        true
    }
    fn train(&mut self, from: u64, to: u64, log_step: &mut StepLog<'_>) -> Result<()> {
        for _ in from..to {
            let e = self.gan.train_epoch_logged(&self.train, self.log_every, &mut |step, m| {
                log_step(step, &[("d_loss", m.d_loss), ("g_loss", m.g_loss), ("d_real", m.d_real), ("d_fake", m.d_fake)])
            })?;
            self.last = Some(e);
        }
        Ok(())
    }
    fn report(&mut self, epoch: u64, train_seconds: f64) -> Result<Report> {
        let e = self.last.expect("an epoch was trained");
        let generated = self.gan.generate(self.gan.config.fd_samples);
        let fd = (self.score)(&generated)?;
        self.frechet_distance = fd;
        let mut report = Report::values(&[("d_loss", e.d_loss), ("g_loss", e.g_loss), ("d_real", e.d_real), ("d_fake", e.d_fake), ("frechet_distance", fd)]);
        let grid = Vec::<f32>::try_from(self.gan.generate_from(&self.fixed_z).flatten(0, -1).to_device(Device::Cpu))?;
        let images = grid.chunks(784).map(|c| c.to_vec()).collect();
        report.pictures.push(ImageGrid { name: format!("samples_epoch_{epoch:02}.png"), images, side: 28, cols: 8, scale: 2 });
        report.curves = vec![("fd_curve", fd), ("d_curve", e.d_loss), ("g_curve", e.g_loss)];
        report.line = Some(format!(
            "epoch {epoch}: D loss {:.3}, G loss {:.3}, D(x) {:.3}, D(G(z)) {:.3}, Fréchet distance {fd:.3} ({train_seconds:.1} s)",
            e.d_loss, e.g_loss, e.d_real, e.d_fake
        ));
        Ok(report)
    }
    fn state(&self) -> Result<TrainState> {
        let mut s = TrainState::new();
        s.put_part("gan", self.gan.train_state()?);
        if let Some(e) = self.last {
            s.put_f64s("last_epoch", &[self.frechet_distance, e.d_loss, e.g_loss, e.d_real, e.d_fake]);
        }
        Ok(s)
    }
    fn restore(&mut self, s: &TrainState) -> Result<()> {
        self.gan.restore_train_state(&s.part("gan"))?;
        if let [fd, d_loss, g_loss, d_real, d_fake] = s.f64s("last_epoch")?[..] {
            (self.frechet_distance, self.last) = (fd, Some(DcganEpoch { d_loss, g_loss, d_real, d_fake }));
        }
        Ok(())
    }
}
