//! The one histogram boosting engine of the crate: bins, histograms, split search, leaf-wise
//! growth, LightGBM's draws, the two-thread team and early stopping, generic over an
//! [`Objective`]. [`crate::boosting`] (squared, absolute and Huber loss) and
//! [`crate::boosting_classifier`] (logistic and softmax cross-entropy) are objectives of it.
//!
//! With unit hessians (every regression loss here) the histograms hold no hessians: a leaf's
//! hessian is its row count, so the squared loss fits LightGBM 4's trees exactly, as
//! `tools/compare_peers` checks. With hessians per row (the cross-entropies), split gains and
//! leaf values are second-order (Newton), as in LightGBM.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use ndarray::{ArrayView2, Axis};
use rayon::prelude::*;

use crate::binning::{bin_edges, bin_of};
use crate::boosted_tree::{Node, Tree};
use crate::draws::Draws;
use crate::error::ModelError;
use crate::team::{lock, Abandoned, Pair};

/// What a loss tells the engine: its starting scores, its derivatives, its leaf values and its
/// value, over targets of type `Target`. Raw scores are row-major: `raw[row * k + output]`, with
/// `k` = [`Objective::n_outputs`].
pub(crate) trait Objective: Sync {
    /// The target of one row.
    type Target: Sync;

    /// Trees grown per round, one per raw score of a row.
    fn n_outputs(&self) -> usize;

    /// The starting raw scores, one per output, from the fitted rows' targets.
    fn base(&self, targets: &[Self::Target]) -> Vec<f64>;

    /// Gradients of every output at `raw`, and their hessians (`None`: every row's hessian is
    /// 1, and a leaf's hessian is its row count).
    fn derivatives(
        &self,
        raw: &[f64],
        targets: &[Self::Target],
    ) -> Vec<(Vec<f64>, Option<Vec<f64>>)>;

    /// The value of a leaf of output `output` (before shrinkage), from its rows and their sums.
    fn leaf_value(
        &self,
        leaf: &LeafSums<'_>,
        output: usize,
        raw: &[f64],
        targets: &[Self::Target],
    ) -> f64;

    /// The mean loss of raw scores `raw` of rows with targets `targets`.
    fn loss(&self, raw: &[f64], targets: &[Self::Target]) -> f64;

    /// A second measure of held-out rows (a classifier's accuracy), if the objective has one.
    fn score(&self, _raw: &[f64], _targets: &[Self::Target]) -> Option<f64> {
        None
    }
}

/// A grown leaf, for [`Objective::leaf_value`].
pub(crate) struct LeafSums<'a> {
    /// The leaf's rows.
    pub(crate) rows: &'a [u32],
    /// Sum of their gradients.
    pub(crate) gradient: f64,
    /// Sum of their hessians (the row count with unit hessians).
    pub(crate) hessian: f64,
    /// The L2 penalty on leaf values.
    pub(crate) l2: f64,
}

impl LeafSums<'_> {
    /// The Newton step `-G / (H + λ)`.
    pub(crate) fn newton(&self) -> f64 {
        -self.gradient / (self.hessian + self.l2)
    }
}

/// How each tree grows.
#[derive(Clone, Debug)]
pub(crate) struct GrowRules {
    pub(crate) max_leaves: usize,
    pub(crate) max_depth: Option<usize>,
    pub(crate) min_leaf_rows: usize,
    /// Smallest hessian sum of a leaf (no limit with unit hessians, where it is the row count).
    pub(crate) min_leaf_hessian: f64,
    pub(crate) l2: f64,
    pub(crate) min_split_gain: f64,
    pub(crate) max_bins: usize,
}

/// How the rounds go.
#[derive(Clone, Debug)]
pub(crate) struct RoundRules {
    pub(crate) n_rounds: usize,
    pub(crate) learning_rate: f64,
    pub(crate) row_fraction: f64,
    pub(crate) feature_fraction: f64,
    pub(crate) seed: u64,
    /// Rounds without a better held-out loss before the fit stops (with held-out rows).
    pub(crate) early_stopping_rounds: usize,
}

/// The losses of one round.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct RoundLoss {
    pub(crate) train: f64,
    pub(crate) validation: Option<f64>,
    pub(crate) validation_score: Option<f64>,
}

/// The result of a fit.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Boosted {
    pub(crate) base: Vec<f64>,
    /// `rounds[r][k]`: the tree of output `k` in round `r`; with held-out rows, only the rounds
    /// up to the best held-out loss.
    pub(crate) rounds: Vec<Vec<Tree>>,
    pub(crate) gain: Vec<f64>,
    pub(crate) splits: Vec<usize>,
    /// Every round grown, including those after the best.
    pub(crate) history: Vec<RoundLoss>,
}

/// Held-out rows that stop the rounds early.
pub(crate) struct Validation<'a, T> {
    pub(crate) x: ArrayView2<'a, f64>,
    pub(crate) targets: &'a [T],
}

