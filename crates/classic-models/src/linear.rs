//! Elastic-net linear regression (ridge when `l1_ratio` is 0, lasso when 1), by coordinate
//! descent on centred data.

use linfa::traits::{Fit, PredictInplace};
use linfa::{DatasetBase, ParamGuard};
use ndarray::{Array1, Array2, Axis};
use serde::{Deserialize, Serialize};

use evaluation::{ParamSet, ParamSetExt, SearchSpace, Tunable};

use crate::error::ModelError;

/// Checked parameters of [`ElasticNet`], which only [`ElasticNetParams`]'s check builds.
/// Minimises `1/(2n)·|y − Xw − b|² + alpha·(l1_ratio·|w|₁ + (1 − l1_ratio)/2·|w|²)`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ElasticNetValidParams {
    alpha: f64,
    l1_ratio: f64,
    max_iterations: usize,
    tolerance: f64,
}

impl ElasticNetValidParams {
    /// Overall penalty strength, finite and >= 0.
    pub fn alpha(&self) -> f64 {
        self.alpha
    }

    /// Share of the L1 penalty, in 0..=1.
    pub fn l1_ratio(&self) -> f64 {
        self.l1_ratio
    }
}

/// Parameters of [`ElasticNet`], checked when fitted (linfa's `ParamGuard`).
#[derive(Clone, PartialEq, Serialize, Deserialize)]
pub struct ElasticNetParams(ElasticNetValidParams);

debug_as_struct!(ElasticNetParams {
    alpha,
    l1_ratio,
    max_iterations,
    tolerance
});

impl Default for ElasticNetParams {
    fn default() -> Self {
        ElasticNetParams::new()
    }
}

impl ElasticNetParams {
    /// A light ridge: alpha 1e-3, l1_ratio 0.
    pub fn new() -> ElasticNetParams {
        ElasticNetParams(ElasticNetValidParams {
            alpha: 1e-3,
            l1_ratio: 0.0,
            max_iterations: 2000,
            tolerance: 1e-7,
        })
    }

    /// Overall penalty strength, finite and >= 0.
    pub fn alpha(mut self, alpha: f64) -> Self {
        self.0.alpha = alpha;
        self
    }

    /// Share of the L1 penalty, 0..=1.
    pub fn l1_ratio(mut self, ratio: f64) -> Self {
        self.0.l1_ratio = ratio;
        self
    }
}

impl ParamGuard for ElasticNetParams {
    type Checked = ElasticNetValidParams;
    type Error = ModelError;

    fn check_ref(&self) -> Result<&ElasticNetValidParams, ModelError> {
        let params = &self.0;
        if !(params.alpha >= 0.0 && params.alpha.is_finite()) {
            return Err(ModelError::parameter(
                "alpha",
                params.alpha,
                "a finite number >= 0",
            ));
        }
        if !(0.0..=1.0).contains(&params.l1_ratio) {
            return Err(ModelError::parameter(
                "l1_ratio",
                params.l1_ratio,
                "a share in 0..=1",
            ));
        }
        Ok(params)
    }

    fn check(self) -> Result<ElasticNetValidParams, ModelError> {
        self.check_ref()?;
        Ok(self.0)
    }
}

/// A fitted linear model.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ElasticNet {
    /// One weight per input column.
    pub weights: Array1<f64>,
    /// The intercept.
    pub intercept: f64,
}

impl Fit<Array2<f64>, Array1<f64>, ModelError> for ElasticNetValidParams {
    type Object = ElasticNet;

