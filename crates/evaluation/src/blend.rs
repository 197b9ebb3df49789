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
