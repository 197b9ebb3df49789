//! Scalers fitted on the training part only, serialisable with the model that uses them.

use ndarray::{Array1, Array2, ArrayView2, Axis};
use serde::{Deserialize, Serialize};

use crate::error::DatasetError;

/// Centres each column on its mean and divides by its standard deviation.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StandardScaler {
    /// Mean of each column on the data it was fitted on.
    pub mean: Array1<f64>,
    /// Standard deviation of each column; 1 where a column is constant.
    pub scale: Array1<f64>,
}

/// Maps each column linearly onto 0..1 using its training minimum and maximum.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MinMaxScaler {
    /// Minimum of each column on the data it was fitted on.
    pub min: Array1<f64>,
    /// Range (max − min) of each column; 1 where a column is constant.
    pub range: Array1<f64>,
}

fn check_fit_input(x: ArrayView2<'_, f64>) -> Result<(), DatasetError> {
    if x.nrows() == 0 {
        return Err(DatasetError::Invalid(
            "cannot fit a scaler on zero rows".into(),
        ));
    }
    if x.iter().any(|v| !v.is_finite()) {
        return Err(DatasetError::Invalid(
            "cannot fit a scaler on data with NaN or infinite values".into(),
        ));
    }
    Ok(())
}

fn check_width(expected: usize, x: ArrayView2<'_, f64>) -> Result<(), DatasetError> {
    if x.ncols() == expected {
        Ok(())
    } else {
        Err(DatasetError::Invalid(format!(
            "scaler was fitted on {expected} columns but got {}",
            x.ncols()
        )))
    }
}

fn nonzero(v: f64) -> f64 {
    if v > 1e-12 {
        v
    } else {
        1.0
    }
}

impl StandardScaler {
    /// Learns each column's mean and standard deviation (population, ddof = 0).
    pub fn fit(x: ArrayView2<'_, f64>) -> Result<StandardScaler, DatasetError> {
        check_fit_input(x)?;
        let mean = x
            .mean_axis(Axis(0))
            .expect("check_fit_input refuses zero rows");
        let scale = x.std_axis(Axis(0), 0.0).mapv(nonzero);
        Ok(StandardScaler { mean, scale })
    }

    /// Scales `x` with the learnt statistics.
    pub fn transform(&self, x: ArrayView2<'_, f64>) -> Result<Array2<f64>, DatasetError> {
        check_width(self.mean.len(), x)?;
        Ok((&x - &self.mean) / &self.scale)
    }

    /// Undoes [`StandardScaler::transform`].
    pub fn inverse_transform(&self, x: ArrayView2<'_, f64>) -> Result<Array2<f64>, DatasetError> {
        check_width(self.mean.len(), x)?;
        Ok(&x * &self.scale + &self.mean)
    }
}

impl MinMaxScaler {
    /// Learns each column's minimum and range.
    pub fn fit(x: ArrayView2<'_, f64>) -> Result<MinMaxScaler, DatasetError> {
        check_fit_input(x)?;
        let min = x.fold_axis(Axis(0), f64::INFINITY, |a, &b| a.min(b));
        let max = x.fold_axis(Axis(0), f64::NEG_INFINITY, |a, &b| a.max(b));
        let range = (&max - &min).mapv(nonzero);
        Ok(MinMaxScaler { min, range })
    }

    /// Scales `x` with the learnt statistics (values outside the training range go outside 0..1).
    pub fn transform(&self, x: ArrayView2<'_, f64>) -> Result<Array2<f64>, DatasetError> {
        check_width(self.min.len(), x)?;
        Ok((&x - &self.min) / &self.range)
    }

    /// Undoes [`MinMaxScaler::transform`].
    pub fn inverse_transform(&self, x: ArrayView2<'_, f64>) -> Result<Array2<f64>, DatasetError> {
        check_width(self.min.len(), x)?;
        Ok(&x * &self.range + &self.min)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    #[test]
    fn standard_scaler_centres_and_scales_each_column() {
        let x = array![[1.0, 10.0], [3.0, 10.0]];
        let scaler = StandardScaler::fit(x.view()).unwrap();
        let scaled = scaler.transform(x.view()).unwrap();
        assert_eq!(scaled, array![[-1.0, 0.0], [1.0, 0.0]]);
        assert_eq!(scaler.inverse_transform(scaled.view()).unwrap(), x);
    }

    #[test]
    fn min_max_scaler_maps_training_range_to_unit_interval() {
        let x = array![[2.0], [4.0], [6.0]];
        let scaler = MinMaxScaler::fit(x.view()).unwrap();
        assert_eq!(
            scaler.transform(x.view()).unwrap(),
            array![[0.0], [0.5], [1.0]]
        );
    }

    #[test]
    fn scaler_rejects_wrong_width_and_non_finite_input() {
        let scaler = StandardScaler::fit(array![[1.0, 2.0]].view()).unwrap();
        assert!(scaler.transform(array![[1.0]].view()).is_err());
        assert!(StandardScaler::fit(array![[f64::NAN]].view()).is_err());
    }
}
