//! What things are called: feature sets, methods and models, each an enum that serde spells as
//! the files spell it. A name read from a file or a flag is parsed here, once, by comparing it
//! with every known name; an unknown one is an [`UnknownName`] that lists the known ones.

use std::fmt;
use std::str::FromStr;

use dataset::FeatureSet;
use serde::{Deserialize, Serialize};

/// A name that is none of the known ones.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("unknown {what} `{name}`; known: {}", known.join(", "))]
pub struct UnknownName {
    /// What kind of name it should have been, e.g. `feature set`.
    pub what: &'static str,
    /// The name given.
    pub name: String,
    /// Every known name of that kind.
    pub known: Vec<String>,
}

/// Finds the item of `all` whose display name is `name`.
fn parse_among<T: fmt::Display + Copy>(
    what: &'static str,
    name: &str,
    all: impl IntoIterator<Item = T>,
) -> Result<T, UnknownName> {
    let all: Vec<T> = all.into_iter().collect();
    all.iter()
        .copied()
        .find(|item| item.to_string() == name)
        .ok_or_else(|| UnknownName {
            what,
            name: name.into(),
            known: all.iter().map(ToString::to_string).collect(),
        })
}

/// Serde for a type spelled by its `Display` and read back by its `FromStr`.
macro_rules! serde_by_name {
    ($type:ty) => {
        impl serde::Serialize for $type {
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.collect_str(self)
            }
        }

        impl<'de> serde::Deserialize<'de> for $type {
            fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let name = <String as serde::Deserialize>::deserialize(deserializer)?;
                name.parse().map_err(serde::de::Error::custom)
            }
        }
    };
}
pub(crate) use serde_by_name;

/// The two feature sets the valence tasks compare; files spell them `audio` and
/// `audio+analysis`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum FeatureSetId {
    /// The 12 audio features: every track has them, so this set is the fallback.
    Audio,
    /// The audio features and the 24 analysis means (some evaluation tracks lack an analysis).
    AudioAnalysis,
}

serde_by_name!(FeatureSetId);

impl FeatureSetId {
    /// Both sets, audio first (the order of every table and report).
    pub const ALL: [FeatureSetId; 2] = [FeatureSetId::Audio, FeatureSetId::AudioAnalysis];

    /// The set that covers every track: it predicts the tracks another set cannot.
    pub const FALLBACK: FeatureSetId = FeatureSetId::Audio;

    /// The name in files and reports.
    pub fn name(self) -> &'static str {
        match self {
            FeatureSetId::Audio => "audio",
            FeatureSetId::AudioAnalysis => "audio+analysis",
        }
    }

    /// A file-name-safe form of the name (`audio+analysis` → `audio_analysis`).
    pub fn slug(self) -> &'static str {
        match self {
            FeatureSetId::Audio => "audio",
            FeatureSetId::AudioAnalysis => "audio_analysis",
        }
    }

    /// The columns of this set.
    pub fn set(self) -> FeatureSet {
        match self {
            FeatureSetId::Audio => FeatureSet::audio(),
            FeatureSetId::AudioAnalysis => FeatureSet::audio_with_analysis(),
        }
    }
}

impl fmt::Display for FeatureSetId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for FeatureSetId {
    type Err = UnknownName;

    fn from_str(name: &str) -> Result<Self, UnknownName> {
        parse_among("feature set", name, FeatureSetId::ALL)
    }
}

/// The non-neural methods of Task 1. Serde spells them as the variant (`ElasticNet`), as
/// `metrics.json`'s `methods` always has; [`Method::name`] is the name everywhere else.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Method {
    /// Elastic net on standardised features.
    ElasticNet,
    /// k-nearest neighbours on standardised features.
    Knn,
    /// One regression tree.
    DecisionTree,
    /// Random forest.
    RandomForest,
    /// Support vector regression, Gaussian kernel.
    Svr,
    /// Gradient-boosted trees.
    Boosting,
}

