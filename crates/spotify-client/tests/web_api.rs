//! The Spotify Web API client against a fake Spotify served on 127.0.0.1.

mod fake;

use std::time::Duration;

use dataset::AudioFeatures;
use fake::{FakeServer, Fault, Script};
use spotify_client::{ClientCredentials, ClientError, RetryPolicy, SpotifyClient, SpotifyConfig};

fn quick_retry() -> RetryPolicy {
    RetryPolicy::new()
        .max_attempts(4)
        .base_delay(Duration::from_millis(10))
        .max_delay(Duration::from_millis(40))
        .max_retry_after(Duration::from_secs(5))
        .seed(3)
}

fn config(server: &FakeServer) -> SpotifyConfig {
    SpotifyConfig::new()
        .api_base_url(&server.api_base())
        .auth_base_url(&server.auth_base())
        .credentials(ClientCredentials::new(fake::CLIENT_ID, fake::CLIENT_SECRET))
        .timeout(Duration::from_millis(400))
        .retry(quick_retry())
}

fn client(server: &FakeServer) -> SpotifyClient {
    SpotifyClient::new(config(server)).expect("client")
}

fn expected(id: &str) -> AudioFeatures {
    serde_json::from_value(fake::features_json(id)).expect("features")
}

#[test]
fn audio_features_are_batched_at_most_100_ids_per_request() {
    for (count, batches) in [
        (0, vec![]),
        (1, vec![1]),
        (100, vec![100]),
        (101, vec![100, 1]),
        (250, vec![100, 100, 50]),
    ] {
        let server = FakeServer::start(Script::default());
        let ids = fake::track_ids(count);
        let answers = client(&server).audio_features(&ids).expect("fetches");
        let sizes: Vec<usize> = server
            .seen_on("/v1/audio-features")
            .iter()
            .map(|seen| seen.ids.len())
            .collect();
        assert_eq!(sizes, batches, "{count} ids");
        let expected: Vec<Option<AudioFeatures>> =
            ids.iter().map(|id| Some(expected(id))).collect();
        assert_eq!(answers, expected, "{count} ids");
        let asked: Vec<String> = server
            .seen_on("/v1/audio-features")
            .into_iter()
            .flat_map(|seen| seen.ids)
            .collect();
        assert_eq!(asked, ids, "each id asked once, in order");
    }
}

#[test]
fn features_keep_the_api_values_exactly() {
    let server = FakeServer::start(Script::default());
    let id = fake::track_id(42);
    let answer = client(&server)
        .audio_features(std::slice::from_ref(&id))
        .expect("fetches");
    let features = answer[0].clone().expect("known");
    assert_eq!(features.instrumentalness, 3.49e-06);
    assert_eq!(Some(features), Some(expected(&id)));
}

#[test]
fn a_null_entry_is_reported_for_its_id_without_failing_the_batch() {
    let ids = fake::track_ids(5);
    let mut script = Script::default();
    script.unknown.insert(ids[2].clone());
    let server = FakeServer::start(script);
    let answers = client(&server)
        .audio_features(&ids)
        .expect("the batch succeeds");
    assert_eq!(answers.len(), 5);
    assert_eq!(answers[2], None);
    for i in [0, 1, 3, 4] {
        assert_eq!(answers[i], Some(expected(&ids[i])));
    }
}

#[test]
fn a_429_waits_the_retry_after_the_server_asks_then_succeeds() {
    let mut script = Script::default();
    script.faults.push_back(Fault::Status(429, Some(1)));
    let server = FakeServer::start(script);
    let ids = fake::track_ids(3);
    let answers = client(&server)
        .audio_features(&ids)
        .expect("succeeds after waiting");
    assert!(answers.iter().all(Option::is_some));
    let seen = server.seen_on("/v1/audio-features");
    assert_eq!(
        seen.iter().map(|s| s.status).collect::<Vec<_>>(),
        [429, 200]
    );
    let gap = seen[1].at.duration_since(seen[0].at);
    assert!(
        gap >= Duration::from_millis(990),
        "retried after {gap:?}, Retry-After was 1 s"
    );
}

