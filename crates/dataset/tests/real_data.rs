//! Every shared data file loads strictly, with the row counts the data README states.

use std::collections::HashSet;
use std::path::PathBuf;

use dataset::load::charts::{self, ChartFilter};
use dataset::load::genres::{self, GenreSet};
use dataset::load::{hits, moods, popularity, valence};
use dataset::{prepare, DataDir, Strictness};

/// The shared data directory, or `None` (with a message) when this machine does not have it.
fn data_dir() -> Option<DataDir> {
    let path = std::env::var_os("SPOTIFY_ML_DATA")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data"));
    match DataDir::at(&path) {
        Ok(dir) => Some(dir),
        Err(_) => {
            eprintln!(
                "SKIPPED: shared data not found at {}; set SPOTIFY_ML_DATA",
                path.display()
            );
            None
        }
    }
}

const STRICT: Strictness = Strictness::Strict;

#[test]
fn valence_files_have_the_documented_rows() {
    let Some(dir) = data_dir() else { return };
    let train = valence::chart_tracks(&dir, STRICT).expect("chart tracks");
    assert_eq!(train.len(), 13_749);
    assert!(train.rows.iter().all(|t| t.analysis.is_some()));
    assert!(train.rows.iter().all(|t| t.features.valence.is_some()));
    assert_eq!(prepare::unique_ids(&train.rows), 13_749);

    assert_eq!(valence::eval_ids(&dir).expect("ids").len(), 1_162);
    let eval = valence::eval_tracks(&dir, STRICT).expect("eval tracks");
    assert_eq!(eval.len(), 1_162);
    assert!(eval.rows.iter().all(|t| t.features.valence.is_none()));
    let without: Vec<&str> = eval
        .rows
        .iter()
        .filter(|t| t.analysis.is_none())
        .map(|t| t.id.as_str())
        .collect();
    assert_eq!(without, ["4LaGu95Ui2s4vprSQYWUAZ"]);
    let analysis =
        valence::read_analysis(&dir.join(valence::EVAL_ANALYSIS), STRICT).expect("eval analysis");
    assert_eq!(analysis.len(), 1_161);
}

#[test]
fn moods_and_genre_files_have_the_documented_rows() {
    let Some(dir) = data_dir() else { return };
    let moods = moods::load(&dir, STRICT).expect("moods");
    assert_eq!(moods.len(), 677);
    assert!(moods.rows.iter().all(|t| t.labels.mood.is_some()));
    for (set, rows) in GenreSet::ALL.into_iter().zip([983, 1_553, 2_145, 1_350]) {
        let loaded = genres::load(&dir, set, STRICT).expect("genre file");
        assert_eq!(loaded.len(), rows, "{}", set.file());
        let published = genres::load_published(&dir, set, STRICT).expect("genre file");
        assert!(published.len() <= rows);
        assert_eq!(prepare::unique_ids(&published.rows), published.len());
    }
}

#[test]
fn popularity_files_have_the_documented_rows() {
    let Some(dir) = data_dir() else { return };
    let songs = popularity::load(&dir, STRICT).expect("songs");
    assert_eq!(songs.len(), 32_549);
    assert_eq!(popularity::unique_tracks(songs.rows.clone()).len(), 28_260);
    assert_eq!(
        popularity::artists(&dir, STRICT).expect("artists").len(),
        60_740
    );
    // The README says about 69% of the artists are covered; the join must find most of them.
    let joined = songs
        .rows
        .iter()
        .filter(|s| s.artist_popularity.is_some())
        .count();
    assert!(joined * 2 > songs.len(), "only {joined} rows joined");
}

#[test]
fn hits_files_have_the_documented_rows() {
    let Some(dir) = data_dir() else { return };
    let hits = hits::load(&dir, STRICT).expect("hits");
    assert_eq!(hits.len(), 41_031);
    let flops = hits
        .rows
        .iter()
        .filter(|h| h.track.labels.hit == Some(false))
        .count();
    // Balanced in the source (the evaluation ids were removed since): within 1%.
    let hit_count = hits.len() - flops;
    assert!(
        flops.abs_diff(hit_count) * 100 < hits.len(),
        "{flops} flops, {hit_count} hits"
    );
}

