//! Gradient-boosted classification trees: the crate's boosting engine (`boost_core.rs`)
//! with the cross-entropy objectives, softmax (one tree per class and round) or logistic (one
//! tree per round for two classes), second-order (Newton) leaf values and split gains, and
//! early stopping on a seeded held-out part of the training rows. Growth, bagging, feature
//! sampling and the two-thread team are the regressor's, draw for draw.
//!
//! The held-out part is [`evaluation::classification::holdout`], the split the networks of
//! `neural-models` use for the same fraction and seed, so a boosted model and a network given
//! the same seed stop on the same rows.

use linfa::traits::Fit;
use linfa::{DatasetBase, ParamGuard};
use ndarray::{Array1, Array2, ArrayView2, Axis};
use serde::{Deserialize, Serialize};

use evaluation::classification::{holdout, PredictProba};

use crate::boost_core::{self, GrowRules, LeafSums, Objective, RoundRules, Validation};
use crate::boosted_tree::{check_reach, check_trees, flatten, Tree};
use crate::classes::check_n_classes;
use crate::error::ModelError;
use crate::flat_trees::FlatTrees;
use crate::lightgbm::{self, PlainNode};

/// Checked parameters of [`BoostingClassifier`], which only [`BoostingClassifierParams`]'s
/// check builds.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BoostingClassifierValidParams {
    n_rounds: usize,
    learning_rate: f64,
    max_leaves: usize,
    max_depth: Option<usize>,
    min_leaf_rows: usize,
    min_leaf_hessian: f64,
    l2_regularisation: f64,
    #[serde(default)]
    min_split_gain: f64,
    row_fraction: f64,
    feature_fraction: f64,
    max_bins: usize,
    validation_fraction: f64,
    early_stopping_rounds: usize,
    n_classes: Option<usize>,
    seed: u64,
    #[serde(default)]
    refit: bool,
}

impl BoostingClassifierValidParams {
    /// Most rounds (the fit may stop earlier); a round grows one tree per class, or one tree
    /// for two classes.
    pub fn n_rounds(&self) -> usize {
        self.n_rounds
    }

    /// The seed of the held-out split, bagging and feature sampling.
    pub fn seed(&self) -> u64 {
        self.seed
    }

    /// The fixed number of classes, if any.
    pub fn n_classes(&self) -> Option<usize> {
        self.n_classes
    }

    fn grow_rules(&self) -> GrowRules {
        GrowRules {
            max_leaves: self.max_leaves,
            max_depth: self.max_depth,
            min_leaf_rows: self.min_leaf_rows,
            min_leaf_hessian: self.min_leaf_hessian,
            l2: self.l2_regularisation,
            min_split_gain: self.min_split_gain,
            max_bins: self.max_bins,
        }
    }

    fn round_rules(&self) -> RoundRules {
        RoundRules {
            n_rounds: self.n_rounds,
            learning_rate: self.learning_rate,
            row_fraction: self.row_fraction,
            feature_fraction: self.feature_fraction,
            seed: self.seed,
            early_stopping_rounds: self.early_stopping_rounds,
        }
    }
}

/// Parameters of [`BoostingClassifier`], checked when fitted (linfa's `ParamGuard`).
#[derive(Clone, PartialEq, Serialize, Deserialize)]
pub struct BoostingClassifierParams(BoostingClassifierValidParams);

debug_as_struct!(BoostingClassifierParams {
    n_rounds,
    learning_rate,
    max_leaves,
    max_depth,
    min_leaf_rows,
    min_leaf_hessian,
    l2_regularisation,
    min_split_gain,
    row_fraction,
    feature_fraction,
    max_bins,
    validation_fraction,
    early_stopping_rounds,
    n_classes,
    seed,
    refit,
});

impl Default for BoostingClassifierParams {
    fn default() -> Self {
        BoostingClassifierParams::new()
    }
}

