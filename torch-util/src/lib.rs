//! Torch helpers shared by nnlab's agents and generative models, so that
//! every model is seeded the same way.
//!
//! - [`numerics`]: fast or portable (CPU-independent) kernel choices.
//! - [`with_torch_seed`]: network initialisation under a seed, on one torch
//!   thread, behind a process-wide lock.
//! - [`standard_normal`]: noise tensors drawn from a model's own RNG.
//! - [`state::TrainState`]: a trainer's complete state, for checkpoints.

pub mod check;
pub mod numerics;
pub mod optim;
pub mod state;

/// A copy of a model's variables by name (for keeping the best model of a run).
pub type Snapshot = Vec<(String, tch::Tensor)>;

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
