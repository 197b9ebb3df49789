//! Blending models by weights chosen on out-of-fold predictions.
//!
//! Weights are non-negative and sum to one. They are found by greedy forward selection with
//! replacement (Caruana et al., 2004), which minimises the blend's MAE directly. The blend's own
//! CV score is cross-fitted: the weights used on fold k are chosen on the other folds only.

use ndarray::{Array, Array1, Axis, Dimension};
use serde::{Deserialize, Serialize};

use crate::cv::{CvScores, Fold};
use crate::error::EvalError;
use crate::metrics::{mae, regression_scores};

/// Chosen blend weights and the blend's cross-fitted scores.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct BlendResult {
    /// Member names with their weights (zero-weight members included), in input order.
    pub weights: Vec<(String, f64)>,
    /// Scores of the blend, with weights chosen without the scored fold.
    pub scores: CvScores,
    /// Out-of-fold blended predictions (cross-fitted).
    #[serde(skip)]
    pub oof: Array1<f64>,
}

/// Why blend weights (read from a file, say) cannot weight a blend.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum WeightsError {
    /// There is no weight at all.
    #[error("a blend needs at least one weight")]
    Empty,
    /// A weight that is negative, infinite or NaN.
    #[error("weight {index} is {}; blend weights are finite and non-negative", readable(*.value))]
    Invalid {
        /// Its position.
        index: usize,
        /// Its value.
        value: f64,
    },
    /// Weights that do not sum to one.
    #[error("the weights sum to {}, not 1", readable(*.0))]
    Sum(f64),
}

/// A number as people read it: 0.9, -4, 1e308 (not 309 digits).
fn readable(value: f64) -> String {
    if value != 0.0 && value.is_finite() && !(1e-4..1e6).contains(&value.abs()) {
        format!("{value:e}")
    } else {
        value.to_string()
    }
}

/// Checks that `weights` can weight a blend of probabilities or predictions: at least one,
/// each finite and non-negative, and their sum 1 within 1e-9 (weights chosen by
/// [`select_weights`] or [`crate::classification::select_proba_weights`] are).
pub fn check_weights(weights: &[f64]) -> Result<(), WeightsError> {
    if weights.is_empty() {
        return Err(WeightsError::Empty);
    }
    if let Some((index, &value)) = weights
        .iter()
        .enumerate()
        .find(|(_, w)| !(w.is_finite() && **w >= 0.0))
    {
        return Err(WeightsError::Invalid { index, value });
    }
    let sum: f64 = weights.iter().sum();
    if (sum - 1.0).abs() > 1e-9 {
        return Err(WeightsError::Sum(sum));
    }
    Ok(())
}

/// Number of greedy selection steps: the weights are multiples of 1/STEPS.
const STEPS: usize = 100;

/// Weights minimising the MAE of the weighted mean of `members` on `rows`.
pub fn select_weights(
    members: &[&Array1<f64>],
    y: &Array1<f64>,
    rows: &[usize],
) -> Result<Vec<f64>, EvalError> {
    if members.is_empty() || rows.is_empty() {
        return Err(EvalError::Invalid("a blend needs members and rows".into()));
    }
    let truth = y.select(Axis(0), rows);
    let columns: Vec<Array1<f64>> = members.iter().map(|m| m.select(Axis(0), rows)).collect();
    if columns.iter().any(|c| c.iter().any(|v| !v.is_finite())) {
        return Err(EvalError::Invalid(
            "a blend member has no out-of-fold prediction for some rows".into(),
        ));
    }
    forward_selection(&columns, STEPS, |blend| mae(truth.view(), blend.view()))
}

/// Greedy forward selection with replacement (Caruana et al., 2004): `steps` times, the member
/// whose addition gives the running mean of the picks the lowest `loss` is picked (the first on
/// ties). A member's weight is its share of the picks. `parts` is not empty.
pub(crate) fn forward_selection<D: Dimension>(
    parts: &[Array<f64, D>],
    steps: usize,
    loss: impl Fn(&Array<f64, D>) -> Result<f64, EvalError>,
) -> Result<Vec<f64>, EvalError> {
    let mut counts = vec![0usize; parts.len()];
    let mut sum = Array::<f64, D>::zeros(parts[0].raw_dim());
    for step in 1..=steps {
        let mut best: Option<(usize, f64)> = None;
        for (m, part) in parts.iter().enumerate() {
            let candidate = (&sum + part) / step as f64;
            let score = loss(&candidate)?;
            if best.is_none_or(|(_, s)| score < s) {
                best = Some((m, score));
            }
        }
        let (m, _) = best.expect("there is at least one member to pick");
        counts[m] += 1;
        sum += &parts[m];
    }
    Ok(counts
        .into_iter()
        .map(|c| c as f64 / steps as f64)
        .collect())
}