impl BoostingClassifierParams {
    /// 1000 rounds at learning rate 0.05, 15 leaves, 10 rows per leaf, bagging 0.8, features
    /// 0.8, L2 1, early stopping after 50 rounds without a better log loss on 20% held out.
    pub fn new() -> Self {
        BoostingClassifierParams(BoostingClassifierValidParams {
            n_rounds: 1000,
            learning_rate: 0.05,
            max_leaves: 15,
            max_depth: None,
            min_leaf_rows: 10,
            min_leaf_hessian: 1e-3,
            l2_regularisation: 1.0,
            min_split_gain: 0.0,
            row_fraction: 0.8,
            feature_fraction: 0.8,
            max_bins: 255,
            validation_fraction: 0.2,
            early_stopping_rounds: 50,
            n_classes: None,
            seed: 0,
            refit: false,
        })
    }

    /// After early stopping has chosen the number of rounds on the held-out rows, fit again on
    /// every row for that many rounds scaled by the extra rows (the held-out rows then inform
    /// the trees too; the history is the first fit's).
    pub fn refit(mut self, refit: bool) -> Self {
        self.0.refit = refit;
        self
    }

    /// Most boosting rounds (the fit may stop earlier).
    pub fn n_rounds(mut self, n: usize) -> Self {
        self.0.n_rounds = n;
        self
    }

    /// Shrinkage of each tree.
    pub fn learning_rate(mut self, rate: f64) -> Self {
        self.0.learning_rate = rate;
        self
    }

    /// Most leaves per tree.
    pub fn max_leaves(mut self, leaves: usize) -> Self {
        self.0.max_leaves = leaves;
        self
    }

    /// Deepest a leaf may be (`None`: limited by `max_leaves` only).
    pub fn max_depth(mut self, depth: Option<usize>) -> Self {
        self.0.max_depth = depth;
        self
    }

    /// Fewest training rows in a leaf.
    pub fn min_leaf_rows(mut self, rows: usize) -> Self {
        self.0.min_leaf_rows = rows;
        self
    }

    /// Smallest sum of hessians in a leaf.
    pub fn min_leaf_hessian(mut self, hessian: f64) -> Self {
        self.0.min_leaf_hessian = hessian;
        self
    }

    /// L2 penalty on leaf values.
    pub fn l2_regularisation(mut self, lambda: f64) -> Self {
        self.0.l2_regularisation = lambda;
        self
    }

    /// Smallest gain a split must bring (0: any gain above zero).
    pub fn min_split_gain(mut self, gain: f64) -> Self {
        self.0.min_split_gain = gain;
        self
    }

    /// Fraction of rows each round's trees are grown on (each row is in a round's bag with
    /// this probability, drawn as LightGBM draws it).
    pub fn row_fraction(mut self, fraction: f64) -> Self {
        self.0.row_fraction = fraction;
        self
    }

    /// Fraction of features each tree may split on (drawn anew for every tree).
    pub fn feature_fraction(mut self, fraction: f64) -> Self {
        self.0.feature_fraction = fraction;
        self
    }

    /// Most histogram bins per feature (2..=256).
    pub fn max_bins(mut self, bins: usize) -> Self {
        self.0.max_bins = bins;
        self
    }

    /// Share of training rows held out for early stopping (0: no early stopping, every round
    /// is kept).
    pub fn validation_fraction(mut self, fraction: f64) -> Self {
        self.0.validation_fraction = fraction;
        self
    }

    /// Rounds without a better held-out log loss before the fit stops.
    pub fn early_stopping_rounds(mut self, rounds: usize) -> Self {
        self.0.early_stopping_rounds = rounds;
        self
    }

    /// Fixes the number of classes (default: the largest label + 1).
    pub fn n_classes(mut self, n: usize) -> Self {
        self.0.n_classes = Some(n);
        self
    }

    /// Seed of the held-out split, bagging and feature sampling.
    pub fn seed(mut self, seed: u64) -> Self {
        self.0.seed = seed;
        self
    }

    /// The seed.
    pub fn seed_value(&self) -> u64 {
        self.0.seed
    }
}

impl ParamGuard for BoostingClassifierParams {
    type Checked = BoostingClassifierValidParams;
    type Error = ModelError;

