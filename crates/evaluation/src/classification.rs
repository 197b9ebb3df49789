//! Classification: metrics (accuracy, macro-F1, ROC AUC, log loss, confusion counts), the
//! probability counterpart of linfa's `PredictInplace`, cross-validation and hold-out scoring of
//! classifiers, probability blends and permutation importance by the drop in accuracy.
//!
//! A classifier speaks the same vocabulary as a regressor: its parameters implement
//! `linfa::traits::Fit<Array2<f64>, Array1<usize>, E>` (labels `0..n_classes`), and the fitted
//! object implements [`PredictProba`].
//!
//! ```
//! use evaluation::classification::{accuracy, macro_f1, roc_auc};
//!
//! let truth = [0, 0, 1, 1];
//! let predicted = [0, 1, 1, 1];
//! assert_eq!(accuracy(&truth, &predicted).unwrap(), 0.75);
//! // Class 0: precision 1, recall 1/2 → F1 2/3; class 1: precision 2/3, recall 1 → F1 4/5.
//! let f1 = macro_f1(&truth, &predicted, 2).unwrap();
//! assert!((f1 - (2.0 / 3.0 + 0.8) / 2.0).abs() < 1e-12);
//! let auc = roc_auc(&[false, false, true, true], &[0.1, 0.6, 0.4, 0.9]).unwrap();
//! assert_eq!(auc, 0.75);
//! ```

use std::time::Instant;

use linfa::traits::Fit;
use linfa::DatasetBase;
use ndarray::{Array1, Array2, ArrayView2, Axis};
use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::blend::forward_selection;
use crate::cv::{check_folds, Fold};
pub use crate::error::ProbaError;
use crate::error::{EvalError, FitError};
use crate::explain::{shuffled_scores, Importance};

/// The probability counterpart of `PredictInplace`: what a fitted classifier offers.
pub trait PredictProba {
    /// Number of classes: the width of every probability row.
    fn n_classes(&self) -> usize;

    /// One row of class probabilities (summing to one) per input row; fails, saying why, on
    /// input of the wrong width.
    fn predict_proba(&self, x: &Array2<f64>) -> Result<Array2<f64>, ProbaError>;
}

impl<T: PredictProba + ?Sized> PredictProba for Box<T> {
    fn n_classes(&self) -> usize {
        (**self).n_classes()
    }

    fn predict_proba(&self, x: &Array2<f64>) -> Result<Array2<f64>, ProbaError> {
        (**self).predict_proba(x)
    }
}

fn check_lengths(truth: usize, predicted: usize) -> Result<(), EvalError> {
    if truth != predicted {
        return Err(EvalError::Invalid(format!(
            "{truth} true labels but {predicted} predictions"
        )));
    }
    if truth == 0 {
        return Err(EvalError::Invalid("no labels to score".into()));
    }
    Ok(())
}

/// The most probable class of each row (the first one on ties).
pub fn argmax_rows(proba: ArrayView2<'_, f64>) -> Vec<usize> {
    proba
        .axis_iter(Axis(0))
        .map(|row| {
            row.iter()
                .enumerate()
                .fold((0, f64::NEG_INFINITY), |best, (class, &p)| {
                    if p > best.1 {
                        (class, p)
                    } else {
                        best
                    }
                })
                .0
        })
        .collect()
}

/// Share of labels predicted exactly.
pub fn accuracy(truth: &[usize], predicted: &[usize]) -> Result<f64, EvalError> {
    check_lengths(truth.len(), predicted.len())?;
    let right = truth.iter().zip(predicted).filter(|(t, p)| t == p).count();
    Ok(right as f64 / truth.len() as f64)
}

/// Counts of (true class, predicted class): `counts[t][p]`. A label `>= n_classes` is an error.
pub fn confusion_counts(
    truth: &[usize],
    predicted: &[usize],
    n_classes: usize,
) -> Result<Vec<Vec<usize>>, EvalError> {
    check_lengths(truth.len(), predicted.len())?;
    let mut counts = vec![vec![0usize; n_classes]; n_classes];
    for (&t, &p) in truth.iter().zip(predicted) {
        if t >= n_classes || p >= n_classes {
            return Err(EvalError::Invalid(format!(
                "label {} is outside the {n_classes} classes",
                t.max(p)
            )));
        }
        counts[t][p] += 1;
    }
    Ok(counts)
}

