//! The Spotify Web API client: client-credentials auth, batched audio features, tracks and
//! artists, audio analysis with its summary, and paginated playlist items.

use std::collections::HashMap;
use std::fmt;
use std::time::Duration;

use dataset::{AnalysisSummary, AudioFeatures};

use crate::auth::{Authenticator, ClientCredentials};
use crate::error::ClientError;
use crate::http::{self, Http};
use crate::model::{
    check_features, parse, ArtistInfo, ArtistsPage, AudioAnalysis, AudioFeaturesPage, PlaylistItem,
    PlaylistPage, TrackInfo, TracksPage,
};
use crate::retry::RetryPolicy;
use crate::FeatureSource;

/// Most ids `GET /v1/audio-features` takes in one request.
pub const AUDIO_FEATURES_BATCH: usize = 100;
/// Most ids `GET /v1/tracks` takes in one request.
pub const TRACKS_BATCH: usize = 50;
/// Most ids `GET /v1/artists` takes in one request.
pub const ARTISTS_BATCH: usize = 50;
/// Most items `GET /v1/playlists/{id}/tracks` returns in one page.
pub const PLAYLIST_PAGE: usize = 100;

/// Settings of a [`SpotifyClient`]: base URLs, credentials, timeout and retry policy.
#[derive(Clone, Debug)]
pub struct SpotifyConfig {
    api_base_url: String,
    auth_base_url: String,
    credentials: Option<ClientCredentials>,
    timeout: Duration,
    retry: RetryPolicy,
}

impl Default for SpotifyConfig {
    fn default() -> Self {
        SpotifyConfig::new()
    }
}

impl SpotifyConfig {
    /// rspotify's default base URLs (`https://api.spotify.com/v1/`,
    /// `https://accounts.spotify.com/`), credentials from the environment, a 10 s timeout and
    /// [`RetryPolicy::new`].
    pub fn new() -> SpotifyConfig {
        let defaults = rspotify::Config::default();
        SpotifyConfig {
            api_base_url: defaults.api_base_url,
            auth_base_url: defaults.auth_base_url,
            credentials: None,
            timeout: Duration::from_secs(10),
            retry: RetryPolicy::new(),
        }
    }

    /// The API prefix, e.g. `http://127.0.0.1:8080/v1/` for a local server.
    pub fn api_base_url(mut self, url: &str) -> SpotifyConfig {
        self.api_base_url = url.to_string();
        self
    }

    /// The accounts prefix; the token endpoint is `{auth_base_url}/api/token`.
    pub fn auth_base_url(mut self, url: &str) -> SpotifyConfig {
        self.auth_base_url = url.to_string();
        self
    }

    /// Explicit credentials instead of `RSPOTIFY_CLIENT_ID` / `RSPOTIFY_CLIENT_SECRET`.
    pub fn credentials(mut self, credentials: ClientCredentials) -> SpotifyConfig {
        self.credentials = Some(credentials);
        self
    }

    /// How long one request may take before it counts as timed out and is retried.
    pub fn timeout(mut self, timeout: Duration) -> SpotifyConfig {
        self.timeout = timeout;
        self
    }

    /// How failed requests are retried.
    pub fn retry(mut self, retry: RetryPolicy) -> SpotifyConfig {
        self.retry = retry;
        self
    }
}

/// A blocking client of the Spotify Web API with the client-credentials flow.
pub struct SpotifyClient {
    api_base_url: String,
    auth: Authenticator,
    http: Http,
}

impl fmt::Debug for SpotifyClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SpotifyClient")
            .field("api_base_url", &self.api_base_url)
            .field("auth", &self.auth)
            .finish_non_exhaustive()
    }
}

/// Which endpoint a request goes to; audio features and analysis answer 403 to new apps.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Endpoint {
    AudioFeatures,
    AudioAnalysis,
    Other,
}

