//! *Report*: `metrics.json` ([`Task2Metrics`]) and `report.md`, with their plots.

use std::collections::BTreeMap;

use evaluation::report::{write_json, Markdown};
use evaluation::{describe, CvScores, ParamSet};
use ndarray::Array1;
use serde::{Deserialize, Serialize};

use super::{Answer, Decision, NetworkRun, Overfitting, Task2Config, Task2Summary, TwinOutcome};
use crate::valence::{
    plot_oof, BlendKind, Budget, Candidate, CandidateName, FeatureSetId, Model, NearTwins, OutDir,
    PipelineError, Scored, Task1Model, TwinsSummary,
};

/// Everything a finished run reports.
pub(super) struct Finished<'a> {
    pub config: &'a Task2Config,
    pub out: &'a OutDir,
    pub y: &'a Array1<f64>,
    pub candidates: &'a [Scored],
    pub networks: &'a [NetworkRun],
    pub decision: &'a Decision,
    pub fallback_ids: &'a [String],
    pub twins: &'a TwinOutcome,
    pub summary: &'a Task2Summary,
}

/// The schema of Task 2's `metrics.json`: every number of its report.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Task2Metrics {
    /// What was predicted: `valence, with neural networks`.
    pub task: String,
    /// The search budget: `full` or `quick`.
    pub budget: Budget,
    /// The seed of folds, searches and networks.
    pub seed: u64,
    /// CV MAE of each kind of candidate on each feature set.
    pub cv_mae: CvMaeReport,
    /// Every candidate, feature set by feature set: `nn`, `task1:<model>`, `nn+boosting`,
    /// `nn+task1`.
    pub candidates: Vec<CandidateReport>,
    /// The best network configuration of each feature set.
    pub networks: Vec<NetworkReport>,
    /// What the learning curves of each feature set's best network show.
    pub overfitting: Vec<Overfitting>,
    /// The seed ensemble behind each feature set's `nn` candidate.
    pub nn_ensemble: Vec<EnsembleReport>,
    /// The winner.
    pub best: BestReport,
    /// The best audio-only candidate, which predicts the tracks without analysis means.
    pub fallback: FallbackReport,
    /// Whether the best results come `with` or `without` neural networks.
    pub answer: Answer,
    /// Near-twin corrections.
    pub near_twins: NearTwinsReport,
    /// The winner's near-twin correction, in short.
    pub best_with_twins: TwinsSummary,
    /// The predictions written.
    pub predictions: PredictionsReport,
    /// The cross-fitted checks of the winner's and the fallback's valence intervals, at 0.8,
    /// 0.9 and the run's coverage.
    pub intervals: Vec<crate::valence::intervals::IntervalReport>,
    /// Wall-clock seconds of the run.
    pub seconds: f64,
}

/// CV MAE by kind of candidate and feature set.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct CvMaeReport {
    /// The network ensemble.
    pub nn: BTreeMap<FeatureSetId, f64>,
    /// The network blended with Task 1's boosting model (`nn+boosting`).
    #[serde(rename = "blend")]
    pub network_boosting: BTreeMap<FeatureSetId, f64>,
    /// The network blended with Task 1's best model.
    #[serde(rename = "nn+task1")]
    pub network_task1: BTreeMap<FeatureSetId, f64>,
    /// Task 1's best model.
    pub task1_best: BTreeMap<FeatureSetId, Task1Best>,
}

/// Task 1's best model on a feature set.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Task1Best {
    /// A method's name, or `blend`.
    pub model: Task1Model,
    /// Its CV MAE.
    pub cv_mae: f64,
}

/// A candidate and its scores.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct CandidateReport {
    /// The candidate: `name`, `feature_set` and blend `weights`.
    #[serde(flatten)]
    pub candidate: Candidate,
    /// Its cross-validated scores on the shared folds.
    pub scores: CvScores,
    /// Whether a neural network contributes.
    pub uses_network: bool,
}

