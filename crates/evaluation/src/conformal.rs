//! Conformal prediction on out-of-fold predictions: intervals for values and sets for classes
//! that cover the truth with a chosen probability on exchangeable data, whatever the model.
//!
//! The arithmetic is split conformal prediction's (Vovk et al. 2005; Lei et al. 2018): given
//! nonconformity scores `s_1..s_n` of calibration rows, a new row's score is at most the
//! `⌈(n + 1)·coverage⌉`-th smallest of them with probability at least `coverage`
//! ([`conformal_quantile`]; when that rank exceeds `n` the bound is infinite). Scores here are
//! out-of-fold, and the coverage a pipeline reports is **cross-fitted**: each fold's rows are
//! judged with the quantile of the other folds' scores ([`cross_fitted`]), so no row calibrates
//! its own interval.
//!
//! - Values: the score of a row is `|y − ŷ| / σ(x)`, with `σ ≡ 1` for the plain interval
//!   `ŷ ± q`, or a difficulty estimate for an adaptive one `ŷ ± q·σ(x)` ([`IntervalScores`]).
//! - Classes: adaptive prediction sets (Romano et al. 2020, without randomisation): a row's
//!   score is the total probability of its classes ranked down to its true class
//!   ([`aps_score`]), and the set of a new row is the classes whose score would be within the
//!   quantile ([`aps_set`]), so the true class is in the set whenever its score is.

use crate::cv::Fold;

/// Why a conformal quantile or coverage cannot be computed.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum ConformalError {
    /// The coverage is not strictly between 0 and 1.
    #[error("coverage {0} is not strictly between 0 and 1")]
    Coverage(f64),
    /// There are no calibration scores.
    #[error("no calibration scores")]
    Empty,
    /// A score is NaN.
    #[error("calibration score {index} is NaN")]
    NaN {
        /// Its position.
        index: usize,
    },
    /// Inputs of different lengths, or folds that do not partition the rows.
    #[error("{0}")]
    Shape(String),
}

/// The rank of the conformal quantile among `n` scores at `coverage`: `⌈(n + 1)·coverage⌉`
/// (1-based), which may exceed `n`.
pub fn conformal_rank(n: usize, coverage: f64) -> Result<usize, ConformalError> {
    if !(coverage > 0.0 && coverage < 1.0) {
        return Err(ConformalError::Coverage(coverage));
    }
    // A hair below the product, so that an exact product (n + 1 = 10, coverage 0.9) is not
    // pushed over an integer by rounding.
    let product = (n as f64 + 1.0) * coverage;
    Ok((product - 1e-9).ceil().max(1.0) as usize)
}

/// The `⌈(n + 1)·coverage⌉`-th smallest of `scores`, or `+∞` when that rank exceeds their
/// number `n`: a new exchangeable score is at most it with probability at least `coverage`
/// (and below `coverage + 1/(n + 1)` when scores have no ties).
pub fn conformal_quantile(scores: &[f64], coverage: f64) -> Result<f64, ConformalError> {
    if scores.is_empty() {
        return Err(ConformalError::Empty);
    }
    if let Some(index) = scores.iter().position(|s| s.is_nan()) {
        return Err(ConformalError::NaN { index });
    }
    let rank = conformal_rank(scores.len(), coverage)?;
    if rank > scores.len() {
        return Ok(f64::INFINITY);
    }
    let mut sorted = scores.to_vec();
    let (_, value, _) = sorted.select_nth_unstable_by(rank - 1, f64::total_cmp);
    Ok(*value)
}

/// Nonconformity scores of value predictions: `|y − ŷ| / σ`, one per row.
#[derive(Clone, Debug, PartialEq)]
pub struct IntervalScores {
    /// The scores.
    pub scores: Vec<f64>,
}

