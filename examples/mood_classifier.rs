//! Four moods (Happy, Sad, Energetic, Calm) from 10 audio features, 10-fold CV: a network, the
//! classic models and their blend; `metrics.json`, `report.md`, plots and the saved model.
//!
//! `cargo run --release --example mood_classifier -- --out out/moods [--quick]`
//! `cargo run --release --example mood_classifier -- --out out/moods --predict ID… [--features CSV]`

use std::path::PathBuf;

use clap::Parser;
use spotify_ml::classify::family::{RunConfig, SEED};
use spotify_ml::classify::moods;
use spotify_ml::dataset::DataDir;

/// Mood classification.
#[derive(Parser)]
struct Args {
    /// Data directory (default: $SPOTIFY_ML_DATA, else ../shared/data).
    #[arg(long)]
    data: Option<PathBuf>,
    /// Output directory (the model is saved in `models/moods` inside it).
    #[arg(long, default_value = "out/moods")]
    out: PathBuf,
    /// Token settings that finish in well under a minute.
    #[arg(long)]
    quick: bool,
    /// Seed of folds and models.
    #[arg(long, default_value_t = SEED)]
    seed: u64,
    /// Predict these track ids with the saved model instead of training.
    #[arg(long, num_args = 1..)]
    predict: Vec<String>,
    /// Features of the ids to predict, laid out like `moods/data_moods.csv` (default: that file).
    #[arg(long)]
    features: Option<PathBuf>,
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let config = RunConfig {
        data: DataDir::resolve(args.data.as_deref())?,
        out: args.out.clone(),
        quick: args.quick,
        seed: args.seed,
    };
    if !args.predict.is_empty() {
        for line in moods::predict(&config, &args.predict, args.features.as_deref())? {
            println!("{line}");
        }
        return Ok(());
    }
    for outcome in moods::run(&config)? {
        println!(
            "{}: best {} accuracy {:.4}; report in {}",
            outcome.name,
            outcome.best,
            outcome
                .best_summary()
                .map_or(f64::NAN, |m| m.protocol.mean.accuracy),
            args.out.join("report.md").display()
        );
    }
    Ok(())
}
