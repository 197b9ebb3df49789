//! Task 2: predict valence with neural networks, compare them with Task 1 on the same folds,
//! blend, and answer whether networks gave the best results.
//!
//! Needs Task 1's outputs (`--task1`, default `out/valence`):
//! `cargo run --release --example task2_valence_nn -- --out out/valence_nn [--quick]`

use std::path::PathBuf;

use clap::Parser;
use spotify_ml::dataset::DataDir;
use spotify_ml::task2::{run, Task2Config};
use spotify_ml::valence::{Budget, Grouping, RunConfig, FOLDS, SEED};

/// Task 2: valence with neural networks.
#[derive(Parser)]
struct Args {
    /// Data directory (default: $SPOTIFY_ML_DATA, else ../shared/data).
    #[arg(long)]
    data: Option<PathBuf>,
    /// Task 1's output directory, whose out-of-fold predictions and models are blended with.
    #[arg(long, default_value = "out/valence")]
    task1: PathBuf,
    /// Output directory.
    #[arg(long, default_value = "out/valence_nn")]
    out: PathBuf,
    /// A token search that runs in under a minute.
    #[arg(long)]
    quick: bool,
    /// Seed of folds, searches and networks (Task 1's seed, for its folds).
    #[arg(long, default_value_t = SEED)]
    seed: u64,
    /// Plain shuffled folds instead of folds that keep each recording's copies together.
    #[arg(long)]
    plain_folds: bool,
    /// Number of cross-validation folds (Task 1's).
    #[arg(long, default_value_t = FOLDS)]
    folds: usize,
    /// A feature cache that gives the evaluation tracks' features (filled from the Web API or
    /// ReccoBeats by `build_dataset`/`fetch_features`); default: the shared eval files.
    #[arg(long)]
    eval_cache: Option<PathBuf>,
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let summary = run(&Task2Config {
        task1: args.task1,
        run: RunConfig {
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
        },
    })?;
    println!(
        "best: {} on {} features, CV MAE {:.4}: the best results come {} neural networks; predictions in {}",
        summary.best.name,
        summary.best.feature_set,
        summary.best.scores.mae,
        summary.answer,
        args.out.join("predictions.csv").display()
    );
    Ok(())
}