impl IntervalScores {
    /// Scores of out-of-fold predictions `predicted` of `truth`, each residual divided by the
    /// row's difficulty `scale` (all ones for the plain interval). A scale must be positive.
    pub fn new(
        truth: &[f64],
        predicted: &[f64],
        scale: &[f64],
    ) -> Result<IntervalScores, ConformalError> {
        if truth.len() != predicted.len() || truth.len() != scale.len() {
            return Err(ConformalError::Shape(format!(
                "{} truths, {} predictions and {} scales",
                truth.len(),
                predicted.len(),
                scale.len()
            )));
        }
        if let Some(row) = scale.iter().position(|s| !(*s > 0.0 && s.is_finite())) {
            return Err(ConformalError::Shape(format!(
                "row {row} has a scale of {}, not a positive number",
                scale[row]
            )));
        }
        let scores = truth
            .iter()
            .zip(predicted)
            .zip(scale)
            .map(|((y, p), s)| (y - p).abs() / s)
            .collect();
        Ok(IntervalScores { scores })
    }
}

/// The classes of a row by falling probability, the lower index first on ties.
fn ranked(probabilities: &[f64]) -> Vec<usize> {
    let mut order: Vec<usize> = (0..probabilities.len()).collect();
    order.sort_by(|&a, &b| by_falling_probability(probabilities, a, b));
    order
}

fn by_falling_probability(probabilities: &[f64], a: usize, b: usize) -> std::cmp::Ordering {
    probabilities[b]
        .total_cmp(&probabilities[a])
        .then(a.cmp(&b))
}

/// The score of a row for adaptive prediction sets: the total probability of its classes
/// ranked by falling probability ([`aps_set`]'s order) down to and including the true class
/// `label`. A label outside the row scores the whole total.
pub fn aps_score(probabilities: &[f64], label: usize) -> f64 {
    let mut total = 0.0;
    for class in ranked(probabilities) {
        total += probabilities[class];
        if class == label {
            break;
        }
    }
    total
}

/// The adaptive prediction set of a row at `threshold` (the conformal quantile of
/// [`aps_score`]s): its classes by falling probability while their running total stays within
/// the threshold, so a class is in the set exactly when its score is at most the threshold;
/// when even the most likely class is beyond it, the set is that class alone (never empty).
pub fn aps_set(probabilities: &[f64], threshold: f64) -> Vec<usize> {
    let order = ranked(probabilities);
    let mut set = Vec::new();
    let mut total = 0.0;
    for &class in &order {
        total += probabilities[class];
        if total > threshold {
            break;
        }
        set.push(class);
    }
    if set.is_empty() {
        set.extend(order.first());
    }
    set
}

/// The score of a row for least-ambiguous sets (Sadinle et al. 2019): one minus the probability
/// of its true class.
pub fn lac_score(probabilities: &[f64], label: usize) -> f64 {
    1.0 - probabilities.get(label).copied().unwrap_or(0.0)
}

/// The least-ambiguous set of a row at `threshold` (the conformal quantile of [`lac_score`]s):
/// the classes whose probability is at least `1 − threshold`, most likely first. It may be
/// empty (no class is likely enough), which keeps the coverage at its nominal level instead of
/// above it; and a class is in it exactly when its score is within the threshold.
pub fn lac_set(probabilities: &[f64], threshold: f64) -> Vec<usize> {
    let mut set = Vec::new();
    lac_set_into(probabilities, threshold, &mut set);
    set
}

/// [`lac_set`] into `set` (cleared first), for callers that build sets for many rows and keep
/// one buffer.
pub fn lac_set_into(probabilities: &[f64], threshold: f64, set: &mut Vec<usize>) {
    set.clear();
    set.extend(0..probabilities.len());
    set.sort_by(|&a, &b| by_falling_probability(probabilities, a, b));
    set.retain(|&c| lac_score(probabilities, c) <= threshold);
}

/// What a cross-fitted check of conformal calibration found.
#[derive(Clone, Debug, PartialEq)]
pub struct CrossFitted {
    /// Per row: whether its own score was within the quantile of the other folds' scores.
    pub covered: Vec<bool>,
    /// Per row: the quantile it was judged by (calibrated without its fold).
    pub quantile: Vec<f64>,
}

