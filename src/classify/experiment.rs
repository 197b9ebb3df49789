//! One experiment from data to outcome, in stages: the protocol estimates every candidate
//! ([`estimate`]), the best one is chosen ([`choose`]), its confusion counts and permutation
//! importance are measured, it is refitted on every row for prediction, and the network's
//! learning curves are recorded; [`run`] strings them together into an [`ExperimentOutcome`].

use std::time::Instant;

use dataset::split::stratified_train_test_split;
use evaluation::classification::{argmax_rows, confusion_counts, permutation_importance_accuracy};
use evaluation::Importance;
use ndarray::{Array2, Axis};

use crate::classify::calibration::{calibrate, CrossValidated};
use crate::classify::curves::network_curves;
use crate::classify::engine::{
    run_cv, run_split, split_seeds, BlendWeights, CvRun, SplitRun, TEST_FRACTION,
    VALIDATION_FRACTION,
};
use crate::classify::error::ClassifyError;
use crate::classify::identity::{Candidate, Learner, ModelFamily};
use crate::classify::lineup::{model_of, BlendPool, Fitted, Model};
use crate::classify::problem::Problem;
use crate::classify::report::{ExperimentReport, ModelRun, ModelSummary, NetworkCurves};
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
    /// The learners the blend may use.
    pub blend_pool: BlendPool,
    /// Whether to refit the best candidate on every row for prediction (the popularity
    /// experiment trains its own saved model instead).
    pub refit_best: bool,
}

impl Experiment {
    /// The line-up's model of a learner.
    fn model(&self, learner: Learner) -> &Model {
        model_of(&self.models, learner).expect("every candidate comes from the line-up")
    }
}

/// Everything an experiment measured, and the model it refitted for prediction.
#[derive(Debug)]
pub struct ExperimentOutcome {
    /// What `details.json` and `metrics.json` report.
    pub report: ExperimentReport,
    /// The best candidate fitted on every row, for prediction.
    pub final_model: Option<Fitted>,
}

/// The probabilities a protocol scored, on which rows, and whence they come.
pub struct Evidence {
    /// Every candidate's probabilities of `rows`.
    pub probabilities: Vec<(Candidate, Array2<f64>)>,
    /// The rows they predict.
    pub rows: Vec<usize>,
    /// Where they come from, in words.
    pub source: String,
}

/// Models a protocol fitted without some rows, and those rows.
pub struct HeldOutModels {
    /// The fitted candidates.
    pub fitted: Vec<(Candidate, Fitted)>,
    /// The rows none of them was fitted on.
    pub test: Vec<usize>,
}

/// What a protocol estimated.
pub struct Estimate {
    /// The protocol, in words.
    pub protocol: String,
    /// Every candidate's scores.
    pub models: Vec<ModelSummary>,
    /// The blend's members and weights for a final fit.
    pub plan: BlendWeights,
    /// The probabilities behind the confusion counts.
    pub evidence: Evidence,
    /// Models fitted on a training part, reused for permutation importance.
    pub held_out: Option<HeldOutModels>,
    /// The out-of-fold probabilities of a cross-validation, when the protocol ran one.
    pub cross_validated: Option<CrossValidated>,
}

/// The blend's members and weights, in words: `boosting × 0.60 + network × 0.40`.
pub fn plan_words(plan: &BlendWeights) -> String {
    plan.iter()
        .map(|(learner, w)| format!("{learner} × {w:.2}"))
        .collect::<Vec<_>>()
        .join(" + ")
}

/// The summaries of a protocol's runs: each learner's settings, the blend's plan.
fn summaries(
    experiment: &Experiment,
    runs: &[ModelRun],
    plan: &BlendWeights,
    published_seed: bool,
) -> Vec<ModelSummary> {
    runs.iter()
        .map(|run| ModelSummary {
            name: run.name,
            settings: match run.name {
                Candidate::Single(learner) => experiment.model(learner).describe(),
                Candidate::Blend => plan_words(plan),
            },
            protocol: run.clone(),
            published_seed: if published_seed {
                run.parts.first().copied()
            } else {
                None
            },
            cv: None,
        })
        .collect()
}