/// The unweighted mean over classes of F1 = 2·precision·recall / (precision + recall), over the
/// classes that occur in the truth or the predictions (scikit-learn's `f1_score(average="macro")`;
/// a class never predicted has precision 0 and F1 0).
pub fn macro_f1(truth: &[usize], predicted: &[usize], n_classes: usize) -> Result<f64, EvalError> {
    let counts = confusion_counts(truth, predicted, n_classes)?;
    let mut total = 0.0;
    let mut classes = 0usize;
    for c in 0..n_classes {
        let true_positive = counts[c][c] as f64;
        let actual: usize = counts[c].iter().sum();
        let predicted_c: usize = counts.iter().map(|row| row[c]).sum();
        if actual == 0 && predicted_c == 0 {
            continue;
        }
        classes += 1;
        let denominator = (actual + predicted_c) as f64;
        total += 2.0 * true_positive / denominator;
    }
    Ok(if classes == 0 {
        0.0
    } else {
        total / classes as f64
    })
}

/// Area under the ROC curve of `scores` for the positives in `truth`: the probability that a
/// random positive scores above a random negative, ties counting one half (Mann–Whitney U).
/// Fails when one side is empty.
pub fn roc_auc(truth: &[bool], scores: &[f64]) -> Result<f64, EvalError> {
    check_lengths(truth.len(), scores.len())?;
    let positives = truth.iter().filter(|&&t| t).count();
    let negatives = truth.len() - positives;
    if positives == 0 || negatives == 0 {
        return Err(EvalError::Invalid(
            "ROC AUC needs both positive and negative labels".into(),
        ));
    }
    let mut order: Vec<usize> = (0..scores.len()).collect();
    order.sort_by(|&a, &b| scores[a].total_cmp(&scores[b]));
    // Mid-ranks (1-based) of tied groups.
    let mut rank_sum_positive = 0.0;
    let mut start = 0;
    while start < order.len() {
        let mut end = start + 1;
        while end < order.len() && scores[order[end]] == scores[order[start]] {
            end += 1;
        }
        let mid_rank = (start + 1 + end) as f64 / 2.0;
        rank_sum_positive +=
            mid_rank * order[start..end].iter().filter(|&&i| truth[i]).count() as f64;
        start = end;
    }
    let p = positives as f64;
    Ok((rank_sum_positive - p * (p + 1.0) / 2.0) / (p * negatives as f64))
}

/// ROC AUC of class probabilities: for two classes the AUC of class 1's probability; for more,
/// the unweighted mean of the one-vs-rest AUCs of the classes present in `truth`.
pub fn roc_auc_proba(truth: &[usize], proba: ArrayView2<'_, f64>) -> Result<f64, EvalError> {
    check_lengths(truth.len(), proba.nrows())?;
    let n_classes = proba.ncols();
    if n_classes == 2 {
        let positive: Vec<bool> = truth.iter().map(|&t| t == 1).collect();
        return roc_auc(&positive, &proba.column(1).to_vec());
    }
    let mut total = 0.0;
    let mut classes = 0usize;
    for c in 0..n_classes {
        let positive: Vec<bool> = truth.iter().map(|&t| t == c).collect();
        if positive.iter().all(|&p| p) || !positive.iter().any(|&p| p) {
            continue;
        }
        total += roc_auc(&positive, &proba.column(c).to_vec())?;
        classes += 1;
    }
    if classes == 0 {
        return Err(EvalError::Invalid(
            "ROC AUC needs at least two classes among the labels".into(),
        ));
    }
    Ok(total / classes as f64)
}

