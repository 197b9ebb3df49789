//! Task 1: predict valence without neural networks. Every classic method is searched on both
//! feature sets over the same folds, the best are blended, the winner predicts the
//! evaluation tracks, and the boosting model explains which features move valence.
//!
//! [`run`] is the sequence of stages: prepare → [`search`] → [`choose`] → fit → near twins →
//! predict → explain → [`report`].

mod choose;
pub mod report;

use std::time::Instant;

use classic_models::{BoostingParams, FittedModel, ModelFile};
use evaluation::report::write_predictions_with_intervals;
use evaluation::{describe, Tunable};
use linfa::traits::Fit;
use linfa::DatasetBase;

use crate::bundle::{self, write_valence_bundle, RouteModel, RoutePart, Training, ValenceParts};
use crate::log::log;
use crate::valence::deploy::{write_bundle, DeployedRoute};
use crate::valence::intervals::{IntervalReport, SetIntervals};
use crate::valence::method::SearchPlan;
use crate::valence::{
    blend, explain_boosting, prepare, search_method, BlendKind, Candidate, Explanation,
    FeatureSetId, Influence, Method, MethodResult, Model, NearTwins, OofColumn, OofTable, OutDir,
    PipelineError, Route, Routes, RunConfig, Scored, Task1Model, TwinDistances, ValenceInputs,
};

pub use choose::{choose, Choice, ChoiceParams, Chosen, MemberParams};
pub use report::Task1Metrics;

/// What to run: Task 1 needs nothing beyond the shared settings.
pub type Task1Config = RunConfig;

/// The headline numbers of a run.
#[derive(Clone, Debug)]
pub struct Task1Summary {
    /// The chosen model.
    pub best: Choice,
    /// The best audio-only model, used for tracks without analysis.
    pub fallback: Choice,
    /// Ids predicted by the fallback.
    pub fallback_ids: Vec<String>,
    /// Near twins of each feature set's chosen model, in [`FeatureSetId::ALL`] order.
    pub near_twins: Vec<NearTwins>,
    /// The near twins of the best model: its corrected CV MAE and the evaluation estimate.
    pub best_twins: NearTwins,
    /// Evaluation tracks that took a near twin's valence.
    pub from_twins: usize,
    /// The cross-fitted checks of each feature set's valence intervals.
    pub intervals: Vec<IntervalReport>,
    /// Wall-clock seconds of the run.
    pub seconds: f64,
}

/// Every method's best candidate and the blend of them, on every feature set.
pub struct Searched {
    /// Each method on each feature set, feature set by feature set in [`Method::ALL`] order.
    pub methods: Vec<MethodResult>,
    /// The blend of each feature set's methods, in [`FeatureSetId::ALL`] order.
    pub blends: Vec<Scored>,
}

impl Searched {
    /// The search of `method` on `features`.
    pub fn result(
        &self,
        method: Method,
        features: FeatureSetId,
    ) -> Result<&MethodResult, PipelineError> {
        self.methods
            .iter()
            .find(|r| r.method == method && r.feature_set == features)
            .ok_or_else(|| {
                PipelineError::Inconsistent(format!("{method} was not searched on {features}"))
            })
    }

    /// The candidates of one feature set, scored: each method, then the blend.
    pub fn candidates(&self, features: FeatureSetId) -> Vec<Scored> {
        let methods = self
            .methods
            .iter()
            .filter(|r| r.feature_set == features)
            .map(|r| Scored {
                candidate: Candidate::Single {
                    model: Model::Method(r.method),
                    features,
                },
                scores: r.scores.clone(),
                oof: r.oof.clone(),
            });
        let blends = self
            .blends
            .iter()
            .filter(|b| b.candidate.features() == features)
            .cloned();
        methods.chain(blends).collect()
    }

    /// The out-of-fold table of every method and blend, for Task 2.
    pub fn oof_table(&self, inputs: &ValenceInputs) -> OofTable {
        let mut table = OofTable::new(inputs);
        for r in &self.methods {
            let column = OofColumn {
                model: Task1Model::Method(r.method),
                features: r.feature_set,
            };
            table.insert(column, r.oof.clone());
        }
        for b in &self.blends {
            let column = OofColumn {
                model: Task1Model::Blend,
                features: b.candidate.features(),
            };
            table.insert(column, b.oof.clone());
        }
        table
    }
}

/// The models chosen on each feature set, fitted on all chart tracks, in [`FeatureSetId::ALL`]
/// order.
pub struct Fitted {
    /// One model file per feature set.
    pub models: Vec<ModelFile>,
}

