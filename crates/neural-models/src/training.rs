//! Hyper-parameters shared by every trainer, and the one training loop, generic over the loss.

use ndarray::{ArrayView2, Axis};
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};
use tch::nn::{OptimizerConfig, VarStore};
use tch::{Device, TchError, Tensor};

use dataset::StandardScaler;
use evaluation::classification::holdout;

use crate::config::{MlpConfig, Normalisation};
use crate::error::NeuralError;
use crate::fitted::{FittedNetwork, Task};
use crate::network::{seeded_torch_rng, to_tensor, Initialise, Network, Snapshot};
use crate::schedule::{EarlyStopping, PlateauState, ReduceOnPlateau};

/// Rows per forward pass when evaluating without gradients.
pub(crate) const INFERENCE_CHUNK: i64 = 8192;

/// The gradient-descent algorithm.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Optimiser {
    /// Adam without weight decay.
    Adam,
    /// Adam with decoupled weight decay.
    AdamW {
        /// Decoupled weight-decay coefficient (PyTorch's default is 0.01).
        weight_decay: f64,
    },
}

/// Where tensors live during training and prediction.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeviceChoice {
    /// The CPU, where runs are reproducible.
    #[default]
    Cpu,
    /// The first CUDA device if libtorch sees one, else the CPU.
    CudaIfAvailable,
}

impl DeviceChoice {
    /// The tch device this choice resolves to on this machine.
    pub fn device(self) -> Device {
        match self {
            DeviceChoice::Cpu => Device::Cpu,
            DeviceChoice::CudaIfAvailable => Device::cuda_if_available(),
        }
    }
}

/// Optimisation settings shared by the regression and classification trainers.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TrainingParams {
    /// The optimiser.
    pub optimiser: Optimiser,
    /// Initial learning rate.
    pub learning_rate: f64,
    /// Rows per mini-batch.
    pub batch_size: usize,
    /// Upper bound on the number of passes over the training rows.
    pub max_epochs: usize,
    /// Share of rows held out (seeded) for early stopping; 0 trains on every row for
    /// `max_epochs` epochs.
    pub validation_fraction: f64,
    /// Epochs without a new best validation loss before training stops.
    pub patience: usize,
    /// Optional learning-rate reduction when the monitored loss stops improving.
    pub reduce_on_plateau: Option<ReduceOnPlateau>,
    /// Seed of the split, the initial weights, the batch order and the dropout masks.
    pub seed: u64,
    /// libtorch intra-op threads (process-wide); `None` leaves the current setting.
    pub threads: Option<usize>,
    /// Where to train.
    pub device: DeviceChoice,
}

impl Default for TrainingParams {
    fn default() -> Self {
        TrainingParams {
            optimiser: Optimiser::AdamW { weight_decay: 0.01 },
            learning_rate: 1e-3,
            batch_size: 256,
            max_epochs: 200,
            validation_fraction: 0.1,
            patience: 20,
            reduce_on_plateau: None,
            seed: 0,
            threads: None,
            device: DeviceChoice::Cpu,
        }
    }
}

impl TrainingParams {
    /// Checks every setting; part of the trainers' `ParamGuard::check_ref`.
    pub(crate) fn check(&self) -> Result<(), NeuralError> {
        if !(self.learning_rate.is_finite() && self.learning_rate > 0.0) {
            return Err(NeuralError::parameter(
                "learning_rate",
                self.learning_rate,
                "a finite number > 0",
            ));
        }
        if let Optimiser::AdamW { weight_decay } = self.optimiser {
            if !(weight_decay.is_finite() && weight_decay >= 0.0) {
                return Err(NeuralError::parameter(
                    "weight_decay",
                    weight_decay,
                    "a finite number >= 0",
                ));
            }
        }
        if self.batch_size == 0 {
            return Err(NeuralError::parameter("batch_size", 0, "at least 1"));
        }
        if self.max_epochs == 0 {
            return Err(NeuralError::parameter("max_epochs", 0, "at least 1"));
        }
        if !(0.0..1.0).contains(&self.validation_fraction) {
            return Err(NeuralError::parameter(
                "validation_fraction",
                self.validation_fraction,
                "a fraction in [0, 1)",
            ));
        }
        if let Some(plateau) = &self.reduce_on_plateau {
            if !(plateau.factor > 0.0 && plateau.factor < 1.0) {
                return Err(NeuralError::parameter(
                    "reduce_on_plateau.factor",
                    plateau.factor,
                    "a factor in (0, 1)",
                ));
            }
            if !(plateau.min_learning_rate.is_finite() && plateau.min_learning_rate >= 0.0) {
                return Err(NeuralError::parameter(
                    "reduce_on_plateau.min_learning_rate",
                    plateau.min_learning_rate,
                    "a finite number >= 0",
                ));
            }
        }
        if self.threads == Some(0) || self.threads.is_some_and(|n| n > i32::MAX as usize) {
            return Err(NeuralError::parameter(
                "threads",
                format!("{:?}", self.threads),
                "None or a positive thread count",
            ));
        }
        Ok(())
    }
}

