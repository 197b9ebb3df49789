//! One experiment from data to outcome: the protocol's scores of every model, the best model,
//! its confusion matrix and permutation importance, the network's learning curves, and the best
//! model refitted on every row for prediction.

use std::time::Instant;

use dataset::split::stratified_train_test_split;
use evaluation::classification::{
    accuracy, argmax_rows, confusion_counts, holdout, permutation_importance_accuracy, ClassScores,
    PredictProba,
};
use evaluation::{EvalError, Importance};
use ndarray::{Array2, Axis};
use neural_models::EpochRecord;
use serde::Serialize;

use crate::classify::engine::{
    run_cv, run_split, split_seeds, Fitted, Model, ModelRun, Problem, BLEND, TEST_FRACTION,
    VALIDATION_FRACTION,
};
use crate::classify::network::Network;
use crate::log::log;

/// How an experiment's headline accuracy is estimated.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Protocol {
    /// Stratified k-fold cross-validation; the accuracy is the mean over folds.
    Cv {
        /// Number of folds.
        k: usize,
    },
    /// Stratified 80/20 splits over 5 seeds (12345 first), 20% of the training part held out for
    /// early stopping; the accuracy is the mean over seeds. Also cross-validated with `cv_k`
    /// folds (0: not).
    Split {
        /// Folds of the additional cross-validation (0: none).
        cv_k: usize,
    },
}

/// An experiment to run.
#[derive(Clone, Debug)]
pub struct Experiment {
    /// The data.
    pub problem: Problem,
    /// The protocol.
    pub protocol: Protocol,
    /// The line-up.
    pub models: Vec<Model>,
    /// The published accuracy this reproduces, if any.
    pub published: Option<f64>,
    /// The accuracy to reach, if any.
    pub target: Option<f64>,
    /// Notes on the data (rows dropped, imputation, …), for the report.
    pub notes: Vec<String>,
    /// Seed of folds and models.
    pub seed: u64,
    /// Token settings.
    pub quick: bool,
    /// The models the blend may use (empty: all).
    pub blend_pool: Vec<&'static str>,
    /// Whether to refit the best model on every row for prediction (the popularity experiment
    /// trains its own saved model instead).
    pub refit_best: bool,
}

/// What the network's fit on every row recorded.
#[derive(Clone, Debug, Default, Serialize)]
pub struct NetworkCurves {
    /// One record per epoch: training loss, validation loss and validation accuracy.
    pub history: Vec<EpochRecord>,
    /// The epoch whose weights were kept.
    pub best_epoch: usize,
    /// Accuracy of the kept weights on the rows they were fitted on.
    pub train_accuracy: f64,
    /// Accuracy of the kept weights on the held-out 20%.
    pub validation_accuracy: f64,
    /// Training accuracy after chosen epochs (1-based), from replays of the fit without the
    /// held-out rows.
    pub train_accuracy_curve: Vec<(usize, f64)>,
    /// Whether every replay reproduced the fit's training loss at its epoch exactly.
    pub replay_exact: bool,
}

/// The epochs (1-based) at which the training accuracy is replayed: every epoch of a short fit,
/// else a dozen (five for more than 5,000 rows, where epochs are dear) spread over the fit, the
/// kept epoch and the last one.
fn replay_epochs(n_epochs: usize, best_epoch: usize, quick: bool, n_rows: usize) -> Vec<usize> {
    let most = if quick {
        3
    } else if n_rows > 5000 {
        5
    } else {
        12
    };
    let mut epochs: Vec<usize> = if n_epochs <= most {
        (1..=n_epochs).collect()
    } else {
        (0..most)
            .map(|i| 1 + (i * (n_epochs - 1)) / (most - 1))
            .collect()
    };
    epochs.push(best_epoch + 1);
    epochs.sort_unstable();
    epochs.dedup();
    epochs.retain(|&e| e >= 1 && e <= n_epochs);
    epochs
}