/// Runs Task 1 and writes `predictions.csv`, `report.md`, `metrics.json`, `oof.csv`, model
/// files and plots into the output directory.
pub fn run(config: &Task1Config) -> Result<Task1Summary, PipelineError> {
    let start = Instant::now();
    let out = OutDir::create(&config.out)?;
    let inputs = prepare(config)?;
    log_inputs(&inputs);
    let searched = search(config, &inputs)?;
    searched.oof_table(&inputs).write(&out.file("oof.csv"))?;
    let chosen = choose(&searched);
    let (best, fallback) = (
        chosen.best_choice(&searched)?,
        chosen.fallback_choice(&searched)?,
    );
    log(
        "task1",
        format!(
            "best: {} on {} (CV MAE {:.4}); audio-only fallback: {} (CV MAE {:.4})",
            best.method, best.feature_set, best.cv_mae, fallback.method, fallback.cv_mae
        ),
    );
    let fitted = fit(&chosen, &searched, &inputs, &out)?;
    let near_twins = near_twins(&chosen, &inputs)?;
    let intervals = intervals(config, &inputs, &near_twins)?;
    let predicted = predict(&inputs, &chosen, &fitted, &near_twins, &intervals, &out)?;
    bundle(
        config,
        &inputs,
        &chosen,
        &fitted,
        &near_twins,
        &intervals,
        &out,
    )?;
    let (influences, boosted) = explain(config, &searched, &inputs, &out)?;
    boosting_bundle(config, &searched, &inputs, boosted, &out)?;
    let summary = Task1Summary {
        best_twins: near_twins[chosen.best_index()].clone(),
        best,
        fallback,
        fallback_ids: predicted.fallback_ids,
        near_twins,
        from_twins: predicted.from_twins,
        intervals: intervals.into_iter().flat_map(|set| set.reports).collect(),
        seconds: start.elapsed().as_secs_f64(),
    };
    report::write(&report::Finished {
        config,
        out: &out,
        inputs: &inputs,
        searched: &searched,
        chosen: &chosen,
        influences: &influences,
        summary: &summary,
    })?;
    log(
        "task1",
        format!(
            "done in {:.0} s; outputs in {}",
            summary.seconds,
            config.out.display()
        ),
    );
    Ok(summary)
}

fn log_inputs(inputs: &ValenceInputs) {
    log(
        "task1",
        format!(
            "{} chart tracks ({} recordings), {} tracks to predict, {} folds ({})",
            inputs.train.len(),
            inputs.recordings,
            inputs.eval.len(),
            inputs.folds.len(),
            inputs.grouping.describe()
        ),
    );
}

/// *Search*: every method on every feature set, and the blend of each set's methods.
pub fn search(config: &Task1Config, inputs: &ValenceInputs) -> Result<Searched, PipelineError> {
    let plan = SearchPlan {
        budget: config.budget,
        seed: config.seed,
        progress: config.progress,
    };
    let mut searched = Searched {
        methods: Vec::new(),
        blends: Vec::new(),
    };
    for features in FeatureSetId::ALL {
        let x = inputs.train_matrix(features)?;
        for method in Method::ALL {
            let result = search_method(method, plan, features, &x, inputs)?;
            log(
                "task1",
                format!(
                    "{:>13} [{features}]: CV MAE {:.4} ± {:.4} ({} candidates, {:.0} s) {}",
                    method.name(),
                    result.scores.mae,
                    result.scores.mae_sd,
                    result.candidates,
                    result.seconds,
                    describe(&result.params)
                ),
            );
            searched.methods.push(result);
        }
        let members: Vec<(Model, &ndarray::Array1<f64>)> = searched
            .methods
            .iter()
            .filter(|r| r.feature_set == features)
            .map(|r| (Model::Method(r.method), &r.oof))
            .collect();
        let blended = blend(BlendKind::Methods, features, &members, inputs)?;
        log(
            "task1",
            format!(
                "        blend [{features}]: CV MAE {:.4} (weights chosen on the other folds)",
                blended.scores.mae
            ),
        );
        searched.blends.push(blended);
    }
    Ok(searched)
}

/// *Fit*: each feature set's chosen candidate on all chart tracks, saved as
/// `best_<feature set>.json`.
fn fit(
    chosen: &Chosen,
    searched: &Searched,
    inputs: &ValenceInputs,
    out: &OutDir,
) -> Result<Fitted, PipelineError> {
    log("task1", "fitting the chosen models on all chart tracks");
    let mut models = Vec::new();
    for scored in &chosen.per_set {
        let features = scored.candidate.features();
        let x = inputs.train_matrix(features)?;
        let model = fit_candidate(&scored.candidate, searched, &x, &inputs.y)?;
        let file = ModelFile::new(model, features.set().names(), "valence");
        file.save(&out.file(&format!("best_{}.json", features.slug())))?;
        models.push(file);
    }
    Ok(Fitted { models })
}