/// Estimates by stratified k-fold cross-validation (3 folds when quick).
pub fn estimate_cv(experiment: &Experiment, k: usize) -> Result<Estimate, ClassifyError> {
    let (problem, seed) = (&experiment.problem, experiment.seed);
    let k = if experiment.quick { 3 } else { k };
    let cv = run_cv(problem, &experiment.models, k, seed, &experiment.blend_pool)?;
    let plan = cv.blend_members.clone();
    Ok(Estimate {
        protocol: format!(
            "stratified {k}-fold cross-validation (seed {seed}); the accuracy is the mean over folds"
        ),
        models: summaries(experiment, &cv.runs, &plan, false),
        plan,
        cross_validated: Some(CrossValidated {
            oof: cv.oof.clone(),
            folds: cv.folds.clone(),
        }),
        evidence: Evidence {
            probabilities: cv.oof,
            rows: (0..problem.y.len()).collect(),
            source: format!("out-of-fold predictions of all {} rows", problem.y.len()),
        },
        held_out: None,
    })
}

/// The final blend's weights: each pooled learner's mean weight over the seeds (learners with
/// no weight left out).
pub fn mean_weights(per_seed: &[BlendWeights]) -> BlendWeights {
    let n_seeds = per_seed.len().max(1) as f64;
    let learners: Vec<Learner> = per_seed
        .first()
        .map(|weights| weights.iter().map(|(l, _)| *l).collect())
        .unwrap_or_default();
    learners
        .into_iter()
        .map(|learner| {
            let w = per_seed
                .iter()
                .map(|weights| {
                    weights
                        .iter()
                        .find(|(l, _)| *l == learner)
                        .map_or(0.0, |(_, w)| *w)
                })
                .sum::<f64>()
                / n_seeds;
            (learner, w)
        })
        .filter(|(_, w)| *w > 0.0)
        .collect()
}

/// The split protocol's summaries, with the additional cross-validation beside them.
fn split_summaries(
    experiment: &Experiment,
    split: &SplitRun,
    cv: Option<&CvRun>,
    plan: &BlendWeights,
) -> Vec<ModelSummary> {
    let mut models = summaries(experiment, &split.runs, plan, true);
    if let Some(cv) = cv {
        for model in &mut models {
            model.cv = cv.runs.iter().find(|r| r.name == model.name).cloned();
        }
    }
    models
}

/// Estimates by stratified 80/20 splits over the seeds, with an additional `cv_k`-fold
/// cross-validation (at most 3 folds when quick; none below 2).
pub fn estimate_split(experiment: &Experiment, cv_k: usize) -> Result<Estimate, ClassifyError> {
    let (problem, seed) = (&experiment.problem, experiment.seed);
    let seeds = split_seeds(experiment.quick);
    let split = run_split(problem, &experiment.models, &seeds, &experiment.blend_pool)?;
    let protocol = format!(
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
    let plan = mean_weights(&split.blend_weights);
    let models = split_summaries(experiment, &split, cv.as_ref(), &plan);
    let source = format!(
        "the {} test rows of the seed-{} split",
        split.first_test.len(),
        split.seeds[0]
    );
    Ok(Estimate {
        protocol,
        models,
        plan,
        cross_validated: cv.map(|cv| CrossValidated {
            oof: cv.oof,
            folds: cv.folds,
        }),
        evidence: Evidence {
            probabilities: split.first_proba,
            rows: split.first_test.clone(),
            source,
        },
        held_out: Some(HeldOutModels {
            fitted: split.first_fitted,
            test: split.first_test,
        }),
    })
}

/// Runs the experiment's protocol.
pub fn estimate(experiment: &Experiment) -> Result<Estimate, ClassifyError> {
    match experiment.protocol {
        Protocol::Cv { k } => estimate_cv(experiment, k),
        Protocol::Split { cv_k } => estimate_split(experiment, cv_k),
    }
}

/// The best candidate and the best classic learner.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Choice {
    /// The candidate with the highest protocol accuracy (ties: the first listed).
    pub best: Candidate,
    /// The classic learner with the highest protocol accuracy (ties: the last listed).
    pub best_classic: Option<Learner>,
}

