//! k-nearest-neighbour classification by brute force, parallel over query rows: the class
//! shares of the k nearest training rows, weighted by inverse distance. Use it inside
//! [`crate::Scaled`].

use linfa::traits::Fit;
use linfa::{DatasetBase, ParamGuard};
use ndarray::{Array1, Array2, Axis};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use evaluation::classification::{PredictProba, ProbaError};

use crate::blocked::Blocked;
use crate::classes::{check_n_classes, class_count};
use crate::error::ModelError;

/// Checked parameters of [`KnnClassifier`], which only [`KnnClassifierParams`]'s check builds.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct KnnClassifierValidParams {
    k: usize,
    n_classes: Option<usize>,
}

impl KnnClassifierValidParams {
    /// Number of neighbours, at least 1.
    pub fn k(&self) -> usize {
        self.k
    }

    /// The fixed number of classes, if any.
    pub fn n_classes(&self) -> Option<usize> {
        self.n_classes
    }
}

/// Parameters of [`KnnClassifier`], checked when fitted.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
pub struct KnnClassifierParams(KnnClassifierValidParams);

debug_as_struct!(KnnClassifierParams { k, n_classes });

impl Default for KnnClassifierParams {
    fn default() -> Self {
        KnnClassifierParams::new()
    }
}

impl KnnClassifierParams {
    /// 15 neighbours.
    pub fn new() -> Self {
        KnnClassifierParams(KnnClassifierValidParams {
            k: 15,
            n_classes: None,
        })
    }

    /// Number of neighbours, at least 1.
    pub fn k(mut self, k: usize) -> Self {
        self.0.k = k;
        self
    }

    /// Fixes the number of classes, at least 2 (default: the largest label + 1).
    pub fn n_classes(mut self, n: usize) -> Self {
        self.0.n_classes = Some(n);
        self
    }
}

impl ParamGuard for KnnClassifierParams {
    type Checked = KnnClassifierValidParams;
    type Error = ModelError;

    fn check_ref(&self) -> Result<&KnnClassifierValidParams, ModelError> {
        if self.0.k == 0 {
            return Err(ModelError::parameter("k", 0, "at least 1"));
        }
        check_n_classes(self.0.n_classes)?;
        Ok(&self.0)
    }

    fn check(self) -> Result<KnnClassifierValidParams, ModelError> {
        self.check_ref()?;
        Ok(self.0)
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

    fn predict_proba(&self, x: &Array2<f64>) -> Result<Array2<f64>, ProbaError> {
        if x.ncols() != self.x.ncols() {
            return Err(ProbaError::WidthMismatch {
                expected: self.x.ncols(),
                found: x.ncols(),
            });
        }
        let k = self.k.min(self.y.len());
        // The training rows interleaved once per call; each distance is the row-by-row sum, bit
        // for bit (`crate::blocked`).
        let blocked = Blocked::new(self.x.view());
        let rows: Vec<Vec<f64>> = x
            .axis_iter(Axis(0))
            .into_par_iter()
            .map_init(Vec::new, |squared, query| {
                blocked.squared_distances(&query.to_vec(), squared);
                let mut distances: Vec<(f64, usize)> = squared
                    .iter()
                    .zip(&self.y)
                    .map(|(d, &label)| (d.sqrt(), label))
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
        Array2::from_shape_vec((x.nrows(), self.n_classes), rows.concat()).map_err(|e| {
            ProbaError::model(format!("the votes did not give one share per class: {e}"))
        })
    }
}

impl Fit<Array2<f64>, Array1<usize>, ModelError> for KnnClassifierValidParams {
    type Object = KnnClassifier;

    fn fit(
        &self,
        dataset: &DatasetBase<Array2<f64>, Array1<usize>>,
    ) -> Result<KnnClassifier, ModelError> {
        let (x, y) = (dataset.records(), dataset.targets());
        if x.nrows() < self.k || x.nrows() != y.len() {
            return Err(ModelError::InvalidData(format!(
                "k-NN with k = {} needs at least k rows with one label each ({} rows, {} labels)",
                self.k,
                x.nrows(),
                y.len()
            )));
        }
        let n_classes = class_count(y, self.n_classes)?;
        Ok(KnnClassifier {
            k: self.k,
            n_classes,
            x: x.clone(),
            y: y.to_vec(),
        })
    }
}

impl crate::check::CheckedFile for KnnClassifier {
    /// At least one neighbour, two classes, one stored row per label, labels below the class
    /// count, and rows within ±[`crate::check::LARGEST`].
    fn check_file(&self, n_features: usize) -> Result<(), String> {
        crate::check::width("the k-NN rows", self.x.ncols(), n_features)?;
        if self.k == 0
            || self.n_classes < 2
            || self.x.nrows() == 0
            || self.x.nrows() != self.y.len()
        {
            return Err(format!(
                "k-NN with k = {}, {} classes, {} rows and {} labels",
                self.k,
                self.n_classes,
                self.x.nrows(),
                self.y.len()
            ));
        }
        if let Some(label) = self.y.iter().find(|&&label| label >= self.n_classes) {
            return Err(format!("label {label} of {} classes", self.n_classes));
        }
        crate::check::bounded("the k-NN rows", self.x.iter())
    }
}