/// The weighted mean of members.
pub fn combine(members: &[&Array1<f64>], weights: &[f64]) -> Array1<f64> {
    let mut out = Array1::zeros(members.first().map_or(0, |m| m.len()));
    for (member, &weight) in members.iter().zip(weights) {
        if weight > 0.0 {
            out.scaled_add(weight, member);
        }
    }
    out
}

/// Chooses weights on all out-of-fold rows, and scores the blend by cross-fitting over `folds`.
pub fn blend(
    members: &[(String, &Array1<f64>)],
    y: &Array1<f64>,
    folds: &[Fold],
) -> Result<BlendResult, EvalError> {
    let predictions: Vec<&Array1<f64>> = members.iter().map(|(_, p)| *p).collect();
    let all_rows: Vec<usize> = folds.iter().flat_map(|f| f.test.iter().copied()).collect();
    let weights = select_weights(&predictions, y, &all_rows)?;
    let mut oof = Array1::from_elem(y.len(), f64::NAN);
    let mut fold_scores = Vec::with_capacity(folds.len());
    for (k, fold) in folds.iter().enumerate() {
        let other_rows: Vec<usize> = folds
            .iter()
            .enumerate()
            .filter(|(j, _)| *j != k)
            .flat_map(|(_, f)| f.test.iter().copied())
            .collect();
        let fold_weights = select_weights(&predictions, y, &other_rows)?;
        let blended = combine(&predictions, &fold_weights);
        for &row in &fold.test {
            oof[row] = blended[row];
        }
        fold_scores.push(regression_scores(
            y.select(Axis(0), &fold.test).view(),
            oof.select(Axis(0), &fold.test).view(),
        )?);
    }
    Ok(BlendResult {
        weights: members
            .iter()
            .map(|(name, _)| name.clone())
            .zip(weights)
            .collect(),
        scores: CvScores::from_folds(fold_scores),
        oof,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    #[test]
    fn weights_from_a_file_are_finite_non_negative_and_sum_to_one() {
        assert_eq!(check_weights(&[0.85, 0.05, 0.1]), Ok(()));
        assert_eq!(check_weights(&[1.0]), Ok(()));
        assert_eq!(check_weights(&[]), Err(WeightsError::Empty));
        assert_eq!(
            check_weights(&[5.0, -4.0]),
            Err(WeightsError::Invalid {
                index: 1,
                value: -4.0
            })
        );
        assert!(matches!(
            check_weights(&[0.5, f64::NAN]),
            Err(WeightsError::Invalid { index: 1, .. })
        ));
        assert_eq!(check_weights(&[1e308, 0.0]), Err(WeightsError::Sum(1e308)));
        assert_eq!(check_weights(&[0.5, 0.4]), Err(WeightsError::Sum(0.9)));
        assert_eq!(
            WeightsError::Sum(1e308).to_string(),
            "the weights sum to 1e308, not 1"
        );
        assert_eq!(
            WeightsError::Invalid {
                index: 1,
                value: -4.0
            }
            .to_string(),
            "weight 1 is -4; blend weights are finite and non-negative"
        );
    }

    #[test]
    fn weights_favour_the_better_member_and_sum_to_one() {
        let y = array![0.0, 1.0, 2.0, 3.0, 4.0, 5.0];
        let good = array![0.1, 1.0, 2.1, 3.0, 4.1, 5.0];
        let bad = array![1.0, 0.0, 3.0, 2.0, 5.0, 4.0];
        let weights = select_weights(&[&good, &bad], &y, &[0, 1, 2, 3, 4, 5]).unwrap();
        assert!((weights.iter().sum::<f64>() - 1.0).abs() < 1e-12);
        assert!(weights[0] > 0.9);
    }

    #[test]
    fn opposite_errors_cancel_in_an_even_blend() {
        let y = array![1.0, 2.0, 3.0, 4.0];
        let high = &y + 0.5;
        let low = &y - 0.5;
        let folds = vec![
            Fold {
                train: vec![2, 3],
                test: vec![0, 1],
            },
            Fold {
                train: vec![0, 1],
                test: vec![2, 3],
            },
        ];
        let result = blend(&[("high".into(), &high), ("low".into(), &low)], &y, &folds).unwrap();
        assert!((result.weights[0].1 - 0.5).abs() < 1e-12);
        assert!(result.scores.mae < 1e-12);
    }
}