/// Boosts `objective` on `x` and `targets`, stopping early on `validation` if given.
pub(crate) fn fit<'a, O: Objective>(
    objective: &'a O,
    x: ArrayView2<'_, f64>,
    targets: &'a [O::Target],
    validation: Option<Validation<'_, O::Target>>,
    grow: &'a GrowRules,
    rounds: &'a RoundRules,
) -> Boosted {
    let trainer = Trainer::new(x, grow);
    let engine = Engine {
        objective,
        targets,
        validation,
        rounds,
        grow,
    };
    let sampled = rounds.feature_count(trainer.valid_features().len());
    if rounds.bag_size(targets.len()) * sampled < TEAM_MIN_WORK
        || sampled < 2
        || rayon::current_num_threads() < 2
    {
        return engine.boost(&trainer, None);
    }
    // A free thread joins within microseconds; one busy elsewhere (folds fitted in parallel,
    // say) is not waited for.
    engine.boost_in_team(&trainer, Duration::from_millis(2)).0
}

/// Raw scores of every row of `x` (row-major, `base.len()` per row): the base plus each
/// round's trees, added in round order.
pub(crate) fn raw_scores(x: ArrayView2<'_, f64>, base: &[f64], rounds: &[&[Tree]]) -> Vec<f64> {
    let k = base.len();
    // Rows are copied into contiguous blocks, and each tree walks a whole block before the next
    // tree: the tree stays in cache, which is several times faster than walking all trees for
    // one row at a time.
    const BLOCK: usize = 256;
    let starts: Vec<usize> = (0..x.nrows()).step_by(BLOCK).collect();
    let blocks: Vec<Vec<f64>> = starts
        .into_par_iter()
        .map(|start| {
            let end = (start + BLOCK).min(x.nrows());
            let rows: Vec<Vec<f64>> = (start..end).map(|r| x.row(r).to_vec()).collect();
            let mut sums: Vec<f64> = (0..rows.len() * k).map(|i| base[i % k]).collect();
            for round in rounds {
                for (output, tree) in round.iter().enumerate() {
                    for (r, row) in rows.iter().enumerate() {
                        sums[r * k + output] += tree.predict(row);
                    }
                }
            }
            sums
        })
        .collect();
    blocks.concat()
}

impl GrowRules {
    /// Checks the rules both boostings share, naming the first bad parameter.
    pub(crate) fn check(&self) -> Result<(), ModelError> {
        let non_negative = |v: f64| v >= 0.0 && v.is_finite();
        if self.max_leaves < 2 {
            return Err(ModelError::parameter(
                "max_leaves",
                self.max_leaves,
                "at least 2",
            ));
        }
        if self.max_depth == Some(0) {
            return Err(ModelError::parameter("max_depth", 0, "None or at least 1"));
        }
        if self.min_leaf_rows == 0 {
            return Err(ModelError::parameter("min_leaf_rows", 0, "at least 1"));
        }
        if !non_negative(self.min_leaf_hessian) {
            let value = self.min_leaf_hessian;
            return Err(ModelError::parameter(
                "min_leaf_hessian",
                value,
                "finite and >= 0",
            ));
        }
        if !non_negative(self.l2) {
            return Err(ModelError::parameter(
                "l2_regularisation",
                self.l2,
                "finite and >= 0",
            ));
        }
        if !non_negative(self.min_split_gain) {
            let value = self.min_split_gain;
            return Err(ModelError::parameter(
                "min_split_gain",
                value,
                "finite and >= 0",
            ));
        }
        if !(2..=256).contains(&self.max_bins) {
            return Err(ModelError::parameter("max_bins", self.max_bins, "2..=256"));
        }
        Ok(())
    }
}

impl RoundRules {
    /// Checks the rules both boostings share, naming the first bad parameter (the number of
    /// rounds is named by each boosting itself).
    pub(crate) fn check(&self) -> Result<(), ModelError> {
        let fraction = |v: f64| v > 0.0 && v <= 1.0;
        if !fraction(self.learning_rate) {
            return Err(ModelError::parameter(
                "learning_rate",
                self.learning_rate,
                "(0, 1]",
            ));
        }
        if !fraction(self.row_fraction) {
            return Err(ModelError::parameter(
                "row_fraction",
                self.row_fraction,
                "(0, 1]",
            ));
        }
        if !fraction(self.feature_fraction) {
            let value = self.feature_fraction;
            return Err(ModelError::parameter("feature_fraction", value, "(0, 1]"));
        }
        if self.early_stopping_rounds == 0 {
            return Err(ModelError::parameter(
                "early_stopping_rounds",
                0,
                "at least 1",
            ));
        }
        Ok(())
    }

    /// Rows expected in each tree's bag.
    fn bag_size(&self, n: usize) -> usize {
        ((n as f64 * self.row_fraction).round() as usize).clamp(1, n.max(1))
    }

