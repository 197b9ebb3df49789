//! *Train*: on one feature set, the search over networks, the seed ensemble of the best
//! configuration (the `nn` candidate), and the learning curves of the best network.

use evaluation::{describe, CvScores, ParamSet, Search, SearchSpace, Trial, Tunable, Value};
use linfa::traits::Fit;
use linfa::DatasetBase;
use ndarray::{Array1, Array2, Axis};
use neural_models::MlpRegressorParams;
use serde::{Deserialize, Serialize};

use super::Task2Config;
use crate::log::log;
use crate::valence::method::leaderboard;
use crate::valence::{
    Budget, Candidate, FeatureSetId, Model, OutDir, PipelineError, Scored, ValenceInputs,
};

/// The networks of one feature set.
#[derive(Clone, Debug)]
pub struct NetworkRun {
    /// The feature set.
    pub features: FeatureSetId,
    /// The best configuration of the search.
    pub params: ParamSet,
    /// The top candidates of the search: parameters and CV MAE.
    pub leaderboard: Vec<(String, f64)>,
    /// The scores of the single best network the search found.
    pub single: CvScores,
    /// The seeds of the ensemble's networks.
    pub seeds: Vec<u64>,
    /// The `nn` candidate: the best configuration averaged over the seeds.
    pub ensemble: Scored,
    /// What the learning curves of the best network show.
    pub overfitting: Overfitting,
}

/// What the learning curves of the best network show.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Overfitting {
    /// The feature set.
    pub feature_set: FeatureSetId,
    /// Epochs trained before early stopping.
    pub epochs: usize,
    /// The epoch whose weights were kept (1-based).
    pub best_epoch: usize,
    /// MAE on the rows it was trained on.
    pub train_mae: f64,
    /// MAE on its early-stopping validation split.
    pub validation_mae: f64,
    /// MAE on the held-out fold.
    pub test_mae: f64,
    /// Learning-curve image.
    pub plot: String,
}

/// The search over networks at this budget.
fn network_search(budget: Budget, seed: u64, progress: bool) -> Search {
    let space = MlpRegressorParams::search_space();
    let search = match budget {
        Budget::Full => Search::random("nn", space, 10, seed),
        Budget::Quick => Search::random("nn", space, 1, seed)
            .overriding("max_epochs", Value::Int(4))
            .overriding("width", Value::Int(32)),
    };
    search
        .overriding("seed", Value::Int(seed as i64))
        .progress(progress)
}

/// The seeds of the ensemble's networks: the run's seed (the searched network) and the next
/// ones, five for the full budget and two for the quick one.
fn ensemble_seeds(config: &Task2Config) -> Vec<u64> {
    let size = match config.run.budget {
        Budget::Full => 5,
        Budget::Quick => 2,
    };
    (0..size).map(|k| config.run.seed + k).collect()
}

/// Searches networks on one feature set, averages the best configuration over several seeds
/// and draws the best network's learning curves.
pub fn train(
    config: &Task2Config,
    features: FeatureSetId,
    inputs: &ValenceInputs,
    out: &OutDir,
) -> Result<NetworkRun, PipelineError> {
    let x = inputs.train_matrix(features)?;
    let search = network_search(config.run.budget, config.run.seed, config.run.progress);
    let result = search.run::<MlpRegressorParams, _>(&x, &inputs.y, &inputs.folds)?;
    let best = result.best();
    log(
        "task2",
        format!(
            "nn [{features}]: CV MAE {:.4} ± {:.4} ({} candidates, {:.0} s) {}",
            best.scores.mae,
            best.scores.mae_sd,
            result.trials.len() + result.failed.len(),
            result.seconds,
            describe(&best.params)
        ),
    );
    let ensemble = seed_ensemble(config, best, &x, inputs)?;
    log("task2", format!(
        "nn [{features}]: {} seeds of the best configuration averaged: CV MAE {:.4} ± {:.4} (one network: {:.4})",
        ensemble.seeds.len(),
        ensemble.scores.mae,
        ensemble.scores.mae_sd,
        best.scores.mae
    ));
    let overfitting = learning_curve(features, &x, &best.params, inputs, out)?;
    Ok(NetworkRun {
        features,
        params: best.params.clone(),
        leaderboard: leaderboard(&result),
        single: best.scores.clone(),
        seeds: ensemble.seeds,
        ensemble: Scored {
            candidate: Candidate::Single {
                model: Model::Network,
                features,
            },
            scores: ensemble.scores,
            oof: ensemble.oof,
        },
        overfitting,
    })
}

