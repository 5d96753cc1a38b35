//! The training recipe of the image classifiers and its config: one
//! [`CnnConfig`] whose defaults are the seed's recipe (its CNN, SGD lr 0.001
//! with momentum 0.9, batch 64, 10 epochs, cross-entropy,
//! `Normalize((0.5,), (0.5,))`), and the keys of a stronger recipe: AdamW,
//! cosine or one-cycle schedules stepped every batch, label smoothing,
//! random crops and flips, the ResNet's shape.
//!
//! [`CnnTrainer`] draws every random choice (batch order, augmentation,
//! the per-epoch seed of torch's dropout masks) from one seeded generator
//! that checkpoints save, so a resumed run continues bit for bit.

use crate::batches::Preprocess;
use crate::models::{Architecture, ImageShape, Network, ResnetShape};
use anyhow::{bail, Result};
use nnlab_data::ImageSet;
use nnlab_torch::check::{in_half_open, in_range, non_negative, nonzero, positive};
use nnlab_torch::optim::{AdamW, Optimizer, Rule, Sgd};
use nnlab_torch::state::TrainState;
use nnlab_torch::with_torch_seed;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use tch::{nn, Device, Kind, Reduction, Tensor};

/// The optimiser.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum OptimizerKind {
    /// `torch.optim.SGD` with `momentum`, `nesterov` and L2 `weight_decay`.
    Sgd,
    /// `torch.optim.AdamW` with decoupled `weight_decay`.
    Adamw,
}

/// How the learning rate moves over the run (stepped every batch).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum LrSchedule {
    /// `learning_rate` throughout.
    Constant,
    /// Linear warm-up over `warmup_epochs`, then cosine decay to `min_learning_rate`.
    Cosine,
    /// PyTorch's `OneCycleLR` (cosine annealing, `pct_start` 0.3,
    /// `div_factor` 25, `final_div_factor` 1e4) peaking at `learning_rate`;
    /// momentum is not cycled.
    Onecycle,
}

/// The arithmetic of the network's forward and backward passes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Precision {
    /// Float32 throughout.
    Float32,
    /// Mixed precision (ResNet only): convolutions and batch norm in
    /// bfloat16 on casts of float32 weights, as PyTorch's CPU autocast;
    /// about twice as fast on CPUs with AMX (Intel Sapphire Rapids and
    /// later), slower than float32 on others (even with AVX-512 BF16).
    Bfloat16,
}

/// Every knob of an image-classification run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct CnnConfig {
    /// Seed of the initialisation, the batch order, the augmentation and dropout.
    pub seed: u64,
    /// The network: `seed` (the founding document's CNN) or `resnet`.
    pub model: Architecture,
    /// Passes over the training set.
    pub epochs: usize,
    /// Images per optimisation step.
    pub batch_size: usize,
    /// Images per forward pass when evaluating.
    pub eval_batch_size: usize,
    /// Training images held out for validation (taken at random with the
    /// seed; 0: none, and the last epoch's model is the final one).
    pub validation_size: usize,
    /// `sgd` or `adamw`.
    pub optimizer: OptimizerKind,
    /// Learning rate (the peak of a one-cycle schedule).
    pub learning_rate: f64,
    /// SGD's momentum.
    #[schemars(range(min = 0.0, max = 1.0))]
    pub momentum: f64,
    /// SGD with Nesterov's momentum.
    pub nesterov: bool,
    /// SGD's L2 penalty, or AdamW's decoupled weight decay.
    #[schemars(range(min = 0.0))]
    pub weight_decay: f64,
    /// AdamW's first-moment decay, in [0, 1).
    pub beta1: f64,
    /// AdamW's second-moment decay, in [0, 1).
    pub beta2: f64,
    /// `constant`, `cosine` or `onecycle`.
    pub schedule: LrSchedule,
    /// Epochs of linear warm-up of the cosine schedule.
    #[schemars(range(min = 0.0))]
    pub warmup_epochs: f64,
    /// Where the cosine schedule ends.
    #[schemars(range(min = 0.0))]
    pub min_learning_rate: f64,
    /// Label smoothing of the cross-entropy (0: none).
    #[schemars(range(min = 0.0, max = 1.0))]
    pub label_smoothing: f64,
    /// Zero padding for random crops of the training images (0: no crops).
    pub crop_padding: usize,
    /// Random horizontal flips of the training images.
    pub horizontal_flip: bool,
    /// Probability of random erasing per training image (torchvision's
    /// `RandomErasing` after normalisation; 0: off).
    #[schemars(range(min = 0.0, max = 1.0))]
    pub random_erasing: f64,
    /// Evaluate (validation, test, `classify`) on each image and its mirror
    /// image, averaging the two predicted distributions (test-time augmentation).
    pub test_time_flip: bool,
    /// Test-time translations: also evaluate each image shifted by this
    /// many pixels down-right and up-left (black filling the edge), averaging
    /// the predicted distributions of all views (with `test_time_flip`, of
    /// their mirror images too; airbench weighs the unshifted view double and
    /// pads by reflection); 0: off.
    pub test_time_shift: usize,
    /// Subtracted from the pixels scaled to [0, 1].
    pub normalize_mean: f64,
    /// Divides the pixels after the mean is subtracted.
    pub normalize_std: f64,
    /// ResNet: channels of each stage.
    pub widths: Vec<i64>,
    /// ResNet: residual blocks per stage.
    pub blocks_per_stage: usize,
    /// ResNet: dropout before the classifier.
    #[schemars(range(min = 0.0, max = 1.0))]
    pub dropout: f64,
    /// `float32`, or `bfloat16` mixed precision (ResNet only).
    pub precision: Precision,
    /// ResNet: channels-last (NHWC) activations, PyTorch's
    /// `memory_format=torch.channels_last` (the same network and numbers up
    /// to rounding; about 1.2x faster on CPU).
    pub channels_last: bool,
}

