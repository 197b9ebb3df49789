//! The popularity data: TidyTuesday's playlist tracks joined by artist name with artist
//! popularity.

use std::collections::HashMap;

use crate::data_dir::DataDir;
use crate::error::DatasetError;
use crate::features::{Labels, Track};
use crate::load::{audio_features, required_feature_columns, FeatureColumns};
use crate::prepare::{dedup_by_id, Identified};
use crate::read::{open, read_table, Loaded, Strictness, TableSpec};
use crate::validate::POPULARITY;

/// The playlist tracks, relative to the data directory.
pub const SONGS: &str = "popularity/spotify_songs.csv";
/// The artists' popularity, relative to the data directory.
pub const ARTISTS: &str = "popularity/artist_popularity.csv";

/// The values of `playlist_genre`.
pub const GENRES: [&str; 6] = ["edm", "latin", "pop", "r&b", "rap", "rock"];

/// Names of the popularity classes of the published protocol, indexed by [`popularity_class`].
pub const POPULARITY_CLASSES: [&str; 4] = ["0-25", "25-50", "50-75", "75-100"];

/// The songs file's feature columns: no time signature.
const COLUMNS: FeatureColumns = FeatureColumns {
    duration: Some("duration_ms"),
    mode: true,
    valence: true,
    time_signature: false,
};

/// One row of `spotify_songs.csv`: a track in one playlist, with its artist's popularity.
#[derive(Clone, Debug, PartialEq)]
pub struct PopularityTrack {
    /// The track, with `labels.popularity` (0..=100) and `labels.genre` (the playlist genre).
    pub track: Track,
    /// Track title.
    pub name: String,
    /// Artist name as written in the file (the join key for artist popularity).
    pub artist: String,
    /// Spotify album id.
    pub album_id: String,
    /// Album release date as written (a year, a year-month or a full date).
    pub album_release_date: String,
    /// Spotify playlist id.
    pub playlist_id: String,
    /// Playlist sub-genre, e.g. `dance pop`.
    pub playlist_subgenre: String,
    /// The artist's popularity, 0..=100, when the artist file lists the artist.
    pub artist_popularity: Option<f64>,
}

impl Identified for PopularityTrack {
    fn track_id(&self) -> &str {
        &self.track.id
    }
}

/// One row of `artist_popularity.csv`.
#[derive(Clone, Debug, PartialEq)]
pub struct ArtistPopularity {
    /// Artist name.
    pub name: String,
    /// Popularity, 0..=100.
    pub popularity: f64,
}

/// Loads every row of the songs file (one per track and playlist), joined with artist
/// popularity by exact artist name.
pub fn load(
    dir: &DataDir,
    strictness: Strictness,
) -> Result<Loaded<PopularityTrack>, DatasetError> {
    load_paths(&dir.join(SONGS), &dir.join(ARTISTS), strictness)
}

/// Loads a songs file and an artists file laid out like the shared ones, from any paths (e.g.
/// new tracks to classify), joined as [`load`] joins them.
pub fn load_paths(
    songs_path: &std::path::Path,
    artists_path: &std::path::Path,
    strictness: Strictness,
) -> Result<Loaded<PopularityTrack>, DatasetError> {
    let artists = artists_at(artists_path, strictness)?;
    let mut songs = songs_at(songs_path, strictness)?;
    // The first row wins should a name ever be listed twice; the shared file has none.
    let mut by_name: HashMap<&str, f64> = HashMap::with_capacity(artists.rows.len());
    for artist in &artists.rows {
        by_name.entry(&artist.name).or_insert(artist.popularity);
    }
    for song in &mut songs.rows {
        song.artist_popularity = by_name.get(song.artist.as_str()).copied();
    }
    songs.skipped.extend(artists.skipped);
    Ok(songs)
}

/// Loads the songs file without the artist join (`artist_popularity` is `None`).
pub fn songs(
    dir: &DataDir,
    strictness: Strictness,
) -> Result<Loaded<PopularityTrack>, DatasetError> {
    songs_at(&dir.join(SONGS), strictness)
}

fn songs_at(
    path: &std::path::Path,
    strictness: Strictness,
) -> Result<Loaded<PopularityTrack>, DatasetError> {
    let path = path.to_path_buf();
    let mut required = required_feature_columns(&COLUMNS);
    required.extend([
        "track_id",
        "track_name",
        "track_artist",
        "track_popularity",
        "track_album_id",
        "track_album_release_date",
        "playlist_id",
        "playlist_genre",
        "playlist_subgenre",
    ]);
    let spec = TableSpec {
        path: &path,
        delimiter: b',',
        required: &required,
        strictness,
    };
    read_table(open(&path)?, &spec, |row| {
        let track = Track {
            id: row.spotify_id("track_id")?,
            features: audio_features(row, &COLUMNS)?,
            analysis: None,
            labels: Labels {
                popularity: Some(row.integer("track_popularity", POPULARITY)? as f64),
                genre: Some(
                    row.one_of(
                        "playlist_genre",
                        &GENRES,
                        "one of edm, latin, pop, r&b, rap, rock",
                    )?
                    .to_string(),
                ),
                ..Labels::default()
            },
        };
        Ok(PopularityTrack {
            track,
            name: row.free_text("track_name")?.to_string(),
            artist: row.free_text("track_artist")?.to_string(),
            album_id: row.free_text("track_album_id")?.to_string(),
            album_release_date: row.free_text("track_album_release_date")?.to_string(),
            playlist_id: row.free_text("playlist_id")?.to_string(),
            playlist_subgenre: row.free_text("playlist_subgenre")?.to_string(),
            artist_popularity: None,
        })
    })
}

