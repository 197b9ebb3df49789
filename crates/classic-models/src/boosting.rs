//! Gradient-boosted regression trees: histogram-based and grown leaf-wise, in the manner of
//! LightGBM, with row bagging, feature sub-sampling and L2, L1 or Huber loss.
//!
//! With the squared loss it fits LightGBM 4's trees: the same bins, growth, gains and leaf
//! values, gradients at LightGBM's `f32` precision, and bags and feature samples drawn as
//! LightGBM draws them (`draws.rs`), so `seed(s)` here and `seed=s` there give the same model.
//! `tools/compare_peers` checks this on the chart tracks, prediction by prediction.
//!
//! `docs/BOOSTING.md` records why this is written here rather than taken from a crate: it was
//! measured against `perpetual`, `forust-ml` and Python LightGBM on the chart tracks.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use linfa::traits::{Fit, PredictInplace};
use linfa::DatasetBase;
use ndarray::{Array1, Array2, ArrayView1, ArrayView2, Axis};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use evaluation::{ParamSet, ParamSetExt, SearchSpace, Tunable, Value};

use crate::binning::{bin_edges, bin_of};
use crate::boosted_tree::{Node, Tree};
use crate::draws::Draws;
use crate::error::ModelError;
use crate::team::{lock, Abandoned, Pair};

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

/// Parameters of [`Boosting`]; checked when fitted.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BoostingParams {
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
}

impl Default for BoostingParams {
    fn default() -> Self {
        BoostingParams::new()
    }
}

impl BoostingParams {
    /// LightGBM-like defaults: 500 trees, learning rate 0.05, 31 leaves, 20 rows per leaf.
    pub fn new() -> BoostingParams {
        BoostingParams {
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
        }
    }

    /// Number of trees.
    pub fn n_trees(mut self, n: usize) -> Self {
        self.n_trees = n;
        self
    }

    /// Shrinkage of each tree's contribution.
    pub fn learning_rate(mut self, rate: f64) -> Self {
        self.learning_rate = rate;
        self
    }

    /// Most leaves per tree.
    pub fn max_leaves(mut self, leaves: usize) -> Self {
        self.max_leaves = leaves;
        self
    }

    /// Deepest a leaf may be (`None`: limited only by `max_leaves`).
    pub fn max_depth(mut self, depth: Option<usize>) -> Self {
        self.max_depth = depth;
        self
    }

    /// Fewest training rows in a leaf.
    pub fn min_leaf_rows(mut self, rows: usize) -> Self {
        self.min_leaf_rows = rows;
        self
    }

    /// L2 penalty on leaf values (LightGBM's `lambda_l2`).
    pub fn l2_regularisation(mut self, lambda: f64) -> Self {
        self.l2_regularisation = lambda;
        self
    }

    /// Smallest gain a split must bring.
    pub fn min_split_gain(mut self, gain: f64) -> Self {
        self.min_split_gain = gain;
        self
    }

    /// Fraction of rows each tree is grown on (bagging, drawn anew per tree: each row is in a
    /// tree's bag with this probability, as in LightGBM).
    pub fn row_fraction(mut self, fraction: f64) -> Self {
        self.row_fraction = fraction;
        self
    }

    /// Fraction of features each tree may split on.
    pub fn feature_fraction(mut self, fraction: f64) -> Self {
        self.feature_fraction = fraction;
        self
    }

    /// Most histogram bins per feature (2..=256).
    pub fn max_bins(mut self, bins: usize) -> Self {
        self.max_bins = bins;
        self
    }

    /// The loss.
    pub fn loss(mut self, loss: Loss) -> Self {
        self.loss = loss;
        self
    }

