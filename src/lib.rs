#![doc = include_str!("../README.md")]
// The pipelines are stages that each read in a screen (docs/ARCHITECTURE.md).
#![warn(clippy::too_many_lines)]

pub use classic_models;
pub use dataset;
pub use evaluation;
#[cfg(feature = "neural")]
pub use neural_models;
pub use spotify_client;

pub mod bundle;
pub mod classify;
mod log;
#[cfg(feature = "neural")]
pub mod popularity;
pub mod task1;
#[cfg(feature = "neural")]
pub mod task2;
pub mod valence;
