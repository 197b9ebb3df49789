//! Writes fetched tracks in the shared data's formats: `chart_tracks.csv` (`id` + the 13 audio
//! features) and `chart_tracks_analysis.csv` (`id` + `pitch_0..11` + `timbre_0..11`).
//!
//! Numbers are written as the shared files write them (Python's `repr`): the shortest text that
//! reads back to the same `f64`, with an exponent below 1e-4 and from 1e16 (`3.49e-06`), and
//! integer fields as integers. So a track read from a shared file is written back byte for byte.

use dataset::{AnalysisSummary, AudioFeature, AudioFeatures};

use crate::fetch::FetchedTrack;

/// A float as Python's `repr` writes it: `0.0`, `186.054`, `3.49e-06`, `1e+16`.
pub fn python_float(value: f64) -> String {
    if value.is_nan() {
        return "nan".into();
    }
    if value.is_infinite() {
        return if value > 0.0 { "inf" } else { "-inf" }.into();
    }
    // Rust's Debug is the shortest round-trip text and switches to an exponent at the same
    // magnitudes as Python; only the exponent's form differs (`e-6` against `e-06`).
    let text = format!("{value:?}");
    match text.split_once('e') {
        None => text,
        Some((mantissa, exponent)) => {
            let (sign, digits) = match exponent.strip_prefix('-') {
                Some(digits) => ('-', digits),
                None => ('+', exponent),
            };
            format!("{mantissa}e{sign}{digits:0>2}")
        }
    }
}

fn feature_cell(features: &AudioFeatures, feature: AudioFeature) -> String {
    let integer = |value: Option<i64>| value.map(|v| v.to_string()).unwrap_or_default();
    match feature {
        AudioFeature::Key => features.key.to_string(),
        AudioFeature::Mode => integer(features.mode.map(i64::from)),
        AudioFeature::DurationMs => integer(features.duration_ms),
        AudioFeature::TimeSignature => integer(features.time_signature.map(i64::from)),
        other => features.get(other).map(python_float).unwrap_or_default(),
    }
}

/// The header of a features file: `id` and the 13 features in the API's order.
pub fn features_header() -> String {
    std::iter::once("id")
        .chain(AudioFeature::ALL.iter().map(|feature| feature.name()))
        .collect::<Vec<_>>()
        .join(",")
}

/// One features row; a field the source did not give is an empty cell.
pub fn features_row(id: &str, features: &AudioFeatures) -> String {
    std::iter::once(id.to_string())
        .chain(
            AudioFeature::ALL
                .iter()
                .map(|&feature| feature_cell(features, feature)),
        )
        .collect::<Vec<_>>()
        .join(",")
}

/// The header of an analysis file: `id`, `pitch_0..11`, `timbre_0..11`.
pub fn analysis_header() -> String {
    std::iter::once("id".to_string())
        .chain(AnalysisSummary::column_names())
        .collect::<Vec<_>>()
        .join(",")
}

/// One analysis row.
pub fn analysis_row(id: &str, analysis: &AnalysisSummary) -> String {
    std::iter::once(id.to_string())
        .chain(analysis.values().map(python_float))
        .collect::<Vec<_>>()
        .join(",")
}

/// The features file of the tracks that have features, in their order.
pub fn features_csv(tracks: &[FetchedTrack]) -> String {
    let mut text = features_header();
    text.push('\n');
    for track in tracks {
        if let Some(features) = &track.features {
            text.push_str(&features_row(&track.id, features));
            text.push('\n');
        }
    }
    text
}

/// The analysis file of the tracks that have features and an analysis, in their order.
pub fn analysis_csv(tracks: &[FetchedTrack]) -> String {
    let mut text = analysis_header();
    text.push('\n');
    for track in tracks.iter().filter(|track| track.features.is_some()) {
        if let Some(analysis) = &track.analysis {
            text.push_str(&analysis_row(&track.id, analysis));
            text.push('\n');
        }
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn floats_are_written_as_python_repr() {
        let cases = [
            (0.0, "0.0"),
            (186.054, "186.054"),
            (3.49e-06, "3.49e-06"),
            (1e-05, "1e-05"),
            (0.0001, "0.0001"),
            (-7.028, "-7.028"),
            (1e16, "1e+16"),
            (123456789012345.0, "123456789012345.0"),
            (0.5655177757520505, "0.5655177757520505"),
        ];
        for (value, text) in cases {
            assert_eq!(python_float(value), text);
        }
    }
}
