//! Gradient-boosted regression trees: histogram-based and grown leaf-wise, in the manner of
//! LightGBM, with row bagging, feature sub-sampling and L2, L1 or Huber loss.
//!
//! With the squared loss it fits LightGBM 4's trees: the same bins, growth, gains and leaf
//! values, gradients at LightGBM's `f32` precision, and bags and feature samples drawn as
//! LightGBM draws them (`draws.rs`), so `seed(s)` here and `seed=s` there give the same model.
//! `tools/compare_peers` checks this on the chart tracks, prediction by prediction.
//!
//! The engine is `boost_core.rs`, which the classifier shares; this module is its
//! regression objectives. `docs/BOOSTING.md` records why this is written here rather than taken from a crate: it was
//! measured against `perpetual`, `forust-ml` and Python LightGBM on the chart tracks.

use linfa::traits::{Fit, PredictInplace};
use linfa::{DatasetBase, ParamGuard};
use ndarray::{Array1, Array2, ArrayView1, ArrayView2, Axis};
use serde::{Deserialize, Serialize};

use evaluation::classification::holdout;
use evaluation::{ParamSet, ParamSetExt, SearchSpace, Tunable, Value};

use crate::boost_core::{self, GrowRules, LeafSums, Objective, RoundRules, Validation};
use crate::boosted_tree::{check_reach, check_trees, flatten, Tree};
use crate::error::ModelError;
use crate::flat_trees::FlatTrees;
use crate::lightgbm::{self, PlainNode};

/// The loss the trees descend.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub enum Loss {
    /// Squared error; leaves predict the mean residual.
    Squared,
    /// Absolute error; leaves predict the median residual (what MAE rewards).
    Absolute,
    /// Huber loss with this threshold: squared near zero, absolute beyond.
    Huber(f64),
}

impl Loss {
    /// The loss's name in search spaces and reports.
    pub fn name(&self) -> &'static str {
        match self {
            Loss::Squared => "l2",
            Loss::Absolute => "l1",
            Loss::Huber(_) => "huber",
        }
    }
}

/// Checked parameters of [`Boosting`], which only [`BoostingParams`]'s check builds.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BoostingValidParams {
    n_trees: usize,
    learning_rate: f64,
    max_leaves: usize,
    max_depth: Option<usize>,
    min_leaf_rows: usize,
    l2_regularisation: f64,
    min_split_gain: f64,
    row_fraction: f64,
    feature_fraction: f64,
    max_bins: usize,
    loss: Loss,
    seed: u64,
    #[serde(default)]
    validation_fraction: f64,
    #[serde(default = "default_early_stopping_rounds")]
    early_stopping_rounds: usize,
}

fn default_early_stopping_rounds() -> usize {
    50
}

impl BoostingValidParams {
    /// Number of trees (the most, with early stopping).
    pub fn n_trees(&self) -> usize {
        self.n_trees
    }

    /// The loss.
    pub fn loss(&self) -> Loss {
        self.loss
    }

    /// Seed of bagging, feature sampling and the held-out rows.
    pub fn seed(&self) -> u64 {
        self.seed
    }

    fn grow_rules(&self) -> GrowRules {
        GrowRules {
            max_leaves: self.max_leaves,
            max_depth: self.max_depth,
            min_leaf_rows: self.min_leaf_rows,
            min_leaf_hessian: 0.0,
            l2: self.l2_regularisation,
            min_split_gain: self.min_split_gain,
            max_bins: self.max_bins,
        }
    }

    fn round_rules(&self) -> RoundRules {
        RoundRules {
            n_rounds: self.n_trees,
            learning_rate: self.learning_rate,
            row_fraction: self.row_fraction,
            feature_fraction: self.feature_fraction,
            seed: self.seed,
            early_stopping_rounds: self.early_stopping_rounds,
        }
    }
}

/// Parameters of [`Boosting`], checked when fitted (linfa's `ParamGuard`).
#[derive(Clone, PartialEq, Serialize, Deserialize)]
pub struct BoostingParams(BoostingValidParams);

debug_as_struct!(BoostingParams {
    n_trees,
    learning_rate,
    max_leaves,
    max_depth,
    min_leaf_rows,
    l2_regularisation,
    min_split_gain,
    row_fraction,
    feature_fraction,
    max_bins,
    loss,
    seed,
    validation_fraction,
    early_stopping_rounds,
});

impl Default for BoostingParams {
    fn default() -> Self {
        BoostingParams::new()
    }
}