/// Out-of-fold predictions of the best configuration averaged over several seeds.
struct SeedEnsemble {
    seeds: Vec<u64>,
    scores: CvScores,
    oof: Array1<f64>,
}

/// Cross-validates the best configuration with the ensemble's other seeds (in parallel, with a
/// progress bar) and averages their out-of-fold predictions with the searched network's.
fn seed_ensemble(
    config: &Task2Config,
    best: &Trial,
    x: &Array2<f64>,
    inputs: &ValenceInputs,
) -> Result<SeedEnsemble, PipelineError> {
    let seeds = ensemble_seeds(config);
    let mut sum = best.oof.clone();
    if seeds.len() > 1 {
        let space = SearchSpace::new().choice(
            "seed",
            seeds[1..].iter().map(|&seed| Value::Int(seed as i64)),
        );
        let mut search = Search::grid("nn seeds", space, 1).progress(config.run.progress);
        for (name, value) in best.params.iter().filter(|(name, _)| *name != "seed") {
            search = search.overriding(name, value.clone());
        }
        let result = search.run::<MlpRegressorParams, _>(x, &inputs.y, &inputs.folds)?;
        if let Some((params, message)) = result.failed.first() {
            return Err(PipelineError::Inconsistent(format!(
                "a network of the seed ensemble failed ({}): {message}",
                describe(params)
            )));
        }
        for trial in &result.trials {
            sum += &trial.oof;
        }
    }
    let oof = sum / seeds.len() as f64;
    Ok(SeedEnsemble {
        scores: CvScores::of_predictions(&inputs.y, &oof, &inputs.folds)?,
        seeds,
        oof,
    })
}

/// The loss a network was trained with, for the learning curves' axis.
fn loss_name(params: &ParamSet) -> String {
    match params.get("loss") {
        Some(Value::Text(loss)) => loss.clone(),
        _ => "l1".into(),
    }
}

/// Trains the best configuration on fold 0's training rows and plots its loss per epoch as
/// `learning_curve_<feature set>.png`.
fn learning_curve(
    features: FeatureSetId,
    x: &Array2<f64>,
    params: &ParamSet,
    inputs: &ValenceInputs,
    out: &OutDir,
) -> Result<Overfitting, PipelineError> {
    let fold = &inputs.folds[0];
    let train_x = x.select(Axis(0), &fold.train);
    let train_y = inputs.y.select(Axis(0), &fold.train);
    let network = MlpRegressorParams::from_params(params)?
        .fit(&DatasetBase::new(train_x.clone(), train_y.clone()))?;
    let test_x = x.select(Axis(0), &fold.test);
    let test_y = inputs.y.select(Axis(0), &fold.test);
    let history = network.history();
    let train_loss: Vec<f64> = history.iter().map(|r| r.train_loss).collect();
    let validation_loss: Vec<f64> = history.iter().filter_map(|r| r.validation_loss).collect();
    let plot = format!("learning_curve_{}.png", features.slug());
    evaluation::plot::learning_curves(
        &out.file(&plot),
        &format!("Best network [{features}]: loss per epoch (fold 1)"),
        &format!("{} loss", loss_name(params)),
        &[
            ("training (dropout on)", &train_loss),
            ("validation", &validation_loss),
        ],
    )?;
    let best_epoch = network.best_epoch();
    let train_predicted = network.try_predict(train_x.view())?;
    let test_predicted = network.try_predict(test_x.view())?;
    Ok(Overfitting {
        feature_set: features,
        epochs: history.len(),
        best_epoch: best_epoch + 1,
        train_mae: evaluation::mae(train_y.view(), train_predicted.view())?,
        validation_mae: history
            .get(best_epoch)
            .and_then(|r| r.validation_mae)
            .unwrap_or(f64::NAN),
        test_mae: evaluation::mae(test_y.view(), test_predicted.view())?,
        plot,
    })
}
