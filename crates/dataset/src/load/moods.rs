//! The four-moods data set: 677 tracks labelled Happy, Sad, Energetic or Calm.

use crate::data_dir::DataDir;
use crate::error::DatasetError;
use crate::features::{Labels, Track};
use crate::load::{audio_features, required_feature_columns, FeatureColumns};
use crate::read::{open, read_table, Loaded, Strictness, TableSpec};
use crate::validate::POPULARITY;

/// The moods file, relative to the data directory.
pub const FILE: &str = "moods/data_moods.csv";

/// The mood names, in the order the data set's authors list them.
pub const MOODS: [&str; 4] = ["Happy", "Sad", "Energetic", "Calm"];

/// The file's feature columns: duration is `length`, and there is no `mode`.
const COLUMNS: FeatureColumns = FeatureColumns {
    duration: Some("length"),
    mode: false,
    valence: true,
    time_signature: true,
};

/// Loads every track with its mood in `labels.mood` and its popularity in `labels.popularity`.
pub fn load(dir: &DataDir, strictness: Strictness) -> Result<Loaded<Track>, DatasetError> {
    load_path(&dir.join(FILE), strictness)
}

/// Loads a file laid out like the moods file from any path (e.g. new tracks to classify).
pub fn load_path(
    path: &std::path::Path,
    strictness: Strictness,
) -> Result<Loaded<Track>, DatasetError> {
    let path = path.to_path_buf();
    let mut required = required_feature_columns(&COLUMNS);
    required.extend(["id", "popularity", "mood"]);
    let spec = TableSpec {
        path: &path,
        delimiter: b',',
        required: &required,
        strictness,
    };
    read_table(open(&path)?, &spec, |row| {
        Ok(Track {
            id: row.spotify_id("id")?,
            features: audio_features(row, &COLUMNS)?,
            analysis: None,
            labels: Labels {
                mood: Some(
                    row.one_of("mood", &MOODS, "one of Happy, Sad, Energetic, Calm")?
                        .to_string(),
                ),
                popularity: Some(row.number("popularity", POPULARITY)?),
                ..Labels::default()
            },
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::load::fixture::data_dir;

    const HEADER: &str = "name,album,artist,id,release_date,popularity,length,danceability,\
        acousticness,energy,instrumentalness,liveness,valence,loudness,speechiness,tempo,key,\
        time_signature,mood\n";
    const GOOD: &str = "1999,1999,Prince,2H7PHVdQ3mXqEHXcvclTB0,1982-10-27,68,379266,0.866,\
        0.137,0.73,0.0,0.0843,0.625,-8.201,0.0767,118.523,5,4,Happy\n";

    #[test]
    fn loads_mood_duration_and_popularity() {
        let (_temp, dir) = data_dir(&[(FILE, format!("{HEADER}{GOOD}").as_bytes())]);
        let loaded = load(&dir, Strictness::Strict).expect("loads");
        let track = &loaded.rows[0];
        assert_eq!(track.labels.mood.as_deref(), Some("Happy"));
        assert_eq!(track.labels.popularity, Some(68.0));
        assert_eq!(track.features.duration_ms, Some(379_266));
        assert_eq!(track.features.mode, None);
    }

    #[test]
    fn loader_reports_line_column_and_value_of_unknown_mood() {
        let bad = GOOD.replace("Happy", "Angry");
        let (_temp, dir) = data_dir(&[(FILE, format!("{HEADER}{GOOD}{bad}").as_bytes())]);
        match load(&dir, Strictness::Strict) {
            Err(DatasetError::BadValue {
                line,
                column,
                value,
                ..
            }) => {
                assert_eq!(
                    (line, column.as_str(), value.as_str()),
                    (3, "mood", "Angry")
                );
            }
            other => panic!("expected BadValue, got {other:?}"),
        }
        let lenient = load(&dir, Strictness::Lenient).expect("lenient load");
        assert_eq!(lenient.len(), 1);
        assert_eq!(lenient.skipped[0].line, 3);
        assert_eq!(lenient.skipped[0].column.as_deref(), Some("mood"));
    }
}
