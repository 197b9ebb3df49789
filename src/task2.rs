//! Task 2: predict valence with neural networks, guarded against overfitting, and compare them
//! honestly with Task 1 on the same folds: alone, and blended with Task 1's models.

use std::path::PathBuf;
use std::time::Instant;

use classic_models::ModelFile;
use dataset::{FeatureSet, Track};
use evaluation::report::{write_json, write_predictions, Markdown};
use evaluation::{describe, CvScores, ParamSet, Search, Tunable, Value};
use linfa::traits::Fit;
use linfa::DatasetBase;
use ndarray::{Array1, Axis};
use neural_models::MlpRegressorParams;
use serde::Serialize;
use serde_json::json;

use crate::valence::RunConfig;

use crate::log::log;
use crate::valence::{
    apply_near_twins, blend_members, feature_sets, oof_key, plot_oof, prepare, slug, Budget,
    Grouping, NearTwins, OofTable, OutDir, PipelineError, TwinDistances,
};

/// What to run.
#[derive(Clone, Debug)]
pub struct Task2Config {
    /// The shared settings; seed, folds and grouping must match Task 1's run.
    pub run: RunConfig,
    /// Where Task 1 wrote its outputs (its `oof.csv` and model files are read from there).
    pub task1: PathBuf,
}

/// One row of the comparison: a model family on one feature set.
#[derive(Clone, Debug, Serialize)]
pub struct Candidate {
    /// `nn`, `task1:<model>`, `nn+boosting` or `nn+task1`.
    pub name: String,
    /// The feature set's name.
    pub feature_set: String,
    /// Cross-validated scores on the shared folds.
    pub scores: CvScores,
    /// Blend weights, for blends.
    pub weights: Vec<(String, f64)>,
    /// Whether a neural network contributes (a network alone, or a blend giving it weight).
    pub uses_network: bool,
    #[serde(skip)]
    oof: Array1<f64>,
}

/// The headline numbers of a run.
#[derive(Clone, Debug)]
pub struct Task2Summary {
    /// The winning candidate.
    pub best: Candidate,
    /// `with` or `without` neural networks.
    pub answer: &'static str,
    /// Wall-clock seconds.
    pub seconds: f64,
}

/// Near twins of the winner, the fallback and each feature set's best network.
struct TwinOutcome {
    best: NearTwins,
    fallback: NearTwins,
    networks: Vec<NearTwins>,
    from_twins: usize,
}

