//! Decision-tree and random-forest regression on smartcore.
//!
//! linfa-trees 0.8 grows classification trees only, so the regression tree comes from smartcore,
//! like the forest (see docs/ARCHITECTURE.md).

use linfa::traits::{Fit, PredictInplace};
use linfa::{DatasetBase, ParamGuard};
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

use crate::error::ModelError;

type Matrix = DenseMatrix<f64>;
type Forest = RandomForestRegressor<f64, f64, Matrix, Vec<f64>>;

fn to_matrix(x: &Array2<f64>) -> Result<Matrix, ModelError> {
    let values: Vec<f64> = x.iter().copied().collect();
    DenseMatrix::new(x.nrows(), x.ncols(), values, false).map_err(ModelError::Smartcore)
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

/// The deepest limit a tree takes.
const MAX_DEPTH: u16 = 1000;

/// Reads `max_depth` from a parameter set, where 0 is unlimited.
fn depth(params: &ParamSet, default: usize) -> Result<Option<u16>, ModelError> {
    match params.usize_or("max_depth", default)? {
        0 => Ok(None),
        value => u16::try_from(value)
            .map(Some)
            .map_err(|_| ModelError::parameter("max_depth", value, "0 (unlimited) or 1..=1000")),
    }
}

/// Checked parameters of [`DecisionTree`], which only [`DecisionTreeParams`]'s check builds.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DecisionTreeValidParams {
    max_depth: Option<u16>,
    min_leaf_rows: usize,
    min_split_rows: usize,
}

impl DecisionTreeValidParams {
    /// Deepest level, `None` for unlimited.
    pub fn max_depth(&self) -> Option<u16> {
        self.max_depth
    }

    /// Fewest rows in a leaf, at least 1.
    pub fn min_leaf_rows(&self) -> usize {
        self.min_leaf_rows
    }

    /// Fewest rows in a node that may be split, at least 2.
    pub fn min_split_rows(&self) -> usize {
        self.min_split_rows
    }
}

/// Parameters of [`DecisionTree`], checked when fitted.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
pub struct DecisionTreeParams(DecisionTreeValidParams);

debug_as_struct!(DecisionTreeParams {
    max_depth,
    min_leaf_rows,
    min_split_rows
});

impl Default for DecisionTreeParams {
    fn default() -> Self {
        DecisionTreeParams(DecisionTreeValidParams {
            max_depth: Some(8),
            min_leaf_rows: 20,
            min_split_rows: 40,
        })
    }
}

impl DecisionTreeParams {
    /// Depth 8, at least 20 rows a leaf and 40 a split.
    pub fn new() -> DecisionTreeParams {
        DecisionTreeParams::default()
    }

    /// Deepest level, `None` for unlimited.
    pub fn max_depth(mut self, depth: Option<u16>) -> Self {
        self.0.max_depth = depth;
        self
    }

    /// Fewest rows in a leaf.
    pub fn min_leaf_rows(mut self, rows: usize) -> Self {
        self.0.min_leaf_rows = rows;
        self
    }

    /// Fewest rows in a node that may be split.
    pub fn min_split_rows(mut self, rows: usize) -> Self {
        self.0.min_split_rows = rows;
        self
    }
}

impl ParamGuard for DecisionTreeParams {
    type Checked = DecisionTreeValidParams;
    type Error = ModelError;

    fn check_ref(&self) -> Result<&DecisionTreeValidParams, ModelError> {
        let params = &self.0;
        check_tree_shape(params.max_depth, params.min_leaf_rows)?;
        if params.min_split_rows < 2 {
            return Err(ModelError::parameter(
                "min_split_rows",
                params.min_split_rows,
                "at least 2",
            ));
        }
        Ok(params)
    }

    fn check(self) -> Result<DecisionTreeValidParams, ModelError> {
        self.check_ref()?;
        Ok(self.0)
    }
}

/// A depth limit is `None` (unlimited) or in 1..=[`MAX_DEPTH`], and a leaf holds a row at
/// least: the checks the tree and the forest share.
fn check_tree_shape(max_depth: Option<u16>, min_leaf_rows: usize) -> Result<(), ModelError> {
    if let Some(depth) = max_depth.filter(|&depth| depth == 0 || depth > MAX_DEPTH) {
        return Err(ModelError::parameter(
            "max_depth",
            depth,
            "None (unlimited) or 1..=1000",
        ));
    }
    if min_leaf_rows == 0 {
        return Err(ModelError::parameter("min_leaf_rows", 0, "at least 1"));
    }
    Ok(())
}

/// A fitted regression tree.
#[derive(Debug, Serialize, Deserialize)]
#[serde(try_from = "DecisionTreeData")]
pub struct DecisionTree {
    n_features: usize,
    tree: DecisionTreeRegressor<f64, f64, Matrix, Vec<f64>>,
}

/// A [`DecisionTree`] as read from a file, before its checks.
#[derive(Deserialize)]
struct DecisionTreeData {
    n_features: usize,
    tree: serde_json::Value,
}