    /// Seed of bagging and feature sampling; LightGBM's `seed` parameter draws the same.
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }

    /// Checks every parameter, naming the first bad one.
    pub fn check(&self) -> Result<(), ModelError> {
        let fraction = |v: f64| v > 0.0 && v <= 1.0;
        let problem = if self.n_trees == 0 {
            Some("n_trees must be at least 1")
        } else if !(self.learning_rate > 0.0 && self.learning_rate <= 1.0) {
            Some("learning_rate must be in (0, 1]")
        } else if self.max_leaves < 2 {
            Some("max_leaves must be at least 2")
        } else if self.min_leaf_rows == 0 {
            Some("min_leaf_rows must be at least 1")
        } else if !(self.l2_regularisation >= 0.0 && self.l2_regularisation.is_finite()) {
            Some("l2_regularisation must be finite and >= 0")
        } else if !(self.min_split_gain >= 0.0 && self.min_split_gain.is_finite()) {
            Some("min_split_gain must be finite and >= 0")
        } else if !fraction(self.row_fraction) {
            Some("row_fraction must be in (0, 1]")
        } else if !fraction(self.feature_fraction) {
            Some("feature_fraction must be in (0, 1]")
        } else if !(2..=256).contains(&self.max_bins) {
            Some("max_bins must be in 2..=256")
        } else if matches!(self.loss, Loss::Huber(delta) if !(delta > 0.0 && delta.is_finite())) {
            Some("the Huber threshold must be finite and > 0")
        } else if self.max_depth == Some(0) {
            Some("max_depth must be at least 1")
        } else {
            None
        };
        match problem {
            Some(message) => Err(ModelError::InvalidParams(message.into())),
            None => Ok(()),
        }
    }
}

/// A fitted gradient-boosting model.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Boosting {
    base: f64,
    trees: Vec<Tree>,
    n_features: usize,
    gain: Vec<f64>,
    splits: Vec<usize>,
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
        if x.ncols() != self.n_features {
            return Err(ModelError::WidthMismatch {
                expected: self.n_features,
                found: x.ncols(),
            });
        }
        // Rows are copied into contiguous blocks, and each tree walks a whole block before the
        // next tree: the tree stays in cache, which is several times faster than walking all
        // trees for one row at a time.
        const BLOCK: usize = 256;
        let starts: Vec<usize> = (0..x.nrows()).step_by(BLOCK).collect();
        let blocks: Vec<Vec<f64>> = starts
            .into_par_iter()
            .map(|start| {
                let end = (start + BLOCK).min(x.nrows());
                let rows: Vec<Vec<f64>> = (start..end).map(|r| x.row(r).to_vec()).collect();
                let mut sums = vec![self.base; rows.len()];
                for tree in &self.trees {
                    for (sum, row) in sums.iter_mut().zip(&rows) {
                        *sum += tree.predict(row);
                    }
                }
                sums
            })
            .collect();
        Ok(Array1::from(blocks.concat()))
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

/// Per-bin sums of gradients and counts of one leaf, for the features of one [`Share`].
#[derive(Clone)]
struct Histogram {
    gradient: Vec<f64>,
    count: Vec<u32>,
}

/// A split candidate.
#[derive(Clone, Copy, Debug)]
struct Split {
    gain: f64,
    feature: usize,
    bin: usize,
}

/// The better of two candidates, as one scan over all features in order would find it: the
/// higher gain, and on a tie the lower feature (a scan keeps its first maximum).
fn better(a: Option<Split>, b: Option<Split>) -> Option<Split> {
    match (a, b) {
        (Some(x), Some(y)) if y.gain > x.gain || (y.gain == x.gain && y.feature < x.feature) => b,
        (Some(_), _) => a,
        (None, _) => b,
    }
}

/// The features one worker histograms, in ascending order, and where each one's bins start in
/// that worker's histograms (`offsets` has one more entry: the width).
struct Share {
    features: Vec<usize>,
    offsets: Vec<usize>,
}

impl Share {
    fn new(mut features: Vec<usize>, trainer: &Trainer<'_>) -> Share {
        features.sort_unstable();
        let mut offsets = Vec::with_capacity(features.len() + 1);
        offsets.push(0);
        for &feature in &features {
            offsets.push(offsets[offsets.len() - 1] + trainer.edges[feature].len() + 1);
        }
        Share { features, offsets }
    }

