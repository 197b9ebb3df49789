//! The classification trainer and the fitted classifier.

use std::path::Path;

use linfa::traits::{Fit, PredictInplace};
use linfa::{DatasetBase, ParamGuard};
use ndarray::{Array1, Array2, ArrayView2, Axis};
use serde::{Deserialize, Serialize};
use tch::{Device, Kind, Reduction, TchError, Tensor};

use evaluation::classification::argmax_rows;

use crate::config::{MlpConfig, OutputHead};
use crate::error::NeuralError;
use crate::fitted::{fitted_accessors, FittedNetwork, Task};
use crate::training::{
    check_training_input, fit_network, training_builders, DeviceChoice, FitSpec, Metric, Objective,
    TrainingParams,
};

/// Label written by [`PredictInplace`] for rows that cannot be classified (wrong input width).
pub const UNCLASSIFIED: usize = usize::MAX;

/// How much each class counts in the cross-entropy loss.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ClassWeights {
    /// Every row counts the same.
    Uniform,
    /// Class `c` weighs `n_rows / (n_classes · count_c)` on the training rows, as in
    /// scikit-learn's `balanced`.
    Balanced,
    /// One non-negative weight per class.
    Custom(Vec<f64>),
}

struct ClassificationObjective {
    weights: Option<Tensor>,
}

impl Objective for ClassificationObjective {
    const METRIC: Metric = Metric::Accuracy;

    fn loss(&self, output: &Tensor, target: &Tensor) -> Result<Tensor, TchError> {
        output.f_cross_entropy_loss(target, self.weights.as_ref(), Reduction::Mean, -100, 0.0)
    }

    fn metric(&self, output: &Tensor, target: &Tensor) -> Result<f64, TchError> {
        output
            .f_argmax(1, false)?
            .f_eq_tensor(target)?
            .f_mean(Kind::Double)?
            .f_double_value(&[])
    }
}

/// Checked hyper-parameters of an MLP classifier, which only [`MlpClassifierParams`]'s check
/// builds; [`Fit::fit`] trains with them.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MlpClassifierValidParams {
    config: MlpConfig,
    training: TrainingParams,
    class_weights: ClassWeights,
    n_classes: Option<usize>,
    feature_names: Option<Vec<String>>,
}

/// Hyper-parameters of an MLP classifier, checked when fitted (linfa's `ParamGuard`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MlpClassifierParams(MlpClassifierValidParams);

impl Default for MlpClassifierParams {
    fn default() -> Self {
        MlpClassifierParams::new(MlpConfig::default())
    }
}

impl MlpClassifierParams {
    /// A classifier of the given architecture (its output head must be [`OutputHead::None`]),
    /// uniform class weights and [`TrainingParams::default`].
    pub fn new(config: MlpConfig) -> Self {
        MlpClassifierParams(MlpClassifierValidParams {
            config,
            training: TrainingParams::default(),
            class_weights: ClassWeights::Uniform,
            n_classes: None,
            feature_names: None,
        })
    }

    /// Sets the class weights of the loss.
    pub fn class_weights(mut self, class_weights: ClassWeights) -> Self {
        self.0.class_weights = class_weights;
        self
    }

    /// Fixes the number of classes, at least 2 (default: the largest label seen + 1), for labels
    /// absent from a fold.
    pub fn n_classes(mut self, n_classes: usize) -> Self {
        self.0.n_classes = Some(n_classes);
        self
    }

    training_builders!();
}

impl ParamGuard for MlpClassifierParams {
    type Checked = MlpClassifierValidParams;
    type Error = NeuralError;

    fn check_ref(&self) -> Result<&MlpClassifierValidParams, NeuralError> {
        let params = &self.0;
        params.config.check()?;
        params.training.check()?;
        if params.config.output_head != OutputHead::None {
            return Err(NeuralError::parameter(
                "output_head",
                format!("{:?}", params.config.output_head),
                "OutputHead::None for a classifier (it outputs logits)",
            ));
        }
        if let Some(n) = params.n_classes.filter(|&n| n < 2) {
            return Err(NeuralError::parameter("n_classes", n, "at least 2"));
        }
        if let ClassWeights::Custom(weights) = &params.class_weights {
            let valid = weights.iter().all(|w| w.is_finite() && *w >= 0.0)
                && weights.iter().any(|w| *w > 0.0);
            if !valid {
                return Err(NeuralError::parameter(
                    "class_weights",
                    format!("{weights:?}"),
                    "finite weights >= 0, not all 0",
                ));
            }
        }
        Ok(params)
    }

    fn check(self) -> Result<MlpClassifierValidParams, NeuralError> {
        self.check_ref()?;
        Ok(self.0)
    }
}

impl MlpClassifierValidParams {
    /// The architecture.
    pub fn config(&self) -> &MlpConfig {
        &self.config
    }

    /// The optimisation settings.
    pub fn training(&self) -> &TrainingParams {
        &self.training
    }

    /// The class weights of the loss.
    pub fn class_weights(&self) -> &ClassWeights {
        &self.class_weights
    }

    /// The fixed number of classes, if any.
    pub fn n_classes(&self) -> Option<usize> {
        self.n_classes
    }

    /// The names of the input columns, if given.
    pub fn feature_names(&self) -> Option<&[String]> {
        self.feature_names.as_deref()
    }

