//! The protocols every classification experiment runs on its line-up: stratified k-fold
//! cross-validation with a cross-fitted blend, and stratified 80/20 splits over several seeds
//! with 20% of the training part held out for early stopping and the blend's weights.

use std::time::Instant;

use dataset::split::{stratified_k_fold, stratified_train_test_split, TrainTest};
use evaluation::classification::{
    blend_proba, class_scores, combine_proba, holdout, select_proba_weights, ClassCvOutcome,
    ClassScores,
};
use evaluation::{EvalError, Fold};
use ndarray::{Array1, Array2, Axis};
use rayon::prelude::*;

use crate::classify::error::{probabilities, ClassifyError, LearnerError};
use crate::classify::identity::{Candidate, Learner, ModelFamily};
use crate::classify::lineup::{BlendPool, Fitted, Model};
use crate::classify::problem::Problem;
use crate::classify::report::ModelRun;
use crate::log::log;

/// The share of the data in the test part of a split.
pub const TEST_FRACTION: f64 = 0.2;
/// The share of the training part held out for early stopping and blend weights.
pub const VALIDATION_FRACTION: f64 = 0.2;
/// The seed of the published split protocol.
pub const PUBLISHED_SEED: u64 = 12345;

/// The seeds of the split protocol: 12345 first, then four more.
pub fn split_seeds(quick: bool) -> Vec<u64> {
    if quick {
        vec![PUBLISHED_SEED]
    } else {
        vec![PUBLISHED_SEED, 1, 2, 3, 4]
    }
}

/// Blend weights: each pooled learner (line-up order) and its weight; they sum to one.
pub type BlendWeights = Vec<(Learner, f64)>;

/// The outcome of k-fold cross-validation of the line-up and the blend.
pub struct CvRun {
    /// Number of folds.
    pub k: usize,
    /// Every learner, then the blend.
    pub runs: Vec<ModelRun>,
    /// Out-of-fold probabilities of every learner and of the blend.
    pub oof: Vec<(Candidate, Array2<f64>)>,
    /// The folds.
    pub folds: Vec<Fold>,
    /// The blend's members (weight above zero) and their weights chosen on all out-of-fold
    /// rows.
    pub blend_members: BlendWeights,
    /// Seconds.
    pub seconds: f64,
}

/// A blend of out-of-fold probabilities, its weights for fold k chosen on the other folds.
pub struct OutOfFoldBlend {
    /// The members (weight above zero) and their weights chosen on all rows.
    pub members: BlendWeights,
    /// The cross-fitted blend's scores and out-of-fold probabilities.
    pub outcome: ClassCvOutcome,
}

/// Blends the out-of-fold probabilities of the learners `pool` admits: greedy weights chosen
/// for each fold on the other folds' rows only, and weights on all rows for a final model.
pub fn blend_out_of_fold(
    oof: &[(Learner, Array2<f64>)],
    y: &Array1<usize>,
    folds: &[Fold],
    pool: &BlendPool,
) -> Result<OutOfFoldBlend, EvalError> {
    let pooled: Vec<&(Learner, Array2<f64>)> = oof
        .iter()
        .filter(|(learner, _)| pool.admits(*learner))
        .collect();
    let members: Vec<&Array2<f64>> = pooled.iter().map(|(_, p)| p).collect();
    let (weights, outcome) = blend_proba(&members, y, folds)?;
    let members = pooled
        .iter()
        .zip(&weights)
        .filter(|(_, w)| **w > 0.0)
        .map(|((learner, _), w)| (*learner, *w))
        .collect();
    Ok(OutOfFoldBlend { members, outcome })
}

/// The stratified folds of a problem.
fn stratified_folds(problem: &Problem, k: usize, seed: u64) -> Result<Vec<Fold>, ClassifyError> {
    Ok(stratified_k_fold(&problem.labels(), k, seed)?
        .into_iter()
        .map(|s| Fold {
            train: s.train,
            test: s.test,
        })
        .collect())
}

