//! *Choose*: on each feature set, the method or blend with the lowest CV MAE; the best of those
//! predicts, and the audio set's choice is the fallback for tracks without analysis means.

use std::collections::BTreeMap;

use evaluation::ParamSet;
use serde::{Deserialize, Serialize};

use super::Searched;
use crate::valence::{
    best_index, best_of, BlendKind, Candidate, FeatureSetId, Model, PipelineError, Scored,
    Task1Model,
};

/// The candidate chosen on each feature set.
#[derive(Clone, Debug)]
pub struct Chosen {
    /// The choice of each feature set, in [`FeatureSetId::ALL`] order.
    pub per_set: Vec<Scored>,
}

/// Chooses on each feature set the candidate with the lowest CV MAE: a method, or the blend
/// when it is strictly better than every method.
pub fn choose(searched: &Searched) -> Chosen {
    let per_set = FeatureSetId::ALL
        .into_iter()
        .map(|features| {
            best_of(&searched.candidates(features))
                .cloned()
                .expect("every feature set has six methods and a blend")
        })
        .collect();
    Chosen { per_set }
}

impl Chosen {
    /// The index (in [`FeatureSetId::ALL`]) of the feature set whose choice scores best; on a
    /// tie, the first.
    pub fn best_index(&self) -> usize {
        best_index(&self.per_set).expect("there is a choice per feature set")
    }

    /// The index of the audio set, whose choice predicts the tracks without analysis means.
    pub fn fallback_index(&self) -> usize {
        FeatureSetId::ALL
            .iter()
            .position(|&features| features == FeatureSetId::FALLBACK)
            .expect("the fallback set is one of the feature sets")
    }

    /// The best choice, as reports give it.
    pub fn best_choice(&self, searched: &Searched) -> Result<Choice, PipelineError> {
        Choice::of(&self.per_set[self.best_index()], searched)
    }

    /// The fallback's choice, as reports give it.
    pub fn fallback_choice(&self, searched: &Searched) -> Result<Choice, PipelineError> {
        Choice::of(&self.per_set[self.fallback_index()], searched)
    }
}

/// The model chosen to predict, and how it was scored: `best` and `fallback.model` in
/// `metrics.json`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Choice {
    /// A method's name, or `blend`.
    pub method: Task1Model,
    /// The feature set.
    pub feature_set: FeatureSetId,
    /// The method's parameters, or each blend member's weight and parameters.
    pub params: ChoiceParams,
    /// Its CV MAE.
    pub cv_mae: f64,
}

/// The parameters of a choice.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum ChoiceParams {
    /// The blend's members with weight, by name.
    Blend(BTreeMap<Model, MemberParams>),
    /// A single method's parameters.
    Single(ParamSet),
}

/// A blend member's weight and parameters.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MemberParams {
    /// Its weight in the blend.
    pub weight: f64,
    /// Its searched parameters.
    pub params: ParamSet,
}

