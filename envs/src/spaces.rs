//! Observation and action spaces: `Discrete(n)` and one-dimensional `Box`.

use crate::error::EnvError;
use rand::Rng;

/// A one-dimensional box `[low, high]` of `f32` values (Gymnasium's `Box`).
#[derive(Debug, Clone, PartialEq)]
pub struct BoxSpace {
    /// Lower bound of each component (may be `-inf`).
    pub low: Vec<f32>,
    /// Upper bound of each component (may be `+inf`).
    pub high: Vec<f32>,
}

impl BoxSpace {
    /// A box with the given bounds; both must have the same length.
    pub fn new(low: Vec<f32>, high: Vec<f32>) -> Self {
        assert_eq!(low.len(), high.len(), "box bounds of different lengths");
        Self { low, high }
    }

    /// Number of components.
    pub fn dim(&self) -> usize {
        self.low.len()
    }

    /// Whether `x` has the right length, is finite and lies inside the bounds.
    pub fn contains(&self, x: &[f32]) -> bool {
        x.len() == self.dim() && x.iter().zip(self.low.iter().zip(&self.high)).all(|(v, (lo, hi))| v.is_finite() && *v >= *lo && *v <= *hi)
    }

    /// A uniform sample (components with an infinite bound are drawn from N(0, 1)).
    pub fn sample<R: Rng + ?Sized>(&self, rng: &mut R) -> Vec<f32> {
        self.low
            .iter()
            .zip(&self.high)
            .map(|(&lo, &hi)| {
                if lo.is_finite() && hi.is_finite() {
                    lo + (hi - lo) * rng.random::<f32>()
                } else {
                    rng.sample::<f32, _>(rand::distr::StandardUniform) * 2.0 - 1.0
                }
            })
            .collect()
    }
}

/// An action space.
#[derive(Debug, Clone, PartialEq)]
pub enum Space {
    /// Actions `0..n`.
    Discrete(usize),
    /// Continuous actions inside a box.
    Box(BoxSpace),
}

impl Space {
    /// Number of actions of a discrete space, `None` for a box.
    pub fn n(&self) -> Option<usize> {
        match self {
            Space::Discrete(n) => Some(*n),
            Space::Box(_) => None,
        }
    }

    /// Checks that `action` belongs to this space.
    pub fn check(&self, action: Action<'_>) -> Result<(), EnvError> {
        match (self, action) {
            (Space::Discrete(n), Action::Discrete(a)) if a < *n => Ok(()),
            (Space::Box(b), Action::Continuous(x)) if b.contains(x) => Ok(()),
            _ => Err(EnvError::InvalidAction { action: action.describe(), space: self.describe() }),
        }
    }

    /// A short text such as `Discrete(2)` or `Box([-2.0], [2.0])`.
    pub fn describe(&self) -> String {
        match self {
            Space::Discrete(n) => format!("Discrete({n})"),
            Space::Box(b) => format!("Box({:?}, {:?})", b.low, b.high),
        }
    }
}

/// One action handed to an environment.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Action<'a> {
    /// An index into a discrete space.
    Discrete(usize),
    /// A point of a box space.
    Continuous(&'a [f32]),
}

impl Action<'_> {
    /// A short text of the action for error messages.
    pub fn describe(&self) -> String {
        match self {
            Action::Discrete(a) => format!("{a}"),
            Action::Continuous(x) => format!("{x:?}"),
        }
    }
}
