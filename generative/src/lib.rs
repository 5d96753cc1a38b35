//! Generative models for nnlab: VAE and GAN trainers, their datasets and metrics.
//!
//! Empty for now: the trainers arrive with the generative-models issue
//! ([3/3]). The crate exists so that the workspace has its final shape and
//! its dependency arrows (`generative` uses tch, never `envs`) stay visible.