impl BoostingParams {
    /// LightGBM-like defaults: 500 trees, learning rate 0.05, 31 leaves, 20 rows per leaf, no
    /// early stopping.
    pub fn new() -> BoostingParams {
        BoostingParams(BoostingValidParams {
            n_trees: 500,
            learning_rate: 0.05,
            max_leaves: 31,
            max_depth: None,
            min_leaf_rows: 20,
            l2_regularisation: 0.0,
            min_split_gain: 0.0,
            row_fraction: 1.0,
            feature_fraction: 1.0,
            max_bins: 255,
            loss: Loss::Squared,
            seed: 0,
            validation_fraction: 0.0,
            early_stopping_rounds: default_early_stopping_rounds(),
        })
    }

    /// Number of trees (the most, with early stopping).
    pub fn n_trees(mut self, n: usize) -> Self {
        self.0.n_trees = n;
        self
    }

    /// Shrinkage of each tree's contribution.
    pub fn learning_rate(mut self, rate: f64) -> Self {
        self.0.learning_rate = rate;
        self
    }

    /// Most leaves per tree.
    pub fn max_leaves(mut self, leaves: usize) -> Self {
        self.0.max_leaves = leaves;
        self
    }

    /// Deepest a leaf may be (`None`: limited only by `max_leaves`).
    pub fn max_depth(mut self, depth: Option<usize>) -> Self {
        self.0.max_depth = depth;
        self
    }

    /// Fewest training rows in a leaf.
    pub fn min_leaf_rows(mut self, rows: usize) -> Self {
        self.0.min_leaf_rows = rows;
        self
    }

    /// L2 penalty on leaf values (LightGBM's `lambda_l2`).
    pub fn l2_regularisation(mut self, lambda: f64) -> Self {
        self.0.l2_regularisation = lambda;
        self
    }

    /// Smallest gain a split must bring.
    pub fn min_split_gain(mut self, gain: f64) -> Self {
        self.0.min_split_gain = gain;
        self
    }

    /// Fraction of rows each tree is grown on (bagging, drawn anew per tree: each row is in a
    /// tree's bag with this probability, as in LightGBM).
    pub fn row_fraction(mut self, fraction: f64) -> Self {
        self.0.row_fraction = fraction;
        self
    }

    /// Fraction of features each tree may split on.
    pub fn feature_fraction(mut self, fraction: f64) -> Self {
        self.0.feature_fraction = fraction;
        self
    }

    /// Most histogram bins per feature (2..=256).
    pub fn max_bins(mut self, bins: usize) -> Self {
        self.0.max_bins = bins;
        self
    }

    /// The loss.
    pub fn loss(mut self, loss: Loss) -> Self {
        self.0.loss = loss;
        self
    }

    /// Seed of bagging and feature sampling; LightGBM's `seed` parameter draws the same.
    pub fn seed(mut self, seed: u64) -> Self {
        self.0.seed = seed;
        self
    }

    /// Share of training rows held out for early stopping (0, the default: none, every tree
    /// is kept). The held-out rows are [`evaluation::classification::holdout`]'s for the seed.
    pub fn validation_fraction(mut self, fraction: f64) -> Self {
        self.0.validation_fraction = fraction;
        self
    }

    /// Trees without a better held-out loss before the fit stops.
    pub fn early_stopping_rounds(mut self, rounds: usize) -> Self {
        self.0.early_stopping_rounds = rounds;
        self
    }
}

impl ParamGuard for BoostingParams {
    type Checked = BoostingValidParams;
    type Error = ModelError;

    fn check_ref(&self) -> Result<&BoostingValidParams, ModelError> {
        let p = &self.0;
        if p.n_trees == 0 {
            return Err(ModelError::parameter("n_trees", 0, "at least 1"));
        }
        p.grow_rules().check()?;
        p.round_rules().check()?;
        if let Loss::Huber(delta) = p.loss {
            if !(delta > 0.0 && delta.is_finite()) {
                return Err(ModelError::parameter(
                    "huber_delta",
                    delta,
                    "finite and > 0",
                ));
            }
        }
        if !(0.0..1.0).contains(&p.validation_fraction) {
            let value = p.validation_fraction;
            return Err(ModelError::parameter(
                "validation_fraction",
                value,
                "[0, 1)",
            ));
        }
        Ok(p)
    }

    fn check(self) -> Result<BoostingValidParams, ModelError> {
        self.check_ref()?;
        Ok(self.0)
    }
}