impl Method {
    /// Every method, cheapest first: the order of searches, blends and tables.
    pub const ALL: [Method; 6] = [
        Method::ElasticNet,
        Method::DecisionTree,
        Method::Knn,
        Method::RandomForest,
        Method::Svr,
        Method::Boosting,
    ];
}

impl fmt::Display for Method {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Method {
    type Err = UnknownName;

    fn from_str(name: &str) -> Result<Self, UnknownName> {
        parse_among("method", name, Method::ALL)
    }
}

/// What Task 1 offers on a feature set: one method's best candidate, or the blend of all six.
/// It is also the model part of Task 1's out-of-fold columns; files spell it as the method's
/// name or `blend`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Task1Model {
    /// One method's best candidate.
    Method(Method),
    /// Task 1's blend of its methods.
    Blend,
}

serde_by_name!(Task1Model);

impl Task1Model {
    /// Every Task 1 model: the methods in [`Method::ALL`] order, then the blend.
    pub fn all() -> impl Iterator<Item = Task1Model> {
        Method::ALL
            .into_iter()
            .map(Task1Model::Method)
            .chain([Task1Model::Blend])
    }
}

impl fmt::Display for Task1Model {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Task1Model::Method(method) => method.fmt(f),
            Task1Model::Blend => f.write_str("blend"),
        }
    }
}

impl FromStr for Task1Model {
    type Err = UnknownName;

    fn from_str(name: &str) -> Result<Self, UnknownName> {
        parse_among("Task 1 model", name, Task1Model::all())
    }
}

/// One model whose out-of-fold predictions a pipeline scores and blends. Files spell it as the
/// method's name, `nn`, or `task1:<Task 1 model>`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Model {
    /// A classic method's best candidate, searched in Task 1.
    Method(Method),
    /// The seed ensemble of the best network of Task 2.
    Network,
    /// What Task 1 chose on the feature set, as Task 2 reads it back from Task 1's outputs.
    Task1(Task1Model),
}

serde_by_name!(Model);

impl Model {
    /// Every model.
    pub fn all() -> impl Iterator<Item = Model> {
        Method::ALL
            .into_iter()
            .map(Model::Method)
            .chain([Model::Network])
            .chain(Task1Model::all().map(Model::Task1))
    }
}

impl fmt::Display for Model {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Model::Method(method) => method.fmt(f),
            Model::Network => f.write_str("nn"),
            Model::Task1(model) => write!(f, "task1:{model}"),
        }
    }
}

impl FromStr for Model {
    type Err = UnknownName;

    fn from_str(name: &str) -> Result<Self, UnknownName> {
        parse_among("model", name, Model::all())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_name_reads_back_as_what_wrote_it() {
        for set in FeatureSetId::ALL {
            assert_eq!(set.name().parse::<FeatureSetId>(), Ok(set));
            assert_eq!(set.set().name, set.name());
        }
        for model in Model::all() {
            assert_eq!(model.to_string().parse::<Model>(), Ok(model));
            let json = serde_json::to_string(&model).unwrap();
            assert_eq!(serde_json::from_str::<Model>(&json).unwrap(), model);
        }
        assert_eq!(
            "task1:blend".parse::<Model>(),
            Ok(Model::Task1(Task1Model::Blend))
        );
        assert_eq!(
            serde_json::to_string(&FeatureSetId::AudioAnalysis).unwrap(),
            "\"audio+analysis\""
        );
        assert_eq!(serde_json::to_string(&Method::Svr).unwrap(), "\"Svr\"");
    }

    #[test]
    fn an_unknown_feature_set_is_an_error_that_lists_the_known_ones() {
        let error = "analysis".parse::<FeatureSetId>().unwrap_err();
        assert_eq!(error.name, "analysis");
        assert_eq!(
            error.to_string(),
            "unknown feature set `analysis`; known: audio, audio+analysis"
        );
        let error = serde_json::from_str::<Model>("\"task1:lasso\"").unwrap_err();
        assert!(error.to_string().contains("known: elastic_net"), "{error}");
    }
}
