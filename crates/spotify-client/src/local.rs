//! A feature source over tracks already in memory, such as a loaded shared data set.

use std::collections::HashMap;

use dataset::{AnalysisSummary, AudioFeatures, DataDir, Strictness, Track};

use crate::error::ClientError;
use crate::FeatureSource;

/// A feature source answering from tracks in memory (features and, where known, analysis).
#[derive(Clone, Debug, Default)]
pub struct LocalSource {
    by_id: HashMap<String, (AudioFeatures, Option<AnalysisSummary>)>,
}

impl LocalSource {
    /// A source answering from these tracks.
    pub fn new(tracks: &[Track]) -> LocalSource {
        LocalSource {
            by_id: tracks
                .iter()
                .map(|t| (t.id.clone(), (t.features.clone(), t.analysis.clone())))
                .collect(),
        }
    }

    /// A source over the shared valence training data: `valence/chart_tracks.csv` joined with
    /// `valence/chart_tracks_analysis.csv`, read strictly.
    pub fn chart_tracks(dir: &DataDir) -> Result<LocalSource, ClientError> {
        let tracks = dataset::load::valence::chart_tracks(dir, Strictness::Strict)?;
        Ok(LocalSource::new(&tracks.rows))
    }

    /// Number of tracks the source knows.
    pub fn len(&self) -> usize {
        self.by_id.len()
    }

    /// Whether the source knows no track.
    pub fn is_empty(&self) -> bool {
        self.by_id.is_empty()
    }
}

impl FeatureSource for LocalSource {
    fn name(&self) -> &'static str {
        "local"
    }

    fn batch_size(&self) -> usize {
        1000
    }

    fn audio_features(
        &mut self,
        ids: &[String],
    ) -> Result<Vec<Option<AudioFeatures>>, ClientError> {
        Ok(ids
            .iter()
            .map(|id| self.by_id.get(id).map(|(features, _)| features.clone()))
            .collect())
    }

    fn analysis_summary(&mut self, id: &str) -> Result<Option<AnalysisSummary>, ClientError> {
        Ok(self
            .by_id
            .get(id)
            .and_then(|(_, analysis)| analysis.clone()))
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
        let analysis = AnalysisSummary {
            pitch: [0.25; 12],
            timbre: [-1.5; 12],
        };
        let track = Track {
            id: "5aAx2yezTd8zXrkmtKl66Z".into(),
            features: features.clone(),
            analysis: Some(analysis.clone()),
            labels: Labels::default(),
        };
        let mut source = LocalSource::new(&[track]);
        let answer = source
            .audio_features(&["unknown".into(), "5aAx2yezTd8zXrkmtKl66Z".into()])
            .unwrap();
        assert_eq!(answer, vec![None, Some(features)]);
        assert_eq!(
            source.analysis_summary("5aAx2yezTd8zXrkmtKl66Z").unwrap(),
            Some(analysis)
        );
        assert_eq!(source.analysis_summary("unknown").unwrap(), None);
    }
}