/// A fitted gradient-boosting model.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "BoostingData")]
pub struct Boosting {
    base: f64,
    trees: Vec<Tree>,
    n_features: usize,
    gain: Vec<f64>,
    splits: Vec<usize>,
    /// The trees flattened for prediction, built from `trees` when fitted or read.
    #[serde(skip_serializing)]
    flat: FlatTrees,
}

/// [`Boosting`] as read from a file, before it is checked.
#[derive(Deserialize)]
struct BoostingData {
    base: f64,
    trees: Vec<Tree>,
    n_features: usize,
    gain: Vec<f64>,
    splits: Vec<usize>,
}

impl TryFrom<BoostingData> for Boosting {
    type Error = ModelError;

    /// A model read from a file predicts only if it could have been fitted: a finite base,
    /// trees over its own features ([`check_trees`]), and one importance per feature.
    fn try_from(data: BoostingData) -> Result<Boosting, ModelError> {
        if !data.base.is_finite() {
            return Err(ModelError::InvalidModel(format!(
                "the base score is {}",
                data.base
            )));
        }
        if data.gain.len() != data.n_features || data.splits.len() != data.n_features {
            return Err(ModelError::InvalidModel(format!(
                "{} features but {} gains and {} split counts",
                data.n_features,
                data.gain.len(),
                data.splits.len()
            )));
        }
        check_trees(&data.trees, data.n_features)?;
        check_reach("the prediction", data.base, &data.trees)?;
        Ok(Boosting {
            flat: flatten(data.n_features, 1, data.trees.iter().map(|tree| (0, tree)))?,
            base: data.base,
            trees: data.trees,
            n_features: data.n_features,
            gain: data.gain,
            splits: data.splits,
        })
    }
}

impl Boosting {
    /// Total split gain per feature: the model's own importance.
    pub fn gain_importance(&self) -> &[f64] {
        &self.gain
    }

    /// Number of splits per feature.
    pub fn split_counts(&self) -> &[usize] {
        &self.splits
    }

    /// Number of trees.
    pub fn n_trees(&self) -> usize {
        self.trees.len()
    }

    /// Number of input columns the model was fitted on.
    pub fn n_features(&self) -> usize {
        self.n_features
    }

    /// Predicts every row, failing on a wrong number of columns.
    pub fn try_predict(&self, x: ArrayView2<'_, f64>) -> Result<Array1<f64>, ModelError> {
        self.check_width(x)?;
        Ok(Array1::from(self.flat.sums(x, &[self.base])))
    }

    /// Predicts every row as [`Boosting::try_predict`] does, walking each tree node by node:
    /// the reference the flattened trees are tested and measured against, bit for bit the same.
    pub fn try_predict_walking(&self, x: ArrayView2<'_, f64>) -> Result<Array1<f64>, ModelError> {
        self.check_width(x)?;
        let rounds: Vec<&[Tree]> = self.trees.iter().map(std::slice::from_ref).collect();
        Ok(Array1::from(boost_core::raw_scores(
            x,
            &[self.base],
            &rounds,
        )))
    }

    fn check_width(&self, x: ArrayView2<'_, f64>) -> Result<(), ModelError> {
        ModelError::check_width(self.n_features, x.ncols())
    }

    /// The model in LightGBM's text format over columns `names` ([`crate::lightgbm`]):
    /// LightGBM's `predict` on it gives the same sums, added in the same order.
    pub fn to_lightgbm(&self, names: &[String]) -> Result<String, ModelError> {
        let mut trees: Vec<Vec<PlainNode>> = self.trees.iter().map(Tree::plain).collect();
        let first = (!trees.is_empty()).then(|| trees.remove(0));
        trees.insert(0, lightgbm::with_bias(first, self.base));
        lightgbm::model_text(
            lightgbm::Objective::Regression,
            names,
            self.n_features,
            &trees,
        )
    }
}

impl PredictInplace<Array2<f64>, Array1<f64>> for Boosting {
    fn predict_inplace(&self, x: &Array2<f64>, y: &mut Array1<f64>) {
        match self.try_predict(x.view()) {
            Ok(values) if values.len() == y.len() => y.assign(&values),
            _ => y.fill(f64::NAN),
        }
    }

    fn default_target(&self, x: &Array2<f64>) -> Array1<f64> {
        Array1::zeros(x.nrows())
    }
}

