//! Describing a set of tracks: rows, distinct ids and the range of every audio feature.

use std::fmt;

use crate::features::{AudioFeature, Track};
use crate::prepare::unique_ids;

/// The count, minimum, maximum and mean of one audio feature over the tracks that have it.
#[derive(Clone, Debug, PartialEq)]
pub struct FeatureStats {
    /// The feature.
    pub feature: AudioFeature,
    /// Number of tracks that have a value.
    pub count: usize,
    /// Smallest value.
    pub min: f64,
    /// Largest value.
    pub max: f64,
    /// Mean value.
    pub mean: f64,
}

/// The description of a set of tracks.
#[derive(Clone, Debug, PartialEq)]
pub struct Summary {
    /// Number of rows.
    pub rows: usize,
    /// Number of distinct track ids.
    pub unique_ids: usize,
    /// Number of tracks with an audio-analysis summary.
    pub with_analysis: usize,
    /// One entry per audio feature present in at least one track, in API order.
    pub features: Vec<FeatureStats>,
}

/// Describes `tracks`; features no track has are left out.
pub fn describe(tracks: &[Track]) -> Summary {
    let features = AudioFeature::ALL
        .into_iter()
        .filter_map(|feature| {
            let mut stats = FeatureStats {
                feature,
                count: 0,
                min: f64::INFINITY,
                max: f64::NEG_INFINITY,
                mean: 0.0,
            };
            let mut sum = 0.0;
            for value in tracks.iter().filter_map(|t| t.features.get(feature)) {
                stats.count += 1;
                stats.min = stats.min.min(value);
                stats.max = stats.max.max(value);
                sum += value;
            }
            (stats.count > 0).then(|| FeatureStats {
                mean: sum / stats.count as f64,
                ..stats
            })
        })
        .collect();
    Summary {
        rows: tracks.len(),
        unique_ids: unique_ids(tracks),
        with_analysis: tracks.iter().filter(|t| t.analysis.is_some()).count(),
        features,
    }
}

impl fmt::Display for Summary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "{} rows, {} unique ids, {} with analysis",
            self.rows, self.unique_ids, self.with_analysis
        )?;
        for stats in &self.features {
            writeln!(
                f,
                "  {:<18} n={:<6} min={:<12.6} max={:<12.6} mean={:.6}",
                stats.feature.name(),
                stats.count,
                stats.min,
                stats.max,
                stats.mean
            )?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::features::{AudioFeatures, Labels};

    fn track(id: &str, energy: f64, valence: Option<f64>) -> Track {
        Track {
            id: id.into(),
            features: AudioFeatures {
                danceability: 0.5,
                energy,
                key: 1,
                loudness: -5.0,
                mode: None,
                speechiness: 0.1,
                acousticness: 0.1,
                instrumentalness: 0.0,
                liveness: 0.1,
                valence,
                tempo: 120.0,
                duration_ms: None,
                time_signature: None,
            },
            analysis: None,
            labels: Labels::default(),
        }
    }

    #[test]
    fn describe_counts_ids_and_ranges_and_skips_absent_features() {
        let summary = describe(&[
            track("a", 0.2, Some(0.1)),
            track("b", 0.8, None),
            track("a", 0.5, None),
        ]);
        assert_eq!((summary.rows, summary.unique_ids), (3, 2));
        let energy = summary
            .features
            .iter()
            .find(|s| s.feature == AudioFeature::Energy)
            .expect("energy");
        assert_eq!((energy.min, energy.max, energy.count), (0.2, 0.8, 3));
        let valence = summary
            .features
            .iter()
            .find(|s| s.feature == AudioFeature::Valence)
            .expect("valence");
        assert_eq!(valence.count, 1);
        assert!(summary
            .features
            .iter()
            .all(|s| s.feature != AudioFeature::Mode));
    }
}
