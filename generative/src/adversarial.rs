//! What the two GAN trainers ([`crate::gan`], [`crate::dcgan`]) share: a
//! generator and a discriminator with one Adam optimiser each, initialised
//! under the run's seed, and the binary cross-entropy against a constant label.

use anyhow::Result;
use nnlab_torch::with_torch_seed;
use tch::nn;
use tch::{Device, Reduction, Tensor};

/// A generator and a discriminator with their variables and optimisers.
pub struct Adversaries {
    /// The generator's variables (for saving).
    pub g_vs: nn::VarStore,
    /// The discriminator's variables (for checkpoints).
    pub d_vs: nn::VarStore,
    /// The generator.
    pub generator: nn::SequentialT,
    /// The discriminator (one logit per input).
    pub discriminator: nn::SequentialT,
    /// Adam on the generator.
    pub g_opt: nnlab_torch::optim::Optimizer,
    /// Adam on the discriminator.
    pub d_opt: nnlab_torch::optim::Optimizer,
}

impl Adversaries {
    /// Builds both networks under `seed` (see [`with_torch_seed`]) with Adam
    /// (`learning_rate`, `beta1`, beta2 0.999) on each.
    pub fn new(
        seed: u64,
        device: Device,
        learning_rate: f64,
        beta1: f64,
        generator: impl FnOnce(&nn::Path) -> nn::SequentialT,
        discriminator: impl FnOnce(&nn::Path) -> nn::SequentialT,
    ) -> Result<Self> {
        let g_vs = nn::VarStore::new(device);
        let d_vs = nn::VarStore::new(device);
        let (generator, discriminator) = with_torch_seed(seed, || (generator(&g_vs.root()), discriminator(&d_vs.root())));
        let adam = nnlab_torch::optim::Adam { beta1, ..Default::default() };
        let g_opt = adam.build(&g_vs, learning_rate)?;
        let d_opt = adam.build(&d_vs, learning_rate)?;
        Ok(Self { g_vs, d_vs, generator, discriminator, g_opt, d_opt })
    }

    /// Both networks' variables and both optimisers, for checkpoints.
    pub fn train_state(&self) -> Result<nnlab_torch::state::TrainState> {
        let mut s = nnlab_torch::state::TrainState::new();
        s.put_var_store("generator", &self.g_vs)?;
        s.put_var_store("discriminator", &self.d_vs)?;
        s.put_part("g_opt", self.g_opt.train_state()?);
        s.put_part("d_opt", self.d_opt.train_state()?);
        Ok(s)
    }

    /// Restores what [`Adversaries::train_state`] saved.
    pub fn restore_train_state(&mut self, s: &nnlab_torch::state::TrainState) -> Result<()> {
        s.copy_into_var_store("generator", &self.g_vs)?;
        s.copy_into_var_store("discriminator", &self.d_vs)?;
        self.g_opt.restore_train_state(&s.part("g_opt"))?;
        self.d_opt.restore_train_state(&s.part("d_opt"))
    }

    /// Sets both optimisers' learning rate.
    pub fn set_lr(&mut self, lr: f64) {
        self.g_opt.set_lr(lr);
        self.d_opt.set_lr(lr);
    }
}

/// Mean binary cross-entropy of `logits` against the constant label `target`
/// (1 for real, 0 for generated).
pub fn bce_to(logits: &Tensor, target: f64) -> Tensor {
    logits.binary_cross_entropy_with_logits::<Tensor>(&logits.full_like(target), None, None, Reduction::Mean)
}
