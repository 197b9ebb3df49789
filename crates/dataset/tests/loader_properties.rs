//! Property tests of the loaders on random and mutated files: no input makes a loader panic or
//! take long, every rejection is a typed error that names the file, and whatever a strict load
//! accepts lies within the documented ranges.

use std::io::Write;
use std::path::Path;
use std::time::{Duration, Instant};

use dataset::load::charts::{self, ChartFilter};
use dataset::load::genres::{self, GenreSet};
use dataset::load::{hits, moods, popularity, valence};
use dataset::validate::{check_analysis, check_features};
use dataset::{DataDir, DatasetError, ErrorKind, Loaded, Strictness, Track};
use proptest::prelude::*;

/// The longest a load of a small file may take, even on a loaded machine.
const TIME_LIMIT: Duration = Duration::from_secs(2);

const ID: &str = "5aAx2yezTd8zXrkmtKl66Z";

/// A valid file of each loader, a few rows long, to mutate.
fn fixtures() -> Vec<(&'static str, String)> {
    let features = "danceability,energy,key,loudness,mode,speechiness,acousticness,\
                    instrumentalness,liveness,valence,tempo";
    let values = "0.681,0.594,7,-7.028,1,0.282,0.165,3.49e-06,0.134,0.535,186.054";
    let analysis_header = std::iter::once("id".to_string())
        .chain(dataset::AnalysisSummary::column_names())
        .collect::<Vec<_>>()
        .join(",");
    let analysis_row = |id: &str| {
        let mut row = id.to_string();
        for i in 0..12 {
            row.push_str(&format!(",0.{}", i + 1));
        }
        for i in 0..12 {
            row.push_str(&format!(",{}.5", i - 6));
        }
        row
    };
    vec![
        (
            "features",
            format!(
                "id,{features},duration_ms,time_signature\n{ID},{values},230453,4\r\n\
                 4GiXBCUF7H6YfNQsnBRIzl,{values},196707,3\n"
            ),
        ),
        (
            "analysis",
            format!(
                "{analysis_header}\n{}\n{}\n",
                analysis_row(ID),
                analysis_row("4GiXBCUF7H6YfNQsnBRIzl")
            ),
        ),
        (
            "genres",
            format!("tid,{features},label\n{ID},{values},0\n4GiXBCUF7H6YfNQsnBRIzl,{values},2\n"),
        ),
        (
            "moods",
            format!(
                "name,album,artist,id,release_date,popularity,length,danceability,acousticness,\
                 energy,instrumentalness,liveness,valence,loudness,speechiness,tempo,key,\
                 time_signature,mood\n\"Song, with comma\",Album,Artist,{ID},2019-01-01,51,\
                 230453,0.681,0.165,0.594,3.49e-06,0.134,0.535,-7.028,0.282,186.054,7,4,Happy\n"
            ),
        ),
        (
            "hits",
            format!(
                "track,artist,uri,{features},duration_ms,time_signature,chorus_hit,sections,\
                 target,decade\r\nLucky Man,Montgomery Gentry,spotify:track:{ID},{values},\
                 196707,4,30.88059,13,1,2000\r\n"
            ),
        ),
        (
            "songs",
            format!(
                "track_id,track_name,track_artist,track_popularity,track_album_id,\
                 track_album_release_date,playlist_id,playlist_genre,playlist_subgenre,\
                 {features},duration_ms\n{ID},Name,Artist,66,2oCs0DGTsRO98Gh5ZSl2Cx,2019-06-14,\
                 37i9dQZF1DXcZDD7cfEKhW,pop,dance pop,{values},230453\n"
            ),
        ),
        (
            "artists",
            "artist_name,artist_popularity\nArtist,77\n\"Other, Artist\",12\n".into(),
        ),
        ("ids", format!("{ID}\n\n4GiXBCUF7H6YfNQsnBRIzl\r\n")),
    ]
}

/// What a load gave, reduced to what the properties check.
enum Outcome {
    Loaded { tracks: Vec<Track>, skipped: usize },
    Rejected(DatasetError),
}

fn outcome<T>(
    result: Result<Loaded<T>, DatasetError>,
    track: impl Fn(T) -> Option<Track>,
) -> Outcome {
    match result {
        Ok(loaded) => Outcome::Loaded {
            skipped: loaded.skipped.len(),
            tracks: loaded.rows.into_iter().filter_map(track).collect(),
        },
        Err(error) => Outcome::Rejected(error),
    }
}