    /// Features each tree may split on.
    fn feature_count(&self, n_features: usize) -> usize {
        ((n_features as f64 * self.feature_fraction).round() as usize).max(n_features.min(1))
    }
}

/// Per-bin sums of one leaf, for the features of one [`Share`]: gradients, counts, and
/// hessians (empty with unit hessians).
#[derive(Clone)]
struct Histogram {
    gradient: Vec<f64>,
    hessian: Vec<f64>,
    count: Vec<u32>,
}

impl Histogram {
    /// `self - other`, bin by bin: the larger child's histogram from its parent's.
    fn subtract(mut self, other: &Histogram) -> Histogram {
        for (l, s) in self.gradient.iter_mut().zip(&other.gradient) {
            *l -= s;
        }
        for (l, s) in self.hessian.iter_mut().zip(&other.hessian) {
            *l -= s;
        }
        for (l, s) in self.count.iter_mut().zip(&other.count) {
            *l -= s;
        }
        self
    }
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
    /// `None`: unit hessians.
    hessians: Option<Vec<f64>>,
    bag: Vec<u32>,
    features: Vec<usize>,
    /// A team's shares of `features`, by worker (dealt once, by the lead); empty when the lead
    /// grows the trees alone.
    shares: Vec<Share>,
}

impl TreeInput {
    /// The gradient and hessian sums of `rows`.
    fn sums(&self, rows: &[u32]) -> (f64, f64) {
        let gradient = rows.iter().map(|&r| self.gradients[r as usize]).sum();
        let hessian = match &self.hessians {
            Some(h) => rows.iter().map(|&r| h[r as usize]).sum(),
            None => rows.len() as f64,
        };
        (gradient, hessian)
    }
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

/// A grown leaf: its rows, sums and node.
struct GrownLeaf {
    rows: Vec<u32>,
    gradient: f64,
    hessian: f64,
    node: usize,
}

/// A grown tree before its leaf values: the lead sets those.
struct Grown {
    nodes: Vec<Node>,
    /// The bin each split node splits at, for walking rows by their bins.
    split_bins: Vec<u8>,
    leaves: Vec<GrownLeaf>,
    splits: Vec<Split>,
}

/// A leaf still growing: its rows, sums, histogram and best split.
struct Growing {
    leaf: GrownLeaf,
    depth: usize,
    histogram: Histogram,
    best: Option<Split>,
}

/// The partner of a fit, with the tree it is handed next (`None`: the fit is over).
type Team = (Pair<Vec<Option<Split>>>, Mutex<Option<Arc<TreeInput>>>);

/// Below this many bagged rows × sampled features a tree is grown by one thread.
const TEAM_MIN_WORK: usize = 20_000;

/// The binned training rows and the rules trees grow by.
struct Trainer<'a> {
    rules: &'a GrowRules,
    /// Column-major bins: `bins[f][row]`.
    bins: Vec<Vec<u8>>,
    edges: Vec<Vec<f64>>,
}

