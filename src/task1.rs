//! Task 1: predict valence without neural networks. Every classic method is searched on both
//! feature sets over the same folds, the best are blended, the winner predicts the
//! evaluation tracks, and the boosting model explains which features move valence.

use std::time::Instant;

use classic_models::{FittedModel, ModelFile};
use dataset::FeatureSet;
use evaluation::report::{write_json, write_predictions, Markdown};
use evaluation::{describe, Importance};
use serde_json::json;

use crate::valence::RunConfig;

use crate::log::log;
use crate::valence::{
    apply_near_twins, blend_members, explain_boosting, feature_sets, influence_sentences, oof_key,
    plot_oof, predict_eval, prepare, search_method, slug, BlendOutcome, Budget, Choice, Grouping,
    Influence, Method, MethodResult, NearTwins, OofTable, OutDir, PipelineError, TwinDistances,
    ValenceInputs,
};

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
    /// Near twins of each feature set's chosen model.
    pub near_twins: Vec<NearTwins>,
    /// The near twins of the best model: its corrected CV MAE and the evaluation estimate.
    pub best_twins: NearTwins,
    /// Evaluation tracks that took a near twin's valence.
    pub from_twins: usize,
    /// Wall-clock seconds of the run.
    pub seconds: f64,
}

/// Runs Task 1 and writes `predictions.csv`, `report.md`, `metrics.json`, `oof.csv`, model
/// files and plots into the output directory.
pub fn run(config: &Task1Config) -> Result<Task1Summary, PipelineError> {
    let start = Instant::now();
    let out = OutDir::create(&config.out)?;
    let inputs = prepare(config)?;
    log(
        "task1",
        format!(
            "{} chart tracks ({} recordings), {} tracks to predict, {} folds ({})",
            inputs.train.len(),
            inputs.recordings,
            inputs.eval.len(),
            inputs.folds.len(),
            match inputs.grouping {
                Grouping::Recordings => "copies of a recording kept together",
                Grouping::Plain => "plain shuffled",
            }
        ),
    );
    let sets = feature_sets();
    let mut results: Vec<MethodResult> = Vec::new();
    let mut blends: Vec<BlendOutcome> = Vec::new();
    let mut oof = OofTable::new(&inputs);
    for set in &sets {
        let x = set.matrix(&inputs.train)?;
        for method in Method::ALL {
            let result = search_method(
                method,
                config.budget,
                config.seed,
                set,
                &x,
                &inputs,
                config.progress,
            )?;
            log(
                "task1",
                format!(
                    "{:>13} [{}]: CV MAE {:.4} ± {:.4} ({} candidates, {:.0} s) {}",
                    method.name(),
                    set.name,
                    result.scores.mae,
                    result.scores.mae_sd,
                    result.candidates,
                    result.seconds,
                    describe(&result.params)
                ),
            );
            oof.columns
                .insert(oof_key(method.name(), &set.name), result.oof.clone());
            results.push(result);
        }
        let members: Vec<(String, &ndarray::Array1<f64>)> = results
            .iter()
            .filter(|r| r.feature_set == set.name)
            .map(|r| (r.method.name().to_string(), &r.oof))
            .collect();
        let blend = blend_members(&set.name, &members, &inputs)?;
        log(
            "task1",
            format!(
                "        blend [{}]: CV MAE {:.4} (weights chosen on the other folds)",
                set.name, blend.scores.mae
            ),
        );
        oof.columns
            .insert(oof_key("blend", &set.name), blend.oof.clone());
        blends.push(blend);
    }
    oof.write(&out.file("oof.csv"))?;

    // The best model per feature set: a single method or the blend.
    let choose = |set: &FeatureSet| -> Choice {
        let mut best: Option<Choice> = None;
        for r in results.iter().filter(|r| r.feature_set == set.name) {
            if best.as_ref().is_none_or(|b| r.scores.mae < b.cv_mae) {
                best = Some(Choice {
                    method: r.method.name().into(),
                    feature_set: set.name.clone(),
                    params: json!(r.params),
                    cv_mae: r.scores.mae,
                });
            }
        }
        if let Some(blend) = blends.iter().find(|b| b.feature_set == set.name) {
            if best.as_ref().is_none_or(|b| blend.scores.mae < b.cv_mae) {
                let members: serde_json::Map<String, serde_json::Value> = blend
                    .weights
                    .iter()
                    .filter(|(_, w)| *w > 0.0)
                    .map(|(name, weight)| {
                        let params = results
                            .iter()
                            .find(|r| r.feature_set == set.name && r.method.name() == name)
                            .map(|r| json!(r.params));
                        (name.clone(), json!({"weight": weight, "params": params}))
                    })
                    .collect();
                best = Some(Choice {
                    method: "blend".into(),
                    feature_set: set.name.clone(),
                    params: serde_json::Value::Object(members),
                    cv_mae: blend.scores.mae,
                });
            }
        }
        // Every feature set has six methods, so there is always a choice.
        best.unwrap_or(Choice {
            method: String::new(),
            feature_set: set.name.clone(),
            params: json!(null),
            cv_mae: f64::INFINITY,
        })
    };
    let per_set: Vec<Choice> = sets.iter().map(choose).collect();
    let best = per_set
        .iter()
        .min_by(|a, b| a.cv_mae.total_cmp(&b.cv_mae))
        .cloned()
        .unwrap_or_else(|| per_set[0].clone());
    let fallback = per_set[0].clone();
    log(
        "task1",
        format!(
            "best: {} on {} (CV MAE {:.4}); audio-only fallback: {} (CV MAE {:.4})",
            best.method, best.feature_set, best.cv_mae, fallback.method, fallback.cv_mae
        ),
    );

    // Final fits on all training rows.
    let fit_choice = |choice: &Choice| -> Result<(FeatureSet, ModelFile), PipelineError> {
        let set = sets
            .iter()
            .find(|s| s.name == choice.feature_set)
            .cloned()
            .unwrap_or_else(FeatureSet::audio);
        let x = set.matrix(&inputs.train)?;
        let model = if choice.method == "blend" {
            let blend = blends.iter().find(|b| b.feature_set == set.name);
            let mut members = Vec::new();
            for (name, weight) in blend.map(|b| b.weights.clone()).unwrap_or_default() {
                if weight <= 0.0 {
                    continue;
                }
                let result = results
                    .iter()
                    .find(|r| r.feature_set == set.name && r.method.name() == name)
                    .ok_or_else(|| {
                        PipelineError::Inconsistent(format!("blend member {name} has no result"))
                    })?;
                members.push((weight, result.method.fit(&result.params, &x, &inputs.y)?));
            }
            FittedModel::Blend(members)
        } else {
            let result = results
                .iter()
                .find(|r| r.feature_set == set.name && r.method.name() == choice.method)
                .ok_or_else(|| {
                    PipelineError::Inconsistent(format!("method {} has no result", choice.method))
                })?;
            result.method.fit(&result.params, &x, &inputs.y)?
        };
        Ok((set.clone(), ModelFile::new(model, set.names(), "valence")))
    };
    log("task1", "fitting the chosen models on all chart tracks");
    let mut fitted = Vec::new();
    for choice in &per_set {
        let (set, model) = fit_choice(choice)?;
        model.save(&out.file(&format!("best_{}.json", slug(&set.name))))?;
        fitted.push((set, model));
    }
    let best_index = per_set
        .iter()
        .position(|c| c.feature_set == best.feature_set)
        .unwrap_or(0);
    let (best_set, best_model) = &fitted[best_index];
    let (fallback_set, fallback_model) = &fitted[0];
    let (predictions, fallback_ids) = predict_eval(
        &inputs.eval,
        best_set,
        best_model,
        fallback_set,
        fallback_model,
    )?;
    // Near twins (the same recording under another id) take their twin's valence.
    let mut near_twins = Vec::new();
    for (set, choice) in sets.iter().zip(&per_set) {
        let model_oof = choice_oof(choice, &results, &blends).ok_or_else(|| {
            PipelineError::Inconsistent(format!(
                "no out-of-fold predictions for {} on {}",
                choice.method, set.name
            ))
        })?;
        let distances = TwinDistances::measure(set, &set.matrix(&inputs.train)?, &inputs)?;
        let twins = NearTwins::find(&distances, &choice.method, &inputs, &model_oof)?;
        log("task1", twins.describe());
        near_twins.push(twins);
    }
    let mut predictions = predictions;
    let from_twins = apply_near_twins(
        &mut predictions,
        &inputs.eval,
        best_set,
        &near_twins[best_index],
        &near_twins[0],
    );
    log(
        "task1",
        format!("{from_twins} evaluation tracks take a near twin's valence"),
    );
    let ids: Vec<String> = inputs.eval.iter().map(|t| t.id.clone()).collect();
    write_predictions(&out.file("predictions.csv"), "valence", &ids, &predictions)?;

    // Explanation with the boosting model, per feature set.
    let (repeats, top) = match config.budget {
        Budget::Full => (3, 6),
        Budget::Quick => (1, 3),
    };
    let mut influences: Vec<Influence> = Vec::new();
    for set in &sets {
        log(
            "task1",
            format!("explaining valence with the boosting model [{}]", set.name),
        );
        let x = set.matrix(&inputs.train)?;
        let Some(boosting) = results
            .iter()
            .find(|r| r.feature_set == set.name && r.method == Method::Boosting)
        else {
            continue;
        };
        let FittedModel::Boosting(fitted) =
            Method::Boosting.fit(&boosting.params, &x, &inputs.y)?
        else {
            continue;
        };
        let influence = explain_boosting(
            &boosting.params,
            set,
            &x,
            &inputs,
            &fitted,
            repeats,
            top,
            config.seed,
        )?;
        ModelFile::new(FittedModel::Boosting(fitted), set.names(), "valence")
            .save(&out.file(&format!("boosting_{}.json", slug(&set.name))))?;
        influences.push(influence);
    }

    let summary = Task1Summary {
        best_twins: near_twins[best_index].clone(),
        best,
        fallback,
        fallback_ids,
        near_twins,
        from_twins,
        seconds: start.elapsed().as_secs_f64(),
    };
    write_outputs(
        config,
        &out,
        &inputs,
        &sets,
        &results,
        &blends,
        &influences,
        &summary,
    )?;
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

/// The out-of-fold predictions of a chosen model: a method's best candidate or the blend.
fn choice_oof(
    choice: &Choice,
    results: &[MethodResult],
    blends: &[BlendOutcome],
) -> Option<ndarray::Array1<f64>> {
    if choice.method == "blend" {
        blends
            .iter()
            .find(|b| b.feature_set == choice.feature_set)
            .map(|b| b.oof.clone())
    } else {
        results
            .iter()
            .find(|r| r.feature_set == choice.feature_set && r.method.name() == choice.method)
            .map(|r| r.oof.clone())
    }
}

#[allow(clippy::too_many_arguments)]
fn write_outputs(
    config: &Task1Config,
    out: &OutDir,
    inputs: &ValenceInputs,
    sets: &[FeatureSet],
    results: &[MethodResult],
    blends: &[BlendOutcome],
    influences: &[Influence],
    summary: &Task1Summary,
) -> Result<(), PipelineError> {
    let mut cv_mae = serde_json::Map::new();
    for r in results {
        cv_mae
            .entry(r.method.name())
            .or_insert_with(|| json!({}))
            .as_object_mut()
            .map(|m| m.insert(r.feature_set.clone(), json!(r.scores.mae)));
    }
    let mut blend_mae = serde_json::Map::new();
    for b in blends {
        blend_mae.insert(b.feature_set.clone(), json!(b.scores.mae));
    }
    cv_mae.insert("blend".into(), serde_json::Value::Object(blend_mae));
    let metrics = json!({
        "task": "valence, without neural networks",
        "budget": format!("{:?}", config.budget).to_lowercase(),
        "seed": config.seed,
        "folds": {"k": inputs.folds.len(), "grouping": inputs.grouping, "recordings": inputs.recordings},
        "cv_mae": cv_mae,
        "methods": results,
        "blends": blends,
        "best": summary.best,
        "fallback": {"model": summary.fallback, "ids": summary.fallback_ids},
        "influence": influences,
        "near_twins": summary.near_twins,
        "best_with_twins": {"cv_mae": summary.best_twins.cv_mae, "eval_estimate": summary.best_twins.eval_estimate, "radius": summary.best_twins.radius},
        "predictions": {"file": "predictions.csv", "count": inputs.eval.len(), "from_twins": summary.from_twins},
        "seconds": summary.seconds,
    });
    write_json(&out.file("metrics.json"), &metrics)?;

    let mut md = Markdown::new();
    md.heading(1, "Task 1: valence without neural networks");
    md.paragraph(&format!(
        "Trained on {} chart tracks, scored by {}-fold cross-validated MAE on the same folds for every method. The {} tracks share {} distinct audio-feature vectors, because one recording is often released under several ids with identical features and valence. {} Run took {:.0} s ({} budget, seed {}).",
        inputs.train.len(),
        inputs.folds.len(),
        inputs.train.len(),
        inputs.recordings,
        match inputs.grouping {
            Grouping::Recordings => "Folds are grouped: such copies always fall in the same fold, so no method is rewarded for memorising them. Near copies (not identical; see near twins below) can still fall on both sides of a fold.",
            Grouping::Plain => "Folds are plain shuffled k-fold (as the LightGBM reference was measured): copies can sit on both sides of a fold, which flatters methods that memorise.",
        },
        summary.seconds,
        format!("{:?}", config.budget).to_lowercase(),
        config.seed
    ));
    md.heading(2, "Answer");
    md.paragraph(&format!(
        "The best model is **{}** on the **{}** features, with CV MAE **{:.4}**. Without the analysis means, the best is {} with CV MAE {:.4}; it predicts the {} evaluation track(s) that have no analysis ({}).",
        summary.best.method,
        summary.best.feature_set,
        summary.best.cv_mae,
        summary.fallback.method,
        summary.fallback.cv_mae,
        summary.fallback_ids.len(),
        summary.fallback_ids.iter().map(|id| format!("`{id}`")).collect::<Vec<_>>().join(", ")
    ));
    md.paragraph(&format!(
        "With near twins (below), the best model's CV MAE is **{:.4}**; re-weighted to the evaluation tracks' share of twins, the score on them should be near **{:.4}**. {} evaluation tracks take a near twin's valence.",
        summary.best_twins.cv_mae, summary.best_twins.eval_estimate, summary.from_twins
    ));
    md.heading(2, "Near twins: one recording under several ids");
    for twins in &summary.near_twins {
        md.paragraph(&twins.describe());
    }
    md.heading(2, "CV MAE per method and feature set");
    let mut rows: Vec<Vec<String>> = Vec::new();
    for method in Method::ALL {
        let mut row = vec![method.name().to_string()];
        for set in sets {
            let cell = results
                .iter()
                .find(|r| r.method == method && r.feature_set == set.name)
                .map_or("–".into(), |r| {
                    format!("{:.4} ± {:.4}", r.scores.mae, r.scores.mae_sd)
                });
            row.push(cell);
        }
        rows.push(row);
    }
    let mut blend_row = vec!["blend (weights chosen on other folds)".to_string()];
    for set in sets {
        blend_row.push(
            blends
                .iter()
                .find(|b| b.feature_set == set.name)
                .map_or("–".into(), |b| {
                    format!("{:.4} ± {:.4}", b.scores.mae, b.scores.mae_sd)
                }),
        );
    }
    rows.push(blend_row);
    let header: Vec<String> = std::iter::once("method".to_string())
        .chain(sets.iter().map(|s| s.name.clone()))
        .collect();
    let header: Vec<&str> = header.iter().map(String::as_str).collect();
    md.table(&header, &rows);
    for b in blends {
        let weights: Vec<String> = b
            .weights
            .iter()
            .filter(|(_, w)| *w > 0.0)
            .map(|(n, w)| format!("{n} {w:.2}"))
            .collect();
        md.paragraph(&format!(
            "Blend weights on {} (chosen on all out-of-fold rows): {}.",
            b.feature_set,
            weights.join(", ")
        ));
    }
    md.heading(2, "Methods, search spaces and best parameters");
    for method in Method::ALL {
        md.heading(3, method.name());
        md.paragraph(method.description());
        let space: Vec<String> = method
            .space()
            .params
            .iter()
            .map(|(name, domain)| format!("`{name}`: {}", describe_domain(domain)))
            .collect();
        md.paragraph(&format!("Search space: {}.", space.join("; ")));
        for r in results.iter().filter(|r| r.method == method) {
            md.paragraph(&format!(
                "**{}**: {} candidates in {:.0} s; best {} → CV MAE {:.4} (RMSE {:.4}, R² {:.3}).{}{}",
                r.feature_set,
                r.candidates,
                r.seconds,
                describe(&r.params),
                r.scores.mae,
                r.scores.rmse,
                r.scores.r2,
                r.note.as_ref().map_or(String::new(), |n| format!(" Note: {n}.")),
                if r.failed.is_empty() { String::new() } else { format!(" {} candidates failed: {}.", r.failed.len(), r.failed.join("; ")) }
            ));
        }
    }
    md.heading(2, "Which features influence valence");
    for influence in influences {
        let stem = format!("influence_{}", slug(&influence.feature_set));
        md.heading(3, &format!("Boosting model on {}", influence.feature_set));
        md.paragraph("Ranked by permutation importance on held-out folds; direction and size from partial dependence of the model fitted on all tracks. Generated from this run's numbers:");
        md.bullets(&influence_sentences(influence));
        let permutation_png = format!("{stem}_permutation.png");
        evaluation::plot::importance(
            &out.file(&permutation_png),
            &format!("Permutation importance [{}]", influence.feature_set),
            "rise in held-out MAE when shuffled",
            &influence.permutation,
        )?;
        let gain_png = format!("{stem}_gain.png");
        let top_gain: Vec<Importance> = influence.gain.iter().take(20).cloned().collect();
        evaluation::plot::importance(
            &out.file(&gain_png),
            &format!("Boosting gain importance [{}]", influence.feature_set),
            "share of total split gain",
            &top_gain,
        )?;
        let pd_png = format!("{stem}_partial_dependence.png");
        evaluation::plot::partial_dependence(
            &out.file(&pd_png),
            &format!(
                "Partial dependence of predicted valence [{}]",
                influence.feature_set
            ),
            &influence.partial_dependence,
        )?;
        md.image("permutation importance", &permutation_png);
        md.image("gain importance", &gain_png);
        md.image("partial dependence", &pd_png);
    }
    md.heading(2, "Out-of-fold predictions of the chosen models");
    for set in sets {
        let oof = if let Some(b) = blends.iter().find(|b| {
            b.feature_set == set.name
                && summary.best.method == "blend"
                && summary.best.feature_set == set.name
        }) {
            b.oof.clone()
        } else {
            let method = if set.name == summary.best.feature_set {
                &summary.best.method
            } else {
                &summary.fallback.method
            };
            match results
                .iter()
                .find(|r| r.feature_set == set.name && r.method.name() == method)
            {
                Some(r) => r.oof.clone(),
                None => match blends.iter().find(|b| b.feature_set == set.name) {
                    Some(b) => b.oof.clone(),
                    None => continue,
                },
            }
        };
        plot_oof(
            out,
            &mut md,
            &set.name,
            &format!("oof_{}", slug(&set.name)),
            &inputs.y,
            &oof,
        )?;
    }
    md.heading(2, "Files");
    md.bullets(&[
        "`predictions.csv`: `id,valence` for every id of `spotify_ids.txt`, in its order, clipped to [0, 1].",
        "`metrics.json`: every number of this report.",
        "`oof.csv`: out-of-fold predictions of every method on the shared folds (Task 2 blends with them).",
        "`best_audio.json`, `best_audio_analysis.json`, `boosting_*.json`: the best model and the boosting model of each feature set, fitted on all chart tracks, with their feature lists (`classic_models::ModelFile::load`).",
    ]);
    md.write(&out.file("report.md"))?;
    Ok(())
}

fn describe_domain(domain: &evaluation::Domain) -> String {
    match domain {
        evaluation::Domain::Choice(values) => values
            .iter()
            .map(|v| v.to_string())
            .collect::<Vec<_>>()
            .join(" | "),
        evaluation::Domain::Int { low, high, log } => {
            format!("{low}..={high}{}", if *log { " (log)" } else { "" })
        }
        evaluation::Domain::Float { low, high, log } => {
            format!("{low}..={high}{}", if *log { " (log)" } else { "" })
        }
    }
}