/// Stratified k-fold cross-validation of every learner, then their blend, its weights chosen
/// for each fold on the other folds only.
pub fn run_cv(
    problem: &Problem,
    models: &[Model],
    k: usize,
    seed: u64,
    pool: &BlendPool,
) -> Result<CvRun, ClassifyError> {
    let start = Instant::now();
    let folds = stratified_folds(problem, k, seed)?;
    let mut runs = Vec::new();
    let mut oof = Vec::new();
    for model in models {
        let outcome = model.reseeded(seed).cross_validate(problem, &folds)?;
        log(
            "classify",
            format!(
                "{} {}-fold CV {}: accuracy {:.4} ± {:.4} ({:.1} s)",
                problem.id,
                k,
                model.learner(),
                outcome.mean.accuracy,
                outcome.accuracy_sd,
                outcome.seconds
            ),
        );
        runs.push(ModelRun::new(model.learner().into(), outcome.folds));
        oof.push((model.learner(), outcome.oof));
    }
    let blend = blend_out_of_fold(&oof, &problem.y, &folds, pool)?;
    let members: Vec<(String, f64)> = blend
        .members
        .iter()
        .map(|(learner, w)| (learner.to_string(), *w))
        .collect();
    log(
        "classify",
        format!(
            "{} {}-fold CV blend {:?}: accuracy {:.4}",
            problem.id, k, members, blend.outcome.mean.accuracy
        ),
    );
    runs.push(ModelRun::new(Candidate::Blend, blend.outcome.folds));
    let mut oof: Vec<(Candidate, Array2<f64>)> = oof
        .into_iter()
        .map(|(learner, p)| (learner.into(), p))
        .collect();
    oof.push((Candidate::Blend, blend.outcome.oof));
    Ok(CvRun {
        k,
        runs,
        oof,
        folds,
        blend_members: blend.members,
        seconds: start.elapsed().as_secs_f64(),
    })
}

/// The outcome of the split protocol over several seeds.
pub struct SplitRun {
    /// The seeds, 12345 first.
    pub seeds: Vec<u64>,
    /// Every learner, then the blend: one score per seed.
    pub runs: Vec<ModelRun>,
    /// Test rows of the first seed.
    pub first_test: Vec<usize>,
    /// Test probabilities of every learner and the blend on the first seed.
    pub first_proba: Vec<(Candidate, Array2<f64>)>,
    /// The models fitted on the first seed's training part: the blend, and every learner that
    /// is not one of its members (those moved into it).
    pub first_fitted: Vec<(Candidate, Fitted)>,
    /// The blend's weights, per seed.
    pub blend_weights: Vec<BlendWeights>,
    /// Seconds.
    pub seconds: f64,
}

/// One learner fitted on one seed's training part.
struct SeedFit {
    seed_index: usize,
    learner: Learner,
    test_proba: Array2<f64>,
    /// Probabilities of the held-out part of the training rows (blend members only).
    validation_proba: Option<Array2<f64>>,
    fitted: Fitted,
}

/// Probabilities of the 20% of the training rows held out, from a model that never trained on
/// them: the network stopped early on exactly these rows; any other learner is fitted again
/// without them.
fn held_out_proba(
    model: &Model,
    fitted: &Fitted,
    x_train: &Array2<f64>,
    y_train: &Array1<usize>,
    seed: u64,
) -> Result<Array2<f64>, LearnerError> {
    let held = holdout(x_train.nrows(), VALIDATION_FRACTION, seed);
    let x_held = x_train.select(Axis(0), &held.validation);
    if model.learner().family() == ModelFamily::Network {
        return Ok(probabilities(fitted, &x_held)?);
    }
    let refit = model.reseeded(seed).fit(
        x_train.select(Axis(0), &held.train),
        y_train.select(Axis(0), &held.train),
    )?;
    Ok(probabilities(&refit, &x_held)?)
}

