//! The documented range of every value, in one place.
//!
//! Ranges follow the Web API reference for audio features. Two are widened where the API's real
//! answers go past the documented "typical" range, so that real tracks are not rejected:
//! loudness goes up to +5 dB (values up to +3.7 dB occur in the hits data), and tempo up to 300 BPM.

use crate::features::{AnalysisSummary, AudioFeature, AudioFeatures, ANALYSIS_DIM};

/// An inclusive range a value must lie in.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Range {
    /// Lowest allowed value.
    pub min: f64,
    /// Highest allowed value.
    pub max: f64,
}

impl Range {
    /// Whether `value` is finite and lies in the range.
    pub fn contains(&self, value: f64) -> bool {
        value.is_finite() && value >= self.min && value <= self.max
    }
}

const fn range(min: f64, max: f64) -> Range {
    Range { min, max }
}

/// The allowed range of an audio feature.
pub fn feature_range(feature: AudioFeature) -> Range {
    match feature {
        AudioFeature::Danceability
        | AudioFeature::Energy
        | AudioFeature::Speechiness
        | AudioFeature::Acousticness
        | AudioFeature::Instrumentalness
        | AudioFeature::Liveness
        | AudioFeature::Valence => range(0.0, 1.0),
        AudioFeature::Key => range(-1.0, 11.0),
        AudioFeature::Mode => range(0.0, 1.0),
        AudioFeature::Loudness => range(-60.0, 5.0),
        AudioFeature::Tempo => range(0.0, 300.0),
        // Up to ten hours.
        AudioFeature::DurationMs => range(0.0, 36_000_000.0),
        AudioFeature::TimeSignature => range(0.0, 7.0),
    }
}

/// Range of a pitch-class mean: each pitch value of a segment lies in 0..1.
pub const PITCH: Range = range(0.0, 1.0);

/// Range of a timbre-coefficient mean: unbounded in the API, but finite.
pub const TIMBRE: Range = range(f64::MIN, f64::MAX);

/// Range of a popularity score, track or artist.
pub const POPULARITY: Range = range(0.0, 100.0);

/// Range of a position in a weekly top-200 chart.
pub const CHART_POSITION: Range = range(1.0, 200.0);

/// Range of a weekly stream count: far above the largest real week (about 7.2e7 streams).
pub const STREAMS: Range = range(0.0, 1e12);

/// Range of `weeks_on_chart`: at most the weeks since streaming charts began.
pub const WEEKS_ON_CHART: Range = range(1.0, 10_000.0);

/// Range of a 0/1 flag such as the hits data's `target`.
pub const FLAG: Range = range(0.0, 1.0);

/// Range of `chorus_hit`, the start of the chorus in seconds: within the longest allowed track.
pub const CHORUS_HIT: Range = range(0.0, 36_000.0);

/// Range of `sections`, the number of sections of a track's audio analysis.
pub const SECTIONS: Range = range(0.0, 100_000.0);

/// Range of a decade of the hits data, `1960` ..= `2010`.
pub const DECADE: Range = range(1960.0, 2010.0);

/// Why a record of values fails the ranges above: what the loaders check cell by cell, for
/// records that come from elsewhere (a web API, a cache).
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum InvalidValue {
    /// A field the record must have is absent.
    #[error("`{field}` is missing")]
    Missing {
        /// The field's name, as in the CSV files.
        field: String,
    },
    /// A value lies outside its range (or is not finite).
    #[error("`{field}` = {value:?} is outside {min}..={max}")]
    OutOfRange {
        /// The field's name, as in the CSV files.
        field: String,
        /// The value.
        value: f64,
        /// Lowest allowed value.
        min: f64,
        /// Highest allowed value.
        max: f64,
    },
}

fn check(field: &str, value: f64, range: Range) -> Result<(), InvalidValue> {
    if range.contains(value) {
        Ok(())
    } else {
        Err(InvalidValue::OutOfRange {
            field: field.to_string(),
            value,
            min: range.min,
            max: range.max,
        })
    }
}

/// Checks every present field of `features` against [`feature_range`], and that each field of
/// `required` is present: the first failure, in the API's field order.
pub fn check_features(
    features: &AudioFeatures,
    required: &[AudioFeature],
) -> Result<(), InvalidValue> {
    for feature in AudioFeature::ALL {
        match features.get(feature) {
            Some(value) => check(feature.name(), value, feature_range(feature))?,
            None if required.contains(&feature) => {
                return Err(InvalidValue::Missing {
                    field: feature.name().to_string(),
                })
            }
            None => {}
        }
    }
    Ok(())
}

/// Checks the 12 pitch means against [`PITCH`] and the 12 timbre means against [`TIMBRE`],
/// naming a failing value by its column (`pitch_3`).
pub fn check_analysis(summary: &AnalysisSummary) -> Result<(), InvalidValue> {
    for i in 0..ANALYSIS_DIM {
        check(&format!("pitch_{i}"), summary.pitch[i], PITCH)?;
        check(&format!("timbre_{i}"), summary.timbre[i], TIMBRE)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn features() -> AudioFeatures {
        AudioFeatures {
            danceability: 0.681,
            energy: 0.594,
            key: 7,
            loudness: -7.028,
            mode: Some(1),
            speechiness: 0.282,
            acousticness: 0.165,
            instrumentalness: 3.49e-06,
            liveness: 0.134,
            valence: Some(0.535),
            tempo: 186.054,
            duration_ms: Some(230_453),
            time_signature: Some(4),
        }
    }

    #[test]
    fn records_are_checked_with_the_loaders_ranges_and_required_fields() {
        assert_eq!(check_features(&features(), &AudioFeature::ALL), Ok(()));
        let mut wrong = features();
        wrong.key = 99;
        assert_eq!(
            check_features(&wrong, &[]).map_err(|e| e.to_string()),
            Err("`key` = 99.0 is outside -1..=11".into())
        );
        wrong = features();
        wrong.valence = None;
        assert_eq!(check_features(&wrong, &[]), Ok(()));
        assert_eq!(
            check_features(&wrong, &[AudioFeature::Valence]),
            Err(InvalidValue::Missing {
                field: "valence".into()
            })
        );
        wrong = features();
        wrong.tempo = f64::NAN;
        assert!(check_features(&wrong, &[]).is_err());
        let mut summary = AnalysisSummary {
            pitch: [0.5; ANALYSIS_DIM],
            timbre: [-3.0; ANALYSIS_DIM],
        };
        assert_eq!(check_analysis(&summary), Ok(()));
        summary.pitch[3] = 1e300;
        assert_eq!(
            check_analysis(&summary).map_err(|e| e.to_string()),
            Err("`pitch_3` = 1e300 is outside 0..=1".into())
        );
        summary.pitch[3] = 0.5;
        summary.timbre[0] = f64::INFINITY;
        assert!(check_analysis(&summary).is_err());
    }
}