/// Loads `path` as the file of `kind`.
fn load(kind: &str, path: &Path, strictness: Strictness) -> Outcome {
    match kind {
        "features" => outcome(valence::read_features(path, true, strictness), Some),
        "analysis" => outcome(
            valence::read_analysis(path, strictness),
            |(id, analysis)| {
                assert!(check_analysis(&analysis).is_ok(), "{id}: {analysis:?}");
                None
            },
        ),
        "genres" => outcome(genres::load_path(path, GenreSet::Three, strictness), Some),
        "moods" => outcome(moods::load_path(path, strictness), Some),
        "hits" => outcome(hits::load_path(path, strictness), |hit| Some(hit.track)),
        "songs" | "artists" => {
            let dir = path.parent().expect("parent");
            let (songs, artists) = match kind {
                "songs" => (path.to_path_buf(), dir.join("good_artists.csv")),
                _ => (dir.join("good_songs.csv"), path.to_path_buf()),
            };
            outcome(
                popularity::load_paths(&songs, &artists, strictness),
                |song| Some(song.track),
            )
        }
        "ids" => match valence::read_id_list(path) {
            Ok(ids) => {
                assert!(ids.iter().all(|id| dataset::read::is_spotify_id(id)));
                Outcome::Loaded {
                    tracks: Vec::new(),
                    skipped: 0,
                }
            }
            Err(error) => Outcome::Rejected(error),
        },
        other => unreachable!("no loader {other}"),
    }
}

/// The properties every load of every input keeps.
fn check_load(kind: &str, path: &Path, strictness: Strictness) -> Result<(), TestCaseError> {
    let started = Instant::now();
    let outcome = load(kind, path, strictness);
    prop_assert!(
        started.elapsed() < TIME_LIMIT,
        "{kind}: {:?}",
        started.elapsed()
    );
    match outcome {
        Outcome::Loaded { tracks, skipped } => {
            if strictness == Strictness::Strict {
                prop_assert_eq!(skipped, 0);
            }
            for track in tracks {
                prop_assert!(dataset::read::is_spotify_id(&track.id));
                prop_assert!(
                    check_features(&track.features, &[]).is_ok(),
                    "{kind}: accepted {:?}",
                    track.features
                );
            }
        }
        Outcome::Rejected(error) => {
            let message = error.to_string();
            let names_a_file = [
                path.to_path_buf(),
                path.with_file_name("good_artists.csv"),
                path.with_file_name("good_songs.csv"),
            ]
            .iter()
            .any(|file| message.contains(&file.display().to_string()));
            prop_assert!(names_a_file, "{kind}: {message}");
            prop_assert!(message.len() < 2_000, "{kind}: {} bytes", message.len());
            prop_assert!(
                !matches!(error.kind(), ErrorKind::Invalid | ErrorKind::MissingDataDir),
                "{kind}: {error:?}"
            );
        }
    }
    Ok(())
}

/// One edit of a file's bytes.
#[derive(Clone, Debug)]
enum Mutation {
    Delete { at: usize, len: usize },
    Insert { at: usize, bytes: Vec<u8> },
    Replace { at: usize, text: String },
    Truncate { at: usize },
    DuplicateLine { line: usize },
}

fn mutation() -> impl Strategy<Value = Mutation> {
    let nasty = prop::sample::select(vec![
        "",
        "nan",
        "NaN",
        "inf",
        "-inf",
        "1e309",
        "-0",
        "99999999999999999999",
        "\"",
        "\"\"",
        ",",
        "\n",
        "\r\n",
        "\r",
        "\t",
        "\u{feff}",
        "spotify:track:",
        "0x1F",
        "1_000",
        "é",
        "\0",
        "4.5.6",
        "-1",
        "12",
        "2010",
        "Happy",
        "rap",
    ])
    .prop_map(str::to_string);
    prop_oneof![
        (any::<prop::sample::Index>(), 1usize..40).prop_map(|(at, len)| Mutation::Delete {
            at: at.index(usize::MAX),
            len
        }),
        (
            any::<prop::sample::Index>(),
            prop::collection::vec(any::<u8>(), 1..12)
        )
            .prop_map(|(at, bytes)| Mutation::Insert {
                at: at.index(usize::MAX),
                bytes
            }),
        (any::<prop::sample::Index>(), nasty).prop_map(|(at, text)| Mutation::Replace {
            at: at.index(usize::MAX),
            text
        }),
        any::<prop::sample::Index>().prop_map(|at| Mutation::Truncate {
            at: at.index(usize::MAX)
        }),
        any::<prop::sample::Index>().prop_map(|line| Mutation::DuplicateLine {
            line: line.index(usize::MAX)
        }),
    ]
}

