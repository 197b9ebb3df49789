//! Grid and random search over a declared space, scored by cross-validated MAE.

use std::time::Instant;

use indicatif::{ProgressBar, ProgressStyle};
use linfa::traits::{Fit, PredictInplace};
use ndarray::{Array1, Array2};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::cv::{check_folds, fit_predict_fold_and, CvScores, Fold};
use crate::error::{chain, EvalError, FitError};
use crate::space::{describe, ParamSet, SearchSpace, Tunable, Value};

/// How candidates are drawn from the space.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Strategy {
    /// Every combination, with this many points per numeric domain.
    Grid {
        /// Points per numeric domain.
        points: usize,
    },
    /// This many random draws.
    Random {
        /// Number of candidates.
        candidates: usize,
        /// Seed of the draws.
        seed: u64,
    },
}

/// A search: a space, a strategy, and whether to show progress.
#[derive(Clone, Debug)]
pub struct Search {
    label: String,
    space: SearchSpace,
    strategy: Strategy,
    progress: bool,
    fixed: Vec<ParamSet>,
    overrides: ParamSet,
    extra: Option<Array2<f64>>,
}

/// One evaluated candidate.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Trial {
    /// The hyperparameters.
    pub params: ParamSet,
    /// Its cross-validated scores.
    pub scores: CvScores,
    /// Wall-clock seconds summed over its fold fits.
    pub fit_seconds: f64,
    /// Out-of-fold predictions, for blending.
    #[serde(skip)]
    pub oof: Array1<f64>,
    /// With [`Search::predicting`]: the mean over the fold models of their predictions for
    /// those rows, so the candidate predicts new rows without being fitted again.
    #[serde(skip)]
    pub predicted: Option<Array1<f64>>,
}

/// All trials of a search, best (lowest CV MAE) first.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct SearchResult {
    /// The search's label, e.g. the method name.
    pub label: String,
    /// Successful trials sorted by CV MAE.
    pub trials: Vec<Trial>,
    /// Candidates whose fit failed, with the reason: the fold, then the learner's error and
    /// its causes.
    pub failed: Vec<(ParamSet, String)>,
    /// Wall-clock seconds of the whole search.
    pub seconds: f64,
}

impl SearchResult {
    /// The best trial. A result always has at least one trial.
    pub fn best(&self) -> &Trial {
        &self.trials[0]
    }
}

impl Search {
    /// A random search of `candidates` draws from `space`, seeded.
    pub fn random(label: &str, space: SearchSpace, candidates: usize, seed: u64) -> Search {
        Search {
            label: label.into(),
            space,
            strategy: Strategy::Random { candidates, seed },
            progress: false,
            fixed: Vec::new(),
            overrides: ParamSet::new(),
            extra: None,
        }
    }

    /// A grid search with `points` values per numeric domain.
    pub fn grid(label: &str, space: SearchSpace, points: usize) -> Search {
        Search {
            label: label.into(),
            space,
            strategy: Strategy::Grid { points },
            progress: false,
            fixed: Vec::new(),
            overrides: ParamSet::new(),
            extra: None,
        }
    }

    /// Shows a progress bar on the terminal.
    pub fn progress(mut self, show: bool) -> Search {
        self.progress = show;
        self
    }

    /// Also evaluates these parameter sets (e.g. the learner's defaults).
    pub fn including(mut self, params: ParamSet) -> Search {
        self.fixed.push(params);
        self
    }

    /// Sets `name` to `value` in every candidate (e.g. fewer trees for a quick run).
    pub fn overriding(mut self, name: &str, value: Value) -> Search {
        self.overrides.insert(name.into(), value);
        self
    }

    /// Also predicts these rows (with the search's columns) with every fold's model; each
    /// trial's [`Trial::predicted`] is their mean over the folds.
    pub fn predicting(mut self, rows: Array2<f64>) -> Search {
        self.extra = Some(rows);
        self
    }

