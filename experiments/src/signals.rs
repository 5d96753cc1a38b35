//! Ctrl-C and `kill` (SIGINT, SIGTERM, SIGHUP) for every binary, installed by
//! [`crate::main_wrapper`]:
//!
//! - a single run stops at once and says what it kept: its folder, with
//!   `config.toml` and the rows of `metrics.csv` flushed so far, and no
//!   `summary.json` (so it reads as unfinished);
//! - a `--seeds` parent forwards the signal to its child runs, waits for
//!   them, and says which seeds finished ([`stop_requested`] is polled by
//!   its wait loop, see `multi_seed`).

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;

static STOP: AtomicBool = AtomicBool::new(false);
static SUPERVISING: AtomicBool = AtomicBool::new(false);
static RUN_DIR: Mutex<Option<PathBuf>> = Mutex::new(None);

/// Exit status of a run stopped by a signal (128 + SIGINT, as shells report it).
pub const STOPPED_STATUS: i32 = 130;

/// Installs the handler; `name` prefixes its message.
pub fn install(name: &'static str) {
    // An error here (a handler already set, as in tests) leaves the default behaviour.
    let _ = ctrlc::set_handler(move || {
        STOP.store(true, Ordering::SeqCst);
        if SUPERVISING.load(Ordering::SeqCst) {
            return;
        }
        let dir = RUN_DIR.lock().ok().and_then(|d| d.clone());
        match dir {
            Some(d) => eprintln!(
                "{name}: stopped by a signal; {} keeps config.toml, metrics.csv up to the last finished row and its last checkpoint, if any (no summary.json: an unfinished run; continue it with --resume {})",
                d.display(),
                d.display()
            ),
            None => eprintln!("{name}: stopped by a signal before a run folder was made"),
        }
        // SAFETY: ends the process at once, without running destructors of
        // libraries that other threads may be using.
        unsafe { libc::_exit(STOPPED_STATUS) };
    });
}

/// Records the folder of the run in progress, for the stop message.
pub fn set_run_dir(dir: PathBuf) {
    if let Ok(mut d) = RUN_DIR.lock() {
        *d = Some(dir);
    }
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