/// Fits a Task 1 candidate (one method, or the blend of methods) with the searched parameters.
fn fit_candidate(
    candidate: &Candidate,
    searched: &Searched,
    x: &ndarray::Array2<f64>,
    y: &ndarray::Array1<f64>,
) -> Result<FittedModel, PipelineError> {
    let unsupported = || PipelineError::Unsupported {
        pipeline: "Task 1",
        action: "fit",
        candidate: candidate.name(),
    };
    let features = candidate.features();
    let fit_method = |method: Method| -> Result<FittedModel, PipelineError> {
        let result = searched.result(method, features)?;
        Ok(method.fit(&result.params, x, y)?)
    };
    match candidate {
        Candidate::Single {
            model: Model::Method(method),
            ..
        } => fit_method(*method),
        Candidate::Blend { members, .. } => {
            let mut fitted = Vec::new();
            for (model, weight) in members.iter().filter(|(_, weight)| *weight > 0.0) {
                let Model::Method(method) = model else {
                    return Err(unsupported());
                };
                fitted.push((*weight, fit_method(*method)?));
            }
            Ok(FittedModel::Blend(fitted))
        }
        Candidate::Single { .. } => Err(unsupported()),
    }
}

/// *Near twins*: the correction of each feature set's chosen candidate.
fn near_twins(chosen: &Chosen, inputs: &ValenceInputs) -> Result<Vec<NearTwins>, PipelineError> {
    chosen
        .per_set
        .iter()
        .map(|scored| {
            let features = scored.candidate.features();
            let x = inputs.train_matrix(features)?;
            let distances = TwinDistances::measure(features, &x, inputs)?;
            let twins = NearTwins::find(&distances, scored.candidate.name(), inputs, &scored.oof)?;
            log("task1", twins.describe());
            Ok(twins)
        })
        .collect()
}

/// *Intervals*: the conformal valence intervals of each feature set's chosen model, fitted on
/// its twin-corrected out-of-fold predictions and checked by cross-fitting.
fn intervals(
    config: &Task1Config,
    inputs: &ValenceInputs,
    near_twins: &[NearTwins],
) -> Result<Vec<SetIntervals>, PipelineError> {
    near_twins
        .iter()
        .map(|twins| {
            let set = SetIntervals::fit(inputs, twins, config.coverage)?;
            for report in &set.reports {
                log(
                    "task1",
                    format!(
                        "intervals [{}] at {}: cross-fitted coverage {:.3}, mean width {:.3} (plain ŷ ± q: {:.3}, {:.3})",
                        report.feature_set,
                        report.coverage,
                        report.intervals.achieved,
                        report.intervals.mean_width,
                        report.plain.achieved,
                        report.plain.mean_width
                    ),
                );
            }
            Ok(set)
        })
        .collect()
}

/// What predicting the evaluation tracks did.
struct Predicted {
    fallback_ids: Vec<String>,
    from_twins: usize,
}

/// *Predict*: the best model predicts the tracks its feature set covers, the audio-only model
/// the others; tracks with a near twin take its valence. Every track gets the interval of its
/// route's feature set. Writes `predictions.csv`.
fn predict(
    inputs: &ValenceInputs,
    chosen: &Chosen,
    fitted: &Fitted,
    near_twins: &[NearTwins],
    intervals: &[SetIntervals],
    out: &OutDir,
) -> Result<Predicted, PipelineError> {
    let best = chosen.best_index();
    let fallback = chosen.fallback_index();
    let routes = Routes::split(&inputs.eval, FeatureSetId::ALL[best]);
    let mut predictions = routes.predict(|route, rows| {
        let index = match route {
            Route::Best => best,
            Route::Fallback => fallback,
        };
        let matrix = FeatureSetId::ALL[index]
            .set()
            .matrix(&inputs.eval_tracks(rows))?;
        Ok(fitted.models[index].predict(&matrix)?)
    })?;
    let from_twins = routes.apply_twins(&mut predictions, &near_twins[best], &near_twins[fallback]);
    log(
        "task1",
        format!("{from_twins} evaluation tracks take a near twin's valence"),
    );
    let bounds = routes.intervals(
        &predictions,
        (&intervals[best], &near_twins[best]),
        (&intervals[fallback], &near_twins[fallback]),
    );
    write_predictions_with_intervals(
        &out.file("predictions.csv"),
        "valence",
        &inputs.eval_ids(),
        &predictions,
        &bounds,
    )?;
    Ok(Predicted {
        fallback_ids: routes.fallback_ids(&inputs.eval),
        from_twins,
    })
}