impl<'a> Trainer<'a> {
    fn new(x: ArrayView2<'_, f64>, rules: &'a GrowRules) -> Trainer<'a> {
        let edges: Vec<Vec<f64>> = x
            .axis_iter(Axis(1))
            .into_par_iter()
            .map(|column| bin_edges(column.iter().copied(), rules.max_bins))
            .collect();
        let bins: Vec<Vec<u8>> = x
            .axis_iter(Axis(1))
            .into_par_iter()
            .zip(&edges)
            .map(|(column, edges)| column.iter().map(|&v| bin_of(v, edges)).collect())
            .collect();
        Trainer { rules, bins, edges }
    }

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
        input: &TreeInput,
        share: &Share,
        parallel: bool,
    ) -> Histogram {
        let width = share.width();
        let mut histogram = Histogram {
            gradient: vec![0.0; width],
            hessian: vec![0.0; if input.hessians.is_some() { width } else { 0 }],
            count: vec![0; width],
        };
        // The leaf's gradients (and hessians) gathered once, in row order, rather than once
        // per feature.
        let gather =
            |values: &[f64]| -> Vec<f64> { rows.iter().map(|&row| values[row as usize]).collect() };
        let ordered = gather(&input.gradients);
        let ordered_hessians = input.hessians.as_deref().map(gather);
        let fill = |feature: usize, part: Part<'_>| {
            let column = &self.bins[feature];
            match (&ordered_hessians, part.hessian) {
                (Some(hessians), Some(hessian)) => {
                    for ((&row, &g), &h) in rows.iter().zip(&ordered).zip(hessians) {
                        let bin = column[row as usize] as usize;
                        part.gradient[bin] += g;
                        hessian[bin] += h;
                        part.count[bin] += 1;
                    }
                }
                _ => {
                    for (&row, &g) in rows.iter().zip(&ordered) {
                        let bin = column[row as usize] as usize;
                        part.gradient[bin] += g;
                        part.count[bin] += 1;
                    }
                }
            }
        };
        let parts: Vec<(usize, Part<'_>)> = split_by_feature(&mut histogram, &share.offsets)
            .into_iter()
            .zip(&share.features)
            .map(|(part, &feature)| (feature, part))
            .collect();
        if parallel && rows.len() * share.features.len() > 20_000 {
            parts
                .into_par_iter()
                .for_each(|(feature, part)| fill(feature, part));
        } else {
            for (feature, part) in parts {
                fill(feature, part);
            }
        }
        histogram
    }

    /// The best split of a leaf with these sums over the features of `share`.
    fn best_split(&self, histogram: &Histogram, leaf: &GrownLeaf, share: &Share) -> Option<Split> {
        let rules = self.rules;
        let lambda = rules.l2;
        let min_rows = rules.min_leaf_rows;
        let total_count = leaf.rows.len();
        let unit = histogram.hessian.is_empty();
        let score = |g: f64, h: f64| g * g / (h + lambda);
        let parent = score(leaf.gradient, leaf.hessian);
        let mut best: Option<Split> = None;
        for (feature, bins) in share.ranges() {
            // Within a feature, the highest of equally good thresholds: where the bins between
            // two rows are empty, the one just below the right rows, as LightGBM's scan from
            // the top finds it. Across features, `better` keeps the lowest feature.
            let mut feature_best: Option<Split> = None;
            let mut left_gradient = 0.0;
            let mut left_hessian = 0.0;
            let mut left_count = 0usize;
            let hessians = if unit {
                &[][..]
            } else {
                &histogram.hessian[bins.clone()]
            };
            let gradients = &histogram.gradient[bins.clone()];
            let counts = &histogram.count[bins];
            // The last bin cannot be a left side.
            let candidates = gradients.len().saturating_sub(1);
            for (bin, (&g, &c)) in gradients.iter().zip(counts).take(candidates).enumerate() {
                left_gradient += g;
                left_count += c as usize;
                let right_count = total_count - left_count;
                if !unit {
                    left_hessian += hessians[bin];
                }
                if left_count < min_rows {
                    continue;
                }
                if right_count < min_rows {
                    break;
                }
                let (left_h, right_h) = if unit {
                    (left_count as f64, right_count as f64)
                } else {
                    (left_hessian, leaf.hessian - left_hessian)
                };
                if left_h < rules.min_leaf_hessian || right_h < rules.min_leaf_hessian {
                    continue;
                }
                let gain = score(left_gradient, left_h)
                    + score(leaf.gradient - left_gradient, right_h)
                    - parent;
                if gain > rules.min_split_gain && feature_best.is_none_or(|b| gain >= b.gain) {
                    feature_best = Some(Split { gain, feature, bin });
                }
            }
            best = better(best, feature_best);
        }
        best
    }

    /// The best split of `leaf`, if it may split at all.
    fn candidate(
        &self,
        histogram: &Histogram,
        leaf: &GrownLeaf,
        depth: usize,
        share: &Share,
    ) -> Option<Split> {
        let deep_enough = self.rules.max_depth.is_some_and(|max| depth >= max);
        if deep_enough || leaf.rows.len() < 2 * self.rules.min_leaf_rows {
            return None;
        }
        self.best_split(histogram, leaf, share)
    }
}

/// One feature's part of a histogram.
struct Part<'h> {
    gradient: &'h mut [f64],
    hessian: Option<&'h mut [f64]>,
    count: &'h mut [u32],
}

fn split_by_feature<'h>(histogram: &'h mut Histogram, offsets: &[usize]) -> Vec<Part<'h>> {
    let mut parts = Vec::with_capacity(offsets.len().saturating_sub(1));
    let unit = histogram.hessian.is_empty();
    let mut gradient = histogram.gradient.as_mut_slice();
    let mut hessian = histogram.hessian.as_mut_slice();
    let mut count = histogram.count.as_mut_slice();
    for window in offsets.windows(2) {
        let size = window[1] - window[0];
        let (g_head, g_tail) = gradient.split_at_mut(size);
        let (c_head, c_tail) = count.split_at_mut(size);
        let h_head = if unit {
            None
        } else {
            let (h_head, h_tail) = std::mem::take(&mut hessian).split_at_mut(size);
            hessian = h_tail;
            Some(h_head)
        };
        parts.push(Part {
            gradient: g_head,
            hessian: h_head,
            count: c_head,
        });
        gradient = g_tail;
        count = c_tail;
    }
    parts
}

/// One fit: the objective, its rows and its rules.
struct Engine<'a, 'v, O: Objective> {
    objective: &'a O,
    targets: &'a [O::Target],
    validation: Option<Validation<'v, O::Target>>,
    rounds: &'a RoundRules,
    grow: &'a GrowRules,
}

