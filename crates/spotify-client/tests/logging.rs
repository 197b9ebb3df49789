//! Nothing the client or its HTTP stack logs, at any level, holds the client secret or a token.

mod fake;

use std::sync::Mutex;
use std::time::Duration;

use fake::{FakeServer, Fault, Script};
use spotify_client::fetch::{fetch, FetchOptions};
use spotify_client::{Cache, ClientCredentials, RetryPolicy, SpotifyClient, SpotifyConfig};

struct Capture(Mutex<Vec<String>>);

impl log::Log for Capture {
    fn enabled(&self, _: &log::Metadata) -> bool {
        true
    }

    fn log(&self, record: &log::Record) {
        let line = format!("{} {} {}", record.level(), record.target(), record.args());
        self.0.lock().unwrap().push(line);
    }

    fn flush(&self) {}
}

static CAPTURE: Capture = Capture(Mutex::new(Vec::new()));

#[test]
fn logs_at_trace_level_never_show_the_secret_the_basic_header_or_a_token() {
    log::set_logger(&CAPTURE).expect("the only logger of this test binary");
    log::set_max_level(log::LevelFilter::Trace);

    let script = Script {
        requests_per_token: Some(1),
        faults: [Fault::Status(500, None), Fault::Status(429, Some(0))].into(),
        ..Script::default()
    };
    let server = FakeServer::start(script);
    let config = SpotifyConfig::new()
        .api_base_url(&server.api_base())
        .auth_base_url(&server.auth_base())
        .credentials(ClientCredentials::new(fake::CLIENT_ID, fake::CLIENT_SECRET))
        .retry(RetryPolicy::new().base_delay(Duration::from_millis(5)));
    let mut spotify = SpotifyClient::new(config).expect("client");
    let dir = tempfile::tempdir().expect("temp dir");
    let mut cache = Cache::open(&dir.path().join("cache.sqlite")).expect("cache");
    let ids = fake::track_ids(120);
    fetch(
        &mut spotify,
        Some(&mut cache),
        &ids[..3],
        &FetchOptions::new(),
    )
    .expect("fetches");
    spotify.tracks(&ids).expect("tracks");

    let basic = rspotify::Credentials::new(fake::CLIENT_ID, fake::CLIENT_SECRET)
        .auth_headers()
        .and_then(|headers| headers.get("authorization").cloned())
        .expect("basic header");
    let lines = CAPTURE.0.lock().unwrap().clone();
    assert!(
        lines.iter().any(|line| line.contains("/v1/audio-features")),
        "the HTTP stack logged its requests: {lines:?}"
    );
    assert!(
        server.tokens_issued() > 2,
        "tokens were renewed during the run"
    );
    let secrets = [
        fake::CLIENT_SECRET.to_string(),
        basic,
        "token-1".into(),
        "token-2".into(),
    ];
    for line in &lines {
        for secret in &secrets {
            assert!(!line.contains(secret.as_str()), "{secret} logged: {line}");
        }
    }
}
