//! Gradient-boosted classification trees: the workspace's histogram boosting with a softmax
//! objective (one tree per class and round; a single logistic tree per round for two classes),
//! second-order (Newton) leaf values, leaf-wise growth, row bagging, feature sub-sampling, L2 on
//! leaf values, and early stopping on a seeded held-out part of the training rows.
//!
//! The held-out part is [`evaluation::classification::holdout`], the split the networks of
//! `neural-models` use for the same fraction and seed, so a boosted model and a network given
//! the same seed stop on the same rows.

use linfa::traits::Fit;
use linfa::DatasetBase;
use ndarray::{Array1, Array2, ArrayView2, Axis};
use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use evaluation::classification::{holdout, PredictProba};

use crate::binning::{bin_edges, bin_of};
use crate::boosted_tree::{Node, Tree};
use crate::error::ModelError;

/// Parameters of [`BoostingClassifier`]; checked when fitted.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BoostingClassifierParams {
    n_rounds: usize,
    learning_rate: f64,
    max_leaves: usize,
    max_depth: Option<usize>,
    min_leaf_rows: usize,
    min_leaf_hessian: f64,
    l2_regularisation: f64,
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

impl Default for BoostingClassifierParams {
    fn default() -> Self {
        BoostingClassifierParams::new()
    }
}

impl BoostingClassifierParams {
    /// 1000 rounds at learning rate 0.05, 15 leaves, 10 rows per leaf, bagging 0.8, features
    /// 0.8, L2 1, early stopping after 50 rounds without a better log loss on 20% held out.
    pub fn new() -> Self {
        BoostingClassifierParams {
            n_rounds: 1000,
            learning_rate: 0.05,
            max_leaves: 15,
            max_depth: None,
            min_leaf_rows: 10,
            min_leaf_hessian: 1e-3,
            l2_regularisation: 1.0,
            row_fraction: 0.8,
            feature_fraction: 0.8,
            max_bins: 255,
            validation_fraction: 0.2,
            early_stopping_rounds: 50,
            n_classes: None,
            seed: 0,
            refit: false,
        }
    }

    /// After early stopping has chosen the number of rounds on the held-out rows, fit again on
    /// every row for that many rounds scaled by the extra rows (the held-out rows then inform
    /// the trees too; the history is the first fit's).
    pub fn refit(mut self, refit: bool) -> Self {
        self.refit = refit;
        self
    }

    /// Most boosting rounds (the fit may stop earlier).
    pub fn n_rounds(mut self, n: usize) -> Self {
        self.n_rounds = n;
        self
    }

    /// Shrinkage of each tree.
    pub fn learning_rate(mut self, rate: f64) -> Self {
        self.learning_rate = rate;
        self
    }

    /// Most leaves per tree.
    pub fn max_leaves(mut self, leaves: usize) -> Self {
        self.max_leaves = leaves;
        self
    }

    /// Deepest a leaf may be (`None`: limited by `max_leaves` only).
    pub fn max_depth(mut self, depth: Option<usize>) -> Self {
        self.max_depth = depth;
        self
    }

    /// Fewest training rows in a leaf.
    pub fn min_leaf_rows(mut self, rows: usize) -> Self {
        self.min_leaf_rows = rows;
        self
    }

    /// Smallest sum of hessians in a leaf.
    pub fn min_leaf_hessian(mut self, hessian: f64) -> Self {
        self.min_leaf_hessian = hessian;
        self
    }

    /// L2 penalty on leaf values.
    pub fn l2_regularisation(mut self, lambda: f64) -> Self {
        self.l2_regularisation = lambda;
        self
    }

    /// Fraction of rows each round's trees are grown on.
    pub fn row_fraction(mut self, fraction: f64) -> Self {
        self.row_fraction = fraction;
        self
    }

    /// Fraction of features each round's trees may split on.
    pub fn feature_fraction(mut self, fraction: f64) -> Self {
        self.feature_fraction = fraction;
        self
    }