/// Mean negative log-probability of the true class (probabilities clipped to 1e-15).
pub fn log_loss(truth: &[usize], proba: ArrayView2<'_, f64>) -> Result<f64, EvalError> {
    check_lengths(truth.len(), proba.nrows())?;
    let mut total = 0.0;
    for (row, &t) in proba.axis_iter(Axis(0)).zip(truth) {
        let p = row.get(t).copied().ok_or_else(|| {
            EvalError::Invalid(format!("label {t} is outside the {} classes", row.len()))
        })?;
        total -= p.clamp(1e-15, 1.0).ln();
    }
    Ok(total / truth.len() as f64)
}

/// The scores every classifier is reported with.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct ClassScores {
    /// Share of rows classified correctly.
    pub accuracy: f64,
    /// Unweighted mean of the per-class F1 scores.
    pub macro_f1: f64,
    /// ROC AUC (one-vs-rest mean for more than two classes).
    pub roc_auc: f64,
    /// Mean negative log-probability of the true class.
    pub log_loss: f64,
}

impl ClassScores {
    /// The mean of several scores (e.g. over folds or seeds).
    pub fn mean(scores: &[ClassScores]) -> ClassScores {
        let n = scores.len().max(1) as f64;
        let sum = |f: fn(&ClassScores) -> f64| scores.iter().map(f).sum::<f64>() / n;
        ClassScores {
            accuracy: sum(|s| s.accuracy),
            macro_f1: sum(|s| s.macro_f1),
            roc_auc: sum(|s| s.roc_auc),
            log_loss: sum(|s| s.log_loss),
        }
    }

    /// Standard deviation of the accuracy over several scores.
    pub fn accuracy_sd(scores: &[ClassScores]) -> f64 {
        let n = scores.len().max(1) as f64;
        let mean = scores.iter().map(|s| s.accuracy).sum::<f64>() / n;
        (scores
            .iter()
            .map(|s| (s.accuracy - mean).powi(2))
            .sum::<f64>()
            / n)
            .sqrt()
    }
}

/// Scores class probabilities against the true labels (the predicted class is the most probable).
pub fn class_scores(truth: &[usize], proba: ArrayView2<'_, f64>) -> Result<ClassScores, EvalError> {
    let predicted = argmax_rows(proba);
    Ok(ClassScores {
        accuracy: accuracy(truth, &predicted)?,
        macro_f1: macro_f1(truth, &predicted, proba.ncols())?,
        roc_auc: roc_auc_proba(truth, proba).unwrap_or(f64::NAN),
        log_loss: log_loss(truth, proba)?,
    })
}

/// Rows used to fit and rows held out for validation (early stopping), each ascending.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Holdout {
    /// Rows to fit on (and to fit a scaler on).
    pub train: Vec<usize>,
    /// Rows held out for early stopping and the learning-rate schedule.
    pub validation: Vec<usize>,
}

/// The seeded random split of `n_rows` training rows that every learner with early stopping
/// uses (the networks of `neural_models` and the boosted classifiers), so that callers can
/// rebuild the validation rows a fit used, and models given the same seed validate on the same
/// rows.
///
/// `round(n · fraction)` rows are held out: at least one when the fraction is positive, and
/// never all of them.
pub fn holdout(n_rows: usize, validation_fraction: f64, seed: u64) -> Holdout {
    let n_validation = if validation_fraction > 0.0 && n_rows > 1 {
        ((n_rows as f64 * validation_fraction).round() as usize).clamp(1, n_rows - 1)
    } else {
        0
    };
    let mut rows: Vec<usize> = (0..n_rows).collect();
    // Stream 0 of the seed: a network's mini-batch shuffles use stream 1, so changing the
    // number of epochs never changes the split.
    rows.shuffle(&mut ChaCha8Rng::seed_from_u64(seed));
    let mut validation = rows.split_off(n_rows - n_validation);
    rows.sort_unstable();
    validation.sort_unstable();
    Holdout {
        train: rows,
        validation,
    }
}

