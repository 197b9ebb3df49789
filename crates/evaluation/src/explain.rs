//! Explaining a fitted learner: permutation importance on held-out folds, and partial dependence.

use linfa::traits::{Fit, PredictInplace};
use linfa::DatasetBase;
use ndarray::{Array1, Array2, Axis};
use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::cv::{check_folds, Fold};
use crate::error::EvalError;
use crate::metrics::mae;

/// How much the held-out MAE rises when one feature's column is shuffled.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Importance {
    /// Feature name.
    pub feature: String,
    /// Mean rise in MAE over folds and repeats.
    pub mean: f64,
    /// Standard deviation of the rise over folds and repeats.
    pub sd: f64,
}

fn predict<M: PredictInplace<Array2<f64>, Array1<f64>>>(model: &M, x: &Array2<f64>) -> Array1<f64> {
    let mut y = model.default_target(x);
    model.predict_inplace(x, &mut y);
    y
}

impl Importance {
    /// The mean and standard deviation of one feature's score changes.
    pub(crate) fn of(feature: &str, changes: &[f64]) -> Importance {
        let n = changes.len().max(1) as f64;
        let mean = changes.iter().sum::<f64>() / n;
        let sd = (changes.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / n).sqrt();
        Importance {
            feature: feature.to_string(),
            mean,
            sd,
        }
    }
}

/// `score` of `x` with `column` shuffled, for each of `repeats` successive shuffles drawn from
/// `rng` (each shuffle starts from the previous one).
pub(crate) fn shuffled_scores(
    x: &Array2<f64>,
    column: usize,
    repeats: usize,
    rng: &mut ChaCha8Rng,
    score: impl Fn(&Array2<f64>) -> Result<f64, EvalError>,
) -> Result<Vec<f64>, EvalError> {
    let mut shuffled = x.clone();
    let mut values: Vec<f64> = x.column(column).to_vec();
    (0..repeats)
        .map(|_| {
            values.shuffle(rng);
            shuffled
                .column_mut(column)
                .assign(&Array1::from(values.clone()));
            score(&shuffled)
        })
        .collect()
}

/// Permutation importance: for each fold, fits on the training rows, then shuffles each column
/// of the held-out rows `repeats` times and records the rise in MAE. Sorted, largest first.
pub fn permutation_importance<P, E>(
    params: &P,
    x: &Array2<f64>,
    y: &Array1<f64>,
    names: &[String],
    folds: &[Fold],
    repeats: usize,
    seed: u64,
) -> Result<Vec<Importance>, EvalError>
where
    P: Fit<Array2<f64>, Array1<f64>, E> + Sync,
    P::Object: PredictInplace<Array2<f64>, Array1<f64>> + Sync,
    E: std::error::Error + Send + Sync + 'static + From<linfa::Error>,
{
    check_folds(x.nrows(), folds)?;
    if names.len() != x.ncols() || repeats == 0 {
        return Err(EvalError::Invalid(format!(
            "permutation importance needs one name per column ({} names, {} columns) and repeats >= 1",
            names.len(),
            x.ncols()
        )));
    }
    let mut rises: Vec<Vec<f64>> = vec![Vec::new(); x.ncols()];
    for (f, fold) in folds.iter().enumerate() {
        let train = DatasetBase::new(
            x.select(Axis(0), &fold.train),
            y.select(Axis(0), &fold.train),
        );
        let model = params.fit(&train).map_err(|error| {
            EvalError::model(format!("permutation importance, fold {f}"), error)
        })?;
        let test_x = x.select(Axis(0), &fold.test);
        let test_y = y.select(Axis(0), &fold.test);
        let baseline = mae(test_y.view(), predict(&model, &test_x).view())?;
        let per_column: Vec<Result<Vec<f64>, EvalError>> = (0..x.ncols())
            .into_par_iter()
            .map(|column| {
                let mut rng = ChaCha8Rng::seed_from_u64(seed ^ ((f as u64) << 32) ^ column as u64);
                shuffled_scores(&test_x, column, repeats, &mut rng, |shuffled| {
                    Ok(mae(test_y.view(), predict(&model, shuffled).view())? - baseline)
                })
            })
            .collect();
        for (column, result) in per_column.into_iter().enumerate() {
            rises[column].extend(result?);
        }
    }
    let mut importances: Vec<Importance> = rises
        .into_iter()
        .zip(names)
        .map(|(values, name)| Importance::of(name, &values))
        .collect();
    importances.sort_by(|a, b| b.mean.total_cmp(&a.mean));
    Ok(importances)
}

/// The average prediction as one feature is set to each grid value for every row.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PartialDependence {
    /// Feature name.
    pub feature: String,
    /// The feature values (quantiles of the data).
    pub grid: Vec<f64>,
    /// Mean prediction at each grid value.
    pub mean_prediction: Vec<f64>,
    /// Quantile levels of the grid values.
    pub quantiles: Vec<f64>,
}