impl<O: Objective> Engine<'_, '_, O> {
    /// Boosts with a partner thread from rayon's pool if one joins within `patience`, else
    /// alone; says which it was. The model is the same either way.
    fn boost_in_team(&self, trainer: &Trainer<'_>, patience: Duration) -> (Boosted, bool) {
        let team: Team = (Pair::new(), Mutex::new(None));
        rayon::scope(|s| {
            s.spawn(|_| {
                if team.0.join() {
                    let _leave = team.0.leave_on_drop();
                    // An error means the lead left first, and needs nothing more.
                    let _ = help(trainer, &team);
                }
            });
            let teamed = team.0.recruit(patience);
            (self.boost(trainer, teamed.then_some(&team)), teamed)
        })
    }

    /// The boosting rounds, led by this thread; with a team, the partner grows each tree with it.
    fn boost(&self, trainer: &Trainer<'_>, mut team: Option<&Team>) -> Boosted {
        let _leave = team.map(|(pair, _)| pair.leave_on_drop());
        let (rules, objective, targets) = (self.rounds, self.objective, self.targets);
        let n_features = trainer.bins.len();
        let k = objective.n_outputs();
        let n = targets.len();
        let base = objective.base(targets);
        let mut raw: Vec<f64> = (0..n * k).map(|i| base[i % k]).collect();
        let valid = trainer.valid_features();
        let feature_count = rules.feature_count(valid.len());
        let bagging = rules.row_fraction < 1.0;
        let mut draws = Draws::new(rules.seed, n, valid.len(), feature_count);
        let mut held_out = self.validation.as_ref().map(|v| HeldOut::new(v, &base));
        let mut model = Boosted {
            base,
            rounds: Vec::with_capacity(rules.n_rounds),
            gain: vec![0.0; n_features],
            splits: vec![0; n_features],
            history: Vec::new(),
        };
        let mut in_bag = vec![true; n];
        for _ in 0..rules.n_rounds {
            let derivatives = objective.derivatives(&raw, targets);
            let mut bag = if bagging {
                draws.bag(rules.row_fraction, &mut in_bag)
            } else {
                (0..n as u32).collect()
            };
            if bag.is_empty() {
                // A bag of no rows (a few rows and a small fraction) has no sums to fit.
                bag = (0..n as u32).collect();
                in_bag.fill(true);
            }
            let mut trees = Vec::with_capacity(k);
            for (output, (gradients, hessians)) in derivatives.into_iter().enumerate() {
                let features = draws.features(&valid, feature_count);
                let shares = match team {
                    Some(_) => Share::deal(&features, 2, trainer),
                    None => Vec::new(),
                };
                let input = Arc::new(TreeInput {
                    gradients,
                    hessians,
                    bag: bag.clone(),
                    features,
                    shares,
                });
                let grown = grow_tree(trainer, &input, &mut team);
                let tree = self.settle(trainer, grown, &mut raw, output, &in_bag, &mut model);
                trees.push(tree);
            }
            let held_out_loss = held_out.as_mut().map(|h| h.add(objective, &trees));
            model.rounds.push(trees);
            model.history.push(RoundLoss {
                train: objective.loss(&raw, targets),
                validation: held_out_loss.map(|(loss, _)| loss),
                validation_score: held_out_loss.and_then(|(_, score)| score),
            });
            if held_out
                .as_mut()
                .is_some_and(|h| h.should_stop(rules.early_stopping_rounds))
            {
                break;
            }
        }
        if let Some((pair, next)) = team {
            *lock(next) = None;
            // The partner may have left already; either way it is done.
            let _ = pair.meet();
        }
        if let Some(held_out) = held_out {
            model.rounds.truncate(held_out.best_rounds.max(1));
        }
        model
    }

    /// Sets a grown tree's leaf values, adds them to the fitted rows' raw scores of `output`
    /// and the split gains to the model's, and returns the tree.
    fn settle(
        &self,
        trainer: &Trainer<'_>,
        grown: Grown,
        raw: &mut [f64],
        output: usize,
        in_bag: &[bool],
        model: &mut Boosted,
    ) -> Tree {
        let k = self.objective.n_outputs();
        let mut nodes = grown.nodes;
        let values: Vec<f64> = grown
            .leaves
            .iter()
            .map(|leaf| {
                let sums = LeafSums {
                    rows: &leaf.rows,
                    gradient: leaf.gradient,
                    hessian: leaf.hessian,
                    l2: self.grow.l2,
                };
                self.objective.leaf_value(&sums, output, raw, self.targets)
                    * self.rounds.learning_rate
            })
            .collect();
        // In-bag rows: their leaf is known. Out-of-bag rows: walk the tree on raw bins.
        for (leaf, &value) in grown.leaves.iter().zip(&values) {
            nodes[leaf.node] = Node::Leaf(value);
            for &row in &leaf.rows {
                raw[row as usize * k + output] += value;
            }
        }
        for split in &grown.splits {
            model.gain[split.feature] += split.gain;
            model.splits[split.feature] += 1;
        }
        let tree = Tree { nodes };
        if in_bag.iter().any(|&b| !b) {
            for row in (0..in_bag.len()).filter(|&r| !in_bag[r]) {
                raw[row * k + output] += walk_bins(&tree, &grown.split_bins, trainer, row);
            }
        }
        tree
    }
}

