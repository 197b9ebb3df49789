//! Non-neural learners behind linfa's `Fit`/`Predict`.

/// Errors of fitting, predicting, saving and loading a model.
#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    /// linfa refused the data or parameters.
    #[error(transparent)]
    Linfa(#[from] linfa::Error),
}
