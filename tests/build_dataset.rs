//! The charts → dataset pipeline offline, with the shared data set as its feature source: it
//! reproduces `chart_tracks.csv` and `chart_tracks_analysis.csv` byte for byte for the ids it
//! covers, and a re-run through the cache gives the same files without asking the source.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use dataset::load::charts::ChartFilter;
use dataset::DataDir;
use spotify_client::charts::chart_track_ids;
use spotify_client::fetch::{fetch, FetchOptions};
use spotify_client::{training_csv, LocalSource};

mod common;
use common::example;

fn data_dir() -> Option<PathBuf> {
    common::data_path(&["charts/charts.zip", "valence/chart_tracks.csv"])
}

#[test]
fn local_source_reproduces_the_shared_training_files_byte_for_byte() {
    let Some(path) = data_dir() else { return };
    let dir = DataDir::at(&path).expect("data dir");
    let ids = chart_track_ids(&dir, &ChartFilter::all(), true).expect("chart ids");
    let mut source = LocalSource::chart_tracks(&dir).expect("local source");
    let fetched = fetch(&mut source, None, &ids, &FetchOptions::new()).expect("fetches");

    let features = std::fs::read_to_string(path.join("valence/chart_tracks.csv")).expect("reads");
    let analysis =
        std::fs::read_to_string(path.join("valence/chart_tracks_analysis.csv")).expect("reads");
    let written = training_csv::features_csv(&fetched.tracks);
    assert_eq!(written.lines().count(), features.lines().count());
    // Compared line by line first, so that a failure names the first differing row.
    for (line, (ours, theirs)) in written.lines().zip(features.lines()).enumerate() {
        assert_eq!(ours, theirs, "chart_tracks.csv line {}", line + 1);
    }
    assert_eq!(written, features);
    assert_eq!(training_csv::analysis_csv(&fetched.tracks), analysis);
    let summary = &fetched.summary;
    assert_eq!(
        summary.features.fetched + summary.features.missing,
        ids.len()
    );
    assert!(summary.features.failed.is_empty() && summary.analysis.failed.is_empty());
}

