//! The domain types: the Web API's audio features, the audio-analysis summary and a track.

use serde::{Deserialize, Serialize};

/// One of the 13 numeric fields of the Web API's audio-features object.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AudioFeature {
    /// How suitable for dancing, 0..1.
    Danceability,
    /// Perceived intensity, 0..1.
    Energy,
    /// Pitch class of the track, -1 (none) ..= 11.
    Key,
    /// Overall loudness in dB.
    Loudness,
    /// Major (1) or minor (0).
    Mode,
    /// Presence of spoken words, 0..1.
    Speechiness,
    /// Confidence the track is acoustic, 0..1.
    Acousticness,
    /// Confidence the track has no vocals, 0..1.
    Instrumentalness,
    /// Presence of an audience, 0..1.
    Liveness,
    /// Musical positiveness, 0..1: the target of the valence tasks.
    Valence,
    /// Estimated tempo in beats per minute.
    Tempo,
    /// Duration in milliseconds.
    DurationMs,
    /// Estimated beats per bar.
    TimeSignature,
}

impl AudioFeature {
    /// All 13 fields, in the order of the Web API's documentation.
    pub const ALL: [AudioFeature; 13] = [
        AudioFeature::Danceability,
        AudioFeature::Energy,
        AudioFeature::Key,
        AudioFeature::Loudness,
        AudioFeature::Mode,
        AudioFeature::Speechiness,
        AudioFeature::Acousticness,
        AudioFeature::Instrumentalness,
        AudioFeature::Liveness,
        AudioFeature::Valence,
        AudioFeature::Tempo,
        AudioFeature::DurationMs,
        AudioFeature::TimeSignature,
    ];

    /// The 12 fields that can predict valence: every field but valence itself.
    pub const PREDICTORS: [AudioFeature; 12] = [
        AudioFeature::Danceability,
        AudioFeature::Energy,
        AudioFeature::Key,
        AudioFeature::Loudness,
        AudioFeature::Mode,
        AudioFeature::Speechiness,
        AudioFeature::Acousticness,
        AudioFeature::Instrumentalness,
        AudioFeature::Liveness,
        AudioFeature::Tempo,
        AudioFeature::DurationMs,
        AudioFeature::TimeSignature,
    ];

    /// The field's name in the Web API and in every CSV file.
    pub fn name(self) -> &'static str {
        match self {
            AudioFeature::Danceability => "danceability",
            AudioFeature::Energy => "energy",
            AudioFeature::Key => "key",
            AudioFeature::Loudness => "loudness",
            AudioFeature::Mode => "mode",
            AudioFeature::Speechiness => "speechiness",
            AudioFeature::Acousticness => "acousticness",
            AudioFeature::Instrumentalness => "instrumentalness",
            AudioFeature::Liveness => "liveness",
            AudioFeature::Valence => "valence",
            AudioFeature::Tempo => "tempo",
            AudioFeature::DurationMs => "duration_ms",
            AudioFeature::TimeSignature => "time_signature",
        }
    }

    /// The field with this API name, if any.
    pub fn from_name(name: &str) -> Option<AudioFeature> {
        AudioFeature::ALL.into_iter().find(|f| f.name() == name)
    }

    /// Whether the API gives this field as an integer.
    pub fn is_integer(self) -> bool {
        matches!(
            self,
            AudioFeature::Key
                | AudioFeature::Mode
                | AudioFeature::DurationMs
                | AudioFeature::TimeSignature
        )
    }
}

