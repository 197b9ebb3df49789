//! The Web API objects this client reads, as far as the workspace uses them, and the summary of
//! an audio analysis into the 12 pitch and 12 timbre means.
//!
//! The client parses JSON itself rather than through rspotify's models: those hold audio
//! features and analysis values as `f32` (so `0.681` would come back as `0.6809999942779541`),
//! and a `null` entry in a batch fails the whole batch there.

use dataset::{AnalysisSummary, AudioFeatures, ANALYSIS_DIM};
use serde::{Deserialize, Serialize};

use crate::error::ClientError;

/// One entry of `GET /v1/audio-features?ids=`: the id and its features.
#[derive(Debug, Deserialize)]
pub(crate) struct IdentifiedFeatures {
    pub(crate) id: String,
    #[serde(flatten)]
    pub(crate) features: AudioFeatures,
}

/// The body of `GET /v1/audio-features?ids=`.
#[derive(Debug, Deserialize)]
pub(crate) struct AudioFeaturesPage {
    pub(crate) audio_features: Vec<Option<IdentifiedFeatures>>,
}

/// One segment of an audio analysis: its 12 pitch-class strengths and 12 timbre coefficients.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Segment {
    /// Start, in seconds.
    #[serde(default)]
    pub start: f64,
    /// Duration, in seconds.
    #[serde(default)]
    pub duration: f64,
    /// Strength of each pitch class, 0..1.
    pub pitches: Vec<f64>,
    /// Timbre coefficients.
    pub timbre: Vec<f64>,
}

/// The part of `GET /v1/audio-analysis/{id}` the workspace uses: the segments.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AudioAnalysis {
    /// The segments, in time order.
    pub segments: Vec<Segment>,
}

impl AudioAnalysis {
    /// The mean over all segments of each pitch class and timbre coefficient, as in
    /// `chart_tracks_analysis.csv`; `None` for an analysis without segments. A segment without
    /// exactly 12 pitches and 12 timbre values is an error naming the segment.
    pub fn summary(&self) -> Result<Option<AnalysisSummary>, SegmentError> {
        if self.segments.is_empty() {
            return Ok(None);
        }
        let mut pitch = [0.0; ANALYSIS_DIM];
        let mut timbre = [0.0; ANALYSIS_DIM];
        for (index, segment) in self.segments.iter().enumerate() {
            if segment.pitches.len() != ANALYSIS_DIM || segment.timbre.len() != ANALYSIS_DIM {
                return Err(SegmentError {
                    index,
                    pitches: segment.pitches.len(),
                    timbre: segment.timbre.len(),
                });
            }
            for i in 0..ANALYSIS_DIM {
                pitch[i] += segment.pitches[i];
                timbre[i] += segment.timbre[i];
            }
        }
        let count = self.segments.len() as f64;
        pitch.iter_mut().for_each(|value| *value /= count);
        timbre.iter_mut().for_each(|value| *value /= count);
        Ok(Some(AnalysisSummary { pitch, timbre }))
    }
}

/// A segment of an audio analysis without exactly 12 pitches and 12 timbre values.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error(
    "segment {index} has {pitches} pitches and {timbre} timbre values, expected {ANALYSIS_DIM} each"
)]
pub struct SegmentError {
    /// The segment's index in the analysis.
    pub index: usize,
    /// Its number of pitch values.
    pub pitches: usize,
    /// Its number of timbre values.
    pub timbre: usize,
}

/// An artist as a track lists it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ArtistRef {
    /// Spotify artist id (absent for local files).
    pub id: Option<String>,
    /// Artist name.
    pub name: String,
}

/// A track from `GET /v1/tracks?ids=` or a playlist: popularity and artists.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TrackInfo {
    /// Spotify track id (absent for local files in playlists).
    pub id: Option<String>,
    /// Track name.
    pub name: String,
    /// Popularity, 0..=100.
    #[serde(default)]
    pub popularity: Option<u32>,
    /// Duration in milliseconds.
    #[serde(default)]
    pub duration_ms: Option<u64>,
    /// Whether the track has explicit lyrics.
    #[serde(default)]
    pub explicit: Option<bool>,
    /// The artists, main artist first.
    #[serde(default)]
    pub artists: Vec<ArtistRef>,
}