/// The best network configuration of a feature set.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct NetworkReport {
    /// The feature set.
    pub feature_set: FeatureSetId,
    /// The configuration.
    pub params: ParamSet,
    /// The top candidates of the search: parameters and CV MAE.
    pub leaderboard: Vec<(String, f64)>,
}

/// The seed ensemble of a feature set.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct EnsembleReport {
    /// The feature set.
    pub feature_set: FeatureSetId,
    /// The seeds averaged.
    pub seeds: Vec<u64>,
    /// The CV MAE of the single network the search found.
    pub single_network_cv_mae: f64,
}

/// The winner.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct BestReport {
    /// Its name.
    pub method: CandidateName,
    /// Its feature set.
    pub feature_set: FeatureSetId,
    /// The best network configuration on that feature set (also when the winner is a Task 1
    /// model).
    pub params: Option<ParamSet>,
    /// Its blend weights (empty for a single model).
    pub weights: Vec<(Model, f64)>,
    /// Its CV MAE.
    pub cv_mae: f64,
}

/// The audio-only fallback.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct FallbackReport {
    /// Its name.
    pub method: CandidateName,
    /// Its feature set.
    pub feature_set: FeatureSetId,
    /// Its CV MAE.
    pub cv_mae: f64,
    /// The evaluation tracks it predicts.
    pub ids: Vec<String>,
}

/// Near-twin corrections of the candidates that predict, and of the networks.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct NearTwinsReport {
    /// The winner's.
    pub best: NearTwins,
    /// The fallback's.
    pub fallback: NearTwins,
    /// Each feature set's network ensemble's.
    pub nn: Vec<NearTwins>,
}

/// The predictions file.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct PredictionsReport {
    /// Its name in the output directory.
    pub file: String,
    /// Tracks that took a near twin's valence.
    pub from_twins: usize,
}

/// The MAE of each candidate named `name`, by feature set.
fn mae_by_set(candidates: &[Scored], name: CandidateName) -> BTreeMap<FeatureSetId, f64> {
    candidates
        .iter()
        .filter(|c| c.candidate.name() == name)
        .map(|c| (c.candidate.features(), c.scores.mae))
        .collect()
}

impl CvMaeReport {
    fn of(candidates: &[Scored]) -> CvMaeReport {
        let task1_best = candidates
            .iter()
            .filter_map(|c| match c.candidate {
                Candidate::Single {
                    model: Model::Task1(model),
                    features,
                } => Some((
                    features,
                    Task1Best {
                        model,
                        cv_mae: c.scores.mae,
                    },
                )),
                _ => None,
            })
            .collect();
        CvMaeReport {
            nn: mae_by_set(candidates, CandidateName::Model(Model::Network)),
            network_boosting: mae_by_set(
                candidates,
                CandidateName::Blend(BlendKind::NetworkBoosting),
            ),
            network_task1: mae_by_set(candidates, CandidateName::Blend(BlendKind::NetworkTask1)),
            task1_best,
        }
    }
}

impl Task2Metrics {
    /// The metrics of a finished run.
    fn of(finished: &Finished<'_>) -> Task2Metrics {
        let Finished {
            config,
            candidates,
            networks,
            decision,
            twins,
            summary,
            ..
        } = finished;
        let (best, fallback) = (&decision.best, &decision.fallback);
        Task2Metrics {
            task: "valence, with neural networks".into(),
            budget: config.run.budget,
            seed: config.run.seed,
            cv_mae: CvMaeReport::of(candidates),
            candidates: candidates
                .iter()
                .map(|c| CandidateReport {
                    candidate: c.candidate.clone(),
                    scores: c.scores.clone(),
                    uses_network: c.candidate.uses_network(),
                })
                .collect(),
            networks: networks
                .iter()
                .map(|n| NetworkReport {
                    feature_set: n.features,
                    params: n.params.clone(),
                    leaderboard: n.leaderboard.clone(),
                })
                .collect(),
            overfitting: networks.iter().map(|n| n.overfitting.clone()).collect(),
            nn_ensemble: networks
                .iter()
                .map(|n| EnsembleReport {
                    feature_set: n.features,
                    seeds: n.seeds.clone(),
                    single_network_cv_mae: n.single.mae,
                })
                .collect(),
            best: BestReport {
                method: best.candidate.name(),
                feature_set: best.candidate.features(),
                params: networks
                    .iter()
                    .find(|n| n.features == best.candidate.features())
                    .map(|n| n.params.clone()),
                weights: best.candidate.weights().to_vec(),
                cv_mae: best.scores.mae,
            },
            fallback: FallbackReport {
                method: fallback.candidate.name(),
                feature_set: fallback.candidate.features(),
                cv_mae: fallback.scores.mae,
                ids: finished.fallback_ids.to_vec(),
            },
            answer: summary.answer,
            near_twins: NearTwinsReport {
                best: twins.best.clone(),
                fallback: twins.fallback.clone(),
                nn: twins.networks.clone(),
            },
            best_with_twins: TwinsSummary::from(&twins.best),
            predictions: PredictionsReport {
                file: "predictions.csv".into(),
                from_twins: twins.from_twins,
            },
            intervals: summary.intervals.clone(),
            seconds: summary.seconds,
        }
    }
}