/// Fits `params` on the `train` rows and returns the class probabilities of the `test` rows.
pub fn fit_predict_proba<P, E>(
    params: &P,
    x: &Array2<f64>,
    y: &Array1<usize>,
    train: &[usize],
    test: &[usize],
) -> Result<Array2<f64>, FitError>
where
    P: Fit<Array2<f64>, Array1<usize>, E>,
    P::Object: PredictProba,
    E: std::error::Error + Send + Sync + 'static + From<linfa::Error>,
{
    let data = DatasetBase::new(x.select(Axis(0), train), y.select(Axis(0), train));
    let model = params
        .fit(&data)
        .map_err(|error| FitError::Fit(Box::new(error)))?;
    let proba = model.predict_proba(&x.select(Axis(0), test))?;
    if proba.iter().any(|p| !p.is_finite()) {
        return Err(FitError::NonFinite("probability"));
    }
    Ok(proba)
}

/// The outcome of cross-validating a classifier.
#[derive(Clone, Debug)]
pub struct ClassCvOutcome {
    /// Scores of each fold.
    pub folds: Vec<ClassScores>,
    /// Mean of the fold scores.
    pub mean: ClassScores,
    /// Standard deviation of the fold accuracies.
    pub accuracy_sd: f64,
    /// Out-of-fold probabilities of every row (rows in no test fold stay NaN).
    pub oof: Array2<f64>,
    /// Wall-clock seconds of all the fits and predictions.
    pub seconds: f64,
}