#[test]
fn a_retry_after_longer_than_the_policy_allows_is_a_rate_limit_error() {
    let mut script = Script::default();
    script.faults.push_back(Fault::Status(429, Some(3600)));
    let server = FakeServer::start(script);
    match client(&server).audio_features(&fake::track_ids(1)) {
        Err(ClientError::RateLimited {
            retry_after_seconds: 3600,
            ..
        }) => {}
        other => panic!("expected RateLimited, got {other:?}"),
    }
    assert_eq!(server.seen_on("/v1/audio-features").len(), 1);
}

#[test]
fn a_500_is_retried_and_then_succeeds() {
    let mut script = Script::default();
    script.faults.push_back(Fault::Status(500, None));
    script.faults.push_back(Fault::Status(503, None));
    let server = FakeServer::start(script);
    let ids = fake::track_ids(2);
    let answers = client(&server)
        .audio_features(&ids)
        .expect("succeeds on the third attempt");
    assert_eq!(answers[1], Some(expected(&ids[1])));
    let statuses: Vec<u16> = server
        .seen_on("/v1/audio-features")
        .iter()
        .map(|s| s.status)
        .collect();
    assert_eq!(statuses, [500, 503, 200]);
}

#[test]
fn server_errors_give_up_after_the_attempts_of_the_policy() {
    let mut script = Script::default();
    for _ in 0..10 {
        script.faults.push_back(Fault::Status(502, None));
    }
    let server = FakeServer::start(script);
    match client(&server).audio_features(&fake::track_ids(1)) {
        Err(ClientError::Http {
            status: 502,
            attempts: 4,
            ..
        }) => {}
        other => panic!("expected Http 502 after 4 attempts, got {other:?}"),
    }
    assert_eq!(server.seen_on("/v1/audio-features").len(), 4);
}

#[test]
fn a_timeout_is_retried_and_then_succeeds() {
    let mut script = Script::default();
    script
        .faults
        .push_back(Fault::Delay(Duration::from_secs(3)));
    let server = FakeServer::start(script);
    let ids = fake::track_ids(4);
    let answers = client(&server)
        .audio_features(&ids)
        .expect("succeeds after a timeout");
    assert_eq!(answers[3], Some(expected(&ids[3])));
    assert_eq!(server.seen_on("/v1/audio-features").len(), 2);
}

#[test]
fn timeouts_on_every_attempt_are_a_transport_error() {
    let mut script = Script::default();
    for _ in 0..4 {
        script
            .faults
            .push_back(Fault::Delay(Duration::from_secs(3)));
    }
    let server = FakeServer::start(script);
    let config = config(&server)
        .timeout(Duration::from_millis(150))
        .retry(quick_retry().max_attempts(2));
    match SpotifyClient::new(config)
        .expect("client")
        .audio_features(&fake::track_ids(1))
    {
        Err(ClientError::Transport { attempts: 2, .. }) => {}
        other => panic!("expected a transport error, got {other:?}"),
    }
}

#[test]
fn a_malformed_body_is_a_typed_error_naming_the_endpoint_and_position() {
    let mut script = Script::default();
    script.faults.push_back(Fault::Malformed);
    let server = FakeServer::start(script);
    match client(&server).audio_features(&fake::track_ids(1)) {
        Err(ClientError::Malformed {
            endpoint,
            line,
            column,
            ..
        }) => {
            assert!(endpoint.ends_with("/v1/audio-features"), "{endpoint}");
            assert_eq!(line, 1);
            assert!(column > 0);
        }
        other => panic!("expected Malformed, got {other:?}"),
    }
}

#[test]
fn a_feature_outside_the_documented_range_is_a_malformed_answer_naming_track_and_field() {
    let mut script = Script::default();
    script.faults.push_back(Fault::OutOfRange);
    let server = FakeServer::start(script);
    let ids = fake::track_ids(2);
    match client(&server).audio_features(&ids) {
        Err(ClientError::Malformed { message, .. }) => {
            assert!(
                message.contains(&ids[0])
                    && message.contains("danceability")
                    && message.contains("1.5"),
                "{message}"
            );
        }
        other => panic!("expected Malformed, got {other:?}"),
    }
}