fn median(values: &mut [f64]) -> f64 {
    if values.is_empty() {
        return 0.0;
    }
    let middle = values.len() / 2;
    let (_, upper, _) = values.select_nth_unstable_by(middle, f64::total_cmp);
    let upper = *upper;
    if values.len() % 2 == 1 {
        upper
    } else {
        let lower = values[..middle]
            .iter()
            .copied()
            .fold(f64::NEG_INFINITY, f64::max);
        (lower + upper) / 2.0
    }
}

/// The regression losses as objectives of the engine: one output, unit hessians.
impl Objective for Loss {
    /// Targets at `f32` precision, as LightGBM stores labels.
    type Target = f64;

    fn n_outputs(&self) -> usize {
        1
    }

    fn base(&self, targets: &[f64]) -> Vec<f64> {
        vec![match self {
            Loss::Squared => targets.iter().sum::<f64>() / targets.len() as f64,
            Loss::Absolute | Loss::Huber(_) => median(&mut targets.to_vec()),
        }]
    }

    /// The gradients, held at `f32` precision as LightGBM holds them (its `score_t`), so that
    /// both add up the same histograms.
    fn derivatives(&self, raw: &[f64], targets: &[f64]) -> Vec<(Vec<f64>, Option<Vec<f64>>)> {
        let gradients = raw
            .iter()
            .zip(targets)
            .map(|(&prediction, &target)| {
                let residual = prediction - target;
                let gradient = match self {
                    Loss::Squared => residual,
                    Loss::Absolute => residual.signum(),
                    Loss::Huber(delta) => residual.clamp(-delta, *delta),
                };
                f64::from(gradient as f32)
            })
            .collect();
        vec![(gradients, None)]
    }

    /// The mean residual (shrunk by L2) for the squared and Huber losses; the median residual
    /// for the absolute loss, which is what it rewards.
    fn leaf_value(&self, leaf: &LeafSums<'_>, _: usize, raw: &[f64], targets: &[f64]) -> f64 {
        match self {
            Loss::Absolute => {
                let mut residuals: Vec<f64> = leaf
                    .rows
                    .iter()
                    .map(|&r| targets[r as usize] - raw[r as usize])
                    .collect();
                median(&mut residuals)
            }
            Loss::Squared | Loss::Huber(_) => leaf.newton(),
        }
    }

    fn loss(&self, raw: &[f64], targets: &[f64]) -> f64 {
        let total: f64 = raw
            .iter()
            .zip(targets)
            .map(|(&prediction, &target)| {
                let residual = (prediction - target).abs();
                match self {
                    Loss::Squared => residual * residual,
                    Loss::Absolute => residual,
                    Loss::Huber(delta) if residual <= *delta => 0.5 * residual * residual,
                    Loss::Huber(delta) => delta * (residual - 0.5 * delta),
                }
            })
            .sum();
        total / targets.len().max(1) as f64
    }
}

impl BoostingValidParams {
    fn fit_arrays(
        &self,
        x: ArrayView2<'_, f64>,
        y: ArrayView1<'_, f64>,
    ) -> Result<Boosting, ModelError> {
        if x.nrows() != y.len() {
            return Err(ModelError::InvalidData(format!(
                "{} rows of features but {} targets",
                x.nrows(),
                y.len()
            )));
        }
        if y.iter().any(|v| !v.is_finite()) {
            return Err(ModelError::InvalidData(
                "targets contain NaN or infinity".into(),
            ));
        }
        // Targets at `f32` precision, as LightGBM stores labels.
        let targets: Vec<f64> = y.iter().map(|&t| f64::from(t as f32)).collect();
        let split = holdout(x.nrows(), self.validation_fraction, self.seed);
        if split.validation.is_empty() {
            return self.fit_rows(x, &targets, None);
        }
        let held_x = x.select(Axis(0), &split.validation);
        let held_y: Vec<f64> = split.validation.iter().map(|&r| targets[r]).collect();
        let fit_y: Vec<f64> = split.train.iter().map(|&r| targets[r]).collect();
        let validation = Validation {
            x: held_x.view(),
            targets: &held_y,
        };
        self.fit_rows(
            x.select(Axis(0), &split.train).view(),
            &fit_y,
            Some(validation),
        )
    }

