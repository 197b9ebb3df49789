//! The classification experiments of issue 5 (moods, genres, activity moods, popularity
//! quartiles, hits), sharing one vocabulary: classic classifiers of `classic-models` and
//! networks of `neural-models`, fitted with linfa's `Fit` and scored through
//! `evaluation::classification`.
//!
//! [`identity`] names the learners, candidates and experiments; [`lineup`](mod@lineup) holds
//! the learners and their settings; [`engine`] runs the protocols (cross-validation, splits
//! over seeds, the blend); [`experiment`] takes one experiment through its stages to an
//! outcome; [`report`] is the schema of `metrics.json` and `details.json`, which [`output`]
//! writes with `report.md` and the plots; [`saved`] saves and reloads trained models and
//! formats predictions. The family drivers ([`moods`], [`genres`], [`popularity`], [`hits`])
//! build their experiments from the data and run them.

pub mod calibration;
#[cfg(feature = "neural")]
pub mod curves;
#[cfg(feature = "neural")]
pub mod engine;
pub mod error;
#[cfg(feature = "neural")]
pub mod experiment;
#[cfg(feature = "neural")]
pub mod family;
#[cfg(feature = "neural")]
pub mod genres;
#[cfg(feature = "neural")]
pub mod hits;
pub mod identity;
pub mod lineup;
#[cfg(feature = "neural")]
pub mod moods;
#[cfg(feature = "neural")]
pub mod network;
#[cfg(feature = "neural")]
pub mod output;
#[cfg(feature = "neural")]
pub mod popularity;
pub mod problem;
#[cfg(feature = "neural")]
pub mod report;
pub mod saved;

pub use error::{ClassifyError, LearnerError};
#[cfg(feature = "neural")]
pub use experiment::{Experiment, ExperimentOutcome, Protocol};
pub use identity::{Candidate, ExperimentId, Learner, ModelFamily, UnknownName};
#[cfg(feature = "neural")]
pub use lineup::{lineup, Model};
pub use lineup::{BlendPool, Fitted, Scale};
#[cfg(feature = "neural")]
pub use network::{FittedNetwork, Network};
pub use problem::Problem;
#[cfg(feature = "neural")]
pub use report::{Details, ExperimentReport, Metrics};
pub use saved::{prediction_line, SavedClassifier};
