//! A small CNN classifier for 28x28 greyscale images (Fashion-MNIST), the
//! feature extractor of the Fréchet distance in [`crate::frechet`]:
//! conv 3x3 (16) - max pool - conv 3x3 (32) - max pool - fc 128 - fc 10,
//! ReLU, dropout 0.25 before the last layer, Adam 1e-3. Its 128 penultimate
//! activations are the features.
//!
//! Its weights are part of the metric, as Inception-v3's are part of FID:
//! trained once in portable numerics (seed 0, one thread, [`ClassifierConfig`]'s
//! defaults) by `cargo run --release --bin fd_classifier`, committed as
//! `generative/weights/fashion_mnist_cnn.safetensors`, compiled into the
//! binaries and checked against [`SHIPPED_SHA256`] when loaded: [`shipped`].
//! Every machine scores with the same function.

use anyhow::{Context, Result};
use nnlab_torch::with_torch_seed;
use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};
use std::path::Path;
use tch::nn::{self, Module};
use tch::{Device, Kind, Tensor};

/// Width of the feature layer.
pub const FEATURES: i64 = 128;

/// How the feature classifier is trained.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClassifierConfig {
    /// Seed of the initialisation and the shuffling.
    pub seed: u64,
    /// Passes over the training set.
    pub epochs: usize,
    /// Images per step.
    pub batch_size: usize,
    /// Adam learning rate.
    pub learning_rate: f64,
}

impl Default for ClassifierConfig {
    fn default() -> Self {
        Self { seed: 0, epochs: 3, batch_size: 128, learning_rate: 1e-3 }
    }
}

/// The CNN.
pub struct Classifier {
    vs: nn::VarStore,
    conv1: nn::Conv2D,
    conv2: nn::Conv2D,
    fc1: nn::Linear,
    fc2: nn::Linear,
}

impl Classifier {
    /// A freshly initialised classifier (torch's default init, under `seed`).
    pub fn new(seed: u64, device: Device) -> Self {
        let vs = nn::VarStore::new(device);
        let (conv1, conv2, fc1, fc2) = with_torch_seed(seed, || {
            let p = vs.root();
            (
                nn::conv2d(&p / "conv1", 1, 16, 3, nn::ConvConfig { padding: 1, ..Default::default() }),
                nn::conv2d(&p / "conv2", 16, 32, 3, nn::ConvConfig { padding: 1, ..Default::default() }),
                nn::linear(&p / "fc1", 32 * 7 * 7, FEATURES, Default::default()),
                nn::linear(&p / "fc2", FEATURES, 10, Default::default()),
            )
        });
        Self { vs, conv1, conv2, fc1, fc2 }
    }

    /// The 128 features of `[N, 784]` or `[N, 1, 28, 28]` images in [0, 1].
    pub fn features(&self, x: &Tensor) -> Tensor {
        let x = x.view([-1, 1, 28, 28]);
        let h = self.conv1.forward(&x).relu().max_pool2d_default(2);
        let h = self.conv2.forward(&h).relu().max_pool2d_default(2);
        self.fc1.forward(&h.flatten(1, -1)).relu()
    }

    /// Class logits; `train` turns dropout on.
    pub fn logits(&self, x: &Tensor, train: bool) -> Tensor {
        self.fc2.forward(&self.features(x).dropout(0.25, train))
    }

    /// Fraction of `images` (`[N, 784]` in [0, 1]) whose predicted class is `labels`.
    pub fn accuracy(&self, images: &Tensor, labels: &Tensor) -> Result<f64> {
        let _guard = tch::no_grad_guard();
        let n = images.size()[0];
        let mut correct = 0i64;
        for start in (0..n).step_by(1000) {
            let len = (n - start).min(1000);
            let pred = self.logits(&images.narrow(0, start, len), false).argmax(-1, false);
            correct += i64::try_from(pred.eq_tensor(&labels.narrow(0, start, len)).sum(Kind::Int64))?;
        }
        Ok(correct as f64 / n as f64)
    }

    /// Features of many images, in batches, without gradients.
    pub fn features_of(&self, images: &Tensor) -> Tensor {
        let _guard = tch::no_grad_guard();
        let n = images.size()[0];
        let parts: Vec<Tensor> = (0..n).step_by(1000).map(|s| self.features(&images.narrow(0, s, (n - s).min(1000)))).collect();
        Tensor::cat(&parts, 0)
    }

