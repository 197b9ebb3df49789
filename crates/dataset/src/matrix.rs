//! Turning tracks into `ndarray` matrices, by named columns.

use ndarray::{Array1, Array2};
use serde::{Deserialize, Serialize};

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
}

impl Column {
    /// The column's name, as in the shared files.
    pub fn name(&self) -> String {
        match self {
            Column::Audio(feature) => feature.name().to_string(),
            Column::Pitch(i) => format!("pitch_{i}"),
            Column::Timbre(i) => format!("timbre_{i}"),
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