impl ClassCvOutcome {
    /// Scores out-of-fold probabilities fold by fold.
    pub fn of_predictions(
        y: &Array1<usize>,
        oof: Array2<f64>,
        folds: &[Fold],
        seconds: f64,
    ) -> Result<ClassCvOutcome, EvalError> {
        let scores = folds
            .iter()
            .map(|fold| {
                let truth: Vec<usize> = fold.test.iter().map(|&r| y[r]).collect();
                class_scores(&truth, oof.select(Axis(0), &fold.test).view())
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(ClassCvOutcome {
            mean: ClassScores::mean(&scores),
            accuracy_sd: ClassScores::accuracy_sd(&scores),
            folds: scores,
            oof,
            seconds,
        })
    }
}

fn check_classes(y: &Array1<usize>, n_classes: usize, n_rows: usize) -> Result<(), EvalError> {
    if y.len() != n_rows {
        return Err(EvalError::Invalid(format!(
            "{n_rows} rows of features but {} labels",
            y.len()
        )));
    }
    if let Some(bad) = y.iter().find(|&&label| label >= n_classes) {
        return Err(EvalError::Invalid(format!(
            "label {bad} is outside the {n_classes} classes"
        )));
    }
    Ok(())
}

/// Cross-validates a classifier on `folds`, fitting the folds in parallel.
pub fn cross_validate_classifier<P, E>(
    params: &P,
    x: &Array2<f64>,
    y: &Array1<usize>,
    n_classes: usize,
    folds: &[Fold],
) -> Result<ClassCvOutcome, EvalError>
where
    P: Fit<Array2<f64>, Array1<usize>, E> + Sync,
    P::Object: PredictProba,
    E: std::error::Error + Send + Sync + 'static + From<linfa::Error>,
{
    check_classes(y, n_classes, x.nrows())?;
    check_folds(x.nrows(), folds)?;
    let start = Instant::now();
    let predictions: Vec<Result<Array2<f64>, FitError>> = folds
        .par_iter()
        .map(|fold| fit_predict_proba(params, x, y, &fold.train, &fold.test))
        .collect();
    let mut oof = Array2::from_elem((x.nrows(), n_classes), f64::NAN);
    for (i, (fold, predicted)) in folds.iter().zip(predictions).enumerate() {
        let predicted = predicted.map_err(|error| EvalError::model(format!("fold {i}"), error))?;
        if predicted.ncols() != n_classes {
            return Err(EvalError::Invalid(format!(
                "fold {i}: the model gave {} probability columns for {n_classes} classes",
                predicted.ncols()
            )));
        }
        for (&row, p) in fold.test.iter().zip(predicted.axis_iter(Axis(0))) {
            oof.row_mut(row).assign(&p);
        }
    }
    ClassCvOutcome::of_predictions(y, oof, folds, start.elapsed().as_secs_f64())
}

/// The weighted mean of probability matrices.
pub fn combine_proba(members: &[&Array2<f64>], weights: &[f64]) -> Array2<f64> {
    let shape = members.first().map_or((0, 0), |m| m.dim());
    let mut out = Array2::zeros(shape);
    for (member, &weight) in members.iter().zip(weights) {
        if weight > 0.0 {
            out.scaled_add(weight, *member);
        }
    }
    out
}

/// Number of greedy selection steps: blend weights are multiples of 1/BLEND_STEPS.
const BLEND_STEPS: usize = 20;

/// Non-negative weights summing to one that minimise the log loss of the weighted mean of the
/// members' probabilities on `rows`, by greedy forward selection with replacement.
pub fn select_proba_weights(
    members: &[&Array2<f64>],
    y: &Array1<usize>,
    rows: &[usize],
) -> Result<Vec<f64>, EvalError> {
    if members.is_empty() || rows.is_empty() {
        return Err(EvalError::Invalid("a blend needs members and rows".into()));
    }
    let truth: Vec<usize> = rows.iter().map(|&r| y[r]).collect();
    let parts: Vec<Array2<f64>> = members.iter().map(|m| m.select(Axis(0), rows)).collect();
    if parts.iter().any(|p| p.iter().any(|v| !v.is_finite())) {
        return Err(EvalError::Invalid(
            "a blend member has no held-out probability for some rows".into(),
        ));
    }
    forward_selection(&parts, BLEND_STEPS, |blend| log_loss(&truth, blend.view()))
}

/// A blend of out-of-fold probabilities scored honestly: the weights used on fold k are chosen
/// on the other folds' rows only. Returns the weights chosen on all rows (for a final model)
/// and the cross-fitted outcome.
pub fn blend_proba(
    members: &[&Array2<f64>],
    y: &Array1<usize>,
    folds: &[Fold],
) -> Result<(Vec<f64>, ClassCvOutcome), EvalError> {
    check_folds(y.len(), folds)?;
    let all: Vec<usize> = {
        let mut rows: Vec<usize> = folds.iter().flat_map(|f| f.test.iter().copied()).collect();
        rows.sort_unstable();
        rows.dedup();
        rows
    };
    let weights = select_proba_weights(members, y, &all)?;
    let n_classes = members.first().map_or(0, |m| m.ncols());
    let mut oof = Array2::from_elem((y.len(), n_classes), f64::NAN);
    for (k, fold) in folds.iter().enumerate() {
        let others: Vec<usize> = folds
            .iter()
            .enumerate()
            .filter(|(j, _)| *j != k)
            .flat_map(|(_, f)| f.test.iter().copied())
            .collect();
        let fold_weights = select_proba_weights(members, y, &others)?;
        let parts: Vec<Array2<f64>> = members
            .iter()
            .map(|m| m.select(Axis(0), &fold.test))
            .collect();
        let refs: Vec<&Array2<f64>> = parts.iter().collect();
        let blended = combine_proba(&refs, &fold_weights);
        for (&row, p) in fold.test.iter().zip(blended.axis_iter(Axis(0))) {
            oof.row_mut(row).assign(&p);
        }
    }
    Ok((weights, ClassCvOutcome::of_predictions(y, oof, folds, 0.0)?))
}

/// Permutation importance of a fitted classifier on held-out rows: the drop in accuracy when one
/// column is shuffled, over `repeats` shuffles. Sorted, largest drop first.
pub fn permutation_importance_accuracy<M: PredictProba + Sync>(
    model: &M,
    x: &Array2<f64>,
    y: &[usize],
    names: &[String],
    repeats: usize,
    seed: u64,
) -> Result<Vec<Importance>, EvalError> {
    if names.len() != x.ncols() || repeats == 0 || x.nrows() != y.len() {
        return Err(EvalError::Invalid(format!(
            "permutation importance needs one name per column ({} names, {} columns), one label per row and repeats >= 1",
            names.len(),
            x.ncols()
        )));
    }
    let score = |matrix: &Array2<f64>| -> Result<f64, EvalError> {
        let proba = model
            .predict_proba(matrix)
            .map_err(|error| EvalError::model("permutation importance", error))?;
        accuracy(y, &argmax_rows(proba.view()))
    };
    let baseline = score(x)?;
    let drops: Vec<Result<Vec<f64>, EvalError>> = (0..x.ncols())
        .into_par_iter()
        .map(|column| {
            let mut rng = ChaCha8Rng::seed_from_u64(seed ^ column as u64);
            shuffled_scores(x, column, repeats, &mut rng, |shuffled| {
                Ok(baseline - score(shuffled)?)
            })
        })
        .collect();
    let mut importances = Vec::with_capacity(x.ncols());
    for (values, name) in drops.into_iter().zip(names) {
        importances.push(Importance::of(name, &values?));
    }
    importances.sort_by(|a, b| b.mean.total_cmp(&a.mean));
    Ok(importances)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    #[test]
    fn confusion_and_f1_match_hand_computed_values() {
        // truth 0,0,0,1,1,2 ; predicted 0,0,1,1,2,2
        let truth = [0, 0, 0, 1, 1, 2];
        let predicted = [0, 0, 1, 1, 2, 2];
        let counts = confusion_counts(&truth, &predicted, 3).unwrap();
        assert_eq!(counts, vec![vec![2, 1, 0], vec![0, 1, 1], vec![0, 0, 1]]);
        assert!((accuracy(&truth, &predicted).unwrap() - 4.0 / 6.0).abs() < 1e-12);
        // F1: class 0: 2·2/(3+2) = 0.8; class 1: 2·1/(2+2) = 0.5; class 2: 2·1/(1+2) = 2/3.
        let expected = (0.8 + 0.5 + 2.0 / 3.0) / 3.0;
        assert!((macro_f1(&truth, &predicted, 3).unwrap() - expected).abs() < 1e-12);
    }

    #[test]
    fn auc_counts_ties_as_half() {
        // Positives 0.5, 0.8; negatives 0.5, 0.2: pairs (0.5 vs 0.5) = 1/2, others 1 → 3.5/4.
        let auc = roc_auc(&[true, true, false, false], &[0.5, 0.8, 0.5, 0.2]).unwrap();
        assert!((auc - 0.875).abs() < 1e-12);
        assert!(roc_auc(&[true, true], &[0.1, 0.2]).is_err());
    }

    #[test]
    fn multiclass_auc_is_the_mean_of_one_vs_rest() {
        let proba = array![[0.8, 0.1, 0.1], [0.2, 0.7, 0.1], [0.3, 0.3, 0.4]];
        let auc = roc_auc_proba(&[0, 1, 2], proba.view()).unwrap();
        assert!((auc - 1.0).abs() < 1e-12);
    }

    #[test]
    fn holdout_is_seeded_disjoint_and_sized_by_fraction() {
        let split = holdout(100, 0.2, 7);
        assert_eq!(split.validation.len(), 20);
        assert_eq!(split.train.len(), 80);
        assert!(split.train.iter().all(|r| !split.validation.contains(r)));
        assert_eq!(split, holdout(100, 0.2, 7));
        assert_ne!(split, holdout(100, 0.2, 8));
        assert!(holdout(100, 0.0, 7).validation.is_empty());
        assert_eq!(holdout(3, 0.9, 1).train.len(), 1);
    }

    #[test]
    fn weights_prefer_the_better_member() {
        let good = array![[0.9, 0.1], [0.2, 0.8], [0.7, 0.3]];
        let bad = array![[0.4, 0.6], [0.6, 0.4], [0.5, 0.5]];
        let y = Array1::from(vec![0, 1, 0]);
        let weights = select_proba_weights(&[&good, &bad], &y, &[0, 1, 2]).unwrap();
        assert!(weights[0] > 0.9, "{weights:?}");
    }
}
