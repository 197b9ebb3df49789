//! *Report*: `metrics.json` ([`Task1Metrics`]) and `report.md`, with their plots.

use std::collections::BTreeMap;

use evaluation::report::{write_json, Markdown};
use evaluation::{describe, CvScores, Importance};
use serde::{Deserialize, Serialize};

use crate::valence::intervals::IntervalReport;

use super::{Choice, Chosen, Searched, Task1Config, Task1Summary};
use crate::valence::{
    influence_sentences, plot_oof, Budget, FeatureSetId, Grouping, Influence, Method, MethodResult,
    Model, NearTwins, OutDir, PipelineError, Task1Model, TwinsSummary, ValenceInputs,
};

/// Everything a finished run reports.
pub(super) struct Finished<'a> {
    pub config: &'a Task1Config,
    pub out: &'a OutDir,
    pub inputs: &'a ValenceInputs,
    pub searched: &'a Searched,
    pub chosen: &'a Chosen,
    pub influences: &'a [Influence],
    pub summary: &'a Task1Summary,
}

/// The schema of Task 1's `metrics.json`: every number of its report.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Task1Metrics {
    /// What was predicted: `valence, without neural networks`.
    pub task: String,
    /// The search budget: `full` or `quick`.
    pub budget: Budget,
    /// The seed of folds, searches and models.
    pub seed: u64,
    /// How the chart tracks were dealt into folds.
    pub folds: FoldsReport,
    /// CV MAE by model (each method's name, and `blend`) and feature set.
    pub cv_mae: BTreeMap<Task1Model, BTreeMap<FeatureSetId, f64>>,
    /// Each method's search on each feature set.
    pub methods: Vec<MethodResult>,
    /// The blend of each feature set's methods.
    pub blends: Vec<BlendReport>,
    /// The chosen model, which predicts the tracks its feature set covers.
    pub best: Choice,
    /// The best audio-only model, which predicts the other tracks.
    pub fallback: FallbackReport,
    /// What the boosting model of each feature set says about the features.
    pub influence: Vec<Influence>,
    /// The near-twin correction of each feature set's chosen model.
    pub near_twins: Vec<NearTwins>,
    /// The best model's near-twin correction, in short.
    pub best_with_twins: TwinsSummary,
    /// The predictions written.
    pub predictions: PredictionsReport,
    /// The cross-fitted checks of each feature set's valence intervals, at 0.8, 0.9 and the
    /// run's coverage.
    pub intervals: Vec<IntervalReport>,
    /// Wall-clock seconds of the run.
    pub seconds: f64,
}

/// How the chart tracks were dealt into folds.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct FoldsReport {
    /// Number of folds.
    pub k: usize,
    /// Whether copies of a recording share a fold.
    pub grouping: Grouping,
    /// Number of distinct recordings (groups of identical audio features).
    pub recordings: usize,
}

/// The blend of one feature set's methods.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct BlendReport {
    /// The feature set.
    pub feature_set: FeatureSetId,
    /// Every method's weight, zero weights included, in search order.
    pub weights: Vec<(Model, f64)>,
    /// The blend's cross-fitted scores.
    pub scores: CvScores,
}

/// The audio-only fallback.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct FallbackReport {
    /// The best model on the audio features.
    pub model: Choice,
    /// The evaluation tracks it predicts (those without analysis means).
    pub ids: Vec<String>,
}

/// The predictions file.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct PredictionsReport {
    /// Its name in the output directory.
    pub file: String,
    /// Number of tracks predicted.
    pub count: usize,
    /// Tracks that took a near twin's valence.
    pub from_twins: usize,
}

impl Task1Metrics {
    /// The metrics of a finished run.
    fn of(finished: &Finished<'_>) -> Task1Metrics {
        let Finished {
            config,
            inputs,
            searched,
            influences,
            summary,
            ..
        } = finished;
        let mut cv_mae: BTreeMap<Task1Model, BTreeMap<FeatureSetId, f64>> = BTreeMap::new();
        for r in &searched.methods {
            cv_mae
                .entry(Task1Model::Method(r.method))
                .or_default()
                .insert(r.feature_set, r.scores.mae);
        }
        let blends: Vec<BlendReport> = searched
            .blends
            .iter()
            .map(|b| BlendReport {
                feature_set: b.candidate.features(),
                weights: b.candidate.weights().to_vec(),
                scores: b.scores.clone(),
            })
            .collect();
        cv_mae.insert(
            Task1Model::Blend,
            blends
                .iter()
                .map(|b| (b.feature_set, b.scores.mae))
                .collect(),
        );
        Task1Metrics {
            task: "valence, without neural networks".into(),
            budget: config.budget,
            seed: config.seed,
            folds: FoldsReport {
                k: inputs.folds.len(),
                grouping: inputs.grouping,
                recordings: inputs.recordings,
            },
            cv_mae,
            methods: searched.methods.clone(),
            blends,
            best: summary.best.clone(),
            fallback: FallbackReport {
                model: summary.fallback.clone(),
                ids: summary.fallback_ids.clone(),
            },
            influence: influences.to_vec(),
            near_twins: summary.near_twins.clone(),
            best_with_twins: TwinsSummary::from(&summary.best_twins),
            predictions: PredictionsReport {
                file: "predictions.csv".into(),
                count: inputs.eval.len(),
                from_twins: summary.from_twins,
            },
            intervals: summary.intervals.clone(),
            seconds: summary.seconds,
        }
    }
}

