//! Multinomial logistic regression (softmax of a linear map) with an L2 penalty, fitted by
//! full-batch Adam on the mean log loss. Use it inside [`crate::Scaled`].

use linfa::traits::Fit;
use linfa::DatasetBase;
use ndarray::{Array1, Array2, Axis};
use serde::{Deserialize, Serialize};

use evaluation::classification::PredictProba;

use crate::error::ModelError;

/// Parameters of [`LogisticClassifier`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LogisticParams {
    l2: f64,
    iterations: usize,
    learning_rate: f64,
    n_classes: Option<usize>,
}

impl Default for LogisticParams {
    fn default() -> Self {
        LogisticParams::new()
    }
}

impl LogisticParams {
    /// L2 1e-3, 800 Adam steps at learning rate 0.05.
    pub fn new() -> Self {
        LogisticParams {
            l2: 1e-3,
            iterations: 800,
            learning_rate: 0.05,
            n_classes: None,
        }
    }

    /// L2 penalty on the weights (not the intercepts), per row.
    pub fn l2(mut self, l2: f64) -> Self {
        self.l2 = l2;
        self
    }

    /// Number of full-batch steps.
    pub fn iterations(mut self, n: usize) -> Self {
        self.iterations = n;
        self
    }

    /// Fixes the number of classes (default: the largest label + 1).
    pub fn n_classes(mut self, n: usize) -> Self {
        self.n_classes = Some(n);
        self
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

    fn predict_proba(&self, x: &Array2<f64>) -> Result<Array2<f64>, String> {
        if x.ncols() != self.weights.nrows() {
            return Err(ModelError::WidthMismatch {
                expected: self.weights.nrows(),
                found: x.ncols(),
            }
            .to_string());
        }
        Ok(softmax_rows(x.dot(&self.weights) + &self.intercept))
    }
}

impl Fit<Array2<f64>, Array1<usize>, ModelError> for LogisticParams {
    type Object = LogisticClassifier;

    fn fit(
        &self,
        dataset: &DatasetBase<Array2<f64>, Array1<usize>>,
    ) -> Result<LogisticClassifier, ModelError> {
        let (x, y) = (dataset.records(), dataset.targets());
        if !(self.l2 >= 0.0 && self.l2.is_finite()) || self.iterations == 0 {
            return Err(ModelError::InvalidParams(
                "logistic regression needs l2 >= 0 and iterations >= 1".into(),
            ));
        }
        if x.nrows() != y.len() || x.nrows() == 0 {
            return Err(ModelError::InvalidData(format!(
                "{} rows but {} labels",
                x.nrows(),
                y.len()
            )));
        }
        let largest = y.iter().copied().max().unwrap_or(0);
        let k = self.n_classes.unwrap_or((largest + 1).max(2));
        if largest >= k {
            return Err(ModelError::InvalidData(format!(
                "label {largest} but there are {k} classes"
            )));
        }
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
