//! Fake Spotify Web API and ReccoBeats servers on 127.0.0.1, speaking the real endpoints' JSON:
//! the token endpoint, `/v1/audio-features?ids=`, `/v1/audio-analysis/{id}`, `/v1/tracks?ids=`,
//! `/v1/artists?ids=`, `/v1/playlists/{id}/tracks` with paging, and ReccoBeats'
//! `/v1/audio-features?ids=`. Faults are queued and served to the next API requests.
#![allow(dead_code)]

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::Response;
use axum::Router;
use serde_json::{json, Value};

pub const CLIENT_ID: &str = "test-client-id";
pub const CLIENT_SECRET: &str = "test-client-secret-do-not-log";

/// A fault served instead of (or before) the normal answer of one API request.
#[derive(Clone, Debug)]
pub enum Fault {
    /// This status, with this `Retry-After` header.
    Status(u16, Option<u64>),
    /// The normal answer, after this delay.
    Delay(Duration),
    /// A 200 whose body is not JSON.
    Malformed,
    /// Never answer (the test kills the client).
    Hang,
    /// The normal answer with the first entry's danceability set to 1.5.
    OutOfRange,
    /// This status, with the request (line, headers and body) echoed back as plain text, as a
    /// misconfigured proxy or debugging server does.
    Echo(u16),
    /// A 200 whose JSON puts the echoed request where an array belongs, so that a parser error
    /// would quote it.
    EchoJson,
    /// This status with this plain-text body.
    Text(u16, String),
}

/// One request the server saw.
#[derive(Clone, Debug)]
pub struct Seen {
    pub at: Instant,
    pub method: String,
    pub path: String,
    pub ids: Vec<String>,
    pub status: u16,
    pub authorization: Option<String>,
}

#[derive(Default)]
pub struct Script {
    /// Faults for the next API requests (not the token endpoint), in order.
    pub faults: VecDeque<Fault>,
    /// Faults keyed by the 1-based number of the audio-features request they replace.
    pub features_faults: HashMap<usize, Fault>,
    /// Faults keyed by the 1-based number of the audio-analysis request they replace.
    pub analysis_faults: HashMap<usize, Fault>,
    /// Ids the server answers `null` to.
    pub unknown: HashSet<String>,
    /// Lifetime of a token, in seconds, as the token endpoint reports it.
    pub expires_in: u64,
    /// After this many API requests with one token, the server says it expired (401).
    pub requests_per_token: Option<usize>,
    /// The token endpoint answers this status with the request echoed back as plain text.
    pub echo_token: Option<u16>,
    /// Ids whose audio features come without `valence`.
    pub without_valence: HashSet<String>,
    /// The 2026 restriction: `GET /v1/tracks?ids=` and `/v1/artists?ids=` answer 403, while the
    /// single-id endpoints `/v1/tracks/{id}` and `/v1/artists/{id}` still answer.
    pub batch_refused: bool,
    /// The single-id endpoints answer 403 too (an app refused everything).
    pub single_refused: bool,
}

#[derive(Default)]
struct Inner {
    script: Script,
    seen: Vec<Seen>,
    tokens: Vec<String>,
    uses_of_current_token: usize,
    features_requests: usize,
    analysis_requests: usize,
}

#[derive(Clone)]
struct Shared(Arc<Mutex<Inner>>);

/// A running fake server.
pub struct FakeServer {
    pub url: String,
    shared: Shared,
    _runtime: tokio::runtime::Runtime,
}

impl FakeServer {
    /// Starts a fake Spotify (and ReccoBeats, under `/reccobeats`) on a free loopback port.
    pub fn start(script: Script) -> FakeServer {
        let shared = Shared(Arc::new(Mutex::new(Inner {
            script,
            ..Inner::default()
        })));
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("tokio runtime");
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind loopback");
        listener.set_nonblocking(true).expect("nonblocking");
        let url = format!("http://{}", listener.local_addr().expect("address"));
        let app = Router::new().fallback(handle).with_state(shared.clone());
        runtime.spawn(async move {
            let listener = tokio::net::TcpListener::from_std(listener).expect("tokio listener");
            axum::serve(listener, app).await.expect("serve");
        });
        FakeServer {
            url,
            shared,
            _runtime: runtime,
        }
    }

