//! Audio-feature sources for Spotify tracks. The Web API client lands with issue 6; this crate
//! holds the trait every source implements, so the examples can take features from it.

use dataset::{AudioFeatures, Track};

/// Errors of a feature source.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The source has no features for this id.
    #[error("no audio features for track {0}")]
    NotFound(String),
    /// Reading a local data set failed.
    #[error(transparent)]
    Dataset(#[from] dataset::DatasetError),
}

/// Something that gives the audio features of Spotify track ids.
pub trait FeatureSource {
    /// The features of each id, in order; `None` for an id the source does not know.
    fn audio_features(&mut self, ids: &[String])
        -> Result<Vec<Option<AudioFeatures>>, ClientError>;
}

/// A feature source over tracks already in memory, such as a loaded shared data set.
#[derive(Clone, Debug, Default)]
pub struct LocalSource {
    by_id: std::collections::HashMap<String, AudioFeatures>,
}

impl LocalSource {
    /// A source answering from these tracks.
    pub fn new(tracks: &[Track]) -> LocalSource {
        LocalSource {
            by_id: tracks
                .iter()
                .map(|t| (t.id.clone(), t.features.clone()))
                .collect(),
        }
    }
}

impl FeatureSource for LocalSource {
    fn audio_features(
        &mut self,
        ids: &[String],
    ) -> Result<Vec<Option<AudioFeatures>>, ClientError> {
        Ok(ids.iter().map(|id| self.by_id.get(id).cloned()).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use dataset::Labels;

    #[test]
    fn local_source_answers_known_ids_in_order_and_none_for_unknown() {
        let features = AudioFeatures {
            danceability: 0.5,
            energy: 0.6,
            key: 2,
            loudness: -6.0,
            mode: Some(1),
            speechiness: 0.05,
            acousticness: 0.1,
            instrumentalness: 0.0,
            liveness: 0.1,
            valence: Some(0.7),
            tempo: 120.0,
            duration_ms: Some(180_000),
            time_signature: Some(4),
        };
        let track = Track {
            id: "5aAx2yezTd8zXrkmtKl66Z".into(),
            features: features.clone(),
            analysis: None,
            labels: Labels::default(),
        };
        let mut source = LocalSource::new(&[track]);
        let answer = source
            .audio_features(&["unknown".into(), "5aAx2yezTd8zXrkmtKl66Z".into()])
            .unwrap();
        assert_eq!(answer, vec![None, Some(features)]);
    }
}
