//! The error types of this crate.

use std::path::{Path, PathBuf};

/// Any error a model raised, boxed so that it keeps its type and its own causes.
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// Errors of evaluating models and writing reports.
#[derive(Debug, thiserror::Error)]
pub enum EvalError {
    /// Data could not be prepared.
    #[error(transparent)]
    Dataset(#[from] dataset::DatasetError),
    /// A model failed to fit or predict.
    #[error("{context}")]
    Model {
        /// Which fit: method, parameters and fold.
        context: String,
        /// The model's own error.
        #[source]
        source: BoxError,
    },
    /// A learner refused a parameter set (an unknown name, a value out of its range).
    #[error("{context}")]
    Params {
        /// Which search and parameter set.
        context: String,
        /// The learner's own error.
        #[source]
        source: BoxError,
    },
    /// Every candidate of a search failed.
    #[error("search `{label}`: every candidate failed: {}", .failures.join("; "))]
    EveryCandidateFailed {
        /// The search's label.
        label: String,
        /// One line per candidate: its parameters and why it failed.
        failures: Vec<String>,
    },
    /// Inputs that cannot be evaluated (mismatched lengths, empty folds, empty spaces).
    #[error("{0}")]
    Invalid(String),
    /// A report or plot could not be written.
    #[error("{path}: cannot write")]
    Write {
        /// The file.
        path: PathBuf,
        /// What the file system said.
        #[source]
        source: std::io::Error,
    },
    /// A value could not be encoded as JSON.
    #[error("{path}: cannot encode the report as JSON")]
    Encode {
        /// The file it was meant for.
        path: PathBuf,
        /// What serde_json said.
        #[source]
        source: serde_json::Error,
    },
    /// A plot could not be drawn.
    #[error("{path}: could not draw the plot")]
    Draw {
        /// The image file.
        path: PathBuf,
        /// What plotters said.
        #[source]
        source: BoxError,
    },
}

impl EvalError {
    /// Wraps a write failure with the file it concerns.
    pub fn write(path: &Path, source: std::io::Error) -> EvalError {
        EvalError::Write {
            path: path.to_path_buf(),
            source,
        }
    }

    /// Wraps a model's error with what was being fitted or predicted.
    pub fn model(context: impl Into<String>, source: impl Into<BoxError>) -> EvalError {
        EvalError::Model {
            context: context.into(),
            source: source.into(),
        }
    }
}

/// Why one fit-and-predict of a learner failed: a fold of a cross-validation or a search.
#[derive(Debug, thiserror::Error)]
pub enum FitError {
    /// The learner's `fit` failed; this is its error.
    #[error(transparent)]
    Fit(BoxError),
    /// A fitted classifier could not give probabilities.
    #[error(transparent)]
    Predict(#[from] ProbaError),
    /// The fitted model predicted NaN or infinity.
    #[error("the model predicted a non-finite {0}")]
    NonFinite(&'static str),
}

/// Why a fitted classifier could not give class probabilities.
#[derive(Debug, thiserror::Error)]
pub enum ProbaError {
    /// The input has a different number of columns than the classifier was fitted on.
    #[error("the model was fitted on {expected} columns but got {found}")]
    WidthMismatch {
        /// Columns at fit time.
        expected: usize,
        /// Columns given.
        found: usize,
    },
    /// The classifier's own error.
    #[error("the classifier could not predict")]
    Model(#[source] BoxError),
}

impl ProbaError {
    /// Wraps a classifier's own error.
    pub fn model(source: impl Into<BoxError>) -> ProbaError {
        ProbaError::Model(source.into())
    }
}

/// The message of `error` followed by those of its causes, joined by `: `, for a report that
/// keeps failures as text.
pub fn chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut cause = error.source();
    while let Some(next) = cause {
        text.push_str(": ");
        text.push_str(&next.to_string());
        cause = next.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_model_error_keeps_its_cause_and_the_chain_shows_it() {
        let io = std::io::Error::other("disk full");
        let error = EvalError::model("fold 2", EvalError::write(Path::new("a.json"), io));
        let source = std::error::Error::source(&error).expect("a cause");
        assert_eq!(source.to_string(), "a.json: cannot write");
        assert_eq!(chain(&error), "fold 2: a.json: cannot write: disk full");
    }
}