nnlab_torch::run_config!(CnnConfig);

impl Default for CnnConfig {
    fn default() -> Self {
        Self {
            seed: 1,
            model: Architecture::Seed,
            epochs: 10,
            batch_size: 64,
            eval_batch_size: 1000,
            validation_size: 5000,
            optimizer: OptimizerKind::Sgd,
            learning_rate: 1e-3,
            momentum: 0.9,
            nesterov: false,
            weight_decay: 0.0,
            beta1: 0.9,
            beta2: 0.999,
            schedule: LrSchedule::Constant,
            warmup_epochs: 0.0,
            min_learning_rate: 0.0,
            label_smoothing: 0.0,
            crop_padding: 0,
            horizontal_flip: false,
            random_erasing: 0.0,
            test_time_flip: false,
            test_time_shift: 0,
            normalize_mean: 0.5,
            normalize_std: 0.5,
            widths: vec![32, 64, 128],
            blocks_per_stage: 1,
            dropout: 0.0,
            precision: Precision::Float32,
            channels_last: false,
        }
    }
}

impl CnnConfig {
    /// Typed checks, one-line errors naming the key.
    pub fn validate(&self) -> Result<()> {
        nonzero("epochs", self.epochs)?;
        nonzero("batch_size", self.batch_size)?;
        nonzero("eval_batch_size", self.eval_batch_size)?;
        positive("learning_rate", self.learning_rate)?;
        in_range("momentum", self.momentum, 0.0, 1.0)?;
        non_negative("weight_decay", self.weight_decay)?;
        in_half_open("beta1", self.beta1, 0.0, 1.0)?;
        in_half_open("beta2", self.beta2, 0.0, 1.0)?;
        non_negative("warmup_epochs", self.warmup_epochs)?;
        non_negative("min_learning_rate", self.min_learning_rate)?;
        in_range("label_smoothing", self.label_smoothing, 0.0, 1.0)?;
        in_range("dropout", self.dropout, 0.0, 1.0)?;
        in_range("random_erasing", self.random_erasing, 0.0, 1.0)?;
        positive("normalize_std", self.normalize_std)?;
        if !self.normalize_mean.is_finite() {
            bail!("normalize_mean must be a finite number, got {}", self.normalize_mean);
        }
        if self.nesterov && self.momentum == 0.0 {
            bail!("nesterov = true needs momentum > 0");
        }
        if self.warmup_epochs > self.epochs as f64 {
            bail!("warmup_epochs ({}) is longer than the run ({} epochs)", self.warmup_epochs, self.epochs);
        }
        if self.test_time_shift > 8 {
            bail!("test_time_shift must be at most 8 pixels, got {}", self.test_time_shift);
        }
        if self.crop_padding > 16 {
            bail!("crop_padding must be at most 16 pixels, got {}", self.crop_padding);
        }
        if self.model == Architecture::Resnet {
            if self.widths.is_empty() || self.widths.iter().any(|&w| !(1..=1024).contains(&w)) {
                bail!("widths must list 1 to 1024 channels per stage, got {:?}", self.widths);
            }
            nonzero("blocks_per_stage", self.blocks_per_stage)?;
        } else if self.precision != Precision::Float32 {
            bail!("precision = \"bfloat16\" applies to the resnet model only (the seed CNN reproduces PyTorch in float32)");
        } else if self.channels_last {
            bail!("channels_last = true applies to the resnet model only (the seed CNN reproduces PyTorch's default layout)");
        }
        Ok(())
    }