/// The builder methods both trainers share, for a `Params(ValidParams)` newtype whose checked
/// part has `config`, `training` and `feature_names` fields; one definition so both trainers
/// stay in step.
macro_rules! training_builders {
    () => {
        /// Sets the architecture.
        pub fn config(mut self, config: $crate::MlpConfig) -> Self {
            self.0.config = config;
            self
        }

        /// The architecture.
        pub fn architecture(&self) -> &$crate::MlpConfig {
            &self.0.config
        }

        /// Names the input columns; the fitted model carries and saves them.
        pub fn with_feature_names(mut self, names: Vec<String>) -> Self {
            self.0.feature_names = Some(names);
            self
        }

        /// Replaces all optimisation settings at once.
        pub fn training(mut self, training: $crate::TrainingParams) -> Self {
            self.0.training = training;
            self
        }

        /// The optimisation settings.
        pub fn training_params(&self) -> &$crate::TrainingParams {
            &self.0.training
        }

        /// Sets the optimiser (Adam, or AdamW with its weight decay).
        pub fn optimiser(mut self, optimiser: $crate::Optimiser) -> Self {
            self.0.training.optimiser = optimiser;
            self
        }

        /// Sets the initial learning rate.
        pub fn learning_rate(mut self, learning_rate: f64) -> Self {
            self.0.training.learning_rate = learning_rate;
            self
        }

        /// Sets the number of rows per mini-batch.
        pub fn batch_size(mut self, batch_size: usize) -> Self {
            self.0.training.batch_size = batch_size;
            self
        }

        /// Sets the maximum number of epochs.
        pub fn max_epochs(mut self, max_epochs: usize) -> Self {
            self.0.training.max_epochs = max_epochs;
            self
        }

        /// Sets the share of rows held out for early stopping (0 disables it).
        pub fn validation_fraction(mut self, validation_fraction: f64) -> Self {
            self.0.training.validation_fraction = validation_fraction;
            self
        }

        /// Sets how many epochs without a better validation loss end training.
        pub fn patience(mut self, patience: usize) -> Self {
            self.0.training.patience = patience;
            self
        }

        /// Reduces the learning rate by `factor` after `patience` epochs without improvement,
        /// never below `min_learning_rate`.
        pub fn reduce_on_plateau(
            mut self,
            factor: f64,
            patience: usize,
            min_learning_rate: f64,
        ) -> Self {
            self.0.training.reduce_on_plateau = Some($crate::ReduceOnPlateau {
                factor,
                patience,
                min_learning_rate,
            });
            self
        }

        /// Sets the seed that makes a CPU run reproducible.
        pub fn seed(mut self, seed: u64) -> Self {
            self.0.training.seed = seed;
            self
        }

        /// Sets libtorch's (process-wide) number of intra-op threads for the fit.
        ///
        /// With more than one thread, fit (and predict) from one and the same thread of the
        /// process: libtorch's OpenMP runtime keeps a team per calling thread, and once its
        /// teams hold more threads than there are cores, they sleep between parallel regions
        /// instead of spinning. Measured here: 2 threads, a network on the chart tracks,
        /// 2.2 to 2.4 s a fold from the main thread, 3.0 to 5.7 s from the two threads of a
        /// rayon pool. Networks fitted in parallel (one per fold) should use 1 thread each.
        pub fn threads(mut self, threads: usize) -> Self {
            self.0.training.threads = Some(threads);
            self
        }

        /// Chooses the device to train on.
        pub fn device(mut self, device: $crate::DeviceChoice) -> Self {
            self.0.training.device = device;
            self
        }
    };
}
pub(crate) use training_builders;

/// What one epoch of training achieved.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EpochRecord {
    /// 0-based epoch number, also the record's index in the history.
    pub epoch: usize,
    /// Mean training loss over the epoch's mini-batches (dropout on).
    pub train_loss: f64,
    /// Loss on the held-out rows after the epoch, if any are held out.
    pub validation_loss: Option<f64>,
    /// Mean absolute error on the held-out rows (regression only).
    pub validation_mae: Option<f64>,
    /// Share of held-out rows classified correctly (classification only).
    pub validation_accuracy: Option<f64>,
    /// Learning rate used during the epoch.
    pub learning_rate: f64,
}

/// Which validation metric an objective reports.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Metric {
    MeanAbsoluteError,
    Accuracy,
}

/// The loss a trainer minimises and the metric it reports.
pub(crate) trait Objective {
    /// The metric stored in the history.
    const METRIC: Metric;

