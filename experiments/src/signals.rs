//! SIGINT, SIGTERM, SIGHUP and SIGUSR1 (Slurm's `--signal=USR1@60` warning
//! before a pre-emption or the end of `--time`) for every binary, installed
//! by [`crate::main_wrapper`]:
//!
//! - a run that writes checkpoints (`--checkpoint-every`, at any interval)
//!   writes one at its next safe point (the next place a periodic checkpoint
//!   could be written, see `scaffold::Run::checkpoint_due`), even before its
//!   first periodic one, and exits with [`PREEMPTED_STATUS`]; `--resume`
//!   continues it to the same bits as an uninterrupted run. A second signal
//!   stops it at once;
//! - a run without checkpoints stops at once with [`STOPPED_STATUS`] and
//!   says what it kept: its folder, with `config.toml` and the rows of
//!   `metrics.csv` flushed so far, and no `summary.json` (so it reads as
//!   unfinished);
//! - a `--seeds` parent or a sweep forwards the signal to its child runs,
//!   waits for them, and exits with [`PREEMPTED_STATUS`] ([`stop_requested`]
//!   is polled by their wait loops).

use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM, SIGUSR1};
use signal_hook::iterator::Signals;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;

static STOP: AtomicBool = AtomicBool::new(false);
static SUPERVISING: AtomicBool = AtomicBool::new(false);
static CHECKPOINTING: AtomicBool = AtomicBool::new(false);
static RUN_DIR: Mutex<Option<PathBuf>> = Mutex::new(None);

/// Exit status of a run stopped by a signal without a checkpoint (128 + SIGINT, as shells report it).
pub const STOPPED_STATUS: i32 = 130;

/// Exit status of a run (or a `--seeds` parent, a sweep) stopped by a
/// signal with its work saved: run the same command (a run: `--resume DIR`)
/// to continue. 75 is `EX_TEMPFAIL` ("try again later"); `sweep.sbatch`
/// requeues a task that ends with it.
pub const PREEMPTED_STATUS: u8 = 75;

/// The error a run returns after writing the checkpoint a signal asked for;
/// [`crate::main_wrapper`] prints it and exits with [`PREEMPTED_STATUS`].
#[derive(Debug)]
pub struct Preempted(pub String);

impl std::fmt::Display for Preempted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Preempted {}

fn signal_name(signal: i32) -> &'static str {
    match signal {
        SIGINT => "SIGINT",
        SIGTERM => "SIGTERM",
        SIGHUP => "SIGHUP",
        SIGUSR1 => "SIGUSR1",
        _ => "a signal",
    }
}

/// Installs the handler; `name` prefixes its messages.
pub fn install(name: &'static str) {
    // An error here (as when it cannot register) leaves the default behaviour.
    let Ok(mut signals) = Signals::new([SIGINT, SIGTERM, SIGHUP, SIGUSR1]) else { return };
    std::thread::spawn(move || {
        for signal in signals.forever() {
            let first = !STOP.swap(true, Ordering::SeqCst);
            if SUPERVISING.load(Ordering::SeqCst) {
                continue;
            }
            let dir = RUN_DIR.lock().ok().and_then(|d| d.clone());
            if first && CHECKPOINTING.load(Ordering::SeqCst) {
                eprintln!("{name}: {}: writing a checkpoint at the next safe point, then stopping (send it again to stop at once)", signal_name(signal));
                continue;
            }
            match dir {
                Some(d) => eprintln!(
                    "{name}: stopped by a signal ({}); {} keeps config.toml, metrics.csv up to the last finished row and its last checkpoint, if any (no summary.json: an unfinished run; continue it with --resume {})",
                    signal_name(signal),
                    d.display(),
                    d.display()
                ),
                None => eprintln!("{name}: stopped by a signal ({}) before a run folder was made", signal_name(signal)),
            }
            // SAFETY: ends the process at once, without running destructors of
            // libraries that other threads may be using.
            unsafe { libc::_exit(STOPPED_STATUS) };
        }
    });
}

/// Records the folder of the run in progress, for the stop message.
pub fn set_run_dir(dir: PathBuf) {
    if let Ok(mut d) = RUN_DIR.lock() {
        *d = Some(dir);
    }
}

/// From now on a first signal asks the run for a checkpoint ([`stop_requested`])
/// instead of stopping the process: the run writes checkpoints.
pub fn checkpoint_on_stop() {
    CHECKPOINTING.store(true, Ordering::SeqCst);
}

/// From now on a signal only sets [`stop_requested`]: this process supervises
/// child processes and stops them itself.
pub fn supervise() {
    SUPERVISING.store(true, Ordering::SeqCst);
}

/// Whether a signal arrived.
pub fn stop_requested() -> bool {
    STOP.load(Ordering::SeqCst)
}

/// Sends SIGTERM to the process `pid`.
pub fn terminate(pid: u32) {
    // SAFETY: kill(2) on a child's pid.
    unsafe {
        libc::kill(pid as libc::pid_t, libc::SIGTERM);
    }
}