    /// The weight of each class on the training rows.
    fn weights(&self, labels: &[usize], n_classes: usize) -> Result<Option<Vec<f64>>, NeuralError> {
        match &self.class_weights {
            ClassWeights::Uniform => Ok(None),
            ClassWeights::Balanced => {
                let mut counts = vec![0usize; n_classes];
                // `fit` has checked that every label is below `n_classes`.
                for &label in labels {
                    counts[label] += 1;
                }
                let n = labels.len() as f64;
                Ok(Some(
                    counts
                        .iter()
                        .map(|&count| {
                            // An absent class never appears as a target, so its weight is moot.
                            if count == 0 {
                                1.0
                            } else {
                                n / (n_classes as f64 * count as f64)
                            }
                        })
                        .collect(),
                ))
            }
            ClassWeights::Custom(weights) if weights.len() == n_classes => {
                Ok(Some(weights.clone()))
            }
            ClassWeights::Custom(weights) => Err(NeuralError::parameter(
                "class_weights",
                format!("{} weights", weights.len()),
                "one weight per class",
            )),
        }
    }
}

impl Fit<Array2<f64>, Array1<usize>, NeuralError> for MlpClassifierValidParams {
    type Object = MlpClassifier;

    fn fit(
        &self,
        data: &DatasetBase<Array2<f64>, Array1<usize>>,
    ) -> Result<MlpClassifier, NeuralError> {
        let x = data.records.view();
        let y = &data.targets;
        check_training_input(x, y.len())?;
        let largest = y.iter().copied().max().unwrap_or(0);
        let n_classes = match self.n_classes {
            Some(n) => n,
            None => (largest + 1).max(2),
        };
        if let Some(row) = y.iter().position(|&label| label >= n_classes) {
            return Err(NeuralError::InvalidData {
                context: "training targets",
                message: format!(
                    "row {row} has label {} but there are {n_classes} classes",
                    y[row]
                ),
            });
        }
        let spec = FitSpec {
            task: Task::Classification { n_classes },
            n_outputs: n_classes,
            config: &self.config,
            training: &self.training,
            feature_names: self.feature_names.as_deref(),
        };
        let device = self.training.device.device();
        let targets = |rows: &[usize]| {
            let labels: Vec<i64> = rows.iter().map(|&row| y[row] as i64).collect();
            Ok(Tensor::f_from_slice(&labels)?)
        };
        let objective = |rows: &[usize]| {
            let labels: Vec<usize> = rows.iter().map(|&row| y[row]).collect();
            let weights = match self.weights(&labels, n_classes)? {
                Some(weights) => Some(weights_tensor(&weights, device)?),
                None => None,
            };
            Ok(ClassificationObjective { weights })
        };
        let network = fit_network(x, spec, targets, objective)?;
        Ok(MlpClassifier { network })
    }
}

fn weights_tensor(weights: &[f64], device: Device) -> Result<Tensor, TchError> {
    let values: Vec<f32> = weights.iter().map(|&w| w as f32).collect();
    Tensor::f_from_slice(&values)?.f_to_device(device)
}

/// A fitted MLP classifier: predicts labels `0..n_classes` and their probabilities.
pub struct MlpClassifier {
    network: FittedNetwork,
}

impl std::fmt::Debug for MlpClassifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MlpClassifier")
            .field("config", &self.network.config)
            .field("n_inputs", &self.network.n_inputs)
            .field("n_classes", &self.n_classes())
            .field("best_epoch", &self.network.best_epoch)
            .finish_non_exhaustive()
    }
}

impl MlpClassifier {
    /// The number of classes.
    pub fn n_classes(&self) -> usize {
        self.network.task.n_outputs()
    }

    /// Class probabilities (softmax of the logits): one row per input row, one column per class.
    pub fn predict_proba(&self, x: ArrayView2<'_, f64>) -> Result<Array2<f64>, NeuralError> {
        let mut logits = self.network.outputs(x)?;
        for mut row in logits.axis_iter_mut(Axis(0)) {
            let max = row.fold(f64::NEG_INFINITY, |a, &b| a.max(b));
            row.mapv_inplace(|v| (v - max).exp());
            let sum = row.sum();
            row.mapv_inplace(|v| v / sum);
        }
        Ok(logits)
    }

    /// Predicts the most probable class of each row (the first on ties), or says why it
    /// cannot.
    pub fn try_predict(&self, x: ArrayView2<'_, f64>) -> Result<Array1<usize>, NeuralError> {
        let logits = self.network.outputs(x)?;
        Ok(Array1::from(argmax_rows(logits.view())))
    }

    /// Loads a classifier written by [`MlpClassifier::save`] (its JSON file or directory) onto
    /// the CPU.
    pub fn load(path: impl AsRef<Path>) -> Result<MlpClassifier, NeuralError> {
        MlpClassifier::load_on(path, DeviceChoice::Cpu)
    }

    /// Loads a classifier written by [`MlpClassifier::save`] onto the chosen device.
    pub fn load_on(
        path: impl AsRef<Path>,
        device: DeviceChoice,
    ) -> Result<MlpClassifier, NeuralError> {
        let expected = Task::Classification { n_classes: 2 }.name();
        let network = crate::persist::load(path.as_ref(), expected, device)?;
        Ok(MlpClassifier { network })
    }

    fitted_accessors!();
}

impl PredictInplace<Array2<f64>, Array1<usize>> for MlpClassifier {
    /// Writes predicted labels into `y`; every entry is [`UNCLASSIFIED`] if `x` has the wrong
    /// number of columns or `y` the wrong length (use [`MlpClassifier::try_predict`] to learn
    /// why).
    fn predict_inplace(&self, x: &Array2<f64>, y: &mut Array1<usize>) {
        match self.try_predict(x.view()) {
            Ok(labels) if labels.len() == y.len() => y.assign(&labels),
            _ => y.fill(UNCLASSIFIED),
        }
    }

    fn default_target(&self, x: &Array2<f64>) -> Array1<usize> {
        Array1::zeros(x.nrows())
    }
}
