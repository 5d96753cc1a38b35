//! Image classification for nnlab: the networks ([`models`]: the seed's CNN
//! and a small ResNet), how images become batches ([`batches`]: normalisation,
//! random crops and flips), and the training recipe with its config
//! ([`trainer`]: SGD or AdamW, constant, cosine or one-cycle schedules, label
//! smoothing, a validation split for model selection, checkpoints; [`fit`]:
//! the epoch loop's trainer for the experiments' `fit`). Numbers
//! out, no files: the `cnn_classifier` binary writes the run folder.

pub mod batches;
pub mod fit;
pub mod models;
pub mod trainer;

pub use fit::CnnFit;
pub use models::{Architecture, ImageShape, Network};
pub use trainer::{CnnConfig, CnnTrainer, EpochStats};
