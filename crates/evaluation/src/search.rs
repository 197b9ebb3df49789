//! Grid and random search over a declared space, scored by cross-validated MAE.

use std::time::Instant;

use indicatif::{ProgressBar, ProgressStyle};
use linfa::traits::{Fit, PredictInplace};
use ndarray::{Array1, Array2};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::cv::{check_folds, fit_predict_fold, CvScores, Fold};
use crate::error::EvalError;
use crate::space::{describe, ParamSet, SearchSpace, Tunable};

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
}

/// All trials of a search, best (lowest CV MAE) first.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct SearchResult {
    /// The search's label, e.g. the method name.
    pub label: String,
    /// Successful trials sorted by CV MAE.
    pub trials: Vec<Trial>,
    /// Candidates whose fit failed, with the reason.
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
        Ok(candidates)
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
        E: std::error::Error + From<linfa::Error>,
    {
        check_folds(x.nrows(), folds)?;
        let start = Instant::now();
        let candidates = self.candidates()?;
        let learners = candidates
            .iter()
            .map(|params| {
                P::from_params(params).map_err(|e| {
                    EvalError::Invalid(format!(
                        "search `{}`: {}: {e}",
                        self.label,
                        describe(params)
                    ))
                })
            })
            .collect::<Result<Vec<P>, _>>()?;
        let bar = self.progress_bar((candidates.len() * folds.len()) as u64);
        let jobs: Vec<(usize, usize)> = (0..candidates.len())
            .flat_map(|c| (0..folds.len()).map(move |f| (c, f)))
            .collect();
        let outcomes: Vec<(Result<Array1<f64>, String>, f64)> = jobs
            .par_iter()
            .map(|&(c, f)| {
                let fit_start = Instant::now();
                let predicted = fit_predict_fold(&learners[c], x, y, &folds[f]);
                bar.inc(1);
                (predicted, fit_start.elapsed().as_secs_f64())
            })
            .collect();
        bar.finish_and_clear();

        let mut trials = Vec::new();
        let mut failed = Vec::new();
        for (c, params) in candidates.into_iter().enumerate() {
            let mut oof = Array1::from_elem(y.len(), f64::NAN);
            let mut seconds = 0.0;
            let mut error = None;
            for (f, fold) in folds.iter().enumerate() {
                let (predicted, fit_seconds) = &outcomes[c * folds.len() + f];
                seconds += fit_seconds;
                match predicted {
                    Ok(predicted) => {
                        for (&row, &value) in fold.test.iter().zip(predicted) {
                            oof[row] = value;
                        }
                    }
                    Err(message) => error = Some(format!("fold {f}: {message}")),
                }
            }
            match error {
                Some(message) => failed.push((params, message)),
                None => trials.push(Trial {
                    scores: CvScores::of_predictions(y, &oof, folds)?,
                    params,
                    fit_seconds: seconds,
                    oof,
                }),
            }
        }
        if trials.is_empty() {
            let reasons: Vec<String> = failed
                .iter()
                .map(|(params, message)| format!("{}: {message}", describe(params)))
                .collect();
            return Err(EvalError::Model {
                context: format!("search `{}`", self.label),
                message: format!("every candidate failed: {}", reasons.join("; ")),
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