#[test]
fn a_403_on_audio_features_explains_the_deprecation_and_the_alternatives() {
    let mut script = Script::default();
    script.faults.push_back(Fault::Status(403, None));
    let server = FakeServer::start(script);
    let error = client(&server)
        .audio_features(&fake::track_ids(1))
        .expect_err("refused");
    assert!(matches!(error, ClientError::Deprecated { .. }), "{error:?}");
    assert!(error.is_fatal());
    let text = error.to_string();
    for needle in ["2024-11-27", "ReccoBeats", "local CSV", "cache"] {
        assert!(text.contains(needle), "{needle} missing from: {text}");
    }
    assert_eq!(
        server.seen_on("/v1/audio-features").len(),
        1,
        "a 403 is not retried"
    );
}

#[test]
fn a_403_on_audio_analysis_is_the_deprecation_error_too() {
    let mut script = Script::default();
    script.faults.push_back(Fault::Status(403, None));
    let server = FakeServer::start(script);
    let error = client(&server)
        .analysis_summary(&fake::track_id(1))
        .expect_err("refused");
    assert!(matches!(error, ClientError::Deprecated { .. }), "{error:?}");
}

#[test]
fn a_token_that_expires_mid_run_is_refreshed_and_no_id_is_lost() {
    let script = Script {
        requests_per_token: Some(2),
        ..Script::default()
    };
    let server = FakeServer::start(script);
    let ids = fake::track_ids(450);
    let mut spotify = client(&server);
    let answers = spotify
        .audio_features(&ids)
        .expect("fetches through the expiry");
    assert!(answers
        .iter()
        .zip(&ids)
        .all(|(answer, id)| answer.as_ref() == Some(&expected(id))));
    assert_eq!(
        server.tokens_issued(),
        3,
        "5 batches at 2 requests per token"
    );
    assert_eq!(spotify.tokens_fetched(), 3);
    let answered: Vec<String> = server
        .seen_on("/v1/audio-features")
        .into_iter()
        .filter(|seen| seen.status == 200)
        .flat_map(|seen| seen.ids)
        .collect();
    assert_eq!(answered, ids);
}

#[test]
fn a_token_about_to_expire_is_renewed_before_the_request() {
    // rspotify counts a token expired ten seconds early, so a 5-second token is renewed before
    // every request, without a 401.
    let script = Script {
        expires_in: 5,
        ..Script::default()
    };
    let server = FakeServer::start(script);
    let mut spotify = client(&server);
    spotify
        .audio_features(&fake::track_ids(150))
        .expect("fetches");
    assert_eq!(server.tokens_issued(), 2);
    assert!(server.seen_on("/v1/").iter().all(|seen| seen.status == 200));
}

#[test]
fn wrong_credentials_are_an_auth_error_that_shows_neither_secret_nor_token() {
    let server = FakeServer::start(Script::default());
    let config = config(&server).credentials(ClientCredentials::new("someone", "wrong-secret-123"));
    let mut spotify = SpotifyClient::new(config).expect("client");
    let error = spotify
        .audio_features(&fake::track_ids(1))
        .expect_err("refused");
    assert!(
        matches!(error, ClientError::Auth { status: 400, .. }),
        "{error:?}"
    );
    let shown = format!("{error} {error:?} {spotify:?}");
    assert!(
        !shown.contains("wrong-secret-123") && !shown.contains("someone"),
        "{shown}"
    );
}

#[test]
fn debug_output_and_errors_never_show_the_secret_or_the_access_token() {
    let mut script = Script::default();
    script.faults.push_back(Fault::Status(403, None));
    let server = FakeServer::start(script);
    let mut spotify = client(&server);
    let error = spotify
        .audio_features(&fake::track_ids(1))
        .expect_err("refused");
    let shown = format!("{error} {error:?} {spotify:?} {:?}", config(&server));
    for secret in [fake::CLIENT_SECRET, fake::CLIENT_ID, "token-1"] {
        assert!(!shown.contains(secret), "{secret} shown in: {shown}");
    }
    // The token was used, so it existed to be leaked.
    assert_eq!(
        server.seen_on("/v1/")[0].authorization.as_deref(),
        Some("Bearer token-1")
    );
}