impl CrossFitted {
    /// The share of rows covered.
    pub fn coverage(&self) -> f64 {
        self.covered.iter().filter(|&&c| c).count() as f64 / self.covered.len().max(1) as f64
    }
}

/// Cross-fitted conformal calibration: every fold's rows are judged against the conformal
/// quantile of the scores of the rows in the other folds. `folds` must partition the rows of
/// `scores` (each row in exactly one `test` set).
pub fn cross_fitted(
    scores: &[f64],
    folds: &[Fold],
    coverage: f64,
) -> Result<CrossFitted, ConformalError> {
    let n = scores.len();
    let mut fold_of = vec![usize::MAX; n];
    for (k, fold) in folds.iter().enumerate() {
        for &row in &fold.test {
            match fold_of.get_mut(row) {
                Some(slot) if *slot == usize::MAX => *slot = k,
                _ => {
                    return Err(ConformalError::Shape(format!(
                        "row {row} of fold {k} is outside the {n} rows or in two folds"
                    )))
                }
            }
        }
    }
    if let Some(row) = fold_of.iter().position(|&k| k == usize::MAX) {
        return Err(ConformalError::Shape(format!("row {row} is in no fold")));
    }
    let mut covered = vec![false; n];
    let mut quantile = vec![0.0; n];
    for (k, fold) in folds.iter().enumerate() {
        let others: Vec<f64> = (0..n)
            .filter(|&row| fold_of[row] != k)
            .map(|row| scores[row])
            .collect();
        let q = conformal_quantile(&others, coverage)?;
        for &row in &fold.test {
            covered[row] = scores[row] <= q;
            quantile[row] = q;
        }
    }
    Ok(CrossFitted { covered, quantile })
}

/// How a value interval's half-width varies from row to row.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Scaling {
    /// The same half-width for every row: `ŷ ± q`.
    Plain,
    /// `ŷ ± q·σ(ŷ)`, where `σ(ŷ)` is the mean absolute residual of rows whose prediction falls
    /// in the same of `bins` equal-count bins of the predictions.
    ByPrediction {
        /// Number of bins.
        bins: usize,
    },
}

/// A value interval checked by cross-fitting: per row, its half-width and whether it covered.
#[derive(Clone, Debug, PartialEq)]
pub struct IntervalCheck {
    /// Per row: the half-width of its interval (calibrated without its fold).
    pub half_width: Vec<f64>,
    /// Per row: whether the truth was inside.
    pub covered: Vec<bool>,
}

impl IntervalCheck {
    /// The share of rows covered.
    pub fn coverage(&self) -> f64 {
        self.covered.iter().filter(|&&c| c).count() as f64 / self.covered.len().max(1) as f64
    }

    /// The mean width (twice the mean half-width).
    pub fn mean_width(&self) -> f64 {
        2.0 * self.half_width.iter().sum::<f64>() / self.half_width.len().max(1) as f64
    }
}

/// `σ(ŷ)` of [`Scaling::ByPrediction`]: bin edges of predictions and each bin's mean absolute
/// residual (at least 1e-6); a single bin of scale 1 for [`Scaling::Plain`].
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Difficulty {
    /// Upper edges of all bins but the last, rising.
    pub edges: Vec<f64>,
    /// Each bin's scale.
    pub scale: Vec<f64>,
}