/// Chooses among the protocol's candidates.
///
/// # Panics
/// When `models` is empty: every protocol scores at least the blend.
pub fn choose(models: &[ModelSummary]) -> Choice {
    let accuracy = |m: &ModelSummary| m.protocol.mean.accuracy;
    let best = models
        .iter()
        .fold(None::<&ModelSummary>, |best, m| match best {
            Some(b) if accuracy(b) >= accuracy(m) => Some(b),
            _ => Some(m),
        })
        .expect("a protocol scores at least one candidate")
        .name;
    let best_classic = models
        .iter()
        .filter(|m| m.name.learner().map(Learner::family) == Some(ModelFamily::Classic))
        .max_by(|a, b| accuracy(a).total_cmp(&accuracy(b)))
        .and_then(|m| m.name.learner());
    Choice { best, best_classic }
}

/// Confusion counts of a candidate on the evidence's rows, `[true][predicted]`.
pub fn confusion(
    problem: &Problem,
    evidence: &Evidence,
    candidate: Candidate,
) -> Result<Vec<Vec<usize>>, ClassifyError> {
    let (_, proba) = evidence
        .probabilities
        .iter()
        .find(|(c, _)| *c == candidate)
        .expect("the protocol predicted every candidate it scored");
    let truth = problem.labels_of(&evidence.rows);
    let predicted = argmax_rows(proba.view());
    Ok(confusion_counts(&truth, &predicted, problem.n_classes())?)
}

/// Fits a candidate (a learner of the line-up, or the blend of the plan's members) on some
/// rows, with the experiment's seed.
pub fn fit_candidate(
    experiment: &Experiment,
    candidate: Candidate,
    plan: &BlendWeights,
    rows: &[usize],
) -> Result<Fitted, ClassifyError> {
    let problem = &experiment.problem;
    let x = problem.x.select(Axis(0), rows);
    let y = problem.y.select(Axis(0), rows);
    let fit = |learner: Learner| {
        experiment
            .model(learner)
            .reseeded(experiment.seed)
            .fit(x.clone(), y.clone())
            .map_err(ClassifyError::in_learner(
                problem.id,
                learner.into(),
                format!("fitted on {} rows", rows.len()),
            ))
    };
    match candidate {
        Candidate::Single(learner) => fit(learner),
        Candidate::Blend => Ok(Fitted::Blend(
            plan.iter()
                .map(|&(learner, weight)| Ok((weight, fit(learner)?)))
                .collect::<Result<_, ClassifyError>>()?,
        )),
    }
}

/// Permutation importance of the best candidate on rows it was not fitted on: the protocol's
/// own fit when it kept one, else a fit on the 80% training part of a stratified split.
pub fn importance(
    experiment: &Experiment,
    best: Candidate,
    plan: &BlendWeights,
    held_out: Option<HeldOutModels>,
) -> Result<(Vec<Importance>, String), ClassifyError> {
    let (problem, seed) = (&experiment.problem, experiment.seed);
    let repeats = if experiment.quick { 1 } else { 5 };
    let kept = held_out.and_then(|held| {
        let test = held.test;
        held.fitted
            .into_iter()
            .find(|(c, _)| *c == best)
            .map(|(_, fitted)| (fitted, test))
    });
    let (fitted, test) = match kept {
        Some(kept) => kept,
        None => {
            let split = stratified_train_test_split(&problem.labels(), TEST_FRACTION, seed)?;
            (
                fit_candidate(experiment, best, plan, &split.train)?,
                split.test,
            )
        }
    };
    let importance = permutation_importance_accuracy(
        &fitted,
        &problem.x.select(Axis(0), &test),
        &problem.labels_of(&test),
        &problem.feature_names,
        repeats,
        seed,
    )?;
    let source = format!(
        "{best} fitted on the 80% training part of the seed-{seed} stratified split, each column shuffled {repeats}× on its {} test rows",
        test.len()
    );
    Ok((importance, source))
}

