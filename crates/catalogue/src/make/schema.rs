//! The columns of a catalogue.

use std::sync::Arc;

use arrow_schema::{DataType, Field, Schema, SchemaRef};
use dataset::{AnalysisSummary, AudioFeature};

/// Number of columns of a catalogue.
pub const COLUMNS: usize = 42;

/// The schema of every catalogue, 42 columns in this order:
///
/// - `id`, Utf8: a 22-character base-62 id, see [`track_id`](super::track_id);
/// - the 13 audio features under their Web API names, in the API's order (`danceability` …
///   `time_signature`), Float64, null only in bad rows;
/// - `pitch_0..11` then `timbre_0..11`, Float64, null together in rows without analysis;
/// - `chorus_hit` (seconds) and `sections`, Float64;
/// - `genre`, Utf8 (a playlist genre of the popularity data);
/// - `artist_popularity`, Float64, 0..=100.
///
/// Every number is Float64, integers included (`key`, `mode`, `duration_ms`, `sections` …), as
/// the feature matrices of the `dataset` crate hold them.
pub fn schema() -> SchemaRef {
    let number = |name: &str, nullable: bool| Field::new(name, DataType::Float64, nullable);
    let mut fields = Vec::with_capacity(COLUMNS);
    fields.push(Field::new("id", DataType::Utf8, false));
    fields.extend(AudioFeature::ALL.map(|feature| number(feature.name(), true)));
    fields.extend(
        AnalysisSummary::column_names()
            .iter()
            .map(|name| number(name, true)),
    );
    fields.push(number("chorus_hit", false));
    fields.push(number("sections", false));
    fields.push(Field::new("genre", DataType::Utf8, false));
    fields.push(number("artist_popularity", false));
    Arc::new(Schema::new(fields))
}
