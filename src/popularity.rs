//! The song-popularity model's input and the interface every popularity-quartile model offers.
//!
//! The popularity experiment (`examples/popularity_classifier`) trains and saves a model that
//! implements [`QuartileModel`]; the web app (`examples/popularity_app`) loads it and serves its
//! probabilities. Both speak [`SongInput`], whose fields carry the Web API's names.

use dataset::features::AudioFeature;
use dataset::validate::{feature_range, Range, POPULARITY};
use serde::{Deserialize, Serialize};

pub use dataset::load::popularity::POPULARITY_CLASSES as QUARTILES;

/// One song as a popularity model sees it: its audio features, its artist's popularity and its
/// genre (one of the genres the model was trained on).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SongInput {
    /// How suitable for dancing, 0..1.
    pub danceability: f64,
    /// Perceived intensity, 0..1.
    pub energy: f64,
    /// Pitch class, -1 (none) ..= 11.
    pub key: f64,
    /// Overall loudness in dB, -60..5.
    pub loudness: f64,
    /// Major (1) or minor (0).
    pub mode: f64,
    /// Presence of spoken words, 0..1.
    pub speechiness: f64,
    /// Confidence the track is acoustic, 0..1.
    pub acousticness: f64,
    /// Confidence the track has no vocals, 0..1.
    pub instrumentalness: f64,
    /// Presence of an audience, 0..1.
    pub liveness: f64,
    /// Musical positiveness, 0..1.
    pub valence: f64,
    /// Tempo in beats per minute, 0..300.
    pub tempo: f64,
    /// Duration in milliseconds.
    pub duration_ms: f64,
    /// The artist's popularity, 0..=100.
    pub artist_popularity: f64,
    /// The playlist genre, e.g. `pop`.
    pub genre: String,
}

/// A value of a [`SongInput`] that is out of its range: names the field.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
#[error("`{field}` = {value} is outside {min}..={max}")]
pub struct FieldError {
    /// The field's name, as in the Web API.
    pub field: &'static str,
    /// The value given.
    pub value: f64,
    /// Lowest allowed value.
    pub min: f64,
    /// Highest allowed value.
    pub max: f64,
}

impl SongInput {
    /// The numeric fields in model order, with their names and allowed ranges.
    pub fn numeric_fields(&self) -> [(&'static str, f64, Range); 13] {
        let audio = |feature: AudioFeature| feature_range(feature);
        [
            (
                "danceability",
                self.danceability,
                audio(AudioFeature::Danceability),
            ),
            ("energy", self.energy, audio(AudioFeature::Energy)),
            ("key", self.key, audio(AudioFeature::Key)),
            ("loudness", self.loudness, audio(AudioFeature::Loudness)),
            ("mode", self.mode, audio(AudioFeature::Mode)),
            (
                "speechiness",
                self.speechiness,
                audio(AudioFeature::Speechiness),
            ),
            (
                "acousticness",
                self.acousticness,
                audio(AudioFeature::Acousticness),
            ),
            (
                "instrumentalness",
                self.instrumentalness,
                audio(AudioFeature::Instrumentalness),
            ),
            ("liveness", self.liveness, audio(AudioFeature::Liveness)),
            ("valence", self.valence, audio(AudioFeature::Valence)),
            ("tempo", self.tempo, audio(AudioFeature::Tempo)),
            (
                "duration_ms",
                self.duration_ms,
                audio(AudioFeature::DurationMs),
            ),
            ("artist_popularity", self.artist_popularity, POPULARITY),
        ]
    }

    /// Checks every numeric field against its range; the first field out of range is named.
    pub fn validate(&self) -> Result<(), FieldError> {
        for (field, value, range) in self.numeric_fields() {
            if !range.contains(value) {
                return Err(FieldError {
                    field,
                    value,
                    min: range.min,
                    max: range.max,
                });
            }
        }
        Ok(())
    }
}

/// A trained model that gives the probability of each popularity quartile of a song.
pub trait QuartileModel: Send + Sync {
    /// The genres the model knows, in the order of its one-hot encoding.
    fn genres(&self) -> &[String];

    /// The probability of each class of [`QUARTILES`], in that order; they sum to 1.
    ///
    /// Fails with a message naming the field when the song is out of range or its genre unknown.
    fn predict_proba(&self, song: &SongInput) -> Result<[f64; 4], String>;
}
