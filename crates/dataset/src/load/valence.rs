//! The valence tasks: chart tracks with their analysis, and the 1,162 evaluation tracks.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read};
use std::path::Path;

use crate::data_dir::DataDir;
use crate::error::DatasetError;
use crate::features::{AnalysisSummary, Labels, Track};
use crate::load::{analysis_summary, audio_features, required_feature_columns, FeatureColumns};
use crate::read::{
    is_spotify_id, open, quoted, read_table, Loaded, Strictness, TableSpec, MAX_ROW_BYTES,
};

/// Training tracks: id and the 13 audio features.
pub const CHART_TRACKS: &str = "valence/chart_tracks.csv";
/// Analysis means of the training tracks.
pub const CHART_ANALYSIS: &str = "valence/chart_tracks_analysis.csv";
/// Ids whose valence must be predicted, one a line.
pub const EVAL_IDS: &str = "valence/spotify_ids.txt";
/// Audio features of the evaluation tracks, without valence.
pub const EVAL_FEATURES: &str = "valence/eval_features.csv";
/// Analysis means of the evaluation tracks (one id has none).
pub const EVAL_ANALYSIS: &str = "valence/eval_analysis.csv";

/// Everything the valence tasks need.
#[derive(Clone, Debug)]
pub struct ValenceData {
    /// The chart tracks, each with valence and (where known) analysis.
    pub train: Vec<Track>,
    /// The evaluation tracks, in the order of `spotify_ids.txt`, without valence.
    pub eval: Vec<Track>,
}

/// Loads the training and evaluation tracks, strictly.
pub fn load(dir: &DataDir) -> Result<ValenceData, DatasetError> {
    Ok(ValenceData {
        train: chart_tracks(dir, Strictness::Strict)?.rows,
        eval: eval_tracks(dir, Strictness::Strict)?.rows,
    })
}

/// Reads a features file (`id` + audio features), with or without valence.
pub fn read_features(
    path: &Path,
    with_valence: bool,
    strictness: Strictness,
) -> Result<Loaded<Track>, DatasetError> {
    let columns = FeatureColumns {
        valence: with_valence,
        ..FeatureColumns::API
    };
    let mut required = required_feature_columns(&columns);
    required.push("id");
    let spec = TableSpec {
        path,
        delimiter: b',',
        required: &required,
        strictness,
    };
    read_table(open(path)?, &spec, |row| {
        Ok(Track {
            id: row.spotify_id("id")?,
            features: audio_features(row, &columns)?,
            analysis: None,
            labels: Labels::default(),
        })
    })
}

/// Reads an analysis file (`id` + `pitch_0..11` + `timbre_0..11`) into a map by id.
pub fn read_analysis(
    path: &Path,
    strictness: Strictness,
) -> Result<Loaded<(String, AnalysisSummary)>, DatasetError> {
    let columns = AnalysisSummary::column_names();
    let mut required: Vec<&str> = columns.iter().map(String::as_str).collect();
    required.push("id");
    let spec = TableSpec {
        path,
        delimiter: b',',
        required: &required,
        strictness,
    };
    read_table(open(path)?, &spec, |row| {
        Ok((row.spotify_id("id")?, analysis_summary(row)?))
    })
}

/// Attaches analyses to tracks by id. An id listed twice in the analysis is an error.
fn join(
    tracks: &mut Loaded<Track>,
    analysis: Loaded<(String, AnalysisSummary)>,
    path: &Path,
) -> Result<(), DatasetError> {
    let mut by_id: HashMap<String, AnalysisSummary> = HashMap::with_capacity(analysis.rows.len());
    for (id, summary) in analysis.rows {
        if by_id.insert(id.clone(), summary).is_some() {
            return Err(DatasetError::Mismatch {
                path: path.to_path_buf(),
                message: format!("track id {id} has more than one analysis row"),
            });
        }
    }
    for track in &mut tracks.rows {
        track.analysis = by_id.remove(&track.id);
    }
    tracks.skipped.extend(analysis.skipped);
    Ok(())
}

/// The chart tracks with valence, joined by id with their analysis means.
pub fn chart_tracks(dir: &DataDir, strictness: Strictness) -> Result<Loaded<Track>, DatasetError> {
    let mut tracks = read_features(&dir.join(CHART_TRACKS), true, strictness)?;
    let analysis_path = dir.join(CHART_ANALYSIS);
    let analysis = read_analysis(&analysis_path, strictness)?;
    join(&mut tracks, analysis, &analysis_path)?;
    Ok(tracks)
}

/// The ids of `spotify_ids.txt`, in order.
pub fn eval_ids(dir: &DataDir) -> Result<Vec<String>, DatasetError> {
    read_id_list(&dir.join(EVAL_IDS))
}

/// Reads a file of one Spotify id a line; blank lines are ignored. A file without ids is
/// [`DatasetError::NoRows`]; a line is read only up to [`MAX_ROW_BYTES`].
pub fn read_id_list(path: &Path) -> Result<Vec<String>, DatasetError> {
    let mut reader = BufReader::new(open(path)?);
    let mut ids = Vec::new();
    let mut bytes = Vec::new();
    for line_number in 1u64.. {
        bytes.clear();
        let limit = MAX_ROW_BYTES as u64 + 1;
        let read = reader
            .by_ref()
            .take(limit)
            .read_until(b'\n', &mut bytes)
            .map_err(|source| DatasetError::Io {
                path: path.to_path_buf(),
                source,
            })?;
        if read == 0 {
            break;
        }
        if bytes.len() > MAX_ROW_BYTES {
            return Err(DatasetError::RowTooLong {
                path: path.to_path_buf(),
                line: line_number,
                limit: MAX_ROW_BYTES,
            });
        }
        let line = std::str::from_utf8(&bytes).map_err(|_| DatasetError::InvalidUtf8 {
            path: path.to_path_buf(),
            line: line_number,
            column: "id".into(),
        })?;
        let id = line.trim();
        if id.is_empty() {
            continue;
        }
        if !is_spotify_id(id) {
            return Err(DatasetError::BadValue {
                path: path.to_path_buf(),
                line: line_number,
                column: "id".into(),
                value: quoted(id),
                expected: "a 22-character base-62 Spotify id",
            });
        }
        ids.push(id.to_string());
    }
    if ids.is_empty() {
        return Err(DatasetError::NoRows {
            path: path.to_path_buf(),
        });
    }
    Ok(ids)
}

/// The evaluation tracks in the order of `spotify_ids.txt`, with analysis where there is one.
/// Every listed id must have a row of features.
pub fn eval_tracks(dir: &DataDir, strictness: Strictness) -> Result<Loaded<Track>, DatasetError> {
    let ids = eval_ids(dir)?;
    let features_path = dir.join(EVAL_FEATURES);
    let mut tracks = read_features(&features_path, false, strictness)?;
    let analysis_path = dir.join(EVAL_ANALYSIS);
    join(
        &mut tracks,
        read_analysis(&analysis_path, strictness)?,
        &analysis_path,
    )?;
    let mut by_id: HashMap<String, Track> = tracks
        .rows
        .drain(..)
        .map(|track| (track.id.clone(), track))
        .collect();
    let mut ordered = Vec::with_capacity(ids.len());
    for id in ids {
        match by_id.remove(&id) {
            Some(track) => ordered.push(track),
            None => {
                return Err(DatasetError::Mismatch {
                    path: features_path,
                    message: format!("id {id} of {EVAL_IDS} has no row of features"),
                })
            }
        }
    }
    tracks.rows = ordered;
    Ok(tracks)
}
