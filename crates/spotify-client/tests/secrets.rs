//! A server or proxy that echoes the request must not put the credentials or the token into an
//! error; and credentials never travel over plain HTTP, except to a loopback test server.

mod fake;

use std::time::Duration;

use fake::{FakeServer, Fault, Script};
use spotify_client::{ClientCredentials, RetryPolicy, SpotifyClient, SpotifyConfig};

fn config(server: &FakeServer) -> SpotifyConfig {
    SpotifyConfig::new()
        .api_base_url(&server.api_base())
        .auth_base_url(&server.auth_base())
        .credentials(ClientCredentials::new(fake::CLIENT_ID, fake::CLIENT_SECRET))
        .timeout(Duration::from_millis(400))
        .retry(
            RetryPolicy::new()
                .max_attempts(2)
                .base_delay(Duration::from_millis(5)),
        )
}

/// The `Authorization: Basic …` value the client sends to the token endpoint.
fn basic() -> String {
    rspotify::Credentials::new(fake::CLIENT_ID, fake::CLIENT_SECRET)
        .auth_headers()
        .and_then(|headers| headers.get("authorization").cloned())
        .expect("basic header")
}

fn assert_no_secret(shown: &str) {
    let basic = basic();
    let encoded = basic.trim_start_matches("Basic ");
    for secret in [
        fake::CLIENT_SECRET,
        fake::CLIENT_ID,
        encoded,
        "token-1",
        "s3cr3t-value",
    ] {
        assert!(!shown.contains(secret), "{secret} shown in: {shown}");
    }
}

#[test]
fn an_echoed_token_request_never_shows_the_basic_credentials() {
    for status in [400, 500] {
        let server = FakeServer::start(Script {
            echo_token: Some(status),
            ..Script::default()
        });
        let mut spotify = SpotifyClient::new(config(&server)).expect("client");
        let error = spotify
            .audio_features(&fake::track_ids(1))
            .expect_err("refused");
        let shown = format!("{error} {error:?}");
        assert!(
            shown.contains("POST /api/token"),
            "the echo reached the error: {shown}"
        );
        assert_no_secret(&shown);
    }
}

#[test]
fn an_echoed_api_request_never_shows_the_bearer_token() {
    for fault in [Fault::Echo(400), Fault::Echo(502), Fault::EchoJson] {
        let mut script = Script::default();
        script.faults.extend([fault.clone(), fault.clone()]);
        let server = FakeServer::start(script);
        let mut spotify = SpotifyClient::new(config(&server)).expect("client");
        let error = spotify
            .audio_features(&fake::track_ids(1))
            .expect_err("refused");
        let shown = format!("{error} {error:?}");
        assert!(
            shown.contains("/v1/audio-features?ids="),
            "{fault:?}: the echo reached the error: {shown}"
        );
        assert_no_secret(&shown);
        assert_eq!(
            server.seen_on("/v1/")[0].authorization.as_deref(),
            Some("Bearer token-1"),
            "the token was sent, so it could have been echoed"
        );
    }
}

#[test]
fn secrets_in_any_echoed_text_are_redacted() {
    let texts = [
        "client_id=abc&client_secret=s3cr3t-value&grant_type=client_credentials",
        "{\"client_secret\": \"s3cr3t-value\"}",
        "authorization: s3cr3t-value",
        "Authorization=Bearer s3cr3t-value",
        "proxy saw: bearer s3cr3t-value, basic s3cr3t-value",
        "{\"access_token\":\"s3cr3t-value\",\"token_type\":\"Bearer\"}",
    ];
    for text in texts {
        let mut script = Script::default();
        script.faults.push_back(Fault::Text(400, text.to_string()));
        let server = FakeServer::start(script);
        let mut spotify = SpotifyClient::new(config(&server)).expect("client");
        let error = spotify
            .audio_features(&fake::track_ids(1))
            .expect_err("refused");
        let shown = format!("{error} {error:?}");
        assert!(!shown.contains("s3cr3t-value"), "{text} gave: {shown}");
    }
}

#[test]
fn plain_http_base_urls_are_refused_except_for_loopback_hosts() {
    let credentials = || ClientCredentials::new(fake::CLIENT_ID, fake::CLIENT_SECRET);
    for url in [
        "http://api.spotify.com/v1/",
        "http://accounts.example.com/",
        "http://10.0.0.1:8080/",
        "http://user:pass-w0rd@proxy.example.com/",
        "ftp://api.spotify.com/v1/",
        "api.spotify.com/v1/",
    ] {
        for config in [
            SpotifyConfig::new().api_base_url(url),
            SpotifyConfig::new().auth_base_url(url),
        ] {
            match SpotifyClient::new(config.credentials(credentials())) {
                Ok(_) => panic!("{url} accepted"),
                Err(error) => {
                    let message = error.to_string();
                    assert!(!message.contains("pass-w0rd"), "{message}");
                }
            }
        }
    }
    for url in [
        "http://127.0.0.1:9/v1/",
        "http://127.1.2.3:9/",
        "http://localhost:9/",
        "http://[::1]:9/v1/",
        "https://api.spotify.com/v1/",
        "HTTPS://accounts.spotify.com/",
    ] {
        let config = SpotifyConfig::new()
            .api_base_url(url)
            .auth_base_url(url)
            .credentials(credentials());
        assert!(SpotifyClient::new(config).is_ok(), "{url} refused");
    }
}