/// Fits a learner on a seed's training part: its test probabilities, and for a blend member
/// its held-out probabilities.
fn fit_seed(
    problem: &Problem,
    model: &Model,
    (seed_index, seed): (usize, u64),
    split: &TrainTest,
    pool: &BlendPool,
) -> Result<SeedFit, LearnerError> {
    let learner = model.learner();
    let x_train = problem.x.select(Axis(0), &split.train);
    let y_train = problem.y.select(Axis(0), &split.train);
    let fitted = model.reseeded(seed).fit(x_train.clone(), y_train.clone())?;
    let test_proba = probabilities(&fitted, &problem.x.select(Axis(0), &split.test))?;
    let validation_proba = if pool.admits(learner) {
        Some(held_out_proba(model, &fitted, &x_train, &y_train, seed)?)
    } else {
        None
    };
    Ok(SeedFit {
        seed_index,
        learner,
        test_proba,
        validation_proba,
        fitted,
    })
}

/// Fits every learner on every seed's training part, in parallel.
fn fit_seeds(
    problem: &Problem,
    models: &[Model],
    seeds: &[u64],
    splits: &[TrainTest],
    pool: &BlendPool,
) -> Result<Vec<SeedFit>, ClassifyError> {
    let tasks: Vec<(usize, &Model)> = (0..seeds.len())
        .flat_map(|s| models.iter().map(move |m| (s, m)))
        .collect();
    tasks
        .into_par_iter()
        .map(|(s, model)| {
            fit_seed(problem, model, (s, seeds[s]), &splits[s], pool).map_err(
                ClassifyError::in_learner(
                    problem.id,
                    model.learner().into(),
                    format!("seed {}", seeds[s]),
                ),
            )
        })
        // Every fit runs; the first failure in task order is the one reported.
        .collect::<Vec<_>>()
        .into_iter()
        .collect()
}

/// A blend weighted on held-out rows and applied to test rows: the weights minimise the log
/// loss of the members' `validation` probabilities against `held_y`; returns them and the
/// blended `tests`.
pub fn blend_on_held_out(
    validation: &[&Array2<f64>],
    held_y: &Array1<usize>,
    tests: &[&Array2<f64>],
) -> Result<(Vec<f64>, Array2<f64>), EvalError> {
    let rows: Vec<usize> = (0..held_y.len()).collect();
    let weights = select_proba_weights(validation, held_y, &rows)?;
    let blended = combine_proba(tests, &weights);
    Ok((weights, blended))
}

/// What one seed of the split protocol scored.
struct SeedScores {
    /// Every learner's test scores, then the blend's.
    scores: Vec<(Candidate, ClassScores)>,
    /// Every learner's test probabilities, then the blend's.
    proba: Vec<(Candidate, Array2<f64>)>,
    /// The blend's weights.
    weights: BlendWeights,
}

/// Scores a seed's fits on its test rows, and blends the pooled ones with weights chosen on
/// the held-out part of the training rows.
fn score_seed(
    problem: &Problem,
    split: &TrainTest,
    seed: u64,
    fits: &[&SeedFit],
) -> Result<SeedScores, ClassifyError> {
    let truth = problem.labels_of(&split.test);
    let mut scores = Vec::new();
    let mut proba = Vec::new();
    for fit in fits {
        scores.push((
            fit.learner.into(),
            class_scores(&truth, fit.test_proba.view())?,
        ));
        proba.push((fit.learner.into(), fit.test_proba.clone()));
    }
    let pooled: Vec<&SeedFit> = fits
        .iter()
        .copied()
        .filter(|f| f.validation_proba.is_some())
        .collect();
    let held = holdout(split.train.len(), VALIDATION_FRACTION, seed);
    let held_y: Array1<usize> = held
        .validation
        .iter()
        .map(|&r| problem.y[split.train[r]])
        .collect();
    let validation: Vec<&Array2<f64>> = pooled
        .iter()
        .map(|f| {
            f.validation_proba
                .as_ref()
                .expect("pooled fits have held-out probabilities")
        })
        .collect();
    let tests: Vec<&Array2<f64>> = pooled.iter().map(|f| &f.test_proba).collect();
    let (weights, blended) = blend_on_held_out(&validation, &held_y, &tests)?;
    scores.push((Candidate::Blend, class_scores(&truth, blended.view())?));
    proba.push((Candidate::Blend, blended));
    Ok(SeedScores {
        scores,
        proba,
        weights: pooled.iter().map(|f| f.learner).zip(weights).collect(),
    })
}