/// The network's curves: from the final model's network when it has one, else from the
/// line-up's network fitted on every row; empty when the line-up has no network.
pub fn curves(
    experiment: &Experiment,
    final_model: Option<&Fitted>,
    plan: &BlendWeights,
) -> Result<NetworkCurves, ClassifyError> {
    let Some(Model::Network(spec)) = model_of(&experiment.models, Learner::Network) else {
        return Ok(NetworkCurves::default());
    };
    let all: Vec<usize> = (0..experiment.problem.y.len()).collect();
    let refitted = match final_model.and_then(Fitted::network) {
        Some(_) => None,
        None => Some(fit_candidate(
            experiment,
            Learner::Network.into(),
            plan,
            &all,
        )?),
    };
    let network = refitted
        .as_ref()
        .or(final_model)
        .and_then(Fitted::network)
        .expect("the final model or the refit holds a network");
    let spec = spec.clone().with(|p| p.seed(experiment.seed));
    network_curves(
        &experiment.problem,
        network,
        &spec,
        experiment.seed,
        experiment.quick,
    )
}

fn log_problem(problem: &Problem) {
    log(
        "classify",
        format!(
            "{}: {} rows, {} classes {:?}, {} features",
            problem.id,
            problem.y.len(),
            problem.n_classes(),
            problem.class_counts(),
            problem.feature_names.len()
        ),
    );
}

