//! Four moods (Happy, Sad, Energetic, Calm) from 10 audio features, 10-fold CV: a network, the
//! classic models and their blend; `metrics.json`, `report.md`, plots and the saved model.
//!
//! `cargo run --release --example mood_classifier -- --out out/moods [--quick]`
//! `cargo run --release --example mood_classifier -- --out out/moods --predict ID… [--features CSV]`

mod common;

use std::path::PathBuf;

use clap::Parser;
use spotify_ml::classify::moods;

/// Mood classification.
#[derive(Parser)]
struct Args {
    #[command(flatten)]
    flags: common::ClassifierFlags,
    /// Output directory (the model is saved in `models/moods` inside it).
    #[arg(long, default_value = "out/moods")]
    out: PathBuf,
    /// Features of the ids to predict, laid out like `moods/data_moods.csv` (default: that file).
    #[arg(long)]
    features: Option<PathBuf>,
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let config = args.flags.config(args.out.clone())?;
    if !args.flags.predict.is_empty() {
        for line in moods::predict(&config, &args.flags.predict, args.features.as_deref())? {
            println!("{line}");
        }
        return Ok(());
    }
    for outcome in moods::run(&config)? {
        let report = &outcome.report;
        println!(
            "{}: best {} accuracy {:.4}; report in {}",
            report.name,
            report.best,
            report.best_summary().protocol.mean.accuracy,
            args.out.join("report.md").display()
        );
    }
    Ok(())
}
