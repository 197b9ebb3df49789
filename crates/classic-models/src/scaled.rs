//! Standardising the inputs of any learner, regressor or classifier, with the scaler fitted on
//! the training part only.

use dataset::StandardScaler;
use linfa::traits::{Fit, PredictInplace};
use linfa::DatasetBase;
use ndarray::{Array1, Array2};
use serde::{Deserialize, Serialize};

use evaluation::classification::{PredictProba, ProbaError};
use evaluation::{ParamSet, SearchSpace, Tunable};

use crate::error::ModelError;

/// A learner whose inputs are standardised first. Its parameters are checked by the wrapped
/// learner's own `fit`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Scaled<P> {
    /// The wrapped learner.
    pub inner: P,
}

impl<P> Scaled<P> {
    /// Wraps `inner`.
    pub fn new(inner: P) -> Scaled<P> {
        Scaled { inner }
    }
}

/// A fitted model with the scaler of its training data.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ScaledModel<M> {
    /// Scaler fitted on the training rows.
    pub scaler: StandardScaler,
    /// The model fitted on the scaled rows.
    pub model: M,
}

/// Targets of either kind: values (`f64`) for a regressor, labels (`usize`) for a classifier.
impl<P, T> Fit<Array2<f64>, Array1<T>, ModelError> for Scaled<P>
where
    P: Fit<Array2<f64>, Array1<T>, ModelError>,
    T: Clone,
{
    type Object = ScaledModel<P::Object>;

    fn fit(
        &self,
        dataset: &DatasetBase<Array2<f64>, Array1<T>>,
    ) -> Result<Self::Object, ModelError> {
        let scaler = StandardScaler::fit(dataset.records().view())?;
        let scaled = DatasetBase::new(
            scaler.transform(dataset.records().view())?,
            dataset.targets().clone(),
        );
        Ok(ScaledModel {
            model: self.inner.fit(&scaled)?,
            scaler,
        })
    }
}

impl<M> PredictInplace<Array2<f64>, Array1<f64>> for ScaledModel<M>
where
    M: PredictInplace<Array2<f64>, Array1<f64>>,
{
    fn predict_inplace(&self, x: &Array2<f64>, y: &mut Array1<f64>) {
        match self.scaler.transform(x.view()) {
            Ok(scaled) => self.model.predict_inplace(&scaled, y),
            Err(_) => y.fill(f64::NAN),
        }
    }

    fn default_target(&self, x: &Array2<f64>) -> Array1<f64> {
        Array1::zeros(x.nrows())
    }
}

impl<M: PredictProba> PredictProba for ScaledModel<M> {
    fn n_classes(&self) -> usize {
        self.model.n_classes()
    }

    fn predict_proba(&self, x: &Array2<f64>) -> Result<Array2<f64>, ProbaError> {
        let scaled = self.scaler.transform(x.view()).map_err(ProbaError::model)?;
        self.model.predict_proba(&scaled)
    }
}

impl<P: Tunable<Error = ModelError>> Tunable for Scaled<P> {
    type Error = ModelError;

    fn search_space() -> SearchSpace {
        P::search_space()
    }

    fn from_params(params: &ParamSet) -> Result<Self, ModelError> {
        Ok(Scaled::new(P::from_params(params)?))
    }
}

impl<M: crate::check::CheckedFile> crate::check::CheckedFile for ScaledModel<M> {
    /// The scaler's means and scales (one per column, scales positive and all within
    /// ±[`crate::check::LARGEST`], scales at least its inverse), then the model's own checks.
    fn check_file(&self, n_features: usize) -> Result<(), String> {
        let scaler = &self.scaler;
        crate::check::width("the scaler", scaler.mean.len(), n_features)?;
        crate::check::width("the scaler", scaler.scale.len(), n_features)?;
        crate::check::bounded("the scaler's means", scaler.mean.iter())?;
        let tiny = 1.0 / crate::check::LARGEST;
        if let Some(scale) = scaler
            .scale
            .iter()
            .find(|s| !(**s >= tiny && **s <= crate::check::LARGEST))
        {
            return Err(format!("the scaler has a scale of {scale:e}"));
        }
        self.model.check_file(n_features)
    }
}
