//! The Spotify Web API client: client-credentials auth, batched audio features, tracks and
//! artists, audio analysis with its summary, and paginated playlist items.

use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use dataset::{AnalysisSummary, AudioFeatures};

use crate::auth::{Authenticator, ClientCredentials};
use crate::cache::Cache;
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

/// How the client asks for several tracks or artists.
///
/// Since 2026 Spotify answers 403 to restricted apps on the batch endpoints (`GET
/// /v1/tracks?ids=`, `/v1/artists?ids=`) while the single-id endpoints still answer. The client
/// finds out on the first refused batch, then asks one id at a time for the rest of the session
/// (and, with [`SpotifyConfig::cache`], for later sessions too).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BatchAccess {
    /// Up to 50 ids a request.
    Batch,
    /// One id a request (`/v1/tracks/{id}`), at most one request per
    /// [`SpotifyConfig::single_id_interval`].
    SingleId,
}

impl BatchAccess {
    /// Both, in the order above.
    pub const ALL: [BatchAccess; 2] = [BatchAccess::Batch, BatchAccess::SingleId];

    /// The name the cache records.
    pub fn name(self) -> &'static str {
        match self {
            BatchAccess::Batch => "batch",
            BatchAccess::SingleId => "single_id",
        }
    }

    /// The access of this name, if any.
    pub fn from_name(name: &str) -> Option<BatchAccess> {
        BatchAccess::ALL
            .into_iter()
            .find(|access| access.name() == name)
    }
}

/// Settings of a [`SpotifyClient`]: base URLs, credentials, timeout and retry policy.
#[derive(Clone, Debug)]
pub struct SpotifyConfig {
    api_base_url: String,
    auth_base_url: String,
    credentials: Option<ClientCredentials>,
    timeout: Duration,
    retry: RetryPolicy,
    single_id_interval: Duration,
    cache: Option<PathBuf>,
}

impl Default for SpotifyConfig {
    fn default() -> Self {
        SpotifyConfig::new()
    }
}

