//! Filling the form from a track id: audio features from a [`FeatureSource`], and the artist's
//! popularity and genre from a data set that lists them.

use std::collections::HashMap;
use std::sync::Mutex;

use dataset::load::popularity;
use dataset::read::Strictness;
use dataset::{AudioFeatures, DataDir, DatasetError};
use spotify_client::{FeatureSource, LocalSource};

use crate::error::RequestError;

/// What a data set knows about a track besides its audio features.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct TrackDetails {
    /// Track title.
    pub name: String,
    /// Artist name.
    pub artist: String,
    /// The artist's popularity, 0..=100, when known.
    pub artist_popularity: Option<f64>,
    /// The playlist genre, when known.
    pub genre: Option<String>,
    /// The track's own popularity, 0..=100, when known: what the model tries to predict.
    pub popularity: Option<f64>,
}

/// A track found by id.
#[derive(Clone, Debug, PartialEq)]
pub struct FoundTrack {
    /// The 22-character track id.
    pub id: String,
    /// Its audio features.
    pub features: AudioFeatures,
    /// What else is known about it.
    pub details: Option<TrackDetails>,
}

/// Audio features by track id, with details where a data set gives them.
pub struct TrackLookup {
    // `FeatureSource` takes `&mut self` (a Web API client refreshes its token), so requests
    // take turns.
    source: Mutex<Box<dyn FeatureSource + Send>>,
    details: HashMap<String, TrackDetails>,
}

impl TrackLookup {
    /// A lookup over any feature source, without details.
    pub fn new(source: Box<dyn FeatureSource + Send>) -> TrackLookup {
        TrackLookup {
            source: Mutex::new(source),
            details: HashMap::new(),
        }
    }

    /// Adds details by track id.
    pub fn details(mut self, details: HashMap<String, TrackDetails>) -> TrackLookup {
        self.details = details;
        self
    }

    /// A lookup over the popularity data set (`popularity/spotify_songs.csv` joined with the
    /// artists' popularity): features, genre and artist popularity of its 28,000 tracks.
    pub fn from_popularity_data(dir: &DataDir) -> Result<TrackLookup, DatasetError> {
        let loaded = popularity::load(dir, Strictness::Strict)?;
        let songs = popularity::unique_tracks(loaded.rows);
        let tracks: Vec<_> = songs.iter().map(|song| song.track.clone()).collect();
        let details = songs
            .into_iter()
            .map(|song| {
                let details = TrackDetails {
                    name: song.name,
                    artist: song.artist,
                    artist_popularity: song.artist_popularity,
                    genre: song.track.labels.genre,
                    popularity: song.track.labels.popularity,
                };
                (song.track.id, details)
            })
            .collect();
        Ok(TrackLookup::new(Box::new(LocalSource::new(&tracks))).details(details))
    }

    /// The track with this id (or `spotify:track:` URI, or open.spotify.com link).
    pub fn find(&self, text: &str) -> Result<FoundTrack, RequestError> {
        let id = track_id(text).ok_or_else(|| RequestError::BadTrackId(text.to_string()))?;
        let answer = {
            // A panic in another request's source call poisons the lock; the source is
            // still usable for reads.
            let mut source = self
                .source
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            source
                .audio_features(std::slice::from_ref(&id))
                .map_err(RequestError::TrackSource)?
        };
        match answer.into_iter().next().flatten() {
            Some(features) => Ok(FoundTrack {
                details: self.details.get(&id).cloned(),
                id,
                features,
            }),
            None => Err(RequestError::UnknownTrack(id)),
        }
    }
}

/// The 22-character base-62 id in a bare id, a `spotify:track:` URI or an open.spotify.com link.
pub fn track_id(text: &str) -> Option<String> {
    let text = text.trim();
    let id = if let Some(rest) = text.strip_prefix("spotify:track:") {
        rest
    } else if let Some(position) = text.find("/track/") {
        let rest = &text[position + "/track/".len()..];
        rest.split(['?', '#', '/']).next().unwrap_or("")
    } else {
        text
    };
    let valid = id.len() == 22 && id.chars().all(|c| c.is_ascii_alphanumeric());
    valid.then(|| id.to_string())
}

#[cfg(test)]
mod tests {
    use super::track_id;

    #[test]
    fn track_id_accepts_ids_uris_and_links_and_rejects_the_rest() {
        let id = "6f807x0ima9a1j3VPbc7VN";
        assert_eq!(track_id(id).as_deref(), Some(id));
        assert_eq!(
            track_id(&format!("spotify:track:{id}")).as_deref(),
            Some(id)
        );
        assert_eq!(
            track_id(&format!("https://open.spotify.com/track/{id}?si=abc")).as_deref(),
            Some(id)
        );
        assert_eq!(track_id("6f807x0ima9a1j3VPbc7V"), None);
        assert_eq!(track_id("6f807x0ima9a1j3VPbc7V!"), None);
        assert_eq!(track_id(""), None);
    }
}
