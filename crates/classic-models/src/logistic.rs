//! Multinomial logistic regression (softmax of a linear map) with an L2 penalty, fitted by
//! full-batch Adam on the mean log loss. Use it inside [`crate::Scaled`].

use linfa::traits::Fit;
use linfa::{DatasetBase, ParamGuard};
use ndarray::{Array1, Array2, Axis};
use serde::{Deserialize, Serialize};

use evaluation::classification::{PredictProba, ProbaError};

use crate::classes::{check_n_classes, class_count};
use crate::error::ModelError;

/// Checked parameters of [`LogisticClassifier`], which only [`LogisticParams`]'s check builds.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LogisticValidParams {
    l2: f64,
    iterations: usize,
    learning_rate: f64,
    n_classes: Option<usize>,
}

impl LogisticValidParams {
    /// L2 penalty on the weights, finite and >= 0.
    pub fn l2(&self) -> f64 {
        self.l2
    }

    /// Number of full-batch Adam steps, at least 1.
    pub fn iterations(&self) -> usize {
        self.iterations
    }

    /// The fixed number of classes, if any.
    pub fn n_classes(&self) -> Option<usize> {
        self.n_classes
    }
}

/// Parameters of [`LogisticClassifier`], checked when fitted.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
pub struct LogisticParams(LogisticValidParams);

debug_as_struct!(LogisticParams {
    l2,
    iterations,
    learning_rate,
    n_classes
});

impl Default for LogisticParams {
    fn default() -> Self {
        LogisticParams::new()
    }
}

impl LogisticParams {
    /// L2 1e-3, 800 Adam steps at learning rate 0.05.
    pub fn new() -> Self {
        LogisticParams(LogisticValidParams {
            l2: 1e-3,
            iterations: 800,
            learning_rate: 0.05,
            n_classes: None,
        })
    }

    /// L2 penalty on the weights (not the intercepts), per row; finite and >= 0.
    pub fn l2(mut self, l2: f64) -> Self {
        self.0.l2 = l2;
        self
    }

    /// Number of full-batch steps, at least 1.
    pub fn iterations(mut self, n: usize) -> Self {
        self.0.iterations = n;
        self
    }

    /// Fixes the number of classes, at least 2 (default: the largest label + 1).
    pub fn n_classes(mut self, n: usize) -> Self {
        self.0.n_classes = Some(n);
        self
    }
}

impl ParamGuard for LogisticParams {
    type Checked = LogisticValidParams;
    type Error = ModelError;

    fn check_ref(&self) -> Result<&LogisticValidParams, ModelError> {
        let params = &self.0;
        if !(params.l2 >= 0.0 && params.l2.is_finite()) {
            return Err(ModelError::parameter(
                "l2",
                params.l2,
                "a finite number >= 0",
            ));
        }
        if params.iterations == 0 {
            return Err(ModelError::parameter("iterations", 0, "at least 1"));
        }
        check_n_classes(params.n_classes)?;
        Ok(params)
    }

    fn check(self) -> Result<LogisticValidParams, ModelError> {
        self.check_ref()?;
        Ok(self.0)
    }
}

/// A fitted multinomial logistic regression.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LogisticClassifier {
    /// `n_features × n_classes`.
    weights: Array2<f64>,
    intercept: Array1<f64>,
}

impl LogisticClassifier {
    /// Number of classes.
    pub fn n_classes(&self) -> usize {
        self.intercept.len()
    }

    /// The weight of each feature (rows) for each class (columns), on the scaled inputs.
    pub fn weights(&self) -> &Array2<f64> {
        &self.weights
    }
}

fn softmax_rows(mut scores: Array2<f64>) -> Array2<f64> {
    for mut row in scores.axis_iter_mut(Axis(0)) {
        let max = row.fold(f64::NEG_INFINITY, |a, &b| a.max(b));
        row.mapv_inplace(|v| (v - max).exp());
        let sum = row.sum();
        row.mapv_inplace(|v| v / sum);
    }
    scores
}

impl PredictProba for LogisticClassifier {
    fn n_classes(&self) -> usize {
        self.intercept.len()
    }

    fn predict_proba(&self, x: &Array2<f64>) -> Result<Array2<f64>, ProbaError> {
        if x.ncols() != self.weights.nrows() {
            return Err(ProbaError::WidthMismatch {
                expected: self.weights.nrows(),
                found: x.ncols(),
            });
        }
        Ok(softmax_rows(x.dot(&self.weights) + &self.intercept))
    }
}

impl Fit<Array2<f64>, Array1<usize>, ModelError> for LogisticValidParams {
    type Object = LogisticClassifier;

    fn fit(
        &self,
        dataset: &DatasetBase<Array2<f64>, Array1<usize>>,
    ) -> Result<LogisticClassifier, ModelError> {
        let (x, y) = (dataset.records(), dataset.targets());
        if x.nrows() != y.len() || x.nrows() == 0 {
            return Err(ModelError::InvalidData(format!(
                "{} rows but {} labels",
                x.nrows(),
                y.len()
            )));
        }
        let k = class_count(y, self.n_classes)?;
        let (n, d) = x.dim();
        let mut onehot = Array2::<f64>::zeros((n, k));
        for (i, &label) in y.iter().enumerate() {
            onehot[[i, label]] = 1.0;
        }
        let mut w = Array2::<f64>::zeros((d, k));
        let mut b = Array1::<f64>::zeros(k);
        let (mut mw, mut vw) = (Array2::<f64>::zeros((d, k)), Array2::<f64>::zeros((d, k)));
        let (mut mb, mut vb) = (Array1::<f64>::zeros(k), Array1::<f64>::zeros(k));
        let (beta1, beta2, eps) = (0.9f64, 0.999f64, 1e-8);
        for step in 1..=self.iterations {
            let p = softmax_rows(x.dot(&w) + &b);
            let residual = (p - &onehot) / n as f64;
            let gw = x.t().dot(&residual) + &w * self.l2;
            let gb = residual.sum_axis(Axis(0));
            mw = &mw * beta1 + &gw * (1.0 - beta1);
            vw = &vw * beta2 + &gw.mapv(|g| g * g) * (1.0 - beta2);
            mb = &mb * beta1 + &gb * (1.0 - beta1);
            vb = &vb * beta2 + &gb.mapv(|g| g * g) * (1.0 - beta2);
            let c1 = 1.0 - beta1.powi(step as i32);
            let c2 = 1.0 - beta2.powi(step as i32);
            let lr = self.learning_rate;
            w = &w - &((&mw / c1) / ((&vw / c2).mapv(f64::sqrt) + eps) * lr);
            b = &b - &((&mb / c1) / ((&vb / c2).mapv(f64::sqrt) + eps) * lr);
        }
        if w.iter().chain(b.iter()).any(|v| !v.is_finite()) {
            return Err(ModelError::InvalidData(
                "logistic regression diverged (non-finite weights)".into(),
            ));
        }
        Ok(LogisticClassifier {
            weights: w,
            intercept: b,
        })
    }
}

impl crate::check::CheckedFile for LogisticClassifier {
    fn check_file(&self, n_features: usize) -> Result<(), String> {
        crate::check::width("the logistic regression", self.weights.nrows(), n_features)?;
        if self.weights.ncols() != self.intercept.len() || self.intercept.len() < 2 {
            return Err(format!(
                "the logistic regression has {} weight columns and {} intercepts",
                self.weights.ncols(),
                self.intercept.len()
            ));
        }
        crate::check::bounded(
            "the logistic regression",
            self.weights.iter().chain(self.intercept.iter()),
        )
    }
}
