//! The Spotify Hit Predictor data: hits and flops of six decades, `hits/dataset-of-60s.csv` …
//! `dataset-of-10s.csv`.

use crate::data_dir::DataDir;
use crate::error::DatasetError;
use crate::features::{Labels, Track};
use crate::load::{audio_features, required_feature_columns, FeatureColumns};
use crate::prepare::Identified;
use crate::read::{open, read_table, Loaded, Strictness, TableSpec};
use crate::validate::{Range, CHORUS_HIT, FLAG, SECTIONS};

/// The decades of the data set, in file order `60s` … `10s`.
pub const DECADES: [u16; 6] = [1960, 1970, 1980, 1990, 2000, 2010];

/// The file of one decade (e.g. `1960` → `hits/dataset-of-60s.csv`), relative to the data
/// directory.
pub fn file(decade: u16) -> String {
    format!("hits/dataset-of-{:02}s.csv", decade % 100)
}

/// One row of a decade file: a track, whether it was a hit, and the analysis extras.
#[derive(Clone, Debug, PartialEq)]
pub struct HitTrack {
    /// The track, with `labels.hit` from `target`.
    pub track: Track,
    /// Track title.
    pub name: String,
    /// Artist name.
    pub artist: String,
    /// Start of the chorus, in seconds (estimated by the data set's authors).
    pub chorus_hit: f64,
    /// Number of sections of the track's audio analysis.
    pub sections: u32,
    /// The decade, e.g. `1960`.
    pub decade: u16,
}

impl Identified for HitTrack {
    fn track_id(&self) -> &str {
        &self.track.id
    }
}

/// Loads every decade, in the order of [`DECADES`].
pub fn load(dir: &DataDir, strictness: Strictness) -> Result<Loaded<HitTrack>, DatasetError> {
    let mut all = Loaded::default();
    for decade in DECADES {
        all.append(load_decade(dir, decade, strictness)?);
    }
    Ok(all)
}

/// Loads the file of one decade of [`DECADES`]; its `decade` column must name that decade.
pub fn load_decade(
    dir: &DataDir,
    decade: u16,
    strictness: Strictness,
) -> Result<Loaded<HitTrack>, DatasetError> {
    if !DECADES.contains(&decade) {
        return Err(DatasetError::Invalid(format!(
            "the hits data has no decade {decade}; it has {DECADES:?}"
        )));
    }
    load_decade_path(&dir.join(file(decade)), decade, strictness)
}

/// Loads a file laid out like the decade files from any path; its `decade` column must name
/// `decade` (one of [`DECADES`]).
pub fn load_decade_path(
    path: &std::path::Path,
    decade: u16,
    strictness: Strictness,
) -> Result<Loaded<HitTrack>, DatasetError> {
    let this_decade = Range {
        min: f64::from(decade),
        max: f64::from(decade),
    };
    read_hits(path, this_decade, strictness)
}

/// Loads a file laid out like the decade files from any path, rows of any decade 1960..=2010
/// (e.g. new tracks to classify).
pub fn load_path(
    path: &std::path::Path,
    strictness: Strictness,
) -> Result<Loaded<HitTrack>, DatasetError> {
    let any_decade = Range {
        min: f64::from(DECADES[0]),
        max: f64::from(DECADES[DECADES.len() - 1]),
    };
    read_hits(path, any_decade, strictness)
}

fn read_hits(
    path: &std::path::Path,
    this_decade: Range,
    strictness: Strictness,
) -> Result<Loaded<HitTrack>, DatasetError> {
    let path = path.to_path_buf();
    let mut required = required_feature_columns(&FeatureColumns::API);
    required.extend([
        "track",
        "artist",
        "uri",
        "chorus_hit",
        "sections",
        "target",
        "decade",
    ]);
    let spec = TableSpec {
        path: &path,
        delimiter: b',',
        required: &required,
        strictness,
    };
    read_table(open(&path)?, &spec, |row| {
        let track = Track {
            id: row.spotify_id("uri")?,
            features: audio_features(row, &FeatureColumns::API)?,
            analysis: None,
            labels: Labels {
                hit: Some(row.integer("target", FLAG)? == 1),
                ..Labels::default()
            },
        };
        Ok(HitTrack {
            track,
            name: row.free_text("track")?.to_string(),
            artist: row.free_text("artist")?.to_string(),
            chorus_hit: row.number("chorus_hit", CHORUS_HIT)?,
            // The range bounds it far inside u32.
            sections: row.integer("sections", SECTIONS)? as u32,
            decade: row.integer("decade", this_decade)? as u16,
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::load::fixture::data_dir;

    const HEADER: &str = "track,artist,uri,danceability,energy,key,loudness,mode,speechiness,\
        acousticness,instrumentalness,liveness,valence,tempo,duration_ms,time_signature,\
        chorus_hit,sections,target,decade\r\n";
    const GOOD: &str = "Lucky Man,Montgomery Gentry,spotify:track:4GiXBCUF7H6YfNQsnBRIzl,0.578,\
        0.471,4,-7.27,1,0.0289,0.368,0,0.159,0.532,133.061,196707,4,30.88059,13,1,2000\r\n";

    #[test]
    fn crlf_rows_load_with_uri_ids_and_hit_labels() {
        let (_temp, dir) = data_dir(&[(file(2000).as_str(), format!("{HEADER}{GOOD}").as_bytes())]);
        let loaded = load_decade(&dir, 2000, Strictness::Strict).expect("loads");
        let hit = &loaded.rows[0];
        assert_eq!(hit.track.id, "4GiXBCUF7H6YfNQsnBRIzl");
        assert_eq!(hit.track.labels.hit, Some(true));
        assert_eq!((hit.sections, hit.decade), (13, 2000));
        assert_eq!(file(2010), "hits/dataset-of-10s.csv");
    }

    #[test]
    fn loader_reports_a_row_of_another_decade() {
        let bad = GOOD.replace(",2000\r\n", ",1990\r\n");
        let (_temp, dir) = data_dir(&[(
            file(2000).as_str(),
            format!("{HEADER}{GOOD}{bad}").as_bytes(),
        )]);
        match load_decade(&dir, 2000, Strictness::Strict) {
            Err(DatasetError::OutOfRange {
                line,
                column,
                value,
                ..
            }) => assert_eq!(
                (line, column.as_str(), value.as_str()),
                (3, "decade", "1990")
            ),
            other => panic!("expected OutOfRange, got {other:?}"),
        }
    }

    #[test]
    fn loader_reports_a_bad_uri() {
        let bad = GOOD.replace("4GiXBCUF7H6YfNQsnBRIzl", "not-an-id");
        let (_temp, dir) = data_dir(&[(file(2000).as_str(), format!("{HEADER}{bad}").as_bytes())]);
        match load_decade(&dir, 2000, Strictness::Strict) {
            Err(DatasetError::BadValue {
                line,
                column,
                value,
                ..
            }) => assert_eq!(
                (line, column.as_str(), value.as_str()),
                (2, "uri", "not-an-id")
            ),
            other => panic!("expected BadValue, got {other:?}"),
        }
    }
}
