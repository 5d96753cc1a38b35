//! Training and evaluating a [`Vae`] on MNIST-format images, as PyTorch's
//! `examples/vae/main.py` does (Adam, minibatches of shuffled training
//! images, the negative ELBO summed over pixels and averaged over images).
//!
//! Seeds: `tch::manual_seed(seed)` initialises the model (on one torch
//! thread, so that the weights do not depend on `--threads`);
//! `ChaCha8Rng::seed_from_u64(seed)` shuffles and draws every
//! reparameterisation noise, so runs repeat bit for bit on the CPU.

use crate::vae::{Vae, VaeArch};
use anyhow::{bail, Result};
use nnlab_torch::state::TrainState;
use nnlab_torch::trainer::{Report, StepLog, Trainer};
use nnlab_torch::{standard_normal, with_torch_seed};
use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};
use tch::nn;
use tch::{Device, Kind, Tensor};

/// Every VAE hyperparameter, with PyTorch's example's defaults.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct VaeConfig {
    /// Seed of the run.
    pub seed: u64,
    /// Passes over the training set.
    pub epochs: usize,
    /// Images per gradient step.
    pub batch_size: usize,
    /// Adam learning rate.
    #[schemars(extend("exclusiveMinimum" = 0.0))]
    pub learning_rate: f64,
    /// "mlp" (784-hidden-latent) or "conv".
    pub arch: VaeArch,
    /// Width of the hidden layer.
    pub hidden: i64,
    /// Latent dimensions.
    pub latent_dim: i64,
    /// Weight of the KL term in the training objective (1: the ELBO).
    pub beta: f64,
    /// Importance samples per test image for the final log-likelihood estimate.
    pub iw_samples: usize,
}

nnlab_torch::run_config!(VaeConfig);

impl Default for VaeConfig {
    fn default() -> Self {
        Self { seed: 1, epochs: 10, batch_size: 128, learning_rate: 1e-3, arch: VaeArch::Mlp, hidden: 400, latent_dim: 20, beta: 1.0, iw_samples: 100 }
    }
}

impl VaeConfig {
    /// Checks every value; the error is one line naming the key.
    pub fn validate(&self) -> Result<()> {
        if self.epochs == 0 {
            bail!("epochs must be at least 1");
        }
        if self.batch_size == 0 {
            bail!("batch_size must be at least 1");
        }
        nnlab_torch::check::positive("learning_rate", self.learning_rate)?;
        if self.hidden < 1 || self.latent_dim < 1 {
            bail!("hidden and latent_dim must be at least 1");
        }
        nnlab_torch::check::non_negative("beta", self.beta)?;
        // Encoder and decoder of the MLP; the convolutional VAE's dense layers are no larger.
        let (h, z) = (self.hidden as usize, self.latent_dim as usize);
        let params = nnlab_torch::check::mlp_parameters(784, &[h], 2 * z).saturating_add(nnlab_torch::check::mlp_parameters(z, &[h], 784));
        nnlab_torch::check::network_fits("hidden, latent_dim", params.saturating_mul(4))?;
        if self.iw_samples == 0 {
            bail!("iw_samples must be at least 1");
        }
        Ok(())
    }
}

/// A negative ELBO and its parts, in nats per image.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize)]
pub struct Elbo {
    /// The negative ELBO: `reconstruction + kl`.
    pub loss: f64,
    /// Expected negative log-likelihood of the image given its code.
    pub reconstruction: f64,
    /// KL divergence of the approximate posterior from the prior (times `beta` in training).
    pub kl: f64,
}

/// One epoch's numbers (nats per image).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct EpochRecord {
    /// 1-based epoch.
    pub epoch: usize,
    /// Mean training objective (reconstruction + beta * KL) over the epoch.
    pub train_loss: f64,
    /// Test negative ELBO (beta 1).
    pub test_loss: f64,
    /// Its reconstruction part.
    pub test_reconstruction: f64,
    /// Its KL part.
    pub test_kl: f64,
}

/// A VAE with its optimiser and RNG.
pub struct VaeTrainer {
    config: VaeConfig,
    device: Device,
    vs: nn::VarStore,
    model: Vae,
    optimizer: nnlab_torch::optim::Optimizer,
    rng: ChaCha8Rng,
}