    /// The candidates this search evaluates, in order.
    pub fn candidates(&self) -> Result<Vec<ParamSet>, EvalError> {
        let empty = self.space.empty_domains();
        if !empty.is_empty() {
            return Err(EvalError::Invalid(format!(
                "search `{}`: empty domain for {}",
                self.label,
                empty.join(", ")
            )));
        }
        let mut candidates = self.fixed.clone();
        let drawn = match &self.strategy {
            Strategy::Grid { points } => self.space.grid(*points),
            Strategy::Random { candidates, seed } => self
                .space
                .sample(*candidates, &mut ChaCha8Rng::seed_from_u64(*seed)),
        };
        for set in drawn {
            if !candidates.contains(&set) {
                candidates.push(set);
            }
        }
        let mut unique: Vec<ParamSet> = Vec::with_capacity(candidates.len());
        for mut set in candidates {
            set.extend(self.overrides.clone());
            if !unique.contains(&set) {
                unique.push(set);
            }
        }
        Ok(unique)
    }

    /// Evaluates every candidate on `folds`, all (candidate, fold) fits in parallel.
    pub fn run<P, E>(
        &self,
        x: &Array2<f64>,
        y: &Array1<f64>,
        folds: &[Fold],
    ) -> Result<SearchResult, EvalError>
    where
        P: Tunable + Fit<Array2<f64>, Array1<f64>, E> + Sync,
        P::Object: PredictInplace<Array2<f64>, Array1<f64>>,
        E: std::error::Error + Send + Sync + 'static + From<linfa::Error>,
    {
        check_folds(x.nrows(), folds)?;
        if let Some(extra) = &self.extra {
            if extra.ncols() != x.ncols() {
                return Err(EvalError::Invalid(format!(
                    "search `{}`: the rows to predict have {} columns, the training rows {}",
                    self.label,
                    extra.ncols(),
                    x.ncols()
                )));
            }
        }
        let start = Instant::now();
        let candidates = self.candidates()?;
        let learners = candidates
            .iter()
            .map(|params| {
                P::from_params(params).map_err(|error| EvalError::Params {
                    context: format!("search `{}`: {}", self.label, describe(params)),
                    source: Box::new(error),
                })
            })
            .collect::<Result<Vec<P>, _>>()?;
        let bar = self.progress_bar((candidates.len() * folds.len()) as u64);
        let jobs: Vec<(usize, usize)> = (0..candidates.len())
            .flat_map(|c| (0..folds.len()).map(move |f| (c, f)))
            .collect();
        type Predicted = (Array1<f64>, Option<Array1<f64>>);
        let outcomes: Vec<(Result<Predicted, FitError>, f64)> = jobs
            .par_iter()
            .map(|&(c, f)| {
                let fit_start = Instant::now();
                let predicted =
                    fit_predict_fold_and(&learners[c], x, y, &folds[f], self.extra.as_ref());
                bar.inc(1);
                (predicted, fit_start.elapsed().as_secs_f64())
            })
            .collect();
        bar.finish_and_clear();

        let mut trials = Vec::new();
        let mut failed = Vec::new();
        for (c, params) in candidates.into_iter().enumerate() {
            let mut oof = Array1::from_elem(y.len(), f64::NAN);
            let mut predicted_sum = self.extra.as_ref().map(|rows| Array1::zeros(rows.nrows()));
            let mut seconds = 0.0;
            let mut error = None;
            for (f, fold) in folds.iter().enumerate() {
                let (predicted, fit_seconds) = &outcomes[c * folds.len() + f];
                seconds += fit_seconds;
                match predicted {
                    Ok((predicted, extra)) => {
                        for (&row, &value) in fold.test.iter().zip(predicted) {
                            oof[row] = value;
                        }
                        if let (Some(sum), Some(extra)) = (predicted_sum.as_mut(), extra) {
                            *sum += extra;
                        }
                    }
                    Err(failure) => error = Some(format!("fold {f}: {}", chain(failure))),
                }
            }
            match error {
                Some(message) => failed.push((params, message)),
                None => trials.push(Trial {
                    scores: CvScores::of_predictions(y, &oof, folds)?,
                    params,
                    fit_seconds: seconds,
                    oof,
                    predicted: predicted_sum.map(|sum| sum / folds.len() as f64),
                }),
            }
        }
        if trials.is_empty() {
            return Err(EvalError::EveryCandidateFailed {
                label: self.label.clone(),
                failures: failed
                    .iter()
                    .map(|(params, message)| format!("{}: {message}", describe(params)))
                    .collect(),
            });
        }
        trials.sort_by(|a, b| a.scores.mae.total_cmp(&b.scores.mae));
        Ok(SearchResult {
            label: self.label.clone(),
            trials,
            failed,
            seconds: start.elapsed().as_secs_f64(),
        })
    }