/// *Bundle*: the chosen model and the audio-only fallback (when they differ), each with its
/// near-twin table (when it trusts twins) and intervals, saved as the bundle `bundle/`, which
/// predicts exactly what `predictions.csv` holds.
fn bundle(
    config: &Task1Config,
    inputs: &ValenceInputs,
    chosen: &Chosen,
    fitted: &Fitted,
    near_twins: &[NearTwins],
    intervals: &[SetIntervals],
    out: &OutDir,
) -> Result<(), PipelineError> {
    let route = |index: usize| DeployedRoute {
        chosen: &chosen.per_set[index],
        model: RouteModel::Model(&fitted.models[index]),
        twins: &near_twins[index],
        intervals: &intervals[index],
    };
    let (best, fallback) = (chosen.best_index(), chosen.fallback_index());
    write_bundle(
        "task1",
        "valence",
        &out.file("bundle"),
        inputs,
        config.seed,
        route(best),
        (best != fallback).then(|| route(fallback)),
    )
}

/// The boosting model of each feature set, fitted on all chart tracks by *explain*.
type Boosted = Vec<(FeatureSetId, ModelFile)>;

/// *Boosting bundle*: the audio-only boosting model alone (fitted on all chart tracks with its
/// searched parameters, without near twins), with conformal intervals fitted on its own
/// out-of-fold predictions, saved as the bundle `bundle_boosting_audio/`: the bundle for
/// catalogues that have the Web API's audio features and nothing else, and the one LightGBM
/// can hold tree for tree (`tools/compare_scoring`).
fn boosting_bundle(
    config: &Task1Config,
    searched: &Searched,
    inputs: &ValenceInputs,
    boosted: Boosted,
    out: &OutDir,
) -> Result<(), PipelineError> {
    let features = FeatureSetId::Audio;
    let Some((_, model)) = boosted.into_iter().find(|(set, _)| *set == features) else {
        return Err(PipelineError::Inconsistent(format!(
            "no boosting model was fitted on {features}"
        )));
    };
    let result = searched.result(Method::Boosting, features)?;
    let intervals = crate::valence::intervals::model_only(inputs, &result.oof, config.coverage)?;
    let scores = std::collections::BTreeMap::from([
        ("cv_mae".to_string(), result.scores.mae),
        ("cv_r2".to_string(), result.scores.r2),
    ]);
    let parts = ValenceParts {
        name: "valence",
        best: RoutePart {
            model: RouteModel::Model(&model),
            twins: None,
            intervals: &intervals,
        },
        fallback: None,
        training: Training {
            data_set: "charts (the chart tracks with valence)".into(),
            rows: inputs.y.len(),
            date: bundle::manifest::today(),
            crate_version: env!("CARGO_PKG_VERSION").into(),
            seed: config.seed,
            model: format!("{} on {features}", Method::Boosting.name()),
        },
        scores,
    };
    let dir = out.file("bundle_boosting_audio");
    write_valence_bundle(&dir, parts).map_err(Box::new)?;
    log(
        "task1",
        format!("boosting bundle written to {}", dir.display()),
    );
    Ok(())
}

/// *Explain*: the boosting model of each feature set, fitted on all chart tracks (saved as
/// `boosting_<feature set>.json`, and returned), and what it says about the features.
fn explain(
    config: &Task1Config,
    searched: &Searched,
    inputs: &ValenceInputs,
    out: &OutDir,
) -> Result<(Vec<Influence>, Boosted), PipelineError> {
    let explanation = Explanation::at(config.budget, config.seed);
    let mut influences = Vec::new();
    let mut boosted = Vec::new();
    for features in FeatureSetId::ALL {
        log(
            "task1",
            format!("explaining valence with the boosting model [{features}]"),
        );
        let x = inputs.train_matrix(features)?;
        let params = &searched.result(Method::Boosting, features)?.params;
        let fitted = BoostingParams::from_params(params)?
            .fit(&DatasetBase::new(x.clone(), inputs.y.clone()))?;
        influences.push(explain_boosting(
            params,
            features,
            &x,
            inputs,
            &fitted,
            explanation,
        )?);
        let file = ModelFile::new(
            FittedModel::Boosting(fitted),
            features.set().names(),
            "valence",
        );
        file.save(&out.file(&format!("boosting_{}.json", features.slug())))?;
        boosted.push((features, file));
    }
    Ok((influences, boosted))
}
