//! Torch helpers shared by nnlab's agents and generative models, so that
//! every model is seeded the same way.
//!
//! - [`numerics`]: fast or portable (CPU-independent) kernel choices.
//! - [`with_torch_seed`]: network initialisation under a seed, on one torch
//!   thread, behind a process-wide lock.
//! - [`standard_normal`]: noise tensors drawn from a model's own RNG.
//! - [`state::TrainState`]: a trainer's complete state, for checkpoints.
//! - [`average::WeightAverage`]: an exponential moving average of the weights.
//! - [`golden`]: bit-exact golden-value checks for the crates' tests.
//! - [`trainer::Trainer`]: the shape of every supervised and generative
//!   training loop, which the experiments' `fit` drives.

pub mod average;
pub mod blas;
pub mod check;
mod fused;
pub mod golden;
pub mod numerics;
pub mod optim;
pub mod state;
pub mod trainer;
pub mod weights;

/// A copy of a model's variables by name (for keeping the best model of a run).
pub type Snapshot = Vec<(String, tch::Tensor)>;

/// A copy of every variable of `vs`, sorted by name.
pub fn snapshot(vs: &tch::nn::VarStore) -> Snapshot {
    let _guard = tch::no_grad_guard();
    let mut vars: Snapshot = vs.variables().into_iter().map(|(k, v)| (k, v.copy())).collect();
    vars.sort_by(|a, b| a.0.cmp(&b.0));
    vars
}

/// Puts back variables from [`snapshot`]; a name `vs` lacks is an error.
pub fn restore_snapshot(vs: &tch::nn::VarStore, snapshot: &[(String, tch::Tensor)]) -> anyhow::Result<()> {
    let _guard = tch::no_grad_guard();
    let vars = vs.variables();
    for (name, value) in snapshot {
        let Some(var) = vars.get(name) else { anyhow::bail!("the snapshot has a variable {name} this network lacks") };
        var.shallow_clone().copy_(value);
    }
    Ok(())
}

use rand::Rng;
use rand_distr::StandardNormal;
use tch::{Device, Tensor};

/// Seeds torch's global generator with `seed` and runs `init` (network
/// initialisation) while holding a process-wide lock, so that models built
/// concurrently in one process (as tests are) draw the same weights as alone.
/// `init` runs on one torch thread: orthogonal initialisation (a QR
/// factorisation) rounds differently with more threads, and the weights
/// should not depend on `--threads`.
pub fn with_torch_seed<T>(seed: u64, init: impl FnOnce() -> T) -> T {
    static TORCH_RNG: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _guard = TORCH_RNG.lock().unwrap_or_else(|e| e.into_inner());
    let threads = tch::get_num_threads();
    tch::set_num_threads(1);
    tch::manual_seed(seed as i64);
    let out = init();
    tch::set_num_threads(threads);
    out
}

/// A standard-normal float tensor of `shape` on `device`, drawn from `rng`
/// (not torch's global generator), so that a model's noise depends on its
/// own seed alone and is the same on every device.
pub fn standard_normal(rng: &mut impl Rng, shape: &[i64], device: Device) -> Tensor {
    let n: i64 = shape.iter().product();
    let v: Vec<f32> = (0..n).map(|_| rng.sample::<f32, _>(StandardNormal)).collect();
    Tensor::from_slice(&v).view(shape).to_device(device)
}
