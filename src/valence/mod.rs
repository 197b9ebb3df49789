//! The valence task shared by Task 1 and Task 2.
//!
//! The map, stage by stage:
//! - [`identity`]: what things are called: the feature sets ([`FeatureSetId`]), the classic
//!   methods ([`Method`]), the models a pipeline scores ([`Model`]), and the error for a name
//!   that is none of them ([`UnknownName`]).
//! - [`inputs`]: *prepare*: the chart and evaluation tracks, the targets and the shared folds.
//! - [`method`]: *search*: one registry of the classic methods, their searches and scores.
//! - [`candidate`]: *choose*: candidates (one model, or a blend of weighted members), their
//!   cross-validated scores, and choosing the lowest.
//! - [`routes`]: *predict*: which evaluation tracks the chosen feature set covers, and the
//!   audio-only fallback for the others.
//! - [`twins`]: the near-twin correction: a track whose nearest chart track is almost surely the
//!   same recording takes that track's valence.
//! - [`oof`]: the out-of-fold table Task 1 writes and Task 2 reads.
//! - [`explain`]: which features move valence, from the boosting model.
//! - [`output`]: where a run writes, and the plots of out-of-fold predictions.
//!
//! The pipelines ([`crate::task1`], [`crate::task2`]) are short sequences of these stages; the
//! examples only parse flags and call them.

pub mod candidate;
pub mod deploy;
pub mod explain;
pub mod identity;
pub mod inputs;
pub mod intervals;
pub mod method;
pub mod oof;
pub mod output;
pub mod routes;
pub mod twins;

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

pub use candidate::{best_index, best_of, blend, BlendKind, Candidate, CandidateName, Scored};
pub use explain::{explain_boosting, influence_sentences, Explanation, Influence};
pub use identity::{FeatureSetId, Method, Model, Task1Model, UnknownName};
pub use inputs::{prepare, ValenceInputs};
pub use method::{lightgbm_like, lightgbm_like_at, search_method, MethodResult};
pub use oof::{OofColumn, OofTable};
pub use output::{plot_oof, OutDir};
pub use routes::{Route, Routes};
pub use twins::{NearTwins, TwinDistances, TwinsSummary, TWIN_RADII};

/// Errors of the valence pipeline.
#[derive(Debug, thiserror::Error)]
pub enum PipelineError {
    /// Loading or preparing data failed.
    #[error(transparent)]
    Dataset(#[from] dataset::DatasetError),
    /// Evaluating, reporting or plotting failed.
    #[error(transparent)]
    Eval(#[from] evaluation::EvalError),
    /// A classic model failed.
    #[error(transparent)]
    Model(#[from] classic_models::ModelError),
    /// A neural network failed.
    #[cfg(feature = "neural")]
    #[error(transparent)]
    Neural(#[from] neural_models::NeuralError),
    /// The feature source of the evaluation tracks failed.
    #[error(transparent)]
    Features(#[from] spotify_client::ClientError),
    /// A name read from a file or a flag is none the pipeline knows.
    #[error(transparent)]
    UnknownName(#[from] UnknownName),
    /// A file of an earlier run could not be read.
    #[error("{} cannot be read; run {producer} first", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// The example whose run writes it.
        producer: &'static str,
        /// Why it could not be read.
        #[source]
        source: std::io::Error,
    },
    /// A line of an out-of-fold table is malformed or does not fit this run.
    #[error("{}:{line}: {problem}", path.display())]
    OofTable {
        /// The table.
        path: PathBuf,
        /// The 1-based line.
        line: usize,
        /// What is wrong with it.
        problem: String,
    },
    /// A column of an out-of-fold table names no known model or feature set.
    #[error("{}:1: column `{column}` is not `<model>@<feature set>`", path.display())]
    OofColumn {
        /// The table.
        path: PathBuf,
        /// The column's name.
        column: String,
        /// The unknown name.
        #[source]
        source: UnknownName,
    },
    /// A candidate cannot be fitted or predicted by the pipeline asked to.
    #[error("{pipeline} cannot {action} the candidate `{candidate}`")]
    Unsupported {
        /// The pipeline.
        pipeline: &'static str,
        /// What it was asked to do.
        action: &'static str,
        /// The candidate's name.
        candidate: CandidateName,
    },
    /// Inputs from an earlier run, or the models' outputs, do not fit this run.
    #[error("{0}")]
    Inconsistent(String),
    /// The model bundle could not be written.
    #[error(transparent)]
    Bundle(#[from] Box<crate::bundle::BundleError>),
    /// A deployed blend failed.
    #[error(transparent)]
    Blend(#[from] crate::bundle::BlendError),
}

/// What every valence run needs: the data, where to write, how hard to search, and the folds.
#[derive(Clone, Debug)]
pub struct RunConfig {
    /// The data directory.
    pub data: dataset::DataDir,
    /// Where to write the outputs.
    pub out: PathBuf,
    /// Search budget.
    pub budget: Budget,
    /// Seed of folds, searches and models (runs that share out-of-fold predictions need the same).
    pub seed: u64,
    /// Number of folds.
    pub folds: usize,
    /// How tracks are dealt into folds.
    pub grouping: Grouping,
    /// Coverage of the valence intervals written with the predictions, strictly between 0 and
    /// 1 ([`intervals::COVERAGE`] by default).
    pub coverage: f64,
    /// Show progress bars.
    pub progress: bool,
    /// A feature cache (`spotify_client::Cache`, filled from the Web API or ReccoBeats by
    /// `build_dataset` or `fetch_features`) that gives the evaluation tracks' features; `None`
    /// reads them from the shared `eval_features.csv` and `eval_analysis.csv`.
    pub eval_cache: Option<PathBuf>,
}

/// Default seed of folds, searches and models.
pub const SEED: u64 = 42;
/// Number of cross-validation folds.
pub const FOLDS: usize = 5;

/// How tracks are dealt into folds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Grouping {
    /// Tracks with identical audio features (one recording under several ids) share a fold:
    /// the honest estimate for tracks never seen before (the default).
    Recordings,
    /// Plain shuffled k-fold, as the targets' LightGBM reference was measured; copies of a
    /// recording can sit on both sides of a fold.
    Plain,
}

impl Grouping {
    /// A few words on how the folds keep copies of a recording, for progress lines and reports.
    pub fn describe(self) -> &'static str {
        match self {
            Grouping::Recordings => "copies of a recording kept together",
            Grouping::Plain => "plain shuffled",
        }
    }
}

/// How much searching to do; files spell it `full` or `quick`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Budget {
    /// The full search (about 15 minutes for Task 1 on 2 cores).
    Full,
    /// A token search that exercises every step in well under a minute.
    Quick,
}

impl Budget {
    /// The budget's name in reports: `full` or `quick`.
    pub fn name(self) -> &'static str {
        match self {
            Budget::Full => "full",
            Budget::Quick => "quick",
        }
    }
}

/// Clips predictions to the valence range.
pub fn clip_unit(values: &ndarray::Array1<f64>) -> ndarray::Array1<f64> {
    values.mapv(|v| v.clamp(0.0, 1.0))
}