/// Writes `metrics.json`, `report.md` and the out-of-fold plots of the networks.
pub(super) fn write(finished: &Finished<'_>) -> Result<(), PipelineError> {
    let out = finished.out;
    write_json(&out.file("metrics.json"), &Task2Metrics::of(finished))?;
    let mut md = Markdown::new();
    md.heading(1, "Task 2: valence with neural networks");
    introduction(&mut md, finished);
    comparison(&mut md, finished.candidates);
    best_networks(&mut md, finished);
    md.heading(2, "Overfitting");
    for network in finished.networks {
        let o = &network.overfitting;
        md.paragraph(&format!(
            "**{}**: trained {} epochs, kept epoch {}. MAE on its training rows {:.4}, on its early-stopping validation split {:.4}, on the held-out fold {:.4}: a train–test gap of {:.4}.",
            o.feature_set, o.epochs, o.best_epoch, o.train_mae, o.validation_mae, o.test_mae, o.test_mae - o.train_mae
        ));
        md.image(&format!("learning curve {}", o.feature_set), &o.plot);
    }
    for network in finished.networks {
        let features = network.features;
        plot_oof(
            out,
            &mut md,
            &format!("network [{features}]"),
            &format!("nn_oof_{}", features.slug()),
            finished.y,
            &network.ensemble.oof,
        )?;
    }
    answer(&mut md, finished);
    near_twins(&mut md, finished.twins);
    crate::valence::intervals::markdown_section(
        &mut md,
        finished.config.run.coverage,
        &finished.summary.intervals,
    );
    md.write(&out.file("report.md"))?;
    Ok(())
}

fn introduction(md: &mut Markdown, finished: &Finished<'_>) {
    let run = &finished.config.run;
    md.paragraph(&format!(
        "Multilayer perceptrons (tch/libtorch, CPU) searched at random over width, depth, dropout, learning rate, weight decay, batch size, loss and activation, on the same {}-fold split as Task 1 ({}). Every candidate trains with AdamW, holds out 10% of its training rows for early stopping (best weights restored), and halves its learning rate on plateaus. Run took {:.0} s ({} budget).",
        run.folds,
        run.grouping.describe(),
        finished.summary.seconds,
        run.budget.name()
    ));
}

/// Whether a candidate belongs in a row of the comparison table.
type Holds = fn(&Candidate) -> bool;

/// The rows of the comparison table, and which candidates each holds.
const COMPARISON_ROWS: [(&str, Holds); 4] = [
    ("best network (seed ensemble)", |c| {
        c.name() == CandidateName::Model(Model::Network)
    }),
    ("best Task 1 model", |c| {
        matches!(c.name(), CandidateName::Model(Model::Task1(_)))
    }),
    ("blend: network + boosting", |c| {
        c.name() == CandidateName::Blend(BlendKind::NetworkBoosting)
    }),
    ("blend: network + best Task 1 model", |c| {
        c.name() == CandidateName::Blend(BlendKind::NetworkTask1)
    }),
];

