//! The protocols every classification experiment runs: k-fold cross-validation, and stratified
//! 80/20 splits over several seeds with 20% of the training part held out for early stopping;
//! the model line-up (boosted trees, random forest, logistic regression, k-NN, network) and
//! their blend.

use std::time::Instant;

use classic_models::{
    BoostingClassifierParams, FittedClassifier, ForestClassifierParams, KnnClassifierParams,
    LogisticParams, Scaled,
};
use dataset::split::{stratified_k_fold, stratified_train_test_split};
use evaluation::classification::{
    blend_proba, class_scores, combine_proba, cross_validate_classifier, holdout,
    select_proba_weights, ClassCvOutcome, ClassScores, PredictProba,
};
use evaluation::{EvalError, Fold};
use linfa::traits::Fit;
use linfa::DatasetBase;
use ndarray::{Array1, Array2, Axis};
use rayon::prelude::*;

use crate::classify::network::{FittedNetwork, Network};
use crate::log::log;

/// The share of the data in the test part of a split, and of the training part held out.
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

/// One classification problem: a matrix, labels `0..classes.len()` and names.
#[derive(Clone, Debug)]
pub struct Problem {
    /// The experiment's key in `metrics.json`, e.g. `genre5`.
    pub name: String,
    /// A title for reports, e.g. `5 genres`.
    pub title: String,
    /// Class names, indexed by label.
    pub classes: Vec<String>,
    /// Column names.
    pub feature_names: Vec<String>,
    /// Track id of each row.
    pub ids: Vec<String>,
    /// Features, one row per track.
    pub x: Array2<f64>,
    /// Labels.
    pub y: Array1<usize>,
}

impl Problem {
    /// Number of classes.
    pub fn n_classes(&self) -> usize {
        self.classes.len()
    }

    /// Rows per class.
    pub fn class_counts(&self) -> Vec<usize> {
        let mut counts = vec![0; self.n_classes()];
        for &label in &self.y {
            counts[label] += 1;
        }
        counts
    }

    /// Accuracy of always predicting the most frequent class.
    pub fn majority_baseline(&self) -> f64 {
        let counts = self.class_counts();
        counts.iter().copied().max().unwrap_or(0) as f64 / self.y.len().max(1) as f64
    }

    /// A copy keeping only the given rows.
    pub fn subset(&self, rows: &[usize]) -> Problem {
        Problem {
            ids: rows.iter().map(|&r| self.ids[r].clone()).collect(),
            x: self.x.select(Axis(0), rows),
            y: self.y.select(Axis(0), rows),
            ..self.clone()
        }
    }
}

/// One learner of the line-up.
#[derive(Clone, Debug)]
pub enum Model {
    /// Gradient-boosted trees (softmax), early stopping on 20% of the training rows.
    Boosting(BoostingClassifierParams),
    /// Random forest.
    Forest(ForestClassifierParams),
    /// Multinomial logistic regression on standardised inputs.
    Logistic(LogisticParams),
    /// k-NN on standardised inputs.
    Knn(KnnClassifierParams),
    /// A multilayer perceptron, early stopping on 20% of the training rows.
    Network(Network),
}

/// The name of the blend in reports and `metrics.json`.
pub const BLEND: &str = "blend";