    /// Trains on `images` (`[N, 784]` in [0, 1]) and `labels` (`[N]`, int64)
    /// per `config`; returns the mean cross-entropy of each epoch.
    pub fn train(&mut self, config: &ClassifierConfig, images: &Tensor, labels: &Tensor) -> Result<Vec<f64>> {
        let mut opt = nnlab_torch::optim::Adam::default().build(&self.vs, config.learning_rate)?;
        let mut rng = ChaCha8Rng::seed_from_u64(config.seed);
        tch::manual_seed(config.seed as i64); // dropout masks
        let device = self.vs.device();
        let n = images.size()[0];
        let mut epoch_losses = Vec::with_capacity(config.epochs);
        for _ in 0..config.epochs {
            let mut order: Vec<i64> = (0..n).collect();
            order.shuffle(&mut rng);
            let mut total = Tensor::zeros([], (Kind::Float, device));
            for chunk in order.chunks(config.batch_size) {
                let idx = Tensor::from_slice(chunk).to_device(device);
                let loss = self.logits(&images.index_select(0, &idx), true).cross_entropy_for_logits(&labels.index_select(0, &idx));
                opt.backward_step(&loss);
                total += loss.detach() * chunk.len() as f64;
            }
            epoch_losses.push(f64::try_from(total)? / n as f64);
        }
        Ok(epoch_losses)
    }

    /// Saves the weights (safetensors).
    pub fn save(&self, path: &Path) -> Result<()> {
        self.vs.save(path).with_context(|| format!("saving {}", path.display()))
    }

    /// The weights.
    pub fn var_store(&self) -> &nn::VarStore {
        &self.vs
    }

    /// The weights as a safetensors file: tensors sorted by name, so the same
    /// weights always give the same bytes (and SHA-256).
    pub fn safetensors_bytes(&self) -> Result<Vec<u8>> {
        let mut named: Vec<(String, Tensor)> = self.vs.variables().into_iter().collect();
        named.sort_by(|a, b| a.0.cmp(&b.0));
        let dir = tempfile::tempdir()?;
        let path = dir.path().join("weights.safetensors");
        Tensor::write_safetensors(&named, &path)?;
        Ok(std::fs::read(&path)?)
    }

    /// Sets the weights from safetensors `bytes` (every variable must be there, f32, with its shape).
    pub fn load_safetensors_bytes(&self, bytes: &[u8]) -> Result<()> {
        let file = safetensors::SafeTensors::deserialize(bytes).map_err(|e| anyhow::anyhow!("not a safetensors file ({e:?})"))?;
        let _guard = tch::no_grad_guard();
        for (name, mut var) in self.vs.variables() {
            let view = file.tensor(&name).map_err(|_| anyhow::anyhow!("no tensor {name}"))?;
            let shape: Vec<i64> = view.shape().iter().map(|&d| d as i64).collect();
            if view.dtype() != safetensors::Dtype::F32 || shape != var.size() {
                anyhow::bail!("tensor {name}: {:?} {:?}, expected F32 {:?}", view.dtype(), shape, var.size());
            }
            let values: Vec<f32> = view.data().chunks_exact(4).map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])).collect();
            var.copy_(&Tensor::from_slice(&values).view(shape.as_slice()).to_device(var.device()));
        }
        Ok(())
    }

    /// Loads weights saved by [`Classifier::save`].
    pub fn load(path: &Path, device: Device) -> Result<Self> {
        let mut c = Self::new(0, device);
        c.vs.load(path).with_context(|| format!("loading the feature classifier {} (delete it to retrain)", path.display()))?;
        Ok(c)
    }
}

/// The committed weights (`generative/weights/fashion_mnist_cnn.safetensors`).
const SHIPPED: &[u8] = include_bytes!("../weights/fashion_mnist_cnn.safetensors");

/// SHA-256 of the committed weights.
pub const SHIPPED_SHA256: &str = "01d256100b9805b789d12ac52b56eb8d21147857ad732c7b2374008dcb06ec06";

/// Fashion-MNIST test images (of 10,000) that the shipped weights classify
/// correctly, in portable numerics (recorded by `fd_classifier`).
pub const SHIPPED_TEST_CORRECT: i64 = 8993;

/// Hex SHA-256 of `bytes`.
pub fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
}

/// The Fréchet-distance classifier with the committed weights, after checking
/// their SHA-256 (a checkout with a corrupt or placeholder file fails here).
pub fn shipped(device: Device) -> Result<Classifier> {
    let sha = sha256_hex(SHIPPED);
    if sha != SHIPPED_SHA256 {
        anyhow::bail!("the shipped classifier weights have SHA-256 {sha}, expected {SHIPPED_SHA256}: the checkout's generative/weights/ is damaged");
    }
    let c = Classifier::new(0, device);
    c.load_safetensors_bytes(SHIPPED).context("loading the shipped classifier weights")?;
    Ok(c)
}
