//! The errors of every feature source, the client and the cache.

use std::path::PathBuf;

/// Errors of a feature source, the Web API client or the cache.
///
/// No variant ever holds a client secret or an access token: messages carry the endpoint (scheme,
/// host and path, without the query) and what the server said.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The source has no features for this id.
    #[error("no audio features for track {0}")]
    NotFound(String),
    /// Reading a local data set failed.
    #[error(transparent)]
    Dataset(#[from] dataset::DatasetError),
    /// No client credentials were given and the environment has none.
    #[error(
        "Spotify client credentials missing: set RSPOTIFY_CLIENT_ID and RSPOTIFY_CLIENT_SECRET, \
         or pass ClientCredentials in SpotifyConfig"
    )]
    MissingCredentials,
    /// The token endpoint refused the client credentials.
    #[error(
        "{endpoint}: the token endpoint refused the client credentials (HTTP {status}): {message}"
    )]
    Auth {
        /// The token endpoint.
        endpoint: String,
        /// The HTTP status.
        status: u16,
        /// What the server said.
        message: String,
    },
    /// Spotify answered 403 to audio features or audio analysis: the 2024-11-27 deprecation.
    #[error(
        "{endpoint}: HTTP 403 ({message}). Since 2024-11-27 Spotify refuses the audio-features and \
         audio-analysis endpoints to apps created after that date (and to apps without extended \
         access). Take features from another source instead: ReccoBeats (keyless, Spotify ids, \
         `--source reccobeats`), a local CSV data set such as ../shared/data (`--source local`), \
         or a cache filled earlier (`--source cache`)"
    )]
    Deprecated {
        /// The refused endpoint.
        endpoint: String,
        /// What the server said.
        message: String,
    },
    /// The server answered an HTTP error that retrying does not fix (or retries ran out).
    #[error("{endpoint}: HTTP {status} after {attempts} attempt(s): {message}")]
    Http {
        /// The endpoint.
        endpoint: String,
        /// The HTTP status.
        status: u16,
        /// Attempts made.
        attempts: u32,
        /// What the server said.
        message: String,
    },
    /// Still rate limited (429) when the retries ran out, or asked to wait longer than allowed.
    #[error(
        "{endpoint}: rate limited (HTTP 429) after {attempts} attempt(s); the server asked to wait \
         {retry_after_seconds} s (the retry policy waits at most {max_wait_seconds} s)"
    )]
    RateLimited {
        /// The endpoint.
        endpoint: String,
        /// Attempts made.
        attempts: u32,
        /// The last `Retry-After`, in seconds.
        retry_after_seconds: u64,
        /// The longest wait the retry policy accepts, in seconds.
        max_wait_seconds: u64,
    },
    /// The request failed below HTTP (connection refused, timeout) on every attempt.
    #[error("{endpoint}: {message} (after {attempts} attempt(s))")]
    Transport {
        /// The endpoint.
        endpoint: String,
        /// What failed on the last attempt.
        message: String,
        /// Attempts made.
        attempts: u32,
    },
    /// The body is not the JSON the endpoint documents.
    #[error("{endpoint}: malformed response at line {line}, column {column}: {message}")]
    Malformed {
        /// The endpoint.
        endpoint: String,
        /// Line in the body (1-based; 0 when the problem is not at a position).
        line: usize,
        /// Column in the body (1-based; 0 when the problem is not at a position).
        column: usize,
        /// What is wrong.
        message: String,
    },
    /// The source cannot answer this kind of request at all.
    #[error("the {source_name} source does not provide {what}")]
    Unsupported {
        /// The source's name.
        source_name: &'static str,
        /// What was asked.
        what: &'static str,
    },
    /// The cache database failed.
    #[error("cache {path}: the database failed")]
    Cache {
        /// The cache file.
        path: PathBuf,
        /// What SQLite said.
        #[source]
        source: rusqlite::Error,
    },
    /// An entry of the cache could not be encoded or decoded.
    #[error("cache {path}: {problem}")]
    CacheEntry {
        /// The cache file.
        path: PathBuf,
        /// Which entry, and what could not be done with it.
        problem: String,
        /// What serde_json said.
        #[source]
        source: serde_json::Error,
    },
    /// A decision stored in the cache (such as how batches may be asked) is not one this
    /// version knows.
    #[error("cache {path}: decision {name} = {value:?} is none of: {known}")]
    CacheDecision {
        /// The cache file.
        path: PathBuf,
        /// The decision's name.
        name: &'static str,
        /// The stored value.
        value: String,
        /// The values this version knows.
        known: String,
    },
    /// A setting is invalid.
    #[error("invalid setting: {0}")]
    Config(String),
    /// A value of a source's answer or of a cache entry breaks the dataset's ranges
    /// ([`dataset::validate`]), or a field the training files need is missing.
    #[error("{origin}: {what} of track {id}: {source}")]
    InvalidValue {
        /// Where the value came from: a source's name, or `cache <file>`.
        origin: String,
        /// The track.
        id: String,
        /// `features` or `analysis`.
        what: &'static str,
        /// The field, the value and the range it breaks.
        #[source]
        source: dataset::validate::InvalidValue,
    },
    /// A base URL is not `https://`, nor `http://` to a loopback host: credentials and tokens
    /// never travel in plain text to another machine.
    #[error("{setting} {url}: {reason}")]
    InsecureUrl {
        /// The setting, e.g. `api_base_url`.
        setting: &'static str,
        /// The URL, without any user name or password it held.
        url: String,
        /// What is wrong and what to do.
        reason: &'static str,
    },
}

impl ClientError {
    /// Whether retrying other ids with the same source is pointless: credentials, deprecation,
    /// an unsupported request, a configuration or cache failure. Other errors concern one batch.
    pub fn is_fatal(&self) -> bool {
        matches!(
            self,
            ClientError::MissingCredentials
                | ClientError::Auth { .. }
                | ClientError::Deprecated { .. }
                | ClientError::Unsupported { .. }
                | ClientError::Cache { .. }
                | ClientError::CacheEntry { .. }
                | ClientError::CacheDecision { .. }
                | ClientError::Config(_)
                | ClientError::InsecureUrl { .. }
                | ClientError::Dataset(_)
        )
    }

    /// A [`ClientError::Malformed`] from a serde_json error on a body of `endpoint`. The
    /// parser quotes the body's strings, so the message is redacted and shortened like any text
    /// from the server.
    pub(crate) fn malformed(endpoint: &str, error: &serde_json::Error) -> ClientError {
        ClientError::Malformed {
            endpoint: endpoint.to_string(),
            line: error.line(),
            column: error.column(),
            message: crate::http::server_text(&error.to_string()),
        }
    }
}
