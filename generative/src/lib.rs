//! Generative models for nnlab: datasets first (IDX files, Fashion-MNIST
//! fetched from Debian's `dataset-fashion-mnist` package into the cache); the
//! VAE and GAN trainers and their metrics follow (issue [3/3]).

pub mod adversarial;
pub mod classifier;
pub mod data;
pub mod dcgan;
pub mod frechet;
pub mod gan;
pub mod mixture;
pub mod ops;
pub mod vae;
pub mod vae_trainer;
