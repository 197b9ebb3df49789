//! Audio features and analysis of Spotify tracks, from interchangeable sources behind one trait,
//! [`FeatureSource`]: the Spotify Web API ([`SpotifyClient`], client-credentials auth on
//! rspotify), ReccoBeats ([`ReccoBeatsSource`]), a local data set ([`LocalSource`]) and the
//! durable [`Cache`]. [`fetch::fetch`] runs a list of ids through a source and the cache, with a
//! progress bar and a summary; [`training_csv`] writes the result in the shared data's format.
//!
//! ```
//! use dataset::{AudioFeatures, Labels, Track};
//! use spotify_client::{fetch, FeatureSource, LocalSource};
//!
//! # fn main() -> Result<(), spotify_client::ClientError> {
//! # let features = AudioFeatures { danceability: 0.5, energy: 0.6, key: 2, loudness: -6.0,
//! #     mode: Some(1), speechiness: 0.05, acousticness: 0.1, instrumentalness: 0.0,
//! #     liveness: 0.1, valence: Some(0.7), tempo: 120.0, duration_ms: Some(180_000),
//! #     time_signature: Some(4) };
//! let track = Track { id: "5aAx2yezTd8zXrkmtKl66Z".into(), features, analysis: None,
//!                     labels: Labels::default() };
//! let mut source = LocalSource::new(&[track]);
//! let ids = vec!["5aAx2yezTd8zXrkmtKl66Z".to_string(), "0000000000000000000000".to_string()];
//! let fetched = fetch::fetch(&mut source, None, &ids, &fetch::FetchOptions::new())?;
//! assert_eq!((fetched.summary.features.fetched, fetched.summary.features.missing), (1, 1));
//! # Ok(())
//! # }
//! ```
//!
//! With the Web API (credentials from `RSPOTIFY_CLIENT_ID` / `RSPOTIFY_CLIENT_SECRET`):
//!
//! ```no_run
//! use spotify_client::{SpotifyClient, SpotifyConfig};
//!
//! # fn main() -> Result<(), spotify_client::ClientError> {
//! let mut spotify = SpotifyClient::new(SpotifyConfig::new())?;
//! let features = spotify.audio_features(&["5aAx2yezTd8zXrkmtKl66Z".to_string()])?;
//! let summary = spotify.analysis_summary("5aAx2yezTd8zXrkmtKl66Z")?;
//! # Ok(())
//! # }
//! ```

pub mod auth;
pub mod cache;
pub mod charts;
pub mod error;
pub mod fetch;
mod http;
pub mod local;
pub mod model;
pub mod reccobeats;
pub mod retry;
pub mod spotify;
pub mod training_csv;

pub use auth::ClientCredentials;
pub use cache::{Cache, CacheEntry};
pub use error::ClientError;
pub use local::LocalSource;
pub use model::{
    ArtistInfo, ArtistRef, AudioAnalysis, PlaylistItem, Segment, SegmentError, TrackInfo,
};
pub use reccobeats::{ReccoBeatsConfig, ReccoBeatsSource};
pub use retry::RetryPolicy;
pub use spotify::{SpotifyClient, SpotifyConfig};

use dataset::{AnalysisSummary, AudioFeatures};

/// Something that gives the audio features (and possibly the analysis summary) of Spotify
/// track ids.
pub trait FeatureSource {
    /// A short name, recorded in the cache with every answer: `spotify`, `reccobeats`, `local`,
    /// `cache`.
    fn name(&self) -> &'static str;

    /// How many ids one call of [`FeatureSource::audio_features`] should carry: one request's
    /// worth for a web API, so that each answered batch can be cached before the next.
    fn batch_size(&self) -> usize {
        100
    }

    /// The features of each id, in order; `None` for an id the source does not know.
    fn audio_features(&mut self, ids: &[String])
        -> Result<Vec<Option<AudioFeatures>>, ClientError>;

    /// The 12 pitch and 12 timbre means of a track's audio analysis; `None` when the source has
    /// no analysis of it. Sources without analyses answer [`ClientError::Unsupported`].
    fn analysis_summary(&mut self, id: &str) -> Result<Option<AnalysisSummary>, ClientError> {
        let _ = id;
        Err(ClientError::Unsupported {
            source_name: self.name(),
            what: "audio analysis",
        })
    }
}

/// Forwards every method to the source behind a reference or a box.
macro_rules! forward_feature_source {
    ($($source:ty),*) => {$(
        impl<S: FeatureSource + ?Sized> FeatureSource for $source {
            fn name(&self) -> &'static str {
                (**self).name()
            }

            fn batch_size(&self) -> usize {
                (**self).batch_size()
            }

            fn audio_features(
                &mut self,
                ids: &[String],
            ) -> Result<Vec<Option<AudioFeatures>>, ClientError> {
                (**self).audio_features(ids)
            }

            fn analysis_summary(
                &mut self,
                id: &str,
            ) -> Result<Option<AnalysisSummary>, ClientError> {
                (**self).analysis_summary(id)
            }
        }
    )*};
}

forward_feature_source!(&mut S, Box<S>);