    /// Boosts on `x` and `targets`, stopping early on `validation` if given.
    fn fit_rows(
        &self,
        x: ArrayView2<'_, f64>,
        targets: &[f64],
        validation: Option<Validation<'_, f64>>,
    ) -> Result<Boosting, ModelError> {
        if x.nrows() < 2 * self.min_leaf_rows {
            return Err(ModelError::InvalidData(format!(
                "{} rows are too few for leaves of {} rows",
                x.nrows(),
                self.min_leaf_rows
            )));
        }
        let (grow, rounds) = (self.grow_rules(), self.round_rules());
        let fitted = boost_core::fit(&self.loss, x, targets, validation, &grow, &rounds);
        let trees: Vec<Tree> = fitted.rounds.into_iter().flatten().collect();
        Ok(Boosting {
            flat: flatten(x.ncols(), 1, trees.iter().map(|tree| (0, tree)))?,
            base: fitted.base[0],
            trees,
            n_features: x.ncols(),
            gain: fitted.gain,
            splits: fitted.splits,
        })
    }
}

impl Fit<Array2<f64>, Array1<f64>, ModelError> for BoostingValidParams {
    type Object = Boosting;

    fn fit(&self, dataset: &DatasetBase<Array2<f64>, Array1<f64>>) -> Result<Boosting, ModelError> {
        self.fit_arrays(dataset.records().view(), dataset.targets().view())
    }
}

impl Tunable for BoostingParams {
    type Error = ModelError;

    fn search_space() -> SearchSpace {
        SearchSpace::new()
            .int("n_trees", 600, 3000, true)
            .float("learning_rate", 0.008, 0.05, true)
            .int("max_leaves", 8, 64, true)
            .int("min_leaf_rows", 5, 60, true)
            .float("l2_regularisation", 0.01, 30.0, true)
            .float("row_fraction", 0.6, 1.0, false)
            .float("feature_fraction", 0.3, 0.9, false)
            .choice(
                "loss",
                ["l2", "l1", "huber"].map(|name| Value::Text(name.into())),
            )
            .setting("huber_delta")
            .setting("min_split_gain")
            .setting("max_bins")
            .setting("seed")
    }

    fn from_params(params: &ParamSet) -> Result<Self, ModelError> {
        Self::search_space().check_names(params)?;
        let defaults = BoostingParams::new().0;
        let loss = match params.text_or("loss", defaults.loss.name())? {
            "l2" => Loss::Squared,
            "l1" => Loss::Absolute,
            "huber" => Loss::Huber(params.float_or("huber_delta", 0.1)?),
            other => {
                return Err(ModelError::parameter(
                    "loss",
                    format!("{other:?}"),
                    "l2, l1 or huber",
                ))
            }
        };
        let built = BoostingParams::new()
            .n_trees(params.usize_or("n_trees", defaults.n_trees)?)
            .learning_rate(params.float_or("learning_rate", defaults.learning_rate)?)
            .max_leaves(params.usize_or("max_leaves", defaults.max_leaves)?)
            .min_leaf_rows(params.usize_or("min_leaf_rows", defaults.min_leaf_rows)?)
            .l2_regularisation(params.float_or("l2_regularisation", defaults.l2_regularisation)?)
            .min_split_gain(params.float_or("min_split_gain", defaults.min_split_gain)?)
            .row_fraction(params.float_or("row_fraction", defaults.row_fraction)?)
            .feature_fraction(params.float_or("feature_fraction", defaults.feature_fraction)?)
            .max_bins(params.usize_or("max_bins", defaults.max_bins)?)
            .loss(loss)
            .seed(params.int_or("seed", 0)? as u64);
        built.check_ref()?;
        Ok(built)
    }
}

