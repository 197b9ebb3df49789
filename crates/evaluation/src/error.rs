//! The error type of this crate.

use std::path::PathBuf;

/// Errors of evaluating models and writing reports.
#[derive(Debug, thiserror::Error)]
pub enum EvalError {
    /// Data could not be prepared.
    #[error(transparent)]
    Dataset(#[from] dataset::DatasetError),
    /// A model failed to fit or predict.
    #[error("{context}: {message}")]
    Model {
        /// Which fit: method, parameters and fold.
        context: String,
        /// The model's own error.
        message: String,
    },
    /// Inputs that cannot be evaluated (mismatched lengths, empty folds, empty spaces).
    #[error("{0}")]
    Invalid(String),
    /// A report or plot could not be written.
    #[error("{path}: {message}")]
    Write {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        message: String,
    },
}

impl EvalError {
    /// Wraps a write failure with the file it concerns.
    pub fn write(path: &std::path::Path, error: impl std::fmt::Display) -> EvalError {
        EvalError::Write {
            path: path.to_path_buf(),
            message: error.to_string(),
        }
    }
}
