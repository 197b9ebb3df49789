#![doc = include_str!("../README.md")]
// The pipelines are stages that each read in a screen (docs/ARCHITECTURE.md).
#![warn(clippy::too_many_lines)]

pub use classic_models;
pub use dataset;
pub use evaluation;
pub use neural_models;
pub use spotify_client;

pub mod bundle;
pub mod classify;
mod log;
pub mod popularity;
pub mod task1;
pub mod task2;
pub mod valence;