/// The first seed's fitted models: each learner that is not a member of the blend, and the
/// blend, which takes its members (a member explained alone is then refitted).
fn first_seed_models(fits: Vec<SeedFit>, weights: &BlendWeights) -> Vec<(Candidate, Fitted)> {
    let weight_of = |learner: Learner| {
        weights
            .iter()
            .find(|(l, _)| *l == learner)
            .map_or(0.0, |(_, w)| *w)
    };
    let mut models = Vec::new();
    let mut members = Vec::new();
    for fit in fits.into_iter().filter(|f| f.seed_index == 0) {
        let weight = weight_of(fit.learner);
        if weight > 0.0 {
            members.push((weight, fit.fitted));
        } else {
            models.push((fit.learner.into(), fit.fitted));
        }
    }
    models.push((Candidate::Blend, Fitted::Blend(members)));
    models
}

/// The published split protocol for each seed: a stratified 80/20 split; every learner is
/// fitted on the 80%, the boosted trees and the network holding out the same 20% of it
/// (seeded) for early stopping (the trees then refit on all of it for the number of rounds
/// chosen). The blend's weights minimise the log loss on that held-out part (every learner but
/// the network is fitted once more without it, for honest held-out probabilities), and
/// everything is scored on the 20% test part.
pub fn run_split(
    problem: &Problem,
    models: &[Model],
    seeds: &[u64],
    pool: &BlendPool,
) -> Result<SplitRun, ClassifyError> {
    let start = Instant::now();
    let labels = problem.labels();
    let splits = seeds
        .iter()
        .map(|&seed| stratified_train_test_split(&labels, TEST_FRACTION, seed))
        .collect::<Result<Vec<_>, _>>()?;
    let fits = fit_seeds(problem, models, seeds, &splits, pool)?;
    let mut parts: Vec<(Candidate, Vec<ClassScores>)> = models
        .iter()
        .map(|m| (m.learner().into(), Vec::new()))
        .chain([(Candidate::Blend, Vec::new())])
        .collect();
    let mut first_proba = Vec::new();
    let mut blend_weights = Vec::new();
    for (s, split) in splits.iter().enumerate() {
        let seed_fits: Vec<&SeedFit> = fits.iter().filter(|f| f.seed_index == s).collect();
        let seed = score_seed(problem, split, seeds[s], &seed_fits)?;
        for (candidate, scores) in seed.scores {
            if let Some((_, list)) = parts.iter_mut().find(|(c, _)| *c == candidate) {
                list.push(scores);
            }
        }
        if s == 0 {
            first_proba = seed.proba;
        }
        blend_weights.push(seed.weights);
    }
    let first_fitted = first_seed_models(fits, &blend_weights[0]);
    let runs: Vec<ModelRun> = parts
        .into_iter()
        .filter(|(_, parts)| !parts.is_empty())
        .map(|(name, parts)| ModelRun::new(name, parts))
        .collect();
    log_split(problem, seeds, &runs);
    Ok(SplitRun {
        seeds: seeds.to_vec(),
        runs,
        first_test: splits[0].test.clone(),
        first_proba,
        first_fitted,
        blend_weights,
        seconds: start.elapsed().as_secs_f64(),
    })
}

