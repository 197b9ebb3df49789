//! [`Scaled`] for classifiers: the inputs of any classifier standardised first, with the scaler
//! fitted on the training part only.

use dataset::StandardScaler;
use linfa::traits::Fit;
use linfa::DatasetBase;
use ndarray::{Array1, Array2};

use evaluation::classification::PredictProba;

use crate::error::ModelError;
use crate::scaled::{Scaled, ScaledModel};

impl<P> Fit<Array2<f64>, Array1<usize>, ModelError> for Scaled<P>
where
    P: Fit<Array2<f64>, Array1<usize>, ModelError>,
{
    type Object = ScaledModel<P::Object>;

    fn fit(
        &self,
        dataset: &DatasetBase<Array2<f64>, Array1<usize>>,
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

impl<M: PredictProba> PredictProba for ScaledModel<M> {
    fn n_classes(&self) -> usize {
        self.model.n_classes()
    }

    fn predict_proba(&self, x: &Array2<f64>) -> Result<Array2<f64>, String> {
        let scaled = self.scaler.transform(x.view()).map_err(|e| e.to_string())?;
        self.model.predict_proba(&scaled)
    }
}
