//! The names of the classification experiments, as types: the learners of the line-up, their
//! families, the candidates a protocol scores (one learner, or the blend of several) and the
//! experiments. Files and flags spell them with their serde names (`random_forest`, `blend`,
//! `genre5`, `hits_1960s`); an unknown name is an [`UnknownName`] that lists the known ones.

use std::fmt;
use std::str::FromStr;

use dataset::load::genres::GenreSet;
use dataset::load::hits::DECADES;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A name read from a flag or a file that names nothing known.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("unknown {kind} {name:?}; the known ones are: {}", known.join(", "))]
pub struct UnknownName {
    /// What the name should have named, e.g. `experiment`.
    pub kind: &'static str,
    /// The name given.
    pub name: String,
    /// Every name that would have been accepted.
    pub known: Vec<String>,
}

impl UnknownName {
    fn new<T: fmt::Display>(kind: &'static str, name: &str, known: &[T]) -> UnknownName {
        UnknownName {
            kind,
            name: name.to_string(),
            known: known.iter().map(ToString::to_string).collect(),
        }
    }
}

/// Whether a learner is a classic model of `classic-models` or a network of `neural-models`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ModelFamily {
    /// Trees, linear models and neighbours.
    Classic,
    /// A multilayer perceptron.
    Network,
}

/// One learner of the line-up, in line-up order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Learner {
    /// Gradient-boosted trees (softmax).
    Boosting,
    /// A random forest.
    RandomForest,
    /// Multinomial logistic regression on standardised inputs.
    Logistic,
    /// k nearest neighbours on standardised inputs.
    Knn,
    /// A multilayer perceptron.
    Network,
}

impl Learner {
    /// Every learner, in line-up order.
    pub const ALL: [Learner; 5] = [
        Learner::Boosting,
        Learner::RandomForest,
        Learner::Logistic,
        Learner::Knn,
        Learner::Network,
    ];

    /// Its name in reports and files.
    pub fn name(self) -> &'static str {
        match self {
            Learner::Boosting => "boosting",
            Learner::RandomForest => "random_forest",
            Learner::Logistic => "logistic",
            Learner::Knn => "knn",
            Learner::Network => "network",
        }
    }

    /// Its family.
    pub fn family(self) -> ModelFamily {
        match self {
            Learner::Network => ModelFamily::Network,
            _ => ModelFamily::Classic,
        }
    }
}

impl fmt::Display for Learner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Learner {
    type Err = UnknownName;

    fn from_str(name: &str) -> Result<Learner, UnknownName> {
        Learner::ALL
            .into_iter()
            .find(|learner| learner.name() == name)
            .ok_or_else(|| UnknownName::new("model", name, &Learner::ALL))
    }
}

/// What a protocol scores: one learner of the line-up, or the blend of its members.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Candidate {
    /// A learner alone.
    Single(Learner),
    /// The weighted mean of several learners' probabilities.
    Blend,
}

/// The name of the blend in reports and files.
pub const BLEND: &str = "blend";

impl Candidate {
    /// Every candidate: each learner, then the blend.
    pub fn all() -> Vec<Candidate> {
        Learner::ALL
            .into_iter()
            .map(Candidate::Single)
            .chain([Candidate::Blend])
            .collect()
    }

    /// Its name in reports and files: the learner's, or `blend`.
    pub fn name(self) -> &'static str {
        match self {
            Candidate::Single(learner) => learner.name(),
            Candidate::Blend => BLEND,
        }
    }

    /// The learner, when it is a single one.
    pub fn learner(self) -> Option<Learner> {
        match self {
            Candidate::Single(learner) => Some(learner),
            Candidate::Blend => None,
        }
    }
}

impl From<Learner> for Candidate {
    fn from(learner: Learner) -> Candidate {
        Candidate::Single(learner)
    }
}

impl fmt::Display for Candidate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Candidate {
    type Err = UnknownName;

    fn from_str(name: &str) -> Result<Candidate, UnknownName> {
        Candidate::all()
            .into_iter()
            .find(|candidate| candidate.name() == name)
            .ok_or_else(|| UnknownName::new("model", name, &Candidate::all()))
    }
}

/// One experiment: its key in `metrics.json` and `details.json`, and its saved model's name.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ExperimentId {
    /// The four moods of `moods/data_moods.csv`.
    Moods,
    /// The three genres of `genres/data_3genre.csv`.
    Genre3,
    /// The five genres of `genres/data_5genre.csv`.
    Genre5,
    /// The seven genres of `genres/data_7genre.csv`.
    Genre7,
    /// The four activity moods of `genres/data_4mood.csv`.
    Activity4,
    /// The popularity quartiles of `popularity/`.
    Popularity,
    /// Hit or flop, every decade pooled.
    Hits,
    /// Hit or flop within one decade of [`DECADES`] (`hits_1960s`); reported in `details.json`
    /// and `report.md` only.
    HitsOfDecade(u16),
}