fn log_split(problem: &Problem, seeds: &[u64], runs: &[ModelRun]) {
    for run in runs {
        log(
            "classify",
            format!(
                "{} split ×{} {}: accuracy {:.4} ± {:.4} (seed {}: {:.4})",
                problem.id,
                seeds.len(),
                run.name,
                run.mean.accuracy,
                run.accuracy_sd,
                seeds[0],
                run.parts[0].accuracy
            ),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    /// Two members over four rows of two classes: `a` is right on rows 0 and 1 and wrong on
    /// rows 2 and 3; `b` the other way round.
    fn opposite_members() -> (Array2<f64>, Array2<f64>, Array1<usize>) {
        let y = array![0, 1, 0, 1];
        let a = array![[0.9, 0.1], [0.1, 0.9], [0.1, 0.9], [0.9, 0.1]];
        let b = array![[0.1, 0.9], [0.9, 0.1], [0.9, 0.1], [0.1, 0.9]];
        (a, b, y)
    }

    #[test]
    fn each_folds_blend_weights_are_chosen_on_the_other_folds_only() {
        let (a, b, y) = opposite_members();
        // Fold 0 tests rows 0 and 1, where `a` is right; the other fold says `b`, so an honest
        // blend answers fold 0 with `b` alone (and fold 1 with `a` alone).
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
        let oof = vec![
            (Learner::Boosting, a.clone()),
            (Learner::Network, b.clone()),
        ];
        let blend = blend_out_of_fold(&oof, &y, &folds, &BlendPool::All).unwrap();
        for row in [0, 1] {
            assert_eq!(blend.outcome.oof.row(row), b.row(row));
        }
        for row in [2, 3] {
            assert_eq!(blend.outcome.oof.row(row), a.row(row));
        }
        assert_eq!(blend.outcome.mean.accuracy, 0.0);
        // Chosen on all rows, the two members tie and share the weight.
        let weights: f64 = blend.members.iter().map(|(_, w)| w).sum();
        assert!((weights - 1.0).abs() < 1e-12, "{:?}", blend.members);
    }

    #[test]
    fn a_blend_uses_only_the_pooled_learners() {
        let (a, b, y) = opposite_members();
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
        let oof = vec![(Learner::Boosting, a.clone()), (Learner::Knn, b)];
        let pool = BlendPool::Only(vec![Learner::Boosting]);
        let blend = blend_out_of_fold(&oof, &y, &folds, &pool).unwrap();
        assert_eq!(blend.members, vec![(Learner::Boosting, 1.0)]);
        assert_eq!(blend.outcome.oof, a);
    }

    #[test]
    fn held_out_weights_favour_the_member_right_on_the_held_out_rows() {
        let (a, b, y) = opposite_members();
        // Held out: rows 0 and 1, where `a` is right; the test rows are blended with `a` alone.
        let held_a = a.select(Axis(0), &[0, 1]);
        let held_b = b.select(Axis(0), &[0, 1]);
        let held_y = y.select(Axis(0), &[0, 1]);
        let test_a = a.select(Axis(0), &[2, 3]);
        let test_b = b.select(Axis(0), &[2, 3]);
        let (weights, blended) =
            blend_on_held_out(&[&held_a, &held_b], &held_y, &[&test_a, &test_b]).unwrap();
        assert_eq!(weights, vec![1.0, 0.0]);
        assert_eq!(blended, test_a);
    }

    #[test]
    fn the_first_seeds_blend_takes_its_members_and_leaves_the_others() {
        let fit = |seed_index, learner| SeedFit {
            seed_index,
            learner,
            test_proba: Array2::zeros((0, 2)),
            validation_proba: None,
            fitted: Fitted::Blend(Vec::new()),
        };
        let fits = vec![
            fit(0, Learner::Boosting),
            fit(0, Learner::Knn),
            fit(0, Learner::Network),
            fit(1, Learner::Boosting),
        ];
        let weights = vec![
            (Learner::Boosting, 0.75),
            (Learner::Knn, 0.0),
            (Learner::Network, 0.25),
        ];
        let models = first_seed_models(fits, &weights);
        let names: Vec<Candidate> = models.iter().map(|(c, _)| *c).collect();
        assert_eq!(names, [Candidate::Single(Learner::Knn), Candidate::Blend]);
        match &models[1].1 {
            Fitted::Blend(members) => {
                let weights: Vec<f64> = members.iter().map(|(w, _)| *w).collect();
                assert_eq!(weights, [0.75, 0.25]);
            }
            other => panic!("expected the blend, got {other:?}"),
        }
    }

    #[test]
    fn quick_runs_use_only_the_published_seed() {
        assert_eq!(split_seeds(true), [PUBLISHED_SEED]);
        assert_eq!(split_seeds(false)[0], PUBLISHED_SEED);
        assert_eq!(split_seeds(false).len(), 5);
    }
}