impl Model {
    /// The model's name in reports and `metrics.json`.
    pub fn name(&self) -> &'static str {
        match self {
            Model::Boosting(_) => "boosting",
            Model::Forest(_) => "random_forest",
            Model::Logistic(_) => "logistic",
            Model::Knn(_) => "knn",
            Model::Network(_) => "network",
        }
    }

    /// Whether it is the network.
    pub fn is_network(&self) -> bool {
        matches!(self, Model::Network(_))
    }

    /// The same learner with its seeds set to `seed`.
    pub fn reseeded(&self, seed: u64) -> Model {
        match self {
            Model::Boosting(p) => Model::Boosting(p.clone().seed(seed)),
            Model::Forest(p) => Model::Forest(p.clone().seed(seed)),
            Model::Network(n) => Model::Network(n.clone().with(|p| p.seed(seed))),
            other => other.clone(),
        }
    }

    /// A one-line description of its settings.
    pub fn describe(&self) -> String {
        match self {
            Model::Boosting(p) => format!("{p:?}"),
            Model::Forest(p) => format!("{p:?}"),
            Model::Logistic(p) => format!("{p:?}"),
            Model::Knn(p) => format!("{p:?}"),
            Model::Network(n) => {
                let training = n.params.training_params();
                format!(
                    "hidden {:?}, {:?}, dropout {}, {:?}, lr {}, batch {}, ≤{} epochs, patience {}",
                    n.params.architecture().hidden,
                    n.params.architecture().activation,
                    n.params.architecture().dropout,
                    training.optimiser,
                    training.learning_rate,
                    training.batch_size,
                    training.max_epochs,
                    training.patience
                )
            }
        }
        .replace(['\n', '|'], " ")
        .replace(", seed: 0", "")
    }

    /// Cross-validates on `folds`.
    pub fn cross_validate(
        &self,
        problem: &Problem,
        folds: &[Fold],
    ) -> Result<ClassCvOutcome, EvalError> {
        let (x, y, k) = (&problem.x, &problem.y, problem.n_classes());
        match self {
            Model::Boosting(p) => cross_validate_classifier(p, x, y, k, folds),
            Model::Forest(p) => cross_validate_classifier(p, x, y, k, folds),
            Model::Logistic(p) => {
                cross_validate_classifier(&Scaled::new(p.clone()), x, y, k, folds)
            }
            Model::Knn(p) => cross_validate_classifier(&Scaled::new(p.clone()), x, y, k, folds),
            Model::Network(n) => cross_validate_classifier(n, x, y, k, folds),
        }
    }

    /// Fits on a matrix and labels.
    pub fn fit(&self, x: Array2<f64>, y: Array1<usize>) -> Result<Fitted, String> {
        let data = DatasetBase::new(x, y);
        let text = |e: &dyn std::fmt::Display| e.to_string();
        Ok(match self {
            Model::Boosting(p) => Fitted::Classic(FittedClassifier::Boosting(
                p.fit(&data).map_err(|e| text(&e))?,
            )),
            Model::Forest(p) => Fitted::Classic(FittedClassifier::Forest(
                p.fit(&data).map_err(|e| text(&e))?,
            )),
            Model::Logistic(p) => Fitted::Classic(FittedClassifier::Logistic(
                Scaled::new(p.clone()).fit(&data).map_err(|e| text(&e))?,
            )),
            Model::Knn(p) => Fitted::Classic(FittedClassifier::Knn(
                Scaled::new(p.clone()).fit(&data).map_err(|e| text(&e))?,
            )),
            Model::Network(n) => Fitted::Network(n.fit(&data).map_err(|e| text(&e))?),
        })
    }
}

/// A fitted learner of the line-up, or a weighted blend of them.
#[derive(Debug)]
pub enum Fitted {
    /// A classic classifier.
    Classic(FittedClassifier),
    /// A network.
    Network(FittedNetwork),
    /// A weighted mean of members' probabilities (weights sum to one).
    Blend(Vec<(f64, Fitted)>),
}

impl PredictProba for Fitted {
    fn n_classes(&self) -> usize {
        match self {
            Fitted::Classic(m) => m.n_classes(),
            Fitted::Network(m) => m.n_classes(),
            Fitted::Blend(members) => members.first().map_or(0, |(_, m)| m.n_classes()),
        }
    }

    fn predict_proba(&self, x: &Array2<f64>) -> Result<Array2<f64>, evaluation::ProbaError> {
        match self {
            Fitted::Classic(m) => m.predict_proba(x),
            Fitted::Network(m) => m.predict_proba(x),
            Fitted::Blend(members) => {
                let mut total = Array2::zeros((x.nrows(), self.n_classes()));
                for (weight, member) in members {
                    if *weight > 0.0 {
                        total.scaled_add(*weight, &member.predict_proba(x)?);
                    }
                }
                Ok(total)
            }
        }
    }
}

/// Whether a model may join the blend: every model when `pool` is empty.
pub fn in_pool(pool: &[&str], name: &str) -> bool {
    pool.is_empty() || pool.contains(&name)
}

/// Sizes the line-up to the data.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scale {
    /// Hundreds to a few thousand rows (moods, genres).
    Small,
    /// Tens of thousands of rows (popularity, hits).
    Large,
}