impl ExperimentId {
    /// Every experiment, in report order.
    pub fn all() -> Vec<ExperimentId> {
        let mut all = vec![
            ExperimentId::Moods,
            ExperimentId::Genre3,
            ExperimentId::Genre5,
            ExperimentId::Genre7,
            ExperimentId::Activity4,
            ExperimentId::Popularity,
            ExperimentId::Hits,
        ];
        all.extend(DECADES.map(ExperimentId::HitsOfDecade));
        all
    }

    /// The experiment of a genre file.
    pub fn of_genre_set(set: GenreSet) -> ExperimentId {
        match set {
            GenreSet::Three => ExperimentId::Genre3,
            GenreSet::Five => ExperimentId::Genre5,
            GenreSet::Seven => ExperimentId::Genre7,
            GenreSet::Moods => ExperimentId::Activity4,
        }
    }

    /// The genre file of a genre or activity-mood experiment.
    pub fn genre_set(self) -> Option<GenreSet> {
        GenreSet::ALL
            .into_iter()
            .find(|&set| ExperimentId::of_genre_set(set) == self)
    }

    /// Whether `metrics.json` holds it (the per-decade hit experiments are only detailed).
    pub fn in_metrics(self) -> bool {
        !matches!(self, ExperimentId::HitsOfDecade(_))
    }
}

impl fmt::Display for ExperimentId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ExperimentId::Moods => f.write_str("moods"),
            ExperimentId::Genre3 => f.write_str("genre3"),
            ExperimentId::Genre5 => f.write_str("genre5"),
            ExperimentId::Genre7 => f.write_str("genre7"),
            ExperimentId::Activity4 => f.write_str("activity4"),
            ExperimentId::Popularity => f.write_str("popularity"),
            ExperimentId::Hits => f.write_str("hits"),
            ExperimentId::HitsOfDecade(decade) => write!(f, "hits_{decade}s"),
        }
    }
}

impl FromStr for ExperimentId {
    type Err = UnknownName;

    fn from_str(name: &str) -> Result<ExperimentId, UnknownName> {
        let all = ExperimentId::all();
        all.iter()
            .copied()
            .find(|id| id.to_string() == name)
            .ok_or_else(|| UnknownName::new("experiment", name, &all))
    }
}

/// Serialises a named identity as its name.
fn serialize_name<T: fmt::Display, S: Serializer>(
    value: &T,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    serializer.collect_str(value)
}

/// Reads a named identity from its name; an unknown one is an error listing the known ones.
fn deserialize_name<'de, T, D>(deserializer: D) -> Result<T, D::Error>
where
    T: FromStr<Err = UnknownName>,
    D: Deserializer<'de>,
{
    let name = String::deserialize(deserializer)?;
    name.parse().map_err(serde::de::Error::custom)
}

impl Serialize for Candidate {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serialize_name(self, serializer)
    }
}

impl<'de> Deserialize<'de> for Candidate {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Candidate, D::Error> {
        deserialize_name(deserializer)
    }
}

impl Serialize for ExperimentId {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serialize_name(self, serializer)
    }
}

impl<'de> Deserialize<'de> for ExperimentId {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<ExperimentId, D::Error> {
        deserialize_name(deserializer)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_read_back_as_the_same_identity() {
        for candidate in Candidate::all() {
            assert_eq!(candidate.name().parse::<Candidate>(), Ok(candidate));
            let json = serde_json::to_string(&candidate).unwrap();
            assert_eq!(serde_json::from_str::<Candidate>(&json).unwrap(), candidate);
        }
        for id in ExperimentId::all() {
            assert_eq!(id.to_string().parse::<ExperimentId>(), Ok(id));
            let json = serde_json::to_string(&id).unwrap();
            assert_eq!(serde_json::from_str::<ExperimentId>(&json).unwrap(), id);
        }
        assert_eq!(
            serde_json::to_string(&Learner::RandomForest).unwrap(),
            "\"random_forest\""
        );
        assert_eq!(ExperimentId::HitsOfDecade(1960).to_string(), "hits_1960s");
    }

    #[test]
    fn an_unknown_name_lists_the_known_ones() {
        let error = "genre4".parse::<ExperimentId>().unwrap_err();
        let message = error.to_string();
        assert!(message.contains("\"genre4\""), "{message}");
        assert!(
            message.contains("genre3, genre5, genre7, activity4"),
            "{message}"
        );
        let error = serde_json::from_str::<Candidate>("\"forest\"").unwrap_err();
        assert!(
            error
                .to_string()
                .contains("random_forest, logistic, knn, network, blend"),
            "{error}"
        );
        assert!("hits_1950s".parse::<ExperimentId>().is_err());
    }

    #[test]
    fn genre_experiments_map_to_their_files_and_back() {
        for set in GenreSet::ALL {
            assert_eq!(ExperimentId::of_genre_set(set).genre_set(), Some(set));
        }
        assert_eq!(ExperimentId::Hits.genre_set(), None);
        assert!(!ExperimentId::HitsOfDecade(1990).in_metrics());
        assert!(ExperimentId::Hits.in_metrics());
    }

    #[test]
    fn only_the_network_is_of_the_network_family() {
        let networks: Vec<Learner> = Learner::ALL
            .into_iter()
            .filter(|l| l.family() == ModelFamily::Network)
            .collect();
        assert_eq!(networks, [Learner::Network]);
    }
}