/// The held-out rows' raw scores and the best round so far.
struct HeldOut<'v, T> {
    rows: Vec<Vec<f64>>,
    targets: &'v [T],
    raw: Vec<f64>,
    best_loss: f64,
    best_rounds: usize,
    rounds: usize,
}

impl<'v, T> HeldOut<'v, T> {
    fn new(validation: &Validation<'v, T>, base: &[f64]) -> Self {
        let k = base.len();
        HeldOut {
            rows: validation
                .x
                .axis_iter(Axis(0))
                .map(|r| r.to_vec())
                .collect(),
            targets: validation.targets,
            raw: (0..validation.x.nrows() * k).map(|i| base[i % k]).collect(),
            best_loss: f64::INFINITY,
            best_rounds: 0,
            rounds: 0,
        }
    }

    /// Adds a round's trees; returns the held-out loss and score after it.
    fn add<O: Objective<Target = T>>(
        &mut self,
        objective: &O,
        trees: &[Tree],
    ) -> (f64, Option<f64>) {
        let k = trees.len();
        for (r, row) in self.rows.iter().enumerate() {
            for (output, tree) in trees.iter().enumerate() {
                self.raw[r * k + output] += tree.predict(row);
            }
        }
        self.rounds += 1;
        let loss = objective.loss(&self.raw, self.targets);
        if loss < self.best_loss {
            self.best_loss = loss;
            self.best_rounds = self.rounds;
        }
        (loss, objective.score(&self.raw, self.targets))
    }

    /// Whether `patience` rounds have passed without a better loss.
    fn should_stop(&self, patience: usize) -> bool {
        self.rounds - self.best_rounds >= patience
    }
}

/// Grows one tree: with the team's partner while it is there, else alone (for good: a partner
/// that left does not come back), to the same tree either way.
fn grow_tree(trainer: &Trainer<'_>, input: &Arc<TreeInput>, team: &mut Option<&Team>) -> Grown {
    let teamed = team.map(|(pair, next)| {
        *lock(next) = Some(Arc::clone(input));
        pair.meet()
            .and_then(|()| grow(trainer, input, &input.shares[0], Partnered::new(pair, 0)))
    });
    match teamed {
        Some(Ok(grown)) => grown,
        // Alone from the start, or the partner left (it unwound): this thread grows the tree,
        // and the rest, by itself, to the same result.
        _ => {
            *team = None;
            let share = Share::new(input.features.clone(), trainer);
            let Ok(grown) = grow(trainer, input, &share, Alone);
            grown
        }
    }
}

/// The partner's side of a team: grows its share of each tree the lead hands out.
fn help(trainer: &Trainer<'_>, (pair, next): &Team) -> Result<(), Abandoned> {
    loop {
        pair.meet()?;
        let Some(input) = lock(next).clone() else {
            return Ok(());
        };
        // The lead deals a share to each of two workers; without one, leaving is the way out
        // (the lead then grows the tree alone).
        let Some(share) = input.shares.get(1) else {
            return Err(Abandoned);
        };
        grow(trainer, &input, share, Partnered::new(pair, 1))?;
    }
}

