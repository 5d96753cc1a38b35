//! Generative models for nnlab and what they need: datasets ([`data`]: IDX
//! files, Fashion-MNIST fetched from Debian's `dataset-fashion-mnist` package
//! into the cache), the VAE ([`vae`], [`vae_trainer`]), GANs on 2-D mixtures
//! ([`gan`], [`mixture`] with the mode and quality metric), DCGAN
//! ([`dcgan`]), and the Fréchet distance ([`frechet`]) in the feature space
//! of a committed CNN classifier ([`classifier`]). Numbers out, no files.

pub mod adversarial;
pub mod classifier;
pub use nnlab_data as data;
pub mod dcgan;
pub mod frechet;
pub mod gan;
pub mod mixture;
pub mod ops;
pub mod vae;
pub mod vae_trainer;