/// What the learning curves of the best network show.
#[derive(Clone, Debug, Serialize)]
pub struct Overfitting {
    /// The feature set's name.
    pub feature_set: String,
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

/// The best network of a feature set.
struct NetworkChoice {
    set: FeatureSet,
    params: ParamSet,
    /// The top candidates of the search: parameters and CV MAE.
    leaderboard: Vec<(String, f64)>,
    /// The `nn` candidate's prediction of every evaluation track (NaN where the feature set
    /// lacks a column): the mean of the networks trained in cross-validation, folds × seeds.
    eval: Array1<f64>,
}

fn mae(y: &Array1<f64>, predicted: &Array1<f64>) -> f64 {
    (y - predicted).mapv(f64::abs).mean().unwrap_or(f64::NAN)
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

/// Networks averaged in the `nn` candidate: the best configuration, trained with this many seeds.
fn ensemble_size(budget: Budget) -> usize {
    match budget {
        Budget::Full => 5,
        Budget::Quick => 2,
    }
}

/// The seeds of the ensemble's networks: the run's seed (the searched network) and the next ones.
fn ensemble_seeds(config: &Task2Config) -> Vec<u64> {
    (0..ensemble_size(config.run.budget) as u64)
        .map(|k| config.run.seed + k)
        .collect()
}

/// A feature set's single best network's scores and the ensemble's seeds, for the report.
type EnsembleSummary = (String, CvScores, Vec<u64>);

/// Out-of-fold predictions of the best configuration averaged over several seeds.
struct SeedEnsemble {
    members: Vec<u64>,
    scores: CvScores,
    oof: Array1<f64>,
    /// The mean prediction of the rows given to [`seed_ensemble`], over every seed's fold networks.
    predicted: Array1<f64>,
}

/// Cross-validates the best configuration with the ensemble's other seeds (in parallel, with a
/// progress bar) and averages their out-of-fold predictions with the searched network's, and
/// their fold networks' predictions of `rows` with the searched trial's `predicted`.
fn seed_ensemble(
    config: &Task2Config,
    best: &evaluation::Trial,
    x: &ndarray::Array2<f64>,
    rows: &ndarray::Array2<f64>,
    inputs: &crate::valence::ValenceInputs,
) -> Result<SeedEnsemble, PipelineError> {
    let seeds = ensemble_seeds(config);
    let unpredicted = || PipelineError::Inconsistent("a search did not predict the rows".into());
    let mut sum = best.oof.clone();
    let mut predicted = best.predicted.clone().ok_or_else(unpredicted)?;
    if seeds.len() > 1 {
        let space = evaluation::SearchSpace::new().choice(
            "seed",
            seeds[1..].iter().map(|&seed| Value::Int(seed as i64)),
        );
        let mut search = Search::grid("nn seeds", space, 1)
            .progress(config.run.progress)
            .predicting(rows.clone());
        for (name, value) in best
            .params
            .iter()
            .filter(|(name, _)| name.as_str() != "seed")
        {
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
            predicted += trial.predicted.as_ref().ok_or_else(unpredicted)?;
        }
    }
    let oof = sum / seeds.len() as f64;
    Ok(SeedEnsemble {
        scores: CvScores::of_predictions(&inputs.y, &oof, &inputs.folds)?,
        predicted: predicted / seeds.len() as f64,
        members: seeds,
        oof,
    })
}

/// Runs Task 2 and writes `predictions.csv`, `report.md`, `metrics.json` and learning curves.
pub fn run(config: &Task2Config) -> Result<Task2Summary, PipelineError> {
    let start = Instant::now();
    let out = OutDir::create(&config.run.out)?;
    let inputs = prepare(&config.run)?;
    let task1 = OofTable::read(&config.task1.join("oof.csv"), &inputs)?;
    log(
        "task2",
        format!(
            "{} chart tracks, {} folds; Task 1's out-of-fold predictions read from {}",
            inputs.train.len(),
            inputs.folds.len(),
            config.task1.display()
        ),
    );
    let sets = feature_sets();
    let mut candidates: Vec<Candidate> = Vec::new();
    let mut best_networks: Vec<NetworkChoice> = Vec::new();
    let mut overfitting: Vec<Overfitting> = Vec::new();
    let mut ensembles: Vec<EnsembleSummary> = Vec::new();
    for set in &sets {
        let x = set.matrix(&inputs.train)?;
        // The evaluation tracks this feature set covers are predicted by every fold's network.
        let eval_rows: Vec<usize> = (0..inputs.eval.len())
            .filter(|&i| set.covers(&inputs.eval[i]))
            .collect();
        let eval_tracks: Vec<Track> = eval_rows.iter().map(|&i| inputs.eval[i].clone()).collect();
        let eval_x = set.matrix(&eval_tracks)?;
        let search = network_search(config.run.budget, config.run.seed, config.run.progress)
            .predicting(eval_x.clone());
        let result = search.run::<MlpRegressorParams, _>(&x, &inputs.y, &inputs.folds)?;
        let best = result.best();
        log(
            "task2",
            format!(
                "nn [{}]: CV MAE {:.4} ± {:.4} ({} candidates, {:.0} s) {}",
                set.name,
                best.scores.mae,
                best.scores.mae_sd,
                result.trials.len() + result.failed.len(),
                result.seconds,
                describe(&best.params)
            ),
        );
        let leaderboard = result
            .trials
            .iter()
            .take(5)
            .map(|t| (describe(&t.params), t.scores.mae))
            .collect();
        // The `nn` candidate averages the best configuration trained with several seeds.
        let ensemble = seed_ensemble(config, best, &x, &eval_x, &inputs)?;
        let mut eval = Array1::from_elem(inputs.eval.len(), f64::NAN);
        for (&row, &value) in eval_rows.iter().zip(&ensemble.predicted) {
            eval[row] = value;
        }
        best_networks.push(NetworkChoice {
            set: set.clone(),
            params: best.params.clone(),
            leaderboard,
            eval,
        });
        log("task2", format!(
            "nn [{}]: {} seeds of the best configuration averaged: CV MAE {:.4} ± {:.4} (one network: {:.4})",
            set.name,
            ensemble.members.len(),
            ensemble.scores.mae,
            ensemble.scores.mae_sd,
            best.scores.mae
        ));
        ensembles.push((
            set.name.clone(),
            best.scores.clone(),
            ensemble.members.clone(),
        ));
        let best_oof = ensemble.oof.clone();
        candidates.push(Candidate {
            name: "nn".into(),
            feature_set: set.name.clone(),
            scores: ensemble.scores,
            weights: Vec::new(),
            uses_network: true,
            oof: ensemble.oof,
        });

        // Task 1's best on this feature set, as Task 1 chose it: the lowest CV MAE.
        let mut task1_best: Option<(String, CvScores, Array1<f64>)> = None;
        for (key, oof) in &task1.columns {
            let Some(model) = key.strip_suffix(&format!("@{}", set.name)) else {
                continue;
            };
            let scores = CvScores::of_predictions(&inputs.y, oof, &inputs.folds)?;
            if task1_best
                .as_ref()
                .is_none_or(|(_, s, _)| scores.mae < s.mae)
            {
                task1_best = Some((model.to_string(), scores, oof.clone()));
            }
        }
        let (task1_name, task1_scores, task1_oof) = task1_best.ok_or_else(|| {
            PipelineError::Inconsistent(format!("Task 1's oof.csv has no column for {}", set.name))
        })?;
        candidates.push(Candidate {
            name: format!("task1:{task1_name}"),
            feature_set: set.name.clone(),
            scores: task1_scores,
            weights: Vec::new(),
            uses_network: false,
            oof: task1_oof.clone(),
        });
        let boosting = task1
            .columns
            .get(&oof_key("boosting", &set.name))
            .ok_or_else(|| {
                PipelineError::Inconsistent(format!(
                    "Task 1's oof.csv has no boosting column for {}",
                    set.name
                ))
            })?;
        for (name, partner_name, partner) in [
            ("nn+boosting", "boosting".to_string(), boosting),
            ("nn+task1", format!("task1:{task1_name}"), &task1_oof),
        ] {
            let blend = blend_members(
                &set.name,
                &[("nn".into(), &best_oof), (partner_name, partner)],
                &inputs,
            )?;
            log(
                "task2",
                format!(
                    "{name} [{}]: CV MAE {:.4} (nn weight {:.2})",
                    set.name, blend.scores.mae, blend.weights[0].1
                ),
            );
            candidates.push(Candidate {
                name: name.into(),
                feature_set: set.name.clone(),
                scores: blend.scores,
                uses_network: blend.weights[0].1 > 0.0,
                weights: blend.weights,
                oof: blend.oof,
            });
        }

        // Learning curves of the best network, trained on fold 0's training rows.
        let fold = &inputs.folds[0];
        let params = MlpRegressorParams::from_params(&best.params)?;
        let train_x = x.select(Axis(0), &fold.train);
        let train_y = inputs.y.select(Axis(0), &fold.train);
        let network = params.fit(&DatasetBase::new(train_x.clone(), train_y.clone()))?;
        let test_x = x.select(Axis(0), &fold.test);
        let test_y = inputs.y.select(Axis(0), &fold.test);
        let history = network.history();
        let train_loss: Vec<f64> = history.iter().map(|r| r.train_loss).collect();
        let validation_loss: Vec<f64> = history.iter().filter_map(|r| r.validation_loss).collect();
        let plot = format!("learning_curve_{}.png", slug(&set.name));
        evaluation::plot::learning_curves(
            &out.file(&plot),
            &format!("Best network [{}]: loss per epoch (fold 1)", set.name),
            &format!("{} loss", params_loss_name(&best.params)),
            &[
                ("training (dropout on)", &train_loss),
                ("validation", &validation_loss),
            ],
        )?;
        let best_epoch = network.best_epoch();
        overfitting.push(Overfitting {
            feature_set: set.name.clone(),
            epochs: history.len(),
            best_epoch: best_epoch + 1,
            train_mae: mae(&train_y, &network.try_predict(train_x.view())?),
            validation_mae: history
                .get(best_epoch)
                .and_then(|r| r.validation_mae)
                .unwrap_or(f64::NAN),
            test_mae: mae(&test_y, &network.try_predict(test_x.view())?),
            plot,
        });
    }

    let best = candidates
        .iter()
        .min_by(|a, b| a.scores.mae.total_cmp(&b.scores.mae))
        .cloned()
        .ok_or_else(|| PipelineError::Inconsistent("no candidate was evaluated".into()))?;
    let answer = if best.uses_network { "with" } else { "without" };
    let fallback = candidates
        .iter()
        .filter(|c| c.feature_set == sets[0].name)
        .min_by(|a, b| a.scores.mae.total_cmp(&b.scores.mae))
        .cloned()
        .unwrap_or_else(|| best.clone());
    log(
        "task2",
        format!(
            "best: {} on {} (CV MAE {:.4}), so the best results come {answer} neural networks",
            best.name, best.feature_set, best.scores.mae
        ),
    );

    // Predictions: the winner on its feature set; tracks it cannot cover use the best
    // audio-only candidate.
    log("task2", "predicting the evaluation tracks");
    let mut predictions = vec![f64::NAN; inputs.eval.len()];
    let mut fallback_ids = Vec::new();
    let best_set = sets
        .iter()
        .find(|s| s.name == best.feature_set)
        .cloned()
        .unwrap_or_else(FeatureSet::audio);
    let (covered, uncovered): (Vec<usize>, Vec<usize>) =
        (0..inputs.eval.len()).partition(|&i| best_set.covers(&inputs.eval[i]));
    for (candidate, rows) in [(&best, &covered), (&fallback, &uncovered)] {
        if rows.is_empty() {
            continue;
        }
        let values = predict_candidate(config, candidate, &best_networks, &inputs, rows)?;
        for (&row, value) in rows.iter().zip(values) {
            predictions[row] = value.clamp(0.0, 1.0);
        }
        if std::ptr::eq(rows, &uncovered) {
            fallback_ids = rows.iter().map(|&i| inputs.eval[i].id.clone()).collect();
        }
    }
    if predictions.iter().any(|v| !v.is_finite()) {
        return Err(PipelineError::Inconsistent(
            "a prediction is not finite".into(),
        ));
    }
    // Near twins (the same recording under another id) take their twin's valence; the
    // networks' corrected scores are reported too.
    let distances = sets
        .iter()
        .map(|set| TwinDistances::measure(set, &set.matrix(&inputs.train)?, &inputs))
        .collect::<Result<Vec<_>, _>>()?;
    let twins_of = |candidate: &Candidate| -> Result<NearTwins, PipelineError> {
        let index = sets
            .iter()
            .position(|s| s.name == candidate.feature_set)
            .unwrap_or(0);
        NearTwins::find(&distances[index], &candidate.name, &inputs, &candidate.oof)
    };
    let best_twins = twins_of(&best)?;
    let fallback_twins = twins_of(&fallback)?;
    let from_twins = apply_near_twins(
        &mut predictions,
        &inputs.eval,
        &best_set,
        &best_twins,
        &fallback_twins,
    );
    log("task2", best_twins.describe());
    log(
        "task2",
        format!("{from_twins} evaluation tracks take a near twin's valence"),
    );
    let network_twins = candidates
        .iter()
        .filter(|c| c.name == "nn")
        .map(twins_of)
        .collect::<Result<Vec<_>, _>>()?;
    let twins = TwinOutcome {
        best: best_twins,
        fallback: fallback_twins,
        networks: network_twins,
        from_twins,
    };
    let ids: Vec<String> = inputs.eval.iter().map(|t| t.id.clone()).collect();
    write_predictions(&out.file("predictions.csv"), "valence", &ids, &predictions)?;

    let summary = Task2Summary {
        best,
        answer,
        seconds: start.elapsed().as_secs_f64(),
    };
    write_outputs(
        config,
        &out,
        &inputs.y,
        &sets,
        &candidates,
        &best_networks,
        &overfitting,
        &fallback,
        &fallback_ids,
        &twins,
        &ensembles,
        &summary,
    )?;
    log(
        "task2",
        format!(
            "done in {:.0} s; outputs in {}",
            summary.seconds,
            config.run.out.display()
        ),
    );
    Ok(summary)
}

fn params_loss_name(params: &ParamSet) -> String {
    match params.get("loss") {
        Some(Value::Text(loss)) => loss.clone(),
        _ => "l1".into(),
    }
}

/// Predicts the evaluation tracks at `rows` with a candidate: the networks trained in
/// cross-validation, Task 1's saved models, or a blend of them.
fn predict_candidate(
    config: &Task2Config,
    candidate: &Candidate,
    networks: &[NetworkChoice],
    inputs: &crate::valence::ValenceInputs,
    rows: &[usize],
) -> Result<Array1<f64>, PipelineError> {
    let choice = networks
        .iter()
        .find(|n| n.set.name == candidate.feature_set)
        .ok_or_else(|| {
            PipelineError::Inconsistent(format!("no network for {}", candidate.feature_set))
        })?;
    let set = &choice.set;
    let tracks: Vec<Track> = rows.iter().map(|&i| inputs.eval[i].clone()).collect();
    let x = set.matrix(&tracks)?;
    // The `nn` candidate: the mean of the ensemble's networks from cross-validation (every
    // seed's network of every fold), so no network is trained again.
    let network = || -> Result<Array1<f64>, PipelineError> {
        let values = choice.eval.select(Axis(0), rows);
        if values.iter().any(|v| !v.is_finite()) {
            return Err(PipelineError::Inconsistent(format!(
                "the networks did not predict every evaluation track on {}",
                set.name
            )));
        }
        Ok(values)
    };
    let task1_model = |name: &str| -> Result<Array1<f64>, PipelineError> {
        let file = if name == "boosting" {
            format!("boosting_{}.json", slug(&set.name))
        } else {
            format!("best_{}.json", slug(&set.name))
        };
        Ok(ModelFile::load(&config.task1.join(file))?.predict(&x)?)
    };
    if candidate.name == "nn" {
        return network();
    }
    if let Some(model) = candidate.name.strip_prefix("task1:") {
        return task1_model(if model == "boosting" {
            "boosting"
        } else {
            "best"
        });
    }
    let mut total = Array1::zeros(tracks.len());
    for (member, weight) in &candidate.weights {
        if *weight <= 0.0 {
            continue;
        }
        let values = if member == "nn" {
            network()?
        } else {
            task1_model(if member == "boosting" {
                "boosting"
            } else {
                "best"
            })?
        };
        total.scaled_add(*weight, &values);
    }
    Ok(total)
}

#[allow(clippy::too_many_arguments)]
fn write_outputs(
    config: &Task2Config,
    out: &OutDir,
    y: &Array1<f64>,
    sets: &[FeatureSet],
    candidates: &[Candidate],
    networks: &[NetworkChoice],
    overfitting: &[Overfitting],
    fallback: &Candidate,
    fallback_ids: &[String],
    twins: &TwinOutcome,
    ensembles: &[EnsembleSummary],
    summary: &Task2Summary,
) -> Result<(), PipelineError> {
    let by = |name: &str| -> serde_json::Value {
        let mut map = serde_json::Map::new();
        for c in candidates.iter().filter(|c| c.name == name) {
            map.insert(c.feature_set.clone(), json!(c.scores.mae));
        }
        serde_json::Value::Object(map)
    };
    let mut task1 = serde_json::Map::new();
    for c in candidates.iter().filter(|c| c.name.starts_with("task1:")) {
        task1.insert(
            c.feature_set.clone(),
            json!({"model": c.name.trim_start_matches("task1:"), "cv_mae": c.scores.mae}),
        );
    }
    let metrics = json!({
        "task": "valence, with neural networks",
        "budget": format!("{:?}", config.run.budget).to_lowercase(),
        "seed": config.run.seed,
        "cv_mae": {
            "nn": by("nn"),
            "blend": by("nn+boosting"),
            "nn+task1": by("nn+task1"),
            "task1_best": serde_json::Value::Object(task1),
        },
        "candidates": candidates,
        "networks": networks.iter().map(|n| json!({"feature_set": n.set.name, "params": n.params, "leaderboard": n.leaderboard})).collect::<Vec<_>>(),
        "overfitting": overfitting,
        "nn_ensemble": ensembles.iter().map(|(set, single, seeds)| json!({"feature_set": set, "seeds": seeds, "single_network_cv_mae": single.mae})).collect::<Vec<_>>(),
        "best": {
            "method": summary.best.name,
            "feature_set": summary.best.feature_set,
            "params": networks.iter().find(|n| n.set.name == summary.best.feature_set).map(|n| json!(n.params)),
            "weights": summary.best.weights,
            "cv_mae": summary.best.scores.mae,
        },
        "fallback": {"method": fallback.name, "feature_set": fallback.feature_set, "cv_mae": fallback.scores.mae, "ids": fallback_ids},
        "answer": summary.answer,
        "near_twins": {"best": twins.best, "fallback": twins.fallback, "nn": twins.networks},
        "best_with_twins": {"cv_mae": twins.best.cv_mae, "eval_estimate": twins.best.eval_estimate, "radius": twins.best.radius},
        "predictions": {"file": "predictions.csv", "from_twins": twins.from_twins},
        "seconds": summary.seconds,
    });
    write_json(&out.file("metrics.json"), &metrics)?;

    let mut md = Markdown::new();
    md.heading(1, "Task 2: valence with neural networks");
    md.paragraph(&format!(
        "Multilayer perceptrons (tch/libtorch, CPU) searched at random over width, depth, dropout, learning rate, weight decay, batch size, loss and activation, on the same {}-fold split as Task 1 ({}). Every candidate trains with AdamW, holds out 10% of its training rows for early stopping (best weights restored), and halves its learning rate on plateaus. Run took {:.0} s ({} budget).",
        config.run.folds,
        match config.run.grouping {
            Grouping::Recordings => "copies of a recording kept together",
            Grouping::Plain => "plain shuffled",
        },
        summary.seconds,
        format!("{:?}", config.run.budget).to_lowercase()
    ));
    md.heading(2, "Comparison on the same folds");
    let mut rows = Vec::new();
    for name in ["nn", "task1", "nn+boosting", "nn+task1"] {
        let mut row = vec![match name {
            "nn" => "best network (seed ensemble)".to_string(),
            "task1" => "best Task 1 model".to_string(),
            "nn+boosting" => "blend: network + boosting".to_string(),
            _ => "blend: network + best Task 1 model".to_string(),
        }];
        for set in sets {
            let cell = candidates
                .iter()
                .find(|c| {
                    c.feature_set == set.name
                        && (c.name == name || (name == "task1" && c.name.starts_with("task1:")))
                })
                .map_or("–".into(), |c| {
                    let detail = if c.weights.is_empty() {
                        c.name.trim_start_matches("task1:").to_string()
                    } else {
                        c.weights
                            .iter()
                            .map(|(n, w)| format!("{n} {w:.2}"))
                            .collect::<Vec<_>>()
                            .join(", ")
                    };
                    format!("{:.4} ± {:.4} ({detail})", c.scores.mae, c.scores.mae_sd)
                });
            row.push(cell);
        }
        rows.push(row);
    }
    let header: Vec<String> = std::iter::once("model".to_string())
        .chain(sets.iter().map(|s| s.name.clone()))
        .collect();
    let header: Vec<&str> = header.iter().map(String::as_str).collect();
    md.table(&header, &rows);
    md.paragraph("Blend weights are chosen on out-of-fold predictions; each fold's score uses weights chosen on the other folds.");
    md.heading(2, "Best networks");
    for NetworkChoice {
        set,
        params,
        leaderboard: board,
        ..
    } in networks
    {
        md.paragraph(&format!("**{}**: {}", set.name, describe(params)));
        let ensemble = ensembles.iter().find(|(name, _, _)| *name == set.name);
        let averaged = candidates
            .iter()
            .find(|c| c.name == "nn" && c.feature_set == set.name);
        if let (Some((_, single, seeds)), Some(averaged)) = (ensemble, averaged) {
            md.paragraph(&format!(
                "The `nn` row averages this configuration trained with {} seeds ({}): CV MAE {:.4}, against {:.4} for the single network the search found. The evaluation tracks are predicted by the mean of all {} networks trained in cross-validation ({} folds × {} seeds); none is trained again on all chart tracks.",
                seeds.len(),
                seeds.iter().map(u64::to_string).collect::<Vec<_>>().join(", "),
                averaged.scores.mae,
                single.mae,
                seeds.len() * config.run.folds,
                config.run.folds,
                seeds.len()
            ));
        }
        let rows: Vec<Vec<String>> = board
            .iter()
            .map(|(p, m)| vec![format!("{m:.4}"), p.clone()])
            .collect();
        md.table(&["CV MAE", "candidate"], &rows);
    }
    md.heading(2, "Overfitting");
    for o in overfitting {
        md.paragraph(&format!(
            "**{}**: trained {} epochs, kept epoch {}. MAE on its training rows {:.4}, on its early-stopping validation split {:.4}, on the held-out fold {:.4}: a train–test gap of {:.4}.",
            o.feature_set, o.epochs, o.best_epoch, o.train_mae, o.validation_mae, o.test_mae, o.test_mae - o.train_mae
        ));
        md.image(&format!("learning curve {}", o.feature_set), &o.plot);
    }
    for c in candidates.iter().filter(|c| c.name == "nn") {
        plot_oof(
            out,
            &mut md,
            &format!("network [{}]", c.feature_set),
            &format!("nn_oof_{}", slug(&c.feature_set)),
            y,
            &c.oof,
        )?;
    }
    md.heading(2, "Answer");
    let task1_overall = candidates
        .iter()
        .filter(|c| !c.uses_network)
        .min_by(|a, b| a.scores.mae.total_cmp(&b.scores.mae));
    md.paragraph(&format!(
        "The lowest CV MAE is **{:.4}**, by **{}** on the **{}** features{}. The best model without networks scores {}. So the best results come **{} neural networks**.",
        summary.best.scores.mae,
        summary.best.name,
        summary.best.feature_set,
        if summary.best.weights.is_empty() { String::new() } else { format!(" (weights {})", summary.best.weights.iter().map(|(n, w)| format!("{n} {w:.2}")).collect::<Vec<_>>().join(", ")) },
        task1_overall.map_or("–".into(), |c| format!("{:.4} ({} on {})", c.scores.mae, c.name, c.feature_set)),
        summary.answer
    ));
    md.paragraph(&format!(
        "Tracks without an analysis ({}) are predicted by the best audio-only candidate, {} (CV MAE {:.4}).",
        fallback_ids.iter().map(|id| format!("`{id}`")).collect::<Vec<_>>().join(", "),
        fallback.name,
        fallback.scores.mae
    ));
    md.heading(2, "Near twins: one recording under several ids");
    md.paragraph(&format!(
        "{} evaluation tracks take a near twin's valence.",
        twins.from_twins
    ));
    md.paragraph(&twins.best.describe());
    if twins.fallback.feature_set != twins.best.feature_set
        || twins.fallback.model != twins.best.model
    {
        md.paragraph(&twins.fallback.describe());
    }
    let rows: Vec<Vec<String>> = twins
        .networks
        .iter()
        .map(|t| {
            vec![
                t.feature_set.clone(),
                format!("{:.4}", t.cv_mae_model),
                format!("{:.4}", t.cv_mae),
                format!("{:.4}", t.eval_estimate),
            ]
        })
        .collect();
    md.paragraph("The best networks with the same correction:");
    md.table(
        &[
            "feature set",
            "network CV MAE",
            "with near twins",
            "re-weighted to the evaluation tracks",
        ],
        &rows,
    );
    md.write(&out.file("report.md"))?;
    Ok(())
}
