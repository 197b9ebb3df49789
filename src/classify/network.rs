//! The network classifier in the classification vocabulary: `Fit` on labels, and
//! [`PredictProba`] on the fitted model.

use std::sync::Mutex;

use linfa::traits::Fit;
use linfa::DatasetBase;
use ndarray::{Array1, Array2};
use neural_models::{
    Activation, MlpClassifier, MlpClassifierParams, MlpConfig, NeuralError, Normalisation,
    Optimiser,
};

use evaluation::classification::PredictProba;

/// An MLP classifier of `neural-models` whose fitted model offers [`PredictProba`].
#[derive(Clone, Debug, PartialEq)]
pub struct Network {
    /// The trainer's parameters.
    pub params: MlpClassifierParams,
}

impl Network {
    /// A network with the given hidden widths and the settings every experiment shares: GELU,
    /// dropout, AdamW, batch 64, early stopping on 20% of the training rows (patience 25, best
    /// weights restored), a constant learning rate, and one libtorch thread per fit so folds run
    /// in parallel.
    ///
    /// The learning rate stays constant (no plateau schedule, which would watch the validation
    /// loss) so that a run without the held-out rows replays the same epochs exactly: that is how
    /// [`crate::classify::experiment`] measures the training accuracy epoch by epoch.
    pub fn new(hidden: Vec<usize>, dropout: f64, n_classes: usize, seed: u64) -> Network {
        let config = MlpConfig::new(hidden)
            .activation(Activation::Gelu)
            .dropout(dropout)
            .normalisation(Normalisation::None);
        Network {
            params: MlpClassifierParams::new(config)
                .n_classes(n_classes)
                .optimiser(Optimiser::AdamW { weight_decay: 1e-3 })
                .learning_rate(2e-3)
                .batch_size(64)
                .max_epochs(300)
                .validation_fraction(0.2)
                .patience(25)
                .threads(1)
                .seed(seed),
        }
    }

    /// Replaces the parameters through a builder function.
    pub fn with(self, change: impl FnOnce(MlpClassifierParams) -> MlpClassifierParams) -> Network {
        Network {
            params: change(self.params),
        }
    }
}

/// A fitted network, behind a lock so it can be shared between threads (libtorch tensors are
/// `Send` but not `Sync`).
pub struct FittedNetwork {
    model: Mutex<MlpClassifier>,
    n_classes: usize,
}

impl std::fmt::Debug for FittedNetwork {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FittedNetwork")
            .field("n_classes", &self.n_classes)
            .finish_non_exhaustive()
    }
}

impl FittedNetwork {
    /// Wraps a fitted classifier.
    pub fn new(model: MlpClassifier) -> FittedNetwork {
        FittedNetwork {
            n_classes: model.n_classes(),
            model: Mutex::new(model),
        }
    }

    /// Runs `f` on the classifier (for its history, saving, …).
    pub fn with_model<T>(&self, f: impl FnOnce(&MlpClassifier) -> T) -> T {
        let guard = self
            .model
            .lock()
            .unwrap_or_else(|poison| poison.into_inner());
        f(&guard)
    }

    /// Loads a classifier saved with [`MlpClassifier::save`].
    pub fn load(path: &std::path::Path) -> Result<FittedNetwork, NeuralError> {
        MlpClassifier::load(path).map(FittedNetwork::new)
    }
}

impl PredictProba for FittedNetwork {
    fn n_classes(&self) -> usize {
        self.n_classes
    }

    fn predict_proba(&self, x: &Array2<f64>) -> Result<Array2<f64>, evaluation::ProbaError> {
        Ok(self.with_model(|model| model.predict_proba(x.view()))?)
    }
}

impl Fit<Array2<f64>, Array1<usize>, NeuralError> for Network {
    type Object = FittedNetwork;

    fn fit(
        &self,
        dataset: &DatasetBase<Array2<f64>, Array1<usize>>,
    ) -> Result<FittedNetwork, NeuralError> {
        self.params.fit(dataset).map(FittedNetwork::new)
    }
}