fn mutate(mut bytes: Vec<u8>, mutation: &Mutation) -> Vec<u8> {
    let len = bytes.len().max(1);
    match mutation {
        Mutation::Delete { at, len: count } => {
            let at = at % len;
            let end = (at + count).min(bytes.len());
            bytes.drain(at.min(end)..end);
        }
        Mutation::Insert {
            at,
            bytes: inserted,
        } => {
            let at = at % (bytes.len() + 1);
            bytes.splice(at..at, inserted.iter().copied());
        }
        Mutation::Replace { at, text } => {
            // Replaces the cell around `at`: from the previous separator to the next.
            let at = at % len;
            let is_separator = |b: &u8| matches!(b, b',' | b'\t' | b'\n' | b'\r');
            let start = bytes[..at.min(bytes.len())]
                .iter()
                .rposition(is_separator)
                .map_or(0, |p| p + 1);
            let end = bytes[start..]
                .iter()
                .position(is_separator)
                .map_or(bytes.len(), |p| start + p);
            bytes.splice(start..end, text.bytes());
        }
        Mutation::Truncate { at } => bytes.truncate(at % len),
        Mutation::DuplicateLine { line } => {
            let text = bytes.clone();
            let lines: Vec<&[u8]> = text.split_inclusive(|&b| b == b'\n').collect();
            if !lines.is_empty() {
                let chosen = lines[line % lines.len()];
                let at: usize = lines[..=line % lines.len()].iter().map(|l| l.len()).sum();
                bytes.splice(at..at, chosen.iter().copied());
            }
        }
    }
    bytes
}

/// A directory holding the unmutated songs and artists files, which the popularity loader
/// reads beside the mutated one.
fn workspace() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    for (kind, text) in fixtures() {
        if kind == "songs" || kind == "artists" {
            std::fs::write(dir.path().join(format!("good_{kind}.csv")), text).expect("writes");
        }
    }
    dir
}

fn fixture_strategy() -> impl Strategy<Value = (&'static str, String)> {
    prop::sample::select(fixtures())
}

#[test]
fn every_fixture_loads_as_it_stands() {
    let dir = workspace();
    for (kind, text) in fixtures() {
        let path = dir.path().join(format!("{kind}.csv"));
        std::fs::write(&path, &text).expect("writes");
        match load(kind, &path, Strictness::Strict) {
            Outcome::Loaded { .. } => {}
            Outcome::Rejected(error) => panic!("{kind}: {error}"),
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn mutated_files_load_or_fail_with_a_typed_error(
        (kind, text) in fixture_strategy(),
        mutations in prop::collection::vec(mutation(), 1..5),
        lenient in any::<bool>(),
    ) {
        let dir = workspace();
        let path = dir.path().join(format!("{kind}.csv"));
        let bytes = mutations
            .iter()
            .fold(text.into_bytes(), mutate);
        std::fs::write(&path, bytes).expect("writes");
        let strictness = if lenient { Strictness::Lenient } else { Strictness::Strict };
        check_load(kind, &path, strictness)?;
    }

    #[test]
    fn random_bytes_load_or_fail_with_a_typed_error(
        (kind, text) in fixture_strategy(),
        header in any::<bool>(),
        noise in prop::collection::vec(any::<u8>(), 0..2048),
    ) {
        let dir = workspace();
        let path = dir.path().join(format!("{kind}.csv"));
        // Half the cases keep the real header, so that the noise reaches the rows.
        let mut bytes = match (header, text.split_once('\n')) {
            (true, Some((first, _))) => format!("{first}\n").into_bytes(),
            _ => Vec::new(),
        };
        bytes.extend(noise);
        std::fs::write(&path, bytes).expect("writes");
        check_load(kind, &path, Strictness::Strict)?;
        check_load(kind, &path, Strictness::Lenient)?;
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn mutated_chart_entries_and_archives_load_or_fail_with_a_typed_error(
        mutations in prop::collection::vec(mutation(), 1..4),
        break_the_archive in any::<bool>(),
    ) {
        let header = "position\tsong_id\tsong_name\tartist\tstreams\tlast_week_position\t\
                      weeks_on_chart\tpeak_position\tposition_status\r\n";
        let text = format!("{header}1\t{ID}\tStarboy\tThe Weeknd\t1000\tnan\t1\t1\tnew\r\n");
        let entry = mutations
            .iter()
            .fold(text.into_bytes(), mutate);
        let mut writer = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
        writer
            .start_file(
                "charts/us/2017/us-weekly_with_features-2017-01-06--2017-01-13.csv",
                zip::write::SimpleFileOptions::default(),
            )
            .expect("entry");
        writer.write_all(&entry).expect("writes");
        let mut archive = writer.finish().expect("zip").into_inner();
        if break_the_archive {
            archive = mutations
                .iter()
                .fold(archive, mutate);
        }
        let dir = tempfile::tempdir().expect("temp dir");
        std::fs::create_dir_all(dir.path().join("charts")).expect("mkdir");
        std::fs::write(dir.path().join(charts::FILE), archive).expect("writes");
        let data = DataDir::at(dir.path()).expect("data dir");
        for strictness in [Strictness::Strict, Strictness::Lenient] {
            let started = Instant::now();
            let result = charts::load(&data, &ChartFilter::all(), strictness);
            prop_assert!(started.elapsed() < TIME_LIMIT);
            if let Err(error) = result {
                prop_assert!(error.to_string().contains("charts.zip"), "{error}");
                prop_assert!(!matches!(error.kind(), ErrorKind::Invalid), "{error:?}");
            }
        }
    }
}