/// Replays the network's fit on its fitting rows without the held-out ones, stopped after each
/// chosen epoch: with a constant learning rate and the same seed it passes through the same
/// weights, so its accuracy on those rows is the training accuracy at that epoch. Returns the
/// curve and whether each replay's last training loss equals the fit's at that epoch.
fn replay_train_accuracy(
    network: &Network,
    x_fit: &Array2<f64>,
    y_fit: &[usize],
    history: &[EpochRecord],
    best_epoch: usize,
    quick: bool,
) -> Result<(Vec<(usize, f64)>, bool), EvalError> {
    use rayon::prelude::*;
    let epochs = replay_epochs(history.len(), best_epoch, quick, x_fit.nrows());
    let y = ndarray::Array1::from(y_fit.to_vec());
    let points: Vec<Result<(usize, f64, bool), EvalError>> = epochs
        .par_iter()
        .map(|&epoch| {
            let replay = network
                .clone()
                .with(|p| p.validation_fraction(0.0).max_epochs(epoch));
            let fitted = linfa::traits::Fit::fit(
                &replay,
                &linfa::DatasetBase::new(x_fit.clone(), y.clone()),
            )
            .map_err(|e| EvalError::model(format!("network replay to epoch {epoch}"), e))?;
            let p = fitted
                .predict_proba(x_fit)
                .map_err(model_error("network replay"))?;
            let exact = fitted.with_model(|m| {
                m.history().last().map(|r| r.train_loss)
                    == history.get(epoch - 1).map(|r| r.train_loss)
            });
            Ok((epoch, accuracy(y_fit, &argmax_rows(p.view()))?, exact))
        })
        .collect();
    let points = points.into_iter().collect::<Result<Vec<_>, _>>()?;
    let exact = points.iter().all(|p| p.2);
    Ok((points.into_iter().map(|(e, a, _)| (e, a)).collect(), exact))
}

/// A model's scores under the experiment's protocol(s).
#[derive(Clone, Debug, Serialize)]
pub struct ModelSummary {
    /// Model name.
    pub name: String,
    /// Its settings.
    pub settings: String,
    /// The protocol's estimate (CV mean, or mean over seeds).
    pub protocol: ModelRun,
    /// Scores on the published seed's split (split protocol).
    pub published_seed: Option<ClassScores>,
    /// The additional cross-validation (split protocol).
    pub cv: Option<ModelRun>,
}

/// Everything an experiment measured.
#[derive(Debug, Serialize)]
pub struct ExperimentOutcome {
    /// Key in `metrics.json`.
    pub name: String,
    /// Title.
    pub title: String,
    /// Class names.
    pub classes: Vec<String>,
    /// Rows per class.
    pub class_counts: Vec<usize>,
    /// Column names.
    pub feature_names: Vec<String>,
    /// The protocol, in words.
    pub protocol: String,
    /// Every model and the blend.
    pub models: Vec<ModelSummary>,
    /// The model with the best protocol accuracy.
    pub best: String,
    /// The best classic model.
    pub best_classic: String,
    /// The blend's members and weights, in words.
    pub blend: String,
    /// Accuracy of always answering the most frequent class.
    pub majority_baseline: f64,
    /// Published accuracy.
    pub published: Option<f64>,
    /// Target accuracy.
    pub target: Option<f64>,
    /// Confusion counts of the best model, `[true][predicted]`.
    pub confusion: Vec<Vec<usize>>,
    /// Where the confusion counts come from.
    pub confusion_source: String,
    /// Permutation importance of the best model (drop in accuracy).
    pub importance: Vec<Importance>,
    /// Where the importance comes from.
    pub importance_source: String,
    /// The network's curves.
    pub network: NetworkCurves,
    /// Notes on the data.
    pub notes: Vec<String>,
    /// Seconds the experiment took.
    pub seconds: f64,
    /// The best model fitted on every row, for prediction.
    #[serde(skip)]
    pub final_model: Option<Fitted>,
}

impl ExperimentOutcome {
    /// The summary of a model by name.
    pub fn model(&self, name: &str) -> Option<&ModelSummary> {
        self.models.iter().find(|m| m.name == name)
    }

