//! The classification experiments of issue 5 (moods, genres, activity moods, popularity
//! quartiles, hits), sharing one vocabulary: classic classifiers of `classic-models` and
//! networks of `neural-models`, fitted with linfa's `Fit` and scored through
//! `evaluation::classification`.

pub mod network;

pub use network::{FittedNetwork, Network};
