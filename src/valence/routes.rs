//! *Predict*: the chosen candidate predicts the evaluation tracks its feature set covers; the
//! others (tracks without analysis means) fall back to the best audio-only candidate.

use dataset::Track;
use ndarray::Array1;

use super::intervals::SetIntervals;
use super::{FeatureSetId, NearTwins, PipelineError};

/// Which candidate predicts an evaluation track.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Route {
    /// The chosen candidate, on its feature set.
    Best,
    /// The best candidate on the audio features, which every track has.
    Fallback,
}

/// The evaluation tracks (by row) split between the chosen candidate and the audio-only
/// fallback.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Routes {
    /// Rows whose features the chosen candidate's set covers.
    pub best: Vec<usize>,
    /// The other rows.
    pub fallback: Vec<usize>,
}

impl Routes {
    /// Splits the evaluation tracks by whether `best` covers them.
    pub fn split(eval: &[Track], best: FeatureSetId) -> Routes {
        let set = best.set();
        let (best, fallback) = (0..eval.len()).partition(|&i| set.covers(&eval[i]));
        Routes { best, fallback }
    }

    /// The rows of one route.
    pub fn rows(&self, route: Route) -> &[usize] {
        match route {
            Route::Best => &self.best,
            Route::Fallback => &self.fallback,
        }
    }

    /// The route of every row, in row order.
    fn route_of_rows(&self) -> Vec<Route> {
        let mut routes = vec![Route::Best; self.best.len() + self.fallback.len()];
        for &row in &self.fallback {
            routes[row] = Route::Fallback;
        }
        routes
    }

    /// The ids of the tracks the fallback predicts.
    pub fn fallback_ids(&self, eval: &[Track]) -> Vec<String> {
        self.fallback.iter().map(|&i| eval[i].id.clone()).collect()
    }

    /// Every track's prediction, clipped to [0, 1]: `predict(route, rows)` gives the values of
    /// the rows of each route that has any. A value that is not finite is an error.
    pub fn predict(
        &self,
        mut predict: impl FnMut(Route, &[usize]) -> Result<Array1<f64>, PipelineError>,
    ) -> Result<Vec<f64>, PipelineError> {
        let mut values = vec![f64::NAN; self.best.len() + self.fallback.len()];
        for route in [Route::Best, Route::Fallback] {
            let rows = self.rows(route);
            if rows.is_empty() {
                continue;
            }
            let predicted = predict(route, rows)?;
            if predicted.len() != rows.len() {
                return Err(PipelineError::Inconsistent(format!(
                    "{} predictions for {} evaluation tracks ({route:?})",
                    predicted.len(),
                    rows.len()
                )));
            }
            for (&row, value) in rows.iter().zip(predicted) {
                values[row] = value.clamp(0.0, 1.0);
            }
        }
        if values.iter().any(|v| !v.is_finite()) {
            return Err(PipelineError::Inconsistent(
                "a model predicted a non-finite valence for an evaluation track".into(),
            ));
        }
        Ok(values)
    }

    /// Gives each track with a near twin its twin's valence, from the near twins of the
    /// candidate that predicted it. Returns how many were replaced.
    pub fn apply_twins(
        &self,
        predictions: &mut [f64],
        best: &NearTwins,
        fallback: &NearTwins,
    ) -> usize {
        let mut replaced = 0;
        for (row, (prediction, route)) in
            predictions.iter_mut().zip(self.route_of_rows()).enumerate()
        {
            let twins = match route {
                Route::Best => best,
                Route::Fallback => fallback,
            };
            if let Some(Some(valence)) = twins.eval.get(row) {
                *prediction = *valence;
                replaced += 1;
            }
        }
        replaced
    }
}