/// Loads the artist popularity file.
pub fn artists(
    dir: &DataDir,
    strictness: Strictness,
) -> Result<Loaded<ArtistPopularity>, DatasetError> {
    artists_at(&dir.join(ARTISTS), strictness)
}

fn artists_at(
    path: &std::path::Path,
    strictness: Strictness,
) -> Result<Loaded<ArtistPopularity>, DatasetError> {
    let path = path.to_path_buf();
    let spec = TableSpec {
        path: &path,
        delimiter: b',',
        required: &["artist_name", "artist_popularity"],
        strictness,
    };
    read_table(open(&path)?, &spec, |row| {
        Ok(ArtistPopularity {
            name: row.text("artist_name")?.to_string(),
            popularity: row.integer("artist_popularity", POPULARITY)? as f64,
        })
    })
}

/// One row per track id, the first of its playlists (a track appears once per playlist).
pub fn unique_tracks(rows: Vec<PopularityTrack>) -> Vec<PopularityTrack> {
    dedup_by_id(rows)
}

/// The popularity class of the published protocol: 0 for 0..25, 1 for 25..50, 2 for 50..75
/// and 3 for 75..=100.
pub fn popularity_class(popularity: f64) -> usize {
    match popularity {
        p if p < 25.0 => 0,
        p if p < 50.0 => 1,
        p if p < 75.0 => 2,
        _ => 3,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::load::fixture::data_dir;

    const SONGS_HEADER: &str = "track_id,track_name,track_artist,track_popularity,\
        track_album_id,track_album_name,track_album_release_date,playlist_name,playlist_id,\
        playlist_genre,playlist_subgenre,danceability,energy,key,loudness,mode,speechiness,\
        acousticness,instrumentalness,liveness,valence,tempo,duration_ms\n";

    fn song(id: &str, artist: &str, popularity: &str, genre: &str) -> String {
        format!(
            "{id},Song,{artist},{popularity},2oCs0DGTsRO98Gh5ZSl2Cx,Album,2019-06-14,List,\
             37i9dQZF1DXcZDD7cfEKhW,{genre},dance pop,0.748,0.916,6,-2.634,1,0.0583,0.102,0,\
             0.0653,0.518,122.036,194754\n"
        )
    }

    const ARTISTS_TEXT: &str = "artist_name,artist_popularity\nEd Sheeran,92\n";

    #[test]
    fn songs_join_artist_popularity_and_dedup_by_id() {
        let a = "6f807x0ima9a1j3VPbc7VN";
        let b = "0r7CVbZTWZgbTCYdfa2P31";
        let text = format!(
            "{SONGS_HEADER}{}{}{}",
            song(a, "Ed Sheeran", "66", "pop"),
            song(b, "Nobody Known", "10", "rock"),
            song(a, "Ed Sheeran", "66", "edm")
        );
        let (_temp, dir) =
            data_dir(&[(SONGS, text.as_bytes()), (ARTISTS, ARTISTS_TEXT.as_bytes())]);
        let loaded = load(&dir, Strictness::Strict).expect("loads");
        assert_eq!(loaded.len(), 3);
        assert_eq!(loaded.rows[0].artist_popularity, Some(92.0));
        assert_eq!(loaded.rows[1].artist_popularity, None);
        assert_eq!(loaded.rows[0].track.labels.popularity, Some(66.0));
        let unique = unique_tracks(loaded.rows);
        assert_eq!(unique.len(), 2);
        assert_eq!(unique[0].track.labels.genre.as_deref(), Some("pop"));
    }

    #[test]
    fn loader_reports_popularity_above_100() {
        let text = format!(
            "{SONGS_HEADER}{}",
            song("6f807x0ima9a1j3VPbc7VN", "A", "101", "pop")
        );
        let (_temp, dir) =
            data_dir(&[(SONGS, text.as_bytes()), (ARTISTS, ARTISTS_TEXT.as_bytes())]);
        match load(&dir, Strictness::Strict) {
            Err(DatasetError::OutOfRange {
                line,
                column,
                value,
                ..
            }) => assert_eq!(
                (line, column.as_str(), value.as_str()),
                (2, "track_popularity", "101")
            ),
            other => panic!("expected OutOfRange, got {other:?}"),
        }
    }

    #[test]
    fn popularity_classes_are_quartiles_of_0_to_100() {
        let classes: Vec<usize> = [0.0, 24.9, 25.0, 50.0, 74.0, 75.0, 100.0]
            .into_iter()
            .map(popularity_class)
            .collect();
        assert_eq!(classes, vec![0, 0, 1, 2, 2, 3, 3]);
    }
}
