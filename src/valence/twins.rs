//! The near-twin correction: a track whose nearest chart track (on standardised features) is
//! almost surely the same recording under another id takes that track's valence instead of the
//! model's prediction.

use classic_models::{Nearest, TwinLookup};
use evaluation::CvScores;
use ndarray::{Array1, Array2, Axis};
use serde::{Deserialize, Serialize};

use super::{CandidateName, FeatureSetId, PipelineError, ValenceInputs};

/// Distances (on standardised features) up to which a near twin may be trusted; the radius is
/// chosen among these on out-of-fold predictions.
pub const TWIN_RADII: [f64; 10] = [0.0, 0.1, 0.25, 0.5, 0.75, 1.0, 1.5, 2.0, 2.5, 3.0];

/// Near twins of one feature set: tracks whose nearest chart track, on standardised features, is
/// so close that they are almost surely the same recording under another id (single, album,
/// clean and explicit versions). Such a track takes its twin's valence instead of the model's
/// prediction.
///
/// The radius is chosen on out-of-fold predictions, cross-fitted: the rows of each fold are
/// corrected with the radius that is best on the other folds, so the corrected CV MAE is honest.
/// Near twins are far more common among chart tracks than among the evaluation tracks, so the
/// report also gives an estimate weighted by the evaluation tracks' share of twins.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct NearTwins {
    /// The feature set.
    pub feature_set: FeatureSetId,
    /// The candidate whose predictions are corrected.
    pub model: CandidateName,
    /// The radius chosen on all out-of-fold rows (`None`: trusting twins never helped).
    pub radius: Option<f64>,
    /// The radius each fold was corrected with, chosen on the other folds.
    pub fold_radii: Vec<Option<f64>>,
    /// CV MAE of the model alone.
    pub cv_mae_model: f64,
    /// CV MAE after the correction.
    pub cv_mae: f64,
    /// Share of chart tracks corrected in cross-validation (twin in the other folds).
    pub train_share: f64,
    /// Corrected CV MAE of the rows that took a twin's valence.
    pub mae_twin_rows: f64,
    /// The model's CV MAE on those same rows, before the correction.
    pub mae_twin_rows_model: f64,
    /// CV MAE of the other rows.
    pub mae_other_rows: f64,
    /// Evaluation tracks this feature set covers.
    pub eval_covered: usize,
    /// Of those, the tracks with a twin among all chart tracks within the radius.
    pub eval_twins: usize,
    /// The CV MAE re-weighted to the evaluation tracks' share of twins: what the external score
    /// should be near.
    pub eval_estimate: f64,
    /// Each evaluation track's twin valence (`None`: not covered, or no twin within the radius).
    pub eval: Vec<Option<f64>>,
    /// The corrected out-of-fold predictions.
    #[serde(skip)]
    pub oof: Array1<f64>,
    /// Whether each chart track's corrected prediction is its twin's valence.
    #[serde(skip)]
    pub is_twin: Vec<bool>,
}

/// The headline of the chosen candidate's near twins, as `metrics.json` gives it under
/// `best_with_twins`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TwinsSummary {
    /// The corrected CV MAE.
    pub cv_mae: f64,
    /// The corrected CV MAE re-weighted to the evaluation tracks' share of twins.
    pub eval_estimate: f64,
    /// The radius chosen on all out-of-fold rows.
    pub radius: Option<f64>,
}

impl From<&NearTwins> for TwinsSummary {
    fn from(twins: &NearTwins) -> Self {
        TwinsSummary {
            cv_mae: twins.cv_mae,
            eval_estimate: twins.eval_estimate,
            radius: twins.radius,
        }
    }
}

/// How far each track is from its nearest chart track on one feature set: each chart track from
/// the chart tracks of the other folds, each evaluation track from all chart tracks. Measured
/// once per feature set; [`NearTwins::find`] then scores any model's predictions with it.
#[derive(Clone, Debug)]
pub struct TwinDistances {
    feature_set: FeatureSetId,
    train: Vec<Nearest>,
    eval: Vec<Option<Nearest>>,
}