impl VaeTrainer {
    /// Builds the model on `device`.
    pub fn new(config: VaeConfig, device: Device) -> Result<Self> {
        config.validate()?;
        let vs = nn::VarStore::new(device);
        let model = with_torch_seed(config.seed, || Vae::new(&vs.root(), config.arch, config.hidden, config.latent_dim))?;
        let optimizer = nnlab_torch::optim::Adam::default().build(&vs, config.learning_rate)?;
        let rng = ChaCha8Rng::seed_from_u64(config.seed);
        Ok(Self { config, device, vs, model, optimizer, rng })
    }

    /// The model.
    pub fn model(&self) -> &Vae {
        &self.model
    }

    /// The variables (for saving).
    pub fn var_store(&self) -> &nn::VarStore {
        &self.vs
    }

    /// Everything needed to continue training exactly: the weights, the
    /// optimiser and the random stream.
    pub fn train_state(&self) -> Result<nnlab_torch::state::TrainState> {
        let mut s = nnlab_torch::state::TrainState::new();
        s.put_var_store("model", &self.vs)?;
        s.put_part("optimizer", self.optimizer.train_state()?);
        s.put("rng", &self.rng)?;
        Ok(s)
    }

    /// Restores what [`VaeTrainer::train_state`] saved, into a trainer built with the same config.
    pub fn restore_train_state(&mut self, s: &nnlab_torch::state::TrainState) -> Result<()> {
        s.copy_into_var_store("model", &self.vs)?;
        self.optimizer.restore_train_state(&s.part("optimizer"))?;
        self.rng = s.get("rng")?;
        Ok(())
    }

    /// Standard-normal noise of `shape` from the trainer's RNG.
    pub fn noise(&mut self, shape: &[i64]) -> Tensor {
        standard_normal(&mut self.rng, shape, self.device)
    }

    /// One epoch over `train` (shuffled); returns the mean objective per image.
    pub fn train_epoch(&mut self, train: &Tensor) -> Result<f64> {
        self.train_epoch_logged(train, 0, &mut |_, _| Ok(()))
    }

    /// [`VaeTrainer::train_epoch`], calling `log(step, loss)` after every
    /// optimisation step that is a multiple of `every` (0: never) with the
    /// mean objective per image over the steps since the previous call in
    /// this epoch. `step` counts the optimiser's steps over the whole run.
    /// The losses are read to the host only then (one sync per call).
    pub fn train_epoch_logged(&mut self, train: &Tensor, every: u64, log: &mut dyn FnMut(u64, f64) -> Result<()>) -> Result<f64> {
        let n = train.size()[0] as usize;
        let mut order: Vec<i64> = (0..n as i64).collect();
        order.shuffle(&mut self.rng);
        let mut total = Tensor::zeros([], (Kind::Float, self.device));
        let (mut window, mut window_images) = (Tensor::zeros([], (Kind::Float, self.device)), 0usize);
        for chunk in order.chunks(self.config.batch_size) {
            let idx = Tensor::from_slice(chunk).to_device(self.device);
            let x = train.index_select(0, &idx);
            let noise = self.noise(&[chunk.len() as i64, self.config.latent_dim]);
            let (bce, kl) = self.model.elbo_terms(&x, &noise);
            let loss = bce.sum(Kind::Float) + self.config.beta * kl.sum(Kind::Float);
            self.optimizer.zero_grad();
            loss.backward();
            self.optimizer.step();
            total += loss.detach();
            if every > 0 {
                window += loss.detach();
                window_images += chunk.len();
                let step = self.optimizer.steps();
                if step.is_multiple_of(every) {
                    log(step, f64::try_from(&window)? / window_images as f64)?;
                    let _ = window.zero_();
                    window_images = 0;
                }
            }
        }
        Ok(f64::try_from(total)? / n as f64)
    }