impl crate::check::CheckedFile for Boosting {
    fn check_file(&self, n_features: usize) -> Result<(), String> {
        crate::check::width("the boosted trees", self.n_features, n_features)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::Array;
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    fn synthetic(n: usize, seed: u64) -> (Array2<f64>, Array1<f64>) {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let x = Array::from_shape_fn((n, 4), |_| rng.gen_range(0.0..1.0));
        let y = x.map_axis(Axis(1), |r| {
            (3.0f64 * r[0]).sin() + if r[1] > 0.5 { 0.5 } else { 0.0 } + 0.1 * r[2]
        });
        (x, y)
    }

    #[test]
    fn boosting_learns_a_nonlinear_function() {
        let (x, y) = synthetic(3000, 1);
        let (test_x, test_y) = synthetic(1000, 2);
        for loss in [Loss::Squared, Loss::Absolute, Loss::Huber(0.1)] {
            let model = BoostingParams::new()
                .n_trees(300)
                .loss(loss)
                .row_fraction(0.8)
                .feature_fraction(0.75)
                .fit(&DatasetBase::new(x.clone(), y.clone()))
                .unwrap();
            let predicted = model.try_predict(test_x.view()).unwrap();
            let mae = (&predicted - &test_y).mapv(f64::abs).mean().unwrap();
            assert!(mae < 0.03, "{loss:?}: MAE {mae}");
        }
    }

    #[test]
    fn same_seed_gives_same_model() {
        let (x, y) = synthetic(500, 3);
        let data = DatasetBase::new(x, y);
        let params = BoostingParams::new()
            .n_trees(20)
            .row_fraction(0.7)
            .feature_fraction(0.5)
            .seed(9);
        assert_eq!(params.fit(&data).unwrap(), params.fit(&data).unwrap());
    }

    #[test]
    fn a_constant_feature_is_not_sampled_and_changes_no_prediction() {
        let (x, y) = synthetic(600, 5);
        let mut with_constant = Array2::from_elem((600, 5), 1.0);
        with_constant.slice_mut(ndarray::s![.., 1..]).assign(&x);
        let params = BoostingParams::new()
            .n_trees(15)
            .row_fraction(0.8)
            .feature_fraction(0.5)
            .seed(3);
        let plain = params.fit(&DatasetBase::new(x.clone(), y.clone())).unwrap();
        let padded = params
            .fit(&DatasetBase::new(with_constant.clone(), y.clone()))
            .unwrap();
        assert_eq!(padded.split_counts()[0], 0);
        // Nothing but constants: no split, and one prediction for every row, near the mean
        // target (each tree moves it by its bag's mean residual).
        let only_constant = Array2::from_elem((600, 2), 1.0);
        let flat = params
            .fit(&DatasetBase::new(only_constant.clone(), y.clone()))
            .unwrap();
        assert!(flat.split_counts().iter().all(|&count| count == 0));
        let mean = y.mean().unwrap();
        let predicted = flat.try_predict(only_constant.view()).unwrap();
        assert!(predicted.iter().all(|&p| p == predicted[0]));
        assert!(
            (predicted[0] - mean).abs() < 0.02,
            "{} {mean}",
            predicted[0]
        );
        assert_eq!(padded.split_counts()[1..], plain.split_counts()[..]);
        assert_eq!(
            padded.try_predict(with_constant.view()).unwrap(),
            plain.try_predict(x.view()).unwrap()
        );
    }

    #[test]
    fn gain_importance_finds_the_informative_feature() {
        let (x, y) = synthetic(2000, 4);
        let model = BoostingParams::new()
            .n_trees(50)
            .fit(&DatasetBase::new(x, y))
            .unwrap();
        let gain = model.gain_importance();
        assert!(gain[0] > gain[3] * 10.0 && gain[1] > gain[3] * 10.0);
    }

    #[test]
    fn from_params_refuses_names_its_space_does_not_declare() {
        let set = |pairs: &[(&str, Value)]| -> ParamSet {
            pairs
                .iter()
                .map(|(name, value)| (name.to_string(), value.clone()))
                .collect()
        };
        let known = set(&[
            ("n_trees", Value::Int(40)),
            ("loss", Value::Text("huber".into())),
            ("huber_delta", Value::Float(0.2)),
            ("seed", Value::Int(7)),
        ]);
        let params = BoostingParams::from_params(&known).unwrap();
        assert_eq!(params.check_ref().unwrap().loss(), Loss::Huber(0.2));
        let typo = set(&[("n_tres", Value::Int(40))]);
        let error = BoostingParams::from_params(&typo).unwrap_err().to_string();
        assert!(
            error.contains("n_tres") && error.contains("n_trees"),
            "{error}"
        );
        let bad_loss = set(&[("loss", Value::Text("l3".into()))]);
        assert!(BoostingParams::from_params(&bad_loss).is_err());
    }

    #[test]
    fn bad_parameters_and_shapes_are_errors() {
        let (x, y) = synthetic(100, 5);
        let data = DatasetBase::new(x.clone(), y);
        assert!(BoostingParams::new().learning_rate(0.0).fit(&data).is_err());
        assert!(BoostingParams::new().max_bins(1).fit(&data).is_err());
        let model = BoostingParams::new().n_trees(2).fit(&data).unwrap();
        assert!(model.try_predict(x.slice(ndarray::s![.., ..2])).is_err());
    }
}
