//! The genre and activity-mood playlists: `genres/data_{3genre,5genre,7genre,4mood}.csv`.

use crate::data_dir::DataDir;
use crate::error::DatasetError;
use crate::features::{Labels, Track};
use crate::load::{audio_features, required_feature_columns, FeatureColumns};
use crate::prepare::drop_repeated_ids;
use crate::read::{open, read_table, Loaded, Strictness, TableSpec};
use crate::validate::Range;

/// One of the four playlist files.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum GenreSet {
    /// `data_3genre.csv`: classical, rock, edm.
    Three,
    /// `data_5genre.csv`: jazz, classical, rock, hip-hop, edm.
    Five,
    /// `data_7genre.csv`: jazz, classical, indie, country, rock, hip-hop, edm.
    Seven,
    /// `data_4mood.csv`: study, road-trip, workout, party.
    Moods,
}

impl GenreSet {
    /// All four files.
    pub const ALL: [GenreSet; 4] = [
        GenreSet::Three,
        GenreSet::Five,
        GenreSet::Seven,
        GenreSet::Moods,
    ];

    /// The file, relative to the data directory.
    pub fn file(self) -> &'static str {
        match self {
            GenreSet::Three => "genres/data_3genre.csv",
            GenreSet::Five => "genres/data_5genre.csv",
            GenreSet::Seven => "genres/data_7genre.csv",
            GenreSet::Moods => "genres/data_4mood.csv",
        }
    }

    /// The class names, indexed by the file's integer `label`.
    pub fn label_names(self) -> &'static [&'static str] {
        match self {
            GenreSet::Three => &["classical", "rock", "edm"],
            GenreSet::Five => &["jazz", "classical", "rock", "hip-hop", "edm"],
            GenreSet::Seven => &[
                "jazz",
                "classical",
                "indie",
                "country",
                "rock",
                "hip-hop",
                "edm",
            ],
            GenreSet::Moods => &["study", "road-trip", "workout", "party"],
        }
    }

    /// Whether the labels are activity moods (`labels.mood`) rather than genres (`labels.genre`).
    pub fn is_mood(self) -> bool {
        self == GenreSet::Moods
    }
}

/// The files' feature columns: no duration and no time signature.
const COLUMNS: FeatureColumns = FeatureColumns {
    duration: None,
    mode: true,
    valence: true,
    time_signature: false,
};

/// Loads one playlist file, every row, with the label's name in `labels.genre` (or
/// `labels.mood` for [`GenreSet::Moods`]).
pub fn load(
    dir: &DataDir,
    set: GenreSet,
    strictness: Strictness,
) -> Result<Loaded<Track>, DatasetError> {
    load_path(&dir.join(set.file()), set, strictness)
}

/// Loads a file laid out like the playlist files, labelled like `set`, from any path (e.g. new
/// tracks to classify).
pub fn load_path(
    path: &std::path::Path,
    set: GenreSet,
    strictness: Strictness,
) -> Result<Loaded<Track>, DatasetError> {
    let path = path.to_path_buf();
    let mut required = required_feature_columns(&COLUMNS);
    required.extend(["tid", "label"]);
    let spec = TableSpec {
        path: &path,
        delimiter: b',',
        required: &required,
        strictness,
    };
    let names = set.label_names();
    let labels = Range {
        min: 0.0,
        max: (names.len() - 1) as f64,
    };
    read_table(open(&path)?, &spec, |row| {
        let id = row.spotify_id("tid")?;
        let features = audio_features(row, &COLUMNS)?;
        // The range check makes the index valid.
        let name = names
            .get(row.integer("label", labels)? as usize)
            .map(|name| name.to_string());
        let labels = if set.is_mood() {
            Labels {
                mood: name,
                ..Labels::default()
            }
        } else {
            Labels {
                genre: name,
                ..Labels::default()
            }
        };
        Ok(Track {
            id,
            features,
            analysis: None,
            labels,
        })
    })
}

/// Loads one playlist file as the published protocol uses it: every `tid` that appears more
/// than once is dropped with all its rows (see [`drop_repeated_ids`]).
pub fn load_published(
    dir: &DataDir,
    set: GenreSet,
    strictness: Strictness,
) -> Result<Loaded<Track>, DatasetError> {
    let mut loaded = load(dir, set, strictness)?;
    loaded.rows = drop_repeated_ids(loaded.rows);
    Ok(loaded)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::load::fixture::data_dir;

    const HEADER: &str = "tid,danceability,energy,key,loudness,mode,speechiness,acousticness,\
        instrumentalness,liveness,valence,tempo,label\n";

    fn row(id: &str, label: &str) -> String {
        format!("{id},0.221,0.126,0,-25.427,1,0.0447,0.989,0.897,0.102,0.216,133.63,{label}\n")
    }

    #[test]
    fn labels_map_to_names_and_repeated_ids_are_dropped() {
        let a = "4SFBV7SRNG2e2kyL1F6kjU";
        let b = "2kAgCRZPG3YQR2VMqRvLmb";
        let text = format!("{HEADER}{}{}{}", row(a, "0"), row(b, "2"), row(a, "1"));
        let (_temp, dir) = data_dir(&[(GenreSet::Three.file(), text.as_bytes())]);
        let all = load(&dir, GenreSet::Three, Strictness::Strict).expect("loads");
        assert_eq!(all.len(), 3);
        assert_eq!(all.rows[1].labels.genre.as_deref(), Some("edm"));
        let published = load_published(&dir, GenreSet::Three, Strictness::Strict).expect("loads");
        assert_eq!(published.len(), 1);
        assert_eq!(published.rows[0].id, b);
    }

    #[test]
    fn loader_reports_label_outside_the_class_list() {
        let text = format!("{HEADER}{}", row("4SFBV7SRNG2e2kyL1F6kjU", "3"));
        let (_temp, dir) = data_dir(&[(GenreSet::Three.file(), text.as_bytes())]);
        match load(&dir, GenreSet::Three, Strictness::Strict) {
            Err(DatasetError::OutOfRange {
                line,
                column,
                value,
                max,
                ..
            }) => assert_eq!(
                (line, column.as_str(), value.as_str(), max),
                (2, "label", "3", 2.0)
            ),
            other => panic!("expected OutOfRange, got {other:?}"),
        }
    }
}