    /// The best model's summary.
    pub fn best_summary(&self) -> Option<&ModelSummary> {
        self.model(&self.best)
    }
}

fn model_error<E: Into<evaluation::BoxError>>(context: &str) -> impl Fn(E) -> EvalError + '_ {
    move |error| EvalError::model(context, error)
}

/// The blend weights for a final fit: the members (by name) and their weights.
type BlendPlan = Vec<(String, f64)>;

/// Fits `best` (a model of the line-up or the blend) on the given rows.
fn fit_named(
    experiment: &Experiment,
    best: &str,
    plan: &BlendPlan,
    rows: &[usize],
) -> Result<Fitted, EvalError> {
    let problem = &experiment.problem;
    let x = problem.x.select(Axis(0), rows);
    let y = problem.y.select(Axis(0), rows);
    let fit_one = |name: &str| -> Result<Fitted, EvalError> {
        let model = experiment
            .models
            .iter()
            .find(|m| m.name() == name)
            .ok_or_else(|| EvalError::Invalid(format!("no model named {name}")))?;
        model
            .reseeded(experiment.seed)
            .fit(x.clone(), y.clone())
            .map_err(model_error(name))
    };
    if best == BLEND {
        let members = plan
            .iter()
            .map(|(name, weight)| Ok((*weight, fit_one(name)?)))
            .collect::<Result<Vec<_>, EvalError>>()?;
        Ok(Fitted::Blend(members))
    } else {
        fit_one(best)
    }
}