    /// `features` dealt between `workers` so that their bin counts are about even: largest
    /// feature first, each to the worker with the fewest bins so far.
    fn deal(features: &[usize], workers: usize, trainer: &Trainer<'_>) -> Vec<Share> {
        let mut by_bins = features.to_vec();
        by_bins.sort_by_key(|&f| std::cmp::Reverse(trainer.edges[f].len()));
        let mut hands = vec![(0usize, Vec::new()); workers];
        for feature in by_bins {
            if let Some(hand) = hands.iter_mut().min_by_key(|(bins, _)| *bins) {
                hand.0 += trainer.edges[feature].len() + 1;
                hand.1.push(feature);
            }
        }
        hands
            .into_iter()
            .map(|(_, features)| Share::new(features, trainer))
            .collect()
    }

    fn width(&self) -> usize {
        self.offsets.last().copied().unwrap_or(0)
    }

    /// Each feature with its bins' range in a histogram.
    fn ranges(&self) -> impl Iterator<Item = (usize, std::ops::Range<usize>)> + '_ {
        self.features
            .iter()
            .zip(self.offsets.windows(2))
            .map(|(&feature, window)| (feature, window[0]..window[1]))
    }
}

/// What both workers read while they grow one tree.
struct TreeInput {
    gradients: Vec<f64>,
    bag: Vec<u32>,
    features: Vec<usize>,
    /// A team's shares of `features`, by worker (dealt once, by the lead); empty when the lead
    /// grows the trees alone.
    shares: Vec<Share>,
}

/// How a worker growing a tree pools its best splits after each split.
trait Pool {
    /// Whether the worker grows the tree alone (and may fill histograms in parallel).
    const ALONE: bool;
    /// Why pooling can fail.
    type Lost;
    /// The best split of each leaf in `mine`, over every sampled feature.
    fn pool(&mut self, mine: Vec<Option<Split>>) -> Result<Vec<Option<Split>>, Self::Lost>;
}

/// A worker alone: its own best splits are the best, and pooling cannot fail.
struct Alone;

impl Pool for Alone {
    const ALONE: bool = true;
    type Lost = std::convert::Infallible;

    fn pool(&mut self, mine: Vec<Option<Split>>) -> Result<Vec<Option<Split>>, Self::Lost> {
        Ok(mine)
    }
}

/// A worker of a team: it trades its best splits with its partner's, round by round, and keeps
/// the better of each pair. Fails if the partner has left.
struct Partnered<'a> {
    pair: &'a Pair<Vec<Option<Split>>>,
    worker: usize,
    round: usize,
}

impl<'a> Partnered<'a> {
    fn new(pair: &'a Pair<Vec<Option<Split>>>, worker: usize) -> Self {
        Partnered {
            pair,
            worker,
            round: 0,
        }
    }
}

impl Pool for Partnered<'_> {
    const ALONE: bool = false;
    type Lost = Abandoned;

    fn pool(&mut self, mine: Vec<Option<Split>>) -> Result<Vec<Option<Split>>, Abandoned> {
        let theirs = self.pair.exchange(self.round, self.worker, mine.clone())?;
        self.round += 1;
        Ok(mine
            .into_iter()
            .zip(theirs)
            .map(|(a, b)| better(a, b))
            .collect())
    }
}

/// A grown tree before its leaf values: the lead sets those.
struct Grown {
    nodes: Vec<Node>,
    /// The bin each split node splits at, for walking rows by their bins.
    split_bins: Vec<u8>,
    /// Each leaf's rows, gradient sum and node.
    leaves: Vec<(Vec<u32>, f64, usize)>,
    splits: Vec<Split>,
}

/// A leaf still growing: its rows, sums, histogram and best split.
struct Growing {
    rows: Vec<u32>,
    gradient: f64,
    depth: usize,
    node: usize,
    histogram: Histogram,
    best: Option<Split>,
}

/// The partner of a fit, with the tree it is handed next (`None`: the fit is over).
type Team = (Pair<Vec<Option<Split>>>, Mutex<Option<Arc<TreeInput>>>);

/// Below this many bagged rows × sampled features a tree is grown by one thread.
const TEAM_MIN_WORK: usize = 20_000;

struct Trainer<'a> {
    params: &'a BoostingParams,
    /// Column-major bins: `bins[f][row]`.
    bins: Vec<Vec<u8>>,
    edges: Vec<Vec<f64>>,
}