    fn check_ref(&self) -> Result<&BoostingClassifierValidParams, ModelError> {
        let p = &self.0;
        if p.n_rounds == 0 {
            return Err(ModelError::parameter("n_rounds", 0, "at least 1"));
        }
        p.grow_rules().check()?;
        p.round_rules().check()?;
        if !(0.0..1.0).contains(&p.validation_fraction) {
            let value = p.validation_fraction;
            return Err(ModelError::parameter(
                "validation_fraction",
                value,
                "[0, 1)",
            ));
        }
        check_n_classes(p.n_classes)?;
        Ok(p)
    }

    fn check(self) -> Result<BoostingClassifierValidParams, ModelError> {
        self.check_ref()?;
        Ok(self.0)
    }
}

/// The log loss of each round on the held-out rows (and on the rows fitted).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BoostingRound {
    /// Mean log loss on the rows the trees were grown on.
    pub train_loss: f64,
    /// Mean log loss on the held-out rows, if any.
    pub validation_loss: Option<f64>,
    /// Accuracy on the held-out rows, if any.
    pub validation_accuracy: Option<f64>,
}

/// A fitted boosted classifier.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "BoostingClassifierData")]
pub struct BoostingClassifier {
    n_classes: usize,
    n_features: usize,
    /// Initial raw score of each output (log prior, or the prior's logit for two classes).
    base: Vec<f64>,
    /// `rounds[r][k]`: the tree of output `k` in round `r`.
    rounds: Vec<Vec<Tree>>,
    gain: Vec<f64>,
    history: Vec<BoostingRound>,
    /// The trees flattened for prediction, built from `rounds` when fitted or read.
    #[serde(skip_serializing)]
    flat: FlatTrees,
}

/// The trees of `rounds`, round after round, each with the raw score it adds to.
fn flatten_rounds(
    n_features: usize,
    k: usize,
    rounds: &[Vec<Tree>],
) -> Result<FlatTrees, ModelError> {
    flatten(
        n_features,
        k,
        rounds.iter().flat_map(|round| round.iter().enumerate()),
    )
}

/// [`BoostingClassifier`] as read from a file, before it is checked.
#[derive(Deserialize)]
struct BoostingClassifierData {
    n_classes: usize,
    n_features: usize,
    base: Vec<f64>,
    rounds: Vec<Vec<Tree>>,
    gain: Vec<f64>,
    history: Vec<BoostingRound>,
}

impl TryFrom<BoostingClassifierData> for BoostingClassifier {
    type Error = ModelError;

    /// A classifier read from a file predicts only if it could have been fitted: at least two
    /// classes, one finite base score and one tree per output in every round, trees over its
    /// own features, and one importance per feature.
    fn try_from(data: BoostingClassifierData) -> Result<BoostingClassifier, ModelError> {
        let problem = |text: String| Err(ModelError::InvalidModel(text));
        if data.n_classes < 2 {
            return problem(format!("{} classes", data.n_classes));
        }
        let k = outputs(data.n_classes);
        if data.base.len() != k || data.base.iter().any(|b| !b.is_finite()) {
            return problem(format!(
                "{} classes need {k} finite base scores, not {:?}",
                data.n_classes, data.base
            ));
        }
        if let Some(r) = data.rounds.iter().position(|round| round.len() != k) {
            return problem(format!(
                "round {r} has {} trees, not {k}",
                data.rounds[r].len()
            ));
        }
        if data.gain.len() != data.n_features {
            return problem(format!(
                "{} features but {} gains",
                data.n_features,
                data.gain.len()
            ));
        }
        check_trees(data.rounds.iter().flatten(), data.n_features)?;
        for (output, &base) in data.base.iter().enumerate() {
            let trees = data.rounds.iter().map(|round| &round[output]);
            check_reach(&format!("raw score {output}"), base, trees)?;
        }
        Ok(BoostingClassifier {
            flat: flatten_rounds(data.n_features, k, &data.rounds)?,
            n_classes: data.n_classes,
            n_features: data.n_features,
            base: data.base,
            rounds: data.rounds,
            gain: data.gain,
            history: data.history,
        })
    }
}

impl BoostingClassifier {
    /// Number of classes.
    pub fn n_classes(&self) -> usize {
        self.n_classes
    }

    /// Number of input columns.
    pub fn n_features(&self) -> usize {
        self.n_features
    }