impl Choice {
    /// The report of a Task 1 candidate: a method's, or the blend's with its members of
    /// positive weight.
    pub fn of(scored: &Scored, searched: &Searched) -> Result<Choice, PipelineError> {
        let candidate = &scored.candidate;
        let features = candidate.features();
        let unsupported = || PipelineError::Unsupported {
            pipeline: "Task 1",
            action: "report",
            candidate: candidate.name(),
        };
        let params_of = |model: &Model| match model {
            Model::Method(method) => Ok(searched.result(*method, features)?.params.clone()),
            _ => Err(unsupported()),
        };
        let (method, params) = match candidate {
            Candidate::Single {
                model: model @ Model::Method(method),
                ..
            } => (
                Task1Model::Method(*method),
                ChoiceParams::Single(params_of(model)?),
            ),
            Candidate::Blend {
                kind: BlendKind::Methods,
                members,
                ..
            } => {
                let members = members
                    .iter()
                    .filter(|(_, weight)| *weight > 0.0)
                    .map(|(model, weight)| {
                        let params = params_of(model)?;
                        Ok((
                            *model,
                            MemberParams {
                                weight: *weight,
                                params,
                            },
                        ))
                    })
                    .collect::<Result<_, PipelineError>>()?;
                (Task1Model::Blend, ChoiceParams::Blend(members))
            }
            _ => return Err(unsupported()),
        };
        Ok(Choice {
            method,
            feature_set: features,
            params,
            cv_mae: scored.scores.mae,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::valence::{Method, MethodResult};
    use evaluation::{CvScores, Value};
    use ndarray::Array1;

    fn scores(mae: f64) -> CvScores {
        CvScores {
            mae,
            mae_sd: 0.0,
            rmse: mae,
            r2: 0.0,
            folds: Vec::new(),
        }
    }

    fn result(method: Method, features: FeatureSetId, mae: f64) -> MethodResult {
        let mut params = ParamSet::new();
        params.insert("k".into(), Value::Int(mae.to_bits() as i64 % 7));
        MethodResult {
            method,
            feature_set: features,
            params,
            scores: scores(mae),
            candidates: 1,
            failed: Vec::new(),
            seconds: 0.0,
            leaderboard: Vec::new(),
            note: None,
            oof: Array1::zeros(3),
        }
    }

    fn blend(features: FeatureSetId, mae: f64, members: Vec<(Model, f64)>) -> Scored {
        Scored {
            candidate: Candidate::Blend {
                kind: BlendKind::Methods,
                features,
                members,
            },
            scores: scores(mae),
            oof: Array1::zeros(3),
        }
    }

    /// Two methods per set: knn and boosting on audio (0.14, 0.12), on audio+analysis (0.11,
    /// 0.10); the blends score `audio_blend` and `full_blend`.
    fn searched(audio_blend: f64, full_blend: f64) -> Searched {
        let (audio, full) = (FeatureSetId::Audio, FeatureSetId::AudioAnalysis);
        let knn = Model::Method(Method::Knn);
        let boosting = Model::Method(Method::Boosting);
        Searched {
            methods: vec![
                result(Method::Knn, audio, 0.14),
                result(Method::Boosting, audio, 0.12),
                result(Method::Knn, full, 0.11),
                result(Method::Boosting, full, 0.10),
            ],
            blends: vec![
                blend(audio, audio_blend, vec![(knn, 0.0), (boosting, 1.0)]),
                blend(full, full_blend, vec![(knn, 0.4), (boosting, 0.6)]),
            ],
        }
    }

    #[test]
    fn each_set_chooses_its_lowest_and_the_blend_only_when_strictly_better() {
        // The audio blend ties with boosting: the method, offered first, is kept.
        let searched = searched(0.12, 0.09);
        let chosen = choose(&searched);
        let best = chosen.best_choice(&searched).unwrap();
        assert_eq!(
            (best.method, best.feature_set),
            (Task1Model::Blend, FeatureSetId::AudioAnalysis)
        );
        assert_eq!(best.cv_mae, 0.09);
        let ChoiceParams::Blend(members) = &best.params else {
            panic!("a blend reports its members: {best:?}");
        };
        assert_eq!(members.len(), 2);
        assert_eq!(members[&Model::Method(Method::Boosting)].weight, 0.6);
        let fallback = chosen.fallback_choice(&searched).unwrap();
        assert_eq!(
            (fallback.method, fallback.feature_set),
            (Task1Model::Method(Method::Boosting), FeatureSetId::Audio)
        );
        assert_eq!(
            fallback.params,
            ChoiceParams::Single(searched.methods[1].params.clone())
        );
    }

    #[test]
    fn the_audio_choice_predicts_when_it_scores_best() {
        let searched = searched(0.05, 0.09);
        let chosen = choose(&searched);
        assert_eq!(chosen.best_index(), chosen.fallback_index());
        let best = chosen.best_choice(&searched).unwrap();
        // Members without weight are left out of the report.
        let ChoiceParams::Blend(members) = &best.params else {
            panic!("a blend reports its members: {best:?}");
        };
        assert_eq!(
            members.keys().collect::<Vec<_>>(),
            [&Model::Method(Method::Boosting)]
        );
    }

    #[test]
    fn a_choice_reads_back_from_its_json() {
        let searched = searched(0.12, 0.09);
        let chosen = choose(&searched);
        for choice in [
            chosen.best_choice(&searched).unwrap(),
            chosen.fallback_choice(&searched).unwrap(),
        ] {
            let json = serde_json::to_string(&choice).unwrap();
            assert_eq!(serde_json::from_str::<Choice>(&json).unwrap(), choice);
        }
    }
}
