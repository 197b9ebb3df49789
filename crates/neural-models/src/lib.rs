//! Multilayer perceptrons on tch (libtorch) behind linfa's `Fit`/`Predict`: a regressor for
//! targets in `[0, 1]` (valence, popularity) and a classifier (mood, genre), trained with
//! mini-batches, early stopping that restores the best weights, and an optional
//! reduce-on-plateau schedule; saved as JSON + safetensors.
//!
//! ```no_run
//! use linfa::traits::{Fit, Predict};
//! use linfa::DatasetBase;
//! use ndarray::{Array1, Array2};
//! use neural_models::{Activation, Loss, MlpConfig, MlpRegressor, MlpRegressorParams, OutputHead};
//!
//! # fn main() -> Result<(), neural_models::NeuralError> {
//! let x = Array2::<f64>::zeros((100, 3));
//! let y = Array1::<f64>::from_elem(100, 0.5);
//! let config = MlpConfig::new(vec![64, 32])
//!     .activation(Activation::Gelu)
//!     .dropout(0.1)
//!     .output_head(OutputHead::Sigmoid);
//! let model = MlpRegressorParams::new(config)
//!     .loss(Loss::Huber { delta: 0.1 })
//!     .learning_rate(1e-3)
//!     .max_epochs(50)
//!     .seed(42)
//!     .with_feature_names(vec!["energy".into(), "danceability".into(), "tempo".into()])
//!     .fit(&DatasetBase::new(x.clone(), y))?;
//! let predictions: Array1<f64> = model.predict(&x);
//! println!("best epoch {} of {}", model.best_epoch(), model.history().len());
//! let path = model.save("models/valence")?;
//! let again = MlpRegressor::load(&path)?;
//! assert_eq!(again.predict(&x), predictions);
//! # Ok(())
//! # }
//! ```
//!
//! `save` writes `model.json` (format tag, task, architecture, scaler, feature names, history,
//! best epoch, and the size and hash of the weights) and `model.safetensors` (the `VarStore`,
//! batch-norm statistics included); each file is written to a temporary name and renamed.
//! `load` checks the tag, the task and the hash before it touches libtorch, so a missing,
//! truncated or foreign file is an error naming that file.
//!
//! A run is reproducible on the CPU for a given seed: the seed fixes the validation split
//! ([`evaluation::classification::holdout`]), the initial weights, the batch order and the
//! dropout masks. libtorch's random generator is process-wide, so the crate reseeds it under a
//! lock whenever a fit draws from it; [`TrainingParams::threads`] is process-wide too.
//!
//! Parameters follow linfa's `ParamGuard`: [`MlpRegressorParams`] and [`MlpClassifierParams`]
//! are checked once, when fitted (or explicitly with `ParamGuard::check`), into
//! [`MlpRegressorValidParams`] and [`MlpClassifierValidParams`], which fit without checking
//! again.

#![warn(missing_docs)]

mod classifier;
mod config;
mod error;
mod fitted;
mod network;
mod persist;
mod regressor;
mod schedule;
mod space;
mod training;

pub use classifier::{
    ClassWeights, MlpClassifier, MlpClassifierParams, MlpClassifierValidParams, UNCLASSIFIED,
};
pub use config::{Activation, MlpConfig, Normalisation, OutputHead};
pub use error::NeuralError;
pub use fitted::Task;
pub use regressor::{Loss, MlpRegressor, MlpRegressorParams, MlpRegressorValidParams};
pub use schedule::ReduceOnPlateau;
pub use training::{DeviceChoice, EpochRecord, Optimiser, TrainingParams};
