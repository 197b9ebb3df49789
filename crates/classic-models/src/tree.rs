//! Decision-tree and random-forest regression on smartcore.
//!
//! linfa-trees 0.8 grows classification trees only, so the regression tree comes from smartcore,
//! like the forest (see docs/ARCHITECTURE.md).

use linfa::traits::{Fit, PredictInplace};
use linfa::DatasetBase;
use ndarray::{Array1, Array2};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use smartcore::ensemble::random_forest_regressor::{
    RandomForestRegressor, RandomForestRegressorParameters,
};
use smartcore::linalg::basic::matrix::DenseMatrix;
use smartcore::tree::decision_tree_regressor::{
    DecisionTreeRegressor, DecisionTreeRegressorParameters,
};

use evaluation::{ParamSet, ParamSetExt, SearchSpace, Tunable};

use crate::boosting::to_usize;
use crate::error::ModelError;

type Matrix = DenseMatrix<f64>;
type Forest = RandomForestRegressor<f64, f64, Matrix, Vec<f64>>;

fn to_matrix(x: &Array2<f64>) -> Result<Matrix, ModelError> {
    let values: Vec<f64> = x.iter().copied().collect();
    DenseMatrix::new(x.nrows(), x.ncols(), values, false)
        .map_err(|e| ModelError::Smartcore(e.to_string()))
}

fn check_data(dataset: &DatasetBase<Array2<f64>, Array1<f64>>) -> Result<(), ModelError> {
    let (x, y) = (dataset.records(), dataset.targets());
    if x.nrows() == 0 || x.nrows() != y.len() || x.iter().chain(y.iter()).any(|v| !v.is_finite()) {
        return Err(ModelError::InvalidData(
            "trees need equal, non-empty, finite rows and targets".into(),
        ));
    }
    Ok(())
}

fn depth(value: i64) -> Result<Option<u16>, ModelError> {
    match value {
        0 => Ok(None),
        1..=1000 => Ok(Some(value as u16)),
        _ => Err(ModelError::InvalidParams(format!(
            "max_depth must be 0 (unlimited) or 1..=1000, not {value}"
        ))),
    }
}

/// Parameters of [`DecisionTree`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DecisionTreeParams {
    /// Deepest level, `None` for unlimited.
    pub max_depth: Option<u16>,
    /// Fewest rows in a leaf.
    pub min_leaf_rows: usize,
    /// Fewest rows in a node that may be split.
    pub min_split_rows: usize,
}

impl Default for DecisionTreeParams {
    fn default() -> Self {
        DecisionTreeParams {
            max_depth: Some(8),
            min_leaf_rows: 20,
            min_split_rows: 40,
        }
    }
}

/// A fitted regression tree.
#[derive(Debug, Serialize, Deserialize)]
pub struct DecisionTree {
    n_features: usize,
    tree: DecisionTreeRegressor<f64, f64, Matrix, Vec<f64>>,
}

impl Fit<Array2<f64>, Array1<f64>, ModelError> for DecisionTreeParams {
    type Object = DecisionTree;

    fn fit(
        &self,
        dataset: &DatasetBase<Array2<f64>, Array1<f64>>,
    ) -> Result<DecisionTree, ModelError> {
        check_data(dataset)?;
        let parameters = DecisionTreeRegressorParameters {
            max_depth: self.max_depth,
            min_samples_leaf: self.min_leaf_rows.max(1),
            min_samples_split: self.min_split_rows.max(2),
            seed: Some(0),
        };
        let tree = DecisionTreeRegressor::fit(
            &to_matrix(dataset.records())?,
            &dataset.targets().to_vec(),
            parameters,
        )
        .map_err(|e| ModelError::Smartcore(e.to_string()))?;
        Ok(DecisionTree {
            n_features: dataset.records().ncols(),
            tree,
        })
    }
}

impl PredictInplace<Array2<f64>, Array1<f64>> for DecisionTree {
    fn predict_inplace(&self, x: &Array2<f64>, y: &mut Array1<f64>) {
        let predicted = (x.ncols() == self.n_features)
            .then(|| to_matrix(x).ok())
            .flatten()
            .and_then(|m| self.tree.predict(&m).ok());
        match predicted {
            Some(values) if values.len() == y.len() => y.assign(&Array1::from(values)),
            _ => y.fill(f64::NAN),
        }
    }

    fn default_target(&self, x: &Array2<f64>) -> Array1<f64> {
        Array1::zeros(x.nrows())
    }
}

impl Tunable for DecisionTreeParams {
    type Error = ModelError;

    fn search_space() -> SearchSpace {
        SearchSpace::new()
            .int("max_depth", 3, 16, false)
            .int("min_leaf_rows", 1, 100, true)
    }

    fn from_params(params: &ParamSet) -> Result<Self, ModelError> {
        let min_leaf_rows = to_usize(params.int_or("min_leaf_rows", 20)?, "min_leaf_rows")?;
        Ok(DecisionTreeParams {
            max_depth: depth(params.int_or("max_depth", 8)?)?,
            min_leaf_rows,
            min_split_rows: 2 * min_leaf_rows,
        })
    }
}

