//! K-fold cross-validation of any linfa learner.

use std::time::Instant;

use linfa::traits::{Fit, PredictInplace};
use linfa::DatasetBase;
use ndarray::{Array1, Array2, Axis};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::error::{EvalError, FitError};
use crate::metrics::{regression_scores, RegressionScores};

/// One fold: the rows to train on and the rows to score.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Fold {
    /// Training row indices.
    pub train: Vec<usize>,
    /// Held-out row indices.
    pub test: Vec<usize>,
}

/// Builds folds from `(train, test)` index pairs, such as those of `dataset::split`.
pub fn folds_from_pairs(pairs: Vec<(Vec<usize>, Vec<usize>)>) -> Vec<Fold> {
    pairs
        .into_iter()
        .map(|(train, test)| Fold { train, test })
        .collect()
}

/// The summary of a cross-validation.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CvScores {
    /// Mean over folds of the fold MAE.
    pub mae: f64,
    /// Standard deviation over folds of the fold MAE.
    pub mae_sd: f64,
    /// Mean over folds of the fold RMSE.
    pub rmse: f64,
    /// Mean over folds of the fold R².
    pub r2: f64,
    /// Scores of each fold.
    pub folds: Vec<RegressionScores>,
}

impl CvScores {
    /// Summarises per-fold scores.
    pub fn from_folds(folds: Vec<RegressionScores>) -> CvScores {
        let n = folds.len().max(1) as f64;
        let mae = folds.iter().map(|s| s.mae).sum::<f64>() / n;
        let mae_sd = (folds.iter().map(|s| (s.mae - mae).powi(2)).sum::<f64>() / n).sqrt();
        CvScores {
            mae,
            mae_sd,
            rmse: folds.iter().map(|s| s.rmse).sum::<f64>() / n,
            r2: folds.iter().map(|s| s.r2).sum::<f64>() / n,
            folds,
        }
    }

    /// Scores out-of-fold predictions fold by fold.
    pub fn of_predictions(
        y: &Array1<f64>,
        oof: &Array1<f64>,
        folds: &[Fold],
    ) -> Result<CvScores, EvalError> {
        let scores = folds
            .iter()
            .map(|fold| {
                regression_scores(
                    y.select(Axis(0), &fold.test).view(),
                    oof.select(Axis(0), &fold.test).view(),
                )
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(CvScores::from_folds(scores))
    }
}

/// The outcome of cross-validating one learner.
#[derive(Clone, Debug)]
pub struct CvOutcome {
    /// Fold scores and their summary.
    pub scores: CvScores,
    /// Out-of-fold prediction of every row (rows in no test fold stay NaN).
    pub oof: Array1<f64>,
    /// Wall-clock seconds of all the fits and predictions.
    pub seconds: f64,
}

pub(crate) fn check_folds(n_rows: usize, folds: &[Fold]) -> Result<(), EvalError> {
    if folds.is_empty() {
        return Err(EvalError::Invalid("no folds to cross-validate on".into()));
    }
    for (i, fold) in folds.iter().enumerate() {
        if fold.train.is_empty() || fold.test.is_empty() {
            return Err(EvalError::Invalid(format!("fold {i} has an empty part")));
        }
        if let Some(bad) = fold.train.iter().chain(&fold.test).find(|&&r| r >= n_rows) {
            return Err(EvalError::Invalid(format!(
                "fold {i} names row {bad}, but there are {n_rows} rows"
            )));
        }
    }
    Ok(())
}

/// Fits `params` on the training rows of `fold` and predicts its test rows.
pub fn fit_predict_fold<P, E>(
    params: &P,
    x: &Array2<f64>,
    y: &Array1<f64>,
    fold: &Fold,
) -> Result<Array1<f64>, FitError>
where
    P: Fit<Array2<f64>, Array1<f64>, E>,
    P::Object: PredictInplace<Array2<f64>, Array1<f64>>,
    E: std::error::Error + Send + Sync + 'static + From<linfa::Error>,
{
    fit_predict_fold_and(params, x, y, fold, None).map(|(predicted, _)| predicted)
}

/// Fits `params` on the training rows of `fold`, predicts its test rows and, when given, the
/// rows of `extra` (rows outside the cross-validation, such as the tracks to predict).
pub(crate) fn fit_predict_fold_and<P, E>(
    params: &P,
    x: &Array2<f64>,
    y: &Array1<f64>,
    fold: &Fold,
    extra: Option<&Array2<f64>>,
) -> Result<(Array1<f64>, Option<Array1<f64>>), FitError>
where
    P: Fit<Array2<f64>, Array1<f64>, E>,
    P::Object: PredictInplace<Array2<f64>, Array1<f64>>,
    E: std::error::Error + Send + Sync + 'static + From<linfa::Error>,
{
    let train = DatasetBase::new(
        x.select(Axis(0), &fold.train),
        y.select(Axis(0), &fold.train),
    );
    let model = params
        .fit(&train)
        .map_err(|error| FitError::Fit(Box::new(error)))?;
    let predict = |rows: &Array2<f64>| -> Result<Array1<f64>, FitError> {
        let mut predicted = model.default_target(rows);
        model.predict_inplace(rows, &mut predicted);
        if predicted.iter().any(|v| !v.is_finite()) {
            return Err(FitError::NonFinite("value"));
        }
        Ok(predicted)
    };
    let test = predict(&x.select(Axis(0), &fold.test))?;
    let extra = extra.map(predict).transpose()?;
    Ok((test, extra))
}

/// Cross-validates `params` on `folds`, fitting the folds in parallel.
pub fn cross_validate<P, E>(
    params: &P,
    x: &Array2<f64>,
    y: &Array1<f64>,
    folds: &[Fold],
) -> Result<CvOutcome, EvalError>
where
    P: Fit<Array2<f64>, Array1<f64>, E> + Sync,
    P::Object: PredictInplace<Array2<f64>, Array1<f64>>,
    E: std::error::Error + Send + Sync + 'static + From<linfa::Error>,
{
    if x.nrows() != y.len() {
        return Err(EvalError::Invalid(format!(
            "{} rows of features but {} targets",
            x.nrows(),
            y.len()
        )));
    }
    check_folds(x.nrows(), folds)?;
    let start = Instant::now();
    let predictions: Vec<Result<Array1<f64>, FitError>> = folds
        .par_iter()
        .map(|fold| fit_predict_fold(params, x, y, fold))
        .collect();
    let mut oof = Array1::from_elem(y.len(), f64::NAN);
    for (i, (fold, predicted)) in folds.iter().zip(predictions).enumerate() {
        let predicted = predicted.map_err(|error| EvalError::model(format!("fold {i}"), error))?;
        for (&row, value) in fold.test.iter().zip(predicted) {
            oof[row] = value;
        }
    }
    Ok(CvOutcome {
        scores: CvScores::of_predictions(y, &oof, folds)?,
        oof,
        seconds: start.elapsed().as_secs_f64(),
    })
}
