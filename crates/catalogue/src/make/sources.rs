//! The source rows a catalogue resamples: the shared data sets' tracks, loaded once.

use dataset::load::hits::{self, HitTrack};
use dataset::load::popularity::{self, PopularityTrack};
use dataset::load::valence;
use dataset::{AudioFeature, DataDir, Strictness, Track, ANALYSIS_DIM};

use super::error::Error;

/// Number of audio features a catalogue row has: all 13 of the Web API.
pub(crate) const FEATURES: usize = AudioFeature::ALL.len();

/// Number of analysis means: 12 pitch then 12 timbre.
pub(crate) const ANALYSIS: usize = 2 * ANALYSIS_DIM;

/// A track with all 13 audio features: what a catalogue row is resampled from.
#[derive(Clone, Debug)]
pub(crate) struct BaseRow {
    /// The features in the order of [`AudioFeature::ALL`].
    pub features: [f64; FEATURES],
    /// Index into [`Sources::analyses`] of this track's own analysis means, if it has them.
    pub analysis: Option<usize>,
    /// Index into [`Sources::structures`] of this track's own chorus and sections, if known.
    pub structure: Option<usize>,
}

/// Where a track's chorus starts and how many sections it has (the hits data).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Structure {
    /// Start of the chorus in seconds.
    pub chorus_hit: f64,
    /// Number of sections.
    pub sections: f64,
}

/// A playlist genre and an artist popularity seen together (the popularity data).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Artist {
    /// Index into [`Sources::genres`].
    pub genre: usize,
    /// The artist's popularity, 0..=100.
    pub popularity: f64,
}

/// The rows of the shared data sets a catalogue draws from.
///
/// A catalogue row starts from a track with all 13 audio features (the valence chart tracks and
/// the hits data). What that track lacks is taken from a random track that has it: analysis
/// means from the chart tracks, `chorus_hit` and `sections` from the hits data, a genre and an
/// artist popularity from the popularity data (tracks whose artist has a known popularity). The
/// genre and mood playlists are not used: they lack `duration_ms` and `time_signature` (or
/// `mode`), and add nothing the catalogue has a column for.
#[derive(Clone, Debug)]
pub struct Sources {
    pub(crate) base: Vec<BaseRow>,
    pub(crate) analyses: Vec<[f64; ANALYSIS]>,
    pub(crate) structures: Vec<Structure>,
    pub(crate) artists: Vec<Artist>,
    pub(crate) genres: Vec<String>,
}

impl Sources {
    /// Loads the valence chart tracks, the hits data and the popularity data from `dir`,
    /// strictly (a bad row in the shared data is an error).
    pub fn load(dir: &DataDir) -> Result<Sources, Error> {
        let chart = valence::chart_tracks(dir, Strictness::Strict).map_err(Error::Load)?;
        let hits = hits::load(dir, Strictness::Strict).map_err(Error::Load)?;
        let popularity = popularity::load(dir, Strictness::Strict).map_err(Error::Load)?;
        let popularity = popularity::unique_tracks(popularity.rows);
        Sources::from_tracks(&chart.rows, &hits.rows, &popularity)
    }

    /// Builds the sources from tracks already loaded: `chart` gives features and analysis
    /// means, `hits` features, `chorus_hit` and `sections`, `popularity` genres and artist
    /// popularity. Fails when a kind of value has no track to come from.
    pub fn from_tracks(
        chart: &[Track],
        hits: &[HitTrack],
        popularity: &[PopularityTrack],
    ) -> Result<Sources, Error> {
        let mut sources = Sources {
            base: Vec::with_capacity(chart.len() + hits.len()),
            analyses: Vec::with_capacity(chart.len()),
            structures: Vec::with_capacity(hits.len()),
            artists: Vec::with_capacity(popularity.len()),
            genres: Vec::new(),
        };
        for track in chart {
            let analysis = track.analysis.as_ref().map(|summary| {
                let mut means = [0.0; ANALYSIS];
                for (mean, value) in means.iter_mut().zip(summary.values()) {
                    *mean = value;
                }
                sources.analyses.push(means);
                sources.analyses.len() - 1
            });
            if let Some(features) = all_features(track) {
                sources.base.push(BaseRow {
                    features,
                    analysis,
                    structure: None,
                });
            }
        }
        for hit in hits {
            sources.structures.push(Structure {
                chorus_hit: hit.chorus_hit,
                sections: f64::from(hit.sections),
            });
            if let Some(features) = all_features(&hit.track) {
                sources.base.push(BaseRow {
                    features,
                    analysis: None,
                    structure: Some(sources.structures.len() - 1),
                });
            }
        }
        for song in popularity {
            let (Some(genre), Some(popularity)) =
                (&song.track.labels.genre, song.artist_popularity)
            else {
                continue;
            };
            let genre = match sources.genres.iter().position(|known| known == genre) {
                Some(index) => index,
                None => {
                    sources.genres.push(genre.clone());
                    sources.genres.len() - 1
                }
            };
            sources.artists.push(Artist { genre, popularity });
        }
        sources.check()?;
        Ok(sources)
    }

    fn check(&self) -> Result<(), Error> {
        let empty = [
            (self.base.is_empty(), "with all 13 audio features"),
            (self.analyses.is_empty(), "with analysis means"),
            (self.structures.is_empty(), "with chorus_hit and sections"),
            (
                self.artists.is_empty(),
                "with a genre and an artist popularity",
            ),
        ];
        match empty.into_iter().find(|(is_empty, _)| *is_empty) {
            Some((_, what)) => Err(Error::EmptySource { what }),
            None => Ok(()),
        }
    }

    /// Number of tracks with all 13 audio features, the rows a catalogue row starts from.
    pub fn base_rows(&self) -> usize {
        self.base.len()
    }

    /// Number of tracks that give analysis means.
    pub fn analysis_rows(&self) -> usize {
        self.analyses.len()
    }

    /// The genres a catalogue row can have, in order of first appearance in the popularity data.
    pub fn genres(&self) -> &[String] {
        &self.genres
    }
}

/// The 13 features of a track in the order of [`AudioFeature::ALL`], if it has every one.
fn all_features(track: &Track) -> Option<[f64; FEATURES]> {
    let mut features = [0.0; FEATURES];
    for (value, feature) in features.iter_mut().zip(AudioFeature::ALL) {
        *value = track.features.get(feature)?;
    }
    Some(features)
}
