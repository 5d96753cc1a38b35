//! The statistics of Agarwal et al., "Deep Reinforcement Learning at the Edge
//! of the Statistical Precipice" (NeurIPS 2021), as their `rliable` library
//! computes them, in pure Rust:
//!
//! - [`estimators`]: the aggregate point estimates over a score matrix
//!   (interquartile mean, median, mean, optimality gap), the probability of
//!   improvement of one algorithm over another, and score distributions
//!   (performance profiles);
//! - [`bootstrap`]: stratified bootstrap confidence intervals for any of
//!   them (runs resampled within each task; percentile intervals).
//!
//! Scores are [`Scores`]: for each task, the final scores of its runs.
//! Every point estimate equals `rliable`'s (`scripts/check-rliable.sh`
//! compares them with PyPI `rliable` to 1e-9); intervals agree within
//! Monte-Carlo error, since the resampling draws differ.

pub mod bootstrap;
pub mod estimators;

pub use bootstrap::{Bootstrap, Estimate};
pub use estimators::{Scores, Statistic};
