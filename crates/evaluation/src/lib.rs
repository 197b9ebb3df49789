//! Metrics, cross-validation, search, reports and plots.

/// Errors of evaluating models and writing reports.
#[derive(Debug, thiserror::Error)]
pub enum EvalError {
    /// Data could not be prepared.
    #[error(transparent)]
    Dataset(#[from] dataset::DatasetError),
}