#[test]
fn charts_archive_has_the_documented_weekly_files() {
    let Some(dir) = data_dir() else { return };
    assert_eq!(charts::weekly_charts(&dir).expect("archive").len(), 1_368);
    let weeks = charts::load_weeks(&dir, &ChartFilter::all(), STRICT).expect("weeks");
    assert_eq!(weeks.len(), 1_368);
    assert!(weeks.rows.iter().all(|w| w.entries.len() == 200));
    let tracks = charts::track_statistics(&weeks.rows);
    // Every valence training track charted; the charts also list the 131 evaluation tracks.
    let train = valence::chart_tracks(&dir, STRICT).expect("chart tracks");
    let charted: HashSet<&str> = tracks.iter().map(|t| t.id.as_str()).collect();
    assert!(train.rows.iter().all(|t| charted.contains(t.id.as_str())));
    let eval_ids = valence::eval_ids(&dir).expect("ids");
    let charted_eval = eval_ids
        .iter()
        .filter(|id| charted.contains(id.as_str()))
        .count();
    assert_eq!(tracks.len(), 13_749 + charted_eval);
    let us_2019 = charts::load(
        &dir,
        &ChartFilter::all().markets(&["us"]).years(2019..=2019),
        STRICT,
    )
    .expect("filtered");
    assert!(us_2019.rows.iter().all(|t| t.markets.contains("us")));
    assert!(us_2019.len() < tracks.len());
}

#[test]
fn no_eval_id_appears_in_any_training_file() {
    let Some(dir) = data_dir() else { return };
    let eval: HashSet<String> = valence::eval_ids(&dir).expect("ids").into_iter().collect();
    let mut training: Vec<(String, Vec<String>)> = vec![
        (
            valence::CHART_TRACKS.into(),
            valence::chart_tracks(&dir, STRICT)
                .expect("chart tracks")
                .rows
                .into_iter()
                .map(|t| t.id)
                .collect(),
        ),
        (
            moods::FILE.into(),
            moods::load(&dir, STRICT)
                .expect("moods")
                .rows
                .into_iter()
                .map(|t| t.id)
                .collect(),
        ),
        (
            popularity::SONGS.into(),
            popularity::songs(&dir, STRICT)
                .expect("songs")
                .rows
                .into_iter()
                .map(|s| s.track.id)
                .collect(),
        ),
        (
            "hits/".into(),
            hits::load(&dir, STRICT)
                .expect("hits")
                .rows
                .into_iter()
                .map(|h| h.track.id)
                .collect(),
        ),
    ];
    for set in GenreSet::ALL {
        let ids = genres::load(&dir, set, STRICT)
            .expect("genres")
            .rows
            .into_iter()
            .map(|t| t.id)
            .collect();
        training.push((set.file().into(), ids));
    }
    let analysis = valence::read_analysis(&dir.join(valence::CHART_ANALYSIS), STRICT)
        .expect("analysis")
        .rows
        .into_iter()
        .map(|(id, _)| id)
        .collect();
    training.push((valence::CHART_ANALYSIS.into(), analysis));
    for (file, ids) in training {
        let leaked: Vec<&String> = ids.iter().filter(|id| eval.contains(*id)).collect();
        assert!(leaked.is_empty(), "{file} holds evaluation ids {leaked:?}");
    }
}

#[test]
fn lenient_loads_of_clean_files_skip_nothing() {
    let Some(dir) = data_dir() else { return };
    let lenient = Strictness::Lenient;
    assert!(moods::load(&dir, lenient)
        .expect("moods")
        .skipped
        .is_empty());
    assert!(hits::load(&dir, lenient).expect("hits").skipped.is_empty());
    assert!(popularity::load(&dir, lenient)
        .expect("songs")
        .skipped
        .is_empty());
}