impl Difficulty {
    /// The difficulty of `scaling` learnt on rows `fit`.
    fn learn(truth: &[f64], predicted: &[f64], fit: &[usize], scaling: Scaling) -> Difficulty {
        let Scaling::ByPrediction { bins } = scaling else {
            return Difficulty {
                edges: Vec::new(),
                scale: vec![1.0],
            };
        };
        let mut sorted: Vec<f64> = fit.iter().map(|&r| predicted[r]).collect();
        sorted.sort_by(f64::total_cmp);
        let bins = bins.clamp(1, sorted.len().max(1));
        let edges: Vec<f64> = (1..bins).map(|b| sorted[b * sorted.len() / bins]).collect();
        let (mut sum, mut count) = (vec![0.0; bins], vec![0usize; bins]);
        for &r in fit {
            let b = edges.partition_point(|&e| e <= predicted[r]);
            sum[b] += (truth[r] - predicted[r]).abs();
            count[b] += 1;
        }
        let scale = sum
            .iter()
            .zip(&count)
            .map(|(s, &c)| (s / c.max(1) as f64).max(1e-6))
            .collect();
        Difficulty { edges, scale }
    }

    /// The scale of a row predicted `prediction`.
    pub fn of(&self, prediction: f64) -> f64 {
        self.scale[self.edges.partition_point(|&e| e <= prediction)]
    }
}

/// Value intervals fitted on out-of-fold predictions: per group of rows (Mondrian conformal
/// prediction: rows that differ in kind, such as tracks that take a near twin's valence, are
/// calibrated only on their own kind), a conformal quantile and a difficulty; a row's interval
/// is `ŷ ± quantile·difficulty(ŷ)`.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct IntervalModel {
    /// The nominal coverage.
    pub coverage: f64,
    /// Per group: the quantile of its scores and its difficulty.
    pub groups: Vec<(f64, Difficulty)>,
}

impl IntervalModel {
    /// Fits on the rows of `folds`' test sets (out-of-fold predictions `predicted` of `truth`,
    /// `group[row]` below `n_groups`): each calibration row's score is scaled by a difficulty
    /// learnt without its own fold, and new rows get the difficulty learnt on all these rows. A
    /// group without rows gets an infinite quantile.
    pub fn fit(
        truth: &[f64],
        predicted: &[f64],
        group: &[usize],
        n_groups: usize,
        folds: &[&Fold],
        coverage: f64,
        scaling: Scaling,
    ) -> Result<IntervalModel, ConformalError> {
        if predicted.len() != truth.len() || group.len() != truth.len() {
            return Err(ConformalError::Shape(format!(
                "{} truths, {} predictions and {} groups",
                truth.len(),
                predicted.len(),
                group.len()
            )));
        }
        if let Some(row) = group.iter().position(|&g| g >= n_groups) {
            return Err(ConformalError::Shape(format!(
                "row {row} is in group {} of {n_groups}",
                group[row]
            )));
        }
        let mut groups = Vec::with_capacity(n_groups);
        for g in 0..n_groups {
            let in_group = |rows: &[usize]| -> Vec<usize> {
                rows.iter().copied().filter(|&r| group[r] == g).collect()
            };
            let mut scores = Vec::new();
            for (m, fold) in folds.iter().enumerate() {
                let fit: Vec<usize> = folds
                    .iter()
                    .enumerate()
                    .filter(|(j, _)| *j != m)
                    .flat_map(|(_, f)| in_group(&f.test))
                    .collect();
                let difficulty = Difficulty::learn(truth, predicted, &fit, scaling);
                scores.extend(
                    in_group(&fold.test)
                        .iter()
                        .map(|&r| (truth[r] - predicted[r]).abs() / difficulty.of(predicted[r])),
                );
            }
            let all: Vec<usize> = folds.iter().flat_map(|f| in_group(&f.test)).collect();
            let quantile = if scores.is_empty() {
                f64::INFINITY
            } else {
                conformal_quantile(&scores, coverage)?
            };
            groups.push((quantile, Difficulty::learn(truth, predicted, &all, scaling)));
        }
        Ok(IntervalModel { coverage, groups })
    }

    /// The half-width of the interval of a row of `group` predicted `prediction`.
    pub fn half_width(&self, group: usize, prediction: f64) -> f64 {
        self.groups
            .get(group)
            .map_or(f64::INFINITY, |(q, difficulty)| {
                q * difficulty.of(prediction)
            })
    }
}

