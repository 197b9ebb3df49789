//! *Compare* and *choose*: on each feature set, the network ensemble, Task 1's chosen model and
//! two blends of them, all scored on the same folds; the lowest CV MAE wins.

use evaluation::CvScores;

use super::{Answer, NetworkRun};
use crate::log::log;
use crate::valence::{
    best_index, best_of, blend, BlendKind, Candidate, FeatureSetId, Method, Model, OofTable,
    PipelineError, Scored, Task1Model, ValenceInputs,
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

impl std::fmt::Display for Decision {
    /// The winner and the answer, in a sentence.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "best: {} on {} (CV MAE {:.4}), so the best results come {} neural networks",
            self.best.candidate.name(),
            self.best.candidate.features(),
            self.best.scores.mae,
            self.answer
        )
    }
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