impl TwinDistances {
    /// Measures the distances on `features`, whose training matrix is `x`.
    pub fn measure(
        features: FeatureSetId,
        x: &Array2<f64>,
        inputs: &ValenceInputs,
    ) -> Result<TwinDistances, PipelineError> {
        let y = &inputs.y;
        let unmeasured = Nearest {
            distance: f64::INFINITY,
            value: 0.0,
        };
        let mut train = vec![unmeasured; y.len()];
        for fold in &inputs.folds {
            let lookup = TwinLookup::fit(
                x.select(Axis(0), &fold.train).view(),
                y.select(Axis(0), &fold.train).view(),
            )?;
            let found = lookup.nearest(x.select(Axis(0), &fold.test).view())?;
            for (&row, nearest) in fold.test.iter().zip(found) {
                train[row] = nearest;
            }
        }
        let set = features.set();
        let covered: Vec<usize> = (0..inputs.eval.len())
            .filter(|&i| set.covers(&inputs.eval[i]))
            .collect();
        let mut eval = vec![None; inputs.eval.len()];
        if !covered.is_empty() {
            let lookup = TwinLookup::fit(x.view(), y.view())?;
            let found = lookup.nearest(set.matrix(&inputs.eval_tracks(&covered))?.view())?;
            for (&i, nearest) in covered.iter().zip(found) {
                eval[i] = Some(nearest);
            }
        }
        Ok(TwinDistances {
            feature_set: features,
            train,
            eval,
        })
    }
}

/// A model's out-of-fold predictions, the truth and each row's nearest chart track: what a
/// radius is scored on.
struct Correction<'a> {
    nearest: &'a [Nearest],
    model_oof: &'a Array1<f64>,
    y: &'a Array1<f64>,
}

impl Correction<'_> {
    /// The prediction of `row` after trusting twins within `radius`.
    fn corrected(&self, row: usize, radius: Option<f64>) -> f64 {
        match radius {
            Some(r) if self.nearest[row].distance <= r => self.nearest[row].value,
            _ => self.model_oof[row],
        }
    }

    /// The radius (or none) with the lowest total error on the rows `chosen` keeps; on a tie,
    /// the smallest.
    fn best_radius(&self, chosen: impl Fn(usize) -> bool) -> Option<f64> {
        let error = |radius: Option<f64>| -> f64 {
            (0..self.y.len())
                .filter(|&row| chosen(row))
                .map(|row| (self.corrected(row, radius) - self.y[row]).abs())
                .sum()
        };
        let mut best = (None, error(None));
        for radius in TWIN_RADII {
            let total = error(Some(radius));
            if total < best.1 {
                best = (Some(radius), total);
            }
        }
        best.0
    }

    /// The mean absolute error of `values` on the rows whose `is_twin` equals `twin` (0 when
    /// there are none).
    fn mean_error(&self, values: &Array1<f64>, is_twin: &[bool], twin: bool) -> f64 {
        let errors: Vec<f64> = (0..self.y.len())
            .filter(|&row| is_twin[row] == twin)
            .map(|row| (values[row] - self.y[row]).abs())
            .collect();
        if errors.is_empty() {
            0.0
        } else {
            errors.iter().sum::<f64>() / errors.len() as f64
        }
    }
}

/// The twin valence of each evaluation track within `radius` (`None` without one), and how
/// many tracks the feature set covers.
fn eval_twins(eval: &[Option<Nearest>], radius: Option<f64>) -> (Vec<Option<f64>>, usize) {
    let covered = eval.iter().filter(|d| d.is_some()).count();
    let twins = eval
        .iter()
        .map(|found| match (found, radius) {
            (Some(found), Some(r)) if found.distance <= r => Some(found.value),
            _ => None,
        })
        .collect();
    (twins, covered)
}

