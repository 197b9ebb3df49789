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
pub mod curves;
pub mod engine;
pub mod error;
pub mod experiment;
pub mod family;
pub mod genres;
pub mod hits;
pub mod identity;
pub mod lineup;
pub mod moods;
pub mod network;
pub mod output;
pub mod popularity;
pub mod problem;
pub mod report;
pub mod saved;

pub use error::{ClassifyError, LearnerError};
pub use experiment::{Experiment, ExperimentOutcome, Protocol};
pub use identity::{Candidate, ExperimentId, Learner, ModelFamily, UnknownName};
pub use lineup::{lineup, BlendPool, Fitted, Model, Scale};
pub use network::{FittedNetwork, Network};
pub use problem::Problem;
pub use report::{Details, ExperimentReport, Metrics};
pub use saved::{prediction_line, SavedClassifier};
