//! Flags shared by the example binaries, flattened into each one's own `Args`
//! (`#[command(flatten)]`), so that every example spells and documents them the same way.
//!
//! Not an example itself: Cargo only finds `examples/*.rs` and `examples/*/main.rs`.

#![allow(dead_code)] // each example uses one of the two flag sets

use std::path::PathBuf;

use spotify_ml::dataset::DataDir;

/// The flags of the classification examples (`mood_`, `genre_`, `popularity_` and
/// `hit_classifier`).
#[cfg(feature = "neural")]
#[derive(clap::Args)]
pub struct ClassifierFlags {
    /// Data directory (default: $SPOTIFY_ML_DATA, else ../shared/data).
    #[arg(long)]
    pub data: Option<PathBuf>,
    /// Token settings (on a sample where the data set is large) that finish in well under a
    /// minute.
    #[arg(long)]
    pub quick: bool,
    /// Seed of folds and models.
    #[arg(long, default_value_t = spotify_ml::classify::family::SEED)]
    pub seed: u64,
    /// Predict these track ids with the saved model instead of training.
    #[arg(long, num_args = 1..)]
    pub predict: Vec<String>,
}

#[cfg(feature = "neural")]
impl ClassifierFlags {
    /// The run these flags ask for, writing to `out`.
    pub fn config(&self, out: PathBuf) -> anyhow::Result<spotify_ml::classify::family::RunConfig> {
        Ok(spotify_ml::classify::family::RunConfig {
            data: DataDir::resolve(self.data.as_deref())?,
            out,
            quick: self.quick,
            seed: self.seed,
        })
    }
}

/// A coverage strictly between 0 and 1.
fn coverage(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(value) if value > 0.0 && value < 1.0 => Ok(value),
        _ => Err(format!(
            "{text:?} is not a coverage strictly between 0 and 1, such as 0.9"
        )),
    }
}

/// The flags of the valence tasks (`task1_valence`, `task2_valence_nn`).
#[derive(clap::Args)]
pub struct ValenceFlags {
    /// Data directory (default: $SPOTIFY_ML_DATA, else ../shared/data).
    #[arg(long)]
    pub data: Option<PathBuf>,
    /// A token search that runs in under a minute.
    #[arg(long)]
    pub quick: bool,
    /// Seed of folds, searches and models (Task 2 needs Task 1's, for its folds).
    #[arg(long, default_value_t = spotify_ml::valence::SEED)]
    pub seed: u64,
    /// Plain shuffled folds instead of folds that keep each recording's copies together.
    #[arg(long)]
    pub plain_folds: bool,
    /// Number of cross-validation folds (Task 2 needs Task 1's).
    #[arg(long, default_value_t = spotify_ml::valence::FOLDS)]
    pub folds: usize,
    /// Coverage of the valence intervals written with the predictions (strictly between 0
    /// and 1).
    #[arg(long, default_value_t = spotify_ml::valence::intervals::COVERAGE, value_parser = coverage)]
    pub coverage: f64,
    /// A feature cache that gives the evaluation tracks' features (filled from the Web API or
    /// ReccoBeats by `build_dataset`/`fetch_features`); default: the shared eval files.
    #[arg(long)]
    pub eval_cache: Option<PathBuf>,
}

impl ValenceFlags {
    /// The run these flags ask for, writing to `out`, with progress bars.
    pub fn config(&self, out: PathBuf) -> anyhow::Result<spotify_ml::valence::RunConfig> {
        use spotify_ml::valence::{Budget, Grouping};
        Ok(spotify_ml::valence::RunConfig {
            data: DataDir::resolve(self.data.as_deref())?,
            out,
            budget: if self.quick {
                Budget::Quick
            } else {
                Budget::Full
            },
            seed: self.seed,
            folds: self.folds,
            grouping: if self.plain_folds {
                Grouping::Plain
            } else {
                Grouping::Recordings
            },
            coverage: self.coverage,
            progress: true,
            eval_cache: self.eval_cache.clone(),
        })
    }
}
