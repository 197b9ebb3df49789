//! Popularity quartiles (0-25 / 25-50 / 50-75 / 75-100) from audio features, artist popularity
//! and playlist genre; trains and saves the model the web app serves.
//!
//! `cargo run --release --example popularity_classifier -- --out out/popularity [--quick]`
//! `cargo run --release --example popularity_classifier -- --out out/popularity --predict ID…`

use std::path::PathBuf;

use clap::Parser;
use spotify_ml::dataset::DataDir;
use spotify_ml::popularity::{Members, PopularityData, PopularityPredictor, PredictorConfig};

/// Popularity-quartile classification.
#[derive(Parser)]
struct Args {
    /// Data directory (default: $SPOTIFY_ML_DATA, else ../shared/data).
    #[arg(long)]
    data: Option<PathBuf>,
    /// Output directory; the model is saved in its `model/` subdirectory.
    #[arg(long, default_value = "out/popularity")]
    out: PathBuf,
    /// A token run that finishes in well under a minute.
    #[arg(long)]
    quick: bool,
    /// Seed.
    #[arg(long, default_value_t = 12345)]
    seed: u64,
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let data = PopularityData::load(&DataDir::resolve(args.data.as_deref())?)
        .map_err(anyhow::Error::msg)?;
    let rows: Vec<usize> = (0..data.y.len()).collect();
    let trained = PopularityPredictor::train(
        &data,
        &rows,
        &PredictorConfig {
            members: Members::Blend,
            seed: args.seed,
            quick: args.quick,
        },
    )?;
    println!("{:?}", trained.holdout_accuracy);
    let dir = args.out.join("model");
    trained.predictor.save(&dir)?;
    println!("saved to {}", dir.display());
    Ok(())
}