impl Trainer<'_> {
    /// The features each tree samples from: those with more than one bin (LightGBM's valid
    /// features); the others cannot be split.
    fn valid_features(&self) -> Vec<usize> {
        (0..self.edges.len())
            .filter(|&f| !self.edges[f].is_empty())
            .collect()
    }

    /// The histogram of `rows` over the features of `share`; over features in parallel (rayon)
    /// when `parallel` and the leaf is large.
    fn histogram(
        &self,
        rows: &[u32],
        gradients: &[f64],
        share: &Share,
        parallel: bool,
    ) -> Histogram {
        let mut histogram = Histogram {
            gradient: vec![0.0; share.width()],
            count: vec![0; share.width()],
        };
        // The leaf's gradients gathered once, in row order, rather than once per feature.
        let ordered: Vec<f64> = rows.iter().map(|&row| gradients[row as usize]).collect();
        let fill = |feature: usize, gradient: &mut [f64], count: &mut [u32]| {
            let column = &self.bins[feature];
            for (&row, &g) in rows.iter().zip(&ordered) {
                let bin = column[row as usize] as usize;
                gradient[bin] += g;
                count[bin] += 1;
            }
        };
        let chunks: Vec<(usize, &mut [f64], &mut [u32])> = split_by_feature(
            &mut histogram.gradient,
            &mut histogram.count,
            &share.offsets,
        )
        .into_iter()
        .zip(&share.features)
        .map(|((g, c), &feature)| (feature, g, c))
        .collect();
        if parallel && rows.len() * share.features.len() > 20_000 {
            chunks
                .into_par_iter()
                .for_each(|(feature, g, c)| fill(feature, g, c));
        } else {
            for (feature, g, c) in chunks {
                fill(feature, g, c);
            }
        }
        histogram
    }

    fn best_split(
        &self,
        histogram: &Histogram,
        total_gradient: f64,
        total_count: usize,
        share: &Share,
    ) -> Option<Split> {
        let lambda = self.params.l2_regularisation;
        let min_rows = self.params.min_leaf_rows;
        let score = |g: f64, n: f64| g * g / (n + lambda);
        let parent = score(total_gradient, total_count as f64);
        let mut best: Option<Split> = None;
        for (feature, bins) in share.ranges() {
            // Within a feature, the highest of equally good thresholds: where the bins between
            // two rows are empty, the one just below the right rows, as LightGBM's scan from
            // the top finds it. Across features, `better` keeps the lowest feature.
            let mut feature_best: Option<Split> = None;
            let mut left_gradient = 0.0;
            let mut left_count = 0usize;
            let gradients = &histogram.gradient[bins.clone()];
            let counts = &histogram.count[bins];
            // The last bin cannot be a left side.
            let candidates = gradients.len().saturating_sub(1);
            for (bin, (&g, &c)) in gradients.iter().zip(counts).take(candidates).enumerate() {
                left_gradient += g;
                left_count += c as usize;
                let right_count = total_count - left_count;
                if left_count < min_rows {
                    continue;
                }
                if right_count < min_rows {
                    break;
                }
                let gain = score(left_gradient, left_count as f64)
                    + score(total_gradient - left_gradient, right_count as f64)
                    - parent;
                if gain > self.params.min_split_gain && feature_best.is_none_or(|b| gain >= b.gain)
                {
                    feature_best = Some(Split { gain, feature, bin });
                }
            }
            best = better(best, feature_best);
        }
        best
    }
}