    /// Test negative ELBO per image, with its two parts.
    pub fn test_elbo(&mut self, test: &Tensor) -> Result<Elbo> {
        let _guard = tch::no_grad_guard();
        let n = test.size()[0];
        let (mut rec, mut kl) = (0.0, 0.0);
        for start in (0..n).step_by(1000) {
            let len = (n - start).min(1000);
            let x = test.narrow(0, start, len);
            let noise = self.noise(&[len, self.config.latent_dim]);
            let (b, k) = self.model.elbo_terms(&x, &noise);
            rec += f64::try_from(b.sum(Kind::Double))?;
            kl += f64::try_from(k.sum(Kind::Double))?;
        }
        let n = n as f64;
        Ok(Elbo { loss: (rec + kl) / n, reconstruction: rec / n, kl: kl / n })
    }

    /// Importance-weighted estimate of the test negative log-likelihood per image
    /// with `config.iw_samples` samples per image.
    pub fn test_nll_iw(&mut self, test: &Tensor) -> Result<f64> {
        let _guard = tch::no_grad_guard();
        let n = test.size()[0];
        let k = self.config.iw_samples as i64;
        let chunk = (20_000 / k).clamp(1, 500);
        let mut total = 0.0;
        for start in (0..n).step_by(chunk as usize) {
            let len = (n - start).min(chunk);
            let noise = self.noise(&[k, len, self.config.latent_dim]);
            total += f64::try_from(self.model.iw_nll(&test.narrow(0, start, len), &noise).sum(Kind::Double))?;
        }
        Ok(total / n as f64)
    }
}

/// The VAE's training as the experiments' `fit` drives it: each epoch trains
/// (logging the loss every `log_every` steps), then scores the test ELBO.
pub struct VaeFit {
    /// The trainer (model, optimiser, RNG).
    pub trainer: VaeTrainer,
    /// Training images `[N, 784]` in [0, 1].
    pub train: Tensor,
    /// Test images `[M, 784]` in [0, 1].
    pub test: Tensor,
    /// The last epoch's test ELBO.
    pub last: Elbo,
    log_every: u64,
    train_loss: f64,
}

impl VaeFit {
    /// Trains `trainer` on `train`, scoring on `test` after each epoch.
    pub fn new(trainer: VaeTrainer, train: Tensor, test: Tensor, log_every: u64) -> Self {
        Self { trainer, train, test, last: Elbo::default(), log_every, train_loss: f64::NAN }
    }
}

impl Trainer for VaeFit {
    fn index_name(&self) -> &'static str {
        "epoch"
    }
    fn rounds(&self) -> Vec<u64> {
        (1..=self.trainer.config.epochs as u64).collect()
    }
    fn curves(&self) -> &'static [&'static str] {
        &["train_curve", "test_curve"]
    }
    fn logs_steps(&self) -> bool {
        true
    }
    fn train(&mut self, from: u64, to: u64, log_step: &mut StepLog<'_>) -> Result<()> {
        for _ in from..to {
            self.train_loss = self.trainer.train_epoch_logged(&self.train, self.log_every, &mut |step, loss| log_step(step, &[("loss", loss)]))?;
        }
        Ok(())
    }
    fn report(&mut self, epoch: u64, train_seconds: f64) -> Result<Report> {
        self.last = self.trainer.test_elbo(&self.test)?;
        let (train_loss, last) = (self.train_loss, self.last);
        let mut report =
            Report::values(&[("train_loss", train_loss), ("test_loss", last.loss), ("test_reconstruction", last.reconstruction), ("test_kl", last.kl)]);
        report.curves = vec![("train_curve", train_loss), ("test_curve", last.loss)];
        report.line = Some(format!("epoch {epoch}: train loss {train_loss:.2}, test negative ELBO {:.2} nats/image ({train_seconds:.1} s)", last.loss));
        Ok(report)
    }
    fn state(&self) -> Result<TrainState> {
        let mut s = TrainState::new();
        s.put_part("trainer", self.trainer.train_state()?);
        s.put_f64s("last_elbo", &[self.last.loss, self.last.reconstruction, self.last.kl]);
        Ok(s)
    }
    fn restore(&mut self, s: &TrainState) -> Result<()> {
        self.trainer.restore_train_state(&s.part("trainer"))?;
        if let [loss, reconstruction, kl] = s.f64s("last_elbo")?[..] {
            self.last = Elbo { loss, reconstruction, kl };
        }
        Ok(())
    }
}
