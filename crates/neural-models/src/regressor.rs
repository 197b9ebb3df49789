//! The regression trainer and the fitted regressor.

use std::path::Path;

use linfa::traits::{Fit, PredictInplace};
use linfa::{DatasetBase, ParamGuard};
use ndarray::{Array1, Array2, ArrayView2};
use serde::{Deserialize, Serialize};
use tch::{Reduction, TchError, Tensor};

use crate::config::MlpConfig;
use crate::error::NeuralError;
use crate::fitted::{fitted_accessors, FittedNetwork, Task};
use crate::training::{
    check_training_input, fit_network, training_builders, DeviceChoice, FitSpec, Metric, Objective,
    TrainingParams,
};

/// The loss a regressor minimises.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Loss {
    /// Mean absolute error.
    L1,
    /// Quadratic within `delta` of the target, linear beyond.
    Huber {
        /// Where the loss turns from quadratic to linear, > 0.
        delta: f64,
    },
    /// Mean squared error.
    Mse,
}

struct RegressionObjective {
    loss: Loss,
}

impl Objective for RegressionObjective {
    const METRIC: Metric = Metric::MeanAbsoluteError;

    fn loss(&self, output: &Tensor, target: &Tensor) -> Result<Tensor, TchError> {
        match self.loss {
            Loss::L1 => output.f_l1_loss(target, Reduction::Mean),
            Loss::Huber { delta } => output.f_huber_loss(target, Reduction::Mean, delta),
            Loss::Mse => output.f_mse_loss(target, Reduction::Mean),
        }
    }

    fn metric(&self, output: &Tensor, target: &Tensor) -> Result<f64, TchError> {
        output
            .f_sub(target)?
            .f_abs()?
            .f_mean(tch::Kind::Double)?
            .f_double_value(&[])
    }
}

/// Checked hyper-parameters of an MLP regressor, which only [`MlpRegressorParams`]'s check
/// builds; [`Fit::fit`] trains with them.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MlpRegressorValidParams {
    config: MlpConfig,
    training: TrainingParams,
    loss: Loss,
    feature_names: Option<Vec<String>>,
}

impl MlpRegressorValidParams {
    /// The architecture.
    pub fn config(&self) -> &MlpConfig {
        &self.config
    }

    /// The optimisation settings.
    pub fn training(&self) -> &TrainingParams {
        &self.training
    }

    /// The loss.
    pub fn loss(&self) -> Loss {
        self.loss
    }

    /// The names of the input columns, if given.
    pub fn feature_names(&self) -> Option<&[String]> {
        self.feature_names.as_deref()
    }
}

/// Hyper-parameters of an MLP regressor, checked when fitted (linfa's `ParamGuard`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MlpRegressorParams(MlpRegressorValidParams);

impl Default for MlpRegressorParams {
    fn default() -> Self {
        MlpRegressorParams::new(MlpConfig::default())
    }
}

impl MlpRegressorParams {
    /// A regressor of the given architecture, with MSE loss and [`TrainingParams::default`].
    pub fn new(config: MlpConfig) -> Self {
        MlpRegressorParams(MlpRegressorValidParams {
            config,
            training: TrainingParams::default(),
            loss: Loss::Mse,
            feature_names: None,
        })
    }

    /// Sets the loss.
    pub fn loss(mut self, loss: Loss) -> Self {
        self.0.loss = loss;
        self
    }

    training_builders!();
}

impl ParamGuard for MlpRegressorParams {
    type Checked = MlpRegressorValidParams;
    type Error = NeuralError;

    fn check_ref(&self) -> Result<&MlpRegressorValidParams, NeuralError> {
        let params = &self.0;
        params.config.check()?;
        params.training.check()?;
        if let Loss::Huber { delta } = params.loss {
            if !(delta.is_finite() && delta > 0.0) {
                return Err(NeuralError::parameter("loss.delta", delta, "a number > 0"));
            }
        }
        Ok(params)
    }

    fn check(self) -> Result<MlpRegressorValidParams, NeuralError> {
        self.check_ref()?;
        Ok(self.0)
    }
}

impl Fit<Array2<f64>, Array1<f64>, NeuralError> for MlpRegressorValidParams {
    type Object = MlpRegressor;

    fn fit(
        &self,
        data: &DatasetBase<Array2<f64>, Array1<f64>>,
    ) -> Result<MlpRegressor, NeuralError> {
        let x = data.records.view();
        let y = &data.targets;
        check_training_input(x, y.len())?;
        if let Some(row) = y.iter().position(|v| !v.is_finite()) {
            return Err(NeuralError::InvalidData {
                context: "training targets",
                message: format!("row {row} is {}", y[row]),
            });
        }
        let spec = FitSpec {
            task: Task::Regression,
            n_outputs: 1,
            config: &self.config,
            training: &self.training,
            feature_names: self.feature_names.as_deref(),
        };
        let targets = |rows: &[usize]| {
            let values: Vec<f32> = rows.iter().map(|&row| y[row] as f32).collect();
            Ok(Tensor::f_from_slice(&values)?.f_reshape([rows.len() as i64, 1])?)
        };
        let network = fit_network(x, spec, targets, |_| {
            Ok(RegressionObjective { loss: self.loss })
        })?;
        Ok(MlpRegressor { network })
    }
}

/// A fitted MLP regressor: predicts from raw inputs, scaling them itself.
pub struct MlpRegressor {
    network: FittedNetwork,
}

impl std::fmt::Debug for MlpRegressor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MlpRegressor")
            .field("config", &self.network.config)
            .field("n_inputs", &self.network.n_inputs)
            .field("best_epoch", &self.network.best_epoch)
            .finish_non_exhaustive()
    }
}

impl MlpRegressor {
    /// Predicts one value per row, or says why it cannot.
    pub fn try_predict(&self, x: ArrayView2<'_, f64>) -> Result<Array1<f64>, NeuralError> {
        Ok(self.network.outputs(x)?.column(0).to_owned())
    }

    /// Loads a regressor written by [`MlpRegressor::save`] (its JSON file or directory) onto the
    /// CPU.
    pub fn load(path: impl AsRef<Path>) -> Result<MlpRegressor, NeuralError> {
        MlpRegressor::load_on(path, DeviceChoice::Cpu)
    }

    /// Loads a regressor written by [`MlpRegressor::save`] onto the chosen device.
    pub fn load_on(
        path: impl AsRef<Path>,
        device: DeviceChoice,
    ) -> Result<MlpRegressor, NeuralError> {
        let network = crate::persist::load(path.as_ref(), Task::Regression.name(), device)?;
        Ok(MlpRegressor { network })
    }

    fitted_accessors!();
}

impl PredictInplace<Array2<f64>, Array1<f64>> for MlpRegressor {
    /// Writes predictions into `y`; every entry is NaN if `x` has the wrong number of columns or
    /// `y` the wrong length (use [`MlpRegressor::try_predict`] to learn why).
    fn predict_inplace(&self, x: &Array2<f64>, y: &mut Array1<f64>) {
        match self.try_predict(x.view()) {
            Ok(predictions) if predictions.len() == y.len() => y.assign(&predictions),
            _ => y.fill(f64::NAN),
        }
    }

    fn default_target(&self, x: &Array2<f64>) -> Array1<f64> {
        Array1::zeros(x.nrows())
    }
}
