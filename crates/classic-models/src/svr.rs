//! Support vector regression with a Gaussian kernel, on linfa-svm.

use linfa::prelude::ParamGuard;
use linfa::traits::{Fit, PredictInplace};
use linfa::DatasetBase;
use linfa_svm::Svm;
use ndarray::{Array1, Array2, Axis};
use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use evaluation::{ParamSet, ParamSetExt, SearchSpace, Tunable};

use crate::error::ModelError;

/// Checked parameters of [`Svr`], which only [`SvrParams`]'s check builds.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SvrValidParams {
    c: f64,
    epsilon: f64,
    gamma: f64,
    max_train_rows: Option<usize>,
    seed: u64,
}

impl SvrValidParams {
    /// Penalty on errors beyond `epsilon`, > 0.
    pub fn c(&self) -> f64 {
        self.c
    }

    /// Half-width of the tube in which errors cost nothing, >= 0.
    pub fn epsilon(&self) -> f64 {
        self.epsilon
    }

    /// Kernel width, > 0: larger is more local.
    pub fn gamma(&self) -> f64 {
        self.gamma
    }

    /// The most rows a fit uses (a seeded sample), `None` for all.
    pub fn max_train_rows(&self) -> Option<usize> {
        self.max_train_rows
    }

    /// Seed of that sample.
    pub fn seed(&self) -> u64 {
        self.seed
    }
}

/// Parameters of [`Svr`], checked when fitted: ε-SVR with kernel `exp(−gamma·|a − b|²)`. Use it
/// inside [`crate::Scaled`]. Fitting builds the full kernel matrix: memory grows with rows².
#[derive(Clone, PartialEq, Serialize, Deserialize)]
pub struct SvrParams(SvrValidParams);

debug_as_struct!(SvrParams {
    c,
    epsilon,
    gamma,
    max_train_rows,
    seed
});

impl Default for SvrParams {
    fn default() -> Self {
        SvrParams(SvrValidParams {
            c: 1.0,
            epsilon: 0.05,
            gamma: 0.03,
            max_train_rows: None,
            seed: 0,
        })
    }
}

impl SvrParams {
    /// C 1, epsilon 0.05, gamma 0.03, every row.
    pub fn new() -> SvrParams {
        SvrParams::default()
    }

    /// Penalty on errors beyond `epsilon`, > 0.
    pub fn c(mut self, c: f64) -> Self {
        self.0.c = c;
        self
    }

    /// Half-width of the tube in which errors cost nothing, >= 0.
    pub fn epsilon(mut self, epsilon: f64) -> Self {
        self.0.epsilon = epsilon;
        self
    }

    /// Kernel width, > 0: larger is more local.
    pub fn gamma(mut self, gamma: f64) -> Self {
        self.0.gamma = gamma;
        self
    }

    /// Fit on a seeded random sample of at most this many rows (`None`: all rows; at least 2).
    /// Fitting time grows faster than rows², so searches use a sample and the winner is refitted
    /// on all rows.
    pub fn max_train_rows(mut self, rows: Option<usize>) -> Self {
        self.0.max_train_rows = rows;
        self
    }

    /// Seed of that sample.
    pub fn seed(mut self, seed: u64) -> Self {
        self.0.seed = seed;
        self
    }
}

impl ParamGuard for SvrParams {
    type Checked = SvrValidParams;
    type Error = ModelError;

    fn check_ref(&self) -> Result<&SvrValidParams, ModelError> {
        let params = &self.0;
        let positive = |v: f64| v > 0.0 && v.is_finite();
        if !positive(params.c) {
            return Err(ModelError::parameter("c", params.c, "a finite number > 0"));
        }
        if !positive(params.gamma) {
            return Err(ModelError::parameter(
                "gamma",
                params.gamma,
                "a finite number > 0",
            ));
        }
        if params.epsilon.is_nan() || params.epsilon < 0.0 {
            return Err(ModelError::parameter(
                "epsilon",
                params.epsilon,
                "a number >= 0",
            ));
        }
        Ok(params)
    }

    fn check(self) -> Result<SvrValidParams, ModelError> {
        self.check_ref()?;
        Ok(self.0)
    }
}

/// A fitted support vector regressor.
#[derive(Debug, Serialize, Deserialize)]
#[serde(try_from = "SvrData")]
pub struct Svr {
    n_features: usize,
    model: Svm<f64, f64>,
}

/// An [`Svr`] as read from a file, before its checks.
#[derive(Deserialize)]
struct SvrData {
    n_features: usize,
    model: serde_json::Value,
}

impl TryFrom<SvrData> for Svr {
    type Error = ModelError;