/// The line-up: four classic learners and a network, with settings for the data's size; token
/// settings when `quick`.
pub fn lineup(n_classes: usize, scale: Scale, quick: bool) -> Vec<Model> {
    let k = n_classes;
    if quick {
        return vec![
            Model::Boosting(
                BoostingClassifierParams::new()
                    .n_classes(k)
                    .n_rounds(30)
                    .learning_rate(0.2),
            ),
            Model::Forest(ForestClassifierParams::new().n_classes(k).n_trees(20)),
            Model::Logistic(LogisticParams::new().n_classes(k).iterations(100)),
            Model::Knn(KnnClassifierParams::new().n_classes(k)),
            Model::Network(
                Network::new(vec![16], 0.0, k, 0).with(|p| p.max_epochs(3).batch_size(256)),
            ),
        ];
    }
    match scale {
        Scale::Small => vec![
            Model::Boosting(
                BoostingClassifierParams::new()
                    .n_classes(k)
                    .n_rounds(3000)
                    .learning_rate(0.02)
                    .max_leaves(8)
                    .min_leaf_rows(5)
                    .row_fraction(0.8)
                    .feature_fraction(0.7)
                    .l2_regularisation(1.0)
                    .early_stopping_rounds(150)
                    .refit(true),
            ),
            Model::Forest(
                ForestClassifierParams::new()
                    .n_classes(k)
                    .n_trees(500)
                    .features_per_split(Some(2)),
            ),
            Model::Logistic(LogisticParams::new().n_classes(k).l2(1e-3)),
            Model::Knn(KnnClassifierParams::new().n_classes(k).k(15)),
            Model::Network(Network::new(vec![128, 64], 0.2, k, 0)),
        ],
        Scale::Large => vec![
            Model::Boosting(
                BoostingClassifierParams::new()
                    .n_classes(k)
                    .n_rounds(2000)
                    .learning_rate(0.05)
                    .max_leaves(31)
                    .min_leaf_rows(20)
                    .row_fraction(0.8)
                    .feature_fraction(0.8)
                    .early_stopping_rounds(50)
                    .refit(true),
            ),
            Model::Forest(
                ForestClassifierParams::new()
                    .n_classes(k)
                    .n_trees(100)
                    .min_leaf_rows(2),
            ),
            Model::Logistic(LogisticParams::new().n_classes(k).l2(1e-4)),
            Model::Knn(KnnClassifierParams::new().n_classes(k).k(31)),
            Model::Network(
                Network::new(vec![256, 128, 64], 0.1, k, 0)
                    .with(|p| p.batch_size(256).learning_rate(1e-3).patience(20)),
            ),
        ],
    }
}

/// Scores of one model under a protocol.
#[derive(Clone, Debug, serde::Serialize)]
pub struct ModelRun {
    /// Model name.
    pub name: String,
    /// Score of each fold or seed.
    pub parts: Vec<ClassScores>,
    /// Their mean.
    pub mean: ClassScores,
    /// Standard deviation of the accuracy over parts.
    pub accuracy_sd: f64,
}

impl ModelRun {
    fn new(name: &str, parts: Vec<ClassScores>) -> ModelRun {
        ModelRun {
            name: name.into(),
            mean: ClassScores::mean(&parts),
            accuracy_sd: ClassScores::accuracy_sd(&parts),
            parts,
        }
    }
}

/// The outcome of k-fold cross-validation of the line-up and the blend.
pub struct CvRun {
    /// Number of folds.
    pub k: usize,
    /// Every model, then the blend.
    pub runs: Vec<ModelRun>,
    /// Out-of-fold probabilities of every model and of the blend.
    pub oof: Vec<(String, Array2<f64>)>,
    /// The blend's members and their weights chosen on all out-of-fold rows.
    pub blend_members: Vec<(String, f64)>,
    /// Seconds.
    pub seconds: f64,
}

/// Stratified k-fold cross-validation of every model, then their blend, its weights chosen for
/// each fold on the other folds only.
pub fn run_cv(
    problem: &Problem,
    models: &[Model],
    k: usize,
    seed: u64,
    pool: &[&str],
) -> Result<CvRun, EvalError> {
    let start = Instant::now();
    let folds: Vec<Fold> = stratified_k_fold(problem.y.as_slice().unwrap_or(&[]), k, seed)?
        .into_iter()
        .map(|s| Fold {
            train: s.train,
            test: s.test,
        })
        .collect();
    let mut runs = Vec::new();
    let mut oof = Vec::new();
    for model in models {
        let outcome = model.reseeded(seed).cross_validate(problem, &folds)?;
        log(
            "classify",
            format!(
                "{} {}-fold CV {}: accuracy {:.4} ± {:.4} ({:.1} s)",
                problem.name,
                k,
                model.name(),
                outcome.mean.accuracy,
                outcome.accuracy_sd,
                outcome.seconds
            ),
        );
        runs.push(ModelRun::new(model.name(), outcome.folds.clone()));
        oof.push((model.name().to_string(), outcome.oof));
    }
    // The blend: greedy weights over every model's out-of-fold probabilities, chosen for each
    // fold on the other folds only.
    let pooled: Vec<&(String, Array2<f64>)> =
        oof.iter().filter(|(name, _)| in_pool(pool, name)).collect();
    let members: Vec<&Array2<f64>> = pooled.iter().map(|(_, p)| p).collect();
    let (weights, outcome) = blend_proba(&members, &problem.y, &folds)?;
    let blend_members: Vec<(String, f64)> = pooled
        .iter()
        .zip(&weights)
        .filter(|(_, w)| **w > 0.0)
        .map(|((name, _), w)| (name.clone(), *w))
        .collect();
    log(
        "classify",
        format!(
            "{} {}-fold CV blend {:?}: accuracy {:.4}",
            problem.name, k, blend_members, outcome.mean.accuracy
        ),
    );
    runs.push(ModelRun::new(BLEND, outcome.folds.clone()));
    oof.push((BLEND.to_string(), outcome.oof));
    Ok(CvRun {
        k,
        runs,
        oof,
        blend_members,
        seconds: start.elapsed().as_secs_f64(),
    })
}