    /// Mean loss of a batch of network outputs against their targets.
    fn loss(&self, output: &Tensor, target: &Tensor) -> Result<Tensor, TchError>;

    /// The metric of prediction-time outputs against their targets.
    fn metric(&self, output: &Tensor, target: &Tensor) -> Result<f64, TchError>;
}

/// Inputs and targets, already scaled and on the training device.
struct Tensors {
    x_train: Tensor,
    y_train: Tensor,
    validation: Option<(Tensor, Tensor)>,
}

/// The history and the epoch whose weights the network ended with.
struct Outcome {
    history: Vec<EpochRecord>,
    best_epoch: usize,
}

/// Checks that a training matrix is non-empty and finite.
pub(crate) fn check_training_input(
    x: ArrayView2<'_, f64>,
    n_targets: usize,
) -> Result<(), NeuralError> {
    let invalid = |message: String| NeuralError::InvalidData {
        context: "training data",
        message,
    };
    if x.nrows() == 0 || x.ncols() == 0 {
        return Err(invalid(format!(
            "needs at least one row and one column, got {}×{}",
            x.nrows(),
            x.ncols()
        )));
    }
    if x.nrows() != n_targets {
        return Err(invalid(format!(
            "{} rows of features but {n_targets} targets",
            x.nrows()
        )));
    }
    for (row_index, row) in x.axis_iter(Axis(0)).enumerate() {
        if let Some(column) = row.iter().position(|v| !v.is_finite()) {
            return Err(invalid(format!(
                "row {row_index}, column {column} is {} (impute or drop it first)",
                row[column]
            )));
        }
    }
    Ok(())
}

/// Evaluates `net` on `x` in chunks, at prediction time (no dropout, running statistics).
pub(crate) fn infer_chunked(net: &Network, x: &Tensor) -> Result<Tensor, TchError> {
    let n = x.size().first().copied().unwrap_or(0);
    let mut parts = Vec::new();
    let mut start = 0;
    while start < n {
        let length = INFERENCE_CHUNK.min(n - start);
        parts.push(net.infer(&x.f_narrow(0, start, length)?)?);
        start += length;
    }
    Tensor::f_cat(&parts, 0)
}

/// What a trainer supplies to [`fit_network`].
pub(crate) struct FitSpec<'a> {
    /// Regression or classification, saved with the model.
    pub task: Task,
    /// Network outputs: 1 for regression, the number of classes for classification.
    pub n_outputs: usize,
    /// Architecture.
    pub config: &'a MlpConfig,
    /// Optimisation settings.
    pub training: &'a TrainingParams,
    /// Names of the input columns, if known.
    pub feature_names: Option<&'a [String]>,
}

/// Fits a network: splits off validation rows, fits the scaler on the rest, trains with
/// `objective` and returns the fitted network with its history. `targets` turns row indices
/// into a target tensor on the CPU; `objective` is built from the training rows (for class
/// weights).
pub(crate) fn fit_network<O: Objective>(
    x: ArrayView2<'_, f64>,
    spec: FitSpec<'_>,
    targets: impl Fn(&[usize]) -> Result<Tensor, NeuralError>,
    objective: impl FnOnce(&[usize]) -> Result<O, NeuralError>,
) -> Result<FittedNetwork, NeuralError> {
    let training = spec.training;
    if let Some(names) = spec.feature_names {
        if names.len() != x.ncols() {
            return Err(NeuralError::parameter(
                "feature_names",
                format!("{} names", names.len()),
                "one name per input column",
            ));
        }
    }
    if let Some(threads) = training.threads {
        tch::set_num_threads(threads as i32);
    }
    let device = training.device.device();
    let split = holdout(x.nrows(), training.validation_fraction, training.seed);

    let x_train_raw = x.select(Axis(0), &split.train);
    let scaler = StandardScaler::fit(x_train_raw.view())?;
    let x_train = to_tensor(scaler.transform(x_train_raw.view())?.view(), device)?;
    let y_train = targets(&split.train)?.f_to_device(device)?;
    let validation = if split.validation.is_empty() {
        None
    } else {
        let x_valid = scaler.transform(x.select(Axis(0), &split.validation).view())?;
        Some((
            to_tensor(x_valid.view(), device)?,
            targets(&split.validation)?.f_to_device(device)?,
        ))
    };
    let objective = objective(&split.train)?;

    let mut rng = ChaCha8Rng::seed_from_u64(training.seed);
    // Stream 1: stream 0 drew the validation split.
    rng.set_stream(1);
    let vs = VarStore::new(device);
    let net = {
        let _torch_rng = seeded_torch_rng(rng.gen());
        Network::build(
            &vs,
            spec.config,
            x.ncols(),
            spec.n_outputs,
            Initialise::Random,
        )?
    };
    let tensors = Tensors {
        x_train,
        y_train,
        validation,
    };
    let skip_single_row_batch = spec.config.normalisation == Normalisation::Batch;
    let outcome = train_loop(
        &net,
        &vs,
        &tensors,
        &objective,
        training,
        skip_single_row_batch,
        &mut rng,
    )?;
    Ok(FittedNetwork {
        vs,
        config: spec.config.clone(),
        task: spec.task,
        n_inputs: x.ncols(),
        scaler,
        feature_names: spec.feature_names.map(<[String]>::to_vec),
        history: outcome.history,
        best_epoch: outcome.best_epoch,
    })
}