/// smartcore's model read from `value`, naming `what` on failure.
pub(crate) fn smartcore_model<T: serde::de::DeserializeOwned + Serialize>(
    value: serde_json::Value,
    what: &str,
) -> Result<T, ModelError> {
    let model: T = serde_json::from_value(value.clone())
        .map_err(|error| ModelError::InvalidModel(format!("{what}: {error}")))?;
    // smartcore fills a missing optional field (a misspelt key, say) with a default that then
    // predicts NaN: the model must write back exactly what was read.
    if serde_json::to_value(&model).ok().as_ref() != Some(&value) {
        return Err(ModelError::InvalidModel(format!(
            "{what}: fields are missing, misspelt or out of place"
        )));
    }
    Ok(model)
}

impl TryFrom<DecisionTreeData> for DecisionTree {
    type Error = ModelError;

    /// A tree read from a file predicts only if every walk ends at a leaf inside it, on its
    /// own features ([`crate::check::smartcore_trees`]).
    fn try_from(data: DecisionTreeData) -> Result<DecisionTree, ModelError> {
        crate::check::smartcore_trees(&data.tree, data.n_features)
            .map_err(|problem| ModelError::InvalidModel(format!("the tree: {problem}")))?;
        Ok(DecisionTree {
            n_features: data.n_features,
            tree: smartcore_model(data.tree, "the tree")?,
        })
    }
}

impl Fit<Array2<f64>, Array1<f64>, ModelError> for DecisionTreeValidParams {
    type Object = DecisionTree;

    fn fit(
        &self,
        dataset: &DatasetBase<Array2<f64>, Array1<f64>>,
    ) -> Result<DecisionTree, ModelError> {
        check_data(dataset)?;
        let parameters = DecisionTreeRegressorParameters {
            max_depth: self.max_depth,
            min_samples_leaf: self.min_leaf_rows,
            min_samples_split: self.min_split_rows,
            seed: Some(0),
        };
        let tree = DecisionTreeRegressor::fit(
            &to_matrix(dataset.records())?,
            &dataset.targets().to_vec(),
            parameters,
        )
        .map_err(ModelError::Smartcore)?;
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
        Self::search_space().check_names(params)?;
        let min_leaf_rows = params.usize_or("min_leaf_rows", 20)?;
        let built = DecisionTreeParams::new()
            .max_depth(depth(params, 8)?)
            .min_leaf_rows(min_leaf_rows)
            .min_split_rows(2 * min_leaf_rows);
        built.check_ref()?;
        Ok(built)
    }
}

/// Checked parameters of [`RandomForest`], which only [`RandomForestParams`]'s check builds.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RandomForestValidParams {
    n_trees: usize,
    max_depth: Option<u16>,
    min_leaf_rows: usize,
    feature_fraction: f64,
    seed: u64,
}

impl RandomForestValidParams {
    /// Number of trees in all, at least 1.
    pub fn n_trees(&self) -> usize {
        self.n_trees
    }

    /// Deepest level, `None` for unlimited.
    pub fn max_depth(&self) -> Option<u16> {
        self.max_depth
    }

    /// Fewest rows in a leaf, at least 1.
    pub fn min_leaf_rows(&self) -> usize {
        self.min_leaf_rows
    }

    /// Share of the features tried at each split, in (0, 1].
    pub fn feature_fraction(&self) -> f64 {
        self.feature_fraction
    }

    /// Seed of bootstrap samples and feature draws.
    pub fn seed(&self) -> u64 {
        self.seed
    }
}

/// Parameters of [`RandomForest`], checked when fitted. The trees are grown in parallel, in as
/// many independently seeded smartcore forests as there are threads, whose predictions are
/// averaged.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
pub struct RandomForestParams(RandomForestValidParams);

debug_as_struct!(RandomForestParams {
    n_trees,
    max_depth,
    min_leaf_rows,
    feature_fraction,
    seed
});

impl Default for RandomForestParams {
    fn default() -> Self {
        RandomForestParams(RandomForestValidParams {
            n_trees: 200,
            max_depth: None,
            min_leaf_rows: 2,
            feature_fraction: 0.33,
            seed: 0,
        })
    }
}

impl RandomForestParams {
    /// 200 trees of unlimited depth, at least 2 rows a leaf, a third of the features a split.
    pub fn new() -> RandomForestParams {
        RandomForestParams::default()
    }

    /// Number of trees in all, at least 1.
    pub fn n_trees(mut self, n_trees: usize) -> Self {
        self.0.n_trees = n_trees;
        self
    }

    /// Deepest level, `None` for unlimited.
    pub fn max_depth(mut self, depth: Option<u16>) -> Self {
        self.0.max_depth = depth;
        self
    }

    /// Fewest rows in a leaf.
    pub fn min_leaf_rows(mut self, rows: usize) -> Self {
        self.0.min_leaf_rows = rows;
        self
    }

    /// Share of the features tried at each split, in (0, 1].
    pub fn feature_fraction(mut self, fraction: f64) -> Self {
        self.0.feature_fraction = fraction;
        self
    }