    /// Fails unless the data suit the config: a validation split that leaves
    /// at least one batch to train on, images large enough for the network.
    pub fn check_data(&self, train_len: usize, shape: ImageShape) -> Result<()> {
        if self.validation_size >= train_len {
            bail!("validation_size ({}) must be smaller than the training set ({train_len} images)", self.validation_size);
        }
        if self.batch_size > train_len - self.validation_size {
            bail!("batch_size ({}) is larger than the training images left after validation ({})", self.batch_size, train_len - self.validation_size);
        }
        if self.model == Architecture::Seed && (shape.height < 4 || shape.width < 4) {
            bail!("the seed CNN needs images of at least 4x4 pixels, got {shape}");
        }
        Ok(())
    }

    fn preprocess(&self, augment: bool) -> Preprocess {
        Preprocess {
            mean: self.normalize_mean as f32,
            std: self.normalize_std as f32,
            crop_padding: if augment { self.crop_padding } else { 0 },
            horizontal_flip: augment && self.horizontal_flip,
            random_erasing: if augment { self.random_erasing } else { 0.0 },
        }
    }

    /// The normalisation of evaluation and prediction (no augmentation).
    pub fn eval_preprocess(&self) -> Preprocess {
        self.preprocess(false)
    }

    /// The learning rate at optimisation step `step` (from 0) of `total`.
    pub fn lr_at(&self, step: u64, total: u64) -> f64 {
        let lr = self.learning_rate;
        let cos = nnlab_torch::optim::cosine_anneal;
        match self.schedule {
            LrSchedule::Constant => lr,
            LrSchedule::Cosine => {
                let warmup = (self.warmup_epochs / self.epochs as f64 * total as f64).round() as u64;
                if step < warmup {
                    lr * (step + 1) as f64 / warmup as f64
                } else {
                    cos(lr, self.min_learning_rate, (step - warmup) as f64 / (total - warmup).max(1) as f64)
                }
            }
            LrSchedule::Onecycle => {
                // torch.optim.lr_scheduler.OneCycleLR, three_phase = False.
                let initial = lr / 25.0;
                let last = initial / 1e4;
                let peak_step = 0.3 * total as f64 - 1.0;
                let s = step as f64;
                if s <= peak_step {
                    cos(initial, lr, s / peak_step)
                } else {
                    cos(lr, last, (s - peak_step) / (total as f64 - 1.0 - peak_step))
                }
            }
        }
    }
}

pub use nnlab_torch::Snapshot;

/// Means over one training epoch.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct EpochStats {
    /// Mean training loss per image (with label smoothing when on).
    pub loss: f64,
    /// Fraction of training images classified right (in training mode, augmented).
    pub accuracy: f64,
    /// The learning rate of the epoch's last step.
    pub learning_rate: f64,
}

/// Mean cross-entropy (nats) of class probabilities `[N, classes]` against `labels`.
pub fn mean_cross_entropy(probs: &Tensor, labels: &[u8]) -> Result<f64> {
    let labels = Tensor::from_slice(labels).to_kind(Kind::Int64).to_device(probs.device());
    let picked = probs.gather(1, &labels.unsqueeze(1), false).clamp_min(1e-12).log().to_kind(Kind::Double);
    Ok(-f64::try_from(picked.mean(Kind::Double))?)
}

/// `x` (`[N, C, H, W]`) moved `d` pixels down and right (up and left when
/// negative), the uncovered edge filled with `fill`.
fn translate(x: &Tensor, d: i64, fill: f64) -> Tensor {
    let p = d.abs();
    let (h, w) = (x.size()[2], x.size()[3]);
    x.pad([p, p, p, p], "constant", fill).narrow(2, p - d, h).narrow(3, p - d, w)
}

