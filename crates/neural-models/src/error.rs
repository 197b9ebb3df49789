//! The one error type of this crate.

use std::path::PathBuf;

/// Errors of building, training, saving and loading a network.
#[derive(Debug, thiserror::Error)]
pub enum NeuralError {
    /// A hyper-parameter is outside the range it must lie in.
    #[error("parameter `{name}` = {value} is invalid: expected {expected}")]
    InvalidParameter {
        /// The parameter, as named by its builder method.
        name: &'static str,
        /// The value it was given.
        value: String,
        /// What it should have been.
        expected: &'static str,
    },
    /// The training or prediction data cannot be used as given.
    #[error("{context}: {message}")]
    InvalidData {
        /// Which data: `training data`, `prediction input`, …
        context: &'static str,
        /// What is wrong with it, with the row or column where one applies.
        message: String,
    },
    /// The input has a different number of columns than the model was trained on.
    #[error("the model was trained on {expected} input columns but got {found}")]
    WidthMismatch {
        /// Columns seen in training.
        expected: usize,
        /// Columns given now.
        found: usize,
    },
    /// The training loss became NaN or infinite.
    #[error("training diverged at epoch {epoch} (train loss {loss}); lower the learning rate")]
    Diverged {
        /// 0-based epoch at which it happened.
        epoch: usize,
        /// The non-finite loss.
        loss: f64,
    },
    /// A file could not be read, written or renamed.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// A model file, or its weights, could not be encoded, decoded, read or written.
    #[error("{path}: {problem}")]
    ModelFile {
        /// The file.
        path: PathBuf,
        /// What could not be done.
        problem: &'static str,
        /// Why: serde_json's, libtorch's or the network's error.
        #[source]
        source: evaluation::BoxError,
    },
    /// A model file is not one this crate wrote, or is damaged.
    #[error("{path}: {message}")]
    BadModelFile {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        message: String,
    },
    /// A model file holds a different kind of model than the one asked for.
    #[error("{path}: holds a {found} model, not a {expected} one")]
    WrongTask {
        /// The model file.
        path: PathBuf,
        /// What the caller wanted to load.
        expected: &'static str,
        /// What the file holds.
        found: &'static str,
    },
    /// Scaling the inputs failed.
    #[error("scaling the inputs: {0}")]
    Scaler(#[from] dataset::DatasetError),
    /// libtorch reported an error.
    #[error("libtorch: {0}")]
    Torch(#[from] tch::TchError),
    /// linfa refused the data.
    #[error(transparent)]
    Linfa(#[from] linfa::Error),
    /// A parameter set from a search could not be read.
    #[error(transparent)]
    Param(#[from] evaluation::ParamError),
}

impl NeuralError {
    /// Shorthand for [`NeuralError::InvalidParameter`].
    pub(crate) fn parameter(
        name: &'static str,
        value: impl std::fmt::Display,
        expected: &'static str,
    ) -> NeuralError {
        NeuralError::InvalidParameter {
            name,
            value: value.to_string(),
            expected,
        }
    }
}

impl From<NeuralError> for evaluation::ProbaError {
    fn from(error: NeuralError) -> evaluation::ProbaError {
        match error {
            NeuralError::WidthMismatch { expected, found } => {
                evaluation::ProbaError::WidthMismatch { expected, found }
            }
            other => evaluation::ProbaError::model(other),
        }
    }
}
