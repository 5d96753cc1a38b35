//! Variational autoencoders (Kingma and Welling 2014) on 28x28 greyscale
//! images with a Bernoulli decoder: the MLP VAE of PyTorch's examples
//! (784-400-`latent`, ReLU) and a small convolutional one; `beta` weighs the
//! KL term (beta-VAE).
//!
//! Losses are in nats per image: the negative ELBO is
//! `BCE(x, decoder(z)) + beta * KL(q(z|x) || N(0, I))` summed over pixels, with
//! the grey values in [0, 1] as Bernoulli targets (as PyTorch's example does).

use anyhow::{bail, Result};
use serde::{Deserialize, Serialize};
use tch::nn::{self, Module};
use tch::{Kind, Reduction, Tensor};

/// The encoder/decoder family.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum VaeArch {
    /// 784-hidden-latent MLP encoder and latent-hidden-784 MLP decoder (ReLU).
    Mlp,
    /// Two stride-2 convolutions (32, 64 channels) and their transposes.
    Conv,
}

/// A VAE over flattened 28x28 images.
#[derive(Debug)]
pub struct Vae {
    arch: VaeArch,
    encoder: nn::Sequential,
    mu: nn::Linear,
    logvar: nn::Linear,
    decoder: nn::Sequential,
    latent: i64,
}

impl Vae {
    /// Builds the model under `p`.
    pub fn new(p: &nn::Path, arch: VaeArch, hidden: i64, latent: i64) -> Result<Self> {
        if hidden < 1 || latent < 1 {
            bail!("hidden and latent sizes must be at least 1 (got {hidden}, {latent})");
        }
        let (encoder, features, decoder) = match arch {
            VaeArch::Mlp => (
                nn::seq().add(nn::linear(p / "fc1", 784, hidden, Default::default())).add_fn(|x| x.relu()),
                hidden,
                nn::seq().add(nn::linear(p / "fc3", latent, hidden, Default::default())).add_fn(|x| x.relu()).add(nn::linear(
                    p / "fc4",
                    hidden,
                    784,
                    Default::default(),
                )),
            ),
            VaeArch::Conv => {
                let conv = nn::ConvConfig { stride: 2, padding: 1, ..Default::default() };
                let deconv = nn::ConvTransposeConfig { stride: 2, padding: 1, output_padding: 1, ..Default::default() };
                (
                    nn::seq()
                        .add_fn(|x| x.view([-1, 1, 28, 28]))
                        .add(nn::conv2d(p / "enc1", 1, 32, 3, conv))
                        .add_fn(|x| x.relu())
                        .add(nn::conv2d(p / "enc2", 32, 64, 3, conv))
                        .add_fn(|x| x.relu().flatten(1, -1))
                        .add(nn::linear(p / "enc3", 64 * 7 * 7, hidden, Default::default()))
                        .add_fn(|x| x.relu()),
                    hidden,
                    nn::seq()
                        .add(nn::linear(p / "dec1", latent, hidden, Default::default()))
                        .add_fn(|x| x.relu())
                        .add(nn::linear(p / "dec2", hidden, 64 * 7 * 7, Default::default()))
                        .add_fn(|x| x.relu().view([-1, 64, 7, 7]))
                        .add(nn::conv_transpose2d(p / "dec3", 64, 32, 3, deconv))
                        .add_fn(|x| x.relu())
                        .add(nn::conv_transpose2d(p / "dec4", 32, 1, 3, deconv))
                        .add_fn(|x| x.flatten(1, -1)),
                )
            }
        };
        Ok(Self {
            arch,
            mu: nn::linear(p / "fc21", features, latent, Default::default()),
            logvar: nn::linear(p / "fc22", features, latent, Default::default()),
            encoder,
            decoder,
            latent,
        })
    }

    /// The architecture.
    pub fn arch(&self) -> VaeArch {
        self.arch
    }

    /// Latent size.
    pub fn latent(&self) -> i64 {
        self.latent
    }

    /// `(mu, logvar)` of `q(z|x)` for images `[B, 784]` in [0, 1].
    pub fn encode(&self, x: &Tensor) -> (Tensor, Tensor) {
        let h = self.encoder.forward(x);
        (self.mu.forward(&h), self.logvar.forward(&h))
    }

    /// Bernoulli logits `[B, 784]` of `p(x|z)`.
    pub fn decode_logits(&self, z: &Tensor) -> Tensor {
        self.decoder.forward(z)
    }

    /// Per-image negative ELBO terms `(reconstruction BCE, KL)`, each `[B]`, using `noise` `[B, latent]`
    /// for the reparameterisation `z = mu + exp(logvar / 2) * noise`.
    pub fn elbo_terms(&self, x: &Tensor, noise: &Tensor) -> (Tensor, Tensor) {
        let (mu, logvar) = self.encode(x);
        let z = &mu + (&logvar * 0.5).exp() * noise;
        let logits = self.decode_logits(&z);
        let bce = logits.binary_cross_entropy_with_logits::<Tensor>(x, None, None, Reduction::None).sum_dim_intlist(-1, false, Kind::Float);
        let kl = ((&logvar + 1.0 - mu.square() - logvar.exp()) * -0.5).sum_dim_intlist(-1, false, Kind::Float);
        (bce, kl)
    }

    /// Importance-weighted estimate of `-log p(x)` per image (Burda et al. 2016) with `k`
    /// samples from `q(z|x)`: `-log (1/k) sum_i p(x|z_i) p(z_i) / q(z_i|x)`. `noise` is `[k, B, latent]`.
    pub fn iw_nll(&self, x: &Tensor, noise: &Tensor) -> Tensor {
        let (mu, logvar) = self.encode(x);
        let k = noise.size()[0];
        let std = (&logvar * 0.5).exp();
        let z = mu.unsqueeze(0) + std.unsqueeze(0) * noise; // [k, B, L]
        let b = x.size()[0];
        let logits = self.decode_logits(&z.view([-1, self.latent])).view([k, b, 784]);
        let xk = x.unsqueeze(0).expand([k, b, 784], false);
        let log_px_z = -logits.binary_cross_entropy_with_logits::<Tensor>(&xk, None, None, Reduction::None).sum_dim_intlist(-1, false, Kind::Float);
        let ln2pi = libm::log(2.0 * std::f64::consts::PI);
        let log_pz = (z.square() * -0.5 - 0.5 * ln2pi).sum_dim_intlist(-1, false, Kind::Float);
        let log_qz = (noise.square() * -0.5 - 0.5 * ln2pi - (logvar.unsqueeze(0) * 0.5)).sum_dim_intlist(-1, false, Kind::Float);
        let log_w = log_px_z + log_pz - log_qz; // [k, B]
        -(log_w.logsumexp(&[0i64][..], false) - libm::log(k as f64))
    }
}
