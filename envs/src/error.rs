//! What can go wrong when driving an environment (its own module, so that
//! spaces, environments and the registry all use it without a circle).

/// What can go wrong when driving an environment.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum EnvError {
    /// The action is not a member of the action space.
    #[error("action {action} is outside the action space {space}")]
    InvalidAction {
        /// The offending action, as text.
        action: String,
        /// The action space, as text.
        space: String,
    },
    /// `step` was called before the first `reset`.
    #[error("cannot call step() before reset()")]
    ResetNeeded,
    /// `set_state` got a state of the wrong length.
    #[error("state of length {got}, expected {expected}")]
    BadState {
        /// Length given.
        got: usize,
        /// Length expected.
        expected: usize,
    },
    /// A snapshot that does not fit this environment.
    #[error("cannot restore the environment: {0}")]
    BadSnapshot(String),
    /// An environment id that the registry does not know: the id, quoted,
    /// and the ids it knows.
    #[error("unknown environment {0}")]
    UnknownEnv(String),
    /// A known environment that needs a cargo feature this binary was built without.
    #[error("{0}")]
    FeatureNeeded(String),
}
