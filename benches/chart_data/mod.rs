//! The rows every bench measures on: the 13,749 chart tracks of the shared data (`../shared/data`
//! or `SPOTIFY_ML_DATA`), or synthetic rows of the same shape when the data is absent.

// Each bench includes this module and uses a part of it.
#![allow(dead_code)]

use dataset::{FeatureSet, Track};
use ndarray::{Array1, Array2};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// Rows of the valence training set, for synthetic data of the same shape.
pub const CHART_ROWS: usize = 13_749;

/// The chart tracks that `features` covers, or the reason they cannot be loaded.
pub fn tracks(features: &FeatureSet) -> Result<Vec<Track>, Box<dyn std::error::Error>> {
    let dir = dataset::DataDir::resolve(None)?;
    Ok(dataset::load::valence::load(&dir)?
        .train
        .into_iter()
        .filter(|track| features.covers(track))
        .collect())
}

/// The chart tracks as a matrix of `features` and their valence; synthetic rows of the same
/// shape (and a note on stderr) without the shared data.
pub fn matrix(bench: &str, features: &FeatureSet) -> (Array2<f64>, Array1<f64>) {
    let real = tracks(features)
        .and_then(|tracks| Ok((features.matrix(&tracks)?, dataset::valence(&tracks)?)));
    real.unwrap_or_else(|error| {
        eprintln!(
            "{bench}: using synthetic rows for {} ({error})",
            features.name
        );
        synthetic(CHART_ROWS, features.len(), 0)
    })
}

/// `rows` uniform rows in -1..1 and targets in 0..1, from `seed`.
pub fn synthetic(rows: usize, columns: usize, seed: u64) -> (Array2<f64>, Array1<f64>) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let x = Array2::from_shape_simple_fn((rows, columns), || rng.gen_range(-1.0..1.0));
    let y = Array1::from_shape_simple_fn(rows, || rng.gen_range(0.0..1.0));
    (x, y)
}

/// A rayon pool of `threads` threads: every bench runs on the 2 cores the peers were timed on.
pub fn pool(threads: usize) -> rayon::ThreadPool {
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .expect("a rayon pool")
}
