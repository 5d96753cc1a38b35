//! MinAtar's `Environment`: one game, one shared random stream, sticky actions.

use crate::asterix::Asterix;
use crate::breakout::Breakout;
use crate::freeway::Freeway;
use crate::game::{Chw, Game, Hwc, GRID};
use crate::random::RandomState;
use crate::seaquest::Seaquest;
use crate::space_invaders::SpaceInvaders;
use serde::{Deserialize, Serialize};

/// The five games, by MinAtar's module names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum GameKind {
    /// `asterix`
    Asterix,
    /// `breakout`
    Breakout,
    /// `freeway`
    Freeway,
    /// `seaquest`
    Seaquest,
    /// `space_invaders`
    SpaceInvaders,
}

impl GameKind {
    /// All five, in MinAtar's (alphabetical) order.
    pub const ALL: [GameKind; 5] = [GameKind::Asterix, GameKind::Breakout, GameKind::Freeway, GameKind::Seaquest, GameKind::SpaceInvaders];

    /// MinAtar's name (`Environment(env_name)`), e.g. `space_invaders`.
    pub fn name(self) -> &'static str {
        match self {
            GameKind::Asterix => "asterix",
            GameKind::Breakout => "breakout",
            GameKind::Freeway => "freeway",
            GameKind::Seaquest => "seaquest",
            GameKind::SpaceInvaders => "space_invaders",
        }
    }

    /// The game of a MinAtar name.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.name() == name)
    }

    /// The channel names, in MinAtar's order.
    pub fn channels(self) -> &'static [&'static str] {
        match self {
            GameKind::Asterix => Asterix::CHANNELS,
            GameKind::Breakout => Breakout::CHANNELS,
            GameKind::Freeway => Freeway::CHANNELS,
            GameKind::Seaquest => Seaquest::CHANNELS,
            GameKind::SpaceInvaders => SpaceInvaders::CHANNELS,
        }
    }

    /// MinAtar's `minimal_action_set()`.
    pub fn minimal_action_set(self) -> &'static [usize] {
        match self {
            GameKind::Asterix => Asterix::MINIMAL_ACTIONS,
            GameKind::Breakout => Breakout::MINIMAL_ACTIONS,
            GameKind::Freeway => Freeway::MINIMAL_ACTIONS,
            GameKind::Seaquest => Seaquest::MINIMAL_ACTIONS,
            GameKind::SpaceInvaders => SpaceInvaders::MINIMAL_ACTIONS,
        }
    }
}

/// One game's state (an enum, so that an [`Environment`] is plain data to copy and serialise).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
enum AnyGame {
    Asterix(Asterix),
    Breakout(Breakout),
    Freeway(Freeway),
    Seaquest(Seaquest),
    SpaceInvaders(SpaceInvaders),
}

macro_rules! each_game {
    ($value:expr, $game:ident => $body:expr) => {
        match $value {
            AnyGame::Asterix($game) => $body,
            AnyGame::Breakout($game) => $body,
            AnyGame::Freeway($game) => $body,
            AnyGame::Seaquest($game) => $body,
            AnyGame::SpaceInvaders($game) => $body,
        }
    };
}

/// MinAtar's `Environment(env_name, sticky_action_prob, difficulty_ramping)`
/// after `seed(seed)`: the game and the sticky-action draw share one
/// [`RandomState`]; each [`act`](Self::act) first draws `rand()` and repeats
/// the previous action when it falls below the sticky probability, then
/// steps the game. As in MinAtar, [`reset`](Self::reset) does not clear the
/// previous action.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Environment {
    kind: GameKind,
    game: AnyGame,
    random: RandomState,
    sticky_action_prob: f64,
    last_action: usize,
}

impl Environment {
    /// The game seeded with `seed` (MinAtar's `Environment(...)` then
    /// `seed(seed)`); call [`reset`](Self::reset) before the first step, as in MinAtar.
    pub fn new(kind: GameKind, sticky_action_prob: f64, difficulty_ramping: bool, seed: u32) -> Self {
        // MinAtar's game constructors reset once with a stream of their own,
        // which `seed` then replaces: a throwaway stream plays that part here.
        let mut own = RandomState::new(seed);
        let game = match kind {
            GameKind::Asterix => AnyGame::Asterix(Asterix::new(difficulty_ramping)),
            GameKind::Breakout => AnyGame::Breakout(Breakout::new(&mut own)),
            GameKind::Freeway => AnyGame::Freeway({
                let mut g = Freeway::new();
                g.reset(&mut own);
                g
            }),
            GameKind::Seaquest => AnyGame::Seaquest(Seaquest::new(difficulty_ramping)),
            GameKind::SpaceInvaders => AnyGame::SpaceInvaders(SpaceInvaders::new(difficulty_ramping)),
        };
        Self { kind, game, random: RandomState::new(seed), sticky_action_prob, last_action: 0 }
    }

    /// MinAtar's `seed(seed)`: a fresh `RandomState(seed)` for game and sticky actions.
    pub fn seed(&mut self, seed: u32) {
        self.random = RandomState::new(seed);
    }

    /// Whether the random stream is a whole Mersenne Twister state (624
    /// words, a position within them), as a deserialised copy must be.
    pub fn is_valid(&self) -> bool {
        self.random.is_valid()
    }

    /// Which game this is.
    pub fn kind(&self) -> GameKind {
        self.kind
    }

    /// MinAtar's `reset()`.
    pub fn reset(&mut self) {
        let random = &mut self.random;
        each_game!(&mut self.game, g => g.reset(random))
    }

    /// MinAtar's `act(a)` for an action of the full set (0..6): reward and terminal.
    pub fn act(&mut self, action: usize) -> (i32, bool) {
        assert!(action < crate::NUM_ACTIONS, "MinAtar actions are 0..6, got {action}");
        let action = if self.random.rand() < self.sticky_action_prob { self.last_action } else { action };
        self.last_action = action;
        let random = &mut self.random;
        each_game!(&mut self.game, g => g.act(action, random))
    }

    /// Number of channels `C` of the `10x10xC` state.
    pub fn channels(&self) -> usize {
        self.kind.channels().len()
    }

    /// MinAtar's `state()`: `10x10xC` booleans, row-major `[y][x][c]`.
    pub fn state(&self) -> Vec<bool> {
        let mut out = vec![false; GRID * GRID * self.channels()];
        let channels = self.channels();
        let mut cells = Hwc { out: &mut out, channels };
        each_game!(&self.game, g => g.draw(&mut cells));
        out
    }

    /// The state channels-first, `[c][y][x]`, as 0.0/1.0 into `out` (length `C * 100`).
    pub fn observe_chw(&self, out: &mut [f32]) {
        assert_eq!(out.len(), GRID * GRID * self.channels(), "observation buffer of the wrong length");
        out.fill(0.0);
        let mut cells = Chw { out };
        each_game!(&self.game, g => g.draw(&mut cells));
    }

    /// MinAtar's `difficulty_ramp()`.
    pub fn difficulty_ramp(&self) -> Option<u32> {
        each_game!(&self.game, g => g.difficulty_ramp())
    }

    /// MinAtar's `minimal_action_set()`.
    pub fn minimal_action_set(&self) -> &'static [usize] {
        self.kind.minimal_action_set()
    }
}