    pub fn api_base(&self) -> String {
        format!("{}/v1/", self.url)
    }

    pub fn auth_base(&self) -> String {
        format!("{}/", self.url)
    }

    pub fn reccobeats_base(&self) -> String {
        format!("{}/reccobeats", self.url)
    }

    pub fn seen(&self) -> Vec<Seen> {
        self.shared.0.lock().unwrap().seen.clone()
    }

    pub fn seen_on(&self, prefix: &str) -> Vec<Seen> {
        self.seen()
            .into_iter()
            .filter(|seen| seen.path.starts_with(prefix))
            .collect()
    }

    pub fn tokens_issued(&self) -> usize {
        self.shared.0.lock().unwrap().tokens.len()
    }

    pub fn script(&self, change: impl FnOnce(&mut Script)) {
        change(&mut self.shared.0.lock().unwrap().script);
    }
}

/// A Spotify-style track id, numbered.
pub fn track_id(number: usize) -> String {
    let alphabet = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    let mut id = Vec::with_capacity(22);
    let mut n = number;
    for _ in 0..22 {
        id.push(alphabet[n % 62]);
        n /= 62;
    }
    id.reverse();
    String::from_utf8(id).expect("ascii")
}

pub fn track_ids(count: usize) -> Vec<String> {
    (0..count).map(|n| track_id(n + 1000)).collect()
}

fn seed_of(id: &str) -> u64 {
    id.bytes().fold(1469598103934665603u64, |hash, byte| {
        (hash ^ u64::from(byte)).wrapping_mul(1099511628211)
    })
}

/// The Web API's audio-features object of a track, derived from its id.
pub fn features_json(id: &str) -> Value {
    let seed = seed_of(id);
    let unit = |shift: u32| ((seed >> shift) % 1000) as f64 / 1000.0;
    json!({
        "danceability": unit(0), "energy": unit(8), "key": (seed % 12) as i64,
        "loudness": -(unit(16) * 20.0), "mode": (seed >> 3) % 2, "speechiness": unit(24),
        "acousticness": unit(32), "instrumentalness": 3.49e-06, "liveness": unit(40),
        "valence": unit(48), "tempo": 60.0 + unit(52) * 120.0, "type": "audio_features",
        "id": id, "uri": format!("spotify:track:{id}"),
        "track_href": format!("https://api.spotify.com/v1/tracks/{id}"),
        "analysis_url": format!("https://api.spotify.com/v1/audio-analysis/{id}"),
        "duration_ms": 120_000 + (seed % 100_000) as i64, "time_signature": 4
    })
}

/// The segments of a track's fake analysis: 3 + (seed % 5) segments.
pub fn segments(id: &str) -> Vec<(Vec<f64>, Vec<f64>)> {
    let seed = seed_of(id);
    (0..3 + (seed % 5) as usize)
        .map(|s| {
            let pitches = (0..12)
                .map(|i| ((seed >> (i % 50)) % 97 + s as u64) as f64 / 200.0)
                .collect();
            let timbre = (0..12)
                .map(|i| ((seed >> (i * 3 % 60)) % 400) as f64 / 3.0 - 60.0 + s as f64)
                .collect();
            (pitches, timbre)
        })
        .collect()
}

