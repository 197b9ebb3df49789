//! *Choose*: the candidates a pipeline compares on the shared folds (one model on a feature
//! set, or a blend of weighted members), their scores, and choosing the lowest CV MAE.

use std::fmt;
use std::str::FromStr;

use evaluation::CvScores;
use ndarray::Array1;
use serde::{Deserialize, Serialize};

use super::identity::serde_by_name;
use super::{FeatureSetId, Model, PipelineError, UnknownName, ValenceInputs};

/// The blends the pipelines make; files spell them `blend`, `nn+boosting` and `nn+task1`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum BlendKind {
    /// Task 1's blend of its six methods.
    Methods,
    /// Task 2's blend of the network with Task 1's boosting model.
    NetworkBoosting,
    /// Task 2's blend of the network with Task 1's chosen model.
    NetworkTask1,
}

impl BlendKind {
    /// Every kind of blend.
    pub const ALL: [BlendKind; 3] = [
        BlendKind::Methods,
        BlendKind::NetworkBoosting,
        BlendKind::NetworkTask1,
    ];
}

impl fmt::Display for BlendKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            BlendKind::Methods => "blend",
            BlendKind::NetworkBoosting => "nn+boosting",
            BlendKind::NetworkTask1 => "nn+task1",
        })
    }
}

/// What a candidate is called in files and reports: its model's name, or its kind of blend.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum CandidateName {
    /// A single model.
    Model(Model),
    /// A blend.
    Blend(BlendKind),
}

serde_by_name!(CandidateName);

impl fmt::Display for CandidateName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CandidateName::Model(model) => model.fmt(f),
            CandidateName::Blend(kind) => kind.fmt(f),
        }
    }
}

impl FromStr for CandidateName {
    type Err = UnknownName;

    fn from_str(name: &str) -> Result<Self, UnknownName> {
        let all: Vec<CandidateName> = Model::all()
            .map(CandidateName::Model)
            .chain(BlendKind::ALL.map(CandidateName::Blend))
            .collect();
        all.iter()
            .copied()
            .find(|candidate| candidate.to_string() == name)
            .ok_or_else(|| UnknownName {
                what: "candidate",
                name: name.into(),
                known: all.iter().map(ToString::to_string).collect(),
            })
    }
}

/// A candidate compared on the shared folds. Files spell it as `name`, `feature_set` and
/// `weights` (empty for a single model).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(into = "CandidateRecord", try_from = "CandidateRecord")]
pub enum Candidate {
    /// One model on one feature set.
    Single {
        /// The model.
        model: Model,
        /// The feature set it was trained on.
        features: FeatureSetId,
    },
    /// A weighted mean of models' predictions on one feature set, with weights chosen on
    /// out-of-fold predictions (non-negative, summing to one; zero weights included).
    Blend {
        /// Which blend it is.
        kind: BlendKind,
        /// The feature set of every member.
        features: FeatureSetId,
        /// The members and their weights, in the order they were offered.
        members: Vec<(Model, f64)>,
    },
}

impl Candidate {
    /// The name files and reports give it.
    pub fn name(&self) -> CandidateName {
        match self {
            Candidate::Single { model, .. } => CandidateName::Model(*model),
            Candidate::Blend { kind, .. } => CandidateName::Blend(*kind),
        }
    }

    /// The feature set it predicts from.
    pub fn features(&self) -> FeatureSetId {
        match self {
            Candidate::Single { features, .. } | Candidate::Blend { features, .. } => *features,
        }
    }

    /// A blend's members and weights; none for a single model.
    pub fn weights(&self) -> &[(Model, f64)] {
        match self {
            Candidate::Single { .. } => &[],
            Candidate::Blend { members, .. } => members,
        }
    }

    /// Whether a neural network contributes: a network alone, or a blend giving it weight.
    pub fn uses_network(&self) -> bool {
        match self {
            Candidate::Single { model, .. } => *model == Model::Network,
            Candidate::Blend { members, .. } => members
                .iter()
                .any(|(model, weight)| *model == Model::Network && *weight > 0.0),
        }
    }

