//! What every fitted network carries, whatever its task: weights, scaler, names and history.

use ndarray::{Array2, ArrayView2};
use serde::{Deserialize, Serialize};
use tch::nn::VarStore;

use dataset::StandardScaler;

use crate::config::MlpConfig;
use crate::error::NeuralError;
use crate::network::{to_tensor, to_vec, Network};
use crate::training::{infer_chunked, EpochRecord};

/// What a saved network predicts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Task {
    /// One real-valued output.
    Regression,
    /// One logit per class.
    Classification {
        /// Number of classes, labelled `0..n_classes`.
        n_classes: usize,
    },
}

impl Task {
    /// A short name for messages: `regression` or `classification`.
    pub fn name(self) -> &'static str {
        match self {
            Task::Regression => "regression",
            Task::Classification { .. } => "classification",
        }
    }

    /// Width of the network's output layer.
    pub(crate) fn n_outputs(self) -> usize {
        match self {
            Task::Regression => 1,
            Task::Classification { n_classes } => n_classes,
        }
    }
}

/// A trained network with everything needed to predict from raw (unscaled) inputs.
pub(crate) struct FittedNetwork {
    pub(crate) vs: VarStore,
    pub(crate) config: MlpConfig,
    pub(crate) task: Task,
    pub(crate) n_inputs: usize,
    pub(crate) scaler: StandardScaler,
    pub(crate) feature_names: Option<Vec<String>>,
    pub(crate) history: Vec<EpochRecord>,
    pub(crate) best_epoch: usize,
}

impl FittedNetwork {
    /// The number of trainable weights: PyTorch's `sum(p.numel() for p in model.parameters())`
    /// for the same network (batch normalisation's running statistics are not counted).
    pub(crate) fn n_parameters(&self) -> usize {
        self.vs
            .trainable_variables()
            .iter()
            .map(|variable| variable.numel())
            .sum()
    }

    /// Prediction-time outputs for raw inputs: `n × n_outputs` (clamped for a clipped head).
    pub(crate) fn outputs(&self, x: ArrayView2<'_, f64>) -> Result<Array2<f64>, NeuralError> {
        if x.ncols() != self.n_inputs {
            return Err(NeuralError::WidthMismatch {
                expected: self.n_inputs,
                found: x.ncols(),
            });
        }
        let n_outputs = self.task.n_outputs();
        if x.nrows() == 0 {
            return Ok(Array2::zeros((0, n_outputs)));
        }
        let scaled = self.scaler.transform(x)?;
        let net = Network::attach(&self.vs, &self.config, self.n_inputs, n_outputs)?;
        let output = infer_chunked(&net, &to_tensor(scaled.view(), self.vs.device())?)?;
        Ok(
            Array2::from_shape_vec((x.nrows(), n_outputs), to_vec(&output)?)
                .expect("the network gives n_outputs values for each input row"),
        )
    }

    /// Attaches the names of the input columns, one per column.
    pub(crate) fn set_feature_names(&mut self, names: Vec<String>) -> Result<(), NeuralError> {
        if names.len() != self.n_inputs {
            return Err(NeuralError::parameter(
                "feature_names",
                format!("{} names", names.len()),
                "one name per input column",
            ));
        }
        self.feature_names = Some(names);
        Ok(())
    }
}

/// Accessors every fitted model offers, delegating to its `network: FittedNetwork` field.
macro_rules! fitted_accessors {
    () => {
        /// The per-epoch history of the fit (empty for no epoch, never for a fitted model).
        pub fn history(&self) -> &[$crate::EpochRecord] {
            &self.network.history
        }

        /// Index into [`Self::history`] of the epoch whose weights the model holds.
        pub fn best_epoch(&self) -> usize {
            self.network.best_epoch
        }

        /// The architecture.
        pub fn config(&self) -> &$crate::MlpConfig {
            &self.network.config
        }

        /// The number of input columns the model expects.
        pub fn n_inputs(&self) -> usize {
            self.network.n_inputs
        }

        /// The number of trainable weights (weight matrices, biases, and normalisation scales
        /// and shifts; not batch normalisation's running statistics), as PyTorch counts a
        /// model's `parameters()`.
        pub fn n_parameters(&self) -> usize {
            self.network.n_parameters()
        }

        /// The input scaler, fitted on the training rows only (not the validation rows).
        pub fn scaler(&self) -> &dataset::StandardScaler {
            &self.network.scaler
        }

        /// The names of the input columns, if given.
        pub fn feature_names(&self) -> Option<&[String]> {
            self.network.feature_names.as_deref()
        }

        /// Attaches the names of the input columns (one per column), saved with the model.
        pub fn with_feature_names(
            mut self,
            names: Vec<String>,
        ) -> Result<Self, $crate::NeuralError> {
            self.network.set_feature_names(names)?;
            Ok(self)
        }

        /// Writes the model atomically: to `path` if it ends in `.json` (weights beside it in
        /// `<stem>.safetensors`), else into directory `path` as `model.json` and
        /// `model.safetensors`. Returns the path of the JSON file.
        pub fn save(
            &self,
            path: impl AsRef<std::path::Path>,
        ) -> Result<std::path::PathBuf, $crate::NeuralError> {
            $crate::persist::save(&self.network, path.as_ref())
        }
    };
}
pub(crate) use fitted_accessors;