/// A classifier with its optimiser and random state.
pub struct CnnTrainer {
    config: CnnConfig,
    vs: nn::VarStore,
    network: Network,
    optimizer: Optimizer,
    rng: ChaCha8Rng,
    shape: ImageShape,
    classes: i64,
    device: Device,
}

impl CnnTrainer {
    /// A fresh network for images of `shape` in `classes` classes, initialised under the seed.
    pub fn new(config: CnnConfig, shape: ImageShape, classes: i64, device: Device) -> Result<Self> {
        config.validate()?;
        let vs = nn::VarStore::new(device);
        let resnet = ResnetShape {
            widths: config.widths.clone(),
            blocks_per_stage: config.blocks_per_stage,
            dropout: config.dropout,
            bfloat16: config.precision == Precision::Bfloat16,
            channels_last: config.channels_last,
        };
        let network = with_torch_seed(config.seed, || Network::new(&vs.root(), config.model, shape, classes, &resnet))?;
        let rule = match config.optimizer {
            OptimizerKind::Sgd => Rule::Sgd(Sgd { momentum: config.momentum, nesterov: config.nesterov, weight_decay: config.weight_decay }),
            OptimizerKind::Adamw => Rule::AdamW(AdamW { beta1: config.beta1, beta2: config.beta2, eps: 1e-8, weight_decay: config.weight_decay }),
        };
        let optimizer = Optimizer::new(&vs, rule, config.learning_rate)?;
        let rng = ChaCha8Rng::seed_from_u64(config.seed);
        Ok(Self { config, vs, network, optimizer, rng, shape, classes, device })
    }

    /// The config.
    pub fn config(&self) -> &CnnConfig {
        &self.config
    }

    /// The network's variables (weights and batch-norm statistics).
    pub fn var_store(&self) -> &nn::VarStore {
        &self.vs
    }

    /// The image shape the network takes.
    pub fn shape(&self) -> ImageShape {
        self.shape
    }

    /// Number of classes.
    pub fn classes(&self) -> i64 {
        self.classes
    }

    /// Trainable parameters.
    pub fn parameters(&self) -> i64 {
        self.vs.trainable_variables().iter().map(|t| t.numel() as i64).sum()
    }

    /// Splits `train` into (training, validation) sets: `validation_size`
    /// images drawn at random with the seed (a generator of its own, so the
    /// split does not depend on anything else).
    pub fn split(config: &CnnConfig, train: &ImageSet) -> (ImageSet, ImageSet) {
        let mut order: Vec<usize> = (0..train.len).collect();
        order.shuffle(&mut ChaCha8Rng::seed_from_u64(config.seed ^ 0x005e_ed0f_5b11_u64));
        let (val, rest) = order.split_at(config.validation_size);
        let mut rest = rest.to_vec();
        let mut val = val.to_vec();
        rest.sort_unstable();
        val.sort_unstable();
        (train.subset(&rest), train.subset(&val))
    }