fn split_by_feature<'h>(
    gradient: &'h mut [f64],
    count: &'h mut [u32],
    offsets: &[usize],
) -> Vec<(&'h mut [f64], &'h mut [u32])> {
    let mut parts = Vec::with_capacity(offsets.len().saturating_sub(1));
    let (mut gradient, mut count) = (gradient, count);
    for window in offsets.windows(2) {
        let size = window[1] - window[0];
        let (g_head, g_tail) = gradient.split_at_mut(size);
        let (c_head, c_tail) = count.split_at_mut(size);
        parts.push((g_head, c_head));
        gradient = g_tail;
        count = c_tail;
    }
    parts
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

impl BoostingParams {
    /// The gradient at `prediction`, held at `f32` precision as LightGBM holds it (its
    /// `score_t`), so that both add up the same histograms.
    fn gradient(&self, prediction: f64, target: f64) -> f64 {
        let residual = prediction - target;
        let gradient = match self.loss {
            Loss::Squared => residual,
            Loss::Absolute => residual.signum(),
            Loss::Huber(delta) => residual.clamp(-delta, delta),
        };
        f64::from(gradient as f32)
    }

    fn fit_arrays(
        &self,
        x: ArrayView2<'_, f64>,
        y: ArrayView1<'_, f64>,
    ) -> Result<Boosting, ModelError> {
        self.check()?;
        if x.nrows() != y.len() {
            return Err(ModelError::InvalidData(format!(
                "{} rows of features but {} targets",
                x.nrows(),
                y.len()
            )));
        }
        if x.nrows() < 2 * self.min_leaf_rows.max(1) {
            return Err(ModelError::InvalidData(format!(
                "{} rows are too few for leaves of {} rows",
                x.nrows(),
                self.min_leaf_rows
            )));
        }
        if y.iter().any(|v| !v.is_finite()) {
            return Err(ModelError::InvalidData(
                "targets contain NaN or infinity".into(),
            ));
        }
        let edges: Vec<Vec<f64>> = x
            .axis_iter(Axis(1))
            .into_par_iter()
            .map(|column| bin_edges(column.iter().copied(), self.max_bins))
            .collect();
        let bins: Vec<Vec<u8>> = x
            .axis_iter(Axis(1))
            .into_par_iter()
            .zip(&edges)
            .map(|(column, edges)| column.iter().map(|&v| bin_of(v, edges)).collect())
            .collect();
        let trainer = Trainer {
            params: self,
            bins,
            edges,
        };
        let n = x.nrows();
        let sampled = self.feature_count(trainer.valid_features().len());
        if self.bag_size(n) * sampled < TEAM_MIN_WORK
            || sampled < 2
            || rayon::current_num_threads() < 2
        {
            return Ok(self.boost(&trainer, y, None));
        }
        // A free thread joins within microseconds; one busy elsewhere (folds fitted in
        // parallel, say) is not waited for.
        Ok(self.boost_in_team(&trainer, y, Duration::from_millis(2)).0)
    }

    /// Boosts with a partner thread from rayon's pool if one joins within `patience`, else
    /// alone; says which it was. The model is the same either way.
    fn boost_in_team(
        &self,
        trainer: &Trainer<'_>,
        y: ArrayView1<'_, f64>,
        patience: Duration,
    ) -> (Boosting, bool) {
        let team: Team = (Pair::new(), Mutex::new(None));
        rayon::scope(|s| {
            s.spawn(|_| {
                if team.0.join() {
                    let _leave = team.0.leave_on_drop();
                    // An error means the lead left first, and needs nothing more.
                    let _ = self.help(trainer, &team);
                }
            });
            let teamed = team.0.recruit(patience);
            (self.boost(trainer, y, teamed.then_some(&team)), teamed)
        })
    }

    /// Rows expected in each tree's bag.
    fn bag_size(&self, n: usize) -> usize {
        ((n as f64 * self.row_fraction).round() as usize).clamp(1, n)
    }

    /// Features each tree may split on.
    fn feature_count(&self, n_features: usize) -> usize {
        ((n_features as f64 * self.feature_fraction).round() as usize).max(n_features.min(1))
    }

    /// The boosting rounds, led by this thread; with a team, the partner grows each tree with it.
    fn boost(
        &self,
        trainer: &Trainer<'_>,
        y: ArrayView1<'_, f64>,
        mut team: Option<&Team>,
    ) -> Boosting {
        let _leave = team.map(|(pair, _)| pair.leave_on_drop());
        let n_features = trainer.bins.len();
        // Targets at `f32` precision, as LightGBM stores labels.
        let targets: Vec<f64> = y.iter().map(|&t| f64::from(t as f32)).collect();
        let base = match self.loss {
            Loss::Squared => targets.iter().sum::<f64>() / targets.len() as f64,
            Loss::Absolute | Loss::Huber(_) => median(&mut targets.clone()),
        };
        let n = targets.len();
        let mut predictions = vec![base; n];
        let valid = trainer.valid_features();
        let feature_count = self.feature_count(valid.len());
        let bagging = self.row_fraction < 1.0;
        let mut draws = Draws::new(self.seed, n, valid.len(), feature_count);
        let mut model = Boosting {
            base,
            trees: Vec::with_capacity(self.n_trees),
            n_features,
            gain: vec![0.0; n_features],
            splits: vec![0; n_features],
        };
        let mut in_bag = vec![true; n];
        for _ in 0..self.n_trees {
            let gradients: Vec<f64> = predictions
                .iter()
                .zip(&targets)
                .map(|(&p, &t)| self.gradient(p, t))
                .collect();
            let mut bag = if bagging {
                draws.bag(self.row_fraction, &mut in_bag)
            } else {
                (0..n as u32).collect()
            };
            if bag.is_empty() {
                // A bag of no rows (a few rows and a small fraction) has no mean to fit.
                bag = (0..n as u32).collect();
                in_bag.fill(true);
            }
            let features = draws.features(&valid, feature_count);
            let out_of_bag = bag.len() < n;
            let shares = match team {
                Some(_) => Share::deal(&features, 2, trainer),
                None => Vec::new(),
            };
            let input = Arc::new(TreeInput {
                gradients,
                bag,
                features,
                shares,
            });
            let teamed = team.map(|(pair, next)| {
                *lock(next) = Some(Arc::clone(&input));
                pair.meet().and_then(|()| {
                    self.grow(trainer, &input, &input.shares[0], Partnered::new(pair, 0))
                })
            });
            let grown = match teamed {
                Some(Ok(grown)) => grown,
                // Alone from the start, or the partner left (it unwound): this thread grows
                // the tree, and the rest, by itself, to the same result.
                _ => {
                    team = None;
                    let share = Share::new(input.features.clone(), trainer);
                    let Ok(grown) = self.grow(trainer, &input, &share, Alone);
                    grown
                }
            };
            let mut nodes = grown.nodes;
            let values: Vec<f64> = grown
                .leaves
                .iter()
                .map(|(rows, gradient, _)| {
                    let raw = match self.loss {
                        Loss::Absolute => {
                            let mut residuals: Vec<f64> = rows
                                .iter()
                                .map(|&r| targets[r as usize] - predictions[r as usize])
                                .collect();
                            median(&mut residuals)
                        }
                        Loss::Squared | Loss::Huber(_) => {
                            -gradient / (rows.len() as f64 + self.l2_regularisation)
                        }
                    };
                    raw * self.learning_rate
                })
                .collect();
            // In-bag rows: their leaf is known. Out-of-bag rows: walk the tree on raw bins.
            for ((rows, _, node), &value) in grown.leaves.iter().zip(&values) {
                nodes[*node] = Node::Leaf(value);
                for &row in rows {
                    predictions[row as usize] += value;
                }
            }
            for split in &grown.splits {
                model.gain[split.feature] += split.gain;
                model.splits[split.feature] += 1;
            }
            let tree = Tree { nodes };
            if out_of_bag {
                for row in (0..n).filter(|&r| !in_bag[r]) {
                    predictions[row] += walk_bins(&tree, &grown.split_bins, trainer, row);
                }
            }
            model.trees.push(tree);
        }
        if let Some((pair, next)) = team {
            *lock(next) = None;
            // The partner may have left already; either way it is done.
            let _ = pair.meet();
        }
        model
    }

    /// The partner's side of a team: grows its share of each tree the lead hands out.
    fn help(&self, trainer: &Trainer<'_>, (pair, next): &Team) -> Result<(), Abandoned> {
        loop {
            pair.meet()?;
            let Some(input) = lock(next).clone() else {
                return Ok(());
            };
            // The lead deals a share to each of two workers; without one, leaving is the
            // way out (the lead then grows the tree alone).
            let Some(share) = input.shares.get(1) else {
                return Err(Abandoned);
            };
            self.grow(trainer, &input, share, Partnered::new(pair, 1))?;
        }
    }

    /// Grows one tree over `share`'s features. With a partner ([`Partnered`]), which grows the
    /// same tree over the other features, the two pool their best splits after every split, so
    /// both take the same splits as one thread scanning all features would; [`Alone`], `share`
    /// must hold every sampled feature.
    fn grow<P: Pool>(
        &self,
        trainer: &Trainer<'_>,
        input: &TreeInput,
        share: &Share,
        mut pool: P,
    ) -> Result<Grown, P::Lost> {
        let gradients = &input.gradients;
        // Alone, the largest histograms are filled over features in parallel instead.
        let parallel = P::ALONE;
        let mut nodes = vec![Node::Leaf(0.0)];
        let mut split_bins = vec![0u8];
        let mut splits = Vec::new();
        let root_gradient: f64 = input.bag.iter().map(|&r| gradients[r as usize]).sum();
        let root_histogram = trainer.histogram(&input.bag, gradients, share, parallel);
        let root_best = trainer.best_split(&root_histogram, root_gradient, input.bag.len(), share);
        let mut open = vec![Growing {
            rows: input.bag.clone(),
            gradient: root_gradient,
            depth: 0,
            node: 0,
            histogram: root_histogram,
            best: pool.pool(vec![root_best])?.into_iter().flatten().next(),
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
            let column = &trainer.bins[split.feature];
            let (left_rows, right_rows): (Vec<u32>, Vec<u32>) = leaf
                .rows
                .iter()
                .partition(|&&row| (column[row as usize] as usize) <= split.bin);
            let left_gradient: f64 = left_rows.iter().map(|&r| gradients[r as usize]).sum();
            let right_gradient = leaf.gradient - left_gradient;
            // Build the smaller child's histogram; the larger is the parent's minus it.
            let left_smaller = left_rows.len() <= right_rows.len();
            let small = trainer.histogram(
                if left_smaller {
                    &left_rows
                } else {
                    &right_rows
                },
                gradients,
                share,
                parallel,
            );
            let mut large = leaf.histogram;
            for (l, s) in large.gradient.iter_mut().zip(&small.gradient) {
                *l -= s;
            }
            for (l, s) in large.count.iter_mut().zip(&small.count) {
                *l -= s;
            }
            let (left_histogram, right_histogram) = if left_smaller {
                (small, large)
            } else {
                (large, small)
            };
            splits.push(split);
            let left_node = nodes.len();
            nodes.push(Node::Leaf(0.0));
            nodes.push(Node::Leaf(0.0));
            split_bins.extend([0, 0]);
            // Bins are u8 by construction (at most 256 of them).
            split_bins[leaf.node] = split.bin as u8;
            nodes[leaf.node] = Node::Split {
                feature: split.feature,
                threshold: trainer.edges[split.feature][split.bin],
                left: left_node,
                right: left_node + 1,
            };
            let depth = leaf.depth + 1;
            let can_split = self.max_depth.is_none_or(|max| depth < max);
            let children = [
                (left_rows, left_gradient, left_histogram, left_node),
                (right_rows, right_gradient, right_histogram, left_node + 1),
            ];
            let mine = children
                .iter()
                .map(|(rows, gradient, histogram, _)| {
                    if can_split && rows.len() >= 2 * self.min_leaf_rows {
                        trainer.best_split(histogram, *gradient, rows.len(), share)
                    } else {
                        None
                    }
                })
                .collect();
            let bests = pool.pool(mine)?;
            for ((rows, gradient, histogram, node), best) in children.into_iter().zip(bests) {
                open.push(Growing {
                    rows,
                    gradient,
                    depth,
                    node,
                    histogram,
                    best,
                });
            }
        }
        done.extend(open);
        Ok(Grown {
            nodes,
            split_bins,
            leaves: done
                .into_iter()
                .map(|leaf| (leaf.rows, leaf.gradient, leaf.node))
                .collect(),
            splits,
        })
    }
}

/// The value a tree gives a training row, read from its bins: `split_bins[node]` is the bin a
/// split node splits at (rows in it or below go left, as when the tree was grown).
fn walk_bins(tree: &Tree, split_bins: &[u8], trainer: &Trainer<'_>, row: usize) -> f64 {
    tree.walk(|node, feature, _| trainer.bins[feature][row] <= split_bins[node])
}

impl Fit<Array2<f64>, Array1<f64>, ModelError> for BoostingParams {
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
    }

    fn from_params(params: &ParamSet) -> Result<Self, ModelError> {
        let defaults = BoostingParams::new();
        let loss = match params.text_or("loss", defaults.loss.name())? {
            "l2" => Loss::Squared,
            "l1" => Loss::Absolute,
            "huber" => Loss::Huber(params.float_or("huber_delta", 0.1)?),
            other => {
                return Err(ModelError::InvalidParams(format!(
                    "loss must be l2, l1 or huber, not {other:?}"
                )))
            }
        };
        let params = BoostingParams {
            n_trees: to_usize(
                params.int_or("n_trees", defaults.n_trees as i64)?,
                "n_trees",
            )?,
            learning_rate: params.float_or("learning_rate", defaults.learning_rate)?,
            max_leaves: to_usize(
                params.int_or("max_leaves", defaults.max_leaves as i64)?,
                "max_leaves",
            )?,
            max_depth: None,
            min_leaf_rows: to_usize(
                params.int_or("min_leaf_rows", defaults.min_leaf_rows as i64)?,
                "min_leaf_rows",
            )?,
            l2_regularisation: params.float_or("l2_regularisation", defaults.l2_regularisation)?,
            min_split_gain: params.float_or("min_split_gain", defaults.min_split_gain)?,
            row_fraction: params.float_or("row_fraction", defaults.row_fraction)?,
            feature_fraction: params.float_or("feature_fraction", defaults.feature_fraction)?,
            max_bins: to_usize(
                params.int_or("max_bins", defaults.max_bins as i64)?,
                "max_bins",
            )?,
            loss,
            seed: params.int_or("seed", 0)? as u64,
        };
        params.check()?;
        Ok(params)
    }
}

/// A non-negative whole number from a parameter set.
pub(crate) fn to_usize(value: i64, name: &str) -> Result<usize, ModelError> {
    usize::try_from(value)
        .map_err(|_| ModelError::InvalidParams(format!("{name} must be >= 0, not {value}")))
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
    fn two_threads_grow_the_model_one_thread_grows() {
        let (x, y) = synthetic(8000, 6);
        let params = BoostingParams::new()
            .n_trees(30)
            .row_fraction(0.8)
            .feature_fraction(0.75)
            .seed(4);
        let one_thread = rayon::ThreadPoolBuilder::new()
            .num_threads(1)
            .build()
            .unwrap();
        let alone = one_thread
            .install(|| params.fit(&DatasetBase::new(x.clone(), y.clone())))
            .unwrap();
        let edges: Vec<Vec<f64>> = x
            .columns()
            .into_iter()
            .map(|column| bin_edges(column.iter().copied(), params.max_bins))
            .collect();
        let trainer = Trainer {
            params: &params,
            bins: x
                .columns()
                .into_iter()
                .zip(&edges)
                .map(|(column, edges)| column.iter().map(|&v| bin_of(v, edges)).collect())
                .collect(),
            edges,
        };
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(2)
            .build()
            .unwrap();
        let (together, teamed) =
            pool.install(|| params.boost_in_team(&trainer, y.view(), Duration::from_secs(600)));
        assert!(teamed);
        assert_eq!(together, alone);
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
    fn bad_parameters_and_shapes_are_errors() {
        let (x, y) = synthetic(100, 5);
        let data = DatasetBase::new(x.clone(), y);
        assert!(BoostingParams::new().learning_rate(0.0).fit(&data).is_err());
        assert!(BoostingParams::new().max_bins(1).fit(&data).is_err());
        let model = BoostingParams::new().n_trees(2).fit(&data).unwrap();
        assert!(model.try_predict(x.slice(ndarray::s![.., ..2])).is_err());
    }
}
