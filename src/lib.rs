//! spotify-ml: learn valence, mood, genre and popularity from Spotify audio features.
//!
//! This facade re-exports the workspace's five crates and holds the task pipelines that the
//! examples run. Depend on the crates one by one to take only what you need (only
//! `neural-models` links libtorch).

pub use classic_models;
pub use dataset;
pub use evaluation;
pub use neural_models;
pub use spotify_client;

pub mod task1;
pub mod task2;
pub mod valence;