    /// Most histogram bins per feature (2..=256).
    pub fn max_bins(mut self, bins: usize) -> Self {
        self.max_bins = bins;
        self
    }

    /// Share of training rows held out for early stopping (0: no early stopping, every round
    /// is kept).
    pub fn validation_fraction(mut self, fraction: f64) -> Self {
        self.validation_fraction = fraction;
        self
    }

    /// Rounds without a better held-out log loss before the fit stops.
    pub fn early_stopping_rounds(mut self, rounds: usize) -> Self {
        self.early_stopping_rounds = rounds;
        self
    }

    /// Fixes the number of classes (default: the largest label + 1).
    pub fn n_classes(mut self, n: usize) -> Self {
        self.n_classes = Some(n);
        self
    }

    /// Seed of the held-out split, bagging and feature sampling.
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }

    /// The seed.
    pub fn seed_value(&self) -> u64 {
        self.seed
    }

    /// Checks every parameter, naming the first bad one.
    pub fn check(&self) -> Result<(), ModelError> {
        let fraction = |v: f64| v > 0.0 && v <= 1.0;
        let problem = if self.n_rounds == 0 {
            Some("n_rounds must be at least 1")
        } else if !(self.learning_rate > 0.0 && self.learning_rate <= 1.0) {
            Some("learning_rate must be in (0, 1]")
        } else if self.max_leaves < 2 {
            Some("max_leaves must be at least 2")
        } else if self.min_leaf_rows == 0 {
            Some("min_leaf_rows must be at least 1")
        } else if !(self.min_leaf_hessian >= 0.0 && self.min_leaf_hessian.is_finite()) {
            Some("min_leaf_hessian must be finite and >= 0")
        } else if !(self.l2_regularisation >= 0.0 && self.l2_regularisation.is_finite()) {
            Some("l2_regularisation must be finite and >= 0")
        } else if !fraction(self.row_fraction) {
            Some("row_fraction must be in (0, 1]")
        } else if !fraction(self.feature_fraction) {
            Some("feature_fraction must be in (0, 1]")
        } else if !(2..=256).contains(&self.max_bins) {
            Some("max_bins must be in 2..=256")
        } else if !(0.0..1.0).contains(&self.validation_fraction) {
            Some("validation_fraction must be in [0, 1)")
        } else if self.early_stopping_rounds == 0 {
            Some("early_stopping_rounds must be at least 1")
        } else if self.max_depth == Some(0) {
            Some("max_depth must be at least 1")
        } else if self.n_classes.is_some_and(|n| n < 2) {
            Some("n_classes must be at least 2")
        } else {
            None
        };
        match problem {
            Some(message) => Err(ModelError::InvalidParams(message.into())),
            None => Ok(()),
        }
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
pub struct BoostingClassifier {
    n_classes: usize,
    n_features: usize,
    /// Initial raw score of each output (log prior, or the prior's logit for two classes).
    base: Vec<f64>,
    /// `rounds[r][k]`: the tree of output `k` in round `r`.
    rounds: Vec<Vec<Tree>>,
    gain: Vec<f64>,
    history: Vec<BoostingRound>,
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

    fn n_outputs(&self) -> usize {
        outputs(self.n_classes)
    }

    /// Raw scores (logits) of every row.
    fn raw(&self, x: ArrayView2<'_, f64>) -> Array2<f64> {
        let k = self.n_outputs();
        let rows: Vec<Vec<f64>> = x
            .axis_iter(Axis(0))
            .into_par_iter()
            .with_min_len(64)
            .map(|row| {
                let row = row.to_vec();
                let mut scores = self.base.clone();
                for round in &self.rounds {
                    for (score, tree) in scores.iter_mut().zip(round) {
                        *score += tree.predict(&row);
                    }
                }
                scores
            })
            .collect();
        Array2::from_shape_vec((x.nrows(), k), rows.concat())
            .unwrap_or_else(|_| Array2::zeros((x.nrows(), k)))
    }

    /// Class probabilities, failing on a wrong number of columns.
    pub fn try_predict_proba(&self, x: ArrayView2<'_, f64>) -> Result<Array2<f64>, ModelError> {
        if x.ncols() != self.n_features {
            return Err(ModelError::WidthMismatch {
                expected: self.n_features,
                found: x.ncols(),
            });
        }
        Ok(probabilities(&self.raw(x), self.n_classes))
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

fn outputs(n_classes: usize) -> usize {
    if n_classes == 2 {
        1
    } else {
        n_classes
    }
}

/// Probabilities from raw scores: a sigmoid for one output, a softmax otherwise.
fn probabilities(raw: &Array2<f64>, n_classes: usize) -> Array2<f64> {
    let mut out = Array2::zeros((raw.nrows(), n_classes));
    for (scores, mut p) in raw.axis_iter(Axis(0)).zip(out.axis_iter_mut(Axis(0))) {
        if n_classes == 2 {
            let p1 = 1.0 / (1.0 + (-scores[0]).exp());
            p[0] = 1.0 - p1;
            p[1] = p1;
        } else {
            let max = scores.fold(f64::NEG_INFINITY, |a, &b| a.max(b));
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

fn mean_log_loss(proba: &Array2<f64>, y: &[usize]) -> f64 {
    let total: f64 = proba
        .axis_iter(Axis(0))
        .zip(y)
        .map(|(p, &t)| -p[t].clamp(1e-15, 1.0).ln())
        .sum();
    total / y.len().max(1) as f64
}

fn accuracy_of(proba: &Array2<f64>, y: &[usize]) -> f64 {
    let right = evaluation::classification::argmax_rows(proba.view())
        .into_iter()
        .zip(y)
        .filter(|(p, t)| p == *t)
        .count();
    right as f64 / y.len().max(1) as f64
}

/// The binned training rows.
struct Binned {
    /// `bins[f][row]`.
    bins: Vec<Vec<u8>>,
    edges: Vec<Vec<f64>>,
    offsets: Vec<usize>,
    width: usize,
}

#[derive(Clone)]
struct Histogram {
    gradient: Vec<f64>,
    hessian: Vec<f64>,
    count: Vec<u32>,
}

#[derive(Clone, Copy)]
struct Split {
    gain: f64,
    feature: usize,
    bin: usize,
}

struct Growing {
    rows: Vec<u32>,
    gradient: f64,
    hessian: f64,
    depth: usize,
    node: usize,
    histogram: Histogram,
    best: Option<Split>,
}

impl Binned {
    fn histogram(&self, rows: &[u32], g: &[f64], h: &[f64], features: &[usize]) -> Histogram {
        let mut histogram = Histogram {
            gradient: vec![0.0; self.width],
            hessian: vec![0.0; self.width],
            count: vec![0; self.width],
        };
        for &feature in features {
            let column = &self.bins[feature];
            let start = self.offsets[feature];
            for &row in rows {
                let r = row as usize;
                let bin = start + column[r] as usize;
                histogram.gradient[bin] += g[r];
                histogram.hessian[bin] += h[r];
                histogram.count[bin] += 1;
            }
        }
        histogram
    }
}

impl BoostingClassifierParams {
    fn best_split(
        &self,
        binned: &Binned,
        histogram: &Histogram,
        totals: (f64, f64, usize),
        features: &[usize],
    ) -> Option<Split> {
        let (total_g, total_h, total_n) = totals;
        let lambda = self.l2_regularisation;
        let score = |g: f64, h: f64| g * g / (h + lambda);
        let parent = score(total_g, total_h);
        let mut best: Option<Split> = None;
        for &feature in features {
            let start = binned.offsets[feature];
            let n_bins = binned.edges[feature].len() + 1;
            let (mut left_g, mut left_h, mut left_n) = (0.0, 0.0, 0usize);
            for bin in 0..n_bins.saturating_sub(1) {
                left_g += histogram.gradient[start + bin];
                left_h += histogram.hessian[start + bin];
                left_n += histogram.count[start + bin] as usize;
                let right_n = total_n - left_n;
                if left_n < self.min_leaf_rows || left_h < self.min_leaf_hessian {
                    continue;
                }
                if right_n < self.min_leaf_rows {
                    break;
                }
                let right_h = total_h - left_h;
                if right_h < self.min_leaf_hessian {
                    continue;
                }
                let gain = score(left_g, left_h) + score(total_g - left_g, right_h) - parent;
                if gain > 1e-12 && best.is_none_or(|b| gain > b.gain) {
                    best = Some(Split { gain, feature, bin });
                }
            }
        }
        best
    }

    /// Grows one tree on gradients `g` and hessians `h`; returns it with the gain per feature.
    fn grow(
        &self,
        binned: &Binned,
        bag: &[u32],
        g: &[f64],
        h: &[f64],
        features: &[usize],
        n_features: usize,
    ) -> (Tree, Vec<f64>) {
        let mut gains = vec![0.0; n_features];
        let mut nodes = vec![Node::Leaf(0.0)];
        let root_g: f64 = bag.iter().map(|&r| g[r as usize]).sum();
        let root_h: f64 = bag.iter().map(|&r| h[r as usize]).sum();
        let root_hist = binned.histogram(bag, g, h, features);
        let root_best = self.best_split(binned, &root_hist, (root_g, root_h, bag.len()), features);
        let mut open = vec![Growing {
            rows: bag.to_vec(),
            gradient: root_g,
            hessian: root_h,
            depth: 0,
            node: 0,
            histogram: root_hist,
            best: root_best,
        }];
        let mut done: Vec<Growing> = Vec::new();
        while open.len() + done.len() < self.max_leaves {
            let Some(pick) = open
                .iter()
                .enumerate()
                .filter(|(_, leaf)| leaf.best.is_some())
                .max_by(|a, b| {
                    let gain = |leaf: &Growing| leaf.best.map_or(f64::NEG_INFINITY, |s| s.gain);
                    gain(a.1).total_cmp(&gain(b.1))
                })
                .map(|(i, _)| i)
            else {
                break;
            };
            let leaf = open.swap_remove(pick);
            let Some(split) = leaf.best else {
                done.push(leaf);
                continue;
            };
            let column = &binned.bins[split.feature];
            let (left_rows, right_rows): (Vec<u32>, Vec<u32>) = leaf
                .rows
                .iter()
                .partition(|&&row| (column[row as usize] as usize) <= split.bin);
            let left_g: f64 = left_rows.iter().map(|&r| g[r as usize]).sum();
            let left_h: f64 = left_rows.iter().map(|&r| h[r as usize]).sum();
            let left_smaller = left_rows.len() <= right_rows.len();
            let small = binned.histogram(
                if left_smaller {
                    &left_rows
                } else {
                    &right_rows
                },
                g,
                h,
                features,
            );
            let mut large = leaf.histogram;
            for (l, s) in large.gradient.iter_mut().zip(&small.gradient) {
                *l -= s;
            }
            for (l, s) in large.hessian.iter_mut().zip(&small.hessian) {
                *l -= s;
            }
            for (l, s) in large.count.iter_mut().zip(&small.count) {
                *l -= s;
            }
            let (left_hist, right_hist) = if left_smaller {
                (small, large)
            } else {
                (large, small)
            };
            gains[split.feature] += split.gain;
            let left_node = nodes.len();
            nodes.push(Node::Leaf(0.0));
            nodes.push(Node::Leaf(0.0));
            nodes[leaf.node] = Node::Split {
                feature: split.feature,
                threshold: binned.edges[split.feature][split.bin],
                left: left_node,
                right: left_node + 1,
            };
            let depth = leaf.depth + 1;
            let can_split = self.max_depth.is_none_or(|max| depth < max);
            for (rows, gradient, hessian, histogram, node) in [
                (left_rows, left_g, left_h, left_hist, left_node),
                (
                    right_rows,
                    leaf.gradient - left_g,
                    leaf.hessian - left_h,
                    right_hist,
                    left_node + 1,
                ),
            ] {
                let best = if can_split && rows.len() >= 2 * self.min_leaf_rows {
                    self.best_split(
                        binned,
                        &histogram,
                        (gradient, hessian, rows.len()),
                        features,
                    )
                } else {
                    None
                };
                open.push(Growing {
                    rows,
                    gradient,
                    hessian,
                    depth,
                    node,
                    histogram,
                    best,
                });
            }
        }
        done.extend(open);
        for leaf in done {
            let value = -leaf.gradient / (leaf.hessian + self.l2_regularisation);
            nodes[leaf.node] = Node::Leaf(value * self.learning_rate);
        }
        (Tree { nodes }, gains)
    }

    /// Fits on a matrix and labels `0..n_classes`.
    pub fn fit_arrays(
        &self,
        x: ArrayView2<'_, f64>,
        y: &[usize],
    ) -> Result<BoostingClassifier, ModelError> {
        self.check()?;
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
        let valid_x = x.select(Axis(0), &split.validation);
        let valid_y: Vec<usize> = split.validation.iter().map(|&r| y[r]).collect();
        let n = fit_y.len();
        let n_features = x.ncols();
        let k = outputs(n_classes);

        let edges: Vec<Vec<f64>> = (0..n_features)
            .into_par_iter()
            .map(|f| bin_edges(fit_x.column(f).iter().copied(), self.max_bins))
            .collect();
        let bins: Vec<Vec<u8>> = (0..n_features)
            .into_par_iter()
            .map(|f| {
                fit_x
                    .column(f)
                    .iter()
                    .map(|&v| bin_of(v, &edges[f]))
                    .collect()
            })
            .collect();
        let mut offsets = vec![0];
        for e in &edges {
            offsets.push(offsets[offsets.len() - 1] + e.len() + 1);
        }
        let binned = Binned {
            width: offsets[n_features],
            bins,
            edges,
            offsets,
        };

        // Priors, smoothed so an absent class gets a finite score.
        let mut counts = vec![0.0; n_classes];
        for &label in &fit_y {
            counts[label] += 1.0;
        }
        let prior: Vec<f64> = counts
            .iter()
            .map(|c| (c + 0.5) / (n as f64 + 0.5 * n_classes as f64))
            .collect();
        let base: Vec<f64> = if k == 1 {
            vec![(prior[1] / prior[0]).ln()]
        } else {
            prior.iter().map(|p| p.ln()).collect()
        };
        let mut raw = Array2::from_shape_fn((n, k), |(_, c)| base[c]);
        let mut valid_raw = Array2::from_shape_fn((valid_y.len(), k), |(_, c)| base[c]);
        let valid_rows: Vec<Vec<f64>> = valid_x.axis_iter(Axis(0)).map(|r| r.to_vec()).collect();

        let mut model = BoostingClassifier {
            n_classes,
            n_features,
            base,
            rounds: Vec::new(),
            gain: vec![0.0; n_features],
            history: Vec::new(),
        };
        let mut rng = ChaCha8Rng::seed_from_u64(self.seed.wrapping_add(0x5eed));
        let mut all_rows: Vec<u32> = (0..n as u32).collect();
        let all_features: Vec<usize> = (0..n_features).collect();
        let bag_size = ((n as f64 * self.row_fraction).round() as usize).clamp(1, n);
        let feature_count =
            ((n_features as f64 * self.feature_fraction).round() as usize).clamp(1, n_features);
        let softmax_factor = if k == 1 {
            1.0
        } else {
            n_classes as f64 / (n_classes as f64 - 1.0)
        };
        let mut best = (f64::INFINITY, 0usize);
        for round in 0..self.n_rounds {
            let proba = probabilities(&raw, n_classes);
            // Gradients and hessians of each output, row-major per output.
            let mut g = vec![vec![0.0; n]; k];
            let mut h = vec![vec![0.0; n]; k];
            for (i, (p, &t)) in proba.axis_iter(Axis(0)).zip(&fit_y).enumerate() {
                if k == 1 {
                    let target = if t == 1 { 1.0 } else { 0.0 };
                    g[0][i] = p[1] - target;
                    h[0][i] = (p[1] * (1.0 - p[1])).max(1e-6);
                } else {
                    for c in 0..k {
                        let target = if t == c { 1.0 } else { 0.0 };
                        g[c][i] = p[c] - target;
                        h[c][i] = (softmax_factor * p[c] * (1.0 - p[c])).max(1e-6);
                    }
                }
            }
            let bag: Vec<u32> = if bag_size < n {
                all_rows.shuffle(&mut rng);
                let mut bag = all_rows[..bag_size].to_vec();
                bag.sort_unstable();
                bag
            } else {
                all_rows.clone()
            };
            let features: Vec<usize> = if feature_count < n_features {
                let mut chosen: Vec<usize> = all_features
                    .choose_multiple(&mut rng, feature_count)
                    .copied()
                    .collect();
                chosen.sort_unstable();
                chosen
            } else {
                all_features.clone()
            };
            let grown: Vec<(Tree, Vec<f64>)> = (0..k)
                .into_par_iter()
                .map(|c| self.grow(&binned, &bag, &g[c], &h[c], &features, n_features))
                .collect();
            let trees: Vec<Tree> = grown
                .into_iter()
                .map(|(tree, gains)| {
                    for (total, gain) in model.gain.iter_mut().zip(gains) {
                        *total += gain;
                    }
                    tree
                })
                .collect();
            // Update the raw scores of the fitted rows and the held-out rows.
            raw.axis_iter_mut(Axis(0))
                .into_par_iter()
                .zip(fit_x.axis_iter(Axis(0)).into_par_iter())
                .for_each(|(mut scores, row)| {
                    let row = row.to_vec();
                    for (score, tree) in scores.iter_mut().zip(&trees) {
                        *score += tree.predict(&row);
                    }
                });
            for (mut scores, row) in valid_raw.axis_iter_mut(Axis(0)).zip(&valid_rows) {
                for (score, tree) in scores.iter_mut().zip(&trees) {
                    *score += tree.predict(row);
                }
            }
            model.rounds.push(trees);
            let train_loss = mean_log_loss(&probabilities(&raw, n_classes), &fit_y);
            let (validation_loss, validation_accuracy) = if valid_y.is_empty() {
                (None, None)
            } else {
                let p = probabilities(&valid_raw, n_classes);
                (
                    Some(mean_log_loss(&p, &valid_y)),
                    Some(accuracy_of(&p, &valid_y)),
                )
            };
            model.history.push(BoostingRound {
                train_loss,
                validation_loss,
                validation_accuracy,
            });
            if let Some(loss) = validation_loss {
                if loss < best.0 {
                    best = (loss, round + 1);
                } else if round + 1 - best.1 >= self.early_stopping_rounds {
                    break;
                }
            }
        }
        if !valid_y.is_empty() {
            model.rounds.truncate(best.1.max(1));
            if self.refit {
                let scale = x.nrows() as f64 / n as f64;
                let rounds = ((model.rounds.len() as f64 * scale).ceil() as usize).max(1);
                let mut again = self
                    .clone()
                    .refit(false)
                    .validation_fraction(0.0)
                    .n_rounds(rounds);
                again.n_classes = Some(n_classes);
                let mut full = again.fit_arrays(x, y)?;
                full.history = std::mem::take(&mut model.history);
                return Ok(full);
            }
        }
        Ok(model)
    }
}

impl Fit<Array2<f64>, Array1<usize>, ModelError> for BoostingClassifierParams {
    type Object = BoostingClassifier;

    fn fit(
        &self,
        dataset: &DatasetBase<Array2<f64>, Array1<usize>>,
    ) -> Result<BoostingClassifier, ModelError> {
        let labels: Vec<usize> = dataset.targets().to_vec();
        self.fit_arrays(dataset.records().view(), &labels)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::Array;
    use rand::Rng;

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
            let acc = accuracy_of(&proba, ty.as_slice().unwrap());
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