/// Writes `metrics.json`, `report.md` and the report's plots.
pub(super) fn write(finished: &Finished<'_>) -> Result<(), PipelineError> {
    let out = finished.out;
    write_json(&out.file("metrics.json"), &Task1Metrics::of(finished))?;
    let mut md = Markdown::new();
    md.heading(1, "Task 1: valence without neural networks");
    introduction(&mut md, finished);
    answer(&mut md, finished.summary);
    md.heading(2, "Near twins: one recording under several ids");
    for twins in &finished.summary.near_twins {
        md.paragraph(&twins.describe());
    }
    crate::valence::intervals::markdown_section(
        &mut md,
        finished.config.coverage,
        &finished.summary.intervals,
    );
    crate::valence::intervals::plot(
        out,
        &mut md,
        finished.inputs,
        &finished.summary.best_twins,
        finished.config.coverage,
    )?;
    score_table(&mut md, finished.searched);
    methods(&mut md, finished.searched);
    md.heading(2, "Which features influence valence");
    for influence in finished.influences {
        influence_section(&mut md, out, influence)?;
    }
    md.heading(2, "Out-of-fold predictions of the chosen models");
    for scored in &finished.chosen.per_set {
        let features = scored.candidate.features();
        plot_oof(
            out,
            &mut md,
            features.name(),
            &format!("oof_{}", features.slug()),
            &finished.inputs.y,
            &scored.oof,
        )?;
    }
    md.heading(2, "Files");
    md.bullets(&[
        "`predictions.csv`: `id,valence,valence_low,valence_high` for every id of `spotify_ids.txt`, in its order, clipped to [0, 1]; the interval holds the true valence with the run's coverage (below).",
        "`metrics.json`: every number of this report.",
        "`oof.csv`: out-of-fold predictions of every method on the shared folds (Task 2 blends with them).",
        "`best_audio.json`, `best_audio_analysis.json`, `boosting_*.json`: the best model and the boosting model of each feature set, fitted on all chart tracks, with their feature lists (`classic_models::ModelFile::load`).",
    ]);
    md.write(&out.file("report.md"))?;
    Ok(())
}

fn introduction(md: &mut Markdown, finished: &Finished<'_>) {
    let (inputs, config) = (finished.inputs, finished.config);
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
        finished.summary.seconds,
        config.budget.name(),
        config.seed
    ));
}

fn answer(md: &mut Markdown, summary: &Task1Summary) {
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
}

fn score_cell(scores: &CvScores) -> String {
    format!("{:.4} ± {:.4}", scores.mae, scores.mae_sd)
}

fn score_table(md: &mut Markdown, searched: &Searched) {
    md.heading(2, "CV MAE per method and feature set");
    let mut rows: Vec<Vec<String>> = Method::ALL
        .iter()
        .map(|&method| {
            std::iter::once(method.name().to_string())
                .chain(FeatureSetId::ALL.iter().map(|&features| {
                    searched
                        .result(method, features)
                        .map_or("–".into(), |r| score_cell(&r.scores))
                }))
                .collect()
        })
        .collect();
    rows.push(
        std::iter::once("blend (weights chosen on other folds)".to_string())
            .chain(FeatureSetId::ALL.iter().map(|&features| {
                searched
                    .blends
                    .iter()
                    .find(|b| b.candidate.features() == features)
                    .map_or("–".into(), |b| score_cell(&b.scores))
            }))
            .collect(),
    );
    let header: Vec<&str> = std::iter::once("method")
        .chain(FeatureSetId::ALL.iter().map(|features| features.name()))
        .collect();
    md.table(&header, &rows);
    for b in &searched.blends {
        md.paragraph(&format!(
            "Blend weights on {} (chosen on all out-of-fold rows): {}.",
            b.candidate.features(),
            b.candidate.describe_weights(false)
        ));
    }
}

fn methods(md: &mut Markdown, searched: &Searched) {
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
        for r in searched.methods.iter().filter(|r| r.method == method) {
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
                if r.failed.is_empty() {
                    String::new()
                } else {
                    format!(" {} candidates failed: {}.", r.failed.len(), r.failed.join("; "))
                }
            ));
        }
    }
}

fn influence_section(
    md: &mut Markdown,
    out: &OutDir,
    influence: &Influence,
) -> Result<(), PipelineError> {
    let features = influence.feature_set;
    let stem = format!("influence_{}", features.slug());
    md.heading(3, &format!("Boosting model on {features}"));
    md.paragraph("Ranked by permutation importance on held-out folds; direction and size from partial dependence of the model fitted on all tracks. Generated from this run's numbers:");
    md.bullets(&influence_sentences(influence));
    let permutation_png = format!("{stem}_permutation.png");
    evaluation::plot::importance(
        &out.file(&permutation_png),
        &format!("Permutation importance [{features}]"),
        "rise in held-out MAE when shuffled",
        &influence.permutation,
    )?;
    let gain_png = format!("{stem}_gain.png");
    let top_gain: Vec<Importance> = influence.gain.iter().take(20).cloned().collect();
    evaluation::plot::importance(
        &out.file(&gain_png),
        &format!("Boosting gain importance [{features}]"),
        "share of total split gain",
        &top_gain,
    )?;
    let pd_png = format!("{stem}_partial_dependence.png");
    evaluation::plot::partial_dependence(
        &out.file(&pd_png),
        &format!("Partial dependence of predicted valence [{features}]"),
        &influence.partial_dependence,
    )?;
    md.image("permutation importance", &permutation_png);
    md.image("gain importance", &gain_png);
    md.image("partial dependence", &pd_png);
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
