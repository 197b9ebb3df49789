//! Spotify's 2026 restriction: restricted apps get 403 on `GET /v1/tracks?ids=` and
//! `/v1/artists?ids=` while `/v1/tracks/{id}` and `/v1/artists/{id}` still answer. The client
//! falls back to single-id requests at a polite rate, remembers it, and says so once.

mod fake;

use std::sync::{Mutex, Once};
use std::time::Duration;

use fake::{FakeServer, Script};
use spotify_client::spotify::BatchAccess;
use spotify_client::{
    Cache, ClientCredentials, ClientError, RetryPolicy, SpotifyClient, SpotifyConfig,
};

/// Every warning logged in this test binary.
struct Capture(Mutex<Vec<String>>);

impl log::Log for Capture {
    fn enabled(&self, metadata: &log::Metadata) -> bool {
        metadata.level() <= log::Level::Warn
    }

    fn log(&self, record: &log::Record) {
        if self.enabled(record.metadata()) {
            self.0.lock().unwrap().push(record.args().to_string());
        }
    }

    fn flush(&self) {}
}

static CAPTURE: Capture = Capture(Mutex::new(Vec::new()));
static INSTALL: Once = Once::new();

/// The warnings that name this server.
fn warnings_about(server: &FakeServer) -> Vec<String> {
    INSTALL.call_once(|| {
        log::set_logger(&CAPTURE).expect("the only logger of this test binary");
        log::set_max_level(log::LevelFilter::Warn);
    });
    CAPTURE
        .0
        .lock()
        .unwrap()
        .iter()
        .filter(|line| line.contains(&server.url))
        .cloned()
        .collect()
}

fn config(server: &FakeServer) -> SpotifyConfig {
    SpotifyConfig::new()
        .api_base_url(&server.api_base())
        .auth_base_url(&server.auth_base())
        .credentials(ClientCredentials::new(fake::CLIENT_ID, fake::CLIENT_SECRET))
        .timeout(Duration::from_millis(400))
        .retry(RetryPolicy::new().base_delay(Duration::from_millis(5)))
        .single_id_interval(Duration::from_millis(10))
}

fn restricted() -> Script {
    Script {
        batch_refused: true,
        ..Script::default()
    }
}

#[test]
fn refused_batch_endpoints_fall_back_to_single_id_requests_with_the_same_answers() {
    let ids = fake::track_ids(7);
    let mut script = restricted();
    script.unknown.insert(ids[3].clone());
    let server = FakeServer::start(script);
    let mut spotify = SpotifyClient::new(config(&server)).expect("client");
    let tracks = spotify.tracks(&ids).expect("falls back");
    assert_eq!(tracks.len(), 7);
    assert_eq!(tracks[3], None, "an unknown id is None, as in a batch");
    for (index, track) in tracks.iter().enumerate().filter(|(i, _)| *i != 3) {
        let expected: spotify_client::TrackInfo =
            serde_json::from_value(fake::track_json(&ids[index])).expect("track");
        assert_eq!(track.as_ref(), Some(&expected));
    }
    let artists = spotify.artists(&ids[..2]).expect("falls back");
    let expected: spotify_client::ArtistInfo =
        serde_json::from_value(fake::artist_json(&ids[1])).expect("artist");
    assert_eq!(artists[1].as_ref(), Some(&expected));
    let batch_requests = server
        .seen()
        .into_iter()
        .filter(|seen| !seen.ids.is_empty())
        .count();
    assert_eq!(
        batch_requests, 1,
        "one refused batch decides for the session, artists included"
    );
    assert_eq!(server.seen_on("/v1/tracks/").len(), 7);
    assert_eq!(server.seen_on("/v1/artists/").len(), 2);
}

#[test]
fn single_id_requests_keep_a_polite_rate_and_the_fallback_is_said_once() {
    let server = FakeServer::start(restricted());
    assert!(warnings_about(&server).is_empty());
    let interval = Duration::from_millis(60);
    let mut spotify =
        SpotifyClient::new(config(&server).single_id_interval(interval)).expect("client");
    let ids = fake::track_ids(6);
    spotify.tracks(&ids).expect("falls back");
    spotify.artists(&ids[..3]).expect("falls back");
    spotify.tracks(&ids[..2]).expect("falls back");
    let singles: Vec<_> = server
        .seen()
        .into_iter()
        .filter(|seen| seen.ids.is_empty() && seen.path != "/api/token")
        .collect();
    assert_eq!(singles.len(), 11);
    for pair in singles.windows(2) {
        let gap = pair[1].at.duration_since(pair[0].at);
        assert!(gap >= interval - Duration::from_millis(5), "{gap:?}");
    }
    assert_eq!(spotify.batch_access(), Some(BatchAccess::SingleId));
    let warnings = warnings_about(&server);
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert!(warnings[0].contains("one id a request"), "{}", warnings[0]);
}

#[test]
fn the_decision_is_remembered_in_the_cache_for_the_next_session() {
    let server = FakeServer::start(restricted());
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("cache.sqlite");
    let ids = fake::track_ids(3);
    {
        let mut first = SpotifyClient::new(config(&server).cache(&path)).expect("client");
        first.tracks(&ids).expect("falls back");
    }
    let refused = server.seen().iter().filter(|s| !s.ids.is_empty()).count();
    assert_eq!(refused, 1);
    let (access, _) = Cache::open(&path)
        .expect("opens")
        .batch_access()
        .expect("reads")
        .expect("recorded");
    assert_eq!(access, BatchAccess::SingleId);

    let mut second = SpotifyClient::new(config(&server).cache(&path)).expect("client");
    assert_eq!(second.batch_access(), Some(BatchAccess::SingleId));
    let tracks = second.artists(&ids).expect("single ids from the start");
    assert!(tracks.iter().all(Option::is_some));
    assert_eq!(
        server.seen().iter().filter(|s| !s.ids.is_empty()).count(),
        refused,
        "the second session never asks a batch endpoint"
    );
    let warnings = warnings_about(&server);
    assert_eq!(warnings.len(), 2, "once per session: {warnings:?}");
    assert!(warnings[1].contains("remembered"), "{}", warnings[1]);
}

#[test]
fn batch_endpoints_that_answer_are_used_and_nothing_is_said() {
    let server = FakeServer::start(Script::default());
    let mut spotify = SpotifyClient::new(config(&server)).expect("client");
    spotify.tracks(&fake::track_ids(60)).expect("batches");
    assert_eq!(spotify.batch_access(), Some(BatchAccess::Batch));
    assert_eq!(server.seen_on("/v1/tracks").len(), 2);
    assert!(warnings_about(&server).is_empty());
}

#[test]
fn a_403_on_the_single_id_endpoint_too_is_an_error_and_no_fallback() {
    let server = FakeServer::start(Script {
        batch_refused: true,
        single_refused: true,
        ..Script::default()
    });
    let mut spotify = SpotifyClient::new(config(&server)).expect("client");
    match spotify.tracks(&fake::track_ids(3)) {
        Err(ClientError::Http { status: 403, .. }) => {}
        other => panic!("expected a 403, got {other:?}"),
    }
    assert_eq!(spotify.batch_access(), None);
    assert_eq!(server.seen_on("/v1/tracks/").len(), 1, "one probe only");
    assert!(warnings_about(&server).is_empty());
}