/// Grows one tree over `share`'s features. With a partner ([`Partnered`]), which grows the same
/// tree over the other features, the two pool their best splits after every split, so both
/// take the same splits as one thread scanning all features would; [`Alone`], `share` must hold
/// every sampled feature.
fn grow<P: Pool>(
    trainer: &Trainer<'_>,
    input: &TreeInput,
    share: &Share,
    mut pool: P,
) -> Result<Grown, P::Lost> {
    // Alone, the largest histograms are filled over features in parallel instead.
    let parallel = P::ALONE;
    let mut nodes = vec![Node::Leaf(0.0)];
    let mut split_bins = vec![0u8];
    let mut splits = Vec::new();
    let (gradient, hessian) = input.sums(&input.bag);
    let root = GrownLeaf {
        rows: input.bag.clone(),
        gradient,
        hessian,
        node: 0,
    };
    let histogram = trainer.histogram(&root.rows, input, share, parallel);
    let root_best = trainer.candidate(&histogram, &root, 0, share);
    let mut open = vec![Growing {
        leaf: root,
        depth: 0,
        histogram,
        best: pool.pool(vec![root_best])?.into_iter().flatten().next(),
    }];
    let mut done: Vec<Growing> = Vec::new();
    while open.len() + done.len() < trainer.rules.max_leaves {
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
        let parent = open.swap_remove(pick);
        let Some(split) = parent.best else {
            done.push(parent);
            continue;
        };
        let column = &trainer.bins[split.feature];
        let (left_rows, right_rows): (Vec<u32>, Vec<u32>) = parent
            .leaf
            .rows
            .iter()
            .partition(|&&row| (column[row as usize] as usize) <= split.bin);
        let (left_gradient, left_hessian) = input.sums(&left_rows);
        let right_gradient = parent.leaf.gradient - left_gradient;
        let right_hessian = match input.hessians {
            Some(_) => parent.leaf.hessian - left_hessian,
            None => right_rows.len() as f64,
        };
        // Build the smaller child's histogram; the larger is the parent's minus it.
        let left_smaller = left_rows.len() <= right_rows.len();
        let small_rows = if left_smaller {
            &left_rows
        } else {
            &right_rows
        };
        let small = trainer.histogram(small_rows, input, share, parallel);
        let large = parent.histogram.subtract(&small);
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
        split_bins[parent.leaf.node] = split.bin as u8;
        nodes[parent.leaf.node] = Node::Split {
            feature: split.feature,
            threshold: trainer.edges[split.feature][split.bin],
            left: left_node,
            right: left_node + 1,
        };
        let depth = parent.depth + 1;
        let children = [
            (
                GrownLeaf {
                    rows: left_rows,
                    gradient: left_gradient,
                    hessian: left_hessian,
                    node: left_node,
                },
                left_histogram,
            ),
            (
                GrownLeaf {
                    rows: right_rows,
                    gradient: right_gradient,
                    hessian: right_hessian,
                    node: left_node + 1,
                },
                right_histogram,
            ),
        ];
        let mine = children
            .iter()
            .map(|(leaf, histogram)| trainer.candidate(histogram, leaf, depth, share))
            .collect();
        let bests = pool.pool(mine)?;
        for ((leaf, histogram), best) in children.into_iter().zip(bests) {
            open.push(Growing {
                leaf,
                depth,
                histogram,
                best,
            });
        }
    }
    done.extend(open);
    Ok(Grown {
        nodes,
        split_bins,
        leaves: done.into_iter().map(|growing| growing.leaf).collect(),
        splits,
    })
}

