//! An exact Rust port of MinAtar 1.0.15 (Kenny Young and Tian Tian,
//! "MinAtar: An Atari-Inspired Testbed for Thorough and Reproducible
//! Reinforcement Learning Experiments", 2019; <https://github.com/kenjyoung/MinAtar>):
//! Asterix, Breakout, Freeway, Seaquest and Space Invaders on a 10x10 grid
//! of boolean channels.
//!
//! **Licence: GPL-3.0-only.** MinAtar is GPL-3.0 and this crate is a port
//! of its game code, so it is a derivative work under the same licence
//! (COPYING, README.md). nnlab's other crates are MIT OR Apache-2.0 and use
//! this one only behind their `minatar` cargo feature; a binary built with
//! that feature is GPL-3.0.
//!
//! Exactness: MinAtar draws from numpy's legacy `RandomState`;
//! [`RandomState`] reproduces MT19937 and numpy's `rand`/`randint`, so an
//! [`Environment`] seeded like MinAtar's replays every state, reward and
//! terminal of a recorded episode from the seed and the actions alone
//! (nnlab's `gym_parity` checks 53 episodes recorded with MinAtar 1.0.15).

pub mod asterix;
pub mod breakout;
pub mod environment;
pub mod freeway;
pub mod game;
pub mod random;
pub mod reference;
pub mod seaquest;
pub mod space_invaders;

pub use environment::{Environment, GameKind};
pub use game::{Game, GRID};
pub use random::RandomState;

/// MinAtar's six actions: `['n', 'l', 'u', 'r', 'd', 'f']`.
pub const NUM_ACTIONS: usize = 6;
/// `'n'`: do nothing.
pub const ACTION_NOOP: usize = 0;
/// `'l'`: left.
pub const ACTION_LEFT: usize = 1;
/// `'u'`: up.
pub const ACTION_UP: usize = 2;
/// `'r'`: right.
pub const ACTION_RIGHT: usize = 3;
/// `'d'`: down.
pub const ACTION_DOWN: usize = 4;
/// `'f'`: fire.
pub const ACTION_FIRE: usize = 5;
/// MinAtar's default sticky-action probability.
pub const STICKY_ACTION_PROB: f64 = 0.1;