    fn progress_bar(&self, total: u64) -> ProgressBar {
        if !self.progress {
            return ProgressBar::hidden();
        }
        let bar = ProgressBar::new(total);
        if let Ok(style) = ProgressStyle::with_template(
            "{prefix:>28} [{bar:30}] {pos}/{len} fits, {elapsed} (eta {eta})",
        ) {
            bar.set_style(style.progress_chars("=> "));
        }
        bar.set_prefix(self.label.clone());
        bar
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::space::ParamSetExt;
    use linfa::DatasetBase;
    use ndarray::Axis;

    /// Predicts `scale · x0`; the best `scale` is the one that generated the data.
    #[derive(Clone)]
    struct Scale(f64);
    struct Fitted(f64);

    impl Fit<Array2<f64>, Array1<f64>, linfa::Error> for Scale {
        type Object = Fitted;
        fn fit(&self, _: &DatasetBase<Array2<f64>, Array1<f64>>) -> Result<Fitted, linfa::Error> {
            Ok(Fitted(self.0))
        }
    }

    impl PredictInplace<Array2<f64>, Array1<f64>> for Fitted {
        fn predict_inplace(&self, x: &Array2<f64>, y: &mut Array1<f64>) {
            y.assign(&x.column(0).mapv(|v| v * self.0));
        }
        fn default_target(&self, x: &Array2<f64>) -> Array1<f64> {
            Array1::zeros(x.nrows())
        }
    }

    impl Tunable for Scale {
        type Error = linfa::Error;
        fn search_space() -> SearchSpace {
            SearchSpace::new().float("scale", 0.0, 4.0, false)
        }
        fn from_params(params: &ParamSet) -> Result<Scale, linfa::Error> {
            Ok(Scale(params.float_or("scale", 1.0).unwrap_or(1.0)))
        }
    }

    fn problem() -> (Array2<f64>, Array1<f64>, Vec<Fold>) {
        let x = Array2::from_shape_fn((60, 1), |(i, _)| i as f64 / 10.0);
        let y = x.column(0).mapv(|v| 2.5 * v);
        let folds = (0..3)
            .map(|k| Fold {
                train: (0..60).filter(|i| i % 3 != k).collect(),
                test: (0..60).filter(|i| i % 3 == k).collect(),
            })
            .collect();
        (x, y, folds)
    }

    #[test]
    fn grid_search_finds_the_generating_parameter() {
        let (x, y, folds) = problem();
        // 9 points over 0..4 include 2.5 exactly.
        let result = Search::grid("scale", Scale::search_space(), 17)
            .run::<Scale, _>(&x, &y, &folds)
            .unwrap();
        assert_eq!(result.best().params["scale"], Value::Float(2.5));
        assert!(result.best().scores.mae < 1e-12);
        assert!(result
            .trials
            .windows(2)
            .all(|w| w[0].scores.mae <= w[1].scores.mae));
        assert_eq!(
            result.best().oof.select(Axis(0), &[10]),
            y.select(Axis(0), &[10])
        );
    }

    #[test]
    fn random_search_is_reproducible_and_overrides_apply() {
        let (x, y, folds) = problem();
        let run = |seed| {
            Search::random("scale", Scale::search_space(), 12, seed)
                .run::<Scale, _>(&x, &y, &folds)
                .unwrap()
        };
        let (a, b) = (run(3), run(3));
        let params = |r: &SearchResult| {
            r.trials
                .iter()
                .map(|t| t.params.clone())
                .collect::<Vec<_>>()
        };
        assert_eq!(params(&a), params(&b));
        assert!((a.best().params.float_or("scale", 0.0).unwrap() - 2.5).abs() < 0.4);
        let fixed = Search::random("scale", Scale::search_space(), 5, 1)
            .overriding("scale", Value::Float(1.0));
        assert_eq!(fixed.candidates().unwrap().len(), 1);
    }

    /// Predicts the mean target of the rows it was fitted on, so each fold's model differs.
    struct TrainMean;
    impl Fit<Array2<f64>, Array1<f64>, linfa::Error> for TrainMean {
        type Object = Fitted;
        fn fit(
            &self,
            data: &DatasetBase<Array2<f64>, Array1<f64>>,
        ) -> Result<Fitted, linfa::Error> {
            Ok(Fitted(data.targets.mean().unwrap_or(0.0)))
        }
    }
    impl Tunable for TrainMean {
        type Error = linfa::Error;
        fn search_space() -> SearchSpace {
            SearchSpace::new().choice("unused", [Value::Int(0)])
        }
        fn from_params(_: &ParamSet) -> Result<TrainMean, linfa::Error> {
            Ok(TrainMean)
        }
    }

    /// A learner whose every fit fails.
    struct Failing;
    impl Fit<Array2<f64>, Array1<f64>, linfa::Error> for Failing {
        type Object = Fitted;
        fn fit(&self, _: &DatasetBase<Array2<f64>, Array1<f64>>) -> Result<Fitted, linfa::Error> {
            Err(linfa::Error::Parameters("always fails".into()))
        }
    }
    impl Tunable for Failing {
        type Error = linfa::Error;
        fn search_space() -> SearchSpace {
            SearchSpace::new().choice("unused", [Value::Int(0)])
        }
        fn from_params(_: &ParamSet) -> Result<Failing, linfa::Error> {
            Ok(Failing)
        }
    }

    #[test]
    fn a_failing_fit_keeps_the_learners_error_as_its_cause() {
        let (x, y, folds) = problem();
        let error = crate::cross_validate(&Failing, &x, &y, &folds).unwrap_err();
        let cause = std::error::Error::source(&error).expect("the fold's error");
        assert_eq!(error.to_string(), "fold 0");
        assert_eq!(cause.to_string(), "invalid parameter always fails");

        match Search::grid("failing", Failing::search_space(), 1).run::<Failing, _>(&x, &y, &folds)
        {
            Err(EvalError::EveryCandidateFailed { label, failures }) => {
                assert_eq!(label, "failing");
                assert_eq!(
                    failures,
                    ["unused=0: fold 2: invalid parameter always fails"]
                );
            }
            other => panic!("expected every candidate to fail, got {other:?}"),
        }
    }

    #[test]
    fn predicting_averages_the_fold_models_over_the_extra_rows() {
        let (x, y, folds) = problem();
        let extra = Array2::from_shape_vec((3, 1), vec![1.0, 2.0, -4.0]).unwrap();
        let result = Search::grid("scale", Scale::search_space(), 17)
            .predicting(extra.clone())
            .run::<Scale, _>(&x, &y, &folds)
            .unwrap();
        let predicted = result.best().predicted.clone().unwrap();
        assert_eq!(predicted.to_vec(), vec![2.5, 5.0, -10.0]);

        // Fitted(m) predicts m·x0: each fold's model has its own training mean, and the trial
        // holds their average.
        let result = Search::grid("mean", TrainMean::search_space(), 1)
            .predicting(extra.clone())
            .run::<TrainMean, _>(&x, &y, &folds)
            .unwrap();
        let means: Vec<f64> = folds
            .iter()
            .map(|fold| y.select(Axis(0), &fold.train).mean().unwrap())
            .collect();
        assert!(means.windows(2).any(|w| w[0] != w[1]));
        let mean = means.iter().sum::<f64>() / 3.0;
        let predicted = result.best().predicted.clone().unwrap();
        for (got, x0) in predicted.iter().zip(extra.column(0)) {
            assert!((got - mean * x0).abs() < 1e-12, "{got} vs {}", mean * x0);
        }

        let narrow = Array2::zeros((2, 2));
        let error = Search::grid("scale", Scale::search_space(), 3)
            .predicting(narrow)
            .run::<Scale, _>(&x, &y, &folds)
            .unwrap_err();
        assert!(error.to_string().contains("2 columns"), "{error}");
        let plain = Search::grid("scale", Scale::search_space(), 3)
            .run::<Scale, _>(&x, &y, &folds)
            .unwrap();
        assert!(plain.best().predicted.is_none());
    }
}
