//! Task 1: predict the valence of the 1,162 tracks of `spotify_ids.txt` without neural
//! networks, and explain which features influence valence.
//!
//! `cargo run --release --example task1_valence -- --out out/valence [--quick]`

use std::path::PathBuf;

use clap::Parser;
use spotify_ml::dataset::DataDir;
use spotify_ml::task1::{run, Task1Config};
use spotify_ml::valence::{Budget, Grouping, FOLDS, SEED};

/// Task 1: valence without neural networks.
#[derive(Parser)]
struct Args {
    /// Data directory (default: $SPOTIFY_ML_DATA, else ../shared/data).
    #[arg(long)]
    data: Option<PathBuf>,
    /// Output directory.
    #[arg(long, default_value = "out/valence")]
    out: PathBuf,
    /// A token search that runs in well under a minute.
    #[arg(long)]
    quick: bool,
    /// Seed of folds, searches and models.
    #[arg(long, default_value_t = SEED)]
    seed: u64,
    /// Plain shuffled folds instead of folds that keep each recording's copies together.
    #[arg(long)]
    plain_folds: bool,
    /// Number of cross-validation folds.
    #[arg(long, default_value_t = FOLDS)]
    folds: usize,
    /// A feature cache that gives the evaluation tracks' features (filled from the Web API or
    /// ReccoBeats by `build_dataset`/`fetch_features`); default: the shared eval files.
    #[arg(long)]
    eval_cache: Option<PathBuf>,
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let summary = run(&Task1Config {
        data: DataDir::resolve(args.data.as_deref())?,
        out: args.out.clone(),
        budget: if args.quick {
            Budget::Quick
        } else {
            Budget::Full
        },
        seed: args.seed,
        folds: args.folds,
        grouping: if args.plain_folds {
            Grouping::Plain
        } else {
            Grouping::Recordings
        },
        progress: true,
        eval_cache: args.eval_cache.clone(),
    })?;
    println!(
        "best: {} on {} features, CV MAE {:.4}; predictions in {}",
        summary.best.method,
        summary.best.feature_set,
        summary.best.cv_mae,
        args.out.join("predictions.csv").display()
    );
    Ok(())
}
