//! Schedules of a hyperparameter over training steps.

use serde::{Deserialize, Serialize};

/// A linear ramp from `start` to `end` over `duration` steps, then flat at `end`
/// (CleanRL's `linear_schedule`, SB3's `get_linear_fn`).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct LinearSchedule {
    /// Value at step 0.
    pub start: f64,
    /// Value from step `duration` on.
    pub end: f64,
    /// Length of the ramp in steps (0: always `end`).
    pub duration: f64,
}

impl LinearSchedule {
    /// The ramp from `start` to `end` over `duration` steps.
    pub fn new(start: f64, end: f64, duration: f64) -> Self {
        Self { start, end, duration }
    }

    /// The value at step `t`.
    pub fn value(&self, t: usize) -> f64 {
        if self.duration <= 0.0 {
            return self.end;
        }
        // CleanRL's formula, so that epsilon matches it to the last bit.
        let slope = (self.end - self.start) / self.duration;
        let v = slope * t as f64 + self.start;
        if self.end < self.start {
            v.max(self.end)
        } else {
            v.min(self.end)
        }
    }
}

/// CleanRL's learning-rate annealing: at iteration `iteration` (1-based) of
/// `iterations`, `lr * (1 - (iteration - 1) / iterations)`; `lr` itself when off.
pub fn annealed_lr(lr: f64, iteration: usize, iterations: usize, anneal: bool) -> f64 {
    if anneal {
        (1.0 - (iteration - 1) as f64 / iterations as f64) * lr
    } else {
        lr
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ramps_then_holds() {
        let s = LinearSchedule::new(1.0, 0.05, 250_000.0);
        assert_eq!(s.value(0), 1.0);
        assert!((s.value(125_000) - 0.525).abs() < 1e-12);
        assert!((s.value(250_000) - 0.05).abs() < 1e-12);
        assert_eq!(s.value(400_000), 0.05);
        assert_eq!(LinearSchedule::new(1.0, 0.1, 0.0).value(0), 0.1);
        assert_eq!(LinearSchedule::new(0.0, 1.0, 10.0).value(20), 1.0);
        assert_eq!(annealed_lr(1e-3, 1, 4, true), 1e-3);
        assert_eq!(annealed_lr(1e-3, 4, 4, true), 0.25 * 1e-3);
        assert_eq!(annealed_lr(1e-3, 4, 4, false), 1e-3);
    }
}