fn analysis_json(id: &str) -> Value {
    let segments: Vec<Value> = segments(id)
        .into_iter()
        .enumerate()
        .map(|(index, (pitches, timbre))| {
            json!({
                "start": index as f64 * 0.5, "duration": 0.5, "confidence": 0.9,
                "loudness_start": -20.0, "loudness_max_time": 0.1, "loudness_max": -8.0,
                "loudness_end": 0.0, "pitches": pitches, "timbre": timbre
            })
        })
        .collect();
    json!({
        "meta": {"analyzer_version": "4.0.0", "platform": "Linux", "detailed_status": "OK",
                 "status_code": 0, "timestamp": 1495193577, "analysis_time": 6.93906,
                 "input_process": "libvorbisfile L+R 44100->22050"},
        "track": {"num_samples": 4585515, "duration": 207.95985, "tempo": 120.0, "key": 5,
                  "mode": 0, "time_signature": 4, "loudness": -5.883},
        "bars": [{"start": 0.49567, "duration": 2.18749, "confidence": 0.925}],
        "beats": [{"start": 0.49567, "duration": 0.52, "confidence": 0.9}],
        "sections": [{"start": 0.0, "duration": 6.97092, "confidence": 1.0, "loudness": -14.938,
                      "tempo": 113.178, "key": 9, "mode": 1, "time_signature": 4}],
        "segments": segments,
        "tatums": [{"start": 0.49567, "duration": 0.26, "confidence": 0.9}]
    })
}

pub fn artist_id(track: &str) -> String {
    track_id((seed_of(track) % 1_000_000) as usize)
}

fn simplified_artist(id: &str) -> Value {
    json!({"external_urls": {"spotify": format!("https://open.spotify.com/artist/{id}")},
           "href": format!("https://api.spotify.com/v1/artists/{id}"), "id": id,
           "name": format!("Artist {id}"), "type": "artist", "uri": format!("spotify:artist:{id}")})
}

pub fn track_json(id: &str) -> Value {
    let seed = seed_of(id);
    json!({
        "album": {"album_type": "single", "total_tracks": 1, "available_markets": ["US"],
                  "external_urls": {"spotify": "https://open.spotify.com/album/x"},
                  "href": "https://api.spotify.com/v1/albums/x", "id": "2up3OPMp9Tb4dAKM2erWXQ",
                  "images": [], "name": "Album", "release_date": "2017-01-06",
                  "release_date_precision": "day", "type": "album",
                  "uri": "spotify:album:2up3OPMp9Tb4dAKM2erWXQ", "artists": []},
        "artists": [simplified_artist(&artist_id(id))],
        "available_markets": ["US", "GB"], "disc_number": 1,
        "duration_ms": 120_000 + (seed % 100_000) as i64, "explicit": seed & 1 == 0,
        "external_ids": {"isrc": "USUM71700001"},
        "external_urls": {"spotify": format!("https://open.spotify.com/track/{id}")},
        "href": format!("https://api.spotify.com/v1/tracks/{id}"), "id": id, "is_local": false,
        "name": format!("Track {id}"), "popularity": (seed % 101) as i64, "preview_url": null,
        "track_number": 1, "type": "track", "uri": format!("spotify:track:{id}")
    })
}

pub fn artist_json(id: &str) -> Value {
    let seed = seed_of(id);
    json!({
        "external_urls": {"spotify": format!("https://open.spotify.com/artist/{id}")},
        "followers": {"href": null, "total": seed % 1_000_000},
        "genres": ["pop", format!("genre {}", seed % 7)],
        "href": format!("https://api.spotify.com/v1/artists/{id}"), "id": id, "images": [],
        "name": format!("Artist {id}"), "popularity": (seed % 101) as i64, "type": "artist",
        "uri": format!("spotify:artist:{id}")
    })
}

/// The playlist `playlist_id` holds this many tracks, numbered from 5000; one item is unavailable.
pub const PLAYLIST_LENGTH: usize = 237;

pub fn playlist_track(index: usize) -> String {
    track_id(5000 + index)
}

fn error(status: u16, message: &str) -> Response {
    json_response(
        status,
        json!({"error": {"status": status, "message": message}}),
    )
}

