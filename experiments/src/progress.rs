//! The progress bar: steps, steps per second and the recent mean return.

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// A progress bar over environment steps (hidden under `--quiet` or without a terminal).
pub struct Progress {
    bar: ProgressBar,
}

impl Progress {
    /// A bar for `total` steps.
    pub fn new(total: u64, quiet: bool) -> Self {
        let bar = ProgressBar::with_draw_target(Some(total), if quiet { ProgressDrawTarget::hidden() } else { ProgressDrawTarget::stderr_with_hz(4) });
        bar.set_style(
            ProgressStyle::with_template("{bar:30.cyan/blue} {human_pos}/{human_len} steps  {per_sec:>12}  eta {eta:>4}  {msg}")
                .expect("valid template")
                .progress_chars("=> "),
        );
        Self { bar }
    }

    /// Moves the bar to `step`.
    pub fn set_step(&self, step: u64) {
        self.bar.set_position(step);
    }

    /// Shows the recent mean return.
    pub fn set_return(&self, mean_return: f64, episodes: usize) {
        self.bar.set_message(format!("return(last {episodes}) {mean_return:.1}"));
    }

    /// Removes the bar.
    pub fn finish(&self) {
        self.bar.finish_and_clear();
    }
}