/// Parameters of [`RandomForest`]. The trees are grown in parallel, in as many independently
/// seeded smartcore forests as there are threads, whose predictions are averaged.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RandomForestParams {
    /// Number of trees in all.
    pub n_trees: usize,
    /// Deepest level, `None` for unlimited.
    pub max_depth: Option<u16>,
    /// Fewest rows in a leaf.
    pub min_leaf_rows: usize,
    /// Share of the features tried at each split.
    pub feature_fraction: f64,
    /// Seed of bootstrap samples and feature draws.
    pub seed: u64,
}

impl Default for RandomForestParams {
    fn default() -> Self {
        RandomForestParams {
            n_trees: 200,
            max_depth: None,
            min_leaf_rows: 2,
            feature_fraction: 0.33,
            seed: 0,
        }
    }
}

/// A fitted random forest: one or more smartcore forests whose predictions are averaged,
/// weighted by their tree counts.
#[derive(Debug, Serialize, Deserialize)]
pub struct RandomForest {
    n_features: usize,
    forests: Vec<(usize, Forest)>,
}

impl Fit<Array2<f64>, Array1<f64>, ModelError> for RandomForestParams {
    type Object = RandomForest;

    fn fit(
        &self,
        dataset: &DatasetBase<Array2<f64>, Array1<f64>>,
    ) -> Result<RandomForest, ModelError> {
        check_data(dataset)?;
        if self.n_trees == 0 || !(self.feature_fraction > 0.0 && self.feature_fraction <= 1.0) {
            return Err(ModelError::InvalidParams(
                "a forest needs n_trees >= 1 and feature_fraction in (0, 1]".into(),
            ));
        }
        let n_features = dataset.records().ncols();
        let m = ((n_features as f64 * self.feature_fraction).round() as usize).clamp(1, n_features);
        let x = to_matrix(dataset.records())?;
        let y = dataset.targets().to_vec();
        let parts = rayon::current_num_threads().clamp(1, self.n_trees);
        let forests = (0..parts)
            .into_par_iter()
            .map(|part| {
                let trees = self.n_trees / parts + usize::from(part < self.n_trees % parts);
                let parameters = RandomForestRegressorParameters {
                    max_depth: self.max_depth,
                    min_samples_leaf: self.min_leaf_rows.max(1),
                    min_samples_split: (2 * self.min_leaf_rows).max(2),
                    n_trees: trees,
                    m: Some(m),
                    keep_samples: false,
                    seed: self.seed.wrapping_mul(1_000_003).wrapping_add(part as u64),
                };
                RandomForestRegressor::fit(&x, &y, parameters)
                    .map(|forest| (trees, forest))
                    .map_err(|e| ModelError::Smartcore(e.to_string()))
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(RandomForest {
            n_features,
            forests,
        })
    }
}

impl PredictInplace<Array2<f64>, Array1<f64>> for RandomForest {
    fn predict_inplace(&self, x: &Array2<f64>, y: &mut Array1<f64>) {
        let Some(matrix) = (x.ncols() == self.n_features)
            .then(|| to_matrix(x).ok())
            .flatten()
        else {
            y.fill(f64::NAN);
            return;
        };
        let total: usize = self.forests.iter().map(|(trees, _)| trees).sum();
        let mut sum = Array1::zeros(x.nrows());
        for (trees, forest) in &self.forests {
            match forest.predict(&matrix) {
                Ok(values) if values.len() == sum.len() => {
                    sum.scaled_add(*trees as f64 / total as f64, &Array1::from(values))
                }
                _ => {
                    y.fill(f64::NAN);
                    return;
                }
            }
        }
        y.assign(&sum);
    }

    fn default_target(&self, x: &Array2<f64>) -> Array1<f64> {
        Array1::zeros(x.nrows())
    }
}

impl Tunable for RandomForestParams {
    type Error = ModelError;

    fn search_space() -> SearchSpace {
        SearchSpace::new()
            .int("n_trees", 100, 400, false)
            .int("max_depth", 0, 30, false)
            .int("min_leaf_rows", 1, 20, true)
            .float("feature_fraction", 0.2, 0.8, false)
    }

    fn from_params(params: &ParamSet) -> Result<Self, ModelError> {
        let defaults = RandomForestParams::default();
        Ok(RandomForestParams {
            n_trees: to_usize(
                params.int_or("n_trees", defaults.n_trees as i64)?,
                "n_trees",
            )?,
            max_depth: depth(params.int_or("max_depth", 0)?)?,
            min_leaf_rows: to_usize(
                params.int_or("min_leaf_rows", defaults.min_leaf_rows as i64)?,
                "min_leaf_rows",
            )?,
            feature_fraction: params.float_or("feature_fraction", defaults.feature_fraction)?,
            seed: params.int_or("seed", 0)? as u64,
        })
    }
}
