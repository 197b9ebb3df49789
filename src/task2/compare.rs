//! *Compare* and *choose*: on each feature set, the network ensemble, Task 1's chosen model and
//! two blends of them, all scored on the same folds; the lowest CV MAE wins.

use std::path::Path;

use classic_models::ModelFile;
use evaluation::CvScores;
use ndarray::{Array1, Axis};

use super::{Answer, NetworkRun};
use crate::log::log;
use crate::valence::{
    best_index, best_of, blend, BlendKind, Candidate, CandidateName, FeatureSetId, Method, Model,
    OofTable, PipelineError, Scored, Task1Model, ValenceInputs,
};

/// Scores, on each feature set in turn: the network ensemble (`nn`), Task 1's best model as
/// Task 1 chose it (`task1:<model>`, the lowest CV MAE of its out-of-fold columns), the network
/// blended with Task 1's boosting model (`nn+boosting`) and with Task 1's best (`nn+task1`).
pub fn compare(
    networks: &[NetworkRun],
    task1: &OofTable,
    inputs: &ValenceInputs,
) -> Result<Vec<Scored>, PipelineError> {
    let mut candidates = Vec::new();
    for network in networks {
        let features = network.features;
        let (task1_model, task1_best) = task1_best(task1, features, inputs)?;
        let boosting = task1
            .of_set(features)
            .find(|(model, _)| *model == Task1Model::Method(Method::Boosting))
            .map(|(_, oof)| oof)
            .ok_or_else(|| {
                PipelineError::Inconsistent(format!(
                    "Task 1's oof.csv has no boosting column for {features}"
                ))
            })?;
        let nn = &network.ensemble.oof;
        let blends = [
            (
                BlendKind::NetworkBoosting,
                [
                    (Model::Network, nn),
                    (Model::Method(Method::Boosting), boosting),
                ],
            ),
            (
                BlendKind::NetworkTask1,
                [
                    (Model::Network, nn),
                    (Model::Task1(task1_model), &task1_best.oof),
                ],
            ),
        ];
        candidates.push(network.ensemble.clone());
        candidates.push(task1_best.clone());
        for (kind, members) in blends {
            let blended = blend(kind, features, &members, inputs)?;
            log(
                "task2",
                format!(
                    "{kind} [{features}]: CV MAE {:.4} (nn weight {:.2})",
                    blended.scores.mae,
                    blended.candidate.weights()[0].1
                ),
            );
            candidates.push(blended);
        }
    }
    Ok(candidates)
}

/// Task 1's best model on a feature set, as Task 1 chose it: its out-of-fold column with the
/// lowest CV MAE (the first, in the table's order, on a tie).
fn task1_best(
    task1: &OofTable,
    features: FeatureSetId,
    inputs: &ValenceInputs,
) -> Result<(Task1Model, Scored), PipelineError> {
    let (models, columns): (Vec<Task1Model>, Vec<Scored>) = task1
        .of_set(features)
        .map(|(model, oof)| {
            let scored = Scored {
                candidate: Candidate::Single {
                    model: Model::Task1(model),
                    features,
                },
                scores: CvScores::of_predictions(&inputs.y, oof, &inputs.folds)?,
                oof: oof.clone(),
            };
            Ok((model, scored))
        })
        .collect::<Result<Vec<_>, PipelineError>>()?
        .into_iter()
        .unzip();
    let best = best_index(&columns).ok_or_else(|| {
        PipelineError::Inconsistent(format!("Task 1's oof.csv has no column for {features}"))
    })?;
    Ok((models[best], columns[best].clone()))
}

/// The winner, the audio-only fallback, and the answer.
#[derive(Clone, Debug)]
pub struct Decision {
    /// The candidate with the lowest CV MAE.
    pub best: Scored,
    /// The candidate with the lowest CV MAE on the audio features, for tracks without analysis
    /// means.
    pub fallback: Scored,
    /// Whether the winner uses neural networks.
    pub answer: Answer,
}

/// Chooses the candidate with the lowest CV MAE (the first on a tie) and the fallback.
pub fn decide(candidates: &[Scored]) -> Result<Decision, PipelineError> {
    let best = best_of(candidates)
        .ok_or_else(|| PipelineError::Inconsistent("no candidate was evaluated".into()))?;
    let fallback = best_of(
        candidates
            .iter()
            .filter(|scored| scored.candidate.features() == FeatureSetId::FALLBACK),
    )
    .ok_or_else(|| {
        PipelineError::Inconsistent(format!(
            "no candidate on {} for the tracks without analysis",
            FeatureSetId::FALLBACK
        ))
    })?;
    let answer = if best.candidate.uses_network() {
        Answer::With
    } else {
        Answer::Without
    };
    Ok(Decision {
        best: best.clone(),
        fallback: fallback.clone(),
        answer,
    })
}

/// Predicts the evaluation tracks at `rows` with a candidate: the networks trained in
/// cross-validation, Task 1's saved models (in `task1_dir`), or a blend of them.
pub fn predict_candidate(
    task1_dir: &Path,
    candidate: &Candidate,
    networks: &[NetworkRun],
    inputs: &ValenceInputs,
    rows: &[usize],
) -> Result<Array1<f64>, PipelineError> {
    let features = candidate.features();
    let network = networks
        .iter()
        .find(|network| network.features == features)
        .ok_or_else(|| PipelineError::Inconsistent(format!("no network for {features}")))?;
    let x = features.set().matrix(&inputs.eval_tracks(rows))?;
    let task1_file = |name: &str| -> Result<Array1<f64>, PipelineError> {
        let path = task1_dir.join(format!("{name}_{}.json", features.slug()));
        Ok(ModelFile::load(&path)?.predict(&x)?)
    };
    let predict = |model: Model| -> Result<Array1<f64>, PipelineError> {
        match model {
            // The mean of the ensemble's networks from cross-validation (every seed's network
            // of every fold), so no network is trained again.
            Model::Network => {
                let values = network.eval.select(Axis(0), rows);
                if values.iter().any(|v| !v.is_finite()) {
                    return Err(PipelineError::Inconsistent(format!(
                        "the networks did not predict every evaluation track on {features}"
                    )));
                }
                Ok(values)
            }
            Model::Method(Method::Boosting) => task1_file("boosting"),
            // Task 1 saves its chosen model as `best_<feature set>.json`.
            Model::Task1(_) => task1_file("best"),
            Model::Method(_) => Err(PipelineError::Unsupported {
                pipeline: "Task 2",
                action: "predict",
                candidate: CandidateName::Model(model),
            }),
        }
    };
    match candidate {
        Candidate::Single { model, .. } => predict(*model),
        Candidate::Blend { members, .. } => {
            let mut total = Array1::zeros(rows.len());
            for (model, weight) in members.iter().filter(|(_, weight)| *weight > 0.0) {
                total.scaled_add(*weight, &predict(*model)?);
            }
            Ok(total)
        }
    }
}