    /// One epoch over `train` (shuffled, augmented per the config);
    /// `total_steps` is the run's length for the schedule. Calls
    /// `log(step, mean loss)` every `every` steps (0: never).
    pub fn train_epoch(&mut self, train: &ImageSet, every: u64, log: &mut dyn FnMut(u64, f64) -> Result<()>) -> Result<EpochStats> {
        let steps_per_epoch = train.len.div_ceil(self.config.batch_size) as u64;
        let total = steps_per_epoch * self.config.epochs as u64;
        let mut order: Vec<usize> = (0..train.len).collect();
        order.shuffle(&mut self.rng);
        tch::manual_seed(self.rng.random::<u32>() as i64); // this epoch's dropout masks
        let preprocess = self.config.preprocess(true);
        let mut loss_sum = Tensor::zeros([], (Kind::Double, self.device));
        let mut correct = Tensor::zeros([], (Kind::Int64, self.device));
        let mut window = Tensor::zeros([], (Kind::Double, self.device));
        let mut window_len = 0u64;
        let mut lr = self.optimizer.lr();
        for chunk in order.chunks(self.config.batch_size) {
            let step = self.optimizer.steps();
            lr = self.config.lr_at(step, total);
            self.optimizer.set_lr(lr);
            let x = preprocess.augmented_batch(train, chunk, &mut self.rng, self.device);
            let labels: Vec<i64> = chunk.iter().map(|&i| train.labels[i] as i64).collect();
            let y = Tensor::from_slice(&labels).to_device(self.device);
            let logits = self.network.logits(&x, true);
            let loss = logits.cross_entropy_loss::<Tensor>(&y, None, Reduction::Mean, -100, self.config.label_smoothing);
            self.optimizer.backward_step(&loss);
            let _guard = tch::no_grad_guard();
            let batch_loss = loss.detach().to_kind(Kind::Double) * chunk.len() as f64;
            loss_sum += &batch_loss;
            window += &batch_loss;
            window_len += chunk.len() as u64;
            correct += logits.argmax(-1, false).eq_tensor(&y).sum(Kind::Int64);
            if every > 0 && (step + 1).is_multiple_of(every) {
                log(step + 1, f64::try_from(&window)? / window_len as f64)?;
                window = Tensor::zeros([], (Kind::Double, self.device));
                window_len = 0;
            }
        }
        let n = train.len as f64;
        Ok(EpochStats { loss: f64::try_from(&loss_sum)? / n, accuracy: i64::try_from(&correct)? as f64 / n, learning_rate: lr })
    }

    /// Class probabilities of every image of `set` (`[len, classes]`, on the host), in evaluation mode.
    pub fn probabilities(&self, set: &ImageSet) -> Result<Tensor> {
        let preprocess = self.config.eval_preprocess();
        let indices: Vec<usize> = (0..set.len).collect();
        let parts: Vec<Tensor> =
            indices.chunks(self.config.eval_batch_size).map(|chunk| self.probabilities_of(&preprocess.batch(set, chunk, self.device))).collect();
        Ok(Tensor::cat(&parts, 0))
    }

    /// Class probabilities (on the host) of a `[N, C, H, W]` batch already
    /// normalised, in evaluation mode: the mean of the distributions of the
    /// test-time views (the images, shifted with `test_time_shift`, mirrored
    /// with `test_time_flip`).
    pub fn probabilities_of(&self, x: &Tensor) -> Tensor {
        let _guard = tch::no_grad_guard();
        let x = x.to_device(self.device);
        let shift = self.config.test_time_shift as i64;
        let mut views = vec![x.shallow_clone()];
        if shift > 0 {
            let black = self.config.eval_preprocess().value(0) as f64;
            views.extend([shift, -shift].map(|d| translate(&x, d, black)));
        }
        if self.config.test_time_flip {
            let mirrored: Vec<Tensor> = views.iter().map(|v| v.flip([3])).collect();
            views.extend(mirrored);
        }
        let sum = views.iter().map(|v| self.network.logits(v, false).softmax(-1, Kind::Float)).reduce(|a, b| a + b).expect("at least one view");
        (sum / views.len() as f64).to_device(Device::Cpu)
    }

    /// (mean cross-entropy without smoothing, accuracy) on `set`.
    pub fn evaluate(&self, set: &ImageSet) -> Result<(f64, f64)> {
        let probs = self.probabilities(set)?;
        let labels = Tensor::from_slice(&set.labels).to_kind(Kind::Int64);
        let correct = i64::try_from(probs.argmax(-1, false).eq_tensor(&labels).sum(Kind::Int64))?;
        Ok((mean_cross_entropy(&probs, &set.labels)?, correct as f64 / set.len as f64))
    }

    /// A copy of the network's variables (for keeping the best model).
    pub fn snapshot(&self) -> nnlab_torch::Snapshot {
        nnlab_torch::snapshot(&self.vs)
    }

    /// Puts back variables from [`CnnTrainer::snapshot`].
    pub fn restore_snapshot(&mut self, snapshot: &[(String, Tensor)]) -> Result<()> {
        nnlab_torch::restore_snapshot(&self.vs, snapshot)
    }

    /// Loads weights saved with [`nn::VarStore::save`] (a run's `model.safetensors`).
    pub fn load_weights(&mut self, path: &std::path::Path) -> Result<()> {
        nnlab_torch::weights::load(&mut self.vs, path)
    }

    /// The state a checkpoint needs: weights, optimiser, generator.
    pub fn train_state(&self) -> Result<TrainState> {
        nnlab_torch::optim::trainer_state(&self.vs, &self.optimizer, &self.rng)
    }

