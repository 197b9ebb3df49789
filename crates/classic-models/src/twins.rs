//! Near twins: the training rows nearest to a query on standardised features, with their
//! target.
//!
//! One recording is often released under several ids (single, album, clean and explicit
//! versions, compilations). Its copies have identical or nearly identical features and almost the
//! same target, so a copy's target beats any model's prediction. [`TwinLookup`] finds, for each
//! query row, the nearest training row and how far it is; the caller decides up to which distance
//! the copy is trusted.

use ndarray::{Array1, Array2, ArrayView1, ArrayView2, Axis};

use crate::blocked::Blocked;
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
        let blocked = Blocked::new(self.x.view());
        Ok(queries
            .axis_iter(Axis(0))
            .into_par_iter()
            .map(|query| self.nearest_below(&blocked, query, f64::INFINITY))
            .collect())
    }

    /// The nearest training row of every row of `x` if it lies within `radius` (`distance <=
    /// radius`, exactly as a caller would test [`TwinLookup::nearest`]'s answer), else `None`.
    /// Training rows are scanned 8 at a time, and a block whose partial distances all pass the
    /// radius is left after a few columns, which makes this faster than [`TwinLookup::nearest`]
    /// when few rows have a twin. Rows with NaN or infinity are
    /// `None` rather than an error: this is the per-row path of batch scoring.
    pub fn nearest_within(
        &self,
        x: ArrayView2<'_, f64>,
        radius: f64,
    ) -> Result<Vec<Option<Nearest>>, ModelError> {
        if x.ncols() != self.x.ncols() {
            return Err(ModelError::WidthMismatch {
                expected: self.x.ncols(),
                found: x.ncols(),
            });
        }
        // A bound on squared distances a little above radius²: no row whose distance passes
        // `distance <= radius` is dropped, and the final test is the caller's own.
        let bound = (radius * (1.0 + 1e-9)).powi(2) + f64::MIN_POSITIVE;
        let queries = self.scaler.transform(x)?;
        let blocked = Blocked::new(self.x.view());
        Ok(queries
            .axis_iter(Axis(0))
            .into_par_iter()
            .map(|query| {
                if query.iter().any(|v| !v.is_finite()) {
                    return None;
                }
                let found = self.nearest_below(&blocked, query, bound);
                (found.distance <= radius).then_some(found)
            })
            .collect())
    }

    /// The nearest row among those whose squared distance is at most `bound` (distance infinity
    /// when there is none): the mean target of the rows at that distance. The same rows, sums
    /// and comparisons as a row-by-row scan, so the same answer bit for bit.
    fn nearest_below(&self, rows: &Blocked, query: ArrayView1<'_, f64>, bound: f64) -> Nearest {
        let (mut best, mut sum, mut ties) = (bound, 0.0, 0usize);
        rows.visit_within(&query.to_vec(), &mut best, |row, distance, best| {
            if distance < *best {
                *best = distance;
                sum = self.y[row];
                ties = 1;
            } else if distance == *best {
                sum += self.y[row];
                ties += 1;
            }
        });
        if ties == 0 {
            return Nearest {
                distance: f64::INFINITY,
                value: 0.0,
            };
        }
        Nearest {
            distance: best.sqrt(),
            value: sum / ties as f64,
        }
    }

    /// Checks a lookup read from a file: one target per row, the scaler as wide as the rows,
    /// every value finite and every scale positive.
    pub fn check(&self) -> Result<(), String> {
        let n = self.x.ncols();
        if self.x.nrows() == 0 || self.x.nrows() != self.y.len() {
            return Err(format!(
                "{} rows and {} targets (at least one row, one target per row)",
                self.x.nrows(),
                self.y.len()
            ));
        }
        if self.scaler.mean.len() != n || self.scaler.scale.len() != n {
            return Err(format!(
                "a scaler of {} means and {} scales for {n} columns",
                self.scaler.mean.len(),
                self.scaler.scale.len()
            ));
        }
        if self
            .x
            .iter()
            .chain(&self.y)
            .chain(&self.scaler.mean)
            .any(|v| !v.is_finite())
            || self
                .scaler
                .scale
                .iter()
                .any(|s| !(s.is_finite() && *s > 0.0))
        {
            return Err("a value that is not finite, or a scale that is not positive".into());
        }
        Ok(())
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
    fn nearest_within_is_nearest_filtered_by_the_radius() {
        // A grid with repeated rows (ties) and queries at, inside and beyond the radius.
        let x = Array2::from_shape_fn((60, 3), |(i, j)| ((i * (j + 3)) % 7) as f64 * 0.5);
        let y = Array1::from_shape_fn(60, |i| (i % 10) as f64 / 10.0);
        let lookup = TwinLookup::fit(x.view(), y.view()).unwrap();
        let queries = Array2::from_shape_fn((40, 3), |(i, j)| ((i * 5 + j * 2) % 9) as f64 * 0.4);
        let all = lookup.nearest(queries.view()).unwrap();
        for radius in [0.0, 0.05, 0.3, all[7].distance, 1.0, 10.0] {
            let within = lookup.nearest_within(queries.view(), radius).unwrap();
            let expected: Vec<Option<Nearest>> = all
                .iter()
                .map(|n| (n.distance <= radius).then_some(*n))
                .collect();
            assert_eq!(within, expected, "radius {radius}");
        }
        let mut bad = queries.clone();
        bad[[3, 1]] = f64::NAN;
        let within = lookup.nearest_within(bad.view(), 10.0).unwrap();
        assert_eq!(within[3], None);
        assert_eq!(within[4], Some(all[4]));
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
