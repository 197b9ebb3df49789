//! The errors of the classification experiments, each keeping its cause as its `source()`.

use classic_models::ModelError;
#[cfg(feature = "neural")]
use neural_models::NeuralError;

use crate::classify::identity::{Candidate, ExperimentId, UnknownName};
use crate::classify::saved::SavedError;

pub use evaluation::ProbaError;

/// Class probabilities of model rows, the refusal kept as an error with its cause.
pub fn probabilities<M>(
    model: &M,
    x: &ndarray::Array2<f64>,
) -> Result<ndarray::Array2<f64>, ProbaError>
where
    M: evaluation::classification::PredictProba + ?Sized,
{
    model.predict_proba(x)
}

/// What failed inside one learner: fitting a classic model or a network, or predicting.
#[derive(Debug, thiserror::Error)]
pub enum LearnerError {
    /// A classic model of `classic-models` failed.
    #[error(transparent)]
    Classic(#[from] ModelError),
    /// A network of `neural-models` failed.
    #[cfg(feature = "neural")]
    #[error(transparent)]
    Network(#[from] NeuralError),
    /// A fitted model refused to predict.
    #[error(transparent)]
    Proba(#[from] ProbaError),
}

/// A row of a data file that lacks a value its model needs.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("track {id} has no `{field}`")]
pub struct MissingValue {
    /// The track's id.
    pub id: String,
    /// The column it lacks.
    pub field: &'static str,
}

/// Errors of the classification experiments.
#[derive(Debug, thiserror::Error)]
pub enum ClassifyError {
    /// Loading data failed.
    #[error(transparent)]
    Dataset(#[from] dataset::DatasetError),
    /// Evaluating, plotting or writing failed.
    #[error(transparent)]
    Eval(#[from] evaluation::EvalError),
    /// Conformal prediction sets could not be calibrated.
    #[error("calibrating prediction sets")]
    Calibration(#[from] evaluation::conformal::ConformalError),
    /// A saved model could not be saved or loaded.
    #[error(transparent)]
    Saved(#[from] SavedError),
    /// A model bundle could not be written or read.
    #[error(transparent)]
    Bundle(#[from] Box<crate::bundle::BundleError>),
    /// The popularity model could not be trained, saved or loaded.
    #[cfg(feature = "neural")]
    #[error(transparent)]
    Predictor(#[from] crate::popularity::PredictorError),
    /// The popularity data could not be loaded.
    #[cfg(feature = "neural")]
    #[error(transparent)]
    PopularityData(#[from] crate::popularity::PopularityDataError),
    /// A feature source failed.
    #[error(transparent)]
    Client(#[from] spotify_client::ClientError),
    /// A track lacks a value its model needs.
    #[error(transparent)]
    MissingValue(#[from] MissingValue),
    /// A name from a flag or file names nothing known.
    #[error(transparent)]
    UnknownName(#[from] UnknownName),
    /// A candidate of an experiment failed to fit or predict.
    #[error("{experiment}: {candidate} ({part}) failed")]
    Learner {
        /// The experiment.
        experiment: ExperimentId,
        /// The candidate that failed.
        candidate: Candidate,
        /// Which fit: the seed, the rows or the replay.
        part: String,
        /// What failed.
        #[source]
        source: Box<LearnerError>,
    },
}

impl ClassifyError {
    /// Wraps what failed inside a candidate of an experiment, saying which part (the seed, the
    /// rows or the replay) failed.
    pub fn in_learner<E: Into<LearnerError>>(
        experiment: ExperimentId,
        candidate: Candidate,
        part: impl Into<String>,
    ) -> impl FnOnce(E) -> ClassifyError {
        let part = part.into();
        move |error| ClassifyError::Learner {
            experiment,
            candidate,
            part,
            source: Box::new(error.into()),
        }
    }
}