impl NearTwins {
    /// Near twins for the candidate `model` with out-of-fold predictions `model_oof`, on the
    /// feature set `distances` were measured on.
    pub fn find(
        distances: &TwinDistances,
        model: CandidateName,
        inputs: &ValenceInputs,
        model_oof: &Array1<f64>,
    ) -> Result<NearTwins, PipelineError> {
        let (y, n) = (&inputs.y, inputs.y.len());
        if model_oof.len() != n || distances.train.len() != n {
            return Err(PipelineError::Inconsistent(format!(
                "near twins: {} out-of-fold predictions and {} distances for {n} chart tracks",
                model_oof.len(),
                distances.train.len()
            )));
        }
        let correction = Correction {
            nearest: &distances.train,
            model_oof,
            y,
        };
        let fold_of = inputs.fold_of_rows();
        let fold_radii: Vec<Option<f64>> = (0..inputs.folds.len())
            .map(|k| correction.best_radius(|row| fold_of[row] != k))
            .collect();
        let radius = correction.best_radius(|_| true);
        let oof: Array1<f64> = (0..n)
            .map(|row| correction.corrected(row, fold_radii[fold_of[row]]))
            .collect();
        let is_twin: Vec<bool> = (0..n)
            .map(|row| fold_radii[fold_of[row]].is_some_and(|r| distances.train[row].distance <= r))
            .collect();
        let train_share = is_twin.iter().filter(|&&t| t).count() as f64 / n as f64;
        let (eval, eval_covered) = eval_twins(&distances.eval, radius);
        let eval_twins = eval.iter().filter(|v| v.is_some()).count();
        let eval_share = eval_twins as f64 / eval_covered.max(1) as f64;
        let mae_twin_rows = correction.mean_error(&oof, &is_twin, true);
        let mae_other_rows = correction.mean_error(&oof, &is_twin, false);
        Ok(NearTwins {
            feature_set: distances.feature_set,
            model,
            radius,
            fold_radii,
            cv_mae_model: CvScores::of_predictions(y, model_oof, &inputs.folds)?.mae,
            cv_mae: CvScores::of_predictions(y, &oof, &inputs.folds)?.mae,
            train_share,
            mae_twin_rows,
            mae_twin_rows_model: correction.mean_error(model_oof, &is_twin, true),
            mae_other_rows,
            eval_covered,
            eval_twins,
            eval_estimate: eval_share * mae_twin_rows + (1.0 - eval_share) * mae_other_rows,
            eval,
            oof,
            is_twin,
        })
    }