/// Cross-fitted value intervals at `coverage` for out-of-fold predictions `predicted` of
/// `truth`, rows in groups as [`IntervalModel::fit`] takes them: every fold's rows get the
/// intervals fitted on the other folds, and are checked against their truth.
pub fn check_grouped_intervals(
    truth: &[f64],
    predicted: &[f64],
    group: &[usize],
    n_groups: usize,
    folds: &[Fold],
    coverage: f64,
    scaling: Scaling,
) -> Result<IntervalCheck, ConformalError> {
    let n = truth.len();
    // The folds must partition the rows (checked once, the same way as everywhere).
    cross_fitted(&vec![0.0; n], folds, 0.5)?;
    let mut half_width = vec![0.0; n];
    let mut covered = vec![false; n];
    for (k, fold) in folds.iter().enumerate() {
        let others: Vec<&Fold> = folds
            .iter()
            .enumerate()
            .filter(|(m, _)| *m != k)
            .map(|(_, f)| f)
            .collect();
        let model = IntervalModel::fit(
            truth, predicted, group, n_groups, &others, coverage, scaling,
        )?;
        for &row in &fold.test {
            let h = model.half_width(group[row], predicted[row]);
            half_width[row] = h;
            covered[row] = (truth[row] - predicted[row]).abs() <= h;
        }
    }
    Ok(IntervalCheck {
        half_width,
        covered,
    })
}

