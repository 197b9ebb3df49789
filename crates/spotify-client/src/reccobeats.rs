//! ReccoBeats: a free, keyless API that serves Spotify-style audio features by Spotify track id.
//!
//! `GET {base}/v1/audio-features?ids=<id>,<id>,…` answers `{"content":[…]}` with the Web API's
//! field names. Each entry's `id` is ReccoBeats' own id; the Spotify id is the last path segment
//! of its `href` (`https://open.spotify.com/track/<id>`). Unknown ids are left out of `content`.
//! Entries may lack `duration_ms` and `time_signature`; those stay `None`.

use std::collections::HashMap;
use std::fmt;
use std::time::Duration;

use dataset::AudioFeatures;
use serde::Deserialize;

use crate::error::ClientError;
use crate::http::{self, Http};
use crate::model::{check_features, parse};
use crate::retry::RetryPolicy;
use crate::FeatureSource;

/// The public ReccoBeats API.
pub const DEFAULT_BASE_URL: &str = "https://api.reccobeats.com";
/// Most ids per request, as ReccoBeats documents for `ids`.
pub const DEFAULT_BATCH: usize = 40;

/// Settings of a [`ReccoBeatsSource`].
#[derive(Clone, Debug)]
pub struct ReccoBeatsConfig {
    base_url: String,
    batch_size: usize,
    timeout: Duration,
    retry: RetryPolicy,
}

impl Default for ReccoBeatsConfig {
    fn default() -> Self {
        ReccoBeatsConfig::new()
    }
}

impl ReccoBeatsConfig {
    /// [`DEFAULT_BASE_URL`], batches of [`DEFAULT_BATCH`], a 10 s timeout, [`RetryPolicy::new`].
    pub fn new() -> ReccoBeatsConfig {
        ReccoBeatsConfig {
            base_url: DEFAULT_BASE_URL.to_string(),
            batch_size: DEFAULT_BATCH,
            timeout: Duration::from_secs(10),
            retry: RetryPolicy::new(),
        }
    }

    /// The base URL, without `/v1`.
    pub fn base_url(mut self, url: &str) -> ReccoBeatsConfig {
        self.base_url = url.to_string();
        self
    }

    /// Ids per request (at least 1).
    pub fn batch_size(mut self, size: usize) -> ReccoBeatsConfig {
        self.batch_size = size.max(1);
        self
    }

    /// How long one request may take before it counts as timed out and is retried.
    pub fn timeout(mut self, timeout: Duration) -> ReccoBeatsConfig {
        self.timeout = timeout;
        self
    }

    /// How failed requests are retried.
    pub fn retry(mut self, retry: RetryPolicy) -> ReccoBeatsConfig {
        self.retry = retry;
        self
    }
}

/// Audio features from ReccoBeats.
pub struct ReccoBeatsSource {
    url: String,
    batch_size: usize,
    http: Http,
}

impl fmt::Debug for ReccoBeatsSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ReccoBeatsSource")
            .field("url", &self.url)
            .field("batch_size", &self.batch_size)
            .finish_non_exhaustive()
    }
}

#[derive(Deserialize)]
struct Entry {
    #[serde(default)]
    id: Option<String>,
    #[serde(default)]
    href: Option<String>,
    #[serde(flatten)]
    features: AudioFeatures,
}

#[derive(Deserialize)]
struct Page {
    content: Vec<Entry>,
}

impl Entry {
    /// The Spotify id: from `href`, else `id` when that is a Spotify id.
    fn spotify_id(&self) -> Option<String> {
        let from_href = self.href.as_deref().and_then(|href| {
            let path = href.split(['?', '#']).next()?;
            path.rsplit('/').next().map(str::to_string)
        });
        from_href
            .filter(|id| dataset::read::is_spotify_id(id))
            .or_else(|| {
                self.id
                    .clone()
                    .filter(|id| dataset::read::is_spotify_id(id))
            })
    }
}

impl ReccoBeatsSource {
    /// A source with these settings; a base URL that is not `https://` (nor `http://` to a
    /// loopback host) is [`ClientError::InsecureUrl`].
    pub fn new(config: ReccoBeatsConfig) -> Result<ReccoBeatsSource, ClientError> {
        http::check_base_url("reccobeats base_url", &config.base_url)?;
        Ok(ReccoBeatsSource {
            url: http::join(&config.base_url, "v1/audio-features"),
            batch_size: config.batch_size,
            http: Http::new(config.timeout, config.retry),
        })
    }
}

impl FeatureSource for ReccoBeatsSource {
    fn name(&self) -> &'static str {
        "reccobeats"
    }

    fn batch_size(&self) -> usize {
        self.batch_size
    }

    fn audio_features(
        &mut self,
        ids: &[String],
    ) -> Result<Vec<Option<AudioFeatures>>, ClientError> {
        let endpoint = http::endpoint("GET", &self.url);
        let mut answers = Vec::with_capacity(ids.len());
        for batch in ids.chunks(self.batch_size) {
            let request = self.http.get(&self.url).query("ids", &batch.join(","));
            let body = self.http.send(&endpoint, &request, None)?;
            let page: Page = parse(&endpoint, &body)?;
            let mut by_id: HashMap<String, AudioFeatures> = HashMap::with_capacity(batch.len());
            for entry in page.content {
                if let Some(id) = entry.spotify_id() {
                    check_features(&endpoint, &id, &entry.features)?;
                    by_id.insert(id, entry.features);
                }
            }
            answers.extend(batch.iter().map(|id| by_id.remove(id)));
        }
        Ok(answers)
    }
}