impl SpotifyConfig {
    /// rspotify's default base URLs (`https://api.spotify.com/v1/`,
    /// `https://accounts.spotify.com/`), credentials from the environment, a 10 s timeout,
    /// [`RetryPolicy::new`], single-id requests at most 4 a second, no cache.
    pub fn new() -> SpotifyConfig {
        let defaults = rspotify::Config::default();
        SpotifyConfig {
            api_base_url: defaults.api_base_url,
            auth_base_url: defaults.auth_base_url,
            credentials: None,
            timeout: Duration::from_secs(10),
            retry: RetryPolicy::new(),
            single_id_interval: Duration::from_millis(250),
            cache: None,
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

    /// The least time between two single-id requests, when the batch endpoints are refused
    /// ([`BatchAccess::SingleId`]): a polite rate, well under Spotify's rate limit.
    pub fn single_id_interval(mut self, interval: Duration) -> SpotifyConfig {
        self.single_id_interval = interval;
        self
    }

    /// The cache file (the one [`crate::fetch::fetch`] uses) where the client remembers what it
    /// found out about this app's access ([`BatchAccess`]) for later sessions.
    pub fn cache(mut self, path: &Path) -> SpotifyConfig {
        self.cache = Some(path.to_path_buf());
        self
    }
}

/// A blocking client of the Spotify Web API with the client-credentials flow.
pub struct SpotifyClient {
    api_base_url: String,
    auth: Authenticator,
    http: Http,
    /// How to ask for several ids; `None` until a batch request tells, or the cache did.
    batch_access: Option<BatchAccess>,
    /// When the single-id access was remembered from the cache, for the notice.
    remembered_since: Option<std::time::SystemTime>,
    /// Whether the fallback to single-id requests was announced in this session.
    announced: bool,
    single_id_interval: Duration,
    last_single: Option<Instant>,
    cache: Option<Cache>,
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
    /// request is made until the first call. A base URL that is not `https://` (nor `http://`
    /// to a loopback host) is [`ClientError::InsecureUrl`].
    pub fn new(config: SpotifyConfig) -> Result<SpotifyClient, ClientError> {
        http::check_base_url("api_base_url", &config.api_base_url)?;
        http::check_base_url("auth_base_url", &config.auth_base_url)?;
        let credentials = match config.credentials {
            Some(credentials) => credentials,
            None => ClientCredentials::from_env()?,
        };
        let cache = config.cache.as_deref().map(Cache::open).transpose()?;
        let remembered = match &cache {
            Some(cache) => cache.batch_access()?,
            None => None,
        };
        Ok(SpotifyClient {
            auth: Authenticator::new(credentials, &config.auth_base_url),
            http: Http::new(config.timeout, config.retry),
            api_base_url: config.api_base_url,
            batch_access: remembered.map(|(access, _)| access),
            remembered_since: remembered.map(|(_, since)| since),
            announced: false,
            single_id_interval: config.single_id_interval,
            last_single: None,
            cache,
        })
    }

    /// How this client asks for several tracks or artists; `None` until it knows.
    pub fn batch_access(&self) -> Option<BatchAccess> {
        self.batch_access
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

    /// Tracks (popularity, artists) by id, in order, in requests of at most 50 ids (or one id
    /// a request for apps refused the batch endpoint, see [`BatchAccess`]); `None` for an
    /// unknown id.
    pub fn tracks(&mut self, ids: &[String]) -> Result<Vec<Option<TrackInfo>>, ClientError> {
        let several = Several {
            path: "tracks",
            batch: TRACKS_BATCH,
            page: |endpoint, body| parse::<TracksPage>(endpoint, body).map(|page| page.tracks),
            id_of: |track| track.id.as_ref(),
        };
        self.several(ids, &several)
    }

    /// Artists (popularity, genres) by id, in order, in requests of at most 50 ids (or one id
    /// a request for apps refused the batch endpoint, see [`BatchAccess`]); `None` for an
    /// unknown id.
    pub fn artists(&mut self, ids: &[String]) -> Result<Vec<Option<ArtistInfo>>, ClientError> {
        let several = Several {
            path: "artists",
            batch: ARTISTS_BATCH,
            page: |endpoint, body| parse::<ArtistsPage>(endpoint, body).map(|page| page.artists),
            id_of: |artist| Some(&artist.id),
        };
        self.several(ids, &several)
    }

    /// The objects of `ids` from a batch endpoint, falling back to its single-id endpoint when
    /// the batch is refused (403) and the single-id endpoint answers.
    fn several<T: serde::de::DeserializeOwned>(
        &mut self,
        ids: &[String],
        several: &Several<T>,
    ) -> Result<Vec<Option<T>>, ClientError> {
        let endpoint = http::endpoint("GET", &http::join(&self.api_base_url, several.path));
        let mut answers = Vec::with_capacity(ids.len());
        for batch in ids.chunks(several.batch) {
            if self.batch_access != Some(BatchAccess::SingleId) {
                match self.get_batch(Endpoint::Other, several.path, batch) {
                    Ok(body) => {
                        self.batch_access = Some(BatchAccess::Batch);
                        let page = (several.page)(&endpoint, &body)?;
                        answers.extend(in_request_order(batch, page, several.id_of));
                        continue;
                    }
                    Err(ClientError::Http { status: 403, .. }) if self.batch_access.is_none() => {
                        // Refused: if the single-id endpoint answers, this app is restricted.
                        let first = self.single(several.path, &batch[0])?;
                        self.fall_back_to_single_ids()?;
                        answers.push(first);
                        for id in &batch[1..] {
                            answers.push(self.single(several.path, id)?);
                        }
                        continue;
                    }
                    Err(error) => return Err(error),
                }
            }
            self.announce_single_ids();
            for id in batch {
                answers.push(self.single(several.path, id)?);
            }
        }
        Ok(answers)
    }

    /// One object from `{path}/{id}`, at most one request per `single_id_interval`; `None` for
    /// an unknown id (404).
    fn single<T: serde::de::DeserializeOwned>(
        &mut self,
        path: &str,
        id: &str,
    ) -> Result<Option<T>, ClientError> {
        if let Some(last) = self.last_single {
            let since = last.elapsed();
            if since < self.single_id_interval {
                std::thread::sleep(self.single_id_interval - since);
            }
        }
        self.last_single = Some(Instant::now());
        let path = format!("{path}/{id}");
        let Some(body) = self.get(Endpoint::Other, &path, &[])? else {
            return Ok(None);
        };
        let endpoint = http::endpoint("GET", &http::join(&self.api_base_url, &path));
        parse(&endpoint, &body).map(Some)
    }

    /// Switches to single-id requests for the session, records it in the cache, and says so.
    fn fall_back_to_single_ids(&mut self) -> Result<(), ClientError> {
        self.batch_access = Some(BatchAccess::SingleId);
        if let Some(cache) = &mut self.cache {
            cache.set_batch_access(BatchAccess::SingleId)?;
        }
        self.announce_single_ids();
        Ok(())
    }

    /// Says once a session, as a warning in the `log` facade, that ids are asked one at a time.
    fn announce_single_ids(&mut self) {
        if self.announced {
            return;
        }
        self.announced = true;
        let why = match (self.remembered_since, &self.cache) {
            (Some(since), Some(cache)) => format!(
                "as found out {} s ago and remembered in {}",
                since.elapsed().map_or(0, |age| age.as_secs()),
                cache.path().display()
            ),
            _ => "answered 403 (Spotify's 2026 restriction), the single-id ones answer".into(),
        };
        let remembered = match (&self.cache, self.remembered_since) {
            (Some(cache), None) => format!("; remembered in {}", cache.path().display()),
            _ => String::new(),
        };
        log::warn!(
            "{}: the batch endpoints (tracks?ids=, artists?ids=) refuse this app ({why}): asking \
             one id a request, at most one request per {} ms, for this session{remembered}",
            self.api_base_url,
            self.single_id_interval.as_millis()
        );
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

/// A batch endpoint and how to read it: `GET {path}?ids=` (at most `batch` ids) answers a page
/// read by `page`, whose objects are matched to ids by `id_of`; `GET {path}/{id}` answers one.
struct Several<T> {
    path: &'static str,
    batch: usize,
    page: ReadPage<T>,
    id_of: fn(&T) -> Option<&String>,
}

/// Reads the objects of a batch page from the endpoint's name and the body.
type ReadPage<T> = fn(&str, &str) -> Result<Vec<Option<T>>, ClientError>;

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