/// Runs the experiment.
pub fn run(experiment: &Experiment) -> Result<ExperimentOutcome, EvalError> {
    let start = Instant::now();
    let problem = &experiment.problem;
    let seed = experiment.seed;
    let labels: Vec<usize> = problem.y.to_vec();
    log(
        "classify",
        format!(
            "{}: {} rows, {} classes {:?}, {} features",
            problem.name,
            problem.y.len(),
            problem.n_classes(),
            problem.class_counts(),
            problem.feature_names.len()
        ),
    );
    let describe = |name: &str| {
        experiment
            .models
            .iter()
            .find(|m| m.name() == name)
            .map(Model::describe)
            .unwrap_or_default()
    };
    let mut models: Vec<ModelSummary>;
    let plan: BlendPlan;
    let protocol: String;
    let confusion_proba: Array2<f64>;
    let confusion_rows: Vec<usize>;
    let confusion_source: String;
    let mut first_fitted: Vec<(String, Fitted)> = Vec::new();
    let mut first_test: Vec<usize> = Vec::new();
    let best: String;
    match experiment.protocol {
        Protocol::Cv { k } => {
            let k = if experiment.quick { 3 } else { k };
            let cv = run_cv(problem, &experiment.models, k, seed, &experiment.blend_pool)?;
            protocol = format!(
                "stratified {k}-fold cross-validation (seed {seed}); the accuracy is the mean over folds"
            );
            models = cv
                .runs
                .iter()
                .map(|run| ModelSummary {
                    name: run.name.clone(),
                    settings: describe(&run.name),
                    protocol: run.clone(),
                    published_seed: None,
                    cv: None,
                })
                .collect();
            plan = cv.blend_members.clone();
            best = best_of(&models);
            confusion_proba = cv
                .oof
                .iter()
                .find(|(n, _)| *n == best)
                .map(|(_, p)| p.clone())
                .unwrap_or_else(|| Array2::zeros((0, 0)));
            confusion_rows = (0..problem.y.len()).collect();
            confusion_source = format!("out-of-fold predictions of all {} rows", problem.y.len());
        }
        Protocol::Split { cv_k } => {
            let seeds = split_seeds(experiment.quick);
            let split = run_split(problem, &experiment.models, &seeds, &experiment.blend_pool)?;
            protocol = format!(
                "stratified {:.0}/{:.0} split, {:.0}% of the training part held out for early stopping and blend weights; the accuracy is the mean over seeds {:?}",
                100.0 * (1.0 - TEST_FRACTION),
                100.0 * TEST_FRACTION,
                100.0 * VALIDATION_FRACTION,
                seeds
            );
            let cv_k = if experiment.quick { cv_k.min(3) } else { cv_k };
            let cv = if cv_k >= 2 {
                Some(run_cv(
                    problem,
                    &experiment.models,
                    cv_k,
                    seed,
                    &experiment.blend_pool,
                )?)
            } else {
                None
            };
            models = split
                .runs
                .iter()
                .map(|run| ModelSummary {
                    name: run.name.clone(),
                    settings: describe(&run.name),
                    protocol: run.clone(),
                    published_seed: run.parts.first().copied(),
                    cv: None,
                })
                .collect();
            if let Some(cv) = &cv {
                for model in &mut models {
                    model.cv = cv.runs.iter().find(|r| r.name == model.name).cloned();
                }
            }
            // The final blend weighs each model by its mean weight over the seeds.
            let n_seeds = split.blend_weights.len().max(1) as f64;
            plan = experiment
                .models
                .iter()
                .filter(|m| crate::classify::engine::in_pool(&experiment.blend_pool, m.name()))
                .enumerate()
                .map(|(i, m)| {
                    let w = split
                        .blend_weights
                        .iter()
                        .map(|ws| ws.get(i).copied().unwrap_or(0.0))
                        .sum::<f64>()
                        / n_seeds;
                    (m.name().to_string(), w)
                })
                .filter(|(_, w)| *w > 0.0)
                .collect();
            best = best_of(&models);
            confusion_proba = split
                .first_proba
                .iter()
                .find(|(n, _)| *n == best)
                .map(|(_, p)| p.clone())
                .unwrap_or_else(|| Array2::zeros((0, 0)));
            confusion_rows = split.first_test.clone();
            confusion_source = format!(
                "the {} test rows of the seed-{} split",
                split.first_test.len(),
                split.seeds[0]
            );
            first_fitted = split.first_fitted;
            first_test = split.first_test;
        }
    }
    for model in &mut models {
        if model.name == BLEND {
            model.settings = plan
                .iter()
                .map(|(n, w)| format!("{n} × {w:.2}"))
                .collect::<Vec<_>>()
                .join(" + ");
        }
    }
    let best_classic = models
        .iter()
        .filter(|m| {
            experiment
                .models
                .iter()
                .any(|model| model.name() == m.name && !model.is_network())
        })
        .max_by(|a, b| {
            a.protocol
                .mean
                .accuracy
                .total_cmp(&b.protocol.mean.accuracy)
        })
        .map(|m| m.name.clone())
        .unwrap_or_default();
    let truth: Vec<usize> = confusion_rows.iter().map(|&r| labels[r]).collect();
    let predicted = argmax_rows(confusion_proba.view());
    let confusion = confusion_counts(&truth, &predicted, problem.n_classes())?;

    // Permutation importance of the best model on held-out rows.
    let repeats = if experiment.quick { 1 } else { 5 };
    let (importance, importance_source) = {
        let (fitted, test_rows): (Fitted, Vec<usize>) =
            match first_fitted.into_iter().find(|(n, _)| *n == best) {
                Some((_, fitted)) => (fitted, first_test),
                None => {
                    let split = stratified_train_test_split(&labels, TEST_FRACTION, seed)?;
                    (
                        fit_named(experiment, &best, &plan, &split.train)?,
                        split.test,
                    )
                }
            };
        let x_test = problem.x.select(Axis(0), &test_rows);
        let y_test: Vec<usize> = test_rows.iter().map(|&r| labels[r]).collect();
        let importance = permutation_importance_accuracy(
            &fitted,
            &x_test,
            &y_test,
            &problem.feature_names,
            repeats,
            seed,
        )?;
        (
            importance,
            format!(
                "{best} fitted on the 80% training part of the seed-{seed} stratified split, each column shuffled {repeats}× on its {} test rows",
                test_rows.len()
            ),
        )
    };

    // The best model on every row, and the network's curves.
    let all: Vec<usize> = (0..labels.len()).collect();
    let final_model = if experiment.refit_best {
        Some(fit_named(experiment, &best, &plan, &all)?)
    } else {
        None
    };
    let has_network = |fitted: &Fitted| match fitted {
        Fitted::Network(_) => true,
        Fitted::Blend(members) => members.iter().any(|(_, m)| matches!(m, Fitted::Network(_))),
        Fitted::Classic(_) => false,
    };
    let network_model = match &final_model {
        Some(fitted) if has_network(fitted) => None,
        _ if experiment.models.iter().any(Model::is_network) => {
            Some(fit_named(experiment, "network", &plan, &all)?)
        }
        _ => None,
    };
    let network_ref: Option<&crate::classify::network::FittedNetwork> =
        match (&network_model, &final_model) {
            (Some(Fitted::Network(n)), _) => Some(n),
            (None, Some(Fitted::Network(n))) => Some(n),
            (None, Some(Fitted::Blend(members))) => members.iter().find_map(|(_, m)| match m {
                Fitted::Network(n) => Some(n),
                _ => None,
            }),
            _ => None,
        };
    let network = match network_ref {
        Some(net) => {
            let held = holdout(labels.len(), VALIDATION_FRACTION, seed);
            let score = |rows: &[usize]| -> Result<f64, EvalError> {
                let p = net
                    .predict_proba(&problem.x.select(Axis(0), rows))
                    .map_err(model_error("network"))?;
                let truth: Vec<usize> = rows.iter().map(|&r| labels[r]).collect();
                accuracy(&truth, &argmax_rows(p.view()))
            };
            let history = net.with_model(|m| m.history().to_vec());
            let best_epoch = net.with_model(|m| m.best_epoch());
            let spec = experiment
                .models
                .iter()
                .find_map(|m| match m.reseeded(seed) {
                    Model::Network(n) => Some(n),
                    _ => None,
                })
                .ok_or_else(|| EvalError::Invalid("no network in the line-up".into()))?;
            let fit_labels: Vec<usize> = held.train.iter().map(|&r| labels[r]).collect();
            let (train_accuracy_curve, replay_exact) = replay_train_accuracy(
                &spec,
                &problem.x.select(Axis(0), &held.train),
                &fit_labels,
                &history,
                best_epoch,
                experiment.quick,
            )?;
            NetworkCurves {
                history,
                best_epoch,
                train_accuracy: score(&held.train)?,
                validation_accuracy: score(&held.validation)?,
                train_accuracy_curve,
                replay_exact,
            }
        }
        None => NetworkCurves::default(),
    };
    let blend = if plan.is_empty() {
        "no blend".to_string()
    } else {
        plan.iter()
            .map(|(n, w)| format!("{n} × {w:.2}"))
            .collect::<Vec<_>>()
            .join(" + ")
    };
    let outcome = ExperimentOutcome {
        name: problem.name.clone(),
        title: problem.title.clone(),
        classes: problem.classes.clone(),
        class_counts: problem.class_counts(),
        feature_names: problem.feature_names.clone(),
        protocol,
        best_classic,
        blend,
        majority_baseline: problem.majority_baseline(),
        published: experiment.published,
        target: experiment.target,
        confusion,
        confusion_source,
        importance,
        importance_source,
        network,
        notes: experiment.notes.clone(),
        seconds: start.elapsed().as_secs_f64(),
        final_model,
        best,
        models,
    };
    log(
        "classify",
        format!(
            "{}: best {} accuracy {:.4} ({:.0} s)",
            outcome.name,
            outcome.best,
            outcome
                .best_summary()
                .map_or(f64::NAN, |m| m.protocol.mean.accuracy),
            outcome.seconds
        ),
    );
    Ok(outcome)
}

/// The model with the highest protocol accuracy (ties: the first listed).
fn best_of(models: &[ModelSummary]) -> String {
    models
        .iter()
        .fold(None::<&ModelSummary>, |best, m| match best {
            Some(b) if b.protocol.mean.accuracy >= m.protocol.mean.accuracy => Some(b),
            _ => Some(m),
        })
        .map(|m| m.name.clone())
        .unwrap_or_default()
}
