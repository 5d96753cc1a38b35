//! Deep RL agents for nnlab on tch, and the parts they share.
//!
//! Each agent reads top to bottom in its own module (as in CleanRL) and
//! combines shared parts (as in Stable-Baselines3): [`replay_buffer`],
//! [`schedule`], [`network`]. Agents never open files: they report what
//! happens to an [`observer::Observer`] that the caller provides.

pub mod a2c;
pub mod agent;
pub mod distributions;
pub mod dqn;
pub mod flat;
pub mod network;
pub mod normalize;
pub mod policy;
pub mod ppo;
pub mod observer;
pub mod onpolicy;
pub mod reinforce;
pub mod replay_buffer;
pub mod rollout;
pub mod schedule;
pub mod validate;

pub use agent::{evaluate, record_episode, Agent, OwnedAction, TrainStats};
pub use observer::{EpisodeRecord, NullObserver, Observer, Stats};

/// Seeds torch's global generator with `seed` and runs `init` (network
/// initialisation) while holding a process-wide lock, so that agents built
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