/// A cell of the comparison: the score, and what the candidate is.
fn comparison_cell(scored: &Scored) -> String {
    let detail = match &scored.candidate {
        Candidate::Single {
            model: Model::Task1(model),
            ..
        } => model.to_string(),
        Candidate::Single { model, .. } => model.to_string(),
        blend @ Candidate::Blend { .. } => blend.describe_weights(true),
    };
    format!(
        "{:.4} ± {:.4} ({detail})",
        scored.scores.mae, scored.scores.mae_sd
    )
}

fn comparison(md: &mut Markdown, candidates: &[Scored]) {
    md.heading(2, "Comparison on the same folds");
    let rows: Vec<Vec<String>> = COMPARISON_ROWS
        .iter()
        .map(|(label, holds)| {
            std::iter::once(label.to_string())
                .chain(FeatureSetId::ALL.iter().map(|&features| {
                    candidates
                        .iter()
                        .find(|c| c.candidate.features() == features && holds(&c.candidate))
                        .map_or("–".into(), comparison_cell)
                }))
                .collect()
        })
        .collect();
    let header: Vec<&str> = std::iter::once("model")
        .chain(FeatureSetId::ALL.iter().map(|features| features.name()))
        .collect();
    md.table(&header, &rows);
    md.paragraph("Blend weights are chosen on out-of-fold predictions; each fold's score uses weights chosen on the other folds.");
}

fn best_networks(md: &mut Markdown, finished: &Finished<'_>) {
    md.heading(2, "Best networks");
    for network in finished.networks {
        md.paragraph(&format!(
            "**{}**: {}",
            network.features,
            describe(&network.params)
        ));
        let seeds = &network.seeds;
        md.paragraph(&format!(
            "The `nn` row averages this configuration trained with {} seeds ({}): CV MAE {:.4}, against {:.4} for the single network the search found. Where a chosen candidate uses it, the configuration is fitted again on all chart tracks once per seed, and the evaluation tracks are predicted by the mean of those {} networks (saved in the bundle).",
            seeds.len(),
            seeds.iter().map(u64::to_string).collect::<Vec<_>>().join(", "),
            network.ensemble.scores.mae,
            network.single.mae,
            seeds.len(),
        ));
        let rows: Vec<Vec<String>> = network
            .leaderboard
            .iter()
            .map(|(params, mae)| vec![format!("{mae:.4}"), params.clone()])
            .collect();
        md.table(&["CV MAE", "candidate"], &rows);
    }
}

fn answer(md: &mut Markdown, finished: &Finished<'_>) {
    let Finished {
        candidates,
        decision,
        fallback_ids,
        summary,
        ..
    } = finished;
    md.heading(2, "Answer");
    let best = &decision.best;
    let without_networks =
        crate::valence::best_of(candidates.iter().filter(|c| !c.candidate.uses_network()));
    let weights = if best.candidate.weights().is_empty() {
        String::new()
    } else {
        format!(" (weights {})", best.candidate.describe_weights(true))
    };
    md.paragraph(&format!(
        "The lowest CV MAE is **{:.4}**, by **{}** on the **{}** features{weights}. The best model without networks scores {}. So the best results come **{} neural networks**.",
        best.scores.mae,
        best.candidate.name(),
        best.candidate.features(),
        without_networks.map_or("–".into(), |c| format!(
            "{:.4} ({} on {})",
            c.scores.mae,
            c.candidate.name(),
            c.candidate.features()
        )),
        summary.answer
    ));
    md.paragraph(&format!(
        "Tracks without an analysis ({}) are predicted by the best audio-only candidate, {} (CV MAE {:.4}).",
        fallback_ids.iter().map(|id| format!("`{id}`")).collect::<Vec<_>>().join(", "),
        decision.fallback.candidate.name(),
        decision.fallback.scores.mae
    ));
}

fn near_twins(md: &mut Markdown, twins: &TwinOutcome) {
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
                t.feature_set.to_string(),
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
}