/// Runs the experiment: estimate → choose → confusion and importance → final fit → curves →
/// report.
pub fn run(experiment: &Experiment) -> Result<ExperimentOutcome, ClassifyError> {
    let start = Instant::now();
    let problem = &experiment.problem;
    log_problem(problem);
    let estimate = estimate(experiment)?;
    let choice = choose(&estimate.models);
    let confusion = confusion(problem, &estimate.evidence, choice.best)?;
    let (importance, importance_source) =
        importance(experiment, choice.best, &estimate.plan, estimate.held_out)?;
    let all: Vec<usize> = (0..problem.y.len()).collect();
    let final_model = if experiment.refit_best {
        Some(fit_candidate(
            experiment,
            choice.best,
            &estimate.plan,
            &all,
        )?)
    } else {
        None
    };
    let network = curves(experiment, final_model.as_ref(), &estimate.plan)?;
    let calibration = match &estimate.cross_validated {
        Some(cv) => calibrate(problem, &[choice.best, Candidate::Blend], cv)?,
        None => Vec::new(),
    };
    let report = ExperimentReport {
        name: problem.id,
        title: problem.title.clone(),
        classes: problem.classes.clone(),
        class_counts: problem.class_counts(),
        feature_names: problem.feature_names.clone(),
        protocol: estimate.protocol,
        models: estimate.models,
        best: choice.best,
        best_classic: choice.best_classic,
        blend: if estimate.plan.is_empty() {
            "no blend".to_string()
        } else {
            plan_words(&estimate.plan)
        },
        majority_baseline: problem.majority_baseline(),
        published: experiment.published,
        target: experiment.target,
        confusion,
        confusion_source: estimate.evidence.source,
        importance,
        importance_source,
        network,
        calibration,
        notes: experiment.notes.clone(),
        seconds: start.elapsed().as_secs_f64(),
    };
    log(
        "classify",
        format!(
            "{}: best {} accuracy {:.4} ({:.0} s)",
            report.name,
            report.best,
            report.best_summary().protocol.mean.accuracy,
            report.seconds
        ),
    );
    Ok(ExperimentOutcome {
        report,
        final_model,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use evaluation::classification::ClassScores;

    fn summary(name: Candidate, accuracy: f64) -> ModelSummary {
        let scores = ClassScores {
            accuracy,
            macro_f1: accuracy,
            roc_auc: accuracy,
            log_loss: 1.0,
        };
        ModelSummary {
            name,
            settings: String::new(),
            protocol: ModelRun::new(name, vec![scores]),
            published_seed: None,
            cv: None,
        }
    }

    #[test]
    fn the_best_candidate_is_the_most_accurate_and_the_first_on_ties() {
        let models = [
            summary(Learner::Boosting.into(), 0.8),
            summary(Learner::Knn.into(), 0.9),
            summary(Learner::Network.into(), 0.9),
            summary(Candidate::Blend, 0.85),
        ];
        assert_eq!(choose(&models).best, Candidate::Single(Learner::Knn));
    }

    #[test]
    fn the_best_classic_learner_ignores_the_network_and_the_blend() {
        let models = [
            summary(Learner::Boosting.into(), 0.7),
            summary(Learner::Logistic.into(), 0.8),
            summary(Learner::Knn.into(), 0.8),
            summary(Learner::Network.into(), 0.95),
            summary(Candidate::Blend, 0.99),
        ];
        let choice = choose(&models);
        assert_eq!(choice.best, Candidate::Blend);
        // Ties among classic learners go to the one listed last.
        assert_eq!(choice.best_classic, Some(Learner::Knn));
        let only_network = [summary(Learner::Network.into(), 0.9)];
        assert_eq!(choose(&only_network).best_classic, None);
    }

    #[test]
    fn the_final_blend_weighs_each_learner_by_its_mean_weight_over_seeds() {
        let per_seed = vec![
            vec![
                (Learner::Boosting, 1.0),
                (Learner::Knn, 0.0),
                (Learner::Network, 0.0),
            ],
            vec![
                (Learner::Boosting, 0.5),
                (Learner::Knn, 0.0),
                (Learner::Network, 0.5),
            ],
        ];
        assert_eq!(
            mean_weights(&per_seed),
            vec![(Learner::Boosting, 0.75), (Learner::Network, 0.25)]
        );
        assert_eq!(mean_weights(&[]), Vec::new());
    }

    #[test]
    fn the_plan_reads_as_weighted_members() {
        let plan = vec![(Learner::Boosting, 0.6), (Learner::Network, 0.4)];
        assert_eq!(plan_words(&plan), "boosting × 0.60 + network × 0.40");
    }

    #[test]
    fn confusion_counts_come_from_the_chosen_candidates_probabilities() {
        let problem = Problem {
            id: crate::classify::identity::ExperimentId::Moods,
            title: "t".into(),
            classes: vec!["a".into(), "b".into()],
            feature_names: vec!["x".into()],
            ids: vec!["1".into(), "2".into(), "3".into()],
            x: Array2::zeros((3, 1)),
            y: ndarray::array![0, 1, 1],
        };
        let evidence = Evidence {
            probabilities: vec![
                (Learner::Knn.into(), ndarray::array![[0.9, 0.1], [0.9, 0.1]]),
                (Candidate::Blend, ndarray::array![[0.9, 0.1], [0.1, 0.9]]),
            ],
            rows: vec![0, 2],
            source: String::new(),
        };
        let blend = confusion(&problem, &evidence, Candidate::Blend).unwrap();
        assert_eq!(blend, vec![vec![1, 0], vec![0, 1]]);
        let knn = confusion(&problem, &evidence, Learner::Knn.into()).unwrap();
        assert_eq!(knn, vec![vec![1, 0], vec![1, 0]]);
    }
}
