//! Seeded noise: every random tensor a trainer draws comes from its own
//! `ChaCha8Rng`, so runs repeat bit for bit whatever torch's global RNG did.

use rand::Rng;
use rand_distr::StandardNormal;
use tch::{Device, Tensor};

/// A standard-normal float tensor of `shape` on `device`, drawn from `rng`.
pub fn standard_normal(rng: &mut impl Rng, shape: &[i64], device: Device) -> Tensor {
    let n: i64 = shape.iter().product();
    let v: Vec<f32> = (0..n).map(|_| rng.sample::<f32, _>(StandardNormal)).collect();
    Tensor::from_slice(&v).view(shape).to_device(device)
}

/// Runs `init` on one torch thread after `tch::manual_seed(seed)`, so that
/// initial weights do not depend on the thread count of the run.
pub fn seeded_init<T>(seed: u64, init: impl FnOnce() -> T) -> T {
    let threads = tch::get_num_threads();
    tch::set_num_threads(1);
    tch::manual_seed(seed as i64);
    let out = init();
    tch::set_num_threads(threads);
    out
}