    /// `name w, name w` for the members with weight, as reports list them.
    pub fn describe_weights(&self, all: bool) -> String {
        self.weights()
            .iter()
            .filter(|(_, weight)| all || *weight > 0.0)
            .map(|(model, weight)| format!("{model} {weight:.2}"))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// A candidate as files spell it.
#[derive(Clone, Debug, Serialize, Deserialize)]
struct CandidateRecord {
    name: CandidateName,
    feature_set: FeatureSetId,
    weights: Vec<(Model, f64)>,
}

impl From<Candidate> for CandidateRecord {
    fn from(candidate: Candidate) -> Self {
        CandidateRecord {
            name: candidate.name(),
            feature_set: candidate.features(),
            weights: candidate.weights().to_vec(),
        }
    }
}

/// A record that names a single model but gives it blend weights.
#[derive(Debug, thiserror::Error)]
#[error("the single model `{0}` has blend weights")]
struct SingleWithWeights(Model);

impl TryFrom<CandidateRecord> for Candidate {
    type Error = SingleWithWeights;

    fn try_from(record: CandidateRecord) -> Result<Self, SingleWithWeights> {
        match record.name {
            CandidateName::Model(model) if record.weights.is_empty() => Ok(Candidate::Single {
                model,
                features: record.feature_set,
            }),
            CandidateName::Model(model) => Err(SingleWithWeights(model)),
            CandidateName::Blend(kind) => Ok(Candidate::Blend {
                kind,
                features: record.feature_set,
                members: record.weights,
            }),
        }
    }
}

/// A candidate with its cross-validated scores and out-of-fold predictions.
#[derive(Clone, Debug)]
pub struct Scored {
    /// The candidate.
    pub candidate: Candidate,
    /// Its scores on the shared folds.
    pub scores: CvScores,
    /// Its out-of-fold predictions (cross-fitted, for a blend).
    pub oof: Array1<f64>,
}

/// The candidate with the lowest CV MAE; on a tie, the first offered.
pub fn best_of<'a>(scored: impl IntoIterator<Item = &'a Scored>) -> Option<&'a Scored> {
    scored
        .into_iter()
        .min_by(|a, b| a.scores.mae.total_cmp(&b.scores.mae))
}

/// The position of the candidate with the lowest CV MAE; on a tie, the first.
pub fn best_index(scored: &[Scored]) -> Option<usize> {
    (0..scored.len()).min_by(|&a, &b| scored[a].scores.mae.total_cmp(&scored[b].scores.mae))
}

