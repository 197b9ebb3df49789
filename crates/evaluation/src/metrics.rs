//! Regression and classification metrics.

use ndarray::ArrayView1;

use crate::error::EvalError;

fn check(truth: ArrayView1<'_, f64>, predicted: ArrayView1<'_, f64>) -> Result<(), EvalError> {
    if truth.len() != predicted.len() {
        return Err(EvalError::Invalid(format!(
            "{} true values but {} predictions",
            truth.len(),
            predicted.len()
        )));
    }
    if truth.is_empty() {
        return Err(EvalError::Invalid("no values to score".into()));
    }
    Ok(())
}

/// Mean absolute error.
pub fn mae(truth: ArrayView1<'_, f64>, predicted: ArrayView1<'_, f64>) -> Result<f64, EvalError> {
    check(truth, predicted)?;
    let total: f64 = truth
        .iter()
        .zip(predicted)
        .map(|(t, p)| (t - p).abs())
        .sum();
    Ok(total / truth.len() as f64)
}

/// Root mean squared error.
pub fn rmse(truth: ArrayView1<'_, f64>, predicted: ArrayView1<'_, f64>) -> Result<f64, EvalError> {
    check(truth, predicted)?;
    let total: f64 = truth
        .iter()
        .zip(predicted)
        .map(|(t, p)| (t - p).powi(2))
        .sum();
    Ok((total / truth.len() as f64).sqrt())
}

/// Coefficient of determination: 1 − SS_res / SS_tot (0 when the truth is constant and the
/// predictions are exact… and −∞ is avoided by returning 0 for a constant truth).
pub fn r2(truth: ArrayView1<'_, f64>, predicted: ArrayView1<'_, f64>) -> Result<f64, EvalError> {
    check(truth, predicted)?;
    let mean = truth.sum() / truth.len() as f64;
    let total: f64 = truth.iter().map(|t| (t - mean).powi(2)).sum();
    let residual: f64 = truth
        .iter()
        .zip(predicted)
        .map(|(t, p)| (t - p).powi(2))
        .sum();
    if total == 0.0 {
        return Ok(0.0);
    }
    Ok(1.0 - residual / total)
}

/// MAE, RMSE and R² together.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct RegressionScores {
    /// Mean absolute error.
    pub mae: f64,
    /// Root mean squared error.
    pub rmse: f64,
    /// Coefficient of determination.
    pub r2: f64,
}

/// Scores predictions with every regression metric.
pub fn regression_scores(
    truth: ArrayView1<'_, f64>,
    predicted: ArrayView1<'_, f64>,
) -> Result<RegressionScores, EvalError> {
    Ok(RegressionScores {
        mae: mae(truth, predicted)?,
        rmse: rmse(truth, predicted)?,
        r2: r2(truth, predicted)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    #[test]
    fn metrics_match_hand_computed_values() {
        // Errors: 0.1, -0.2, 0.3, 0.0 → MAE 0.6/4 = 0.15; MSE 0.14/4 = 0.035.
        let truth = array![0.5, 0.2, 0.9, 0.4];
        let predicted = array![0.6, 0.0, 1.2, 0.4];
        assert!((mae(truth.view(), predicted.view()).unwrap() - 0.15).abs() < 1e-12);
        assert!((rmse(truth.view(), predicted.view()).unwrap() - 0.035f64.sqrt()).abs() < 1e-12);
        // mean 0.5; SS_tot = 0 + 0.09 + 0.16 + 0.01 = 0.26; SS_res = 0.14.
        let expected_r2 = 1.0 - 0.14 / 0.26;
        assert!((r2(truth.view(), predicted.view()).unwrap() - expected_r2).abs() < 1e-12);
    }

    #[test]
    fn metrics_reject_mismatched_lengths() {
        assert!(mae(array![1.0].view(), array![1.0, 2.0].view()).is_err());
        assert!(rmse(array![].view(), array![].view()).is_err());
    }
}