/// The outcome of the split protocol over several seeds.
pub struct SplitRun {
    /// The seeds, 12345 first.
    pub seeds: Vec<u64>,
    /// Every model, then the blend: one score per seed.
    pub runs: Vec<ModelRun>,
    /// Test rows of the first seed.
    pub first_test: Vec<usize>,
    /// Test probabilities of every model and the blend on the first seed.
    pub first_proba: Vec<(String, Array2<f64>)>,
    /// The models fitted on the first seed's training part (the blend included).
    pub first_fitted: Vec<(String, Fitted)>,
    /// The blend's weight of each pooled model (line-up order), per seed.
    pub blend_weights: Vec<Vec<f64>>,
    /// Seconds.
    pub seconds: f64,
}

struct SeedFit {
    seed_index: usize,
    model: String,
    test_proba: Array2<f64>,
    validation_proba: Array2<f64>,
    fitted: Fitted,
}

/// The published split protocol for each seed: a stratified 80/20 split; every model is fitted
/// on the 80%, the boosted trees and the network holding out the same 20% of it (seeded) for
/// early stopping (the trees then refit on all of it for the number of rounds chosen). The
/// blend's weights minimise the log loss on that held-out part (every model but the network is
/// fitted once more without it, for honest held-out probabilities), and everything is scored on
/// the 20% test part.
pub fn run_split(
    problem: &Problem,
    models: &[Model],
    seeds: &[u64],
    pool: &[&str],
) -> Result<SplitRun, EvalError> {
    let start = Instant::now();
    let labels = problem.y.as_slice().unwrap_or(&[]).to_vec();
    let splits = seeds
        .iter()
        .map(|&seed| stratified_train_test_split(&labels, TEST_FRACTION, seed))
        .collect::<Result<Vec<_>, _>>()?;
    let tasks: Vec<(usize, &Model)> = (0..seeds.len())
        .flat_map(|s| models.iter().map(move |m| (s, m)))
        .collect();
    let fits: Vec<Result<SeedFit, EvalError>> = tasks
        .into_par_iter()
        .map(|(s, model)| {
            let split = &splits[s];
            let seed = seeds[s];
            let x_train = problem.x.select(Axis(0), &split.train);
            let y_train = problem.y.select(Axis(0), &split.train);
            let fitted = model
                .reseeded(seed)
                .fit(x_train.clone(), y_train.clone())
                .map_err(|message| {
                    EvalError::model(
                        format!("{} {} seed {seed}", problem.name, model.name()),
                        message,
                    )
                })?;
            let predict = |x: &Array2<f64>| {
                fitted.predict_proba(x).map_err(|error| {
                    EvalError::model(
                        format!("{} {} seed {seed}", problem.name, model.name()),
                        error,
                    )
                })
            };
            let test_proba = predict(&problem.x.select(Axis(0), &split.test))?;
            let held = holdout(split.train.len(), VALIDATION_FRACTION, seed);
            let x_held = x_train.select(Axis(0), &held.validation);
            let validation_proba = if !in_pool(pool, model.name()) {
                // Not a blend member: no held-out probabilities needed.
                Array2::zeros((0, problem.n_classes()))
            } else if model.is_network() {
                // The network stopped early on exactly these rows and never trained on them.
                predict(&x_held)?
            } else {
                // Fitted again without the held-out rows, so its probabilities there are honest.
                let y_train = problem.y.select(Axis(0), &split.train);
                let refit = model
                    .reseeded(seed)
                    .fit(
                        x_train.select(Axis(0), &held.train),
                        y_train.select(Axis(0), &held.train),
                    )
                    .map_err(|message| {
                        EvalError::model(
                            format!("{} {} seed {seed} (held out)", problem.name, model.name()),
                            message,
                        )
                    })?;
                refit.predict_proba(&x_held).map_err(|error| {
                    EvalError::model(
                        format!("{} {} seed {seed} (held out)", problem.name, model.name()),
                        error,
                    )
                })?
            };
            Ok(SeedFit {
                seed_index: s,
                model: model.name().to_string(),
                test_proba,
                validation_proba,
                fitted,
            })
        })
        .collect();
    let fits = fits.into_iter().collect::<Result<Vec<_>, _>>()?;
    let mut per_model: Vec<(String, Vec<ClassScores>)> = models
        .iter()
        .map(|m| (m.name().to_string(), Vec::new()))
        .collect();
    per_model.push((BLEND.to_string(), Vec::new()));
    let mut first_proba = Vec::new();
    let mut first_fitted = Vec::new();
    let mut blend_weights: Vec<Vec<f64>> = Vec::new();
    for (s, split) in splits.iter().enumerate() {
        let truth: Vec<usize> = split.test.iter().map(|&r| problem.y[r]).collect();
        for fit in fits.iter().filter(|f| f.seed_index == s) {
            let scores = class_scores(&truth, fit.test_proba.view())?;
            if let Some(entry) = per_model.iter_mut().find(|(n, _)| *n == fit.model) {
                entry.1.push(scores);
            }
            if s == 0 {
                first_proba.push((fit.model.clone(), fit.test_proba.clone()));
            }
        }
        // The blend, weighted on the held-out part of the training rows.
        let seed_fits: Vec<&SeedFit> = models
            .iter()
            .filter(|m| in_pool(pool, m.name()))
            .filter_map(|m| {
                fits.iter()
                    .find(|f| f.seed_index == s && f.model == m.name())
            })
            .collect();
        let held = holdout(split.train.len(), VALIDATION_FRACTION, seeds[s]);
        let held_y: Array1<usize> = held
            .validation
            .iter()
            .map(|&r| problem.y[split.train[r]])
            .collect();
        let rows: Vec<usize> = (0..held_y.len()).collect();
        let validation: Vec<&Array2<f64>> = seed_fits.iter().map(|f| &f.validation_proba).collect();
        let weights = select_proba_weights(&validation, &held_y, &rows)?;
        let tests: Vec<&Array2<f64>> = seed_fits.iter().map(|f| &f.test_proba).collect();
        let blended = combine_proba(&tests, &weights);
        let scores = class_scores(&truth, blended.view())?;
        if let Some(entry) = per_model.iter_mut().find(|(n, _)| n == BLEND) {
            entry.1.push(scores);
        }
        blend_weights.push(weights);
        if s == 0 {
            first_proba.push((BLEND.to_string(), blended));
        }
    }
    // Keep the first seed's fitted models (and their blend) for explanations.
    let first_weights = blend_weights.first().cloned().unwrap_or_default();
    let mut blend_parts = Vec::new();
    let pooled: Vec<&Model> = models.iter().filter(|m| in_pool(pool, m.name())).collect();
    for f in fits.into_iter().filter(|f| f.seed_index == 0) {
        let weight = pooled
            .iter()
            .position(|m| m.name() == f.model)
            .and_then(|i| first_weights.get(i))
            .copied()
            .unwrap_or(0.0);
        if weight > 0.0 {
            // Members move into the blend; explaining one of them alone then refits it.
            blend_parts.push((weight, f.model.clone()));
        }
        first_fitted.push((f.model, f.fitted));
    }
    // The blend of the first seed, assembled from the fitted models it weights.
    let mut blend_members = Vec::new();
    for (weight, name) in blend_parts {
        if let Some(i) = first_fitted.iter().position(|(n, _)| *n == name) {
            blend_members.push((weight, first_fitted.remove(i).1));
        }
    }
    first_fitted.push((BLEND.to_string(), Fitted::Blend(blend_members)));
    let runs: Vec<ModelRun> = per_model
        .into_iter()
        .filter(|(_, parts)| !parts.is_empty())
        .map(|(name, parts)| ModelRun::new(&name, parts))
        .collect();
    for run in &runs {
        log(
            "classify",
            format!(
                "{} split ×{} {}: accuracy {:.4} ± {:.4} (seed {}: {:.4})",
                problem.name,
                seeds.len(),
                run.name,
                run.mean.accuracy,
                run.accuracy_sd,
                seeds[0],
                run.parts[0].accuracy
            ),
        );
    }
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
