//! The classification experiments of issue 5 (moods, genres, activity moods, popularity
//! quartiles, hits), sharing one vocabulary: classic classifiers of `classic-models` and
//! networks of `neural-models`, fitted with linfa's `Fit` and scored through
//! `evaluation::classification`.
//!
//! [`engine`] holds the protocols and the line-up, [`experiment`] runs one experiment to its
//! outcome, [`output`] writes `metrics.json`, `report.md` and the plots, [`saved`] saves and
//! reloads trained models and formats predictions.

pub mod engine;
pub mod experiment;
pub mod family;
pub mod genres;
pub mod hits;
pub mod moods;
pub mod network;
pub mod output;
pub mod popularity;
pub mod saved;

pub use engine::{lineup, Fitted, Model, Problem, Scale};
pub use experiment::{Experiment, ExperimentOutcome, Protocol};
pub use network::{FittedNetwork, Network};
pub use saved::{prediction_line, SavedClassifier};
