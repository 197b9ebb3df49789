//! Popularity quartiles (0-25 / 25-50 / 50-75 / 75-100) from audio features, artist popularity
//! and playlist genre: the classic models, a network and their blend, by stratified 80/20 splits
//! over 5 seeds and 5-fold CV; trains and saves the model the web app serves (`DIR/model`).
//!
//! `cargo run --release --example popularity_classifier -- --out out/popularity [--quick]`
//! `cargo run --release --example popularity_classifier -- --out out/popularity --predict ID… [--features CSV]`

mod common;

use std::path::PathBuf;

use clap::Parser;
use spotify_ml::classify::popularity;

/// Popularity-quartile classification.
#[derive(Parser)]
struct Args {
    #[command(flatten)]
    flags: common::ClassifierFlags,
    /// Output directory; the model is saved in its `model/` subdirectory.
    #[arg(long, default_value = "out/popularity")]
    out: PathBuf,
    /// Tracks to predict, laid out like `popularity/spotify_songs.csv` (default: that file).
    #[arg(long)]
    features: Option<PathBuf>,
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let config = args.flags.config(args.out.clone())?;
    if !args.flags.predict.is_empty() {
        for line in popularity::predict(&config, &args.flags.predict, args.features.as_deref())? {
            println!("{line}");
        }
        return Ok(());
    }
    for outcome in popularity::run(&config)? {
        let report = &outcome.report;
        println!(
            "{}: best {} accuracy {:.4} (majority baseline {:.4}); model in {}, report in {}",
            report.name,
            report.best,
            report.best_summary().protocol.mean.accuracy,
            report.majority_baseline,
            args.out.join("model").display(),
            args.out.join("report.md").display()
        );
    }
    Ok(())
}