impl SpotifyClient {
    /// A client with these settings; credentials come from the config or the environment. No
    /// request is made until the first call.
    pub fn new(config: SpotifyConfig) -> Result<SpotifyClient, ClientError> {
        let credentials = match config.credentials {
            Some(credentials) => credentials,
            None => ClientCredentials::from_env()?,
        };
        Ok(SpotifyClient {
            auth: Authenticator::new(credentials, &config.auth_base_url),
            http: Http::new(config.timeout, config.retry),
            api_base_url: config.api_base_url,
        })
    }

    /// Access tokens fetched so far (the first one and every refresh).
    pub fn tokens_fetched(&self) -> u64 {
        self.auth.fetched
    }

    /// GET `{api}/{path}` with a bearer token. A 401 (expired or revoked token) fetches a new
    /// token and repeats the request once; a 404 is `Ok(None)`.
    fn get(
        &mut self,
        kind: Endpoint,
        path: &str,
        query: &[(&str, String)],
    ) -> Result<Option<String>, ClientError> {
        let url = http::join(&self.api_base_url, path);
        let endpoint = http::endpoint("GET", &url);
        let mut refreshed = false;
        loop {
            let bearer = self.auth.bearer(&mut self.http)?;
            let mut request = self.http.get(&url).set("Authorization", &bearer);
            for (name, value) in query {
                request = request.query(name, value);
            }
            match self.http.send(&endpoint, &request, None) {
                Ok(body) => return Ok(Some(body)),
                Err(ClientError::Http { status: 401, .. }) if !refreshed => {
                    self.auth.invalidate();
                    refreshed = true;
                }
                Err(ClientError::Http { status: 404, .. }) => return Ok(None),
                Err(ClientError::Http {
                    endpoint,
                    status: 403,
                    message,
                    ..
                }) if kind != Endpoint::Other => {
                    return Err(ClientError::Deprecated { endpoint, message })
                }
                Err(error) => return Err(error),
            }
        }
    }

    /// GET of a batch endpoint `path?ids=…`; a 404 there is a malformed answer, not a missing id.
    fn get_batch(
        &mut self,
        kind: Endpoint,
        path: &str,
        ids: &[String],
    ) -> Result<String, ClientError> {
        let url = http::join(&self.api_base_url, path);
        self.get(kind, path, &[("ids", ids.join(","))])?
            .ok_or_else(|| ClientError::Http {
                endpoint: http::endpoint("GET", &url),
                status: 404,
                attempts: 1,
                message: "not found".into(),
            })
    }

    /// The audio features of each id, in order, in requests of at most 100 ids; `None` for an id
    /// Spotify answers `null` to (unknown id), without failing the rest of its batch.
    pub fn audio_features(
        &mut self,
        ids: &[String],
    ) -> Result<Vec<Option<AudioFeatures>>, ClientError> {
        let mut answers = Vec::with_capacity(ids.len());
        for batch in ids.chunks(AUDIO_FEATURES_BATCH) {
            let body = self.get_batch(Endpoint::AudioFeatures, "audio-features", batch)?;
            let endpoint = http::endpoint("GET", &http::join(&self.api_base_url, "audio-features"));
            let page: AudioFeaturesPage = parse(&endpoint, &body)?;
            let mut by_id: HashMap<String, AudioFeatures> = HashMap::with_capacity(batch.len());
            for entry in page.audio_features.into_iter().flatten() {
                check_features(&endpoint, &entry.id, &entry.features)?;
                by_id.insert(entry.id, entry.features);
            }
            answers.extend(batch.iter().map(|id| by_id.remove(id)));
        }
        Ok(answers)
    }

    /// The audio analysis of one track; `None` when Spotify has none (404).
    pub fn audio_analysis(&mut self, id: &str) -> Result<Option<AudioAnalysis>, ClientError> {
        let path = format!("audio-analysis/{id}");
        let Some(body) = self.get(Endpoint::AudioAnalysis, &path, &[])? else {
            return Ok(None);
        };
        let endpoint = http::endpoint("GET", &http::join(&self.api_base_url, &path));
        parse(&endpoint, &body).map(Some)
    }

