//! Sequence models for nnlab: the networks ([`models`]: recurrent layers in
//! PyTorch's layout, the recurrent character language model, a causal
//! transformer with its attention weights) and character-level language
//! modelling ([`charlm`]: config, training, bits per character over a whole
//! text, sampling). Numbers out, no files: the `charlm` binary writes the
//! run folder.

pub mod charlm;
pub mod charlm_fit;
pub mod crf;
pub mod entities;
pub mod intent;
pub mod intent_fit;
pub mod models;
pub mod sentiment;
pub mod tagger;
pub mod tagger_fit;

pub use charlm::{CharLmConfig, CharLmTrainer, LmKind, TextLoss};
pub use charlm_fit::CharLmFit;
pub use models::{Cell, CharModel, Recurrent};