    /// Rounds kept (the best round when early stopping).
    pub fn n_rounds(&self) -> usize {
        self.rounds.len()
    }

    /// Total split gain per feature.
    pub fn gain_importance(&self) -> &[f64] {
        &self.gain
    }

    /// Log loss of every round grown (including those after the best one).
    pub fn history(&self) -> &[BoostingRound] {
        &self.history
    }

    /// Class probabilities, failing on a wrong number of columns.
    pub fn try_predict_proba(&self, x: ArrayView2<'_, f64>) -> Result<Array2<f64>, ModelError> {
        self.check_width(x)?;
        let raw = self.flat.sums(x, &self.base);
        Ok(probabilities(&raw, self.n_classes))
    }

    /// Class probabilities as [`BoostingClassifier::try_predict_proba`] gives them, walking
    /// each tree node by node: the reference the flattened trees are tested and measured
    /// against, bit for bit the same.
    pub fn try_predict_proba_walking(
        &self,
        x: ArrayView2<'_, f64>,
    ) -> Result<Array2<f64>, ModelError> {
        self.check_width(x)?;
        let rounds: Vec<&[Tree]> = self.rounds.iter().map(Vec::as_slice).collect();
        let raw = boost_core::raw_scores(x, &self.base, &rounds);
        Ok(probabilities(&raw, self.n_classes))
    }

    fn check_width(&self, x: ArrayView2<'_, f64>) -> Result<(), ModelError> {
        ModelError::check_width(self.n_features, x.ncols())
    }

    /// The classifier in LightGBM's text format over columns `names` ([`crate::lightgbm`]):
    /// `binary` for two classes (LightGBM gives the second class's probability), `multiclass`
    /// otherwise, each output's base score in its first tree.
    pub fn to_lightgbm(&self, names: &[String]) -> Result<String, ModelError> {
        let k = outputs(self.n_classes);
        let mut trees: Vec<Vec<PlainNode>> = Vec::with_capacity(self.rounds.len().max(1) * k);
        for (output, &base) in self.base.iter().enumerate() {
            let first = self.rounds.first().and_then(|round| round.get(output));
            trees.push(lightgbm::with_bias(first.map(Tree::plain), base));
        }
        for round in self.rounds.iter().skip(1) {
            trees.extend(round.iter().map(Tree::plain));
        }
        let objective = if k == 1 {
            lightgbm::Objective::Binary
        } else {
            lightgbm::Objective::Multiclass(k)
        };
        lightgbm::model_text(objective, names, self.n_features, &trees)
    }
}

impl PredictProba for BoostingClassifier {
    fn n_classes(&self) -> usize {
        self.n_classes
    }

    fn predict_proba(
        &self,
        x: &Array2<f64>,
    ) -> Result<Array2<f64>, evaluation::classification::ProbaError> {
        Ok(self.try_predict_proba(x.view())?)
    }
}

/// Raw scores per row: one for two classes (the logit of class 1), else one per class.
fn outputs(n_classes: usize) -> usize {
    if n_classes == 2 {
        1
    } else {
        n_classes
    }
}

/// Probabilities from raw scores (row-major, [`outputs`] per row): a sigmoid for one output, a
/// softmax otherwise.
fn probabilities(raw: &[f64], n_classes: usize) -> Array2<f64> {
    let k = outputs(n_classes);
    let n = raw.len() / k;
    let mut out = Array2::zeros((n, n_classes));
    for (scores, mut p) in raw.chunks_exact(k).zip(out.axis_iter_mut(Axis(0))) {
        if k == 1 {
            let p1 = 1.0 / (1.0 + (-scores[0]).exp());
            p[0] = 1.0 - p1;
            p[1] = p1;
        } else {
            let max = scores.iter().fold(f64::NEG_INFINITY, |a, &b| a.max(b));
            let mut sum = 0.0;
            for (pc, &s) in p.iter_mut().zip(scores) {
                *pc = (s - max).exp();
                sum += *pc;
            }
            p.mapv_inplace(|v| v / sum);
        }
    }
    out
}

/// Cross-entropy over `n_classes` classes: logistic for two, softmax for more.
pub(crate) struct CrossEntropy {
    pub(crate) n_classes: usize,
}

