//! k-nearest-neighbour regression by brute force (exact), parallel over query rows.

use linfa::traits::{Fit, PredictInplace};
use linfa::{DatasetBase, ParamGuard};
use ndarray::{Array1, Array2, Axis};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use evaluation::{ParamSet, ParamSetExt, SearchSpace, Tunable, Value};

use crate::blocked::Blocked;
use crate::error::ModelError;

/// How neighbours' targets are averaged.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Weighting {
    /// Plain mean.
    Uniform,
    /// Weighted by inverse distance (an exact match takes all the weight).
    Distance,
}

/// Checked parameters of [`Knn`], which only [`KnnParams`]'s check builds.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct KnnValidParams {
    k: usize,
    weighting: Weighting,
}

impl KnnValidParams {
    /// Number of neighbours, at least 1.
    pub fn k(&self) -> usize {
        self.k
    }

    /// How neighbours are averaged.
    pub fn weighting(&self) -> Weighting {
        self.weighting
    }
}

/// Parameters of [`Knn`], checked when fitted. Use it inside [`crate::Scaled`]: distances need
/// comparable columns.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
pub struct KnnParams(KnnValidParams);

debug_as_struct!(KnnParams { k, weighting });

impl Default for KnnParams {
    fn default() -> Self {
        KnnParams::new()
    }
}

impl KnnParams {
    /// 10 neighbours, distance-weighted.
    pub fn new() -> KnnParams {
        KnnParams(KnnValidParams {
            k: 10,
            weighting: Weighting::Distance,
        })
    }

    /// Number of neighbours, at least 1.
    pub fn k(mut self, k: usize) -> Self {
        self.0.k = k;
        self
    }

    /// How neighbours are averaged.
    pub fn weighting(mut self, weighting: Weighting) -> Self {
        self.0.weighting = weighting;
        self
    }
}

impl ParamGuard for KnnParams {
    type Checked = KnnValidParams;
    type Error = ModelError;

    fn check_ref(&self) -> Result<&KnnValidParams, ModelError> {
        if self.0.k == 0 {
            return Err(ModelError::parameter("k", self.0.k, "at least 1"));
        }
        Ok(&self.0)
    }

    fn check(self) -> Result<KnnValidParams, ModelError> {
        self.check_ref()?;
        Ok(self.0)
    }
}

/// A fitted k-NN model: the training rows themselves.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Knn {
    params: KnnValidParams,
    x: Array2<f64>,
    y: Array1<f64>,
}

impl Fit<Array2<f64>, Array1<f64>, ModelError> for KnnValidParams {
    type Object = Knn;

    fn fit(&self, dataset: &DatasetBase<Array2<f64>, Array1<f64>>) -> Result<Knn, ModelError> {
        let (x, y) = (dataset.records(), dataset.targets());
        if x.nrows() < self.k || x.nrows() != y.len() {
            return Err(ModelError::InvalidData(format!(
                "k-NN with k = {} needs at least k rows with one target each ({} rows, {} targets)",
                self.k,
                x.nrows(),
                y.len()
            )));
        }
        Ok(Knn {
            params: self.clone(),
            x: x.clone(),
            y: y.clone(),
        })
    }
}

impl Knn {
    /// The prediction of one row from its squared distance to every training row.
    fn predict_from(&self, distances: &[f64]) -> f64 {
        let mut nearest: Vec<(f64, usize)> = distances.iter().copied().zip(0..).collect();
        let k = self.params.k.min(nearest.len());
        nearest.select_nth_unstable_by(k - 1, |a, b| a.0.total_cmp(&b.0));
        let nearest = &nearest[..k];
        match self.params.weighting {
            Weighting::Uniform => nearest.iter().map(|&(_, i)| self.y[i]).sum::<f64>() / k as f64,
            Weighting::Distance => {
                if let Some(&(_, i)) = nearest.iter().find(|(d, _)| *d == 0.0) {
                    return self.y[i];
                }
                let (sum, weight) = nearest.iter().fold((0.0, 0.0), |(s, w), &(d, i)| {
                    let weight = 1.0 / d.sqrt();
                    (s + weight * self.y[i], w + weight)
                });
                sum / weight
            }
        }
    }
}

impl PredictInplace<Array2<f64>, Array1<f64>> for Knn {
    fn predict_inplace(&self, x: &Array2<f64>, y: &mut Array1<f64>) {
        if x.ncols() != self.x.ncols() || y.len() != x.nrows() {
            y.fill(f64::NAN);
            return;
        }
        // The training rows interleaved once per call; each row's distances are the
        // row-by-row sums, bit for bit (`crate::blocked`).
        let blocked = Blocked::new(self.x.view());
        let values: Vec<f64> = x
            .axis_iter(Axis(0))
            .into_par_iter()
            .map_init(Vec::new, |distances, row| {
                blocked.squared_distances(&row.to_vec(), distances);
                self.predict_from(distances)
            })
            .collect();
        y.assign(&Array1::from(values));
    }

    fn default_target(&self, x: &Array2<f64>) -> Array1<f64> {
        Array1::zeros(x.nrows())
    }
}

impl Tunable for KnnParams {
    type Error = ModelError;

    fn search_space() -> SearchSpace {
        SearchSpace::new().int("k", 3, 60, true).choice(
            "weighting",
            ["uniform", "distance"].map(|w| Value::Text(w.into())),
        )
    }

    fn from_params(params: &ParamSet) -> Result<Self, ModelError> {
        Self::search_space().check_names(params)?;
        let weighting = match params.text_or("weighting", "distance")? {
            "uniform" => Weighting::Uniform,
            "distance" => Weighting::Distance,
            other => {
                return Err(ModelError::parameter(
                    "weighting",
                    format!("{other:?}"),
                    "uniform or distance",
                ))
            }
        };
        let built = KnnParams::new()
            .k(params.usize_or("k", 10)?)
            .weighting(weighting);
        built.check_ref()?;
        Ok(built)
    }
}

impl crate::check::CheckedFile for Knn {
    /// At least one neighbour and one stored row per target, rows and targets within
    /// ±[`crate::check::LARGEST`].
    fn check_file(&self, n_features: usize) -> Result<(), String> {
        crate::check::width("the k-NN rows", self.x.ncols(), n_features)?;
        if self.params.k == 0 || self.x.nrows() == 0 || self.x.nrows() != self.y.len() {
            return Err(format!(
                "k-NN with k = {}, {} rows and {} targets",
                self.params.k,
                self.x.nrows(),
                self.y.len()
            ));
        }
        crate::check::bounded("the k-NN rows", self.x.iter())?;
        // Distance weights can be large: their weighted sum overflows before the division that
        // would bring it back, unless the targets are bounded too.
        crate::check::bounded("the k-NN targets", self.y.iter())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use linfa::traits::Predict;
    use ndarray::array;

    #[test]
    fn knn_averages_the_nearest_targets() {
        let x = array![[0.0], [1.0], [2.0], [10.0]];
        let y = array![0.0, 1.0, 2.0, 10.0];
        let model = KnnParams::new()
            .k(2)
            .weighting(Weighting::Uniform)
            .fit(&DatasetBase::new(x, y))
            .unwrap();
        assert_eq!(model.predict(&array![[0.4], [9.0]]), array![0.5, 6.0]);
    }

    #[test]
    fn distance_weighting_returns_exact_matches() {
        let x = array![[0.0], [1.0], [2.0]];
        let y = array![5.0, 7.0, 9.0];
        let model = KnnParams::new().k(3).fit(&DatasetBase::new(x, y)).unwrap();
        assert_eq!(model.predict(&array![[1.0]]), array![7.0]);
    }
}