impl Routes {
    /// Every track's `(low, high)` valence interval: the intervals of its route's feature set,
    /// as a track that took a near twin's valence (per that set's twins) or not.
    pub fn intervals(
        &self,
        predictions: &[f64],
        best: (&SetIntervals, &NearTwins),
        fallback: (&SetIntervals, &NearTwins),
    ) -> Vec<(f64, f64)> {
        predictions
            .iter()
            .zip(self.route_of_rows())
            .enumerate()
            .map(|(row, (&prediction, route))| {
                let (intervals, twins) = match route {
                    Route::Best => best,
                    Route::Fallback => fallback,
                };
                let from_twin = matches!(twins.eval.get(row), Some(Some(_)));
                intervals.interval(prediction, from_twin)
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::valence::twins::tests::{track, twins_with_eval};
    use dataset::AnalysisSummary;

    fn with_analysis(id: &str) -> Track {
        let mut track = track(id, 0.5, None);
        track.analysis = Some(AnalysisSummary {
            pitch: [0.5; 12],
            timbre: [0.5; 12],
        });
        track
    }

    #[test]
    fn tracks_without_analysis_means_fall_back_to_the_audio_only_candidate() {
        let eval = vec![
            with_analysis("a"),
            track("b", 0.5, None),
            with_analysis("c"),
        ];
        let routes = Routes::split(&eval, FeatureSetId::AudioAnalysis);
        assert_eq!(routes.best, [0, 2]);
        assert_eq!(routes.fallback, [1]);
        assert_eq!(routes.fallback_ids(&eval), ["b"]);
        let predictions = routes
            .predict(|route, rows| {
                Ok(match route {
                    Route::Best => Array1::from_elem(rows.len(), 1.5),
                    Route::Fallback => Array1::from_elem(rows.len(), 0.25),
                })
            })
            .unwrap();
        // Clipped to the valence range.
        assert_eq!(predictions, [1.0, 0.25, 1.0]);
        // The audio features cover every track: nothing falls back.
        let audio = Routes::split(&eval, FeatureSetId::Audio);
        assert_eq!((audio.best.len(), audio.fallback.len()), (3, 0));
    }

    #[test]
    fn each_track_takes_the_twin_of_the_candidate_that_predicted_it() {
        let eval = vec![with_analysis("a"), track("b", 0.5, None)];
        let routes = Routes::split(&eval, FeatureSetId::AudioAnalysis);
        let best = twins_with_eval(vec![Some(0.9), None]);
        let fallback = twins_with_eval(vec![Some(0.1), Some(0.2)]);
        let mut predictions = vec![0.5, 0.5];
        assert_eq!(routes.apply_twins(&mut predictions, &best, &fallback), 2);
        assert_eq!(predictions, [0.9, 0.2]);
    }

    /// Intervals of a fixed half-width for model tracks and another for twin tracks.
    fn fixed_intervals(model: f64, twin: f64) -> SetIntervals {
        use evaluation::conformal::{Difficulty, IntervalModel};
        let flat = Difficulty {
            edges: Vec::new(),
            scale: vec![1.0],
        };
        SetIntervals {
            feature_set: FeatureSetId::Audio,
            model: IntervalModel {
                coverage: 0.9,
                groups: vec![(model, flat.clone()), (twin, flat)],
            },
            reports: Vec::new(),
        }
    }

    #[test]
    fn each_track_gets_the_interval_of_its_route_and_twin_group() {
        let eval = vec![
            with_analysis("a"),
            track("b", 0.5, None),
            with_analysis("c"),
        ];
        let routes = Routes::split(&eval, FeatureSetId::AudioAnalysis);
        let best_twins = twins_with_eval(vec![Some(0.4), None, None]);
        let fallback_twins = twins_with_eval(vec![None, Some(0.7), None]);
        let (best, fallback) = (fixed_intervals(0.1, 0.02), fixed_intervals(0.3, 0.05));
        let bounds = routes.intervals(
            &[0.4, 0.7, 0.95],
            (&best, &best_twins),
            (&fallback, &fallback_twins),
        );
        let close =
            |(a, b): (f64, f64), (c, d): (f64, f64)| (a - c).abs() < 1e-12 && (b - d).abs() < 1e-12;
        assert!(
            close(bounds[0], (0.38, 0.42)),
            "a best-route twin: {:?}",
            bounds[0]
        );
        assert!(
            close(bounds[1], (0.65, 0.75)),
            "a fallback twin: {:?}",
            bounds[1]
        );
        assert!(
            close(bounds[2], (0.85, 1.0)),
            "a best-route model track, clipped: {:?}",
            bounds[2]
        );
    }

    #[test]
    fn a_prediction_that_is_not_finite_is_an_error() {
        let eval = vec![track("b", 0.5, None)];
        let routes = Routes::split(&eval, FeatureSetId::Audio);
        let result = routes.predict(|_, rows| Ok(Array1::from_elem(rows.len(), f64::NAN)));
        assert!(matches!(result, Err(PipelineError::Inconsistent(_))));
    }
}