    /// Sentences for reports, generated from the numbers.
    pub fn describe(&self) -> String {
        match self.radius {
            None => format!(
                "Near twins [{}]: taking the valence of the nearest chart track never beat {} on out-of-fold predictions, so no prediction was replaced.",
                self.feature_set, self.model
            ),
            Some(radius) => format!(
                "Near twins [{}]: a track whose nearest chart track lies within {radius} (Euclidean, on standardised features) takes that track's valence instead of {}'s prediction. In cross-validation (radius chosen on the other folds) this corrects {:.1}% of the chart tracks, whose MAE falls from {:.4} to {:.4}; the others keep {:.4}. Overall CV MAE: {:.4} → {:.4}. Only {} of the {} evaluation tracks on these features ({:.1}%) have such a twin, so their MAE should be near {:.4}, the CV MAE re-weighted to that share.",
                self.feature_set,
                self.model,
                100.0 * self.train_share,
                self.mae_twin_rows_model,
                self.mae_twin_rows,
                self.mae_other_rows,
                self.cv_mae_model,
                self.cv_mae,
                self.eval_twins,
                self.eval_covered,
                100.0 * self.eval_twins as f64 / self.eval_covered.max(1) as f64,
                self.eval_estimate
            ),
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::valence::{Grouping, Model, Routes};
    use dataset::{AudioFeatures, Labels, Track};
    use evaluation::Fold;

    /// A track whose audio features differ only in energy.
    pub(crate) fn track(id: &str, energy: f64, valence: Option<f64>) -> Track {
        Track {
            id: id.into(),
            features: AudioFeatures {
                danceability: 0.5,
                energy,
                key: 1,
                loudness: -5.0,
                mode: Some(1),
                speechiness: 0.1,
                acousticness: 0.2,
                instrumentalness: 0.0,
                liveness: 0.1,
                valence,
                tempo: 120.0,
                duration_ms: Some(200_000),
                time_signature: Some(4),
            },
            analysis: None,
            labels: Labels::default(),
        }
    }

    /// Near twins that only carry the evaluation tracks' twin valences.
    pub(crate) fn twins_with_eval(eval: Vec<Option<f64>>) -> NearTwins {
        NearTwins {
            feature_set: FeatureSetId::Audio,
            model: CandidateName::Model(Model::Network),
            radius: Some(0.1),
            fold_radii: Vec::new(),
            cv_mae_model: 0.0,
            cv_mae: 0.0,
            train_share: 0.0,
            mae_twin_rows: 0.0,
            mae_twin_rows_model: 0.0,
            mae_other_rows: 0.0,
            eval_covered: eval.len(),
            eval_twins: eval.iter().flatten().count(),
            eval_estimate: 0.0,
            eval,
            oof: Array1::zeros(0),
            is_twin: Vec::new(),
        }
    }

    #[test]
    fn near_twins_take_the_valence_of_the_nearest_chart_track_within_the_chosen_radius() {
        // Ten recordings, each twice with a tiny difference in energy; the copies sit in
        // different folds, so each held-out track has its twin in the other fold.
        let train: Vec<Track> = (0..20)
            .map(|i| {
                let recording = f64::from(i / 2);
                track(
                    &format!("t{i}"),
                    0.1 * recording + 0.001 * f64::from(i % 2),
                    Some(0.1 * recording),
                )
            })
            .collect();
        let y = Array1::from_iter(train.iter().filter_map(|t| t.features.valence));
        let folds = vec![
            Fold {
                train: (1..20).step_by(2).collect(),
                test: (0..20).step_by(2).collect(),
            },
            Fold {
                train: (0..20).step_by(2).collect(),
                test: (1..20).step_by(2).collect(),
            },
        ];
        let inputs = ValenceInputs {
            eval: vec![track("x", 0.3, None), track("y", 5.0, None)],
            train,
            y,
            folds,
            recordings: 10,
            grouping: Grouping::Plain,
        };
        let features = FeatureSetId::Audio;
        let x = inputs.train_matrix(features).unwrap();
        let constant = Array1::from_elem(20, 0.45);
        let distances = TwinDistances::measure(features, &x, &inputs).unwrap();
        let name = CandidateName::Model(Model::Network);
        let twins = NearTwins::find(&distances, name, &inputs, &constant).unwrap();
        assert_eq!(twins.radius, Some(0.1));
        assert_eq!(twins.fold_radii, vec![Some(0.1), Some(0.1)]);
        assert!(twins.cv_mae < 1e-12 && (twins.cv_mae_model - 0.25).abs() < 1e-12);
        assert_eq!(twins.train_share, 1.0);
        assert_eq!((twins.eval_covered, twins.eval_twins), (2, 1));
        assert!((twins.eval[0].unwrap() - 0.3).abs() < 1e-12 && twins.eval[1].is_none());
        let mut predictions = vec![0.8, 0.6];
        let routes = Routes::split(&inputs.eval, features);
        let replaced = routes.apply_twins(&mut predictions, &twins, &twins);
        assert_eq!(replaced, 1);
        assert!((predictions[0] - 0.3).abs() < 1e-12 && predictions[1] == 0.6);
    }

    #[test]
    fn each_fold_is_corrected_with_the_radius_chosen_on_the_other_folds() {
        // Fold 0's twins are exact copies; fold 1's "twins", as close, are other recordings.
        // Trusting twins helps on fold 0 only, so fold 1 (whose radius is chosen on fold 0)
        // is corrected, wrongly, and fold 0 (whose radius is chosen on fold 1) is not.
        let nearest = |distance, value| Nearest { distance, value };
        let y = Array1::from(vec![0.2, 0.4, 0.6, 0.8]);
        let inputs = ValenceInputs {
            train: Vec::new(),
            eval: Vec::new(),
            y: y.clone(),
            folds: vec![
                Fold {
                    train: vec![2, 3],
                    test: vec![0, 1],
                },
                Fold {
                    train: vec![0, 1],
                    test: vec![2, 3],
                },
            ],
            recordings: 4,
            grouping: Grouping::Plain,
        };
        let distances = TwinDistances {
            feature_set: FeatureSetId::Audio,
            train: vec![
                nearest(0.0, 0.2),
                nearest(0.0, 0.4),
                nearest(0.0, 0.0),
                nearest(0.0, 0.0),
            ],
            eval: Vec::new(),
        };
        let model = Array1::from(vec![0.3, 0.5, 0.7, 0.9]);
        let name = CandidateName::Model(Model::Network);
        let twins = NearTwins::find(&distances, name, &inputs, &model).unwrap();
        assert_eq!(twins.fold_radii, vec![None, Some(0.0)]);
        assert_eq!(twins.radius, None);
        assert_eq!(twins.oof.to_vec(), vec![0.3, 0.5, 0.0, 0.0]);
    }
}
