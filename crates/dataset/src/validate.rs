//! The documented range of every value, in one place.
//!
//! Ranges follow the Web API reference for audio features. Two are widened where the API's real
//! answers go past the documented "typical" range, so that real tracks are not rejected:
//! loudness goes up to +5 dB (values up to +3.7 dB occur in the hits data), and tempo up to 300 BPM.

use crate::features::AudioFeature;

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
