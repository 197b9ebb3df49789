//! Turning tracks into `ndarray` matrices, by named columns.

use ndarray::{Array1, Array2};
use serde::{Deserialize, Serialize};

use crate::encode::one_hot_columns;
use crate::error::DatasetError;
use crate::features::{AnalysisSummary, AudioFeature, Track, ANALYSIS_DIM};

/// One column of a feature matrix.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Column {
    /// An audio feature.
    Audio(AudioFeature),
    /// The mean of pitch class `i` (0..12).
    Pitch(usize),
    /// The mean of timbre coefficient `i` (0..12).
    Timbre(usize),
    /// 1 when the categorical audio feature (key, mode, time signature) equals the value, else 0.
    OneHot(AudioFeature, i32),
}

impl Column {
    /// The column's name, as in the shared files.
    pub fn name(&self) -> String {
        match self {
            Column::Audio(feature) => feature.name().to_string(),
            Column::Pitch(i) => format!("pitch_{i}"),
            Column::Timbre(i) => format!("timbre_{i}"),
            Column::OneHot(feature, value) => format!("{}_{value}", feature.name()),
        }
    }

    /// The value of this column for a track, if the track has it.
    pub fn value(&self, track: &Track) -> Option<f64> {
        let analysis = |pick: fn(&AnalysisSummary) -> &[f64; ANALYSIS_DIM], i: usize| {
            track
                .analysis
                .as_ref()
                .and_then(|summary| pick(summary).get(i).copied())
        };
        match self {
            Column::Audio(feature) => track.features.get(*feature),
            Column::Pitch(i) => analysis(|s| &s.pitch, *i),
            Column::Timbre(i) => analysis(|s| &s.timbre, *i),
            Column::OneHot(feature, value) => track.features.get(*feature).map(|actual| {
                if actual == f64::from(*value) {
                    1.0
                } else {
                    0.0
                }
            }),
        }
    }
}

/// A named list of columns: what a model is trained on.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FeatureSet {
    /// Short name used in reports, e.g. `audio` or `audio+analysis`.
    pub name: String,
    /// The columns, in matrix order.
    pub columns: Vec<Column>,
}

impl FeatureSet {
    /// The 12 audio features that predict valence (everything but valence).
    pub fn audio() -> FeatureSet {
        FeatureSet {
            name: "audio".into(),
            columns: AudioFeature::PREDICTORS.map(Column::Audio).to_vec(),
        }
    }

    /// The 12 audio features plus the 24 analysis means.
    pub fn audio_with_analysis() -> FeatureSet {
        let mut columns = FeatureSet::audio().columns;
        columns.extend((0..ANALYSIS_DIM).map(Column::Pitch));
        columns.extend((0..ANALYSIS_DIM).map(Column::Timbre));
        FeatureSet {
            name: "audio+analysis".into(),
            columns,
        }
    }

    /// A feature set of chosen audio features.
    pub fn of(name: &str, features: &[AudioFeature]) -> FeatureSet {
        FeatureSet {
            name: name.into(),
            columns: features.iter().copied().map(Column::Audio).collect(),
        }
    }

    /// The 12 audio predictors with key, mode and time signature one-hot encoded (13 + 2 + 8
    /// columns in place of 3).
    pub fn audio_one_hot() -> FeatureSet {
        let categorical = [
            AudioFeature::Key,
            AudioFeature::Mode,
            AudioFeature::TimeSignature,
        ];
        FeatureSet {
            name: "audio-one-hot".into(),
            ..FeatureSet::audio()
        }
        .one_hot(&categorical)
    }

    /// This set with each listed categorical feature's column replaced by its one-hot columns
    /// (see [`crate::encode::categories`]); continuous features and absent ones are left as they
    /// are.
    pub fn one_hot(mut self, features: &[AudioFeature]) -> FeatureSet {
        self.columns = self
            .columns
            .into_iter()
            .flat_map(|column| match column {
                Column::Audio(feature) if features.contains(&feature) => {
                    one_hot_columns(feature).unwrap_or_else(|_| vec![column])
                }
                other => vec![other],
            })
            .collect();
        self
    }

    /// Column names, in matrix order.
    pub fn names(&self) -> Vec<String> {
        self.columns.iter().map(Column::name).collect()
    }

    /// Number of columns.
    pub fn len(&self) -> usize {
        self.columns.len()
    }

    /// Whether the set has no column.
    pub fn is_empty(&self) -> bool {
        self.columns.is_empty()
    }

    /// Whether every column has a value for this track.
    pub fn covers(&self, track: &Track) -> bool {
        self.columns.iter().all(|c| c.value(track).is_some())
    }