/// [`check_grouped_intervals`] with every row in one group.
pub fn check_intervals(
    truth: &[f64],
    predicted: &[f64],
    folds: &[Fold],
    coverage: f64,
    scaling: Scaling,
) -> Result<IntervalCheck, ConformalError> {
    if predicted.len() != truth.len() {
        return Err(ConformalError::Shape(format!(
            "{} truths and {} predictions",
            truth.len(),
            predicted.len()
        )));
    }
    let group = vec![0; truth.len()];
    check_grouped_intervals(truth, predicted, &group, 1, folds, coverage, scaling)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    #[test]
    fn the_quantile_is_the_finite_sample_rank_and_infinite_beyond_the_scores() {
        let scores: Vec<f64> = (1..=9).map(f64::from).rev().collect();
        // n = 9: rank ⌈10 × 0.9⌉ = 9, ⌈10 × 0.8⌉ = 8, ⌈10 × 0.5⌉ = 5.
        assert_eq!(conformal_rank(9, 0.9), Ok(9));
        assert_eq!(conformal_quantile(&scores, 0.9), Ok(9.0));
        assert_eq!(conformal_quantile(&scores, 0.8), Ok(8.0));
        assert_eq!(conformal_quantile(&scores, 0.5), Ok(5.0));
        // ⌈10 × 0.85⌉ = 9: the correction rounds up, never down.
        assert_eq!(conformal_quantile(&scores, 0.85), Ok(9.0));
        // n = 4 at 0.9: rank ⌈4.5⌉ = 5 > 4, so no finite bound is guaranteed.
        assert_eq!(
            conformal_quantile(&[0.1, 0.2, 0.3, 0.4], 0.9),
            Ok(f64::INFINITY)
        );
        // n = 99: rank ⌈100 × 0.95⌉ = 95 and ⌈100 × 0.9⌉ = 90.
        let many: Vec<f64> = (1..=99).map(f64::from).collect();
        assert_eq!(conformal_quantile(&many, 0.95), Ok(95.0));
        assert_eq!(conformal_quantile(&many, 0.9), Ok(90.0));
        assert_eq!(conformal_quantile(&[], 0.9), Err(ConformalError::Empty));
        assert_eq!(
            conformal_quantile(&[1.0], 1.0),
            Err(ConformalError::Coverage(1.0))
        );
        assert_eq!(
            conformal_quantile(&[1.0, f64::NAN], 0.5),
            Err(ConformalError::NaN { index: 1 })
        );
    }

    #[test]
    fn interval_scores_divide_residuals_by_the_rows_difficulty() {
        let scores = IntervalScores::new(&[1.0, 2.0], &[0.5, 3.0], &[1.0, 4.0]).unwrap();
        assert_eq!(scores.scores, vec![0.5, 0.25]);
        assert!(IntervalScores::new(&[1.0], &[1.0], &[0.0]).is_err());
        assert!(IntervalScores::new(&[1.0], &[1.0, 2.0], &[1.0]).is_err());
    }

    #[test]
    fn adaptive_sets_take_classes_by_falling_probability_within_the_threshold() {
        let p = [0.1, 0.6, 0.3];
        assert_eq!(aps_score(&p, 1), 0.6);
        assert_eq!(aps_score(&p, 2), 0.6 + 0.3);
        assert_eq!(aps_score(&p, 0), 0.6 + 0.3 + 0.1);
        assert_eq!(
            aps_set(&p, 0.5),
            vec![1],
            "the most likely class when none fits"
        );
        assert_eq!(aps_set(&p, 0.6), vec![1]);
        assert_eq!(aps_set(&p, 0.95), vec![1, 2]);
        assert_eq!(aps_set(&p, 1.0), vec![1, 2, 0]);
        // A class is in its set exactly when its score is within the threshold (the forced
        // most likely class apart).
        for label in 0..3 {
            for threshold in [0.6, 0.85, 0.9, 0.95, 1.0, 1.5] {
                let inside = aps_set(&p, threshold).contains(&label);
                assert_eq!(
                    inside,
                    aps_score(&p, label) <= threshold,
                    "{label} {threshold}"
                );
            }
        }
    }

    /// A standard normal draw (Box–Muller).
    fn normal(rng: &mut ChaCha8Rng) -> f64 {
        let (u, v): (f64, f64) = (rng.gen_range(f64::EPSILON..1.0), rng.gen());
        (-2.0 * u.ln()).sqrt() * (2.0 * std::f64::consts::PI * v).cos()
    }

    fn folds(n: usize, k: usize) -> Vec<Fold> {
        (0..k)
            .map(|f| Fold {
                test: (0..n).filter(|r| r % k == f).collect(),
                train: (0..n).filter(|r| r % k != f).collect(),
            })
            .collect()
    }

    /// y = 2x + ε with ε ~ N(0, (0.2 + x)²), x ~ U(0, 1), and a model that knows the mean: the
    /// plain interval covers 90% overall but not per difficulty; scaled by the true σ it covers
    /// 90% in every decile of x, and is narrower on average.
    #[test]
    fn cross_fitted_coverage_is_nominal_on_data_from_a_known_distribution() {
        let mut rng = ChaCha8Rng::seed_from_u64(7);
        let n = 40_000;
        let x: Vec<f64> = (0..n).map(|_| rng.gen::<f64>()).collect();
        let sigma: Vec<f64> = x.iter().map(|x| 0.2 + x).collect();
        let predicted: Vec<f64> = x.iter().map(|x| 2.0 * x).collect();
        let truth: Vec<f64> = predicted
            .iter()
            .zip(&sigma)
            .map(|(p, s)| p + s * normal(&mut rng))
            .collect();
        let folds = folds(n, 10);
        for coverage in [0.8, 0.9] {
            let ones = vec![1.0; n];
            let plain = IntervalScores::new(&truth, &predicted, &ones).unwrap();
            let plain = cross_fitted(&plain.scores, &folds, coverage).unwrap();
            assert!(
                (plain.coverage() - coverage).abs() < 0.01,
                "{}",
                plain.coverage()
            );
            let scaled = IntervalScores::new(&truth, &predicted, &sigma).unwrap();
            let scaled = cross_fitted(&scaled.scores, &folds, coverage).unwrap();
            assert!(
                (scaled.coverage() - coverage).abs() < 0.01,
                "{}",
                scaled.coverage()
            );
            for decile in 0..10 {
                let rows: Vec<usize> = (0..n)
                    .filter(|&r| (x[r] * 10.0) as usize == decile)
                    .collect();
                let share = |c: &CrossFitted| {
                    rows.iter().filter(|&&r| c.covered[r]).count() as f64 / rows.len() as f64
                };
                assert!((share(&scaled) - coverage).abs() < 0.03, "decile {decile}");
                if decile == 0 {
                    assert!(
                        share(&plain) > coverage + 0.05,
                        "the plain interval over-covers easy rows"
                    );
                }
                if decile == 9 {
                    assert!(
                        share(&plain) < coverage - 0.05,
                        "and under-covers hard ones"
                    );
                }
            }
            let width = |c: &CrossFitted, s: &[f64]| {
                c.quantile
                    .iter()
                    .zip(s)
                    .map(|(q, s)| 2.0 * q * s)
                    .sum::<f64>()
                    / n as f64
            };
            assert!(width(&scaled, &sigma) < width(&plain, &ones));
        }
    }

    /// Labels drawn from known class probabilities, and a model that knows them: the scores'
    /// cross-fitted coverage is nominal, and the sets cover at least as often.
    #[test]
    fn adaptive_sets_cover_nominally_on_labels_from_known_probabilities() {
        let mut rng = ChaCha8Rng::seed_from_u64(11);
        let n = 20_000;
        let rows: Vec<(Vec<f64>, usize)> = (0..n)
            .map(|_| {
                let sharp = rng.gen_range(1.0..6.0_f64);
                let raw: Vec<f64> = (0..4).map(|_| rng.gen::<f64>().powf(sharp)).collect();
                let total: f64 = raw.iter().sum();
                let p: Vec<f64> = raw.iter().map(|v| v / total).collect();
                let (mut u, mut label) = (rng.gen::<f64>(), 3);
                for (class, &pc) in p.iter().enumerate() {
                    if u < pc {
                        label = class;
                        break;
                    }
                    u -= pc;
                }
                (p, label)
            })
            .collect();
        let scores: Vec<f64> = rows.iter().map(|(p, y)| aps_score(p, *y)).collect();
        for coverage in [0.8, 0.9] {
            let fitted = cross_fitted(&scores, &folds(n, 5), coverage).unwrap();
            let in_set = rows
                .iter()
                .zip(&fitted.quantile)
                .filter(|((p, y), q)| aps_set(p, **q).contains(y))
                .count() as f64
                / n as f64;
            assert!(
                (fitted.coverage() - coverage).abs() < 0.01,
                "{}",
                fitted.coverage()
            );
            // The set always holds the most likely class, so it covers at least as often as
            // the scores say (0.857 at 0.8 here: more than nominal, the price of never being
            // empty without randomisation).
            assert!(in_set >= fitted.coverage(), "{in_set}");
        }
    }

    /// The binned scaling learns the difficulty from the predictions: on data whose noise grows
    /// with the mean, it covers every decile of the prediction nearly nominally and is narrower
    /// than the plain interval, which over-covers the easy rows and under-covers the hard ones.
    #[test]
    fn intervals_scaled_by_prediction_adapt_to_difficulty() {
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        let n = 20_000;
        let predicted: Vec<f64> = (0..n).map(|_| rng.gen::<f64>()).collect();
        let truth: Vec<f64> = predicted
            .iter()
            .map(|p| p + (0.05 + 0.3 * p) * normal(&mut rng))
            .collect();
        let folds = folds(n, 5);
        let plain = check_intervals(&truth, &predicted, &folds, 0.9, Scaling::Plain).unwrap();
        let binned = Scaling::ByPrediction { bins: 10 };
        let scaled = check_intervals(&truth, &predicted, &folds, 0.9, binned).unwrap();
        assert!(
            (plain.coverage() - 0.9).abs() < 0.01,
            "{}",
            plain.coverage()
        );
        assert!(
            (scaled.coverage() - 0.9).abs() < 0.01,
            "{}",
            scaled.coverage()
        );
        assert!(scaled.mean_width() < plain.mean_width());
        let decile = |check: &IntervalCheck, d: usize| {
            let rows: Vec<usize> = (0..n)
                .filter(|&r| (predicted[r] * 10.0) as usize == d)
                .collect();
            rows.iter().filter(|&&r| check.covered[r]).count() as f64 / rows.len() as f64
        };
        for d in 0..10 {
            assert!(
                (decile(&scaled, d) - 0.9).abs() < 0.05,
                "decile {d}: {}",
                decile(&scaled, d)
            );
        }
        assert!(decile(&plain, 0) > 0.95 && decile(&plain, 9) < 0.85);
    }

    /// Two kinds of rows, one ten times noisier: one calibration for all under-covers the
    /// noisy kind; one per kind covers both.
    #[test]
    fn grouped_intervals_cover_each_group() {
        let mut rng = ChaCha8Rng::seed_from_u64(5);
        let n = 20_000;
        let group: Vec<usize> = (0..n).map(|r| usize::from(r % 7 == 0)).collect();
        let predicted: Vec<f64> = (0..n).map(|_| rng.gen::<f64>()).collect();
        let truth: Vec<f64> = predicted
            .iter()
            .zip(&group)
            .map(|(p, &g)| p + if g == 1 { 0.5 } else { 0.05 } * normal(&mut rng))
            .collect();
        let folds = folds(n, 5);
        let share = |check: &IntervalCheck, g: usize| {
            let rows: Vec<usize> = (0..n).filter(|&r| group[r] == g).collect();
            rows.iter().filter(|&&r| check.covered[r]).count() as f64 / rows.len() as f64
        };
        let pooled = check_intervals(&truth, &predicted, &folds, 0.9, Scaling::Plain).unwrap();
        assert!(share(&pooled, 1) < 0.7, "{}", share(&pooled, 1));
        let grouped =
            check_grouped_intervals(&truth, &predicted, &group, 2, &folds, 0.9, Scaling::Plain)
                .unwrap();
        for g in 0..2 {
            assert!(
                (share(&grouped, g) - 0.9).abs() < 0.02,
                "group {g}: {}",
                share(&grouped, g)
            );
        }
        let refs: Vec<&Fold> = folds.iter().collect();
        let model =
            IntervalModel::fit(&truth, &predicted, &group, 3, &refs, 0.9, Scaling::Plain).unwrap();
        assert_eq!(
            model.half_width(2, 0.5),
            f64::INFINITY,
            "a group without rows"
        );
        assert!(model.half_width(1, 0.5) > 5.0 * model.half_width(0, 0.5));
    }

    #[test]
    fn least_ambiguous_sets_hold_the_classes_likely_enough() {
        let p = [0.1, 0.6, 0.3];
        assert!((lac_score(&p, 2) - 0.7).abs() < 1e-12);
        assert_eq!(lac_set(&p, 0.35), Vec::<usize>::new(), "none likely enough");
        assert_eq!(lac_set(&p, 0.4), vec![1]);
        assert_eq!(lac_set(&p, 0.75), vec![1, 2]);
        assert_eq!(lac_set(&p, 0.9), vec![1, 2, 0]);
        for label in 0..3 {
            for threshold in [0.3, 0.4, 0.7, 0.9] {
                let inside = lac_set(&p, threshold).contains(&label);
                assert_eq!(inside, lac_score(&p, label) <= threshold);
            }
        }
    }

    #[test]
    fn cross_fitting_needs_folds_that_partition_the_rows() {
        let scores = [1.0, 2.0, 3.0];
        let overlap = vec![
            Fold {
                train: vec![2],
                test: vec![0, 1],
            },
            Fold {
                train: vec![0],
                test: vec![1, 2],
            },
        ];
        assert!(cross_fitted(&scores, &overlap, 0.5).is_err());
        let missing = vec![Fold {
            train: vec![1],
            test: vec![0],
        }];
        assert!(cross_fitted(&scores, &missing, 0.5).is_err());
    }
}