impl std::fmt::Display for AudioFeature {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// The audio features of one track, as the Web API's Get Audio Features returns them.
///
/// Fields that some shared data sets lack are `Option`: `valence` (absent where it is the
/// held-out target), `mode` (absent from the moods file), `duration_ms` and `time_signature`
/// (absent from the genre files, and `time_signature` from the popularity file).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AudioFeatures {
    /// How suitable for dancing, 0..1.
    pub danceability: f64,
    /// Perceived intensity, 0..1.
    pub energy: f64,
    /// Pitch class, -1 (none) ..= 11.
    pub key: i32,
    /// Loudness in dB.
    pub loudness: f64,
    /// Major (1) or minor (0).
    pub mode: Option<i32>,
    /// Presence of spoken words, 0..1.
    pub speechiness: f64,
    /// Confidence the track is acoustic, 0..1.
    pub acousticness: f64,
    /// Confidence the track has no vocals, 0..1.
    pub instrumentalness: f64,
    /// Presence of an audience, 0..1.
    pub liveness: f64,
    /// Musical positiveness, 0..1.
    pub valence: Option<f64>,
    /// Tempo in beats per minute.
    pub tempo: f64,
    /// Duration in milliseconds.
    pub duration_ms: Option<i64>,
    /// Beats per bar.
    pub time_signature: Option<i32>,
}

impl AudioFeatures {
    /// The value of one field as `f64`, or `None` when this record lacks it.
    pub fn get(&self, feature: AudioFeature) -> Option<f64> {
        match feature {
            AudioFeature::Danceability => Some(self.danceability),
            AudioFeature::Energy => Some(self.energy),
            AudioFeature::Key => Some(f64::from(self.key)),
            AudioFeature::Loudness => Some(self.loudness),
            AudioFeature::Mode => self.mode.map(f64::from),
            AudioFeature::Speechiness => Some(self.speechiness),
            AudioFeature::Acousticness => Some(self.acousticness),
            AudioFeature::Instrumentalness => Some(self.instrumentalness),
            AudioFeature::Liveness => Some(self.liveness),
            AudioFeature::Valence => self.valence,
            AudioFeature::Tempo => Some(self.tempo),
            // Durations are below 2^53 ms, so the conversion is exact.
            AudioFeature::DurationMs => self.duration_ms.map(|d| d as f64),
            AudioFeature::TimeSignature => self.time_signature.map(f64::from),
        }
    }
}

/// Number of pitch classes and of timbre coefficients in an audio analysis.
pub const ANALYSIS_DIM: usize = 12;

/// The summary of a track's Audio Analysis: the mean over all segments of each pitch-class and
/// timbre coefficient.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AnalysisSummary {
    /// Mean of `segments[].pitches[i]`, each in 0..1.
    pub pitch: [f64; ANALYSIS_DIM],
    /// Mean of `segments[].timbre[i]`, unbounded.
    pub timbre: [f64; ANALYSIS_DIM],
}

impl AnalysisSummary {
    /// Column names in the shared files: `pitch_0..11` then `timbre_0..11`.
    pub fn column_names() -> Vec<String> {
        (0..ANALYSIS_DIM)
            .map(|i| format!("pitch_{i}"))
            .chain((0..ANALYSIS_DIM).map(|i| format!("timbre_{i}")))
            .collect()
    }

    /// The 24 values in the order of [`AnalysisSummary::column_names`].
    pub fn values(&self) -> impl Iterator<Item = f64> + '_ {
        self.pitch.iter().chain(self.timbre.iter()).copied()
    }
}

/// Labels that some data sets attach to a track.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Labels {
    /// Mood name (moods data set) or activity mood (genre playlists).
    pub mood: Option<String>,
    /// Genre name.
    pub genre: Option<String>,
    /// Track popularity, 0..=100.
    pub popularity: Option<f64>,
    /// Whether the track was on the Billboard Hot-100.
    pub hit: Option<bool>,
}

/// One track: its Spotify id, audio features, optional analysis summary and optional labels.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Track {
    /// The 22-character base-62 Spotify track id.
    pub id: String,
    /// The audio features.
    pub features: AudioFeatures,
    /// The audio-analysis summary, when one is known.
    pub analysis: Option<AnalysisSummary>,
    /// Labels given by the data set the track comes from.
    pub labels: Labels,
}