    fn fit(
        &self,
        dataset: &DatasetBase<Array2<f64>, Array1<f64>>,
    ) -> Result<ElasticNet, ModelError> {
        let (x, y) = (dataset.records(), dataset.targets());
        let n = x.nrows();
        if n == 0 || n != y.len() || x.iter().chain(y.iter()).any(|v| !v.is_finite()) {
            return Err(ModelError::InvalidData(
                "elastic net needs equal, non-empty, finite rows and targets".into(),
            ));
        }
        let x_mean = x
            .mean_axis(Axis(0))
            .expect("the rows are not empty: checked above");
        let y_mean = y.sum() / n as f64;
        let xc = x - &x_mean;
        let mut residual = y.mapv(|v| v - y_mean);
        let column_norms: Vec<f64> = xc
            .axis_iter(Axis(1))
            .map(|c| c.dot(&c) / n as f64)
            .collect();
        let mut weights = Array1::zeros(x.ncols());
        let l1 = self.alpha * self.l1_ratio;
        let l2 = self.alpha * (1.0 - self.l1_ratio);
        for _ in 0..self.max_iterations {
            let mut largest_change: f64 = 0.0;
            for (j, column) in xc.axis_iter(Axis(1)).enumerate() {
                if column_norms[j] == 0.0 {
                    continue;
                }
                let old = weights[j];
                let rho = column.dot(&residual) / n as f64 + column_norms[j] * old;
                let new = soft_threshold(rho, l1) / (column_norms[j] + l2);
                if new != old {
                    residual.scaled_add(old - new, &column);
                    weights[j] = new;
                    largest_change = largest_change.max((new - old).abs());
                }
            }
            if largest_change < self.tolerance {
                break;
            }
        }
        let intercept = y_mean - x_mean.dot(&weights);
        Ok(ElasticNet { weights, intercept })
    }
}

fn soft_threshold(value: f64, threshold: f64) -> f64 {
    if value > threshold {
        value - threshold
    } else if value < -threshold {
        value + threshold
    } else {
        0.0
    }
}

impl PredictInplace<Array2<f64>, Array1<f64>> for ElasticNet {
    fn predict_inplace(&self, x: &Array2<f64>, y: &mut Array1<f64>) {
        if x.ncols() == self.weights.len() && y.len() == x.nrows() {
            y.assign(&(x.dot(&self.weights) + self.intercept));
        } else {
            y.fill(f64::NAN);
        }
    }

    fn default_target(&self, x: &Array2<f64>) -> Array1<f64> {
        Array1::zeros(x.nrows())
    }
}

impl Tunable for ElasticNetParams {
    type Error = ModelError;

    fn search_space() -> SearchSpace {
        SearchSpace::new()
            .float("alpha", 1e-5, 1.0, true)
            .float("l1_ratio", 0.0, 1.0, false)
    }

    fn from_params(params: &ParamSet) -> Result<Self, ModelError> {
        Self::search_space().check_names(params)?;
        let defaults = ElasticNetParams::new().0;
        let built = ElasticNetParams::new()
            .alpha(params.float_or("alpha", defaults.alpha)?)
            .l1_ratio(params.float_or("l1_ratio", defaults.l1_ratio)?);
        built.check_ref()?;
        Ok(built)
    }
}

impl crate::check::CheckedFile for ElasticNet {
    fn check_file(&self, n_features: usize) -> Result<(), String> {
        crate::check::width("the elastic net", self.weights.len(), n_features)?;
        crate::check::bounded(
            "the elastic net",
            self.weights.iter().chain([&self.intercept]),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use linfa::traits::Predict;
    use ndarray::array;

    #[test]
    fn unpenalised_fit_recovers_exact_line() {
        let x = array![[0.0, 1.0], [1.0, 0.0], [2.0, 1.0], [3.0, 5.0]];
        let y = x.map_axis(Axis(1), |r| 2.0 * r[0] - r[1] + 0.5);
        let model = ElasticNetParams::new()
            .alpha(0.0)
            .fit(&DatasetBase::new(x.clone(), y.clone()))
            .unwrap();
        assert!((model.intercept - 0.5).abs() < 1e-6);
        let predicted = model.predict(&x);
        assert!((&predicted - &y).mapv(f64::abs).sum() < 1e-5);
    }

    #[test]
    fn strong_lasso_zeroes_weights() {
        let x = array![[0.0], [1.0], [2.0]];
        let y = array![0.0, 1.0, 2.0];
        let model = ElasticNetParams::new()
            .alpha(10.0)
            .l1_ratio(1.0)
            .fit(&DatasetBase::new(x, y))
            .unwrap();
        assert_eq!(model.weights[0], 0.0);
        assert!((model.intercept - 1.0).abs() < 1e-12);
    }
}