#[test]
fn missing_credentials_are_reported_before_any_request() {
    let config = SpotifyConfig::new().api_base_url("http://127.0.0.1:9/v1/");
    if std::env::var_os("RSPOTIFY_CLIENT_ID").is_none() {
        assert!(matches!(
            SpotifyClient::new(config),
            Err(ClientError::MissingCredentials)
        ));
    }
}

#[test]
fn audio_analysis_is_summarised_into_the_means_over_all_segments() {
    let server = FakeServer::start(Script::default());
    let id = fake::track_id(77);
    let summary = client(&server)
        .analysis_summary(&id)
        .expect("fetches")
        .expect("known");
    let segments = fake::segments(&id);
    let count = segments.len() as f64;
    for i in 0..12 {
        let pitch: f64 = segments.iter().map(|(p, _)| p[i]).sum::<f64>() / count;
        let timbre: f64 = segments.iter().map(|(_, t)| t[i]).sum::<f64>() / count;
        assert!((summary.pitch[i] - pitch).abs() < 1e-12);
        assert!((summary.timbre[i] - timbre).abs() < 1e-12);
    }
}

#[test]
fn an_unknown_analysis_is_none() {
    let id = fake::track_id(78);
    let mut script = Script::default();
    script.unknown.insert(id.clone());
    let server = FakeServer::start(script);
    assert_eq!(
        client(&server).analysis_summary(&id).expect("answers"),
        None
    );
}

#[test]
fn tracks_are_batched_at_most_50_and_keep_popularity_and_artists() {
    let ids = fake::track_ids(101);
    let mut script = Script::default();
    script.unknown.insert(ids[60].clone());
    let server = FakeServer::start(script);
    let tracks = client(&server).tracks(&ids).expect("fetches");
    let sizes: Vec<usize> = server
        .seen_on("/v1/tracks")
        .iter()
        .map(|s| s.ids.len())
        .collect();
    assert_eq!(sizes, [50, 50, 1]);
    assert_eq!(tracks[60], None);
    let first = tracks[0].as_ref().expect("known");
    let json = fake::track_json(&ids[0]);
    assert_eq!(first.id.as_deref(), Some(ids[0].as_str()));
    assert_eq!(first.popularity.map(u64::from), json["popularity"].as_u64());
    assert_eq!(
        first.artists[0].id.as_deref(),
        Some(fake::artist_id(&ids[0]).as_str())
    );
}

#[test]
fn artists_are_batched_at_most_50_and_keep_popularity_and_genres() {
    let ids = fake::track_ids(51);
    let server = FakeServer::start(Script::default());
    let artists = client(&server).artists(&ids).expect("fetches");
    let sizes: Vec<usize> = server
        .seen_on("/v1/artists")
        .iter()
        .map(|s| s.ids.len())
        .collect();
    assert_eq!(sizes, [50, 1]);
    let json = fake::artist_json(&ids[50]);
    let last = artists[50].as_ref().expect("known");
    assert_eq!(last.popularity.map(u64::from), json["popularity"].as_u64());
    assert_eq!(
        last.genres,
        [
            "pop".to_string(),
            json["genres"][1].as_str().unwrap().to_string()
        ]
    );
}

#[test]
fn playlist_items_follow_every_page() {
    let server = FakeServer::start(Script::default());
    let items = client(&server)
        .playlist_items("37i9dQZF1DXcBWIGoYBM5M")
        .expect("fetches");
    assert_eq!(items.len(), fake::PLAYLIST_LENGTH);
    assert!(
        items[7].track.is_none(),
        "an unavailable track is kept as an empty item"
    );
    for (index, item) in items.iter().enumerate().filter(|(i, _)| *i != 7) {
        let id = item.track.as_ref().and_then(|t| t.id.clone());
        assert_eq!(id, Some(fake::playlist_track(index)));
    }
    assert_eq!(
        server.seen_on("/v1/playlists/").len(),
        3,
        "237 items in pages of 100"
    );
}