    /// The 12 pitch and 12 timbre means of a track's analysis ([`AudioAnalysis::summary`]).
    pub fn analysis_summary(&mut self, id: &str) -> Result<Option<AnalysisSummary>, ClientError> {
        let Some(analysis) = self.audio_analysis(id)? else {
            return Ok(None);
        };
        analysis.summary().map_err(|error| ClientError::Malformed {
            endpoint: http::endpoint(
                "GET",
                &http::join(&self.api_base_url, &format!("audio-analysis/{id}")),
            ),
            line: 0,
            column: 0,
            message: error.to_string(),
        })
    }

    /// Tracks (popularity, artists) by id, in order, in requests of at most 50 ids; `None` for
    /// an unknown id.
    pub fn tracks(&mut self, ids: &[String]) -> Result<Vec<Option<TrackInfo>>, ClientError> {
        let mut answers = Vec::with_capacity(ids.len());
        for batch in ids.chunks(TRACKS_BATCH) {
            let body = self.get_batch(Endpoint::Other, "tracks", batch)?;
            let endpoint = http::endpoint("GET", &http::join(&self.api_base_url, "tracks"));
            let page: TracksPage = parse(&endpoint, &body)?;
            answers.extend(in_request_order(batch, page.tracks, |track| {
                track.id.as_ref()
            }));
        }
        Ok(answers)
    }

    /// Artists (popularity, genres) by id, in order, in requests of at most 50 ids; `None` for
    /// an unknown id.
    pub fn artists(&mut self, ids: &[String]) -> Result<Vec<Option<ArtistInfo>>, ClientError> {
        let mut answers = Vec::with_capacity(ids.len());
        for batch in ids.chunks(ARTISTS_BATCH) {
            let body = self.get_batch(Endpoint::Other, "artists", batch)?;
            let endpoint = http::endpoint("GET", &http::join(&self.api_base_url, "artists"));
            let page: ArtistsPage = parse(&endpoint, &body)?;
            answers.extend(in_request_order(batch, page.artists, |artist| {
                Some(&artist.id)
            }));
        }
        Ok(answers)
    }

    /// Every item of a playlist, following the pages (100 items each) by offset until `total`.
    pub fn playlist_items(&mut self, playlist_id: &str) -> Result<Vec<PlaylistItem>, ClientError> {
        let path = format!("playlists/{playlist_id}/tracks");
        let endpoint = http::endpoint("GET", &http::join(&self.api_base_url, &path));
        let mut items = Vec::new();
        loop {
            let query = [
                ("limit", PLAYLIST_PAGE.to_string()),
                ("offset", items.len().to_string()),
            ];
            let Some(body) = self.get(Endpoint::Other, &path, &query)? else {
                return Err(ClientError::Http {
                    endpoint,
                    status: 404,
                    attempts: 1,
                    message: format!("no playlist {playlist_id}"),
                });
            };
            let page: PlaylistPage = parse(&endpoint, &body)?;
            let empty = page.items.is_empty();
            items.extend(page.items);
            if empty || items.len() >= page.total {
                return Ok(items);
            }
        }
    }
}

/// The answers of a batch in the order of its ids, matched by id; `null` entries and ids the
/// answer lacks are `None`.
fn in_request_order<T>(
    ids: &[String],
    answers: Vec<Option<T>>,
    id_of: impl Fn(&T) -> Option<&String>,
) -> Vec<Option<T>> {
    let mut by_id: HashMap<String, T> = HashMap::with_capacity(answers.len());
    for answer in answers.into_iter().flatten() {
        if let Some(id) = id_of(&answer).cloned() {
            by_id.insert(id, answer);
        }
    }
    ids.iter().map(|id| by_id.remove(id)).collect()
}

impl FeatureSource for SpotifyClient {
    fn name(&self) -> &'static str {
        "spotify"
    }

    fn batch_size(&self) -> usize {
        AUDIO_FEATURES_BATCH
    }

    fn audio_features(
        &mut self,
        ids: &[String],
    ) -> Result<Vec<Option<AudioFeatures>>, ClientError> {
        SpotifyClient::audio_features(self, ids)
    }

    fn analysis_summary(&mut self, id: &str) -> Result<Option<AnalysisSummary>, ClientError> {
        SpotifyClient::analysis_summary(self, id)
    }
}