    /// Seed of bootstrap samples and feature draws.
    pub fn seed(mut self, seed: u64) -> Self {
        self.0.seed = seed;
        self
    }
}

impl ParamGuard for RandomForestParams {
    type Checked = RandomForestValidParams;
    type Error = ModelError;

    fn check_ref(&self) -> Result<&RandomForestValidParams, ModelError> {
        let params = &self.0;
        if params.n_trees == 0 {
            return Err(ModelError::parameter("n_trees", 0, "at least 1"));
        }
        check_tree_shape(params.max_depth, params.min_leaf_rows)?;
        if !(params.feature_fraction > 0.0 && params.feature_fraction <= 1.0) {
            return Err(ModelError::parameter(
                "feature_fraction",
                params.feature_fraction,
                "a share in (0, 1]",
            ));
        }
        Ok(params)
    }

    fn check(self) -> Result<RandomForestValidParams, ModelError> {
        self.check_ref()?;
        Ok(self.0)
    }
}

/// A fitted random forest: one or more smartcore forests whose predictions are averaged,
/// weighted by their tree counts.
#[derive(Debug, Serialize, Deserialize)]
#[serde(try_from = "RandomForestData")]
pub struct RandomForest {
    n_features: usize,
    forests: Vec<(usize, Forest)>,
}

/// A [`RandomForest`] as read from a file, before its checks.
#[derive(Deserialize)]
struct RandomForestData {
    n_features: usize,
    forests: Vec<(usize, serde_json::Value)>,
}

impl TryFrom<RandomForestData> for RandomForest {
    type Error = ModelError;

    /// A forest read from a file predicts only if each of its forests has as many trees as
    /// its weight says, every tree can be walked ([`crate::check::smartcore_trees`]), and the
    /// weighted sum of the largest leaves stays finite.
    fn try_from(data: RandomForestData) -> Result<RandomForest, ModelError> {
        let problem = |text: String| ModelError::InvalidModel(text);
        if data.forests.is_empty() {
            return Err(problem("the forest holds no trees".into()));
        }
        let mut forests = Vec::with_capacity(data.forests.len());
        let mut reach = Vec::new();
        for (index, (trees, value)) in data.forests.into_iter().enumerate() {
            let what = format!("forest {index}");
            let reaches = crate::check::smartcore_trees(&value, data.n_features)
                .map_err(|p| problem(format!("{what}: {p}")))?;
            if reaches.len() != trees {
                return Err(problem(format!(
                    "{what} has {} trees but a weight of {trees}",
                    reaches.len()
                )));
            }
            reach.extend(reaches);
            forests.push((trees, smartcore_model(value, &what)?));
        }
        crate::check::finite_sum("the leaves of the forest", reach).map_err(problem)?;
        Ok(RandomForest {
            n_features: data.n_features,
            forests,
        })
    }
}

impl Fit<Array2<f64>, Array1<f64>, ModelError> for RandomForestValidParams {
    type Object = RandomForest;

    fn fit(
        &self,
        dataset: &DatasetBase<Array2<f64>, Array1<f64>>,
    ) -> Result<RandomForest, ModelError> {
        check_data(dataset)?;
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
                    min_samples_leaf: self.min_leaf_rows,
                    min_samples_split: 2 * self.min_leaf_rows,
                    n_trees: trees,
                    m: Some(m),
                    keep_samples: false,
                    seed: self.seed.wrapping_mul(1_000_003).wrapping_add(part as u64),
                };
                RandomForestRegressor::fit(&x, &y, parameters)
                    .map(|forest| (trees, forest))
                    .map_err(ModelError::Smartcore)
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

    /// Trees, depth (0 unlimited), leaf size and feature share; `seed` is a setting.
    fn search_space() -> SearchSpace {
        SearchSpace::new()
            .int("n_trees", 100, 400, false)
            .int("max_depth", 0, 30, false)
            .int("min_leaf_rows", 1, 20, true)
            .float("feature_fraction", 0.2, 0.8, false)
            .setting("seed")
    }

    fn from_params(params: &ParamSet) -> Result<Self, ModelError> {
        Self::search_space().check_names(params)?;
        let defaults = RandomForestParams::default().0;
        let built = RandomForestParams::new()
            .n_trees(params.usize_or("n_trees", defaults.n_trees)?)
            .max_depth(depth(params, 0)?)
            .min_leaf_rows(params.usize_or("min_leaf_rows", defaults.min_leaf_rows)?)
            .feature_fraction(params.float_or("feature_fraction", defaults.feature_fraction)?)
            .seed(params.int_or("seed", 0)? as u64);
        built.check_ref()?;
        Ok(built)
    }
}

impl crate::check::CheckedFile for DecisionTree {
    fn check_file(&self, n_features: usize) -> Result<(), String> {
        crate::check::width("the tree", self.n_features, n_features)
    }
}

impl crate::check::CheckedFile for RandomForest {
    fn check_file(&self, n_features: usize) -> Result<(), String> {
        crate::check::width("the forest", self.n_features, n_features)
    }
}