fn json_response(status: u16, body: Value) -> Response {
    Response::builder()
        .status(StatusCode::from_u16(status).expect("status"))
        .header("content-type", "application/json; charset=utf-8")
        .body(Body::from(body.to_string()))
        .expect("response")
}

async fn handle(
    State(shared): State<Shared>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    Query(query): Query<HashMap<String, String>>,
    body: String,
) -> Response {
    let path = uri.path().to_string();
    let ids: Vec<String> = query
        .get("ids")
        .map(|ids| {
            ids.split(',')
                .filter(|id| !id.is_empty())
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default();
    let authorization = headers
        .get("authorization")
        .and_then(|value| value.to_str().ok())
        .map(str::to_string);
    let echo = echo_of(&method, &uri, &headers, &body);
    let (response, delay) = {
        let mut inner = shared.0.lock().unwrap();
        let answer = answer(
            &mut inner,
            &method,
            &path,
            &ids,
            authorization.as_deref(),
            &query,
            &Sent {
                body: &body,
                echo: &echo,
            },
        );
        inner.seen.push(Seen {
            at: Instant::now(),
            method: method.to_string(),
            path: path.clone(),
            ids: ids.clone(),
            status: match &answer {
                Answer::Now(response) | Answer::After(response, _) => response.status().as_u16(),
                Answer::Never => 0,
            },
            authorization,
        });
        match answer {
            Answer::Now(response) => (Some(response), None),
            Answer::After(response, delay) => (Some(response), Some(delay)),
            Answer::Never => (None, None),
        }
    };
    if let Some(delay) = delay {
        tokio::time::sleep(delay).await;
    }
    match response {
        Some(response) => response,
        None => std::future::pending().await,
    }
}

/// What the client sent besides the path: the body, and the whole request as an echo.
struct Sent<'a> {
    body: &'a str,
    echo: &'a str,
}

enum Answer {
    Now(Response),
    After(Response, Duration),
    Never,
}

fn answer(
    inner: &mut Inner,
    method: &Method,
    path: &str,
    ids: &[String],
    authorization: Option<&str>,
    query: &HashMap<String, String>,
    sent: &Sent<'_>,
) -> Answer {
    let (body, echo) = (sent.body, sent.echo);
    if path == "/api/token" {
        if let Some(status) = inner.script.echo_token {
            return Answer::Now(text_response(status, echo));
        }
        let expected = rspotify::Credentials::new(CLIENT_ID, CLIENT_SECRET)
            .auth_headers()
            .and_then(|headers| headers.get("authorization").cloned());
        if *method != Method::POST || !body.contains("grant_type=client_credentials") {
            return Answer::Now(json_response(
                400,
                json!({"error": "unsupported_grant_type"}),
            ));
        }
        if authorization.map(str::to_string) != expected {
            return Answer::Now(json_response(
                400,
                json!({"error": "invalid_client", "error_description": "Invalid client"}),
            ));
        }
        let token = format!("token-{}", inner.tokens.len() + 1);
        inner.tokens.push(token.clone());
        inner.uses_of_current_token = 0;
        let expires_in = if inner.script.expires_in == 0 {
            3600
        } else {
            inner.script.expires_in
        };
        return Answer::Now(json_response(
            200,
            json!({"access_token": token, "token_type": "Bearer", "expires_in": expires_in}),
        ));
    }

    let reccobeats = path.starts_with("/reccobeats/");
    if !reccobeats {
        let current = inner.tokens.last().map(|token| format!("Bearer {token}"));
        if authorization.is_none() || authorization.map(str::to_string) != current {
            return Answer::Now(error(401, "Invalid access token"));
        }
        if let Some(limit) = inner.script.requests_per_token {
            if inner.uses_of_current_token >= limit {
                return Answer::Now(error(401, "The access token expired"));
            }
        }
        inner.uses_of_current_token += 1;
    }

    let mut fault = inner.script.faults.pop_front();
    if path == "/v1/audio-features" {
        inner.features_requests += 1;
        if let Some(f) = inner
            .script
            .features_faults
            .remove(&inner.features_requests)
        {
            fault = Some(f);
        }
    }
    if path.starts_with("/v1/audio-analysis/") {
        inner.analysis_requests += 1;
        if let Some(f) = inner
            .script
            .analysis_faults
            .remove(&inner.analysis_requests)
        {
            fault = Some(f);
        }
    }
    let normal = || normal_answer(&inner.script, path, ids, query);
    match fault {
        None => Answer::Now(normal()),
        Some(Fault::Status(status, retry_after)) => {
            let mut response = error(status, "scripted fault");
            if let Some(seconds) = retry_after {
                response
                    .headers_mut()
                    .insert("retry-after", seconds.to_string().parse().expect("header"));
            }
            Answer::Now(response)
        }
        Some(Fault::Delay(delay)) => Answer::After(normal(), delay),
        Some(Fault::Malformed) => Answer::Now(
            Response::builder()
                .status(200)
                .header("content-type", "application/json")
                .body(Body::from(
                    "{\"audio_features\": [{\"id\": \"x\", \"danceability\": ",
                ))
                .expect("response"),
        ),
        Some(Fault::Hang) => Answer::Never,
        Some(Fault::OutOfRange) => {
            let mut entries: Vec<Value> = ids.iter().map(|id| features_json(id)).collect();
            entries[0]["danceability"] = json!(1.5);
            Answer::Now(json_response(200, json!({"audio_features": entries})))
        }
        Some(Fault::Echo(status)) => Answer::Now(text_response(status, echo)),
        Some(Fault::Text(status, text)) => Answer::Now(text_response(status, &text)),
        Some(Fault::EchoJson) => Answer::Now(json_response(
            200,
            json!({"audio_features": echo, "tracks": echo, "artists": echo}),
        )),
    }
}

/// The request as an echoing server writes it back: request line, headers, blank line, body.
fn echo_of(method: &Method, uri: &Uri, headers: &HeaderMap, body: &str) -> String {
    let mut text = format!("{method} {uri} HTTP/1.1\r\n");
    for (name, value) in headers {
        text.push_str(&format!(
            "{name}: {}\r\n",
            String::from_utf8_lossy(value.as_bytes())
        ));
    }
    text.push_str("\r\n");
    text.push_str(body);
    text
}

fn text_response(status: u16, text: &str) -> Response {
    Response::builder()
        .status(StatusCode::from_u16(status).expect("status"))
        .header("content-type", "text/plain")
        .body(Body::from(text.to_string()))
        .expect("response")
}

/// A batch answer in Spotify's shape: `{key: [entry or null per id]}`, or 400 beyond `limit` ids.
fn batch(
    ids: &[String],
    limit: usize,
    key: &str,
    known: &dyn Fn(&String) -> bool,
    entry: fn(&str) -> Value,
) -> Response {
    if ids.len() > limit {
        return error(400, "Too many ids requested");
    }
    let entries: Vec<Value> = ids
        .iter()
        .map(|id| if known(id) { entry(id) } else { Value::Null })
        .collect();
    json_response(200, json!({ key: entries }))
}

fn normal_answer(
    script: &Script,
    path: &str,
    ids: &[String],
    query: &HashMap<String, String>,
) -> Response {
    let known = |id: &String| !script.unknown.contains(id);
    match path {
        // Spotify's batch endpoints: a limit on ids, `null` for an unknown id.
        "/v1/audio-features" => {
            let mut response = batch(ids, 100, "audio_features", &known, features_json);
            if ids.iter().any(|id| script.without_valence.contains(id)) {
                let entries: Vec<Value> = ids
                    .iter()
                    .map(|id| {
                        let mut entry = if known(id) {
                            features_json(id)
                        } else {
                            Value::Null
                        };
                        if script.without_valence.contains(id) {
                            if let Some(object) = entry.as_object_mut() {
                                object.remove("valence");
                            }
                        }
                        entry
                    })
                    .collect();
                response = json_response(200, json!({ "audio_features": entries }));
            }
            response
        }
        "/v1/tracks" | "/v1/artists" if script.batch_refused => error(403, "Forbidden"),
        "/v1/tracks" => batch(ids, 50, "tracks", &known, track_json),
        "/v1/artists" => batch(ids, 50, "artists", &known, artist_json),
        "/reccobeats/v1/audio-features" => {
            if ids.len() > 40 {
                return json_response(400, json!({"error": "Too many ids, max 40"}));
            }
            // ReccoBeats leaves unknown ids out, names tracks by its own id, and has no
            // duration or time signature.
            let entries: Vec<Value> = ids
                .iter()
                .filter(|id| known(id))
                .map(|id| {
                    let mut entry = features_json(id);
                    let object = entry.as_object_mut().expect("object");
                    for field in [
                        "type",
                        "uri",
                        "track_href",
                        "analysis_url",
                        "duration_ms",
                        "time_signature",
                    ] {
                        object.remove(field);
                    }
                    object.insert(
                        "id".into(),
                        json!(format!("{:08x}-recco-beats-uuid", seed_of(id) as u32)),
                    );
                    object.insert(
                        "href".into(),
                        json!(format!("https://open.spotify.com/track/{id}")),
                    );
                    entry
                })
                .collect();
            json_response(200, json!({"content": entries}))
        }
        _ => {
            if let Some(id) = path.strip_prefix("/v1/audio-analysis/") {
                return if known(&id.to_string()) {
                    json_response(200, analysis_json(id))
                } else {
                    error(404, "analysis not found")
                };
            }
            for (prefix, entry) in [
                ("/v1/tracks/", track_json as fn(&str) -> Value),
                ("/v1/artists/", artist_json),
            ] {
                if let Some(id) = path.strip_prefix(prefix) {
                    return if script.single_refused {
                        error(403, "Forbidden")
                    } else if known(&id.to_string()) {
                        json_response(200, entry(id))
                    } else {
                        error(404, "Resource not found")
                    };
                }
            }
            if let Some(rest) = path.strip_prefix("/v1/playlists/") {
                if let Some(playlist) = rest.strip_suffix("/tracks") {
                    return playlist_page(playlist, query);
                }
            }
            error(404, "Service not found")
        }
    }
}

fn playlist_page(playlist: &str, query: &HashMap<String, String>) -> Response {
    if playlist != "37i9dQZF1DXcBWIGoYBM5M" {
        return error(404, "Resource not found");
    }
    let limit: usize = query
        .get("limit")
        .and_then(|v| v.parse().ok())
        .unwrap_or(100);
    let offset: usize = query
        .get("offset")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    if limit > 100 {
        return error(400, "Invalid limit");
    }
    let items: Vec<Value> = (offset..(offset + limit).min(PLAYLIST_LENGTH))
        .map(|index| {
            // Item 7 is a track no longer available: Spotify sends `"track": null`.
            let track = if index == 7 {
                Value::Null
            } else {
                track_json(&playlist_track(index))
            };
            json!({"added_at": "2019-06-01T00:00:00Z",
                   "added_by": {"id": "spotify", "type": "user"}, "is_local": false,
                   "track": track})
        })
        .collect();
    let base = format!("https://api.spotify.com/v1/playlists/{playlist}/tracks");
    let next = (offset + limit < PLAYLIST_LENGTH)
        .then(|| format!("{base}?offset={}&limit={limit}", offset + limit));
    json_response(
        200,
        json!({"href": format!("{base}?offset={offset}&limit={limit}"), "items": items,
               "limit": limit, "next": next, "offset": offset,
               "previous": null, "total": PLAYLIST_LENGTH}),
    )
}
