//! k-nearest-neighbour classification by brute force, parallel over query rows: the class
//! shares of the k nearest training rows, weighted by inverse distance. Use it inside
//! [`crate::Scaled`].

use linfa::traits::Fit;
use linfa::DatasetBase;
use ndarray::{Array1, Array2, Axis};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use evaluation::classification::PredictProba;

use crate::error::ModelError;

/// Parameters of [`KnnClassifier`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct KnnClassifierParams {
    k: usize,
    n_classes: Option<usize>,
}

impl Default for KnnClassifierParams {
    fn default() -> Self {
        KnnClassifierParams::new()
    }
}

impl KnnClassifierParams {
    /// 15 neighbours.
    pub fn new() -> Self {
        KnnClassifierParams {
            k: 15,
            n_classes: None,
        }
    }

    /// Number of neighbours.
    pub fn k(mut self, k: usize) -> Self {
        self.k = k;
        self
    }

    /// Fixes the number of classes (default: the largest label + 1).
    pub fn n_classes(mut self, n: usize) -> Self {
        self.n_classes = Some(n);
        self
    }
}

/// A fitted k-NN classifier: the training rows and labels.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct KnnClassifier {
    k: usize,
    n_classes: usize,
    x: Array2<f64>,
    y: Vec<usize>,
}

impl KnnClassifier {
    /// Number of classes.
    pub fn n_classes(&self) -> usize {
        self.n_classes
    }
}

impl PredictProba for KnnClassifier {
    fn n_classes(&self) -> usize {
        self.n_classes
    }

    fn predict_proba(&self, x: &Array2<f64>) -> Result<Array2<f64>, String> {
        if x.ncols() != self.x.ncols() {
            return Err(ModelError::WidthMismatch {
                expected: self.x.ncols(),
                found: x.ncols(),
            }
            .to_string());
        }
        let k = self.k.min(self.y.len());
        let rows: Vec<Vec<f64>> = x
            .axis_iter(Axis(0))
            .into_par_iter()
            .map(|query| {
                let mut distances: Vec<(f64, usize)> = self
                    .x
                    .axis_iter(Axis(0))
                    .zip(&self.y)
                    .map(|(row, &label)| {
                        let d: f64 = row
                            .iter()
                            .zip(query.iter())
                            .map(|(a, b)| (a - b) * (a - b))
                            .sum();
                        (d.sqrt(), label)
                    })
                    .collect();
                distances.select_nth_unstable_by(k - 1, |a, b| a.0.total_cmp(&b.0));
                let mut votes = vec![0.0; self.n_classes];
                for &(d, label) in &distances[..k] {
                    votes[label] += 1.0 / (d + 1e-6);
                }
                let total: f64 = votes.iter().sum();
                votes.into_iter().map(|v| v / total).collect()
            })
            .collect();
        Array2::from_shape_vec((x.nrows(), self.n_classes), rows.concat())
            .map_err(|e| e.to_string())
    }
}

impl Fit<Array2<f64>, Array1<usize>, ModelError> for KnnClassifierParams {
    type Object = KnnClassifier;

    fn fit(
        &self,
        dataset: &DatasetBase<Array2<f64>, Array1<usize>>,
    ) -> Result<KnnClassifier, ModelError> {
        let (x, y) = (dataset.records(), dataset.targets());
        if self.k == 0 || x.nrows() < self.k || x.nrows() != y.len() {
            return Err(ModelError::InvalidData(format!(
                "k-NN with k = {} needs at least k rows with one label each ({} rows, {} labels)",
                self.k,
                x.nrows(),
                y.len()
            )));
        }
        let largest = y.iter().copied().max().unwrap_or(0);
        let n_classes = self.n_classes.unwrap_or((largest + 1).max(2));
        if largest >= n_classes {
            return Err(ModelError::InvalidData(format!(
                "label {largest} but there are {n_classes} classes"
            )));
        }
        Ok(KnnClassifier {
            k: self.k,
            n_classes,
            x: x.clone(),
            y: y.to_vec(),
        })
    }
}
