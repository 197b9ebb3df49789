//! A small deterministic popularity model for the web app's tests, bench and load runs when no
//! trained model is at hand: a softmax over a fixed linear score of the song. It is not trained
//! on anything; its only job is to answer like a real [`QuartileModel`] would (probabilities
//! that move with the inputs, field-named errors).

use spotify_ml::popularity::{QuartileModel, SongError, SongInput};

/// Softmax over `k * score - spread * (k - 1.5)^2` for quartile `k`, where the score rises with
/// the artist's popularity, danceability, energy and loudness and falls with instrumentalness
/// and acousticness.
pub struct LinearQuartileModel {
    genres: Vec<String>,
}

impl LinearQuartileModel {
    /// The model, knowing the six genres of the popularity data.
    pub fn new() -> LinearQuartileModel {
        LinearQuartileModel {
            genres: ["edm", "latin", "pop", "r&b", "rap", "rock"]
                .map(String::from)
                .to_vec(),
        }
    }

    fn score(&self, song: &SongInput, genre: usize) -> f64 {
        let genre_offset = [-0.2, 0.1, 0.3, 0.0, 0.1, -0.1][genre];
        3.0 * (song.artist_popularity / 100.0 - 0.5)
            + 1.2 * (song.danceability - 0.6)
            + 0.8 * (song.energy - 0.6)
            + 0.04 * (song.loudness + 7.0)
            - 1.5 * song.instrumentalness
            - 0.9 * (song.acousticness - 0.2)
            - 0.5 * (song.speechiness - 0.1)
            + 0.3 * (song.valence - 0.5)
            - 0.002 * (song.tempo - 120.0).abs()
            - 0.000_002 * (song.duration_ms - 210_000.0).abs()
            + 0.05 * song.mode
            + 0.01 * song.key
            - 0.2 * song.liveness
            + genre_offset
    }
}

impl QuartileModel for LinearQuartileModel {
    fn genres(&self) -> &[String] {
        &self.genres
    }

    fn predict_proba(&self, song: &SongInput) -> Result<[f64; 4], SongError> {
        song.validate()?;
        let genre = self
            .genres
            .iter()
            .position(|g| *g == song.genre)
            .ok_or_else(|| SongError::UnknownGenre {
                genre: song.genre.clone(),
                known: self.genres.clone(),
            })?;
        let score = self.score(song, genre);
        let logits: Vec<f64> = (0..4)
            .map(|k| {
                let k = k as f64;
                2.0 * k * score - 0.4 * (k - 1.5) * (k - 1.5)
            })
            .collect();
        let max = logits.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let exps: Vec<f64> = logits.iter().map(|l| (l - max).exp()).collect();
        let total: f64 = exps.iter().sum();
        Ok([
            exps[0] / total,
            exps[1] / total,
            exps[2] / total,
            exps[3] / total,
        ])
    }
}