impl Objective for CrossEntropy {
    type Target = usize;

    fn n_outputs(&self) -> usize {
        outputs(self.n_classes)
    }

    /// Log priors (the prior's logit for two classes), smoothed so that an absent class gets a
    /// finite score.
    fn base(&self, targets: &[usize]) -> Vec<f64> {
        let mut counts = vec![0.0; self.n_classes];
        for &label in targets {
            counts[label] += 1.0;
        }
        let n = targets.len() as f64;
        let prior: Vec<f64> = counts
            .iter()
            .map(|c| (c + 0.5) / (n + 0.5 * self.n_classes as f64))
            .collect();
        if self.n_outputs() == 1 {
            vec![(prior[1] / prior[0]).ln()]
        } else {
            prior.iter().map(|p| p.ln()).collect()
        }
    }

    /// `p - y` and `p (1 - p)` (scaled by K / (K - 1) for the softmax, as LightGBM does).
    fn derivatives(&self, raw: &[f64], targets: &[usize]) -> Vec<(Vec<f64>, Option<Vec<f64>>)> {
        let k = self.n_outputs();
        let n = targets.len();
        let proba = probabilities(raw, self.n_classes);
        let factor = if k == 1 {
            1.0
        } else {
            self.n_classes as f64 / (self.n_classes as f64 - 1.0)
        };
        let mut g = vec![vec![0.0; n]; k];
        let mut h = vec![vec![0.0; n]; k];
        for (i, (p, &t)) in proba.axis_iter(Axis(0)).zip(targets).enumerate() {
            for c in 0..k {
                // With one output, it is class 1's.
                let class = if k == 1 { 1 } else { c };
                let target = if t == class { 1.0 } else { 0.0 };
                g[c][i] = p[class] - target;
                h[c][i] = (factor * p[class] * (1.0 - p[class])).max(1e-6);
            }
        }
        g.into_iter().zip(h).map(|(g, h)| (g, Some(h))).collect()
    }

    fn leaf_value(&self, leaf: &LeafSums<'_>, _: usize, _: &[f64], _: &[usize]) -> f64 {
        leaf.newton()
    }

    /// The mean log loss.
    fn loss(&self, raw: &[f64], targets: &[usize]) -> f64 {
        let proba = probabilities(raw, self.n_classes);
        let total: f64 = proba
            .axis_iter(Axis(0))
            .zip(targets)
            .map(|(p, &t)| -p[t].clamp(1e-15, 1.0).ln())
            .sum();
        total / targets.len().max(1) as f64
    }

    /// The accuracy.
    fn score(&self, raw: &[f64], targets: &[usize]) -> Option<f64> {
        let proba = probabilities(raw, self.n_classes);
        let right = evaluation::classification::argmax_rows(proba.view())
            .into_iter()
            .zip(targets)
            .filter(|(p, t)| p == *t)
            .count();
        Some(right as f64 / targets.len().max(1) as f64)
    }
}