    /// The `n_tracks × n_columns` matrix. A track lacking a column is an error naming both.
    pub fn matrix(&self, tracks: &[Track]) -> Result<Array2<f64>, DatasetError> {
        let mut matrix = Array2::zeros((tracks.len(), self.columns.len()));
        for (mut row, track) in matrix.rows_mut().into_iter().zip(tracks) {
            for (cell, column) in row.iter_mut().zip(&self.columns) {
                *cell = column.value(track).ok_or_else(|| {
                    DatasetError::Invalid(format!(
                        "track {} has no value for column `{}` of feature set `{}`",
                        track.id,
                        column.name(),
                        self.name
                    ))
                })?;
            }
        }
        Ok(matrix)
    }

    /// The same matrix in `f32`, for neural networks.
    pub fn matrix_f32(&self, tracks: &[Track]) -> Result<Array2<f32>, DatasetError> {
        Ok(self.matrix(tracks)?.mapv(|v| v as f32))
    }
}

/// The valence of every track; a track without one is an error.
pub fn valence(tracks: &[Track]) -> Result<Array1<f64>, DatasetError> {
    tracks
        .iter()
        .map(|track| {
            track
                .features
                .valence
                .ok_or_else(|| DatasetError::Invalid(format!("track {} has no valence", track.id)))
        })
        .collect()
}

/// A per-track label, or an error naming the first track that lacks it.
fn labels_of<'a, T>(
    tracks: &'a [Track],
    what: &str,
    pick: impl Fn(&'a Track) -> Option<T>,
) -> Result<Vec<T>, DatasetError> {
    tracks
        .iter()
        .map(|track| {
            pick(track)
                .ok_or_else(|| DatasetError::Invalid(format!("track {} has no {what}", track.id)))
        })
        .collect()
}

/// The popularity (0..=100) of every track; a track without one is an error.
pub fn popularity(tracks: &[Track]) -> Result<Array1<f64>, DatasetError> {
    labels_of(tracks, "popularity", |t| t.labels.popularity).map(Array1::from)
}

/// The mood name of every track; a track without one is an error.
pub fn moods(tracks: &[Track]) -> Result<Vec<&str>, DatasetError> {
    labels_of(tracks, "mood", |t| t.labels.mood.as_deref())
}

/// The genre name of every track; a track without one is an error.
pub fn genres(tracks: &[Track]) -> Result<Vec<&str>, DatasetError> {
    labels_of(tracks, "genre", |t| t.labels.genre.as_deref())
}

/// Whether each track was a hit; a track without the label is an error.
pub fn hits(tracks: &[Track]) -> Result<Vec<bool>, DatasetError> {
    labels_of(tracks, "hit label", |t| t.labels.hit)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::features::{AudioFeatures, Labels};

    fn track(key: i32) -> Track {
        Track {
            id: "5aAx2yezTd8zXrkmtKl66Z".into(),
            features: AudioFeatures {
                danceability: 0.5,
                energy: 0.5,
                key,
                loudness: -5.0,
                mode: Some(1),
                speechiness: 0.1,
                acousticness: 0.1,
                instrumentalness: 0.0,
                liveness: 0.1,
                valence: Some(0.4),
                tempo: 120.0,
                duration_ms: Some(200_000),
                time_signature: Some(4),
            },
            analysis: None,
            labels: Labels {
                mood: Some("Calm".into()),
                ..Labels::default()
            },
        }
    }

    #[test]
    fn one_hot_feature_set_replaces_categorical_columns() {
        let set = FeatureSet::audio_one_hot();
        assert_eq!(set.len(), 9 + 13 + 2 + 8);
        let names = set.names();
        assert!(names.contains(&"key_-1".to_string()));
        assert!(!names.contains(&"key".to_string()));
        let x = set.matrix(&[track(-1), track(3)]).expect("matrix");
        let key_minus_one = names.iter().position(|n| n == "key_-1").expect("column");
        let key_three = names.iter().position(|n| n == "key_3").expect("column");
        assert_eq!((x[[0, key_minus_one]], x[[0, key_three]]), (1.0, 0.0));
        assert_eq!((x[[1, key_minus_one]], x[[1, key_three]]), (0.0, 1.0));
        assert_eq!(x.row(0).sum(), x.row(1).sum());
    }

    #[test]
    fn missing_labels_are_errors_naming_the_track() {
        let tracks = [track(0)];
        assert_eq!(moods(&tracks).expect("moods"), ["Calm"]);
        assert!(
            matches!(genres(&tracks), Err(DatasetError::Invalid(m)) if m.contains("5aAx2yezTd8zXrkmtKl66Z"))
        );
    }
}