/// The mini-batch loop shared by all trainers.
fn train_loop<O: Objective>(
    net: &Network,
    vs: &VarStore,
    data: &Tensors,
    objective: &O,
    training: &TrainingParams,
    skip_single_row_batch: bool,
    rng: &mut ChaCha8Rng,
) -> Result<Outcome, NeuralError> {
    let mut optimiser = match training.optimiser {
        Optimiser::Adam => tch::nn::adam(0.9, 0.999, 0.0).build(vs, training.learning_rate)?,
        Optimiser::AdamW { weight_decay } => {
            tch::nn::adamw(0.9, 0.999, weight_decay).build(vs, training.learning_rate)?
        }
    };
    let n_train = data.x_train.size().first().copied().unwrap_or(0);
    let batch_size = training.batch_size as i64;
    let mut order: Vec<i64> = (0..n_train).collect();
    let mut learning_rate = training.learning_rate;
    let mut plateau = training.reduce_on_plateau.map(PlateauState::new);
    let mut stopping = EarlyStopping::new(training.patience);
    let mut best_weights: Option<Snapshot> = None;
    let mut history = Vec::new();

    for epoch in 0..training.max_epochs {
        order.shuffle(rng);
        let permutation = Tensor::f_from_slice(&order)?.f_to_device(vs.device())?;
        let x_epoch = data.x_train.f_index_select(0, &permutation)?;
        let y_epoch = data.y_train.f_index_select(0, &permutation)?;
        let mut loss_sum = 0.0;
        let mut rows_seen = 0i64;
        let mut start = 0;
        while start < n_train {
            let length = batch_size.min(n_train - start);
            if length == 1 && skip_single_row_batch && rows_seen > 0 {
                // Batch normalisation has no statistics for a single row.
                break;
            }
            let xb = x_epoch.f_narrow(0, start, length)?;
            let yb = y_epoch.f_narrow(0, start, length)?;
            let output = if net.draws_random() {
                let _torch_rng = seeded_torch_rng(rng.gen());
                net.forward(&xb, true)?
            } else {
                net.forward(&xb, true)?
            };
            let loss = objective.loss(&output, &yb)?;
            optimiser.zero_grad();
            loss.f_backward()?;
            optimiser.step();
            loss_sum += loss.f_double_value(&[])? * length as f64;
            rows_seen += length;
            start += length;
        }
        let train_loss = loss_sum / rows_seen.max(1) as f64;
        if !train_loss.is_finite() {
            return Err(NeuralError::Diverged {
                epoch,
                loss: train_loss,
            });
        }

        let (validation_loss, metric) = match &data.validation {
            Some((x_valid, y_valid)) => {
                let output = infer_chunked(net, x_valid)?;
                let loss = tch::no_grad(|| objective.loss(&output, y_valid))?;
                (
                    Some(loss.f_double_value(&[])?),
                    Some(objective.metric(&output, y_valid)?),
                )
            }
            None => (None, None),
        };
        history.push(EpochRecord {
            epoch,
            train_loss,
            validation_loss,
            validation_mae: metric.filter(|_| O::METRIC == Metric::MeanAbsoluteError),
            validation_accuracy: metric.filter(|_| O::METRIC == Metric::Accuracy),
            learning_rate,
        });

        let monitored = validation_loss.unwrap_or(train_loss);
        if let Some(plateau) = plateau.as_mut() {
            let next = plateau.next_rate(monitored, learning_rate);
            if next != learning_rate {
                learning_rate = next;
                optimiser.set_lr(learning_rate);
            }
        }
        if let Some(loss) = validation_loss {
            if stopping.record(epoch, loss) {
                best_weights = Some(Snapshot::take(vs)?);
            }
            if stopping.should_stop(epoch) {
                break;
            }
        }
    }

    let last_epoch = history.len().saturating_sub(1);
    let best_epoch = match (stopping.best_epoch(), &best_weights) {
        (Some(best), Some(weights)) => {
            if best != last_epoch {
                weights.restore(vs)?;
            }
            best
        }
        _ => last_epoch,
    };
    Ok(Outcome {
        history,
        best_epoch,
    })
}