    /// Restores what [`CnnTrainer::train_state`] saved.
    pub fn restore_train_state(&mut self, s: &TrainState) -> Result<()> {
        self.rng = nnlab_torch::optim::restore_trainer_state(s, &self.vs, &mut self.optimizer)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_cycle_follows_pytorchs_one_cycle_lr() {
        let c = CnnConfig { schedule: LrSchedule::Onecycle, learning_rate: 0.1, ..Default::default() };
        // OneCycleLR(max_lr=0.1, total_steps=100): 0.004 at step 0, 0.1 at step 29, 4e-7 at step 99.
        assert!((c.lr_at(0, 100) - 0.004).abs() < 1e-12);
        assert!((c.lr_at(29, 100) - 0.1).abs() < 1e-12);
        assert!((c.lr_at(99, 100) - 4e-7).abs() < 1e-15);
        assert!(c.lr_at(60, 100) < 0.1 && c.lr_at(60, 100) > c.lr_at(80, 100));
    }

    #[test]
    fn cosine_warms_up_then_decays_to_the_floor() {
        let c = CnnConfig { schedule: LrSchedule::Cosine, learning_rate: 1.0, min_learning_rate: 0.1, warmup_epochs: 1.0, epochs: 10, ..Default::default() };
        assert!((c.lr_at(0, 100) - 0.1).abs() < 1e-12);
        assert!((c.lr_at(9, 100) - 1.0).abs() < 1e-12);
        assert!((c.lr_at(10, 100) - 1.0).abs() < 1e-12);
        assert!((c.lr_at(100, 100) - 0.1).abs() < 1e-12);
    }

    #[test]
    fn bad_keys_are_refused_by_name() {
        for (c, key) in [
            (CnnConfig { learning_rate: -1.0, ..Default::default() }, "learning_rate"),
            (CnnConfig { label_smoothing: 1.5, ..Default::default() }, "label_smoothing"),
            (CnnConfig { epochs: 0, ..Default::default() }, "epochs"),
            (CnnConfig { model: Architecture::Resnet, widths: vec![], ..Default::default() }, "widths"),
            (CnnConfig { test_time_shift: 9, ..Default::default() }, "test_time_shift"),
        ] {
            let err = c.validate().unwrap_err().to_string();
            assert!(err.contains(key), "{err}");
        }
    }

    #[test]
    fn translation_moves_the_image_and_fills_the_edge() {
        let x = Tensor::from_slice(&[1.0f32, 2., 3., 4., 5., 6., 7., 8., 9.]).view([1, 1, 3, 3]);
        let down_right = translate(&x, 1, -0.5);
        let up_left = translate(&x, -1, -0.5);
        let expect = |v: &[f32]| Tensor::from_slice(v).view([1, 1, 3, 3]);
        assert!(down_right.equal(&expect(&[-0.5, -0.5, -0.5, -0.5, 1., 2., -0.5, 4., 5.])), "{down_right}");
        assert!(up_left.equal(&expect(&[5., 6., -0.5, 8., 9., -0.5, -0.5, -0.5, -0.5])), "{up_left}");
    }

    #[test]
    fn test_time_views_average_the_shifted_and_mirrored_predictions() {
        let shape = ImageShape { channels: 1, height: 8, width: 8 };
        let config = CnnConfig { test_time_shift: 1, test_time_flip: true, normalize_mean: 0.25, normalize_std: 0.5, ..Default::default() };
        let trainer = CnnTrainer::new(config, shape, 3, Device::Cpu).unwrap();
        let x = Tensor::rand([2, 1, 8, 8], (Kind::Float, Device::Cpu));
        let one = |v: &Tensor| trainer.network.logits(v, false).softmax(-1, Kind::Float);
        let views = [x.shallow_clone(), translate(&x, 1, -0.5), translate(&x, -1, -0.5)];
        let expected = views.iter().map(|v| one(v) + one(&v.flip([3]))).reduce(|a, b| a + b).unwrap() / 6.0;
        let got = trainer.probabilities_of(&x);
        assert!(got.allclose(&expected, 1e-6, 1e-7, false), "{got} {expected}");
        assert!(!got.allclose(&one(&x), 1e-4, 1e-5, false), "the views change the prediction");
    }
}
