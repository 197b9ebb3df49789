//! The error type of this crate.

use std::path::PathBuf;

use evaluation::ProbaError;

/// Errors of fitting, predicting, saving and loading a model.
#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    /// A hyperparameter is out of its domain, checked by a learner's `ParamGuard::check_ref`.
    #[error("parameter `{name}` = {value} is invalid: expected {expected}")]
    InvalidParameter {
        /// The parameter, as its builder method and its search space name it.
        name: &'static str,
        /// The value it was given.
        value: String,
        /// The values it may take.
        expected: &'static str,
    },
    /// A hyperparameter is out of its domain, described in words.
    #[error("invalid parameters: {0}")]
    InvalidParams(String),
    /// A model's parts contradict each other (a tree pointing outside itself, a split on a
    /// feature the model does not have): found when a model file is loaded.
    #[error("inconsistent model: {0}")]
    InvalidModel(String),
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
    #[error("support vector regression failed")]
    Svm(#[source] linfa_svm::SvmError),
    /// The linfa-svm solver panicked (it can, on some data) instead of returning an error.
    #[error("support vector regression failed: the linfa-svm solver panicked")]
    SvmPanicked,
    /// A smartcore fit failed.
    #[error("smartcore failed")]
    Smartcore(#[source] smartcore::error::Failed),
    /// Scaling failed.
    #[error(transparent)]
    Dataset(#[from] dataset::DatasetError),
    /// A fitted classifier could not give probabilities.
    #[error("the classifier could not predict")]
    Predict(#[source] ProbaError),
    /// A model file could not be read.
    #[error("{path}: cannot read the {what} file")]
    Read {
        /// The model file.
        path: PathBuf,
        /// What the file holds: `model` or `classifier`.
        what: &'static str,
        /// What the file system said.
        #[source]
        source: std::io::Error,
    },
    /// A model could not be encoded as JSON.
    #[error("{path}: could not encode the {what}")]
    Encode {
        /// The model file.
        path: PathBuf,
        /// What the file holds.
        what: &'static str,
        /// What serde_json said.
        #[source]
        source: serde_json::Error,
    },
    /// A model file could not be written.
    #[error("{path}: cannot write the {what} file")]
    Write {
        /// The model file.
        path: PathBuf,
        /// What the file holds.
        what: &'static str,
        /// The cause (boxed: a report error is large, and this one is rare).
        #[source]
        source: Box<evaluation::EvalError>,
    },
    /// A file that is not JSON, or JSON cut short.
    #[error(
        "{path}: not a {what} file (invalid or truncated JSON); re-create it with the example \
         that trained it"
    )]
    NotJson {
        /// The file.
        path: PathBuf,
        /// What the file should hold.
        what: &'static str,
        /// What serde_json said.
        #[source]
        source: serde_json::Error,
    },
    /// A JSON file of another format.
    #[error("{path}: not a {expected} file (format tag {found:?})")]
    ForeignFile {
        /// The file.
        path: PathBuf,
        /// The format tag this crate reads.
        expected: &'static str,
        /// The file's format tag, if it has one.
        found: Option<String>,
    },
    /// A file of a layout version this build does not read.
    #[error("{path}: {what} file version {found:?} is not supported (this build reads version {supported})")]
    UnsupportedVersion {
        /// The file.
        path: PathBuf,
        /// What the file holds.
        what: &'static str,
        /// The file's version, if it has one.
        found: Option<u32>,
        /// The version this build reads.
        supported: u32,
    },
    /// A file with the right tag whose content does not decode.
    #[error("{path}: corrupt {what} file")]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// What the file holds.
        what: &'static str,
        /// What serde_json said.
        #[source]
        source: serde_json::Error,
    },
    /// A file whose parts contradict each other.
    #[error("{path}: corrupt {what} file: {problem}")]
    Inconsistent {
        /// The file.
        path: PathBuf,
        /// What the file holds.
        what: &'static str,
        /// Which parts disagree.
        problem: String,
    },
}

impl ModelError {
    /// Shorthand for [`ModelError::InvalidParameter`].
    pub(crate) fn parameter(
        name: &'static str,
        value: impl std::fmt::Display,
        expected: &'static str,
    ) -> ModelError {
        ModelError::InvalidParameter {
            name,
            value: value.to_string(),
            expected,
        }
    }

    /// `Ok` when rows have the `expected` number of columns, else
    /// [`ModelError::WidthMismatch`].
    pub(crate) fn check_width(expected: usize, found: usize) -> Result<(), ModelError> {
        if found == expected {
            Ok(())
        } else {
            Err(ModelError::WidthMismatch { expected, found })
        }
    }
}

impl From<ProbaError> for ModelError {
    fn from(error: ProbaError) -> ModelError {
        match error {
            ProbaError::WidthMismatch { expected, found } => {
                ModelError::WidthMismatch { expected, found }
            }
            other => ModelError::Predict(other),
        }
    }
}

impl From<ModelError> for ProbaError {
    fn from(error: ModelError) -> ProbaError {
        match error {
            ModelError::WidthMismatch { expected, found } => {
                ProbaError::WidthMismatch { expected, found }
            }
            ModelError::Predict(inner) => inner,
            other => ProbaError::model(other),
        }
    }
}
