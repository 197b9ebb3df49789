//! Neural networks on tch (libtorch).

/// Errors of building, training, saving and loading a network.
#[derive(Debug, thiserror::Error)]
pub enum NeuralError {
    /// libtorch reported an error.
    #[error(transparent)]
    Torch(#[from] tch::TchError),
    /// linfa refused the data.
    #[error(transparent)]
    Linfa(#[from] linfa::Error),
}
