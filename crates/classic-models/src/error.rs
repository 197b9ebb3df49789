//! The error type of this crate.

use std::path::PathBuf;

/// Errors of fitting, predicting, saving and loading a model.
#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    /// A hyperparameter is out of its domain.
    #[error("invalid parameters: {0}")]
    InvalidParams(String),
    /// The training data cannot be fitted (shapes, non-finite values, too few rows).
    #[error("invalid data: {0}")]
    InvalidData(String),
    /// Prediction input has a different number of columns than the training data.
    #[error("the model was fitted on {expected} columns but got {found}")]
    WidthMismatch {
        /// Columns at fit time.
        expected: usize,
        /// Columns given.
        found: usize,
    },
    /// A parameter set from a search could not be read.
    #[error(transparent)]
    Param(#[from] evaluation::ParamError),
    /// linfa refused the data or parameters.
    #[error(transparent)]
    Linfa(#[from] linfa::Error),
    /// A linfa-svm fit failed.
    #[error("support vector regression: {0}")]
    Svm(String),
    /// A smartcore fit or prediction failed.
    #[error("smartcore: {0}")]
    Smartcore(String),
    /// Scaling failed.
    #[error(transparent)]
    Dataset(#[from] dataset::DatasetError),
    /// A model file could not be read or written.
    #[error("{path}: {message}")]
    File {
        /// The model file.
        path: PathBuf,
        /// What went wrong, and what to do.
        message: String,
    },
}
