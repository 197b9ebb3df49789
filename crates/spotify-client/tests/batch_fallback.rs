//! Spotify's 2026 restriction: restricted apps get 403 on `GET /v1/tracks?ids=` and
//! `/v1/artists?ids=` while `/v1/tracks/{id}` and `/v1/artists/{id}` still answer. The client
//! falls back to single-id requests at a polite rate, remembers it, and says so once.

mod fake;

use std::time::Duration;

use fake::{FakeServer, Script};
use spotify_client::{ClientCredentials, RetryPolicy, SpotifyClient, SpotifyConfig};

fn config(server: &FakeServer) -> SpotifyConfig {
    SpotifyConfig::new()
        .api_base_url(&server.api_base())
        .auth_base_url(&server.auth_base())
        .credentials(ClientCredentials::new(fake::CLIENT_ID, fake::CLIENT_SECRET))
        .timeout(Duration::from_millis(400))
        .retry(RetryPolicy::new().base_delay(Duration::from_millis(5)))
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