/// The body of `GET /v1/tracks?ids=`.
#[derive(Debug, Deserialize)]
pub(crate) struct TracksPage {
    pub(crate) tracks: Vec<Option<TrackInfo>>,
}

/// Follower count of an artist.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Followers {
    /// Number of followers.
    pub total: u64,
}

/// An artist from `GET /v1/artists?ids=`: popularity and genres.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ArtistInfo {
    /// Spotify artist id.
    pub id: String,
    /// Artist name.
    pub name: String,
    /// Popularity, 0..=100.
    #[serde(default)]
    pub popularity: Option<u32>,
    /// Genres Spotify attaches to the artist.
    #[serde(default)]
    pub genres: Vec<String>,
    /// Followers.
    #[serde(default)]
    pub followers: Option<Followers>,
}

/// The body of `GET /v1/artists?ids=`.
#[derive(Debug, Deserialize)]
pub(crate) struct ArtistsPage {
    pub(crate) artists: Vec<Option<ArtistInfo>>,
}

/// One item of a playlist.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PlaylistItem {
    /// When the item was added, ISO 8601.
    #[serde(default)]
    pub added_at: Option<String>,
    /// The track; `None` when it is no longer available.
    #[serde(default)]
    pub track: Option<TrackInfo>,
}

/// One page of `GET /v1/playlists/{id}/tracks`.
#[derive(Debug, Deserialize)]
pub(crate) struct PlaylistPage {
    pub(crate) items: Vec<PlaylistItem>,
    pub(crate) total: usize,
}

/// Checks every feature a source gave against the Web API's documented ranges
/// ([`dataset::validate::feature_range`]); a value outside is a [`ClientError::Malformed`]
/// naming the track, the field and the value.
pub(crate) fn check_features(
    endpoint: &str,
    id: &str,
    features: &AudioFeatures,
) -> Result<(), ClientError> {
    dataset::validate::check_features(features, &[]).map_err(|error| ClientError::Malformed {
        endpoint: endpoint.to_string(),
        line: 0,
        column: 0,
        message: format!("track {id}: {error}"),
    })
}

/// Parses a body of `endpoint`, mapping a parse failure to [`ClientError::Malformed`].
pub(crate) fn parse<T: serde::de::DeserializeOwned>(
    endpoint: &str,
    body: &str,
) -> Result<T, ClientError> {
    serde_json::from_str(body).map_err(|error| ClientError::malformed(endpoint, &error))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summary_is_the_mean_over_segments_of_each_coefficient() {
        let segment = |base: f64| Segment {
            start: 0.0,
            duration: 1.0,
            pitches: (0..12).map(|i| base + i as f64 / 100.0).collect(),
            timbre: (0..12).map(|i| -base * i as f64).collect(),
        };
        let analysis = AudioAnalysis {
            segments: vec![segment(0.2), segment(0.4), segment(0.9)],
        };
        let summary = analysis.summary().expect("valid").expect("has segments");
        for i in 0..12 {
            let pitch = (0.2 + 0.4 + 0.9) / 3.0 + i as f64 / 100.0;
            assert!((summary.pitch[i] - pitch).abs() < 1e-12);
            assert!((summary.timbre[i] + 0.5 * i as f64).abs() < 1e-12);
        }
    }

    #[test]
    fn summary_names_a_segment_of_the_wrong_length_and_is_none_without_segments() {
        let analysis = AudioAnalysis {
            segments: vec![Segment {
                start: 0.0,
                duration: 1.0,
                pitches: vec![0.5; 11],
                timbre: vec![0.0; 12],
            }],
        };
        assert!(analysis
            .summary()
            .unwrap_err()
            .to_string()
            .contains("segment 0 has 11 pitches"));
        assert_eq!(AudioAnalysis { segments: vec![] }.summary(), Ok(None));
    }
}
