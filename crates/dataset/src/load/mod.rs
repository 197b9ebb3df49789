//! Loaders, one module per shared data set.

pub mod charts;
pub mod genres;
pub mod hits;
pub mod moods;
pub mod popularity;
pub mod valence;

use crate::error::DatasetError;
use crate::features::{AnalysisSummary, AudioFeature, AudioFeatures, ANALYSIS_DIM};
use crate::read::{header_has, Row};
use crate::validate::{feature_range, PITCH, TIMBRE};

/// Where a file keeps its audio features: the column of each field, or `None` if it lacks it.
pub(crate) struct FeatureColumns {
    pub duration: Option<&'static str>,
    pub mode: bool,
    pub valence: bool,
    pub time_signature: bool,
}

impl FeatureColumns {
    /// All 13 fields under their API names.
    pub(crate) const API: FeatureColumns = FeatureColumns {
        duration: Some("duration_ms"),
        mode: true,
        valence: true,
        time_signature: true,
    };
}

fn number(row: &Row<'_>, feature: AudioFeature) -> Result<f64, DatasetError> {
    row.number(feature.name(), feature_range(feature))
}

fn integer(row: &Row<'_>, feature: AudioFeature) -> Result<i64, DatasetError> {
    row.integer(feature.name(), feature_range(feature))
}

/// Reads and validates the audio features of one row.
pub(crate) fn audio_features(
    row: &Row<'_>,
    columns: &FeatureColumns,
) -> Result<AudioFeatures, DatasetError> {
    use AudioFeature as F;
    let optional_integer = |present: bool, feature: F| -> Result<Option<i32>, DatasetError> {
        // Ranges bound these far inside i32.
        present
            .then(|| integer(row, feature).map(|v| v as i32))
            .transpose()
    };
    let duration_ms = match columns.duration {
        Some(column) => Some(row.integer(column, feature_range(F::DurationMs))?),
        None => None,
    };
    Ok(AudioFeatures {
        danceability: number(row, F::Danceability)?,
        energy: number(row, F::Energy)?,
        key: integer(row, F::Key)? as i32,
        loudness: number(row, F::Loudness)?,
        mode: optional_integer(columns.mode, F::Mode)?,
        speechiness: number(row, F::Speechiness)?,
        acousticness: number(row, F::Acousticness)?,
        instrumentalness: number(row, F::Instrumentalness)?,
        liveness: number(row, F::Liveness)?,
        valence: columns
            .valence
            .then(|| number(row, F::Valence))
            .transpose()?,
        tempo: number(row, F::Tempo)?,
        duration_ms,
        time_signature: optional_integer(columns.time_signature, F::TimeSignature)?,
    })
}

/// Reads and validates the 24 analysis means of one row.
pub(crate) fn analysis_summary(row: &Row<'_>) -> Result<AnalysisSummary, DatasetError> {
    let mut summary = AnalysisSummary {
        pitch: [0.0; ANALYSIS_DIM],
        timbre: [0.0; ANALYSIS_DIM],
    };
    for i in 0..ANALYSIS_DIM {
        summary.pitch[i] = row.number(&format!("pitch_{i}"), PITCH)?;
        summary.timbre[i] = row.number(&format!("timbre_{i}"), TIMBRE)?;
    }
    Ok(summary)
}

/// Whether the row's file has a column (for files with optional columns).
#[allow(dead_code)]
pub(crate) fn has_column(row: &Row<'_>, column: &str) -> bool {
    header_has(row, column)
}

/// The columns every audio-features file must have, for the header check.
pub(crate) fn required_feature_columns(columns: &FeatureColumns) -> Vec<&'static str> {
    use AudioFeature as F;
    let mut required = vec![
        F::Danceability.name(),
        F::Energy.name(),
        F::Key.name(),
        F::Loudness.name(),
        F::Speechiness.name(),
        F::Acousticness.name(),
        F::Instrumentalness.name(),
        F::Liveness.name(),
        F::Tempo.name(),
    ];
    required.extend(columns.duration);
    if columns.mode {
        required.push(F::Mode.name());
    }
    if columns.valence {
        required.push(F::Valence.name());
    }
    if columns.time_signature {
        required.push(F::TimeSignature.name());
    }
    required
}

#[cfg(test)]
pub(crate) mod fixture {
    //! Tiny data directories written for unit tests.

    use crate::data_dir::DataDir;

    /// A temporary data directory holding `files` (relative path, contents).
    pub(crate) fn data_dir(files: &[(&str, &[u8])]) -> (tempfile::TempDir, DataDir) {
        let temp = tempfile::tempdir().expect("temp dir");
        for (relative, contents) in files {
            let path = temp.path().join(relative);
            std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
            std::fs::write(&path, contents).expect("write fixture");
        }
        let dir = DataDir::at(temp.path()).expect("data dir");
        (temp, dir)
    }
}
