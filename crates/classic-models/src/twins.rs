//! Near twins: the training rows nearest to a query on standardised features, with their
//! target.
//!
//! One recording is often released under several ids (single, album, clean and explicit
//! versions, compilations). Its copies have identical or nearly identical features and almost the
//! same target, so a copy's target beats any model's prediction. [`TwinLookup`] finds, for each
//! query row, the nearest training row and how far it is; the caller decides up to which distance
//! the copy is trusted.

use ndarray::{Array1, Array2, ArrayView1, ArrayView2, Axis};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use dataset::StandardScaler;

use crate::error::ModelError;

/// The nearest training row of a query.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Nearest {
    /// Euclidean distance on features standardised with the training rows' mean and sd.
    pub distance: f64,
    /// The nearest row's target; the mean target when several rows are equally near.
    pub value: f64,
}

/// Training rows, standardised, with their targets.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TwinLookup {
    scaler: StandardScaler,
    x: Array2<f64>,
    y: Array1<f64>,
}

impl TwinLookup {
    /// Keeps the training rows, standardised on their own mean and sd.
    pub fn fit(x: ArrayView2<'_, f64>, y: ArrayView1<'_, f64>) -> Result<TwinLookup, ModelError> {
        if x.nrows() != y.len() || x.nrows() == 0 {
            return Err(ModelError::InvalidData(format!(
                "a twin lookup needs at least one row and one target per row ({} rows, {} targets)",
                x.nrows(),
                y.len()
            )));
        }
        if y.iter().any(|v| !v.is_finite()) {
            return Err(ModelError::InvalidData(
                "targets contain NaN or infinity".into(),
            ));
        }
        let scaler = StandardScaler::fit(x)?;
        Ok(TwinLookup {
            x: scaler.transform(x)?,
            scaler,
            y: y.to_owned(),
        })
    }

    /// Number of feature columns.
    pub fn n_features(&self) -> usize {
        self.x.ncols()
    }

    /// The nearest training row of every row of `x` (exact, by brute force, parallel over rows).
    pub fn nearest(&self, x: ArrayView2<'_, f64>) -> Result<Vec<Nearest>, ModelError> {
        if x.ncols() != self.x.ncols() {
            return Err(ModelError::WidthMismatch {
                expected: self.x.ncols(),
                found: x.ncols(),
            });
        }
        if x.iter().any(|v| !v.is_finite()) {
            return Err(ModelError::InvalidData(
                "query rows contain NaN or infinity".into(),
            ));
        }
        let queries = self.scaler.transform(x)?;
        Ok(queries
            .axis_iter(Axis(0))
            .into_par_iter()
            .map(|query| self.nearest_row(query))
            .collect())
    }

    fn nearest_row(&self, query: ArrayView1<'_, f64>) -> Nearest {
        let query: Vec<f64> = query.to_vec();
        let mut best = f64::INFINITY;
        let mut sum = 0.0;
        let mut ties = 0usize;
        for (row, &target) in self.x.axis_iter(Axis(0)).zip(&self.y) {
            // Stop summing once the row is already farther than the best so far.
            let mut distance = 0.0;
            for (a, b) in row.iter().zip(&query) {
                distance += (a - b) * (a - b);
                if distance > best {
                    break;
                }
            }
            if distance < best {
                best = distance;
                sum = target;
                ties = 1;
            } else if distance == best {
                sum += target;
                ties += 1;
            }
        }
        Nearest {
            distance: best.sqrt(),
            value: sum / ties.max(1) as f64,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    #[test]
    fn the_nearest_row_and_the_mean_of_equally_near_rows() {
        let x = array![[0.0, 0.0], [0.0, 0.0], [2.0, 2.0], [4.0, 0.0]];
        let y = array![0.2, 0.4, 0.9, 0.5];
        let lookup = TwinLookup::fit(x.view(), y.view()).unwrap();
        let found = lookup
            .nearest(array![[0.0, 0.0], [2.0, 1.9]].view())
            .unwrap();
        assert_eq!(found[0].distance, 0.0);
        assert!((found[0].value - 0.3).abs() < 1e-12);
        assert_eq!(found[1].value, 0.9);
        // Column sds are 1.6583 and 0.8660: the 0.1 gap in column 2 is 0.1155 standardised.
        assert!((found[1].distance - 0.1 / 0.75f64.sqrt()).abs() < 1e-9);
    }

    #[test]
    fn bad_shapes_and_values_are_errors() {
        let x = array![[0.0], [1.0]];
        assert!(TwinLookup::fit(x.view(), array![0.0].view()).is_err());
        assert!(TwinLookup::fit(x.view(), array![0.0, f64::NAN].view()).is_err());
        let lookup = TwinLookup::fit(x.view(), array![0.0, 1.0].view()).unwrap();
        assert!(lookup.nearest(array![[0.0, 1.0]].view()).is_err());
        assert!(lookup.nearest(array![[f64::NAN]].view()).is_err());
    }
}