impl BoostingClassifierValidParams {
    /// Fits on a matrix and labels `0..n_classes`.
    pub fn fit_arrays(
        &self,
        x: ArrayView2<'_, f64>,
        y: &[usize],
    ) -> Result<BoostingClassifier, ModelError> {
        if x.nrows() != y.len() || x.nrows() < 2 || x.ncols() == 0 {
            return Err(ModelError::InvalidData(format!(
                "boosting needs at least 2 rows, 1 column and one label per row ({} rows, {} columns, {} labels)",
                x.nrows(),
                x.ncols(),
                y.len()
            )));
        }
        if x.iter().any(|v| v.is_infinite()) {
            return Err(ModelError::InvalidData("features contain infinity".into()));
        }
        let largest = y.iter().copied().max().unwrap_or(0);
        let n_classes = self.n_classes.unwrap_or((largest + 1).max(2));
        if largest >= n_classes {
            return Err(ModelError::InvalidData(format!(
                "label {largest} but there are {n_classes} classes"
            )));
        }
        let split = holdout(x.nrows(), self.validation_fraction, self.seed);
        let fit_x = x.select(Axis(0), &split.train);
        let fit_y: Vec<usize> = split.train.iter().map(|&r| y[r]).collect();
        let held_x = x.select(Axis(0), &split.validation);
        let held_y: Vec<usize> = split.validation.iter().map(|&r| y[r]).collect();
        let validation = (!held_y.is_empty()).then(|| Validation {
            x: held_x.view(),
            targets: &held_y,
        });
        let fitted = boost_core::fit(
            &CrossEntropy { n_classes },
            fit_x.view(),
            &fit_y,
            validation,
            &self.grow_rules(),
            &self.round_rules(),
        );
        let history: Vec<BoostingRound> = fitted
            .history
            .into_iter()
            .map(|round| BoostingRound {
                train_loss: round.train,
                validation_loss: round.validation,
                validation_accuracy: round.validation_score,
            })
            .collect();
        if self.refit && !held_y.is_empty() {
            let scale = x.nrows() as f64 / fit_y.len() as f64;
            let rounds = ((fitted.rounds.len() as f64 * scale).ceil() as usize).max(1);
            let again = BoostingClassifierValidParams {
                refit: false,
                validation_fraction: 0.0,
                n_rounds: rounds,
                n_classes: Some(n_classes),
                ..self.clone()
            };
            let mut full = again.fit_arrays(x, y)?;
            full.history = history;
            return Ok(full);
        }
        Ok(BoostingClassifier {
            flat: flatten_rounds(x.ncols(), fitted.base.len(), &fitted.rounds)?,
            n_classes,
            n_features: x.ncols(),
            base: fitted.base,
            rounds: fitted.rounds,
            gain: fitted.gain,
            history,
        })
    }
}

impl Fit<Array2<f64>, Array1<usize>, ModelError> for BoostingClassifierValidParams {
    type Object = BoostingClassifier;

    fn fit(
        &self,
        dataset: &DatasetBase<Array2<f64>, Array1<usize>>,
    ) -> Result<BoostingClassifier, ModelError> {
        let labels: Vec<usize> = dataset.targets().to_vec();
        self.fit_arrays(dataset.records().view(), &labels)
    }
}

impl crate::check::CheckedFile for BoostingClassifier {
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

    fn blobs(n: usize, classes: usize, seed: u64) -> (Array2<f64>, Array1<usize>) {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let y: Vec<usize> = (0..n).map(|i| i % classes).collect();
        let x = Array::from_shape_fn((n, 3), |(i, j)| {
            let centre = if j == 0 { y[i] as f64 } else { 0.0 };
            centre + rng.gen_range(-0.6..0.6)
        });
        (x, Array1::from(y))
    }

    #[test]
    fn learns_separable_classes_binary_and_multiclass() {
        for classes in [2, 4] {
            let (x, y) = blobs(800, classes, 1);
            let (tx, ty) = blobs(400, classes, 2);
            let model = BoostingClassifierParams::new()
                .n_rounds(200)
                .fit(&DatasetBase::new(x, y))
                .unwrap();
            let proba = model.predict_proba(&tx).unwrap();
            assert_eq!(proba.ncols(), classes);
            for row in proba.axis_iter(Axis(0)) {
                assert!((row.sum() - 1.0).abs() < 1e-9);
            }
            let predicted = evaluation::classification::argmax_rows(proba.view());
            let right = predicted.iter().zip(&ty).filter(|(p, t)| p == t).count();
            let acc = right as f64 / ty.len() as f64;
            assert!(acc > 0.85, "{classes} classes: accuracy {acc}");
            assert!(model.n_rounds() >= 1);
            assert!(model.gain_importance()[0] > model.gain_importance()[2]);
        }
    }

    #[test]
    fn same_seed_same_model_and_wrong_width_is_an_error() {
        let (x, y) = blobs(300, 3, 3);
        let data = DatasetBase::new(x.clone(), y);
        let params = BoostingClassifierParams::new().n_rounds(20).seed(4);
        let a = params.fit(&data).unwrap();
        assert_eq!(a, params.fit(&data).unwrap());
        assert!(a.try_predict_proba(x.slice(ndarray::s![.., ..2])).is_err());
        assert!(BoostingClassifierParams::new()
            .learning_rate(0.0)
            .fit(&data)
            .is_err());
    }
}