/// The value a tree gives a training row, read from its bins: `split_bins[node]` is the bin a
/// split node splits at (rows in it or below go left, as when the tree was grown).
fn walk_bins(tree: &Tree, split_bins: &[u8], trainer: &Trainer<'_>, row: usize) -> f64 {
    tree.walk(|node, feature, _| trainer.bins[feature][row] <= split_bins[node])
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::{Array, Array2};
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    /// Half the squared error, with unit hessians: the simplest objective.
    struct HalfSquares;

    impl Objective for HalfSquares {
        type Target = f64;

        fn n_outputs(&self) -> usize {
            1
        }

        fn base(&self, targets: &[f64]) -> Vec<f64> {
            vec![targets.iter().sum::<f64>() / targets.len() as f64]
        }

        fn derivatives(&self, raw: &[f64], targets: &[f64]) -> Vec<(Vec<f64>, Option<Vec<f64>>)> {
            vec![(raw.iter().zip(targets).map(|(p, t)| p - t).collect(), None)]
        }

        fn leaf_value(&self, leaf: &LeafSums<'_>, _: usize, _: &[f64], _: &[f64]) -> f64 {
            leaf.newton()
        }

        fn loss(&self, raw: &[f64], targets: &[f64]) -> f64 {
            raw.iter()
                .zip(targets)
                .map(|(p, t)| (p - t).powi(2))
                .sum::<f64>()
                / 2.0
        }
    }

    /// The same loss with its hessians written out per row (all 1).
    struct ExplicitHessians;

    impl Objective for ExplicitHessians {
        type Target = f64;

        fn n_outputs(&self) -> usize {
            1
        }

        fn base(&self, targets: &[f64]) -> Vec<f64> {
            HalfSquares.base(targets)
        }

        fn derivatives(&self, raw: &[f64], targets: &[f64]) -> Vec<(Vec<f64>, Option<Vec<f64>>)> {
            let (g, _) = HalfSquares.derivatives(raw, targets).remove(0);
            let h = vec![1.0; g.len()];
            vec![(g, Some(h))]
        }

        fn leaf_value(&self, leaf: &LeafSums<'_>, _: usize, _: &[f64], _: &[f64]) -> f64 {
            leaf.newton()
        }

        fn loss(&self, raw: &[f64], targets: &[f64]) -> f64 {
            HalfSquares.loss(raw, targets)
        }
    }

    fn data(n: usize) -> (Array2<f64>, Vec<f64>) {
        let mut rng = ChaCha8Rng::seed_from_u64(11);
        let x = Array::from_shape_fn((n, 3), |_| rng.gen_range(0.0..1.0));
        let y = x
            .rows()
            .into_iter()
            .map(|r| (4.0f64 * r[0]).sin() + r[1])
            .collect();
        (x, y)
    }

    fn rules() -> (GrowRules, RoundRules) {
        (
            GrowRules {
                max_leaves: 8,
                max_depth: None,
                min_leaf_rows: 5,
                min_leaf_hessian: 0.0,
                l2: 1.0,
                min_split_gain: 0.0,
                max_bins: 64,
            },
            RoundRules {
                n_rounds: 25,
                learning_rate: 0.1,
                row_fraction: 0.8,
                feature_fraction: 0.67,
                seed: 3,
                early_stopping_rounds: 5,
            },
        )
    }

    #[test]
    fn unit_hessians_and_explicit_unit_hessians_grow_the_same_trees() {
        let (x, y) = data(400);
        let (grow, rounds) = rules();
        let unit = fit(&HalfSquares, x.view(), &y, None, &grow, &rounds);
        let explicit = fit(&ExplicitHessians, x.view(), &y, None, &grow, &rounds);
        assert_eq!(unit.rounds, explicit.rounds);
        assert_eq!(unit.gain, explicit.gain);
        assert_eq!(unit.rounds.len(), 25);
    }

    #[test]
    fn early_stopping_keeps_the_best_round_and_the_whole_history() {
        let (x, y) = data(300);
        // Held-out targets that no tree can learn: the loss is best early and the fit stops.
        let (held_x, _) = data(100);
        let noise: Vec<f64> = (0..100)
            .map(|i| if i % 2 == 0 { 5.0 } else { -5.0 })
            .collect();
        let (grow, mut rounds) = rules();
        rounds.n_rounds = 500;
        let validation = Validation {
            x: held_x.view(),
            targets: &noise,
        };
        let model = fit(&HalfSquares, x.view(), &y, Some(validation), &grow, &rounds);
        let losses: Vec<f64> = model.history.iter().filter_map(|r| r.validation).collect();
        assert!(model.history.len() < 500);
        let best = losses
            .iter()
            .enumerate()
            .min_by(|a, b| a.1.total_cmp(b.1))
            .map(|(i, _)| i + 1);
        assert_eq!(Some(model.rounds.len()), best);
        assert_eq!(
            model.history.len(),
            model.rounds.len() + rounds.early_stopping_rounds
        );
    }

    /// The model a fit grows with a two-thread team (the partner waited for, so that it surely
    /// joins) and by one thread alone.
    fn teamed_and_alone<O: Objective>(objective: &O, x: &Array2<f64>, targets: &[O::Target]) {
        let (grow, mut rounds) = rules();
        rounds.n_rounds = 12;
        rounds.feature_fraction = 1.0;
        let one_thread = rayon::ThreadPoolBuilder::new()
            .num_threads(1)
            .build()
            .unwrap();
        let alone = one_thread.install(|| fit(objective, x.view(), targets, None, &grow, &rounds));
        let trainer = Trainer::new(x.view(), &grow);
        let engine = Engine {
            objective,
            targets,
            validation: None,
            rounds: &rounds,
            grow: &grow,
        };
        let two_threads = rayon::ThreadPoolBuilder::new()
            .num_threads(2)
            .build()
            .unwrap();
        let (together, teamed) =
            two_threads.install(|| engine.boost_in_team(&trainer, Duration::from_secs(600)));
        assert!(teamed);
        assert_eq!(together, alone);
    }

    #[test]
    fn two_threads_grow_the_trees_one_thread_grows_for_every_objective() {
        let (x, y) = data(8000);
        teamed_and_alone(&crate::boosting::Loss::Squared, &x, &y);
        teamed_and_alone(&crate::boosting::Loss::Absolute, &x, &y);
        for n_classes in [2, 3] {
            let labels: Vec<usize> = y
                .iter()
                .map(|&v| (v.max(0.0) * 2.0) as usize % n_classes)
                .collect();
            let objective = crate::boosting_classifier::CrossEntropy { n_classes };
            teamed_and_alone(&objective, &x, &labels);
        }
    }

    #[test]
    fn raw_scores_add_every_round_to_the_base() {
        let (x, y) = data(200);
        let (grow, rounds) = rules();
        let model = fit(&HalfSquares, x.view(), &y, None, &grow, &rounds);
        let rounds: Vec<&[Tree]> = model.rounds.iter().map(Vec::as_slice).collect();
        let raw = raw_scores(x.view(), &model.base, &rounds);
        let row: Vec<f64> = x.row(7).to_vec();
        let by_hand = model
            .rounds
            .iter()
            .fold(model.base[0], |sum, round| sum + round[0].predict(&row));
        assert_eq!(raw[7], by_hand);
    }
}