fn build_dataset(data: &Path, out: &Path, source: &str) {
    let output = Command::new(example("build_dataset"))
        .args(["--data", &data.to_string_lossy(), "--source", source])
        .args(["--market", "gb", "--from-year", "2019", "--to-year", "2019"])
        .args(["--cache", &out.join("cache.sqlite").to_string_lossy()])
        .args(["--out", &out.join(source).to_string_lossy()])
        .output()
        .expect("runs build_dataset");
    assert!(
        output.status.success(),
        "build_dataset --source {source} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

#[test]
fn build_dataset_writes_the_shared_rows_of_the_ids_it_covers_and_rereads_them_from_the_cache() {
    let Some(data) = data_dir() else { return };
    let out = tempfile::tempdir().expect("temp dir");
    build_dataset(&data, out.path(), "local");
    // The second run reads only the cache the first one filled.
    build_dataset(&data, out.path(), "cache");

    let shared: HashSet<String> = std::fs::read_to_string(data.join("valence/chart_tracks.csv"))
        .expect("reads")
        .lines()
        .map(str::to_string)
        .collect();
    let dir = DataDir::at(&data).expect("data dir");
    let ids = chart_track_ids(
        &dir,
        &ChartFilter::all().markets(&["gb"]).years(2019..=2019),
        true,
    )
    .expect("chart ids");
    let local =
        std::fs::read_to_string(out.path().join("local/chart_tracks.csv")).expect("written");
    let rows: Vec<&str> = local.lines().skip(1).collect();
    assert_eq!(
        rows.len(),
        ids.len(),
        "every gb 2019 chart id is in the shared file"
    );
    assert!(
        rows.iter().all(|row| shared.contains(*row)),
        "each row is a shared row"
    );
    let written_ids: Vec<&str> = rows.iter().map(|row| &row[..22]).collect();
    assert_eq!(written_ids, ids);
    for file in ["chart_tracks.csv", "chart_tracks_analysis.csv"] {
        let from_local = std::fs::read(out.path().join("local").join(file)).expect("written");
        let from_cache = std::fs::read(out.path().join("cache").join(file)).expect("written");
        assert_eq!(from_local, from_cache, "{file} from the cache");
    }
}

#[path = "../crates/spotify-client/tests/fake/mod.rs"]
mod fake;

fn build_dataset_online(data: &Path, out: &Path, source_flags: &[&str]) -> std::process::Output {
    Command::new(example("build_dataset"))
        .args(["--data", &data.to_string_lossy()])
        .args(source_flags)
        .args([
            "--market",
            "gb",
            "--from-year",
            "2019",
            "--to-year",
            "2019",
            "--limit",
            "130",
        ])
        .args(["--cache", &out.join("cache.sqlite").to_string_lossy()])
        .args(["--out", &out.to_string_lossy(), "--timeout", "2"])
        .env("RSPOTIFY_CLIENT_ID", fake::CLIENT_ID)
        .env("RSPOTIFY_CLIENT_SECRET", fake::CLIENT_SECRET)
        .output()
        .expect("runs build_dataset")
}

#[test]
fn build_dataset_fetches_from_a_fake_spotify_and_reruns_from_the_cache() {
    let Some(data) = data_dir() else { return };
    let dir = DataDir::at(&data).expect("data dir");
    let mut ids = chart_track_ids(
        &dir,
        &ChartFilter::all().markets(&["gb"]).years(2019..=2019),
        true,
    )
    .expect("chart ids");
    ids.truncate(130);
    let mut script = fake::Script::default();
    script.unknown.insert(ids[3].clone());
    script.faults.push_back(fake::Fault::Status(500, None));
    let server = fake::FakeServer::start(script);
    let out = tempfile::tempdir().expect("temp dir");
    let flags = [
        "--source",
        "spotify",
        "--spotify-api-base",
        &server.api_base(),
        "--spotify-auth-base",
        &server.auth_base(),
    ];
    let run = build_dataset_online(&data, out.path(), &flags);
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let written = std::fs::read_to_string(out.path().join("chart_tracks.csv")).expect("written");
    let rows: Vec<&str> = written.lines().skip(1).collect();
    assert_eq!(rows.len(), 129, "130 ids, one unknown to Spotify");
    let expected: dataset::AudioFeatures =
        serde_json::from_value(fake::features_json(&ids[0])).expect("features");
    assert_eq!(rows[0], training_csv::features_row(&ids[0], &expected));
    let analyses =
        std::fs::read_to_string(out.path().join("chart_tracks_analysis.csv")).expect("written");
    assert_eq!(analyses.lines().count(), 130, "header and 129 analyses");
    let requests = server.seen().len();

    let rerun = build_dataset_online(&data, out.path(), &flags);
    assert!(rerun.status.success());
    assert_eq!(
        server.seen().len(),
        requests,
        "the rerun is answered by the cache"
    );
    let rewritten = std::fs::read_to_string(out.path().join("chart_tracks.csv")).expect("written");
    assert_eq!(rewritten, written);
}

#[test]
fn build_dataset_reports_the_spotify_deprecation_and_takes_features_from_reccobeats_instead() {
    let Some(data) = data_dir() else { return };
    let mut script = fake::Script::default();
    script.faults.push_back(fake::Fault::Status(403, None));
    let server = fake::FakeServer::start(script);
    let out = tempfile::tempdir().expect("temp dir");
    let refused = build_dataset_online(
        &data,
        out.path(),
        &[
            "--source",
            "spotify",
            "--spotify-api-base",
            &server.api_base(),
            "--spotify-auth-base",
            &server.auth_base(),
        ],
    );
    assert!(!refused.status.success());
    let message = String::from_utf8_lossy(&refused.stderr);
    assert!(
        message.contains("2024-11-27") && message.contains("ReccoBeats"),
        "{message}"
    );

    let recco = build_dataset_online(
        &data,
        out.path(),
        &[
            "--source",
            "reccobeats",
            "--reccobeats-base",
            &server.reccobeats_base(),
        ],
    );
    assert!(
        recco.status.success(),
        "{}",
        String::from_utf8_lossy(&recco.stderr)
    );
    let written = std::fs::read_to_string(out.path().join("chart_tracks.csv")).expect("written");
    assert_eq!(written.lines().count(), 131, "header and 130 rows");
    assert!(
        !out.path().join("chart_tracks_analysis.csv").exists(),
        "ReccoBeats has no analysis, and a header without rows is no data set"
    );
    assert_eq!(
        server.seen_on("/reccobeats/").len(),
        4,
        "130 ids in batches of 40"
    );
}

fn ids_of(data: &Path, limit: usize) -> Vec<String> {
    let dir = DataDir::at(data).expect("data dir");
    let mut ids = chart_track_ids(
        &dir,
        &ChartFilter::all().markets(&["gb"]).years(2019..=2019),
        true,
    )
    .expect("chart ids");
    ids.truncate(limit);
    ids
}

fn build_from_cache(data: &Path, out: &Path, limit: usize) -> std::process::Output {
    Command::new(example("build_dataset"))
        .args(["--data", &data.to_string_lossy(), "--source", "cache"])
        .args(["--market", "gb", "--from-year", "2019", "--to-year", "2019"])
        .args(["--limit", &limit.to_string()])
        .args(["--cache", &out.join("cache.sqlite").to_string_lossy()])
        .args(["--out", &out.to_string_lossy()])
        .output()
        .expect("runs build_dataset")
}

#[test]
fn build_dataset_with_an_empty_cache_exits_non_zero_with_counts_and_writes_no_csv() {
    let Some(data) = data_dir() else { return };
    let out = tempfile::tempdir().expect("temp dir");
    let run = build_from_cache(&data, out.path(), 20);
    let stdout = String::from_utf8_lossy(&run.stdout);
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(
        !run.status.success(),
        "exit 0 with nothing fetched: {stdout}"
    );
    assert!(
        format!("{stdout}{stderr}").contains("20 missing"),
        "the counts are shown: {stdout} {stderr}"
    );
    assert!(!out.path().join("chart_tracks.csv").exists());
    assert!(!out.path().join("chart_tracks_analysis.csv").exists());
}

#[test]
fn build_dataset_never_writes_features_without_valence_and_fails_when_every_id_does() {
    let Some(data) = data_dir() else { return };
    let ids = ids_of(&data, 130);
    let server = fake::FakeServer::start(fake::Script {
        without_valence: ids.iter().cloned().collect(),
        ..fake::Script::default()
    });
    let out = tempfile::tempdir().expect("temp dir");
    let run = build_dataset_online(
        &data,
        out.path(),
        &[
            "--source",
            "spotify",
            "--spotify-api-base",
            &server.api_base(),
            "--spotify-auth-base",
            &server.auth_base(),
        ],
    );
    let stdout = String::from_utf8_lossy(&run.stdout);
    assert!(!run.status.success(), "exit 0: {stdout}");
    assert!(stdout.contains("130 failed"), "{stdout}");
    assert!(
        stdout.contains(&ids[0]) && stdout.contains("valence"),
        "{stdout}"
    );
    assert!(!out.path().join("chart_tracks.csv").exists());
}

#[test]
fn build_dataset_rejects_a_wrong_cache_entry_and_never_writes_it() {
    let Some(data) = data_dir() else { return };
    let ids = ids_of(&data, 5);
    let out = tempfile::tempdir().expect("temp dir");
    let cache_path = out.path().join("cache.sqlite");
    {
        let dir = DataDir::at(&data).expect("data dir");
        let mut source = LocalSource::chart_tracks(&dir).expect("local source");
        let mut cache = spotify_client::Cache::open(&cache_path).expect("cache");
        let options = FetchOptions::new().analysis(false);
        fetch(&mut source, Some(&mut cache), &ids, &options).expect("fills the cache");
        // A valid, recognisable valence for the third id, to be edited in the file below.
        let mut features = cache
            .features(&ids[2])
            .expect("reads")
            .and_then(|entry| entry.value)
            .expect("cached");
        features.valence = Some(0.123456789);
        cache
            .put_features("local", &[(ids[2].as_str(), Some(&features))])
            .expect("writes");
    }
    // A hand edit of the closed file: valence 0.123456789 becomes 7.123456789, same length.
    let mut bytes = std::fs::read(&cache_path).expect("reads the cache file");
    let needle = b"0.123456789";
    let at = bytes
        .windows(needle.len())
        .position(|window| window == needle)
        .expect("the value is in the file");
    bytes[at] = b'7';
    std::fs::write(&cache_path, bytes).expect("writes the cache file");

    let run = build_from_cache(&data, out.path(), 5);
    let stdout = String::from_utf8_lossy(&run.stdout);
    assert!(
        run.status.success(),
        "four ids are fine: {stdout} {}",
        String::from_utf8_lossy(&run.stderr)
    );
    let written = std::fs::read_to_string(out.path().join("chart_tracks.csv")).expect("written");
    assert_eq!(
        written.lines().count(),
        5,
        "header and four rows: {written}"
    );
    assert!(!written.contains(&ids[2]) && !written.contains("7.123456789"));
    assert!(
        stdout.contains(&ids[2]) && stdout.contains("valence") && stdout.contains("7.123456789"),
        "{stdout}"
    );
}