impl PartialDependence {
    /// The change in mean prediction from the lowest to the highest grid value.
    pub fn effect(&self) -> f64 {
        match (self.mean_prediction.first(), self.mean_prediction.last()) {
            (Some(first), Some(last)) => last - first,
            _ => 0.0,
        }
    }

    /// The largest minus the smallest mean prediction along the curve.
    pub fn range(&self) -> f64 {
        let max = self
            .mean_prediction
            .iter()
            .copied()
            .fold(f64::NEG_INFINITY, f64::max);
        let min = self
            .mean_prediction
            .iter()
            .copied()
            .fold(f64::INFINITY, f64::min);
        if max.is_finite() && min.is_finite() {
            max - min
        } else {
            0.0
        }
    }
}

/// Partial dependence of a fitted model on column `column`, over `points` quantiles of the column
/// between the 5th and 95th percentile (so the curve stays where the data is).
pub fn partial_dependence<M>(
    model: &M,
    x: &Array2<f64>,
    column: usize,
    name: &str,
    points: usize,
) -> Result<PartialDependence, EvalError>
where
    M: PredictInplace<Array2<f64>, Array1<f64>> + Sync,
{
    if column >= x.ncols() || x.nrows() == 0 || points < 2 {
        return Err(EvalError::Invalid(format!(
            "partial dependence needs a column below {}, rows, and at least 2 points",
            x.ncols()
        )));
    }
    let mut sorted: Vec<f64> = x.column(column).to_vec();
    sorted.sort_by(f64::total_cmp);
    let quantiles: Vec<f64> = (0..points)
        .map(|i| 0.05 + 0.9 * i as f64 / (points - 1) as f64)
        .collect();
    let grid: Vec<f64> = quantiles
        .iter()
        .map(|q| sorted[((q * (sorted.len() - 1) as f64).round() as usize).min(sorted.len() - 1)])
        .collect();
    let mean_prediction: Vec<f64> = grid
        .par_iter()
        .map(|&value| {
            let mut changed = x.clone();
            changed.column_mut(column).fill(value);
            let predicted = predict(model, &changed);
            predicted.sum() / predicted.len() as f64
        })
        .collect();
    if mean_prediction.iter().any(|v| !v.is_finite()) {
        return Err(EvalError::Invalid(format!(
            "the model predicted a non-finite value while varying `{name}`"
        )));
    }
    Ok(PartialDependence {
        feature: name.into(),
        grid,
        mean_prediction,
        quantiles,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use linfa::traits::Fit;
    use ndarray::Array;

    /// Predicts 2·x0 − x1, ignoring x2.
    struct Known;
    struct KnownModel;
    impl Fit<Array2<f64>, Array1<f64>, linfa::Error> for Known {
        type Object = KnownModel;
        fn fit(
            &self,
            _: &DatasetBase<Array2<f64>, Array1<f64>>,
        ) -> Result<KnownModel, linfa::Error> {
            Ok(KnownModel)
        }
    }
    impl PredictInplace<Array2<f64>, Array1<f64>> for KnownModel {
        fn predict_inplace(&self, x: &Array2<f64>, y: &mut Array1<f64>) {
            y.assign(&x.map_axis(Axis(1), |r| 2.0 * r[0] - r[1]));
        }
        fn default_target(&self, x: &Array2<f64>) -> Array1<f64> {
            Array1::zeros(x.nrows())
        }
    }

    fn data() -> (Array2<f64>, Array1<f64>, Vec<Fold>) {
        let x = Array::from_shape_fn((200, 3), |(i, j)| {
            ((i * (j + 3) * 7919) % 101) as f64 / 100.0
        });
        let y = x.map_axis(Axis(1), |r| 2.0 * r[0] - r[1]);
        let folds = (0..2)
            .map(|k| Fold {
                train: (0..200).filter(|i| i % 2 != k).collect(),
                test: (0..200).filter(|i| i % 2 == k).collect(),
            })
            .collect();
        (x, y, folds)
    }

    #[test]
    fn permutation_importance_ranks_by_weight_and_ignores_unused_columns() {
        let (x, y, folds) = data();
        let names: Vec<String> = ["a", "b", "c"].map(String::from).to_vec();
        let importance = permutation_importance(&Known, &x, &y, &names, &folds, 3, 1).unwrap();
        assert_eq!(importance[0].feature, "a");
        assert_eq!(importance[1].feature, "b");
        assert_eq!(importance[2].mean, 0.0);
    }

    #[test]
    fn partial_dependence_follows_the_model_slope() {
        let (x, _, _) = data();
        let curve = partial_dependence(&KnownModel, &x, 1, "b", 5).unwrap();
        let span = curve.grid[4] - curve.grid[0];
        assert!((curve.effect() + span).abs() < 1e-9);
    }
}