    /// An SVR read from a file predicts only if it has the Gaussian kernel this crate fits
    /// (so every kernel value lies in 0..=1), a width within ±[`crate::check::LARGEST`],
    /// support vectors within it too, and dual coefficients and offset whose sum cannot
    /// overflow; and if linfa reads back exactly what was written.
    fn try_from(data: SvrData) -> Result<Svr, ModelError> {
        let problem = |text: String| ModelError::InvalidModel(format!("the SVR: {text}"));
        let model = &data.model;
        let width = model["kernel_method"]["Gaussian"].as_f64();
        let tiny = 1.0 / crate::check::LARGEST;
        if !width.is_some_and(|w| (tiny..=crate::check::LARGEST).contains(&w)) {
            return Err(problem(format!(
                "kernel {} is not a Gaussian kernel of a usable width",
                model["kernel_method"]
            )));
        }
        let numbers = |value: &serde_json::Value| -> Vec<f64> {
            match value {
                serde_json::Value::Array(items) => {
                    items.iter().filter_map(serde_json::Value::as_f64).collect()
                }
                _ => Vec::new(),
            }
        };
        let vectors = &model["sep_hyperplane"]["WeightedCombination"];
        if vectors["dim"][1].as_u64() != Some(data.n_features as u64) {
            return Err(problem(format!(
                "support vectors of shape {} for {} features",
                vectors["dim"], data.n_features
            )));
        }
        crate::check::bounded("the support vectors", numbers(&vectors["data"]).iter())
            .map_err(problem)?;
        let alpha = numbers(&model["alpha"]);
        let rho = model["rho"].as_f64().unwrap_or(f64::NAN);
        crate::check::finite_sum(
            "the dual coefficients",
            alpha.iter().chain([&rho]).map(|v| v.abs()),
        )
        .map_err(problem)?;
        Ok(Svr {
            n_features: data.n_features,
            model: crate::tree::smartcore_model(data.model, "the SVR")?,
        })
    }
}

impl Fit<Array2<f64>, Array1<f64>, ModelError> for SvrValidParams {
    type Object = Svr;

    fn fit(&self, dataset: &DatasetBase<Array2<f64>, Array1<f64>>) -> Result<Svr, ModelError> {
        let (x, y) = (dataset.records(), dataset.targets());
        if x.nrows() < 2 || x.nrows() != y.len() || x.iter().chain(y.iter()).any(|v| !v.is_finite())
        {
            return Err(ModelError::InvalidData(
                "SVR needs at least 2 finite rows with one target each".into(),
            ));
        }
        let sampled;
        let dataset = match self.max_train_rows {
            Some(limit) if limit < x.nrows() => {
                let mut rows: Vec<usize> = (0..x.nrows()).collect();
                rows.shuffle(&mut ChaCha8Rng::seed_from_u64(self.seed));
                rows.truncate(limit.max(2));
                sampled = DatasetBase::new(x.select(Axis(0), &rows), y.select(Axis(0), &rows));
                &sampled
            }
            _ => dataset,
        };
        let params = Svm::<f64, f64>::params()
            .c_svr(self.c, Some(self.epsilon))
            .gaussian_kernel(1.0 / self.gamma)
            // libsvm's stopping tolerance: linfa's default (1e-7) is far slower for no gain in MAE.
            // Shrinking stays off: linfa-svm 0.8.1 indexes out of bounds with it in regression.
            .eps(1e-3)
            .check()
            .map_err(ModelError::Svm)?;
        // linfa-svm can panic inside its solver; keep that from unwinding through callers.
        let fitted = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| params.fit(dataset)));
        let model = match fitted {
            Ok(result) => result.map_err(ModelError::Svm)?,
            Err(_) => return Err(ModelError::SvmPanicked),
        };
        Ok(Svr {
            n_features: x.ncols(),
            model,
        })
    }
}

impl PredictInplace<Array2<f64>, Array1<f64>> for Svr {
    fn predict_inplace(&self, x: &Array2<f64>, y: &mut Array1<f64>) {
        if x.ncols() == self.n_features && y.len() == x.nrows() {
            self.model.predict_inplace(x, y);
        } else {
            y.fill(f64::NAN);
        }
    }

    fn default_target(&self, x: &Array2<f64>) -> Array1<f64> {
        Array1::zeros(x.nrows())
    }
}

impl Tunable for SvrParams {
    type Error = ModelError;

    /// C, epsilon and gamma; `max_train_rows` (0 for every row) and `seed` are settings.
    fn search_space() -> SearchSpace {
        SearchSpace::new()
            .float("c", 0.3, 10.0, true)
            .float("epsilon", 0.02, 0.15, true)
            // On standardised features; 1/36 ≈ 0.028 is scikit-learn's "scale" default here.
            .float("gamma", 0.01, 0.1, true)
            .setting("max_train_rows")
            .setting("seed")
    }

    fn from_params(params: &ParamSet) -> Result<Self, ModelError> {
        Self::search_space().check_names(params)?;
        let defaults = SvrParams::default().0;
        let built = SvrParams::new()
            .c(params.float_or("c", defaults.c)?)
            .epsilon(params.float_or("epsilon", defaults.epsilon)?)
            .gamma(params.float_or("gamma", defaults.gamma)?)
            .max_train_rows(match params.usize_or("max_train_rows", 0)? {
                0 => None,
                rows => Some(rows),
            })
            .seed(params.int_or("seed", 0)? as u64);
        built.check_ref()?;
        Ok(built)
    }
}

impl crate::check::CheckedFile for Svr {
    fn check_file(&self, n_features: usize) -> Result<(), String> {
        crate::check::width("the SVR", self.n_features, n_features)
    }
}