/// Blends models' out-of-fold predictions on one feature set. The weights are chosen on all
/// out-of-fold rows; the blend's own scores are cross-fitted: each fold is predicted with
/// weights chosen on the other folds ([`evaluation::blend()`]).
pub fn blend(
    kind: BlendKind,
    features: FeatureSetId,
    members: &[(Model, &Array1<f64>)],
    inputs: &ValenceInputs,
) -> Result<Scored, PipelineError> {
    let named: Vec<(String, &Array1<f64>)> = members
        .iter()
        .map(|(model, oof)| (model.to_string(), *oof))
        .collect();
    let result = evaluation::blend(&named, &inputs.y, &inputs.folds)?;
    // `evaluation::blend` gives the weights in the order of its members.
    let members = members
        .iter()
        .zip(result.weights)
        .map(|((model, _), (_, weight))| (*model, weight))
        .collect();
    Ok(Scored {
        candidate: Candidate::Blend {
            kind,
            features,
            members,
        },
        scores: result.scores,
        oof: result.oof,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::valence::{Grouping, Method, Task1Model};
    use evaluation::Fold;
    use ndarray::array;

    /// Six rows in two folds of three, without tracks: enough for scoring and blending.
    fn inputs(y: Array1<f64>) -> ValenceInputs {
        ValenceInputs {
            train: Vec::new(),
            eval: Vec::new(),
            y,
            folds: vec![
                Fold {
                    train: vec![3, 4, 5],
                    test: vec![0, 1, 2],
                },
                Fold {
                    train: vec![0, 1, 2],
                    test: vec![3, 4, 5],
                },
            ],
            recordings: 6,
            grouping: Grouping::Plain,
        }
    }

    fn scored(model: Model, features: FeatureSetId, oof: Array1<f64>, y: &Array1<f64>) -> Scored {
        let inputs = inputs(y.clone());
        Scored {
            candidate: Candidate::Single { model, features },
            scores: CvScores::of_predictions(y, &oof, &inputs.folds).unwrap(),
            oof,
        }
    }

    #[test]
    fn the_lowest_cv_mae_is_chosen_and_a_tie_goes_to_the_first_offered() {
        // Dyadic values, so that equal errors are equal to the last bit.
        let y = array![0.125, 0.25, 0.375, 0.5, 0.625, 0.75];
        let audio = FeatureSetId::Audio;
        let table = [
            scored(Model::Method(Method::Knn), audio, &y + 0.25, &y),
            scored(Model::Method(Method::Svr), audio, &y - 0.125, &y),
            scored(Model::Method(Method::Boosting), audio, &y + 0.125, &y),
            scored(Model::Network, audio, &y + 0.0625, &y),
        ];
        assert_eq!(best_of(&table).unwrap().candidate.name().to_string(), "nn");
        assert_eq!(
            best_of(&table[..3]).unwrap().candidate.name().to_string(),
            "svr"
        );
        assert_eq!(best_index(&table[..3]), Some(1));
        assert!(best_of(&[]).is_none());
    }

    #[test]
    fn a_blend_is_scored_with_weights_chosen_on_the_other_folds() {
        // `good_first` is exact on fold 0 and off by 0.3 on fold 1; `good_second` the reverse.
        // On all rows they tie, but each fold's weights come from the other fold, so every
        // fold is predicted by the member that is wrong on it.
        let y = array![0.1, 0.2, 0.3, 0.4, 0.5, 0.6];
        let good_first = array![0.1, 0.2, 0.3, 0.7, 0.8, 0.9];
        let good_second = array![0.4, 0.5, 0.6, 0.4, 0.5, 0.6];
        let inputs = inputs(y);
        let members = [
            (Model::Method(Method::Knn), &good_first),
            (Model::Method(Method::Svr), &good_second),
        ];
        let blended = blend(BlendKind::Methods, FeatureSetId::Audio, &members, &inputs).unwrap();
        assert_eq!(
            blended.oof.as_slice().unwrap()[..3],
            good_second.as_slice().unwrap()[..3]
        );
        assert_eq!(
            blended.oof.as_slice().unwrap()[3..],
            good_first.as_slice().unwrap()[3..]
        );
        assert!((blended.scores.mae - 0.3).abs() < 1e-12);
        let weights = blended.candidate.weights();
        assert_eq!(weights.len(), 2);
        assert_eq!(weights[0].0, Model::Method(Method::Knn));
        assert!((weights[0].1 + weights[1].1 - 1.0).abs() < 1e-12);
    }

    #[test]
    fn a_candidate_reads_back_from_the_files_spelling() {
        let candidate = Candidate::Blend {
            kind: BlendKind::NetworkTask1,
            features: FeatureSetId::AudioAnalysis,
            members: vec![
                (Model::Network, 0.25),
                (Model::Task1(Task1Model::Blend), 0.75),
            ],
        };
        let json = serde_json::to_value(&candidate).unwrap();
        let spelled: serde_json::Value = serde_json::from_str(
            r#"{"name": "nn+task1", "feature_set": "audio+analysis",
                "weights": [["nn", 0.25], ["task1:blend", 0.75]]}"#,
        )
        .unwrap();
        assert_eq!(json, spelled);
        assert!(candidate.uses_network());
        assert_eq!(
            serde_json::from_value::<Candidate>(json).unwrap(),
            candidate
        );
        let unknown = r#"{"name": "lasso", "feature_set": "audio", "weights": []}"#;
        assert!(serde_json::from_str::<Candidate>(unknown).is_err());
        let weighted = r#"{"name": "knn", "feature_set": "audio", "weights": [["nn", 1.0]]}"#;
        assert!(serde_json::from_str::<Candidate>(weighted).is_err());
    }
}
